"""Start-up stays close to the interpreter's: the command line imports heavy libraries only in the
commands that use them, when they run. Checked on ``sys.modules`` in a fresh interpreter, not timed
(bench/bench_cli_startup.py times it)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow  # child processes

HEAVY = ("requests", "mwclient", "urllib3", "sqlite_utils", "sqlite3", "jinja2", "rich", "dateparser",
         "mwparserfromhell", "pydantic")  # fmt: skip


def loaded_after(code: str) -> set[str]:
    """The top-level packages (and rich.progress) a fresh interpreter holds after running *code*."""
    script = f"import json, sys\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    names = json.loads(done.stdout.splitlines()[-1])
    return {name.split(".")[0] for name in names if name.split(".")[0] in HEAVY} | {"rich.progress"} & set(names)


def test_importing_the_cli_loads_no_heavy_library() -> None:
    assert loaded_after("import incidentkit.cli") == set()


def test_building_every_command_and_its_help_loads_no_heavy_library() -> None:
    walk = (
        "import typer.main\n"
        "from incidentkit.cli import app\n"
        "def walk(path, command):\n"
        "    if hasattr(command, 'list_commands'):\n"
        "        for name in command.list_commands(None):\n"
        "            walk([*path, name], command.get_command(None, name))\n"
        "    command.get_help(command.make_context(' '.join(['incidentkit', *path]), [], resilient_parsing=True))\n"
        "walk([], typer.main.get_command(app))\n"
    )
    assert loaded_after(walk) == set()


def test_the_guard_sees_a_heavy_import() -> None:
    assert loaded_after("import jinja2") == {"jinja2"}
    assert loaded_after("import rich.progress") == {"rich", "rich.progress"}


def test_publishing_a_draft_file_loads_neither_the_template_engine_nor_numpy() -> None:
    # numpy is installed with the charts extra (as in the test environment); sqlite-utils would load it
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, incidentkit.services.publish\nprint(sorted(sys.modules))"],
        capture_output=True, text=True, check=True,
    ).stdout
    assert "'jinja2'" not in loaded and "'numpy'" not in loaded and "'incidentkit.store'" in loaded
