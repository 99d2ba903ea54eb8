"""The store: incidentkit's local SQLite index of the wiki and Phabricator. SQL lives only here.

The database can always be rebuilt by ``import`` and ``sync``; it is migrated when opened
(:mod:`incidentkit.migrations`), runs in WAL mode with a busy timeout so cron jobs and people can
use it at once, and refuses a database written by a newer incidentkit. Methods take and return
plain dataclasses / dicts, never cursors.
"""

from __future__ import annotations

import json
import re
import sqlite3
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from .actionables import Actionable, ActionableQuery, ActionableType, Origin, Status, StatusChange, TaskStatus
from .config import Settings, user_dir
from .curation import MOMENTS, CurationState, ManualRow, MomentSetting, Override
from .errors import StoreError
from .events import Event
from .migrations import migrations
from .scorecard import Answer, ScoreAnswer, ScorecardSave
from .window import format_utc

__all__ = ["Store", "IncidentRecord", "default_db_path"]

BUSY_TIMEOUT_MS = 10_000


def default_db_path(settings: Settings) -> Path:
    """``[store] path`` if set, else ``incidentkit.db`` in the user directory."""
    return Path(settings.store.path).expanduser() if settings.store.path else user_dir() / "incidentkit.db"


_OVERRIDE_FIELDS = ("hidden", "pinned", "text", "time", "note")  # timeline_overrides columns


def _utc(text: str) -> datetime:
    """A stored ISO 8601 UTC string back as an aware datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _parse_utc(text: str | None) -> datetime | None:
    return _utc(text) if text else None


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


def _score_answer(row: dict[str, Any]) -> ScoreAnswer:
    """A scorecard_answers row as a ScoreAnswer (issue 8)."""
    return ScoreAnswer(
        incident=row["incident"],
        key=row["question"],
        answer=Answer(row["answer"]) if row["answer"] else None,
        note=row["note"] or "",
        reviewer=row["reviewer"],
        answered_at=datetime.fromisoformat(row["answered_at"].replace("Z", "+00:00")),
        source=row["source"],
        revision=row["page_revision"],
    )


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

    _ACTIONABLE_COLUMNS = (
        "id", "incident", "task", "task_phid", "title", "owner", "owner_phid", "status", "task_status",
        "priority", "priority_value", "type", "due", "projects", "project_phids", "missing", "origin",
        "raw_text", "locked", "created_at", "resolved_at", "recorded_at", "updated_at", "synced_at",
        "task_modified_at",
    )
    _HISTORY_COLUMNS = (
        "actionable_id", "incident", "task", "old_status", "new_status", "old_task_status", "new_task_status",
        "changed_at", "changed_at_from", "observed_at", "source", "note",
    )
    _OPEN_SQL = "status IN ('open', 'in-progress')"
    _STATUSES = {s.value: s for s in Status}
    _TYPES = {t.value: t for t in ActionableType}
    _ORIGINS = {o.value: o for o in Origin}
    _SORTS = {
        "due": "due IS NULL, due, id",
        "owner": "owner IS NULL, owner COLLATE NOCASE, due IS NULL, due, id",
        "incident": "incident, id",
        "status": "status, due IS NULL, due, id",
        "created": "created_at, id",
        "resolved": "resolved_at IS NULL, resolved_at, id",
        "task": "task IS NULL, CAST(substr(task, 2) AS INTEGER), id",
        "priority": "priority_value IS NULL, priority_value DESC, due IS NULL, due, id",
        "type": "type, due IS NULL, due, id",
        "id": "id",
    }

    @staticmethod
    def _actionable_from_row(row: Sequence[Any]) -> Actionable:
        """One actionables row (in ``_ACTIONABLE_COLUMNS`` order) as an Actionable; hot in ``list``."""
        when, listed = datetime.fromisoformat, Store._json_tuple
        statuses, types, origins = Store._STATUSES, Store._TYPES, Store._ORIGINS
        try:
            return Actionable(
                id=row[0], incident=row[1], task=row[2], task_phid=row[3], title=row[4], owner=row[5],
                owner_phid=row[6], status=statuses[row[7]], task_status=row[8], priority=row[9],
                priority_value=row[10], type=types[row[11]], due=date.fromisoformat(row[12]) if row[12] else None,
                projects=listed(row[13]), project_phids=listed(row[14]), missing=bool(row[15]),
                origin=origins[row[16]], raw_text=row[17], locked=listed(row[18]), created_at=when(row[19]),
                resolved_at=when(row[20]) if row[20] else None, recorded_at=when(row[21]) if row[21] else None,
                updated_at=when(row[22]) if row[22] else None, synced_at=when(row[23]) if row[23] else None,
                task_modified_at=when(row[24]) if row[24] else None,
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise StoreError(
                f"actionable #{row[0]} holds a value incidentkit cannot read: {exc}",
                hint="fix the row in an SQLite tool, or re-import / re-sync it",
            ) from exc

    @staticmethod
    def _json_tuple(text: str | None) -> tuple[str, ...]:
        return () if not text or text == "[]" else tuple(json.loads(text))

    @staticmethod
    def _actionable_row(a: Actionable) -> tuple[Any, ...]:
        def when(value: datetime | None) -> str | None:
            return format_utc(value) if value else None

        return (
            a.id, a.incident, a.task, a.task_phid, a.title, a.owner, a.owner_phid, str(a.status), a.task_status,
            a.priority, a.priority_value, str(a.type), a.due.isoformat() if a.due else None,
            json.dumps(list(a.projects)), json.dumps(list(a.project_phids)), int(a.missing), str(a.origin),
            a.raw_text, json.dumps(sorted(a.locked)), format_utc(a.created_at), when(a.resolved_at),
            when(a.recorded_at), when(a.updated_at), when(a.synced_at), when(a.task_modified_at),
        )

    @staticmethod
    def _history_row(change: StatusChange, actionable_id: int) -> tuple[Any, ...]:
        return (
            actionable_id, change.incident, change.task,
            str(change.old_status) if change.old_status else None, str(change.new_status),
            change.old_task_status, change.new_task_status, format_utc(change.changed_at), change.changed_at_from,
            format_utc(change.observed_at), change.source, change.note,
        )

    def _select_actionables(self, where: str = "1", params: Sequence[Any] = (), order: str = "id") -> list[Actionable]:
        sql = f"SELECT {', '.join(self._ACTIONABLE_COLUMNS)} FROM actionables WHERE {where} ORDER BY {order}"
        convert = self._actionable_from_row
        return [convert(row) for row in self.db.conn.execute(sql, list(params))]

    def _insert_history(self, rows: Iterable[tuple[Any, ...]]) -> None:
        columns = ", ".join(self._HISTORY_COLUMNS)
        marks = ", ".join("?" for _ in self._HISTORY_COLUMNS)
        self.db.conn.executemany(f"INSERT INTO status_history ({columns}) VALUES ({marks})", list(rows))

    def add_actionable(self, actionable: Actionable, first: StatusChange) -> Actionable:
        """Insert a new actionable and its first history row, atomically; returns it with its id."""
        columns = self._ACTIONABLE_COLUMNS[1:]
        sql = f"INSERT INTO actionables ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
        try:
            with self.transaction():
                cursor = self.db.conn.execute(sql, self._actionable_row(actionable)[1:])
                new_id = int(cursor.lastrowid or 0)
                self._insert_history([self._history_row(first, new_id)])
        except sqlite3.IntegrityError as exc:
            what = actionable.task or repr(actionable.title)
            raise StoreError(
                f"{what} is already tracked for incident {actionable.incident} ({exc})",
                hint="`incidentkit actionables list --incident SLUG --status all` shows it",
            ) from exc
        return self.require_actionable(new_id)

    def update_actionable(self, actionable: Actionable, history: Iterable[StatusChange] = ()) -> None:
        """Write every column of an existing actionable plus its new history rows, atomically."""
        self.update_actionables([(actionable, change) for change in (list(history) or [None])])

    def update_actionables(self, updates: Sequence[tuple[Actionable, StatusChange | None]]) -> None:
        """Write many actionables (by id) and their history rows in one transaction."""
        columns = self._ACTIONABLE_COLUMNS[1:]
        sql = f"UPDATE actionables SET {', '.join(f'{c} = ?' for c in columns)} WHERE id = ?"
        rows = []
        seen: set[int] = set()
        for actionable, _ in updates:
            if actionable.id is None:
                raise StoreError("cannot update an actionable that was never saved")
            if actionable.id not in seen:
                seen.add(actionable.id)
                values = self._actionable_row(actionable)
                rows.append((*values[1:], values[0]))
        history = [self._history_row(c, a.id) for a, c in updates if c is not None and a.id is not None]
        try:
            with self.transaction():
                self.db.conn.executemany(sql, rows)
                self._insert_history(history)
        except sqlite3.IntegrityError as exc:
            raise StoreError(f"cannot update actionables: {exc}", hint="another actionable already has that task") from exc

    def optimize(self) -> None:
        """Let SQLite refresh its planner statistics where useful (cheap; run after bulk changes)."""
        try:
            self.db.execute("PRAGMA optimize")
        except sqlite3.OperationalError as exc:
            raise StoreError(f"database maintenance failed: {exc}", hint="retry; another incidentkit may hold a lock") from exc

    def touch_actionables(self, ids: Sequence[int], *, synced_at: datetime) -> None:
        """Record that sync saw these actionables' tasks unchanged (only ``synced_at`` moves)."""
        if ids:
            with self.transaction():
                self.db.conn.executemany(
                    "UPDATE actionables SET synced_at = ? WHERE id = ?", [(format_utc(synced_at), i) for i in ids]
                )

    def get_actionable(self, actionable_id: int) -> Actionable | None:
        found = self._select_actionables("id = ?", [actionable_id])
        return found[0] if found else None

    def require_actionable(self, actionable_id: int) -> Actionable:
        """The actionable #id, or a StoreError saying how to find ids."""
        found = self.get_actionable(actionable_id)
        if found is None:
            raise StoreError(
                f"unknown actionable #{actionable_id}", hint="`incidentkit actionables list --status all` shows the ids"
            )
        return found

    def find_actionable(self, incident: str, *, task: str | None = None, title: str | None = None) -> Actionable | None:
        """The actionable of *incident* linked to *task*, or the free-text one titled *title*."""
        if task:
            found = self._select_actionables("incident = ? AND task = ?", [incident, task])
        else:
            found = self._select_actionables("incident = ? AND task IS NULL AND title = ?", [incident, title])
        return found[0] if found else None

    def incident_actionables(self, incident: str) -> list[Actionable]:
        return self._select_actionables("incident = ?", [incident])

    def actionables_for_tasks(self, tasks: Sequence[str], *, incident: str | None = None) -> list[Actionable]:
        """Every actionable linked to one of *tasks* (of *incident* only, if given)."""
        if not tasks:
            return []
        where = f"task IN ({', '.join('?' for _ in tasks)})"
        params: list[Any] = list(tasks)
        if incident is not None:
            where += " AND incident = ?"
            params.append(incident)
        return self._select_actionables(where, params)

    def tracked_tasks(self, *, incident: str | None = None) -> list[str]:
        """The distinct tasks linked to actionables (of *incident*, if given)."""
        sql = "SELECT DISTINCT task FROM actionables WHERE task IS NOT NULL"
        params: list[Any] = []
        if incident is not None:
            sql += " AND incident = ?"
            params.append(incident)
        return [row[0] for row in self.db.conn.execute(sql, params)]

    def missing_tasks(self, *, incident: str | None = None) -> list[str]:
        sql = "SELECT DISTINCT task FROM actionables WHERE missing = 1"
        params: list[Any] = []
        if incident is not None:
            sql += " AND incident = ?"
            params.append(incident)
        return sorted((row[0] for row in self.db.conn.execute(sql, params)), key=lambda t: int(t[1:]))

    def _actionable_where(self, query: ActionableQuery, today: date) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if query.statuses:
            clauses.append(f"status IN ({', '.join('?' for _ in query.statuses)})")
            params += [str(s) for s in query.statuses]
        if query.owner is not None:
            if query.owner.lower() == "none":
                clauses.append("owner IS NULL")
            else:
                clauses.append("owner = ? COLLATE NOCASE")
                params.append(query.owner)
        if query.incident is not None:
            clauses.append("incident = ?")
            params.append(query.incident)
        if query.project:
            squeeze = "projects"
            for char in (" ", "_", "-", "(", ")", "#"):
                squeeze = f"replace({squeeze}, '{char}', '')"
            clauses.append(f"lower({squeeze}) LIKE ? ESCAPE '\\'")
            term = re.sub(r"[\s_\-()#]", "", query.project.lower())
            params.append("%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")
        if query.types:
            clauses.append(f"type IN ({', '.join('?' for _ in query.types)})")
            params += [str(t) for t in query.types]
        if query.overdue:
            clauses.append(f"{self._OPEN_SQL} AND due IS NOT NULL AND due < ?")
            params.append(today.isoformat())
        if query.due_before is not None:
            clauses.append("due IS NOT NULL AND due < ?")
            params.append(query.due_before.isoformat())
        if query.missing is not None:
            clauses.append("missing = ?")
            params.append(int(query.missing))
        return (" AND ".join(clauses) or "1"), params

    def query_actionables(self, query: ActionableQuery, *, today: date) -> list[Actionable]:
        """The actionables matching *query*, in its order (``today`` decides what is overdue)."""
        where, params = self._actionable_where(query, today)
        order = self._SORTS.get(query.sort, "id")
        if query.limit is not None:
            order += f" LIMIT {int(query.limit)}"
        return self._select_actionables(where, params, order)

    def actionable_counts(self, query: ActionableQuery, *, today: date, month_start: str) -> tuple[int, int, int]:
        """(open, overdue, done since *month_start*) among the actionables matching *query*."""
        where, params = self._actionable_where(query, today)

        def count(condition: str, extra: list[Any]) -> int:
            sql = f"SELECT count(*) FROM actionables WHERE {condition} AND {where}"
            return int(self.db.conn.execute(sql, [*extra, *params]).fetchone()[0])

        return (
            count(self._OPEN_SQL, []),
            count(f"{self._OPEN_SQL} AND due < ?", [today.isoformat()]),
            count("status = 'done' AND resolved_at >= ?", [month_start]),
        )

    def actionable_months(self, query: ActionableQuery) -> tuple[dict[str, int], dict[str, int]]:
        """Actionables opened per month (YYYY-MM) and closed (done or won't do) per month."""
        where, params = self._actionable_where(query, date.min)
        opened = dict(
            self.db.conn.execute(
                f"SELECT substr(created_at, 1, 7), count(*) FROM actionables WHERE {where} GROUP BY 1", params
            ).fetchall()
        )
        closed = dict(
            self.db.conn.execute(
                "SELECT substr(resolved_at, 1, 7), count(*) FROM actionables WHERE status IN ('done', 'wont-do') "
                f"AND resolved_at IS NOT NULL AND {where} GROUP BY 1",
                params,
            ).fetchall()
        )
        return opened, closed

    def days_to_close(self, query: ActionableQuery) -> list[float]:
        """Days from creation to resolution of every closed actionable matching *query*."""
        where, params = self._actionable_where(query, date.min)
        rows = self.db.conn.execute(
            "SELECT julianday(resolved_at) - julianday(created_at) FROM actionables "
            f"WHERE status IN ('done', 'wont-do') AND resolved_at IS NOT NULL AND {where}",
            params,
        )
        return [max(0.0, float(r[0])) for r in rows if r[0] is not None]

    def open_by_owner(self, query: ActionableQuery, *, today: date) -> list[tuple[str | None, int, int]]:
        """(owner, open, overdue) for the open actionables matching *query*, most overdue first."""
        where, params = self._actionable_where(query, today)
        return [
            (r[0], int(r[1]), int(r[2]))
            for r in self.db.conn.execute(
                "SELECT owner, count(*), total(due IS NOT NULL AND due < ?) FROM actionables "
                f"WHERE {self._OPEN_SQL} AND {where} GROUP BY owner ORDER BY 3 DESC, 2 DESC, owner IS NULL, owner",
                [today.isoformat(), *params],
            )
        ]

    def status_history(self, actionable_id: int | None = None) -> list[StatusChange]:
        """The status history (of one actionable, if given), oldest first."""
        sql = f"SELECT id, {', '.join(self._HISTORY_COLUMNS)} FROM status_history"
        params: list[Any] = []
        if actionable_id is not None:
            sql += " WHERE actionable_id = ?"
            params.append(actionable_id)
        result = []
        for r in self.db.conn.execute(sql + " ORDER BY id", params):
            result.append(
                StatusChange(
                    id=r[0], actionable_id=r[1], incident=r[2], task=r[3],
                    old_status=Status(r[4]) if r[4] else None, new_status=Status(r[5]), old_task_status=r[6],
                    new_task_status=r[7], changed_at=datetime.fromisoformat(r[8]), changed_at_from=r[9],
                    observed_at=datetime.fromisoformat(r[10]), source=r[11], note=r[12],
                )
            )
        return result

    def save_task_statuses(self, statuses: Iterable[TaskStatus], *, fetched_at: datetime) -> None:
        """Replace the cached list of the instance's statuses."""
        rows = [(s.value, s.name, int(s.closed), s.special, str(s.state), format_utc(fetched_at)) for s in statuses]
        with self.transaction():
            self.db.conn.execute("DELETE FROM task_statuses")
            self.db.conn.executemany(
                "INSERT INTO task_statuses (value, name, closed, special, state, fetched_at) VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )

    def task_statuses(self) -> list[TaskStatus]:
        rows = self.db.conn.execute("SELECT value, name, closed, special FROM task_statuses ORDER BY rowid")
        return [TaskStatus(value=r[0], name=r[1], closed=bool(r[2]), special=r[3]) for r in rows]

    def task_statuses_fetched_at(self) -> datetime | None:
        """When the cached statuses were discovered (None if never)."""
        row = self.db.conn.execute("SELECT min(fetched_at) FROM task_statuses").fetchone()
        return datetime.fromisoformat(row[0]) if row and row[0] else None

    # --- scorecards (issue 8) ----------------------------------------------------------------

    def get_scorecard_answers(self, slug: str) -> dict[str, ScoreAnswer]:
        """The stored scorecard answers of incident *slug*, by question key."""
        rows = self.db["scorecard_answers"].rows_where("incident = ?", [slug], order_by="question")
        return {row["question"]: _score_answer(row) for row in rows}

    def list_scorecard_answers(self) -> list[ScoreAnswer]:
        """Every stored scorecard answer of every incident (for ``scorecard stats``)."""
        return [_score_answer(row) for row in self.db["scorecard_answers"].rows_where(order_by="incident, question")]

    def save_scorecard_answers(
        self,
        slug: str,
        answers: Mapping[str, tuple[Answer | str | None, str | None]],
        *,
        reviewer: str | None,
        answered_at: datetime | None = None,
        source: str = "local",
        revision: int | None = None,
    ) -> ScorecardSave:
        """Store ``{key: (answer, note)}`` for incident *slug* (answer "yes", "no" or None = unanswered).

        ``source="local"`` (``scorecard fill``) replaces whatever is stored for those keys.
        ``source="import"`` (answers read from the wiki page, with the page *revision*) never
        overwrites an answer filled locally: those keys are returned in ``kept``.
        Raises StoreError for an unknown incident or an answer that is not yes/no/None.
        """
        if source not in ("local", "import"):
            raise StoreError(f"unknown scorecard answer source {source!r}", hint="use local or import")
        self.require_incident(slug)
        when = format_utc(answered_at) if answered_at else _now()
        existing = self.get_scorecard_answers(slug)
        written: list[str] = []
        kept: list[str] = []
        rows = []
        for key, (value, note) in answers.items():
            try:
                answer = Answer(value) if value is not None else None
            except ValueError as exc:
                raise StoreError(f"bad scorecard answer {value!r} for {key}", hint="answers are yes, no or empty") from exc
            if source == "import" and key in existing and existing[key].source == "local":
                kept.append(key)
                continue
            rows.append(
                {
                    "incident": slug,
                    "question": key,
                    "answer": answer.value if answer else None,
                    "note": (note or "").strip(),
                    "reviewer": reviewer,
                    "answered_at": when,
                    "source": source,
                    "page_revision": revision if source == "import" else None,
                }
            )
            written.append(key)
        with self.transaction():
            self.db["scorecard_answers"].upsert_all(rows, pk=("incident", "question"))
        return ScorecardSave(written=tuple(written), kept=tuple(kept))


    # --- timeline curation (issue 9) ---------------------------------------------------------

    def save_events(self, slug: str, events: Sequence[Event]) -> None:
        """Replace the saved event set of incident *slug* (what its latest draft merged)."""
        rows = [
            {
                "incident": slug,
                "key": event.key,
                "position": position,
                "time": format_utc(event.time),
                "source": event.source,
                "kind": str(event.kind),
                "text": event.text,
                "event": json.dumps(event.to_dict(), ensure_ascii=False, sort_keys=True),
            }
            for position, event in enumerate(events)
        ]
        try:
            with self.transaction():
                self.db["timeline_events"].delete_where("incident = ?", [slug])
                self.db["timeline_events"].insert_all(rows, pk=("incident", "key"), replace=True)
        except sqlite3.IntegrityError as exc:
            raise StoreError(f"cannot save the events of unknown incident {slug!r}: {exc}") from exc

    def load_events(self, slug: str) -> list[Event]:
        """The saved events of incident *slug*, in the order they were saved (empty if none)."""
        return [
            Event.from_dict(json.loads(row["event"]))
            for row in self.db["timeline_events"].rows_where("incident = ?", [slug], order_by="position")
        ]

    def curation_state(self, slug: str, *, as_drafted: bool = False) -> CurationState:
        """The owner's curation of incident *slug*, and which row keys earlier drafts showed.

        By default for a new draft: every key seen so far is old. With *as_drafted* the state as
        the latest draft saw it (``timeline show``, re-rendering): keys that draft added are new.
        """
        overrides = {
            row["key"]: Override(
                key=row["key"],
                hidden=None if row["hidden"] is None else bool(row["hidden"]),
                pinned=None if row["pinned"] is None else bool(row["pinned"]),
                text=row["text"],
                time=_parse_utc(row["time"]),
                note=row["note"],
            )
            for row in self.db["timeline_overrides"].rows_where("incident = ?", [slug])
        }
        manual = tuple(
            ManualRow(key=row["key"], time=_utc(row["time"]), text=row["text"])
            for row in self.db["timeline_manual_rows"].rows_where("incident = ?", [slug], order_by="time, key")
        )
        moments = {
            row["moment"]: MomentSetting(moment=row["moment"], time=_utc(row["time"]), key=row["key"])
            for row in self.db["timeline_moments"].rows_where("incident = ?", [slug])
        }
        drafts = self._drafts(slug)
        newest = drafts if as_drafted else drafts + 1
        seen = frozenset(
            row["key"]
            for row in self.db["timeline_seen"].rows_where("incident = ? and draft < ?", [slug, newest], select="key")
        )
        return CurationState(
            overrides=overrides, manual=manual, moments=moments, seen=seen, drafted=newest > 1
        )

    def _drafts(self, slug: str) -> int:
        rows = list(self.db["timeline_drafts"].rows_where("incident = ?", [slug], select="drafts"))
        return int(rows[0]["drafts"]) if rows else 0

    def mark_rows_seen(self, slug: str, keys: Iterable[str]) -> int:
        """Record one more draft of *slug* showing *keys*; returns how many keys it showed first."""
        now = _now()
        with self.transaction():
            draft = self._drafts(slug) + 1
            self.db["timeline_drafts"].upsert(
                {"incident": slug, "drafts": draft, "last_drafted_at": now}, pk="incident"
            )
            before = self.db["timeline_seen"].count_where("incident = ?", [slug])
            self.db["timeline_seen"].insert_all(
                ({"incident": slug, "key": key, "draft": draft, "seen_at": now} for key in dict.fromkeys(keys)),
                pk=("incident", "key"),
                ignore=True,
            )
            return self.db["timeline_seen"].count_where("incident = ?", [slug]) - before

    def _set_overrides(self, slug: str, keys: Iterable[str], values: Mapping[str, Any], *, show: bool = False) -> int:
        """Set override columns on *keys* (``show`` also drops an explicit hide); empty overrides go."""
        self.require_incident(slug)
        table = self.db["timeline_overrides"]
        keys = list(dict.fromkeys(keys))
        now = _now()
        with self.transaction():
            for key in keys:
                found = list(table.rows_where("incident = ? and key = ?", [slug, key]))
                record = {name: (found[0][name] if found else None) for name in _OVERRIDE_FIELDS}
                record.update(values)
                if show and record["hidden"] == 1:
                    record["hidden"] = None
                if all(record[name] is None for name in _OVERRIDE_FIELDS):
                    table.delete_where("incident = ? and key = ?", [slug, key])
                else:
                    table.upsert({"incident": slug, "key": key, **record, "updated_at": now}, pk=("incident", "key"))
        return len(keys)

    def hide_rows(self, slug: str, keys: Iterable[str]) -> int:
        """Hide rows (they stay in the raw log); returns how many keys were given."""
        return self._set_overrides(slug, keys, {"hidden": 1})

    def unhide_rows(self, slug: str, keys: Iterable[str]) -> int:
        """Show rows, even those a ``[timeline]`` rule would hide."""
        return self._set_overrides(slug, keys, {"hidden": 0})

    def pin_rows(self, slug: str, keys: Iterable[str]) -> int:
        """Pin rows; pinning a row the owner hid shows it again."""
        return self._set_overrides(slug, keys, {"pinned": 1}, show=True)

    def unpin_rows(self, slug: str, keys: Iterable[str]) -> int:
        """Unpin rows, even those a ``[timeline]`` rule would pin."""
        return self._set_overrides(slug, keys, {"pinned": 0})

    def edit_row(self, slug: str, key: str, *, text: str | None = None, time: datetime | None = None) -> None:
        """Replace a row's text and/or time (what is not given stays as it is)."""
        values: dict[str, Any] = {}
        if text is not None:
            values["text"] = text
        if time is not None:
            values["time"] = format_utc(time)
        self._set_overrides(slug, [key], values)

    def note_row(self, slug: str, key: str, note: str | None) -> None:
        """Set (or with ``None`` clear) the note shown after a row."""
        self._set_overrides(slug, [key], {"note": note})

    def add_manual_row(self, slug: str, *, time: datetime, text: str) -> str:
        """Add a row by hand; returns its key (``manual:<hex>``)."""
        self.require_incident(slug)
        key = f"manual:{uuid.uuid4().hex[:16]}"
        with self.transaction():
            self.db["timeline_manual_rows"].insert(
                {"incident": slug, "key": key, "time": format_utc(time), "text": text, "created_at": _now()},
                pk=("incident", "key"),
            )
        return key

    def reset_rows(self, slug: str, keys: Iterable[str]) -> int:
        """Drop everything the owner set on *keys*: overrides, and the rows they added by hand.

        Returns how many of the keys had something to drop.
        """
        self.require_incident(slug)
        dropped = 0
        with self.transaction():
            for key in dict.fromkeys(keys):
                where = "incident = ? and key = ?"
                count = self.db["timeline_overrides"].count_where(where, [slug, key])
                count += self.db["timeline_manual_rows"].count_where(where, [slug, key])
                self.db["timeline_overrides"].delete_where(where, [slug, key])
                self.db["timeline_manual_rows"].delete_where(where, [slug, key])
                dropped += bool(count)
        return dropped

    def set_key_moment(self, slug: str, moment: str, *, time: datetime, key: str | None = None) -> None:
        """Set a key moment on a row (*key*, with the row's current *time*) or at a bare *time*."""
        if moment not in MOMENTS:
            raise ValueError(f"unknown key moment {moment!r}")
        self.require_incident(slug)
        with self.transaction():
            self.db["timeline_moments"].upsert(
                {"incident": slug, "moment": moment, "key": key, "time": format_utc(time), "updated_at": _now()},
                pk=("incident", "moment"),
            )

    def clear_key_moment(self, slug: str, moment: str) -> bool:
        """Forget the owner's key moment (the suggestion applies again); False if none was set."""
        self.require_incident(slug)
        where = "incident = ? and moment = ?"
        with self.transaction():
            existed = self.db["timeline_moments"].count_where(where, [slug, moment]) > 0
            self.db["timeline_moments"].delete_where(where, [slug, moment])
        return existed

    # --- publishing and import (issue 7) -------------------------------------------------------

    def record_publication(
        self, slug: str, *, wiki: str, page: str, revision: int, page_timestamp: str
    ) -> IncidentRecord:
        """Remember the wiki page and revision incident *slug* was last published as (or read from)."""
        return self.set_incident_fields(
            slug, wiki=wiki, page=page, revision=revision, page_timestamp=page_timestamp
        )
