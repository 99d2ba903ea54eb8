"""``actionables sync``: refresh every tracked task from Phabricator, in batches, conflict-safe.

Sync is the authority for a linked task's status; draft and import text are hints, used only until
the first sync. Nothing is deleted: a task that vanished or became invisible is flagged ``missing``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime

from ..clients.conduit import ConduitClient
from ..errors import InputError
from ..model.actionable import Actionable, StatusChange, SyncChange, SyncResult, TaskView
from ..model.tasks import parse_task, task_number
from ..store import Store
from ..util import chunks
from .tasks import (
    Names,
    change_time,
    current_statuses,
    fetch_tasks,
    history_row,
    observe,
    refresh_statuses,
    task_statuses,
)

__all__ = ["BATCH_SIZE", "TRANSACTION_LOOKUPS", "sync_actionables"]

BATCH_SIZE = 100  # maniphest.search's maximum page size


TRANSACTION_LOOKUPS = 25  # transaction.search calls per sync for real change times (the "cheap" budget)


def sync_actionables(
    store: Store,
    client: ConduitClient,
    *,
    now: datetime,
    incident: str | None = None,
    tasks: Iterable[str] = (),
    progress: Callable[[int, int], None] | None = None,
    batch_size: int = BATCH_SIZE,
    transaction_lookups: int = TRANSACTION_LOOKUPS,
) -> SyncResult:
    """Refresh every tracked task (or those of *incident* / *tasks*) from Phabricator.

    Tasks are fetched *batch_size* ids per ``maniphest.search`` call. Each batch is written in
    its own BEGIN IMMEDIATE transaction and compared with the rows as they are *inside* that
    transaction, so concurrent syncs queue and never duplicate history, and an interrupted sync
    leaves every batch either fully applied or untouched. ActionableStatus changes get their real time from
    the task's close date, else ``transaction.search`` (at most *transaction_lookups* calls), else
    the task's last modification. Tasks not returned are flagged missing, never deleted. A task
    not modified since the last sync only gets its ``synced_at`` touched.
    """
    if not 1 <= batch_size <= BATCH_SIZE:
        raise InputError(f"batch size must be 1..{BATCH_SIZE}, got {batch_size}")
    if incident is not None:
        store.require_incident(incident)
    wanted = {parse_task(t) for t in tasks}
    tracked = store.tracked_tasks(incident=incident)
    untracked = sorted(wanted - set(tracked), key=task_number)
    if untracked:
        raise InputError(
            f"task {untracked[0]} is not tracked" + (f" for {incident}" if incident else ""),
            hint="track it first with `incidentkit actionables add INCIDENT TEXT --task T123`",
        )
    selected = sorted({task_number(t) for t in (wanted or tracked)})
    if not selected:
        return SyncResult(checked=0)
    calls_before = client.calls
    cached = task_statuses(store)
    statuses = current_statuses(store, client, now)
    remap = statuses != cached  # the instance's statuses changed: recompute every task's state
    names = Names()
    budget = [transaction_lookups]
    changes: list[SyncChange] = []
    done = 0
    if progress:
        progress(0, len(selected))
    for numbers in chunks(selected, batch_size):
        batch_tasks = [f"T{n}" for n in numbers]
        views = fetch_tasks(client, numbers)
        if any(v.status_value not in statuses for v in views.values()) and store.task_statuses_fetched_at() != now:
            fresh = refresh_statuses(store, client, now=now)
            remap, statuses = remap or fresh != statuses, fresh
        before = _by_task(store.actionables_for_tasks(batch_tasks, incident=incident))
        names.resolve(client, views.values(), {task: rows[0] for task, rows in before.items()})
        times = {
            task: change_time(rows[0], views[task_number(task)], statuses, client, budget)
            for task, rows in before.items()
            if task_number(task) in views
        }
        with store.transaction():
            current = store.actionables_for_tasks(batch_tasks, incident=incident)
            updates: list[tuple[Actionable, StatusChange | None]] = []
            untouched: list[int] = []
            for actionable in current:
                view = views.get(task_number(actionable.task or "T0"))
                if view is None:
                    if actionable.missing:
                        continue  # reported when it went missing
                    after = replace(actionable, missing=True, updated_at=now)
                    history = history_row(actionable, after, source="sync", now=now, note="task missing (deleted or not visible)")
                elif not remap and _unchanged(actionable, view):
                    untouched.append(actionable.id or 0)
                    continue
                else:
                    after, history = observe(
                        actionable, view, statuses=statuses, owner_name=names.owner(view, actionable),
                        project_names=names.projects_of(view, actionable), now=now,
                        change_time=times.get(view.task) if actionable.task_status != view.status_value else None,
                    )
                updates.append((after, history))
                if history is not None and _worth_printing(actionable, after, history):
                    changes.append(
                        SyncChange(
                            actionable=after, old_status=actionable.status, old_task_status=actionable.task_status,
                            note=history.note if after.missing or actionable.missing else None,
                        )
                    )
            store.update_actionables(updates)
            store.touch_actionables(untouched, synced_at=now)
        done += len(numbers)
        if progress:
            progress(done, len(selected))
    missing = tuple(store.missing_tasks(incident=incident))
    store.optimize()
    return SyncResult(checked=len(selected), changes=tuple(changes), missing=missing, calls=client.calls - calls_before)


def _unchanged(current: Actionable, view: TaskView) -> bool:
    """Synced before and the task was not modified since (every task edit bumps ``dateModified``)."""
    return current.synced_at is not None and not current.missing and current.task_modified_at == view.modified_at


def _worth_printing(before: Actionable, after: Actionable, history: StatusChange) -> bool:
    """A change of state, of a known task status, or of visibility (not the first look at a task)."""
    return bool(history.note) or before.status != after.status or (
        before.task_status is not None and before.task_status != after.task_status
    )


def _by_task(actionables: Iterable[Actionable]) -> dict[str, list[Actionable]]:
    grouped: dict[str, list[Actionable]] = defaultdict(list)
    for actionable in actionables:
        if actionable.task:
            grouped[actionable.task].append(actionable)
    return grouped
