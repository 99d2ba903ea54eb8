"""The draft, events and pull commands end to end on the bundled example and on bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

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
    assert "'''(deploy)''' urbanecm@deploy1002: Started scap" in page
    assert "<!-- incidentkit:begin timeline hash=" in page and "<!-- incidentkit:end timeline -->" in page
    # the hand-written line in the example SAL is reported, not dropped silently
    assert "sal: " in result.stderr and "1 line skipped" in result.stderr
    assert "Server Admin Log:20" in page


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
