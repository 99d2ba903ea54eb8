"""The actionables and their append-only status history, and the reporting queries over them.

Status history is append-only (triggers refuse UPDATE and DELETE); every change of an actionable's
state is written in the same transaction as its history row.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from ..errors import StoreError
from ..model.actionable import (
    Actionable,
    ActionableQuery,
    ActionableStatus,
    ActionableType,
    Origin,
    StatusChange,
)
from ..model.time import format_utc
from ._base import is_busy, json_tuple
from .incidents import IncidentsMixin

__all__ = ["ActionablesMixin"]


# An import writes the same few instants (its clock, each incident's start) thousands of times.
_utc_text = lru_cache(format_utc)


def _json_list(values: Sequence[str]) -> str:
    """*values* as the JSON list stored for them (most are empty: that one without the encoder)."""
    return json.dumps(list(values)) if values else "[]"


class ActionablesMixin(IncidentsMixin):
    """Actionables by id, by incident and by task; filters, counts and per-month figures."""

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
    # built once: an import adds thousands of actionables
    _INSERT_ACTIONABLE_SQL = (
        f"INSERT INTO actionables ({', '.join(_ACTIONABLE_COLUMNS[1:])}) "
        f"VALUES ({', '.join('?' * len(_ACTIONABLE_COLUMNS[1:]))})"
    )
    _INSERT_HISTORY_SQL = (
        f"INSERT INTO status_history ({', '.join(_HISTORY_COLUMNS)}) VALUES ({', '.join('?' * len(_HISTORY_COLUMNS))})"
    )
    _OPEN_SQL = "status IN ('open', 'in-progress')"
    _STATUSES = {s.value: s for s in ActionableStatus}
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
        when, listed = datetime.fromisoformat, json_tuple
        statuses, types, origins = ActionablesMixin._STATUSES, ActionablesMixin._TYPES, ActionablesMixin._ORIGINS
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
    def _actionable_row(a: Actionable) -> tuple[Any, ...]:
        def when(value: datetime | None) -> str | None:
            return _utc_text(value) if value else None

        return (
            a.id, a.incident, a.task, a.task_phid, a.title, a.owner, a.owner_phid, str(a.status), a.task_status,
            a.priority, a.priority_value, str(a.type), a.due.isoformat() if a.due else None,
            _json_list(a.projects), _json_list(a.project_phids), int(a.missing), str(a.origin),
            a.raw_text, _json_list(sorted(a.locked)), _utc_text(a.created_at), when(a.resolved_at),
            when(a.recorded_at), when(a.updated_at), when(a.synced_at), when(a.task_modified_at),
        )

    @staticmethod
    def _history_row(change: StatusChange, actionable_id: int) -> tuple[Any, ...]:
        return (
            actionable_id, change.incident, change.task,
            str(change.old_status) if change.old_status else None, str(change.new_status),
            change.old_task_status, change.new_task_status, _utc_text(change.changed_at), change.changed_at_from,
            _utc_text(change.observed_at), change.source, change.note,
        )

    def _select_actionables(self, where: str, params: Sequence[Any], order: str = "id") -> list[Actionable]:
        return list(self._iter_actionables(where, params, order))

    def _iter_actionables(self, where: str, params: Sequence[Any], order: str) -> Iterator[Actionable]:
        sql = f"SELECT {', '.join(self._ACTIONABLE_COLUMNS)} FROM actionables WHERE {where} ORDER BY {order}"
        return map(self._actionable_from_row, self.conn.execute(sql, list(params)))

    def _insert_history(self, rows: Iterable[tuple[Any, ...]]) -> None:
        self.conn.executemany(self._INSERT_HISTORY_SQL, list(rows))

    def add_actionable(self, actionable: Actionable, first: StatusChange) -> Actionable:
        """Insert a new actionable and its first history row, atomically; returns it with its id."""
        values = self._actionable_row(actionable)[1:]
        try:
            with self.transaction():
                new_id = int(self.conn.execute(self._INSERT_ACTIONABLE_SQL, values).lastrowid or 0)
                self.conn.execute(self._INSERT_HISTORY_SQL, self._history_row(first, new_id))
        except sqlite3.IntegrityError as exc:
            what = actionable.task or repr(actionable.title)
            raise StoreError(
                f"{what} is already tracked for incident {actionable.incident} ({exc})",
                hint="`incidentkit actionables list --incident SLUG --status all` shows it",
            ) from exc
        return self._actionable_from_row((new_id, *values))  # as reading the row back would return it

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
                self.conn.executemany(sql, rows)
                self._insert_history(history)
        except sqlite3.IntegrityError as exc:
            raise StoreError(f"cannot update actionables: {exc}", hint="another actionable already has that task") from exc

    def optimize(self) -> bool:
        """Let SQLite refresh its planner statistics where useful (cheap; run after bulk changes).

        Maintenance runs after the caller's work is committed, so a busy database must not turn that
        work into a failure: the write lock is taken first (BEGIN IMMEDIATE waits up to the busy
        timeout) because ``PRAGMA optimize`` alone starts as a reader and SQLite refuses at once,
        without waiting, to upgrade a snapshot another writer has moved past. False, and skipped (a
        later run refreshes the statistics), on a read-only database or when the lock could not be
        had within the timeout; any other failure (the disk) is still an error.
        """
        if self.readonly:
            return False
        try:
            with self.transaction(doing="maintain"):
                self.conn.execute("PRAGMA optimize")
        except StoreError as exc:
            if is_busy(exc.__cause__):
                return False
            raise
        return True

    def touch_actionables(self, ids: Sequence[int], *, synced_at: datetime) -> None:
        """Record that sync saw these actionables' tasks unchanged (only ``synced_at`` moves)."""
        if ids:
            with self.transaction():
                self.conn.executemany(
                    "UPDATE actionables SET synced_at = ? WHERE id = ?", [(format_utc(synced_at), i) for i in ids]
                )

    def get_actionable(self, actionable_id: int) -> Actionable | None:
        if not 0 < actionable_id < 2**63:  # ids are positive SQLite integers: no row has it (nor could SQLite bind it)
            return None
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
        return [row[0] for row in self.conn.execute(sql, params)]

    def missing_tasks(self, *, incident: str | None = None) -> list[str]:
        sql = "SELECT DISTINCT task FROM actionables WHERE missing = 1"
        params: list[Any] = []
        if incident is not None:
            sql += " AND incident = ?"
            params.append(incident)
        return sorted((row[0] for row in self.conn.execute(sql, params)), key=lambda t: int(t[1:]))

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
            # each project name decoded from the JSON list (its text escapes \\, \" and \\u00e9 otherwise)
            squeeze = "value"
            for char in (" ", "_", "-", "(", ")", "#"):
                squeeze = f"replace({squeeze}, '{char}', '')"
            names = "json_each(CASE WHEN json_valid(projects) THEN projects ELSE '[]' END)"
            clauses.append(f"EXISTS (SELECT 1 FROM {names} WHERE lower({squeeze}) LIKE ? ESCAPE '\\')")
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
        return list(self.iter_actionables(query, today=today))

    def iter_actionables(self, query: ActionableQuery, *, today: date) -> Iterator[Actionable]:
        """As :meth:`query_actionables`, one at a time as SQLite reads them (memory stays flat)."""
        where, params = self._actionable_where(query, today)
        order = self._SORTS.get(query.sort, "id")
        if query.limit is not None:
            order += f" LIMIT {int(query.limit)}"
        return self._iter_actionables(where, params, order)

    def actionable_counts(self, query: ActionableQuery, *, today: date, month_start: str) -> tuple[int, int, int]:
        """(open, overdue, done since *month_start*) among the actionables matching *query*."""
        where, params = self._actionable_where(query, today)

        def count(condition: str, extra: list[Any]) -> int:
            sql = f"SELECT count(*) FROM actionables WHERE {condition} AND {where}"
            return int(self.conn.execute(sql, [*extra, *params]).fetchone()[0])

        return (
            count(self._OPEN_SQL, []),
            count(f"{self._OPEN_SQL} AND due < ?", [today.isoformat()]),
            count("status = 'done' AND resolved_at >= ?", [month_start]),
        )

    def actionable_months(self, query: ActionableQuery) -> tuple[dict[str, int], dict[str, int]]:
        """Actionables opened per month (YYYY-MM) and closed (done or won't do) per month."""
        where, params = self._actionable_where(query, date.min)
        opened = dict(
            self.conn.execute(
                f"SELECT substr(created_at, 1, 7), count(*) FROM actionables WHERE {where} GROUP BY 1", params
            ).fetchall()
        )
        closed = dict(
            self.conn.execute(
                "SELECT substr(resolved_at, 1, 7), count(*) FROM actionables WHERE status IN ('done', 'wont-do') "
                f"AND resolved_at IS NOT NULL AND {where} GROUP BY 1",
                params,
            ).fetchall()
        )
        return opened, closed

    def days_to_close(self, query: ActionableQuery) -> list[float]:
        """Days from creation to resolution of every closed actionable matching *query*."""
        where, params = self._actionable_where(query, date.min)
        rows = self.conn.execute(
            "SELECT julianday(resolved_at) - julianday(created_at) FROM actionables "
            f"WHERE status IN ('done', 'wont-do') AND resolved_at IS NOT NULL AND {where}",
            params,
        )
        return [max(0.0, float(r[0])) for r in rows if r[0] is not None]

    def open_ages(self, query: ActionableQuery, *, today: date) -> list[float]:
        """Days since creation of every open actionable matching *query*, as of *today*."""
        where, params = self._actionable_where(query, today)
        rows = self.conn.execute(
            f"SELECT julianday(?) - julianday(substr(created_at, 1, 10)) FROM actionables WHERE {self._OPEN_SQL} AND {where}",
            [today.isoformat(), *params],
        )
        return [max(0.0, float(r[0])) for r in rows if r[0] is not None]

    def open_by_owner(self, query: ActionableQuery, *, today: date) -> list[tuple[str | None, int, int]]:
        """(owner, open, overdue) for the open actionables matching *query*, most overdue first."""
        where, params = self._actionable_where(query, today)
        return [
            (r[0], int(r[1]), int(r[2]))
            for r in self.conn.execute(
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
        for r in self.conn.execute(sql + " ORDER BY id", params):
            result.append(
                StatusChange(
                    id=r[0], actionable_id=r[1], incident=r[2], task=r[3],
                    old_status=ActionableStatus(r[4]) if r[4] else None, new_status=ActionableStatus(r[5]), old_task_status=r[6],
                    new_task_status=r[7], changed_at=datetime.fromisoformat(r[8]), changed_at_from=r[9],
                    observed_at=datetime.fromisoformat(r[10]), source=r[11], note=r[12],
                )
            )
        return result
