"""No argument value makes a traceback: every text and path option and argument of every command,
given values that break naive code — a NUL character, a 5,000-character name, a binary file, a
folder, ``~`` of a user that does not exist — ends in a one-line error (or works), never in a
traceback. The commands are found by walking the CLI, so a new command is drilled too."""

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
    return ["bad\x00value", "n" * 5000, str(binary), str(tmp_path), "~no-such-user-ik/x"]


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
