"""The output contract: JSON Lines for lists and one JSON document for show/stats when piped, a table
that fits the terminal, the pager, colour only where it can be seen, rows written as they come."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from incidentkit.cli._output import Column, Fit, Format, Output, cell_width, fit_columns
from incidentkit.model.incident import IncidentRecord
from tests.helpers import home_store, json_lines, run, run_in_terminal

ESC = "\x1b["
SLUG = "2024-05-01_authoritative-dns-outage-in-eqiad"
LONG_TITLE = "Alert on resolver SERVFAIL rates per data centre before users notice the outage"


@pytest.fixture
def actionables(monkeypatch: pytest.MonkeyPatch) -> str:
    """Two actionables of an incident with a long slug: one overdue with a long title, one not."""
    monkeypatch.setenv("INCIDENTKIT_NOW", "2024-06-10T12:00:00Z")
    with home_store() as store:
        store.save_incident(IncidentRecord(slug=SLUG, title="DNS outage", start="2024-05-01T12:00:00Z", severity="1"))
    assert run("actionables", "add", SLUG, LONG_TITLE, "--owner", "alice", "--type", "detect").exit_code == 0
    assert run("actionables", "add", SLUG, "Rate-limit purges", "--due", "+30d").exit_code == 0
    return SLUG


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


# --- piped: JSON Lines for lists, one document for show/stats ------------------------------------


def test_sources_list_piped_is_json_lines() -> None:
    result = run("sources", "list")
    assert result.exit_code == 0, result.output
    records = json_lines(result.stdout)
    assert [r["name"] for r in records] == ["sal", "phabricator", "prometheus", "alertmanager", "icinga", "irc", "oncall"]
    assert all(set(r) == {"name", "configured", "help"} and r["configured"] is False for r in records)


def test_lists_are_json_lines_and_their_summary_goes_to_stderr(actionables: str) -> None:
    result = run("actionables", "list")
    assert [r["title"] for r in json_lines(result.stdout)] == [LONG_TITLE, "Rate-limit purges"]
    assert result.stderr.strip() == "2 open, 1 overdue, 0 done this month"
    empty = run("actionables", "list", "--owner", "nobody")
    assert empty.exit_code == 0 and empty.stdout == ""


def test_show_and_stats_are_one_indented_json_document(actionables: str) -> None:
    result = run("actionables", "stats", "--months", "2")
    document = json.loads(result.stdout)
    assert set(document) == {"open", "overdue", "closed", "median_days_to_close", "months", "by_owner", "open_age"}
    assert result.stdout.startswith('{\n  "open": 2,')
    assert json.loads(run("config", "show").stdout)["draft"]["max_window_days"] == 14


# --- on a terminal: the table, fitted to the width -------------------------------------------------


@pytest.mark.slow  # a child process on a terminal
def test_a_terminal_gets_a_table_that_fits_without_cutting_ids_dates_or_slugs(actionables: str) -> None:
    narrow = run_in_terminal("--no-pager", "actionables", "list", columns=80)
    assert narrow.exit_code == 0, narrow.output
    rows = lines(narrow.output)
    assert rows[0].split()[:3] == ["id", "incident", "task"] and "due" in rows[0]
    assert all(cell_width(row) <= 80 for row in rows), rows
    first = next(row for row in rows if row.lstrip().startswith("1 "))
    assert SLUG in first and "2024-05-16" in first and "yes" in first  # whole slug, date, overdue
    title = first.split(SLUG)[1].split("2024-05-16")[0].strip()
    assert title.endswith("…") and LONG_TITLE.startswith(title[:-1])  # the title gives way, cut with "…"
    assert "2 open, 1 overdue, 0 done this month" in narrow.output

    wide = run_in_terminal("--no-pager", "actionables", "list", columns=220)
    assert LONG_TITLE in wide.output and "alice" in wide.output and "detect" in wide.output


def test_forced_table_when_piped_takes_columns_from_the_environment(actionables: str) -> None:
    result = run("actionables", "list", "--format", "table", env={"COLUMNS": "100"})
    assert result.exit_code == 0 and all(cell_width(line) <= 100 for line in result.stdout.splitlines())
    assert ESC not in result.stdout


# --- the pager -----------------------------------------------------------------------------------


@pytest.mark.slow  # a child process on a terminal
def test_a_terminal_pages_long_output_through_the_pager(actionables: str, tmp_path: Path) -> None:
    paged = tmp_path / "paged.txt"
    result = run_in_terminal("actionables", "list", env={"PAGER": f"cat > {paged}"})
    assert result.exit_code == 0, result.output
    assert "Rate-limit pur" in paged.read_text() and "Rate-limit pur" not in result.output
    ours = tmp_path / "ours.txt"
    run_in_terminal("actionables", "list", env={"PAGER": f"cat > {paged}", "INCIDENTKIT_PAGER": f"cat > {ours}"})
    assert "Rate-limit pur" in ours.read_text()


@pytest.mark.slow  # a child process on a terminal
@pytest.mark.parametrize("how", [["--no-pager"], ["actionables", "list", "--no-pager"], "PAGER=", "piped"])
def test_no_pager_when_asked_or_piped(actionables: str, tmp_path: Path, how: list[str] | str) -> None:
    paged = tmp_path / "paged.txt"
    if how == "piped":
        result = run("actionables", "list", env={"PAGER": f"cat > {paged}"})
        assert result.exit_code == 0 and "Rate-limit purges" in result.stdout
    else:
        env = {"PAGER": "" if how == "PAGER=" else f"cat > {paged}"}
        args = how if isinstance(how, list) and how[0] == "actionables" else [*(how if isinstance(how, list) else []),
                                                                                "actionables", "list"]  # fmt: skip
        result = run_in_terminal(*args, env=env)
        assert result.exit_code == 0 and "Rate-limit pur" in result.output
    assert not paged.exists()


# --- colour ---------------------------------------------------------------------------------------


@pytest.mark.slow  # a child process on a terminal
def test_colour_on_a_terminal_highlights_overdue_rows(actionables: str) -> None:
    result = run_in_terminal("--no-pager", "actionables", "list", env={"NO_COLOR": ""}, columns=220)
    overdue = next(row for row in lines(result.output) if LONG_TITLE in row)
    later = next(row for row in lines(result.output) if "Rate-limit purges" in row)
    assert f"{ESC}31m" in overdue and f"{ESC}31m" not in later and f"{ESC}1mid{ESC}0m" in result.output


@pytest.mark.slow  # a child process on a terminal
@pytest.mark.parametrize(
    "how",
    [{"env": {"NO_COLOR": "1"}, "args": []}, {"env": {"NO_COLOR": ""}, "args": ["--color", "never"]},
     {"env": {"NO_COLOR": "", "TERM": "dumb"}, "args": []}],  # fmt: skip
)
def test_no_escape_sequence_at_all_without_colour(actionables: str, how: dict) -> None:
    table = run_in_terminal(*how["args"], "--no-pager", "actionables", "list", env=how["env"])
    error = run_in_terminal(*how["args"], "actionables", "list", "--due-before", "notadate", env=how["env"])
    assert ESC not in table.output and "Alert on re" in table.output
    assert ESC not in error.output and error.output.startswith("Error: cannot read --due-before")


@pytest.mark.slow  # a child process on a terminal
def test_color_always_wins_over_no_color_and_a_pipe(actionables: str) -> None:
    result = run("actionables", "list", "--format", "table", "--color", "always", env={"NO_COLOR": "1"})
    assert f"{ESC}1mid{ESC}0m" in result.stdout and f"{ESC}31m" in result.stdout
    error = run_in_terminal("--color", "always", "actionables", "list", "--due-before", "x", env={"NO_COLOR": "1"})
    assert f"{ESC}1;31mError:{ESC}0m" in error.output


@pytest.mark.slow  # a child process on a terminal
def test_source_text_cannot_reach_the_terminal(actionables: str) -> None:
    assert run("actionables", "add", SLUG, "owned\x1b]0;title\x07\x1b[2Jtext").exit_code == 0
    result = run_in_terminal("--no-pager", "actionables", "list", columns=220)
    assert "\x1b" not in result.output and "owned�]0;title��[2Jtext" in result.output


# --- rows are written as they come ------------------------------------------------------------------


def _stream(fmt: Format, monkeypatch: pytest.MonkeyPatch, rows: int) -> tuple[list[int], str]:
    """Rows given one by one; before each, how many lines the output already held."""
    buffer = io.StringIO()
    monkeypatch.setattr(sys, "stdout", buffer)
    output = Output(color="never", pager=False, environ={})
    seen: list[int] = []

    def produce() -> Iterator[dict[str, object]]:
        for n in range(rows):
            seen.append(buffer.getvalue().count("\n"))
            yield {"id": n, "title": f"row {n}", "tags": ["a", "b"]}

    with output.rows([Column("id"), Column("title", fit=Fit.TRUNCATE)], fmt, fields=["id", "title", "tags"]) as sink:
        for record in produce():
            sink.add(record)
    return seen, buffer.getvalue()


@pytest.mark.parametrize(("fmt", "header"), [(Format.JSON, 0), (Format.CSV, 1), (Format.MARKDOWN, 2)])
def test_each_row_is_written_before_the_next_is_read(fmt: Format, header: int, monkeypatch: pytest.MonkeyPatch) -> None:
    seen, text = _stream(fmt, monkeypatch, 5)
    assert seen == [0, header + 1, header + 2, header + 3, header + 4]
    assert text.count("\n") == header + 5


def test_a_table_fixes_its_widths_on_the_first_rows_then_streams(monkeypatch: pytest.MonkeyPatch) -> None:
    from incidentkit.cli._output import SAMPLE_ROWS

    seen, text = _stream(Format.TABLE, monkeypatch, SAMPLE_ROWS + 3)
    assert seen[SAMPLE_ROWS - 1] == 0 and seen[SAMPLE_ROWS] == SAMPLE_ROWS + 1 and seen[-1] == SAMPLE_ROWS + 3
    assert text.splitlines()[0].split() == ["id", "title"]


def test_a_lone_surrogate_is_written_as_an_escape(monkeypatch: pytest.MonkeyPatch) -> None:
    stdout = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    monkeypatch.setattr(sys, "stdout", stdout)
    with Output(color="never", pager=False, environ={}).rows([Column("text")], Format.JSON) as sink:
        sink.add({"text": "bad \ud800 text"})
    stdout.flush()
    written = stdout.buffer.getvalue().decode("utf-8")  # type: ignore[attr-defined]
    assert json.loads(written) == {"text": "bad \\ud800 text"} or json.loads(written)["text"].startswith("bad ")
    assert "\\ud800" in written


@pytest.mark.slow  # a child process
def test_a_reader_that_stops_early_is_not_an_error(actionables: str) -> None:
    for n in range(300):
        run("actionables", "add", SLUG, f"follow-up {n}")
    reader = subprocess.Popen(
        [sys.executable, "-m", "incidentkit", "actionables", "list", "--status", "all"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert reader.stdout is not None and reader.stdout.readline().startswith(b"{")
    reader.stdout.close()
    _, errors = reader.communicate(timeout=60)
    assert reader.returncode == 0 and b"Traceback" not in errors and b"Exception ignored" not in errors


# --- fitting columns ---------------------------------------------------------------------------------


def test_fit_columns_cuts_free_text_first_then_drops_the_least_important() -> None:
    columns = [Column("id"), Column("slug"), Column("title", fit=Fit.TRUNCATE, min_width=10),
               Column("owner", drop=1), Column("type", drop=2), Column("due")]  # fmt: skip
    natural = [3, 30, 60, 8, 11, 10]
    gaps = 2 * 5
    assert fit_columns(columns, natural, 200) == natural
    assert fit_columns(columns, natural, 100) == [3, 30, 100 - gaps - 62, 8, 11, 10]
    # title at its minimum is not enough: "type" (drop=2) goes first, then "owner"
    assert fit_columns(columns, natural, 80) == [3, 30, 80 - 8 - 51, 8, None, 10]
    assert fit_columns(columns, natural, 62) == [3, 30, 62 - 6 - 43, None, None, 10]
    # nothing left to drop: free text below its minimum; ids, slugs and dates whole
    assert fit_columns(columns, natural, 52) == [3, 30, 52 - 6 - 43, None, None, 10]
    assert fit_columns(columns, natural, 40) == [3, 30, 3, None, None, 10]  # the line is wider than 40


def test_fit_columns_shares_the_cut_between_the_widest_free_text_columns() -> None:
    columns = [Column("a", fit=Fit.TRUNCATE, min_width=5), Column("b", fit=Fit.WRAP, min_width=5)]
    assert fit_columns(columns, [40, 30], 52) == [25, 25]
    assert fit_columns(columns, [40, 4], 30) == [24, 4]


def test_cell_width_counts_terminal_cells() -> None:
    assert cell_width("abc") == 3 and cell_width("日本") == 4 and cell_width("é") == 1 and cell_width("e\u0301") == 1
