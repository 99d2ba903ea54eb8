"""The draft, events and pull commands end to end on the bundled example and on bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from incidentkit.store import Store
from tests.helpers import json_lines, run

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "data" / "examples" / "backport-crash"
SAL_PAGE = EXAMPLE / "sal" / "000-Server_Admin_Log"


def test_draft_bundled_example_offline() -> None:
    result = run("draft", "--replay", str(EXAMPLE))
    assert result.exit_code == 0, result.output
    page = result.stdout
    assert page.startswith("{{irdoc|status=draft}}")
    for heading in ("== Summary ==", "== Timeline ==", "== Detection ==", "== Conclusions ==", "== Actionables ==", "== Scorecard =="):
        assert heading in page
    assert "[[phab:T329510|T329510]]" in page
    assert "* 18:16 urbanecm: started the backport of [[gerrit:887912|" in page
    assert "<!-- incidentkit:begin timeline hash=" in page and "<!-- incidentkit:end timeline -->" in page
    # the hand-written line in the example SAL is reported to the owner, not dropped silently,
    # and not shown to the page's readers
    assert "sal: " in result.stderr and "1 line skipped" in result.stderr
    assert "Server Admin Log:20" in result.stderr and "Server Admin Log:20" not in page
    assert "lines could not be read" not in page


def test_pull_save_then_replay_is_byte_for_byte(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INCIDENTKIT_NOW", "2023-02-15T09:00:00Z")
    saved = tmp_path / "pull"
    args = ["--from", "2023-02-14 18:00", "--to", "2023-02-14 19:45", "--task", "T329510", "--input", f"sal={SAL_PAGE}"]
    result = run("pull", "--save", str(saved), "--title", "Backport crash", *args)
    assert result.exit_code == 0, result.output
    direct = run("draft", "--title", "Backport crash", "--no-store", *args)
    monkeypatch.setenv("INCIDENTKIT_NOW", "2030-01-01T00:00:00Z")  # a later replay reads no clock
    replayed = run("draft", "--replay", str(saved), "--no-store")
    assert direct.exit_code == 0 and replayed.exit_code == 0, replayed.output
    assert replayed.stdout == direct.stdout


def test_events_json_carries_the_documented_fields() -> None:
    result = run("events", "--replay", str(EXAMPLE), "--format", "json")
    assert result.exit_code == 0, result.output
    events = json_lines(result.stdout)
    assert events and {"time", "source", "kind", "actor", "text", "tasks"} <= set(events[0])
    assert events[0]["time"].endswith("Z")
    aborted = [e for e in events if e["kind"] == "abort"]
    assert aborted and aborted[0]["actor"] == "urbanecm@deploy1002"
    csv_out = run("events", "--replay", str(EXAMPLE), "--format", "csv")
    assert csv_out.stdout.splitlines()[0].startswith("time,source,kind,actor,text")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["draft", "--from", "tomorrow-ish nonsense words", "--title", "x", "--input", f"sal={SAL_PAGE}"], "cannot read --from"),
        (["draft", "--from", "2023-02-14 19:00", "--to", "2023-02-14 18:00", "--title", "x", "--input", f"sal={SAL_PAGE}"], "before it starts"),
        (["draft", "--from", "2023-01-01", "--to", "2023-02-14", "--title", "x", "--input", f"sal={SAL_PAGE}"], "more than the maximum"),
        (["draft", "--from", "2023-02-14 18:00", "--to", "2023-02-14 19:00", "--title", "x", "--input", "sal=/nonexistent/page.wiki"], "does not exist"),
        (["draft", "--from", "2023-02-14 18:00", "--title", "x", "--input", "nosuch=/tmp/x"], "unknown source 'nosuch'"),
        (["draft", "--from", "2023-02-14 18:00", "--title", "x", "--input", "salpage.wiki"], "is not NAME=PATH"),
        (["draft", "--from", "2023-02-14 18:00", "--to", "2023-02-14 19:00", "--title", "x"], "no source to read"),
        (["draft", "--replay", "/nonexistent-dir"], "is not a saved pull"),
        (["draft", "--from", "2023-02-14 18:00", "--to", "2023-02-14 19:00", "--input", f"sal={SAL_PAGE}"], "--title is required"),
    ],
)
def test_bad_input_is_one_line_error_without_traceback(args: list[str], message: str) -> None:
    result = run(*args)
    assert result.exit_code != 0
    assert "Error: " in result.stderr and message in result.stderr, result.stderr
    assert "Traceback" not in result.output


def test_binary_input_file_is_a_clean_error(tmp_path: Path) -> None:
    binary = tmp_path / "page.wiki"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    result = run("draft", "--from", "2023-02-14 18:00", "--to", "2023-02-14 19:00", "--title", "x", "--input", f"sal={binary}")
    assert result.exit_code == 2 and "is not UTF-8 text" in result.stderr


def test_no_store_renders_what_the_recording_draft_renders_and_writes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "fresh.db"
    first = run("--db", str(db), "draft", "--no-store", "--replay", str(EXAMPLE))
    assert first.exit_code == 0 and not db.exists()  # no store is created for a preview
    recorded = run("--db", str(db), "draft", "--replay", str(EXAMPLE))
    assert recorded.stdout == first.stdout
    slug = "2023-02-14_backport-crash"
    assert run("--db", str(db), "timeline", "hide", slug, "--kind", "dbctl").exit_code == 0
    assert run("--db", str(db), "timeline", "mark", slug, "impact_start", "18:16").exit_code == 0
    preview = run("--db", str(db), "draft", "--no-store", "--replay", str(EXAMPLE))
    assert preview.exit_code == 0, preview.output
    assert "dbctl commit" not in preview.stdout and "-->2023-02-14 18:16<!-- incidentkit:end meta-start" in preview.stdout
    assert "recorded as incident" not in preview.stderr
    assert run("--db", str(db), "draft", "--replay", str(EXAMPLE)).stdout == preview.stdout
    with Store.open(db) as store:
        assert store.curation_state(slug).drafted  # the recording drafts were counted, the previews not
        assert store.db["timeline_drafts"].get(slug)["drafts"] == 2


def test_task_without_phabricator_says_so_and_strict_fails() -> None:
    args = ["draft", "--from", "2023-02-14 18:00", "--to", "2023-02-14 19:45", "--title", "x", "--task", "T329510",
            "--input", f"sal={SAL_PAGE}", "--no-store"]  # fmt: skip
    result = run(*args)
    assert result.exit_code == 0, result.output
    assert "warning: --task T329510: Phabricator is not configured" in result.stderr
    assert "-->[[phab:T329510|T329510]]<!-- incidentkit:end meta-task" in result.stdout  # the Task cell is filled
    strict = run(*args, "--strict")
    assert strict.exit_code == 1 and "Error: --task T329510: Phabricator is not configured" in strict.stderr
    assert "[phabricator] url" in strict.stderr


def test_metadata_start_and_end_come_from_key_moments_else_todo() -> None:
    """A SAL-only draft has no alert: no impact start or resolution is known, so no window bound is shown."""
    result = run("draft", "--from", "2023-02-14 18:00", "--to", "2023-02-14 19:45", "--title", "SAL only",
                 "--input", f"sal={SAL_PAGE}")  # fmt: skip
    assert result.exit_code == 0, result.output
    page = result.stdout
    assert "-->TODO<!-- incidentkit:end meta-start -->" in page and "-->TODO<!-- incidentkit:end meta-end -->" in page
    assert "18:00" not in page.split("== Timeline ==")[0].split("-->", 1)[1]  # not the window start
    assert "warning: impact start is unknown (no alert and no detection time)" in result.stderr
    assert "`incidentkit timeline mark 2023-02-14_sal-only impact_start ROW|TIME`" in result.stderr
    assert run("timeline", "mark", "2023-02-14_sal-only", "impact_start", "18:31").exit_code == 0
    assert run("timeline", "mark", "2023-02-14_sal-only", "resolved", "18:52").exit_code == 0
    again = run("draft", "--from", "2023-02-14 18:00", "--to", "2023-02-14 19:45", "--title", "SAL only",
                "--input", f"sal={SAL_PAGE}")  # fmt: skip
    assert "-->2023-02-14 18:31<!-- incidentkit:end meta-start -->" in again.stdout
    assert "-->2023-02-14 18:52<!-- incidentkit:end meta-end -->" in again.stdout
    assert "warning: impact start" not in again.stderr


def test_the_example_says_who_was_paged_and_who_responded_from_facts() -> None:
    from incidentkit.wikitext.regions import regions

    result = run("draft", "--replay", str(EXAMPLE), "--no-store")
    assert result.exit_code == 0, result.output
    spans = regions(result.stdout)
    # hand-counted from the example: page #4711 reached cwhite and mlopez; cwhite acknowledged it;
    # urbanecm, cwhite, taavi and marostegui logged to the SAL; ZebraReader only described symptoms
    assert spans["meta-paged"].content == "2 (cwhite, mlopez)"
    assert spans["meta-responders"].content == "4+"
    assert "| '''Coordinators''' || TODO: cwhite? (suggested" in result.stdout
    detection = spans["detection"].content
    assert "* First human report: 18:34, ZebraReader in &#35;wikimedia-operations:" in detection
    assert "(before the first alert)" in detection and "** First response: 18:38" in detection
    assert "not counted: ZebraReader" in detection
    assert "detected 18:34:51" in result.stderr  # offered to the owner, not decided for them
