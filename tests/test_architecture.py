"""The architecture, checked: the import-linter contracts of pyproject.toml, and what start-up loads."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_are_kept() -> None:
    """cli -> services -> store | sources -> clients | timeline | wikitext -> model | config -> util | errors,
    HTTP only in clients, SQL only in the store, templates only in wikitext, printing only in the CLI."""
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout
