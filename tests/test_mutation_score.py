"""scripts/mutation_score.py: the mutation score per module, equivalents left out, stale ones caught."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("mutation_score", ROOT / "scripts" / "mutation_score.py")
assert _spec is not None and _spec.loader is not None
mutation_score = importlib.util.module_from_spec(_spec)
sys.modules["mutation_score"] = mutation_score  # its dataclasses look their module up there
_spec.loader.exec_module(mutation_score)

TIME = "incidentkit.model.time"
RESULTS: dict[str, int | None] = {
    f"{TIME}.x_format_utc__mutmut_1": 1,  # killed
    f"{TIME}.x_format_utc__mutmut_2": 0,  # survived
    f"{TIME}.x_format_utc__mutmut_3": 36,  # timed out: the tests noticed
    f"{TIME}.x_to_epoch__mutmut_1": 0,  # survived, listed as equivalent below
    f"{TIME}.x_to_epoch__mutmut_2": 33,  # no test reaches it: a survivor
    f"{TIME}.x_to_epoch__mutmut_3": None,  # not run yet
    "incidentkit.store.actionables.xǁActionablesMixinǁoptimize__mutmut_1": 1,
    "incidentkit.store.actionables.xǁActionablesMixinǁoptimize__mutmut_2": 1,  # listed as equivalent, but killed
}
DIFFS = {  # the mutated line of each mutant, as `mutmut show` prints it
    f"{TIME}.x_to_epoch__mutmut_1": "--- a\n+++ b\n@@ -1 +1 @@\n-    return math.floor(x)\n+    return math.floor(x)  # same\n",
    "incidentkit.store.actionables.xǁActionablesMixinǁoptimize__mutmut_2": "-a\n+return True\n",
}


def diff_of(name: str) -> str:
    return DIFFS.get(name, "-old\n+new\n")


def test_scores_per_module_with_equivalents_left_out() -> None:
    equivalents = {f"{TIME}.x_to_epoch__mutmut_1": {"line": "return math.floor(x)  # same", "reason": "r"}}
    report = mutation_score.score(RESULTS, equivalents, diff_of)
    time = next(m for m in report.modules if m.module == TIME)
    assert (len(time.killed), len(time.survived), len(time.equivalent), len(time.not_run)) == (2, 2, 1, 1)
    assert time.score == 50.0
    assert time.survived == [f"{TIME}.x_format_utc__mutmut_2", f"{TIME}.x_to_epoch__mutmut_2"]
    assert [m.module for m in report.modules] == ["incidentkit.model.time", "incidentkit.store.actionables"]
    assert report.stale == {}


def test_an_equivalent_whose_line_changed_or_that_a_test_kills_is_stale_and_scored() -> None:
    equivalents = {
        f"{TIME}.x_to_epoch__mutmut_1": {"line": "return math.ceil(x)", "reason": "r"},  # renumbered since
        "incidentkit.store.actionables.xǁActionablesMixinǁoptimize__mutmut_2": {"line": "return True", "reason": "r"},
        f"{TIME}.x_gone__mutmut_1": {"line": "x", "reason": "r"},
    }
    report = mutation_score.score(RESULTS, equivalents, diff_of)
    assert set(report.stale) == set(equivalents)
    assert "no such mutant" in report.stale[f"{TIME}.x_gone__mutmut_1"]
    assert "kills it" in report.stale["incidentkit.store.actionables.xǁActionablesMixinǁoptimize__mutmut_2"]
    time = next(m for m in report.modules if m.module == TIME)
    assert len(time.equivalent) == 0 and len(time.survived) == 3
    text = mutation_score.render(report, diff_of, minimum=80)
    assert "stale entries" in text and "  x_to_epoch__mutmut_1: return math.floor(x)  # same\n" in text


def test_targets_select_modules_and_packages_by_whole_name() -> None:
    report = mutation_score.score(RESULTS, {}, diff_of, targets=["incidentkit.store"])
    assert [m.module for m in report.modules] == ["incidentkit.store.actionables"]
    assert mutation_score.score(RESULTS, {}, diff_of, targets=["incidentkit.mod"]).modules == []


def test_render_flags_modules_below_the_minimum() -> None:
    text = mutation_score.render(mutation_score.score(RESULTS, {}, diff_of), diff_of, minimum=80)
    lines = text.splitlines()
    assert next(line for line in lines if line.startswith(TIME)).endswith("<")  # 2 of 5: 40%
    assert not next(line for line in lines if line.startswith("incidentkit.store.actionables")).endswith("<")


def test_changed_line_shows_additions_and_deletions() -> None:
    assert mutation_score.changed_line("--- a\n+++ b\n-    x = 1\n+    x = 2\n") == "x = 2"
    assert mutation_score.changed_line("--- a\n+++ b\n-    return x\n") == "removed: return x"
    keyword_dropped = "--- a\n+++ b\n-        hint='h',\n-    ) from exc\n+    ) from exc\n"
    assert mutation_score.changed_line(keyword_dropped) == "removed: hint='h',"


def test_results_are_read_from_every_meta_file(tmp_path: Path) -> None:
    for path, codes in (("incidentkit/model/time.py.meta", {"a": 1}), ("incidentkit/store/x.py.meta", {"b": 0})):
        meta = tmp_path / path
        meta.parent.mkdir(parents=True, exist_ok=True)
        meta.write_text(json.dumps({"exit_code_by_key": codes, "durations_by_key": {}}))
    assert mutation_score.read_results(tmp_path) == {"a": 1, "b": 0}


def test_the_checked_in_equivalents_name_a_line_and_a_reason() -> None:
    import tomllib

    entries = tomllib.loads((ROOT / "tests" / "mutation-equivalents.toml").read_text())
    for name, entry in entries.items():
        assert "__mutmut_" in name and set(entry) == {"line", "reason"}, name
        assert entry["reason"].strip() and entry["line"].strip(), name


def test_pending_lists_survivors_and_unrun_mutants_one_a_line_and_nothing_before_any_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(mutation_score, "ROOT", tmp_path)
    monkeypatch.setattr(mutation_score, "EQUIVALENTS", tmp_path / "none.toml")
    monkeypatch.chdir(tmp_path)  # main() moves to ROOT; this puts the test's own directory back afterwards
    assert mutation_score.main(["--pending", TIME]) == 0
    assert capsys.readouterr().out == ""  # an empty line would reach mutmut as an empty pattern
    meta = tmp_path / "mutants" / "incidentkit" / "model" / "time.py.meta"
    meta.parent.mkdir(parents=True)
    meta.write_text(json.dumps({"exit_code_by_key": RESULTS, "durations_by_key": {}}))
    assert mutation_score.main(["--pending", TIME]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"{TIME}.x_format_utc__mutmut_2",
        f"{TIME}.x_to_epoch__mutmut_1",
        f"{TIME}.x_to_epoch__mutmut_2",
        f"{TIME}.x_to_epoch__mutmut_3",
    ]
