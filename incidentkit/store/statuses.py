"""The cache of the Phabricator instance's task statuses (as ``maniphest.status.search`` gave them)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from ..model.actionable import TaskStatus
from ..model.time import format_utc
from ._base import StoreBase, utc_or_none

__all__ = ["TaskStatusesMixin"]


class TaskStatusesMixin(StoreBase):
    """The instance's statuses and when they were discovered."""

    def save_task_statuses(self, statuses: Iterable[TaskStatus], *, fetched_at: datetime) -> None:
        """Replace the cached list of the instance's statuses."""
        rows = [(s.value, s.name, int(s.closed), s.special, str(s.state), format_utc(fetched_at)) for s in statuses]
        with self.transaction():
            self.conn.execute("DELETE FROM task_statuses")
            self.conn.executemany(
                "INSERT INTO task_statuses (value, name, closed, special, state, fetched_at) VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )

    def task_statuses(self) -> list[TaskStatus]:
        rows = self.conn.execute("SELECT value, name, closed, special FROM task_statuses ORDER BY rowid")
        return [TaskStatus(value=r[0], name=r[1], closed=bool(r[2]), special=r[3]) for r in rows]

    def task_statuses_fetched_at(self) -> datetime | None:
        """When the cached statuses were discovered (None if never)."""
        row = self.conn.execute("SELECT min(fetched_at) FROM task_statuses").fetchone()
        return utc_or_none(row[0]) if row else None
