"""What incidentkit learns from Phabricator about tracked tasks, shared by sync, add and create.

The instance's statuses (discovered with ``maniphest.status.search``, cached in the store for a
day), task views fetched in batches, owner and project names resolved only when they changed,
:func:`status_steps` (the status changes a task went through since it was last seen, timed from the
task's close date or its transactions), and :func:`observe`: applying what Phabricator says about a
task to an actionable (locked fields kept), with the history rows the change needs. Nothing here
reads the clock: callers pass ``now``.

Phorge sets ``dateClosed`` only when a task goes from an open status to a closed one (and clears it
on reopen), so it times open → closed changes exactly and nothing else: a change between two closed
statuses, a reopen, or a reopen and close again between two syncs need the task's transactions.
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
from ..model.time import from_epoch, to_epoch
from ..store import Store

__all__ = [
    "task_statuses",
    "refresh_statuses",
    "statuses_due",
    "current_statuses",
    "history_row",
    "state_changed",
    "observe",
    "StatusStep",
    "status_steps",
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


def statuses_due(store: Store, now: datetime) -> bool:
    """True when the cached statuses are missing or older than a day."""
    fetched = store.task_statuses_fetched_at()
    return fetched is None or now - fetched > STATUS_CACHE_TTL


def current_statuses(store: Store, client: ConduitClient, now: datetime) -> dict[str, TaskStatus]:
    """The cached statuses, discovered again first when :func:`statuses_due`."""
    if statuses_due(store, now):
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


@dataclass(frozen=True, slots=True)
class StatusStep:
    """One status a task took, and when (``origin``: transaction, task-closed or task-modified)."""

    new: str
    at: datetime
    origin: str


def observe(
    current: Actionable,
    view: TaskView,
    *,
    statuses: Mapping[str, TaskStatus],
    owner_name: str | None,
    project_names: tuple[str, ...] | None,
    now: datetime,
    steps: Sequence[StatusStep] = (),
) -> tuple[Actionable, list[StatusChange]]:
    """Apply what Phabricator says about the task to *current* (locked fields kept). Pure.

    *steps* are the status changes since *current* was last seen (:func:`status_steps`): each one
    before the last gets a history row of its own, at its own time; the last one times the change to
    the task's present state. Without steps a change is recorded as observed *now*.
    """
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
        if state not in CLOSED_STATES:
            updates["resolved_at"] = None
        elif view.closed_at is not None:  # the last time it went from open to closed
            updates["resolved_at"] = view.closed_at
        elif current.synced_at is None or current.status not in CLOSED_STATES or current.resolved_at is None:
            # a draft/import hint's time is replaced by the real one
            updates["resolved_at"] = steps[-1].at if steps else now
    after = replace(current, **updates)
    rows: list[StatusChange] = []
    before = current
    for step in steps[:-1]:
        middle = replace(
            before,
            task_status=step.new,
            status=before.status if "status" in locked else map_task_status(step.new, statuses, closed=False),
            missing=False,
        )
        if state_changed(before, middle):
            rows.append(
                history_row(before, middle, source="sync", now=now, changed_at=step.at, changed_at_from=step.origin)
            )
            before = middle
    if not state_changed(before, after):
        return after, rows
    when, origin = (steps[-1].at, steps[-1].origin) if steps else (now, "observed")
    note = "task visible again" if current.missing else None
    rows.append(history_row(before, after, source="sync", now=now, changed_at=when, changed_at_from=origin, note=note))
    return after, rows


def status_steps(
    current: Actionable,
    view: TaskView,
    statuses: Mapping[str, TaskStatus],
    client: ConduitClient,
    budget: list[int],
) -> list[StatusStep]:
    """The statuses the task took since *current* was last seen, oldest first; [] if none changed.

    Open → closed is timed by the task's close date when nothing was edited after the close. Every
    other change (closed → closed, a reopen, open → open, a reopen and close again, an edit after
    the close) reads the task's transactions back to the last time it was seen, at most one lookup
    per unit of *budget*; past the budget, the close date or the last edit times the change.
    """
    if current.task_status is None:  # first look: nothing was seen to change, only when it closed
        closed = map_task_status(view.status_value, statuses, closed=view.closed_at is not None) in CLOSED_STATES
        return [StatusStep(view.status_value, view.closed_at, "task-closed")] if closed and view.closed_at else []
    changed = current.task_status != view.status_value
    reclosed = (  # closed then and now, but closed anew since (its resolved_at came from a sync)
        not changed
        and "status" not in current.locked
        and current.task_modified_at is not None
        and view.closed_at is not None
        and current.resolved_at is not None
        and view.closed_at != current.resolved_at
    )
    if not changed and not reclosed:
        return []
    was_closed = _is_closed(current.task_status, statuses, current.resolved_at is not None)
    closed_once = changed and not was_closed and view.closed_at is not None
    if closed_once and view.modified_at == view.closed_at:
        return [StatusStep(view.status_value, view.closed_at, "task-closed")]
    if budget[0] > 0:
        budget[0] -= 1
        steps = _steps_from_transactions(client, current, view, statuses)
        if steps:
            return steps
    if closed_once and view.closed_at is not None:
        return [StatusStep(view.status_value, view.closed_at, "task-closed")]
    return [StatusStep(view.status_value, view.modified_at, "task-modified")] if changed else []


def _is_closed(value: str, statuses: Mapping[str, TaskStatus], fallback: bool) -> bool:
    known = statuses.get(value)
    return known.closed if known is not None else fallback


def _steps_from_transactions(
    client: ConduitClient, current: Actionable, view: TaskView, statuses: Mapping[str, TaskStatus]
) -> list[StatusStep]:
    """Status changes from ``transaction.search`` (newest first), read back to *current*'s last look.

    Without a last look (a task linked but never synced) only the newest change is read. Paging
    stops as soon as that point is reached.
    """
    since = to_epoch(current.task_modified_at) if current.task_modified_at else None
    duplicate = next((s.value for s in statuses.values() if s.special == "duplicate"), "duplicate")
    newest_first: list[StatusStep] = []
    for xaction in client.iter_transactions(view.phid):
        created = xaction.get("dateCreated")
        if not isinstance(created, int) or (since is not None and created < since):
            break
        new = _status_set_by(xaction, duplicate)
        when = from_epoch(created)
        if new is None or when is None:
            continue
        newest_first.append(StatusStep(new, when, "transaction"))
        if since is None:
            break
    steps: list[StatusStep] = []
    previous = current.task_status
    for step in reversed(newest_first):
        if step.new != previous:
            steps.append(step)
            previous = step.new
    if not steps or steps[-1].new != view.status_value:
        return []  # the transactions do not explain the present status (not visible, or edited away)
    return steps


def _status_set_by(xaction: Mapping[str, Any], duplicate: str) -> str | None:
    """The status a transaction gave its task: a status change, or a merge into another task."""
    kind = xaction.get("type")
    if kind == "status":
        fields = xaction.get("fields")
        new = fields.get("new") if isinstance(fields, dict) else None
        return new if isinstance(new, str) else None
    if kind == "mergedinto":  # "Merge Duplicates In" records no status transaction
        return duplicate
    return None


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
