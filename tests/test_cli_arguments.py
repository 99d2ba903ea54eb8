"""No argument value makes a traceback: every text and path option and argument of every command,
given values that break naive code — a NUL character, a 5,000-character name, a binary file, a
folder, ``~`` of a user that does not exist — ends in a one-line error (or works), never in a
traceback. The commands are found by walking the CLI, so a new command is drilled too."""

from __future__ import annotations

import enum
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main

from incidentkit.cli import app
from incidentkit.model.incident import IncidentRecord
from incidentkit.model.source import Query
from incidentkit.model.window import Window
from tests.helpers import home_store, run


def _commands(group: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    for name, command in sorted(group.commands.items()):
        if hasattr(command, "commands"):
            yield from _commands(command, (*prefix, name))
        else:
            yield (*prefix, name), command


def _base_type(param: Any) -> Any:
    """The parameter's annotation without ``| None`` and ``list[...]``."""
    annotation = param.type_descriptor.annotation
    while typing.get_origin(annotation) in (typing.Union, types.UnionType, list):
        annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
    return annotation


def _texty(param: Any) -> bool:
    return _base_type(param) in (str, Path)


def _filler(param: Any) -> str:
    """A harmless value for a required parameter that is not under test."""
    kind = _base_type(param)
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return str(next(iter(kind)).value)
    if kind in (int, float):
        return "1"
    return "inc-a"


CLI = typer.main.get_command(app)
CASES = [
    (path, param.name or "")
    for path, command in _commands(CLI)
    for param in command.params
    if _texty(param) and param.name not in ("help",)
]


@pytest.fixture(autouse=True)
def known_incident() -> None:
    """Incident ``inc-a`` (the filler of slug arguments) exists, so commands get past looking it up."""
    from datetime import UTC, datetime

    window = Window(datetime(2024, 1, 1, 10, tzinfo=UTC), datetime(2024, 1, 1, 12, tzinfo=UTC))
    with home_store() as store:
        store.save_incident(
            IncidentRecord(
                slug="inc-a", title="A", start="2024-01-01T10:00:00Z", end="2024-01-01T12:00:00Z",
                metadata={"query": Query(window).to_dict()},
            )
        )  # fmt: skip


@pytest.fixture
def bad_values(tmp_path: Path) -> list[str]:
    binary = tmp_path / "binary.bin"
    binary.write_bytes(bytes(range(256)) * 8)
    return ["bad\x00value", "n" * 5000, str(binary), str(tmp_path), "~no-such-user-ik/x"]


def _invocation(path: tuple[str, ...], target: str, value: str) -> list[str]:
    command = CLI
    for name in path:
        command = command.commands[name]
    args: list[str] = list(path)
    positional: list[str] = []
    for param in command.params:
        is_target = param.name == target
        if type(param).__name__ == "TyperArgument":
            if is_target or param.required:
                positional.append(value if is_target else _filler(param))
        elif is_target or param.required:
            args += [param.opts[0], value if is_target else _filler(param)]
    return [*args, "--", *positional] if positional else args


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
        _no_traceback(_invocation(path, target, value))


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
