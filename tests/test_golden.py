"""Golden files: the rendered example page, byte for byte, so any change to the output is a reviewable diff.

Regenerate after an intended change with ``UPDATE_GOLDEN=1 pytest tests/test_golden.py``
and review ``git diff tests/golden/``.
"""

from __future__ import annotations

import os
from pathlib import Path

from typer.testing import CliRunner

from incidentkit.cli import app

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "data" / "examples" / "backport-crash"
GOLDEN = Path(__file__).parent / "golden"
# read at import, not in a test: the autouse fixture clears the environment of every INCIDENTKIT_* variable
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


def check_golden(name: str, text: str) -> None:
    """Compare *text* with ``tests/golden/NAME`` (or write it there with UPDATE_GOLDEN=1)."""
    path = GOLDEN / name
    if UPDATE:
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"{name} differs from the golden file (see module docstring)"


def test_example_draft_matches_golden() -> None:
    result = CliRunner().invoke(app, ["draft", "--replay", str(EXAMPLE), "--no-store"])
    assert result.exit_code == 0, result.output
    check_golden("backport-crash.wiki", result.stdout)
