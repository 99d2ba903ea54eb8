"""Helpers shared by the test modules: running the CLI in-process, opening the user's store, and
walking every command of the CLI (with harmless values for the arguments a test does not vary)."""

from __future__ import annotations

import enum
import types
import typing
from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any

import typer.main
from click.testing import Result
from typer.testing import CliRunner

from incidentkit.cli import app
from incidentkit.config import db_path, load_settings
from incidentkit.store import Store

__all__ = ["run", "home_store", "commands", "base_type", "invocation", "FILLER_SLUG"]

FILLER_SLUG = "inc-a"


def run(*args: str, input: str | None = None, env: Mapping[str, str] | None = None) -> Result:
    """``incidentkit ARGS...`` in-process (stdout and stderr kept apart)."""
    return CliRunner().invoke(app, list(args), input=input, env=dict(env) if env else None)



def home_store() -> Store:
    """The store the CLI uses with the test's INCIDENTKIT_HOME and config."""
    return Store.open(db_path(load_settings()))


@cache
def _cli() -> Any:
    return typer.main.get_command(app)


def commands(group: Any = None, prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """(command path, command) of every command of the CLI, e.g. (("actionables", "add"), <command>)."""
    group = group if group is not None else _cli()
    for name, command in sorted(group.commands.items()):
        if hasattr(command, "commands"):
            yield from commands(command, (*prefix, name))
        else:
            yield (*prefix, name), command


def base_type(param: Any) -> Any:
    """A parameter's annotation without ``| None`` and ``list[...]`` (str, Path, int, an Enum...)."""
    annotation = param.type_descriptor.annotation
    while typing.get_origin(annotation) in (typing.Union, types.UnionType, list):
        annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
    return annotation


def _filler(param: Any) -> str:
    kind = base_type(param)
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return str(next(iter(kind)).value)
    if kind in (int, float):
        return "1"
    return FILLER_SLUG


def invocation(path: tuple[str, ...], values: Mapping[str, str] | None = None) -> list[str]:
    """The arguments that run command *path* with *values* (parameter name -> value) and a harmless
    value (:data:`FILLER_SLUG`, 1, an enum's first member) for every other required parameter."""
    values = values or {}
    command = _cli()
    for name in path:
        command = command.commands[name]
    args: list[str] = list(path)
    positional: list[str] = []
    for param in command.params:
        given = values.get(param.name or "")
        if type(param).__name__ == "TyperArgument":
            if given is not None or param.required:
                positional.append(given if given is not None else _filler(param))
        elif given is not None or param.required:
            args += [param.opts[0], given if given is not None else _filler(param)]
    return [*args, "--", *positional] if positional else args
