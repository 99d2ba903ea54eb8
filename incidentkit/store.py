"""The store: incidentkit's local SQLite index of the wiki and Phabricator. SQL lives only here.

The database can always be rebuilt by ``import`` and ``sync``; it is migrated when opened
(:mod:`incidentkit.migrations`), runs in WAL mode with a busy timeout so cron jobs and people can
use it at once, and refuses a database written by a newer incidentkit. Methods take and return
plain dataclasses / dicts, never cursors.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from .config import Settings, user_dir
from .errors import StoreError
from .migrations import migrations
from .window import format_utc

__all__ = ["Store", "IncidentRecord", "default_db_path"]

BUSY_TIMEOUT_MS = 10_000


def default_db_path(settings: Settings) -> Path:
    """``[store] path`` if set, else ``incidentkit.db`` in the user directory."""
    return Path(settings.store.path).expanduser() if settings.store.path else user_dir() / "incidentkit.db"


def _now() -> str:
    return format_utc(datetime.now(UTC))


@dataclass(frozen=True, slots=True, kw_only=True)
class IncidentRecord:
    """An incident as the store knows it."""

    slug: str
    title: str
    start: str | None = None
    end: str | None = None
    severity: str | None = None
    task: str | None = None
    status: str = "draft"
    wiki: str | None = None
    page: str | None = None
    revision: int | None = None
    page_timestamp: str | None = None
    origin: str = "draft"
    metadata: dict[str, Any] = field(default_factory=dict)
    locked: tuple[str, ...] = ()
    created_at: str | None = None
    updated_at: str | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> IncidentRecord:
        data = dict(row)
        data["metadata"] = json.loads(data.get("metadata") or "{}")
        data["locked"] = tuple(json.loads(data.get("locked") or "[]"))
        return cls(**data)


class Store:
    """The local index. Open with :meth:`Store.open`; use as a context manager to close it."""

    def __init__(self, db: Database, path: Path | None = None) -> None:
        self.db = db
        self.path = path

    @classmethod
    def open(cls, path: Path | str | None) -> Store:
        """Open (creating and migrating) the database at *path*; ``None`` means in memory.

        Raises StoreError for a corrupt file or one written by a newer incidentkit.
        """
        try:
            if path is None:
                db = Database(memory=True)
            else:
                path = Path(path)
                path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
                db = Database(conn)
                db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA foreign_keys = ON")
            known = {m.name for m in migrations._migrations}
            applied = {m.name for m in migrations.applied(db)}
            unknown = sorted(applied - known)
            if unknown:
                raise StoreError(
                    f"the database {path} was written by a newer incidentkit (schema step {unknown[-1]})",
                    hint="upgrade incidentkit, or point [store] path / INCIDENTKIT_HOME at another database",
                )
            migrations.apply(db)
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"cannot open the database {path}: {exc}",
                hint="the file is not an incidentkit SQLite database; move it away and run `incidentkit import` / `actionables sync` to rebuild it",
            ) from exc
        except OSError as exc:
            raise StoreError(f"cannot open the database {path}: {exc.strerror}") from exc
        return cls(db, Path(path) if path else None)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One atomic write (BEGIN IMMEDIATE so concurrent writers queue instead of failing)."""
        conn = self.db.conn
        try:
            if conn.in_transaction:
                yield
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

    # --- incidents -------------------------------------------------------------------------

    def save_incident(self, record: IncidentRecord, *, respect_locked: bool = False) -> IncidentRecord:
        """Insert or update an incident by slug; with *respect_locked*, locked fields are kept."""
        now = _now()
        existing = self.get_incident(record.slug)
        values: dict[str, Any] = {
            "slug": record.slug,
            "title": record.title,
            "start": record.start,
            "end": record.end,
            "severity": record.severity,
            "task": record.task,
            "status": record.status,
            "wiki": record.wiki,
            "page": record.page,
            "revision": record.revision,
            "page_timestamp": record.page_timestamp,
            "origin": record.origin,
            "metadata": json.dumps(record.metadata, sort_keys=True),
            "locked": json.dumps(sorted(set(record.locked))),
            "updated_at": now,
        }
        if existing is not None:
            values["created_at"] = existing.created_at
            values["origin"] = existing.origin
            values["locked"] = json.dumps(sorted(set(existing.locked) | set(record.locked)))
            for name in ("wiki", "page", "revision", "page_timestamp", "severity", "task"):
                if values[name] is None:
                    values[name] = getattr(existing, name)
            if respect_locked:
                for name in existing.locked:
                    if name in values and name != "locked":
                        values[name] = (
                            json.dumps(existing.metadata, sort_keys=True)
                            if name == "metadata"
                            else getattr(existing, name)
                        )
        else:
            values["created_at"] = record.created_at or now
        with self.transaction():
            self.db["incidents"].upsert(values, pk="slug")
        result = self.get_incident(record.slug)
        assert result is not None
        return result

    def get_incident(self, slug: str) -> IncidentRecord | None:
        rows = list(self.db["incidents"].rows_where("slug = ?", [slug]))
        return IncidentRecord.from_row(rows[0]) if rows else None

    def require_incident(self, slug: str) -> IncidentRecord:
        """The incident *slug*, or a StoreError that lists how to find the right one."""
        record = self.get_incident(slug)
        if record is None:
            raise StoreError(
                f"unknown incident {slug!r}",
                hint="`incidentkit incidents` lists the incidents in the store; draft or import it first",
            )
        return record

    def find_incident_by_page(self, page: str) -> IncidentRecord | None:
        rows = list(self.db["incidents"].rows_where("page = ?", [page], limit=1))
        return IncidentRecord.from_row(rows[0]) if rows else None

    def list_incidents(self) -> list[IncidentRecord]:
        return [IncidentRecord.from_row(r) for r in self.db["incidents"].rows_where(order_by="start desc, slug")]

    def set_incident_fields(self, slug: str, *, lock: bool = False, **values: Any) -> IncidentRecord:
        """Set some columns of an incident; with *lock*, mark them as set locally (import keeps them)."""
        record = self.require_incident(slug)
        update: dict[str, Any] = dict(values)
        if "metadata" in update:
            update["metadata"] = json.dumps(update["metadata"], sort_keys=True)
        if lock:
            update["locked"] = json.dumps(sorted(set(record.locked) | set(values)))
        update["updated_at"] = _now()
        with self.transaction():
            self.db["incidents"].update(slug, update)
        return self.require_incident(slug)

    # --- actionables (issue 6) ---------------------------------------------------------------

    # --- scorecards (issue 8) ----------------------------------------------------------------

    # --- timeline curation (issue 9) ---------------------------------------------------------
