"""Start-up stays close to the interpreter's: the command line imports heavy libraries only in the
commands that use them, when they run. Checked on ``sys.modules`` in a fresh interpreter, not timed
(bench/bench_cli_startup.py times it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from incidentkit.store import Store
from tests.servers.mediawiki import MediaWiki

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


# What `publish FILE` needs: the command line, the wiki client, the store (plain sqlite3 when its
# schema is current), the region splicer and the report reader. Not the template engine, numpy,
# sqlite-utils, dateparser, the sources, the timeline or the search index: a draft no incident
# knows is only published.
NOT_FOR_PUBLISH = ("jinja2", "numpy", "sqlite_utils", "dateparser", "rich.progress", "incidentkit.sources",
                   "incidentkit.timeline", "incidentkit.services.search", "incidentkit.services.importing",
                   "incidentkit.services.draft")  # fmt: skip


@pytest.mark.integration
def test_publishing_a_draft_file_loads_only_what_publishing_uses(
    mediawiki: MediaWiki, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    mediawiki.config_env(monkeypatch, name="ops")
    draft = tmp_path / "draft.wiki"
    draft.write_text("{{irdoc|status=draft}}\n== Summary ==\nWhat happened.\n", encoding="utf-8")
    Store.open(tmp_path / "ik.db").close()  # an existing, current database (a new one is migrated)
    modules = tmp_path / "modules.json"
    script = (
        "import atexit, json, sys\n"
        f"atexit.register(lambda: open({str(modules)!r}, 'w').write(json.dumps(sorted(sys.modules))))\n"
        "from incidentkit.cli import main\n"
        "main()\n"
    )
    argv = ["--db", str(tmp_path / "ik.db"), "publish", str(draft), "--page", "StartupTest/Loaded modules"]
    done = subprocess.run([sys.executable, "-c", script, *argv], capture_output=True, text=True, env=dict(os.environ))
    assert done.returncode == 0, done.stderr
    assert "created StartupTest/Loaded modules" in done.stderr
    loaded = set(json.loads(modules.read_text()))
    assert {"mwclient", "incidentkit.store", "incidentkit.wikitext.regions"} <= loaded  # the guard sees imports
    assert {name for name in loaded if name.split(".")[0] in NOT_FOR_PUBLISH or name.startswith(NOT_FOR_PUBLISH)} == set()
