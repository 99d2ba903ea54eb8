"""Helpers shared by the test modules: running the CLI in-process, opening the user's store, and
walking every command of the CLI (with harmless values for the arguments a test does not vary)."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import subprocess
import sys
import termios
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import typer.main
from click.testing import Result
from typer.testing import CliRunner

from incidentkit.cli import app
from incidentkit.config import db_path, load_settings
from incidentkit.store import Store

__all__ = ["run", "home_store", "json_lines", "Terminal", "run_in_terminal", "commands", "base_type", "invocation", "FILLER_SLUG"]

FILLER_SLUG = "inc-a"


def run(*args: str, input: str | None = None, env: Mapping[str, str] | None = None) -> Result:
    """``incidentkit ARGS...`` in-process (stdout and stderr kept apart)."""
    return CliRunner().invoke(app, list(args), input=input, env=dict(env) if env else None)


def home_store() -> Store:
    """The store the CLI uses with the test's INCIDENTKIT_HOME and config."""
    return Store.open(db_path(load_settings()))


def json_lines(text: str) -> list[dict[str, Any]]:
    """The records of a list command's JSON Lines output (one object per line, nothing else)."""
    return [json.loads(line) for line in text.splitlines()]


@dataclass(frozen=True)
class Terminal:
    """What a run on a real terminal (a pseudo-terminal) gave: the exit code and the screen text."""

    exit_code: int
    output: str


def _take_terminal() -> None:
    """In the child: a session of its own with the terminal as its controlling terminal, so that a
    typed Ctrl-C reaches it as SIGINT, as it does in a shell."""
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def run_in_terminal(
    *args: str,
    input: str = "",
    env: Mapping[str, str] | None = None,
    columns: int = 100,
    timeout: float = 60,
    interrupt_at: str | None = None,
) -> Terminal:
    """``python -m incidentkit ARGS...`` with standard input, output and error on one terminal.

    *input* is typed ahead (a Ctrl-D, ``\\x04``, at the start of a line ends the input); with
    *interrupt_at*, Ctrl-C is typed once the screen shows that text (a typed-ahead Ctrl-C would
    interrupt the interpreter's start, not the command); the
    screen text comes back with ``\\r\\n`` as ``\\n``. ``$COLUMNS`` is *columns*; ``$PAGER`` comes from
    *env* only, and ``NO_COLOR=1`` unless *env* sets it (``""`` lets colour through).
    """
    environ = {k: v for k, v in os.environ.items() if k not in ("PAGER", "INCIDENTKIT_PAGER", "NO_COLOR")}
    environ |= {"COLUMNS": str(columns), "LINES": "40", "TERM": "xterm", "NO_COLOR": "1", **(env or {})}
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "incidentkit", *args], stdin=follower, stdout=follower, stderr=follower, env=environ,
        preexec_fn=_take_terminal,
    )  # fmt: skip
    os.close(follower)
    if input:
        os.write(leader, input.encode("utf-8"))
    chunks = []
    deadline = time.monotonic() + timeout
    interrupted: float | None = None  # when Ctrl-C was last typed
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.1)
        if not ready:
            if process.poll() is not None:
                # It may have written its last words between the select and the poll: take them.
                ready, _, _ = select.select([leader], [], [], 0)
                if not ready:
                    break
            else:
                if interrupted is not None and time.monotonic() - interrupted > 5:
                    # A Ctrl-C that lands just before Python blocks reading the terminal waits for
                    # the next key (CPython checks signals only when a read is interrupted): type it
                    # again, as a user would.
                    os.write(leader, b"\x03")
                    interrupted = time.monotonic()
                continue
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: every process holding the terminal has exited
            break
        if not chunk:
            break
        chunks.append(chunk)
        if interrupt_at is not None and interrupt_at in b"".join(chunks).decode("utf-8", "replace"):
            os.write(leader, b"\x03")
            interrupt_at, interrupted = None, time.monotonic()
    # Wait before closing the terminal: closing it hangs up a command that has let go of its
    # standard streams but is still exiting (it would die of SIGHUP, exit code -1).
    try:
        code = process.wait(timeout=max(1.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise AssertionError(f"incidentkit {' '.join(args)} still ran after {timeout} s: {b''.join(chunks)!r}") from None
    finally:
        os.close(leader)
    return Terminal(code, b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n"))


@cache
def _cli() -> Any:
    return typer.main.get_command(app)


def commands(group: Any = None, prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """(command path, command) of every command of the CLI, e.g. (("actionables", "add"), <command>),
    and of every group that runs on its own too (``incidents stats`` with its options, no subcommand)."""
    group = group if group is not None else _cli()
    for name in group.list_commands(None):
        command = group.get_command(None, name)
        if hasattr(command, "list_commands"):
            if command.invoke_without_command:
                yield (*prefix, name), command
            yield from commands(command, (*prefix, name))
        else:
            yield (*prefix, name), command


def base_type(param: Any) -> Any:
    """What a parameter takes, by its click type's name (typer carries its own copy of click, so
    not by class): str, Path, int, float, or the click type itself (a choice, a flag...)."""
    kind = param.type
    names = {"text": str, "str": str, "path": Path, "integer": int, "int": int, "int range": int, "float": float}
    return names.get(getattr(kind, "name", ""), kind)


def _filler(param: Any) -> str:
    kind = base_type(param)
    if getattr(kind, "name", "") == "choice":
        first = kind.choices[0]
        return str(getattr(first, "value", first))
    if kind in (int, float):
        return "1"
    return FILLER_SLUG


def invocation(path: tuple[str, ...], values: Mapping[str, str] | None = None) -> list[str]:
    """The arguments that run command *path* with *values* (parameter name -> value) and a harmless
    value (:data:`FILLER_SLUG`, 1, an enum's first member) for every other required parameter."""
    values = values or {}
    command = _cli()
    for name in path:
        command = command.get_command(None, name)
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
