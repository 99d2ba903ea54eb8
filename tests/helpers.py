"""Helpers shared by the test modules: running the CLI in-process and opening the user's store."""

from __future__ import annotations

from collections.abc import Mapping

from click.testing import Result
from typer.testing import CliRunner

from incidentkit.cli import app
from incidentkit.config import db_path, load_settings
from incidentkit.store import Store

__all__ = ["run", "home_store"]


def run(*args: str, input: str | None = None, env: Mapping[str, str] | None = None) -> Result:
    """``incidentkit ARGS...`` in-process (stdout and stderr kept apart)."""
    return CliRunner().invoke(app, list(args), input=input, env=dict(env) if env else None)



def home_store() -> Store:
    """The store the CLI uses with the test's INCIDENTKIT_HOME and config."""
    return Store.open(db_path(load_settings()))
