"""What incidentkit learns from Phabricator about tracked tasks, shared by sync, add and create.

The instance's statuses (discovered with ``maniphest.status.search``, cached in the store for a
day), task views fetched in batches, owner and project names resolved only when they changed, and
:func:`observe`: applying what Phabricator says about a task to an actionable (locked fields kept),
with the history row the change needs. Nothing here reads the clock: callers pass ``now``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from ..clients.conduit import ConduitClient, task_view
from ..errors import SourceError
from ..model.actionable import (
    CLOSED_STATES,
    Actionable,
    StatusChange,
    TaskStatus,
    TaskView,
    map_task_status,
)
from ..model.time import from_epoch
from ..store import Store

__all__ = [
    "task_statuses",
    "refresh_statuses",
    "current_statuses",
    "history_row",
    "state_changed",
    "observe",
    "change_time",
    "fetch_tasks",
    "Names",
]

STATUS_CACHE_TTL = timedelta(days=1)


def task_statuses(store: Store) -> dict[str, TaskStatus]:
    """The instance's statuses as last discovered (empty before the first discovery)."""
    return {s.value: s for s in store.task_statuses()}


def refresh_statuses(store: Store, client: ConduitClient, *, now: datetime) -> dict[str, TaskStatus]:
    """Discover the instance's statuses with ``maniphest.status.search`` and cache them."""
    discovered = []
    for item in client.statuses():
        try:
            discovered.append(
                TaskStatus(
                    value=str(item["value"]),
                    name=str(item.get("name") or item["value"]),
                    closed=bool(item.get("closed")),
                    special=item.get("special"),
                )
            )
        except (KeyError, TypeError) as exc:
            raise SourceError(f"phabricator: unexpected maniphest.status.search entry {item!r:.80}") from exc
    if not discovered:
        raise SourceError("phabricator: maniphest.status.search returned no statuses")
    store.save_task_statuses(discovered, fetched_at=now)
    return {s.value: s for s in discovered}


def current_statuses(store: Store, client: ConduitClient, now: datetime) -> dict[str, TaskStatus]:
    fetched = store.task_statuses_fetched_at()
    if fetched is None or now - fetched > STATUS_CACHE_TTL:
        return refresh_statuses(store, client, now=now)
    return task_statuses(store)


def history_row(
    before: Actionable | None,
    after: Actionable,
    *,
    source: str,
    now: datetime,
    changed_at: datetime | None = None,
    changed_at_from: str = "observed",
    note: str | None = None,
) -> StatusChange:
    return StatusChange(
        actionable_id=after.id,
        incident=after.incident,
        task=after.task,
        old_status=before.status if before else None,
        new_status=after.status,
        old_task_status=before.task_status if before else None,
        new_task_status=after.task_status,
        changed_at=changed_at or now,
        changed_at_from=changed_at_from if changed_at else "observed",
        observed_at=now,
        source=source,
        note=note,
    )


def state_changed(before: Actionable, after: Actionable) -> bool:
    return (before.status, before.task_status, before.missing) != (after.status, after.task_status, after.missing)


def observe(
    current: Actionable,
    view: TaskView,
    *,
    statuses: Mapping[str, TaskStatus],
    owner_name: str | None,
    project_names: tuple[str, ...] | None,
    now: datetime,
    change_time: tuple[datetime, str] | None,
) -> tuple[Actionable, StatusChange | None]:
    """Apply what Phabricator says about the task to *current* (locked fields kept). Pure."""
    locked = set(current.locked)
    state = map_task_status(view.status_value, statuses, closed=view.closed_at is not None, name=view.status_name)
    updates: dict[str, Any] = {
        "task_phid": view.phid,
        "owner_phid": view.owner_phid,
        "task_status": view.status_value,
        "priority": view.priority,
        "priority_value": view.priority_value,
        "project_phids": view.project_phids,
        "missing": False,
        "synced_at": now,
        "task_modified_at": view.modified_at,
        "updated_at": now,
    }
    if project_names is not None:
        updates["projects"] = project_names
    if "title" not in locked and view.title:
        updates["title"] = view.title
    if "owner" not in locked:
        updates["owner"] = owner_name
    if current.synced_at is None:
        updates["created_at"] = view.created_at
    if "status" not in locked:
        updates["status"] = state
        if state in CLOSED_STATES:
            first_look = current.synced_at is None  # a draft/import hint's time is replaced by the real one
            if first_look or current.status not in CLOSED_STATES or current.resolved_at is None:
                updates["resolved_at"] = view.closed_at or (change_time[0] if change_time else now)
        else:
            updates["resolved_at"] = None
    after = replace(current, **updates)
    if not state_changed(current, after):
        return after, None
    when, origin = change_time if change_time else (now, "observed")
    note = "task visible again" if current.missing else None
    return after, history_row(current, after, source="sync", now=now, changed_at=when, changed_at_from=origin, note=note)


def change_time(
    current: Actionable, view: TaskView, statuses: Mapping[str, TaskStatus], client: ConduitClient, budget: list[int]
) -> tuple[datetime, str] | None:
    """When the task's status really changed: its close date, else transaction.search (budgeted), else its last edit."""
    if current.task_status == view.status_value:
        return None
    state = map_task_status(view.status_value, statuses, closed=view.closed_at is not None, name=view.status_name)
    if state in CLOSED_STATES and view.closed_at is not None:
        return view.closed_at, "task-closed"
    if current.task_status is None:
        return None  # first observation: nothing was seen to change
    if budget[0] > 0:
        budget[0] -= 1
        for xaction in client.transactions(view.task):
            if xaction.get("type") == "status" and (xaction.get("fields") or {}).get("new") == view.status_value:
                when = from_epoch(xaction.get("dateCreated"))
                if when is not None:
                    return when, "transaction"
                break
    return view.modified_at, "task-modified"


def fetch_tasks(client: ConduitClient, numbers: Sequence[int]) -> dict[int, TaskView]:
    views = (task_view(item) for item in client.tasks_by_ids(numbers, attachments=("projects",)))
    return {view.id: view for view in views}


@dataclass
class Names:
    """Owner and project names for the PHIDs of one batch; only PHIDs not already known are looked up."""

    users: dict[str, str] = field(default_factory=dict)
    projects: dict[str, str] = field(default_factory=dict)

    def resolve(self, client: ConduitClient, views: Iterable[TaskView], known: Mapping[str, Actionable]) -> None:
        need_users: set[str] = set()
        need_projects: set[str] = set()
        for view in views:
            current = known.get(view.task)
            if view.owner_phid and (current is None or current.owner_phid != view.owner_phid or not current.owner):
                need_users.add(view.owner_phid)
            if current is None or current.project_phids != view.project_phids or len(current.projects) != len(
                view.project_phids
            ):
                need_projects.update(view.project_phids)
        need_users -= set(self.users)
        need_projects -= set(self.projects)
        if need_users:
            self.users.update(client.user_names(sorted(need_users)))
        if need_projects:
            self.projects.update(client.project_names(sorted(need_projects)))

    def owner(self, view: TaskView, current: Actionable) -> str | None:
        if view.owner_phid is None:
            return None
        if view.owner_phid == current.owner_phid and current.owner and view.owner_phid not in self.users:
            return current.owner
        return self.users.get(view.owner_phid, view.owner_phid)

    def projects_of(self, view: TaskView, current: Actionable) -> tuple[str, ...] | None:
        if view.project_phids == current.project_phids and len(current.projects) == len(view.project_phids):
            return None  # unchanged
        return tuple(self.projects.get(p, p) for p in view.project_phids)
