"""The connection every part of the store shares: opening, refusing, transactions, the clock.

A database is checked before anything is written to it: a file from a newer incidentkit is refused
untouched (not even its journal mode changes). Then it runs in WAL mode with a busy timeout, so cron
jobs and people can use it at once, and is migrated. Nested :meth:`StoreBase.transaction` blocks are
savepoints: an inner failure that the caller catches undoes only the inner writes.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Self

from sqlite_utils import Database

from ..errors import StoreError
from ..model.time import format_utc, parse_utc
from . import migrations

__all__ = ["StoreBase", "BUSY_TIMEOUT_MS", "utc_or_none", "json_tuple"]

BUSY_TIMEOUT_MS = 10_000


def _system_clock() -> datetime:
    return datetime.now(UTC)


def utc_or_none(text: str | None) -> datetime | None:
    """A stored ISO 8601 UTC string back as an aware datetime (None stays None)."""
    return parse_utc(text) if text else None


def json_tuple(text: str | None) -> tuple[str, ...]:
    """A stored JSON list back as a tuple."""
    return () if not text or text == "[]" else tuple(json.loads(text))


class StoreBase:
    """One SQLite connection, its transactions, and the clock that stamps ``updated_at`` columns."""

    def __init__(self, db: Database, path: Path | None = None, *, clock: Callable[[], datetime] | None = None) -> None:
        self.db = db
        self.path = path
        self.clock = clock or _system_clock
        self._savepoints = itertools.count(1)

    @classmethod
    def open(
        cls, path: Path | str | None, *, clock: Callable[[], datetime] | None = None, create: bool = True
    ) -> Self:
        """Open (creating and migrating) the database at *path*; ``None`` means in memory.

        With ``create=False`` a missing file is a StoreError and nothing is created (commands that
        only read). Raises StoreError for a file that is not a database or was written by a newer
        incidentkit.
        """
        if path is not None and not create and not Path(path).exists():
            raise StoreError(
                f"there is no database at {path}",
                hint="commands that record incidents create it: `incidentkit draft` or `incidentkit import`; "
                "check --db, [store] path and INCIDENTKIT_HOME if it should exist",
            )
        try:
            if path is None:
                db = Database(memory=True)
            else:
                path = Path(path)
                path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
                db = Database(conn)
                db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            newer = migrations.newer_steps(db)
            if newer:
                db.close()
                raise StoreError(
                    f"the database {path} was written by a newer incidentkit (schema step {newer[-1]})",
                    hint="upgrade incidentkit, or point [store] path / INCIDENTKIT_HOME at another database",
                )
            if path is not None:
                db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA foreign_keys = ON")
            migrations.apply(db)
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"cannot open the database {path}: {exc}",
                hint="the file is not an incidentkit SQLite database; move it away and run `incidentkit import` / `actionables sync` to rebuild it",
            ) from exc
        except OSError as exc:
            raise StoreError(
                f"cannot open the database {path}: {exc.strerror}",
                hint="check the path and its permissions (--db, [store] path, INCIDENTKIT_HOME)",
            ) from exc
        return cls(db, Path(path) if path else None, clock=clock)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def now_text(self) -> str:
        """The clock's current time as stored (ISO 8601 UTC)."""
        return format_utc(self.clock())

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One atomic write (BEGIN IMMEDIATE so concurrent writers queue instead of failing).

        Inside another transaction this is a savepoint: if the block fails, its writes are undone
        and the outer transaction goes on (or fails, as its caller decides).
        """
        conn = self.db.conn
        try:
            if conn.in_transaction:
                name = f"incidentkit_{next(self._savepoints)}"
                conn.execute(f"SAVEPOINT {name}")
                try:
                    yield
                except BaseException:
                    conn.execute(f"ROLLBACK TO {name}")
                    conn.execute(f"RELEASE {name}")
                    raise
                conn.execute(f"RELEASE {name}")
                return
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            raise StoreError(f"database write failed: {exc}", hint="retry; another incidentkit may hold a lock") from exc
