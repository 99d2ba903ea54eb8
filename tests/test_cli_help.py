"""Every command's ``--help`` keeps the conventions: metavars, not type placeholders; one example;
one meaning per option name and short flag across the CLI; every command a hint names exists."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import typer.main

from incidentkit.cli import COMMANDS, app
from tests.helpers import run

ROOT = Path(__file__).resolve().parent.parent
METAVAR = re.compile(r"^[A-Z][A-Z0-9_]*(?:(?:=|\||\.\.)[A-Z][A-Z0-9_]*)*$")
PLACEHOLDER = re.compile(r"<[a-z][a-z_\[\]|, ]*>|\{[A-Za-z_]+\}|\[\[")


def tree() -> dict[str, Any]:
    """Every command and group by its path ('' is the root), modules loaded."""
    found: dict[str, Any] = {}

    def walk(path: str, command: Any) -> None:
        found[path] = command
        if hasattr(command, "list_commands"):
            for name in command.list_commands(None):
                walk(f"{path} {name}".strip(), command.get_command(None, name))

    walk("", typer.main.get_command(app))
    return found


COMMAND_TREE = tree()
LEAVES = [path for path, command in COMMAND_TREE.items() if not hasattr(command, "list_commands")]


@pytest.mark.parametrize("path", list(COMMAND_TREE), ids=lambda p: p or "incidentkit")
def test_help_shows_metavars_not_type_placeholders(path: str) -> None:
    result = run(*path.split(), "--help")
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert text.startswith(f"Usage: incidentkit {path}".rstrip() + " "), text.splitlines()[0]
    assert not PLACEHOLDER.search(text), f"`incidentkit {path} --help` shows {PLACEHOLDER.search(text)}"
    for param in COMMAND_TREE[path].params:
        if param.param_type_name == "argument" or not param.is_flag:
            assert param.metavar and METAVAR.match(param.metavar), f"{path}: {param.name} has metavar {param.metavar!r}"
        assert param.help, f"{path}: {param.name} has no help"


@pytest.mark.parametrize("path", LEAVES)
def test_each_command_has_one_example_of_itself_and_a_short_summary(path: str) -> None:
    command = COMMAND_TREE[path]
    examples = re.findall(r"^Examples?:(.*)$", command.help or "", flags=re.MULTILINE)
    assert len(examples) == 1, f"`incidentkit {path} --help` has {len(examples)} examples"
    assert examples[0].strip().startswith(f"incidentkit {path}"), examples[0]
    summary = command.get_short_help_str(200)
    assert summary.endswith(".") and len(summary) <= 60, f"{path}: summary {summary!r} is not one short sentence"


def test_root_lists_each_command_with_its_own_summary() -> None:
    for name, (_, summary) in COMMANDS.items():
        assert COMMAND_TREE[name].get_short_help_str(200) == summary, name


def test_help_texts_are_each_commands_own() -> None:
    """No command's description is another's, and no option help is copied with words that do not fit."""
    bodies: dict[str, str] = {}
    for path in LEAVES:
        body = (COMMAND_TREE[path].help or "").split("Example:")[0].strip()
        assert body not in bodies, f"`{path}` and `{bodies.get(body)}` share their help"
        bodies[body] = path
    for path in LEAVES:
        verb = path.split()[-1]
        for param in COMMAND_TREE[path].params:
            words = param.help or ""
            if verb not in ("draft", "publish"):
                assert not re.search(r"\b(Draft from|in the page)\b", words), f"{path} {param.opts}: {words}"


def test_one_meaning_per_option_name_and_short_flag() -> None:
    shorts: dict[str, set[str]] = defaultdict(set)
    shapes: dict[str, set[tuple[Any, ...]]] = defaultdict(set)
    for command in COMMAND_TREE.values():
        for param in command.params:
            if param.param_type_name != "option":
                continue
            longs = [o for o in param.opts if o.startswith("--")]
            short = tuple(o for o in param.opts if not o.startswith("--"))
            for name in longs:
                shapes[name].add((param.is_flag, param.metavar, short))
            for flag in short:
                shorts[flag].update(longs)
    assert {flag: names for flag, names in shorts.items() if len(names) > 1} == {}
    assert {name: s for name, s in shapes.items() if len(s) > 1} == {}
    assert shorts["-i"] == {"--input"} and shapes["--input"] == {(False, "NAME=PATH", ("-i",))}
    assert shapes["--incident"] == {(False, "INCIDENT", ())}


def _named_commands(text: str) -> list[list[str]]:
    """The command paths named in backticks: `incidentkit actionables list ...`, `timeline show ...`."""
    groups = "|".join(sorted({*COMMANDS, "version"}))
    found = []
    for match in re.finditer(rf"`(?:incidentkit )?((?:{groups})(?: [a-z][a-z-]*)*)", text):
        found.append(match.group(1).split())
    return found


def _resolves(words: list[str]) -> bool:
    path = ""
    for word in words:
        candidate = f"{path} {word}".strip()
        if candidate not in COMMAND_TREE:
            # past a leaf, words are arguments (`publish FILE`); inside a group they must be commands
            return path in LEAVES and bool(path)
        path = candidate
    return True


@pytest.mark.parametrize(
    "source",
    sorted(str(p.relative_to(ROOT)) for p in (ROOT / "incidentkit").rglob("*.py")) + ["README.md"],
)
def test_every_command_a_hint_or_help_names_exists(source: str) -> None:
    text = (ROOT / source).read_text(encoding="utf-8")
    unknown = [" ".join(words) for words in _named_commands(text) if not _resolves(words)]
    assert unknown == [], f"{source} names commands that do not exist: {unknown}"


def test_the_walk_finds_what_a_typo_would_break() -> None:
    assert not _resolves(["actionables", "lsit"]) and not _resolves(["timline"][:1] + ["show"])
    assert _resolves(["publish", "drafts"]) and _resolves(["actionables", "list"])
    assert ["timeline", "show"] in _named_commands("see `incidentkit timeline show SLUG`")
