"""No argument value makes a traceback: every text and path option and argument of every command,
given values that break naive code — a NUL character, a 5,000-character name, a 30-digit number, a
binary file, a folder, ``~`` of a user that does not exist — and every number option, given numbers
SQLite cannot hold, ends in a one-line error (or works), never in a traceback. Options that take a
size, a date, a file kind or search syntax get values of the right type that mean nothing, and
charts get files that cannot be written. The commands are found by walking the CLI (groups that
run on their own, such as ``incidents stats``, included), so a new command is drilled too."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from incidentkit.model.incident import IncidentRecord
from incidentkit.model.source import Query
from incidentkit.model.window import Window
from tests.helpers import FILLER_SLUG, base_type, commands, home_store, invocation, run


def _texty(param: Any) -> bool:
    return base_type(param) in (str, Path)


CASES = [
    (path, param.name or "")
    for path, command in commands()
    for param in command.params
    if _texty(param) and param.name not in ("help",)
]


@pytest.fixture(autouse=True)
def known_incident() -> None:
    """Incident ``inc-a`` (the filler of slug arguments) exists, so commands get past looking it up."""
    window = Window(datetime(2024, 1, 1, 10, tzinfo=UTC), datetime(2024, 1, 1, 12, tzinfo=UTC))
    with home_store() as store:
        store.save_incident(
            IncidentRecord(
                slug=FILLER_SLUG, title="A", start="2024-01-01T10:00:00Z", end="2024-01-01T12:00:00Z",
                metadata={"query": Query(window).to_dict()},
            )
        )  # fmt: skip


@pytest.fixture
def bad_values(tmp_path: Path) -> list[str]:
    binary = tmp_path / "binary.bin"
    binary.write_bytes(bytes(range(256)) * 8)
    return ["bad\x00value", "n" * 5000, str(binary), str(tmp_path), "~no-such-user-ik/x", "9" * 30]


def _no_traceback(args: list[str]) -> None:
    result = run(*args, input="")
    shown = [a if len(a) < 60 else a[:20] + "…" for a in args]
    assert result.exception is None or isinstance(result.exception, SystemExit), f"{shown}: {result.exception!r}"
    assert "Traceback" not in result.output, shown
    if result.exit_code not in (0, 2):  # 2: click refused the value itself
        assert result.stderr.startswith(("Error: ", "Aborted")), f"{shown}: {result.stderr[:300]}"


@pytest.mark.parametrize(("path", "target"), CASES, ids=[" ".join(p) + f" {t}" for p, t in CASES])
def test_no_argument_value_makes_a_traceback(path: tuple[str, ...], target: str, bad_values: list[str]) -> None:
    for value in bad_values:
        _no_traceback(invocation(path, {target: value}))


@pytest.mark.parametrize("option", ["--config", "--db"])
@pytest.mark.parametrize("command", [("config", "show"), ("actionables", "list"), ("timeline", "show", "inc-a")])
def test_no_root_option_value_makes_a_traceback(option: str, command: tuple[str, ...], bad_values: list[str]) -> None:
    for value in bad_values:
        _no_traceback([option, value, *command])


def test_the_long_config_name_and_the_binary_config_are_clear_errors(bad_values: list[str]) -> None:
    long_name = run("--config", "n" * 5000, "config", "show")
    assert long_name.exit_code == 2 and "config file" in long_name.stderr and len(long_name.stderr.splitlines()[0]) < 300
    binary = run("--config", bad_values[2], "config", "show")
    assert binary.exit_code == 2 and "is not UTF-8 text" in binary.stderr
    nul = run("--db", "a\x00b", "actionables", "list")
    assert nul.exit_code != 0 and "NUL" in nul.stderr


EXAMPLE = Path(__file__).resolve().parent.parent / "data" / "examples" / "backport-crash"


def test_no_path_to_write_makes_a_traceback(bad_values: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # relative names land here
    missing_folder = str(tmp_path / "no" / "such" / "folder" / "page.wiki")
    for value in [*bad_values, missing_folder]:
        drafted = run("draft", "--replay", str(EXAMPLE), "--no-store", "--output", value)
        assert drafted.exception is None or isinstance(drafted.exception, SystemExit)
        assert "Traceback" not in drafted.output
        if value == missing_folder:
            assert drafted.exit_code == 2 and "cannot write --output" in drafted.stderr
            assert not (tmp_path / "no").exists()  # a mistyped path creates no folders
        saved = run(
            "pull", "--save", value, "--input", f"sal={EXAMPLE / 'sal'}", "--from", "2023-02-14 18:00", "--to", "2023-02-14 19:00"
        )  # fmt: skip
        assert saved.exception is None or isinstance(saved.exception, SystemExit), repr(saved.exception)
        assert "Traceback" not in saved.output and saved.exit_code in (0, 2), saved.stderr


NUMBERS = [
    (path, param.name or "")
    for path, command in commands()
    for param in command.params
    if base_type(param) is int and param.name not in ("help",)
]


@pytest.mark.parametrize(("path", "target"), NUMBERS, ids=[" ".join(p) + f" {t}" for p, t in NUMBERS])
def test_no_number_makes_a_traceback(path: tuple[str, ...], target: str) -> None:
    """Numbers SQLite cannot hold, that no date or duration can add, negative or zero."""
    for value in ["-1", "0", str(2**63), "9" * 40]:
        _no_traceback(invocation(path, {target: value}))


def test_numbers_out_of_range_are_refused_with_the_range() -> None:
    """A limit, a count of months or days is checked before it reaches a loop, a date or SQLite."""
    for args in (
        ["incidents", "similar", FILLER_SLUG, "--limit", "0"],
        ["incidents", "search", "x", "--limit", str(2**63)],
        ["actionables", "list", "--limit", str(2**63)],
        ["actionables", "stats", "--months", "9" * 40],  # counted back month by month, it never ended
        ["incidents", "stats", "--repeat-days", str(10**6)],
    ):
        result = run(*args)
        assert result.exit_code == 2 and " must be between " in result.stderr, (args, result.output)
    for command in ("history", "set"):
        beyond = run("actionables", command, str(2**63))
        assert beyond.stderr.startswith(f"Error: unknown actionable #{2**63}"), beyond.output


ODD_VALUES = {
    "chart_size": ["0x0", "-5x10", "1200", "x900", "1200x900x3", "99999x99999", "1e3x900", "１２００x９００", "nanxnan"],
    "chart_format": ["gif", "PNG", "", "svg "],
    "since": ["2023-02-30", "0001-01-01", "9999-12-31", "10000-01-01", "tomorrow", "-1", "1e9", "2023-02-14T25:00"],
    "query": ['"', "AND", "a OR", "NEAR(a b", "*", "-x", "title:x", "^x", "(", "a AND (b", "'", "{a b}: c", "x" * 5000],
    "chart": ["chart.gif", "chart", "no/such/folder/chart.svg", "."],
    "due_before": ["2023-02-30", "0001-01-01", "tomorrow"],
}
ODD_CASES = [
    (path, param.name or "", value)
    for path, command in commands()
    for param in command.params
    for value in ODD_VALUES.get(param.name or "", [])
]


def case_id(path: tuple[str, ...], target: str, value: str) -> str:
    """An ASCII id (pytest escapes others, and a run that selects tests by id cannot name them then)."""
    shown = repr(value[:20]) if value.isascii() else " ".join(f"U+{ord(c):04X}" for c in value[:8])
    return " ".join(path) + f" {target}={shown}"


@pytest.mark.parametrize(("path", "target", "value"), ODD_CASES, ids=[case_id(*case) for case in ODD_CASES])
def test_odd_values_of_the_newer_options_are_one_line_errors(
    path: tuple[str, ...], target: str, value: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    """Values of the right type that mean nothing (sizes, dates, file kinds, search syntax) are
    refused with a one-line error, or work. Commands that write to a wiki get the session's real
    one, so they get as far as their options (a chart's size and format, the upload)."""
    monkeypatch.chdir(tmp_path)  # relative chart names land here
    if "publish" in path:
        request.getfixturevalue("mediawiki").config_env(monkeypatch)
    _no_traceback(invocation(path, {target: value}))


CHART_COMMANDS = [path for path, command in commands() if any(param.name == "chart" for param in command.params)]


@pytest.mark.parametrize("path", CHART_COMMANDS, ids=[" ".join(p) for p in CHART_COMMANDS])
def test_a_chart_that_cannot_be_written_is_a_one_line_error(path: tuple[str, ...], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder.svg").mkdir()
    (tmp_path / "file.bin").write_bytes(b"not a folder")
    cases = [
        ("folder.svg", "it is a folder"), ("file.bin/x.svg", "Not a directory"), ("no/such/x.svg", "No such file"),
        ("n" * 300 + ".svg", "too long"),
    ]  # fmt: skip
    for value, reason in cases:
        result = run(*path, "--chart", value)
        assert result.exit_code == 2 and "Traceback" not in result.output, (value, result.output)
        assert "Error: cannot write --chart" in result.stderr and reason in result.stderr, (value, result.stderr)
    assert not (tmp_path / "no").exists()  # like --output, a mistyped folder creates no folders
    size_alone = run(*path, "--chart-size", "1200x900")
    assert size_alone.exit_code == 2 and "Error: --chart-size needs --chart FILE" in size_alone.stderr
    drawn = run(*path, "--chart", "chart.svg", "--chart-size", "1200x900")
    assert drawn.exit_code == 0 and (tmp_path / "chart.svg").read_text().startswith("<?xml"), drawn.output
