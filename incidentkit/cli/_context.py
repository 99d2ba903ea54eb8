"""What every command gets from the root callback: settings, the store, the clock, the output.

Commands read the clock only through :func:`now` and print only through :mod:`._output`, so tests
can pin time (``INCIDENTKIT_NOW``) and capture output. Settings, the store and their libraries are
loaded on first use (lazy imports: ``--help`` and commands that need neither stay fast).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from ._output import Output

if TYPE_CHECKING:  # annotations only; the modules load on first use
    from ..config import Settings
    from ..store import Store

__all__ = ["AppContext", "get_context", "now"]


def now() -> datetime:
    """The current UTC time; ``INCIDENTKIT_NOW`` pins it (tests, reproducible runs)."""
    pinned = os.environ.get("INCIDENTKIT_NOW")
    if pinned:
        from ..model.window import parse_when  # lazy: dateparser only for human forms

        return parse_when(pinned, now=datetime.now(UTC), option="INCIDENTKIT_NOW")
    return datetime.now(UTC)


@dataclass
class AppContext:
    """The root options, and the settings, store and output they lead to, loaded when first used."""

    config: str | None = None
    db: str | None = None
    debug: bool = False
    color: str = "auto"
    pager: bool = True
    _settings: Settings | None = field(default=None, repr=False)
    _store: Store | None = field(default=None, repr=False)
    _output: Output | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from ..config import load_settings  # lazy: start-up cost

            self._settings = load_settings(self.config)
        return self._settings

    @property
    def output(self) -> Output:
        if self._output is None:
            self._output = Output(color=self.color, pager=self.pager)
        return self._output

    def db_path(self) -> Path:
        from ..config import db_path, user_path  # lazy: start-up cost

        return user_path(self.db, what="--db") if self.db else db_path(self.settings)

    def store(self, *, create: bool = False) -> Store:
        """The store. Only commands that record something pass ``create=True``; for the others a
        missing database is an error that says how to create one (a mistyped ``--db`` creates
        nothing)."""
        if self._store is None:
            from ..store import Store  # lazy: sqlite-utils costs start-up time

            self._store = Store.open(self.db_path(), clock=now, create=create)
        return self._store

    def close(self) -> None:
        if self._output is not None:
            self._output.close()
        if self._store is not None:
            self._store.close()
            self._store = None


def get_context(ctx: typer.Context) -> AppContext:
    """The AppContext of this invocation (created by the root callback)."""
    root = ctx.find_root()
    if not isinstance(root.obj, AppContext):
        root.obj = AppContext()
    return root.obj
