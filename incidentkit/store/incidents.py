"""The incidents table: one row per incident, drafted or imported, with the page it lives on;
the open and overdue counts the incident list shows; removing an incident with everything
recorded about it."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from types import EllipsisType
from typing import Any

from ..errors import StoreError
from ..model.incident import IncidentRecord
from ..util import chunks
from ._base import StoreBase

__all__ = ["IncidentsMixin"]


def _incident(row: dict[str, Any]) -> IncidentRecord:
    data = dict(row)
    data["metadata"] = json.loads(data.get("metadata") or "{}")
    data["locked"] = tuple(json.loads(data.get("locked") or "[]"))
    return IncidentRecord(**data)


_KEPT_WHEN_NONE = ("wiki", "page", "revision", "page_timestamp", "severity", "task")
_COLUMNS = (
    "slug", "title", "start", "end", "severity", "task", "status", "wiki", "page", "revision", "page_timestamp",
    "origin", "metadata", "locked", "updated_at", "created_at",
)  # fmt: skip
_QUOTED = [f'"{name}"' for name in _COLUMNS]  # "end" is an SQL keyword
# built once: an import saves thousands of incidents
_UPSERT_SQL = (
    f"INSERT INTO incidents ({', '.join(_QUOTED)}) VALUES ({', '.join('?' * len(_COLUMNS))}) "
    f"ON CONFLICT (slug) DO UPDATE SET {', '.join(f'{name} = excluded.{name}' for name in _QUOTED[1:])}"
)


def _unchanged(existing: IncidentRecord, values: dict[str, Any], *, respect_locked: bool) -> bool:
    """Whether saving *values* over *existing* (as :meth:`IncidentsMixin.save_incident` does) changes nothing."""
    kept = set(existing.locked) if respect_locked else set()
    for name in ("title", "start", "end", "status", *_KEPT_WHEN_NONE):
        if name in kept or (name in _KEPT_WHEN_NONE and values[name] is None):
            continue
        if values[name] != getattr(existing, name):
            return False
    if set(json.loads(values["locked"])) - set(existing.locked):
        return False
    return "metadata" in kept or json.loads(values["metadata"]) == existing.metadata


class IncidentsMixin(StoreBase):
    """Incidents by slug; fields set locally are *locked* so later drafts and imports keep them."""

    def save_incident(
        self, record: IncidentRecord, *, respect_locked: bool = False, stored: IncidentRecord | None | EllipsisType = ...
    ) -> IncidentRecord:
        """Insert or update an incident by slug; with *respect_locked*, locked fields are kept.
        *stored*: the incident as stored now (None: there is none), when the caller has just read it."""
        now = self.now_text()
        existing = self.get_incident(record.slug) if stored is ... else stored
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
        if existing is not None and _unchanged(existing, values, respect_locked=respect_locked):
            return existing  # nothing but the time would change: an upsert that changes nothing writes nothing
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
            self.conn.execute(_UPSERT_SQL, [values[name] for name in _COLUMNS])
        return _incident(values)  # every column, as written

    def incident_actionable_counts(self, today: date) -> dict[str, tuple[int, int]]:
        """``{slug: (open, overdue)}`` over every incident with open actionables (due before *today*: overdue)."""
        rows = self.conn.execute(
            "SELECT incident, count(*), sum(CASE WHEN due < ? THEN 1 ELSE 0 END) FROM actionables "
            "WHERE status IN ('open', 'in-progress') GROUP BY incident",
            [today.isoformat()],
        )
        return {slug: (int(open_), int(overdue or 0)) for slug, open_, overdue in rows}

    def _dependents(self) -> list[tuple[str, str, str | None]]:
        """(table, column, via) for every table holding rows of an incident: ``via`` is None for a
        column naming the incident, ``"actionables"`` for one naming an actionable of it."""
        found: list[tuple[str, str, str | None]] = []
        for table in self.db.tables:
            for key in table.foreign_keys:
                if key.other_table == "incidents" and table.name != "incidents":
                    found.append((table.name, key.column, None))
                elif key.other_table == "actionables":
                    found.append((table.name, key.column, "actionables"))
        return sorted(found, key=lambda item: item[2] is None)  # rows of actionables go first

    def _rows_of(self, table: str, column: str, via: str | None) -> tuple[str, list[Any]]:
        if via is None:
            return f"[{table}] WHERE [{column}] = ?", []
        return f"[{table}] WHERE [{column}] IN (SELECT id FROM [{via}] WHERE incident = ?)", []

    def incident_footprint(self, slug: str) -> dict[str, int]:
        """How many rows each table holds for incident *slug* (what ``incidents rm`` would remove)."""
        counts = {"incidents": self.db["incidents"].count_where("slug = ?", [slug])}
        for table, column, via in self._dependents():
            where, _ = self._rows_of(table, column, via)
            (count,) = self.conn.execute(f"SELECT count(*) FROM {where}", [slug]).fetchone()
            counts[table] = counts.get(table, 0) + int(count)
        return {name: count for name, count in counts.items() if count}

    def remove_incident(self, slug: str) -> dict[str, int]:
        """Delete incident *slug* and every row recorded about it, in one transaction; returns the
        counts removed per table. Only the local index: the wiki page and the tasks stay."""
        self.require_incident(slug)
        removed = self.incident_footprint(slug)
        with self.transaction():
            self.conn.execute("INSERT OR IGNORE INTO incident_removals (incident) VALUES (?)", [slug])
            for table, column, via in self._dependents():
                where, _ = self._rows_of(table, column, via)
                self.conn.execute(f"DELETE FROM {where}", [slug])
            self.conn.execute("DELETE FROM incidents WHERE slug = ?", [slug])
            self.conn.execute("DELETE FROM incident_removals WHERE incident = ?", [slug])
        return removed

    def unlock_incident_fields(self, slug: str, names: Iterable[str]) -> IncidentRecord:
        """Let later drafts and imports set these fields again."""
        record = self.require_incident(slug)
        locked = sorted(set(record.locked) - set(names))
        with self.transaction():
            self.db["incidents"].update(slug, {"locked": json.dumps(locked), "updated_at": self.now_text()})
            self.forget_imported_pages(slug)
        return self.require_incident(slug)

    # --- pages as the import last read them ----------------------------------------------------

    def imported_pages(self, pages: Sequence[str]) -> dict[str, tuple[str, str, dict[str, Any]]]:
        """page -> (incident, digest, summary) of the pages an import read, whose incident is still
        indexed (so that nothing of it has to be rebuilt)."""
        found: dict[str, tuple[str, str, dict[str, Any]]] = {}
        for batch in chunks(pages, 500):
            rows = self.conn.execute(
                "SELECT p.page, p.incident, p.digest, p.summary FROM imported_pages p "
                "JOIN search_documents d ON d.slug = p.incident "
                f"WHERE p.page IN ({', '.join('?' for _ in batch)})",
                list(batch),
            )
            found.update((page, (incident, digest, json.loads(summary))) for page, incident, digest, summary in rows)
        return found

    def save_imported_page(self, page: str, incident: str, digest: str, summary: Mapping[str, Any]) -> None:
        """Remember *page* as the import just read it into *incident*."""
        with self.transaction():
            self.conn.execute(
                "INSERT OR REPLACE INTO imported_pages (page, incident, digest, summary) VALUES (?, ?, ?, ?)",
                [page, incident, digest, json.dumps(summary, ensure_ascii=False)],
            )

    def forget_imported_pages(self, slug: str) -> None:
        """Make the next import read the pages of *slug* again (fields it must not set were unlocked)."""
        with self.transaction():
            self.conn.execute("DELETE FROM imported_pages WHERE incident = ?", [slug])

    def _incidents_where(self, where: str, params: list[Any]) -> list[IncidentRecord]:
        # plain SQL: a sqlite-utils table object reads the schema again on every use, which
        # was most of the statements an import sends per page
        cursor = self.conn.execute(f"SELECT * FROM incidents WHERE {where}", params)
        names = [column[0] for column in cursor.description]
        return [_incident(dict(zip(names, row, strict=True))) for row in cursor]

    def get_incident(self, slug: str) -> IncidentRecord | None:
        rows = self._incidents_where("slug = ?", [slug])
        return rows[0] if rows else None

    def require_incident(self, slug: str) -> IncidentRecord:
        """The incident *slug*, or a StoreError that lists how to find the right one."""
        record = self.get_incident(slug)
        if record is None:
            raise StoreError(
                f"unknown incident {slug!r}",
                hint="`incidentkit incidents list` lists the incidents in the store; draft or import it first",
            )
        return record

    def find_incident_by_page(self, page: str) -> IncidentRecord | None:
        rows = self._incidents_where("page = ? LIMIT 1", [page])
        return rows[0] if rows else None

    def list_incidents(self) -> list[IncidentRecord]:
        return [_incident(r) for r in self.db["incidents"].rows_where(order_by="start desc, slug")]

    def set_incident_fields(self, slug: str, *, lock: bool = False, **values: Any) -> IncidentRecord:
        """Set some columns of an incident; with *lock*, mark them as set locally (import keeps them)."""
        record = self.require_incident(slug)
        update: dict[str, Any] = dict(values)
        if "metadata" in update:
            update["metadata"] = json.dumps(update["metadata"], sort_keys=True)
        if lock:
            update["locked"] = json.dumps(sorted(set(record.locked) | set(values)))
        update["updated_at"] = self.now_text()
        with self.transaction():
            self.db["incidents"].update(slug, update)
        return self.require_incident(slug)

    def record_publication(
        self, slug: str, *, wiki: str, page: str, revision: int, page_timestamp: str
    ) -> IncidentRecord:
        """Remember the wiki page and revision incident *slug* was last published as (or read from)."""
        return self.set_incident_fields(
            slug, wiki=wiki, page=page, revision=revision, page_timestamp=page_timestamp
        )
