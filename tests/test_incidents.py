"""``incidentkit incidents``: list, show, edit (locked against drafts and imports) and rm; and every
hint the tool prints names a command that exists."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from incidentkit.errors import StoreError
from tests.helpers import home_store, json_lines, run, run_in_terminal

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "data" / "examples" / "backport-crash"
PAGES = ROOT / "tests" / "fixtures" / "incidents" / "wikitext"
SLUG = "2023-02-14_backport-crash"
LEGACY = "2014-10-01_legacy-statuses"  # imported: 4 actionables, one done, two open
STYLES = "2024-02-01_example-all-actionable-styles"


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> None:
    """The example drafted, and the fixture report pages imported, on 2024-03-01."""
    monkeypatch.setenv("INCIDENTKIT_NOW", "2024-03-01T12:00:00Z")
    assert run("draft", "--replay", str(EXAMPLE), "-o", "/dev/null").exit_code == 0
    assert run("import", "--replay", str(PAGES)).exit_code == 0


def listed(*args: str) -> list[dict[str, Any]]:
    result = run("incidents", "list", "--format", "json", *args)
    assert result.exit_code == 0, result.output
    return json_lines(result.stdout)


def test_list_gives_each_incident_with_its_open_and_overdue_actionables(recorded: None) -> None:
    rows = {r["slug"]: r for r in listed()}
    assert list(rows) == [STYLES, SLUG, LEGACY]  # newest first
    assert rows[SLUG] == {
        "slug": SLUG, "title": "Backport crash", "date": "2023-02-14", "status": "draft", "page": None,
        "open": 2, "overdue": 2, "origin": "draft",  # due 30 days after 2023-02-14 by the default SLA
    }  # fmt: skip
    with home_store() as store:
        legacy = store.incident_actionables(LEGACY)
    open_legacy = [a for a in legacy if a.is_open]
    assert rows[LEGACY]["open"] == len(open_legacy) == 2  # in progress, and the retention review
    assert rows[LEGACY]["overdue"] == 2  # SLAs from the 2014 incident date: long past on 2024-03-01
    assert rows[LEGACY]["page"] == "Incidents/20141001-Legacy statuses" and rows[LEGACY]["status"] == "final"

    assert [r["slug"] for r in listed("--since", "2023-01-01")] == [STYLES, SLUG]
    assert [r["slug"] for r in listed("--status", "final", "--status", "review")] == [STYLES, LEGACY]
    csv_lines = run("incidents", "list", "--format", "csv").stdout.splitlines()
    assert csv_lines[0] == "slug,title,date,status,page,open,overdue" and len(csv_lines) == 4
    table = run("incidents", "list", "--format", "table").stdout
    assert SLUG in table and "3 incidents." in table


def test_show_gives_metadata_moments_sources_page_actionables_and_scorecard(recorded: None) -> None:
    result = run("incidents", "show", SLUG, "--format", "json")
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert (shown["title"], shown["start"], shown["end"], shown["task"]) == (
        "Backport crash", "2023-02-14T18:34:55Z", "2023-02-14T18:52:40Z", "T329510",
    )  # fmt: skip
    moments = {m["moment"]: m for m in shown["key_moments"]}
    assert moments["mitigated"]["time"] == "2023-02-14T18:48:00Z" and moments["mitigated"]["origin"] == "suggested"
    assert shown["durations"]["time_to_resolve"] == pytest.approx(17.75)
    sal = next(s for s in shown["sources"] if s["source"] == "sal")
    assert (sal["events"], sal["skipped"]) == (10, 1) and "Server Admin Log:20" in sal["skipped_where"][0]
    alertmanager = next(s for s in shown["sources"] if s["source"] == "alertmanager")
    assert "keeps no alert history" in alertmanager["notes"][0]
    assert [a["task"] for a in shown["actionables"]] == ["T329530", "T329531"]
    assert shown["scorecard"]["answered"] == 0 and shown["window"]["start"] == "2023-02-14T18:00:00Z"

    text = run("incidents", "show", SLUG, "--format", "table").stdout
    for part in ("Key moments:", "mitigated", "Sources:", "note: Alertmanager keeps no alert history", "Actionables: 2", "Scorecard: 0 of 15"):
        assert part in text
    imported = json.loads(run("incidents", "show", LEGACY, "--format", "json").stdout)
    assert imported["key_moments"] == [] and imported["page"] == "Incidents/20141001-Legacy statuses"
    unknown = run("incidents", "show", "1999-01-01_nothing")
    assert unknown.exit_code == 1 and "`incidentkit incidents list`" in unknown.stderr


def test_edited_fields_are_locked_against_later_drafts_and_imports(recorded: None, tmp_path: Path) -> None:
    edited = run(
        "incidents", "edit", SLUG, "--title", "Logged-in users see fatals", "--start", "2023-02-14 18:33",
        "--severity", "2", "--page", "Incidents/2023-02-14 Backport crash",
    )  # fmt: skip
    assert edited.exit_code == 0, edited.output
    page = run("draft", "--replay", str(EXAMPLE)).stdout  # a later draft
    assert "-->2023-02-14 Logged-in users see fatals<!--" in page and "-->2023-02-14 18:33<!--" in page
    assert "** Impact started: 18:33" in page and "(time to detect: 2 min)" in page
    with home_store() as store:
        record = store.require_incident(SLUG)
        assert (record.title, record.start, record.severity, record.page) == (
            "Logged-in users see fatals", "2023-02-14T18:33:00Z", "2", "Incidents/2023-02-14 Backport crash",
        )  # fmt: skip
        assert set(record.locked) == {"title", "start", "severity", "page"}

    assert run("incidents", "edit", LEGACY, "--title", "Search disks full").exit_code == 0
    assert run("import", "--replay", str(PAGES)).exit_code == 0
    with home_store() as store:
        assert store.require_incident(LEGACY).title == "Search disks full"

    unlocked = run("incidents", "edit", SLUG, "--unlock", "start")
    assert unlocked.exit_code == 0, unlocked.output
    assert "-->2023-02-14 18:34<!-- incidentkit:end meta-start" in run("draft", "--replay", str(EXAMPLE)).stdout

    for args, message in (
        (["--end", "2023-02-14 17:00"], "before the start"),
        (["--page", "Bad[title]"], "is not a page title"),
        (["--unlock", "status"], "'status' is not a field"),
        ([], "nothing to change"),
        (["--start", "whenever it was"], "cannot read --start"),
    ):
        bad = run("incidents", "edit", SLUG, *args)
        assert bad.exit_code == 2 and message in bad.stderr, bad.output


@pytest.mark.slow  # a child process on a terminal
def test_rm_asks_then_removes_the_local_records_only(recorded: None) -> None:
    piped = run("incidents", "rm", LEGACY, input="y\n")  # no terminal to ask on: refused, not guessed
    assert piped.exit_code == 2 and f"incidentkit incidents rm {LEGACY} --yes" in piped.stderr
    declined = run_in_terminal("incidents", "rm", LEGACY, input="n\n")
    assert declined.exit_code == 1 and "Nothing removed." in declined.output
    assert "4 actionables" in declined.output and "4 status_history" in declined.output
    with home_store() as store:
        assert store.get_incident(LEGACY) is not None

    removed = run("incidents", "rm", LEGACY, "--yes")
    assert removed.exit_code == 0, removed.output
    assert "the wiki page and tasks are untouched" in removed.stdout
    with home_store() as store:
        assert store.get_incident(LEGACY) is None and store.incident_footprint(LEGACY) == {}
        for table in ("actionables", "status_history", "scorecard_answers"):
            assert store.db[table].count_where("incident = ?", [LEGACY]) == 0
        assert store.incident_footprint(STYLES)["status_history"] > 0  # other incidents keep theirs
        with pytest.raises(Exception, match="append-only"):
            store.db.execute("DELETE FROM status_history WHERE incident = ?", [STYLES])
    assert run("incidents", "rm", SLUG, "-y").exit_code == 0
    with home_store() as store:
        assert store.incident_footprint(SLUG) == {}  # events, curation and draft counters too
        with pytest.raises(StoreError, match="unknown incident"):
            store.remove_incident(SLUG)
    assert [r["slug"] for r in listed()] == [STYLES]


# --- hints ---------------------------------------------------------------------------------------

_NAMED = re.compile(r"(?<!`)(?:`|<code>)incidentkit ((?:[a-z][a-z-]* ?)+)")  # not ``rst`` in docstrings


def _named_commands() -> list[tuple[str, str]]:
    """(file, words after "incidentkit") for every command a message, hint or template names."""
    found = []
    for path in sorted([*(ROOT / "incidentkit").rglob("*.py"), *(ROOT / "templates").glob("*.j2")]):
        for match in _NAMED.finditer(path.read_text(encoding="utf-8")):
            found.append((path.relative_to(ROOT).as_posix(), match.group(1).strip()))
    return found


def test_every_command_a_hint_names_exists() -> None:
    from tests.test_cli_help import COMMAND_TREE, LEAVES

    named = _named_commands()
    assert len(named) > 20  # the scan finds them
    for where, words in named:
        path = ""
        for word in words.split():
            if f"{path} {word}".strip() not in COMMAND_TREE:
                break  # past a command, words are its arguments
            path = f"{path} {word}".strip()
        assert path in LEAVES, f"{where} names `incidentkit {words}`, which is not a command"
