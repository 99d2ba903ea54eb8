"""The README is the manual: every command has help text and an example, and appears in the README."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import typer.main

from incidentkit.cli import app

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def commands() -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []

    def walk(prefix: str, command: Any) -> None:
        if hasattr(command, "commands"):  # a group (typer vendors its own click)
            for name, sub in command.commands.items():
                walk(f"{prefix} {name}".strip(), sub)
        else:
            found.append((prefix, command))

    walk("", typer.main.get_command(app))
    return found


@pytest.mark.parametrize(("name", "command"), commands(), ids=[n for n, _ in commands()])
def test_every_command_has_help_and_is_in_the_readme(name: str, command: Any) -> None:
    assert command.help and len(command.help.strip()) > 20, f"{name} has no help text"
    assert "Example:" in command.help, f"`incidentkit {name} --help` shows no example"
    assert f"incidentkit {name}" in README, f"README does not document `incidentkit {name}`"


def test_readme_quickstart_matches_ci() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "bash scripts/test" in README and "exec bash scripts/test" in ci
    assert "incidentkit draft --replay data/examples/backport-crash" in README
