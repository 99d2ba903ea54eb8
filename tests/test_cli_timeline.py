"""``incidentkit timeline``: curating a saved incident's timeline from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from incidentkit.cli import app
from incidentkit.model.event import EventKind
from incidentkit.model.incident import IncidentRecord
from incidentkit.store import Store
from incidentkit.timeline.refs import row_ref
from incidentkit.timeline.rows import build_rows
from tests.helpers import json_lines
from tests.test_curation import FIRING, SLUG, sal, story

runner = CliRunner()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A store holding one drafted incident (events saved and seen, as the draft pipeline leaves it)."""
    path = tmp_path / "incidentkit.db"
    with Store.open(path) as store:
        store.save_incident(IncidentRecord(slug=SLUG, title="Train rollback", start="2018-03-27T19:00:00Z"))
        store.save_events(SLUG, story())
        store.mark_rows_seen(SLUG, [r.key for r in build_rows(story())])
    return path


def run(db: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    return runner.invoke(app, ["--db", str(db), "timeline", *args], env=env)


def rows(db: Path, *args: str, slug: str = SLUG) -> dict[str, dict[str, Any]]:
    result = run(db, "show", slug, "--format", "json", *args)
    assert result.exit_code == 0, result.output
    return {r["key"]: r for r in json_lines(result.stdout)}


def ref(key: str, length: int = 6) -> str:
    return row_ref(key)[:length]


def test_show_lists_visible_rows_with_refs_and_flags(db: Path) -> None:
    shown = rows(db)
    assert "sal:19:10" not in shown  # the downtime cookbook, hidden by the default rule
    assert shown["sal:19:06"]["flags"] == "p" and shown["sal:19:06"]["marker"] == "OUTAGE BEGINS"
    assert shown["sal:19:17"]["ref"] == row_ref("sal:19:17")[:7]
    every = rows(db, "--all")
    assert every["sal:19:10"]["flags"] == "h" and every["sal:19:10"]["hidden_by"].startswith("rule: hide_matching")


def test_show_as_table_csv_and_markdown(db: Path) -> None:
    table = run(db, "show", SLUG, "--format", "table")
    assert table.exit_code == 0 and row_ref("sal:19:19")[:7] in table.stdout and "rolling back" in table.stdout
    assert "hidden (--all lists them)" in table.stdout
    csv_out = run(db, "show", SLUG, "-f", "csv").stdout.splitlines()
    assert csv_out[0] == "ref,time,flags,marker,sources,kind,actor,text,note,key"
    assert run(db, "show", SLUG, "-f", "markdown").stdout.startswith("| ref | time | flags |")


def test_hide_and_unhide_by_ref_prefix(db: Path) -> None:
    result = run(db, "hide", SLUG, ref("sal:19:17"))
    assert result.exit_code == 0 and "Hid 1 row of" in result.stdout
    assert "sal:19:17" not in rows(db) and rows(db, "--all")["sal:19:17"]["flags"] == "H"
    assert run(db, "unhide", SLUG, "sal:19:17", ref("sal:19:10")).exit_code == 0
    shown = rows(db)
    assert "sal:19:17" in shown and "sal:19:10" in shown  # unhide beats the rule


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (["--source", "sal", "--kind", "log"], {"sal:19:17", "sal:19:19", "sal:19:40"}),
        (["--match", "ROLLING back"], {"sal:19:19"}),
        (["--between", "19:17..19:19"], {"sal:19:17", FIRING, "sal:19:19"}),
        (["--unpinned", "--between", "19:30.."], {"sal:19:40"}),
    ],
)
def test_hide_by_filter_prints_how_many_matched(db: Path, filters: list[str], expected: set[str]) -> None:
    result = run(db, "hide", SLUG, *filters)
    assert result.exit_code == 0, result.output
    assert f"Hid {len(expected)} row" in result.stdout
    every = rows(db, "--all")
    assert {k for k, r in every.items() if "H" in r["flags"]} == expected


def test_pin_and_unpin(db: Path) -> None:
    assert run(db, "pin", SLUG, "sal:19:19").exit_code == 0
    assert run(db, "unpin", SLUG, "--kind", "train").stdout.startswith("Unpinned 2 rows")
    shown = rows(db)
    assert shown["sal:19:19"]["flags"] == "P"
    assert shown["sal:19:05"]["flags"] == "" and shown["sal:19:05"]["pinned_by"] == "owner"


def test_a_filter_that_matches_nothing_changes_nothing(db: Path) -> None:
    result = run(db, "hide", SLUG, "--match", "no such text")
    assert result.exit_code == 0 and "No row matched" in result.stdout


def test_hide_needs_a_row_or_a_filter(db: Path) -> None:
    result = run(db, "hide", SLUG)
    assert result.exit_code == 2
    assert "Error: name at least one row or give a filter" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["show", "2099-01-01_nope"], "Error: unknown incident '2099-01-01_nope'"),
        (["hide", SLUG, "ffffffffff"], "Error: no row 'ffffffffff' in " + SLUG),
        (["hide", SLUG, "sal:19:0"], "is ambiguous"),
        (["hide", SLUG, "--kind", "deploys"], "Error: --kind 'deploys' is not an event kind"),
        (["hide", SLUG, "--between", "19:40..19:10"], "ends before it starts"),
        (["edit", SLUG, "sal:19:17"], "Error: give --text and/or --time"),
        (["mark", SLUG, "lunch", "19:10"], "Error: unknown key moment 'lunch'"),
        (["mark", SLUG, "detected", "not a row nor a time"], "is neither a row of"),
    ],
)
def test_bad_input_is_a_one_line_error(db: Path, args: list[str], message: str) -> None:
    result = run(db, *args)
    assert result.exit_code != 0
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_marker_only_rows_cannot_be_curated(db: Path) -> None:
    assert run(db, "mark", SLUG, "impact_start", "19:00").exit_code == 0
    assert rows(db)["moment:impact_start"]["marker"] == "OUTAGE BEGINS"
    result = run(db, "note", SLUG, "moment:impact_start", "x")
    assert result.exit_code == 2 and "Error: no row 'moment:impact_start'" in result.stderr


def test_edit_text_and_time(db: Path) -> None:
    result = run(db, "edit", SLUG, ref("sal:19:40"), "--time", "19:31", "--text", "Incident task T190960 filed")
    assert result.exit_code == 0, result.output
    row = rows(db)["sal:19:40"]
    assert (row["time"], row["text"], row["flags"]) == ("2018-03-27T19:31:00Z", "Incident task T190960 filed", "E")
    assert row["original_text"] == "filed T190960 for the incident"


def test_note_and_remove_the_note(db: Path) -> None:
    assert run(db, "note", SLUG, "sal:19:22", "this fixed it").exit_code == 0
    assert rows(db)["sal:19:22"]["note"] == "this fixed it"
    assert run(db, "note", SLUG, "sal:19:22", "").exit_code == 0
    assert rows(db)["sal:19:22"]["note"] is None


def test_add_a_row_by_hand(db: Path) -> None:
    result = run(db, "add", SLUG, "--time", "19:16", "Users report errors on IRC")
    assert result.exit_code == 0 and result.stdout.startswith("Added row ")
    manual = [r for r in rows(db).values() if r["source"] == "manual"]
    assert [(r["time"], r["text"], r["kind"]) for r in manual] == [
        ("2018-03-27T19:16:00Z", "Users report errors on IRC", "manual")
    ]
    assert run(db, "add", SLUG, "--time", "19:16", "  ").exit_code == 2


def moments(db: Path) -> dict[str, dict[str, Any]]:
    result = run(db, "moments", SLUG, "--format", "json")
    assert result.exit_code == 0, result.output
    return {m["moment"]: m for m in json_lines(result.stdout)}


def test_mark_and_unmark_key_moments(db: Path) -> None:
    assert moments(db)["detected"] == {
        "moment": "detected",
        "time": "2018-03-27T19:18:00Z",
        "origin": "suggested",
        "row": row_ref(FIRING)[:7],
        "reason": "the first alert",
    }
    result = run(db, "mark", SLUG, "detected", "19:16")
    assert result.exit_code == 0 and "detected of " + SLUG + " set to 2018-03-27T19:16:00Z." in result.stdout
    result = run(db, "mark", SLUG, "impact-start", ref("sal:19:05"))
    assert result.exit_code == 0 and "(row " in result.stdout
    marked = moments(db)
    assert (marked["detected"]["origin"], marked["detected"]["time"]) == ("owner", "2018-03-27T19:16:00Z")
    assert (marked["impact_start"]["time"], marked["impact_start"]["row"]) == ("2018-03-27T19:05:00Z", row_ref("sal:19:05")[:7])
    assert rows(db)["sal:19:05"]["marker"] == "OUTAGE BEGINS"
    assert "is suggested again" in run(db, "unmark", SLUG, "detected").stdout
    assert "was not set" in run(db, "unmark", SLUG, "detected").stdout
    assert moments(db)["detected"]["origin"] == "suggested"


def test_moments_table_shows_durations(db: Path) -> None:
    result = run(db, "moments", SLUG, "--format", "table")
    assert result.exit_code == 0
    assert "time to detect: 12 min, time to mitigate: 16 min, time to resolve: 24 min" in result.stdout


def test_repull_keeps_curation_flags_new_rows_and_reports_orphans(db: Path) -> None:
    assert run(db, "hide", SLUG, "sal:19:17").exit_code == 0
    assert run(db, "edit", SLUG, "sal:19:40", "--text", "Incident task filed").exit_code == 0
    with Store.open(db) as store:  # what the next draft does
        events = [e for e in story() if e.key != "sal:19:17"] + [sal("19:25", EventKind.LOG, "fatals back to normal")]
        store.save_events(SLUG, events)
        store.mark_rows_seen(SLUG, [r.key for r in build_rows(events)])
    result = run(db, "show", SLUG, "--format", "json")
    shown = {r["key"]: r for r in json_lines(result.stdout)}
    assert [k for k, r in shown.items() if "N" in r["flags"]] == ["sal:19:25"]
    assert shown["sal:19:40"]["text"] == "Incident task filed"
    assert "Warning: hidden set on row 'sal:19:17', which the sources no longer return" in result.stderr
    reset = run(db, "reset", SLUG, "sal:19:17")
    assert reset.exit_code == 0 and "Reset 1 row" in reset.stdout
    assert "Warning" not in run(db, "show", SLUG, "--format", "json").stderr


def test_rules_show_the_effective_config(db: Path) -> None:
    result = run(db, "rules", "--format", "json", env={"INCIDENTKIT_TIMELINE_HIDE_KINDS": "task-comment,alert-note"})
    assert result.exit_code == 0
    records = {r["rule"]: r["value"] for r in json_lines(result.stdout)}
    assert records["hide_kinds"] == ["task-comment", "alert-note"]
    assert "pin_kinds" in run(db, "rules", "--format", "table").stdout


def test_a_bad_rule_in_the_config_is_a_config_error(db: Path) -> None:
    result = run(db, "show", SLUG, env={"INCIDENTKIT_TIMELINE_HIDE_MATCHING": '["("]'})
    assert result.exit_code == 2
    assert "Error: config key timeline.hide_matching holds an invalid regular expression" in result.stderr


EXAMPLE = Path(__file__).resolve().parent.parent / "data" / "examples" / "backport-crash"
EXAMPLE_SLUG = "2023-02-14_backport-crash"


@pytest.fixture
def example_db(tmp_path: Path) -> Path:
    path = tmp_path / "example.db"
    result = runner.invoke(app, ["--db", str(path), "draft", "--replay", str(EXAMPLE), "-o", str(tmp_path / "d.wiki")])
    assert result.exit_code == 0, result.output
    return path


def test_a_time_outside_the_drafted_window_needs_force(example_db: Path) -> None:
    env = {"INCIDENTKIT_NOW": "2024-05-01T12:00:00Z"}
    slip = run(example_db, "add", EXAMPLE_SLUG, "--time", "yesterday 18:40", "Users report fatals", env=env)
    assert slip.exit_code == 2
    assert "--time 2024-04-30T18:40:00Z is outside the window of 2023-02-14_backport-crash" in slip.stderr
    assert "--force" in slip.stderr and "Traceback" not in slip.output
    assert not [r for r in rows(example_db, "--all", slug=EXAMPLE_SLUG).values() if r["source"] == "manual"]
    lead_up = run(example_db, "add", EXAMPLE_SLUG, "--time", "2023-02-14 17:30", "Backport window opens", "--force")
    assert lead_up.exit_code == 0 and "Warning: --time 2023-02-14T17:30:00Z is outside" in lead_up.stderr
    inside = run(example_db, "add", EXAMPLE_SLUG, "--time", "18:40", "Users report fatals")
    assert inside.exit_code == 0 and "outside" not in inside.stderr
    edited = run(example_db, "edit", EXAMPLE_SLUG, ref("sal:2023-02-14T18:52:2f06f3b94f"), "--time", "2023-02-15 18:52")
    assert edited.exit_code == 2 and "outside the window" in edited.stderr
    marked = run(example_db, "mark", EXAMPLE_SLUG, "resolved", "2023-02-15T03:00Z")
    assert marked.exit_code == 0 and "Warning: the time 2023-02-15T03:00:00Z is outside the window" in marked.stderr


def test_marking_a_time_where_a_row_stands_marks_that_row(example_db: Path) -> None:
    assert run(example_db, "add", EXAMPLE_SLUG, "--time", "18:33", "Sync to the whole cluster starts").exit_code == 0
    marked = run(example_db, "mark", EXAMPLE_SLUG, "impact_start", "18:33")
    assert marked.exit_code == 0 and "(row " in marked.stdout
    shown = rows(example_db, slug=EXAMPLE_SLUG)
    manual = next(r for r in shown.values() if r["source"] == "manual")
    assert manual["marker"] == "OUTAGE BEGINS" and manual["time"] == "2023-02-14T18:33:00Z"
    assert not any(key.startswith("moment:") for key in shown)  # no separate "OUTAGE BEGINS" row
    table = run(example_db, "show", EXAMPLE_SLUG, "--format", "table", env={"COLUMNS": "200"}).stdout
    assert "2023-02-14 18:34:55" in table  # seconds kept
    merged = next(r for r in shown.values() if r["text"].startswith("opened T329510"))
    assert merged["sources"] == ["sal", "phabricator"]
    assert "sal+phabricator" in table
