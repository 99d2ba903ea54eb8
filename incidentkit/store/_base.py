"""The connection every part of the store shares: opening, refusing, transactions, the clock.

A database is checked before anything is written to it: a file from a newer incidentkit, or an
SQLite database of another program, is refused untouched (not even its journal mode changes).
Then it runs in WAL mode with a busy timeout, so cron jobs and people can use it at once, and is
migrated. A database incidentkit may not write (the file or its folder read-only, a read-only
disk) is opened read-only: read commands work, and every write is refused with a clear error.
SQLite's failures become :class:`StoreError` with their own message and hint: the disk full, the
file read-only, the database locked by another program, a file that is not a database. Nested
:meth:`StoreBase.transaction` blocks are savepoints: an inner failure that the caller catches
undoes only the inner writes.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Self

from ..config import shown_path
from ..errors import StoreError
from ..model.time import format_utc, parse_utc
from . import migrations

if TYPE_CHECKING:  # annotations only: sqlite-utils loads on first use of StoreBase.db (start-up cost)
    from sqlite_utils import Database

__all__ = ["StoreBase", "BUSY_TIMEOUT_MS", "utc_or_none", "json_tuple", "store_error", "is_busy"]

BUSY_TIMEOUT_MS = 10_000
REBUILD_HINT = "`incidentkit import` and `incidentkit actionables sync` rebuild the index in a new file"


def _system_clock() -> datetime:
    return datetime.now(UTC)


def utc_or_none(text: str | None) -> datetime | None:
    """A stored ISO 8601 UTC string back as an aware datetime (None stays None)."""
    return parse_utc(text) if text else None


def json_tuple(text: str | None) -> tuple[str, ...]:
    """A stored JSON list back as a tuple."""
    return () if not text or text == "[]" else tuple(json.loads(text))


def is_busy(exc: BaseException | None) -> bool:
    """Whether *exc* is SQLite saying another connection holds the lock it needed."""
    return str(getattr(exc, "sqlite_errorname", "")).startswith(("SQLITE_BUSY", "SQLITE_LOCKED"))


def store_error(exc: sqlite3.Error, path: Path | None, doing: str = "write") -> StoreError:
    """The StoreError for SQLite failure *exc* on the database at *path*, while trying to *doing*."""
    name = str(getattr(exc, "sqlite_errorname", "") or "")
    where = shown_path(path) if path is not None else "(in memory)"
    if name.startswith("SQLITE_FULL"):
        return StoreError(
            f"cannot {doing} the database {where}: the disk is full",
            hint="free some space on its disk and run the command again; the unfinished change was rolled back",
        )
    if name.startswith("SQLITE_IOERR"):
        return StoreError(
            f"cannot {doing} the database {where}: the disk refused it ({exc})",
            hint="the disk may be full, over a quota or a file size limit, or failing; fix that and run the command "
            "again (the unfinished change was rolled back)",
        )
    if name.startswith("SQLITE_READONLY"):
        return _read_only(where, doing)
    if is_busy(exc):
        return StoreError(
            f"cannot {doing} the database {where}: another program holds its lock",
            hint="another incidentkit (or sqlite3) is writing to it; run the command again when it is done",
        )
    if name.startswith(("SQLITE_NOTADB", "SQLITE_CORRUPT")):
        return StoreError(
            f"cannot {doing} the database {where}: it is not an incidentkit database, or it is damaged ({exc})",
            hint=f"point --db / [store] path at the right file; or move this one away: {REBUILD_HINT}",
        )
    if name.startswith("SQLITE_CANTOPEN"):
        return StoreError(
            f"cannot open the database {where}",
            hint="check that its folder exists and that you may read (and to change it, write) there",
        )
    return StoreError(f"cannot {doing} the database {where}: {exc}", hint="run the command again with --debug and report it")


def _read_only(where: str, doing: str) -> StoreError:
    return StoreError(
        f"cannot {doing} the database {where}: it is read-only",
        hint="read commands still work on it; to change it, make the file and its folder writable, "
        "or point --db / [store] path at a writable copy",
    )


def _read_only_error(exc: sqlite3.Error) -> bool:
    return str(getattr(exc, "sqlite_errorname", "")).startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN"))


def _connect(database: str, *, timeout: float = 5.0, uri: bool = False, isolation_level: str | None = "") -> sqlite3.Connection:
    """A connection with recursive triggers on (as sqlite-utils opens its own)."""
    conn = sqlite3.connect(database, uri=uri, timeout=timeout, isolation_level=isolation_level)
    conn.execute("PRAGMA recursive_triggers = on")
    return conn


def _check_schema(db: sqlite3.Connection, path: Path) -> None:
    """Refuse (reading only) a database written by a newer incidentkit or by another program."""
    newer = migrations.newer_steps(db)
    if newer:
        raise StoreError(
            f"the database {shown_path(path)} was written by a newer incidentkit (schema step {newer[-1]}); "
            "it was left untouched",
            hint="upgrade incidentkit, or point --db / [store] path / INCIDENTKIT_HOME at another database",
        )
    if len(migrations.pending(db)) == len(migrations.STEPS) and db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table'"
    ).fetchone():
        raise StoreError(
            f"{shown_path(path)} is an SQLite database of another program (it holds no incidentkit schema); "
            "it was left untouched",
            hint="point --db / [store] path at an incidentkit database, or at a new file",
        )


def _open_read_only(path: Path, timeout: float) -> sqlite3.Connection:
    """The database at *path* opened read-only; without a writable folder (for WAL's shared-memory
    file) it is opened as immutable, which needs no file of its own."""
    uri = path.absolute().as_uri()
    for query in ("?mode=ro", "?mode=ro&immutable=1"):
        db = _connect(uri + query, uri=True, timeout=timeout, isolation_level=None)
        try:
            _check_schema(db, path)
        except sqlite3.OperationalError as exc:
            db.close()
            if _read_only_error(exc) and "immutable" not in query:
                continue
            raise
        except BaseException:
            db.close()
            raise
        if migrations.pending(db):
            db.close()
            raise StoreError(
                f"the database {shown_path(path)} is read-only and was written by an older incidentkit",
                hint="make it writable once so that incidentkit can upgrade it, or point --db at a writable copy",
            )
        return db
    raise AssertionError("the immutable attempt returns or raises above")


def _open_file(path: Path, timeout: float) -> tuple[sqlite3.Connection, bool]:
    """(the database at *path*, whether it is read-only): checked, then in WAL mode and migrated."""
    if path.exists() and not os.access(path, os.W_OK):
        return _open_read_only(path, timeout), True
    path.parent.mkdir(parents=True, exist_ok=True)
    db = _connect(str(path), timeout=timeout, isolation_level=None)
    try:
        _check_schema(db, path)
        db.execute("PRAGMA journal_mode = WAL")
        # With WAL, NORMAL waits for the disk at checkpoints, not at every commit: a crash of the
        # machine (not of incidentkit) may lose the last commits, never the database's consistency.
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute("PRAGMA foreign_keys = ON")
        migrations.apply(db)
    except sqlite3.OperationalError as exc:
        db.close()
        if _read_only_error(exc) and path.stat().st_size:
            return _open_read_only(path, timeout), True  # a file we may read but not change (or its folder)
        raise
    except BaseException:
        db.close()
        raise
    return db, False


class StoreBase:
    """One SQLite connection, its transactions, and the clock that stamps ``updated_at`` columns.

    ``readonly`` is True when the file could only be opened for reading. Queries go through
    ``conn`` (plain sqlite3); :attr:`db` wraps it for sqlite-utils' schema introspection.
    """

    def __init__(
        self,
        conn: sqlite3.Connection,
        path: Path | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
        readonly: bool = False,
    ) -> None:
        self.conn = conn
        self._db: Database | None = None
        self.path = path
        self.clock = clock or _system_clock
        self.readonly = readonly
        self._depth = 0  # savepoints open: each is named after its depth
        self._unit = False  # inside a transaction(unit=True): nested ones take no savepoints

    @classmethod
    def open(
        cls,
        path: Path | str | None,
        *,
        clock: Callable[[], datetime] | None = None,
        busy_timeout: float | None = None,
        create: bool = True,
    ) -> Self:
        """Open (creating and migrating) the database at *path*; ``None`` means in memory.

        With ``create=False`` a missing file is a StoreError and nothing is created (commands that
        only read). A file incidentkit may not write is opened read-only. *busy_timeout* is how long
        to wait for another program's lock (default :data:`BUSY_TIMEOUT_MS`). Raises StoreError for a
        path that cannot be a file, a file that is not an incidentkit database or was written by a
        newer incidentkit, and every SQLite failure.
        """
        if path is None:
            db = _connect(":memory:")
            db.execute("PRAGMA foreign_keys = ON")
            migrations.apply(db)
            return cls(db, None, clock=clock)
        path = Path(path)
        if "\x00" in str(path):
            raise StoreError(
                f"the database path {shown_path(path)} holds a NUL character", hint="check --db / [store] path"
            )
        try:
            if not create and not path.exists():
                raise StoreError(
                    f"there is no database at {shown_path(path)}",
                    hint="commands that record incidents create it: `incidentkit draft` or `incidentkit import`; "
                    "check --db, [store] path and INCIDENTKIT_HOME if it should exist",
                )
            db, readonly = _open_file(path, BUSY_TIMEOUT_MS / 1000 if busy_timeout is None else busy_timeout)
        except sqlite3.Error as exc:
            raise store_error(exc, path, "open") from exc
        except OSError as exc:
            raise StoreError(
                f"cannot open the database {shown_path(path)}: {exc.strerror or exc}",
                hint="check --db / [store] path: its folder must exist or be creatable",
            ) from exc
        return cls(db, path, clock=clock, readonly=readonly)

    @property
    def db(self) -> Database:
        """The connection as a sqlite-utils ``Database`` (schema introspection); loaded on first
        use, since importing sqlite-utils costs more than a short command's start-up."""
        if self._db is None:
            self._db = migrations.database(self.conn)
        return self._db

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def now_text(self) -> str:
        """The clock's current time as stored (ISO 8601 UTC)."""
        return format_utc(self.clock())

    @contextmanager
    def transaction(self, doing: str = "write", *, unit: bool = False) -> Iterator[None]:
        """One atomic write (BEGIN IMMEDIATE so concurrent writers queue instead of failing).

        Inside another transaction this is a savepoint: if the block fails, its writes are undone
        and the outer transaction goes on (or fails, as its caller decides). A *unit* block is undone
        whole or not at all: the transactions nested in it take no savepoints of their own (each
        costs two statements, and FTS5 tables flush at every one); for blocks that let every error
        of their nested writes through, as an import does with each page. SQLite failures become
        StoreError (see :func:`store_error`; *doing* names the work in its message); a read-only
        database refuses at once.
        """
        if self.readonly:
            raise _read_only(shown_path(self.path or ""), doing)
        conn = self.conn
        if self._unit and conn.in_transaction:  # part of the unit around it, which undoes it on error
            yield
            return
        outer_unit, self._unit = self._unit, unit
        try:
            if conn.in_transaction:
                # Named by depth, not numbered: the same few statements again and again, which
                # SQLite keeps prepared (a savepoint names the innermost one of that name).
                self._depth += 1
                name = f"incidentkit_{self._depth}"
                try:
                    conn.execute(f"SAVEPOINT {name}")
                    try:
                        yield
                    except BaseException:
                        _undo(conn, f"ROLLBACK TO {name}", f"RELEASE {name}")
                        raise
                    conn.execute(f"RELEASE {name}")
                finally:
                    self._depth -= 1
                return
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield
                conn.execute("COMMIT")
            except BaseException:
                _undo(conn, "ROLLBACK")
                raise
        except sqlite3.OperationalError as exc:
            raise store_error(exc, self.path, doing) from exc
        except sqlite3.DatabaseError as exc:
            if type(exc) is not sqlite3.DatabaseError:  # IntegrityError and the like are the caller's
                raise
            raise store_error(exc, self.path, doing) from exc
        finally:
            self._unit = outer_unit


def _undo(conn: sqlite3.Connection, *statements: str) -> None:
    """Undo a failed write. After a full disk or an I/O error SQLite has already rolled the whole
    transaction back itself; then there is nothing left to undo, and the first error is the one to tell."""
    for statement in statements:
        if not conn.in_transaction:
            return
        try:
            conn.execute(statement)
        except sqlite3.OperationalError:
            return
