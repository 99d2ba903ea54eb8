"""What every command gets from the root callback: settings, the store, the clock, output helpers.

Commands read the clock only through :func:`now` and print only through the consoles here, so
tests can pin time (``INCIDENTKIT_NOW``) and capture output.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.console import Console

from ..config import Settings, db_path, load_settings, user_path
from ..model.window import parse_when
from ..store import Store

__all__ = ["AppContext", "get_context", "now", "out", "err"]

out = Console(soft_wrap=True, highlight=False)
err = Console(stderr=True, soft_wrap=True, highlight=False)


def now() -> datetime:
    """The current UTC time; ``INCIDENTKIT_NOW`` pins it (tests, reproducible runs)."""
    pinned = os.environ.get("INCIDENTKIT_NOW")
    if pinned:
        return parse_when(pinned, now=datetime.now(UTC), option="INCIDENTKIT_NOW")
    return datetime.now(UTC)


def is_terminal() -> bool:
    return sys.stdout.isatty()


@dataclass
class AppContext:
    """Lazily loaded settings and store, shared by the commands of one invocation."""

    config: str | None = None
    db: str | None = None
    debug: bool = False
    _settings: Settings | None = field(default=None, repr=False)
    _store: Store | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config)
        return self._settings

    def db_path(self) -> Path:
        return user_path(self.db, what="--db") if self.db else db_path(self.settings)

    def store(self) -> Store:
        if self._store is None:
            self._store = Store.open(self.db_path(), clock=now)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


def get_context(ctx: typer.Context) -> AppContext:
    """The AppContext of this invocation (created by the root callback)."""
    root = ctx.find_root()
    if not isinstance(root.obj, AppContext):
        root.obj = AppContext()
    return root.obj
