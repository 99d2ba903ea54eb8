"""``actionables sync``: refresh every tracked task from Phabricator, in batches, conflict-safe.

Sync is the authority for a linked task's status; draft and import text are hints, used only until
the first sync. Nothing is deleted: a task that vanished or became invisible is flagged ``missing``.
Each batch is committed on its own and handed to the caller as soon as it is (``on_batch``), so a
sync that fails midway has already reported everything it saved.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import datetime

from ..clients.conduit import ConduitClient
from ..errors import InputError
from ..model.actionable import (
    CLOSED_STATES,
    Actionable,
    StatusChange,
    SyncChange,
    SyncResult,
    TaskStatus,
    TaskView,
)
from ..model.tasks import parse_task, task_number
from ..model.time import format_utc
from ..store import Store
from ..util import chunks
from .tasks import (
    Names,
    StatusStep,
    fetch_tasks,
    history_row,
    observe,
    refresh_statuses,
    status_steps,
    statuses_due,
    task_statuses,
)

__all__ = ["BATCH_SIZE", "TRANSACTION_LOOKUPS", "sync_actionables"]

BATCH_SIZE = 100  # maniphest.search's maximum page size


TRANSACTION_LOOKUPS = 25  # tasks per sync whose transactions may be read for real change times


def sync_actionables(
    store: Store,
    client: ConduitClient,
    *,
    now: datetime,
    incident: str | None = None,
    tasks: Iterable[str] = (),
    progress: Callable[[int, int], None] | None = None,
    on_batch: Callable[[Sequence[SyncChange]], None] | None = None,
    batch_size: int = BATCH_SIZE,
    transaction_lookups: int = TRANSACTION_LOOKUPS,
) -> SyncResult:
    """Refresh every tracked task (or those of *incident* / *tasks*) from Phabricator.

    Tasks are fetched *batch_size* ids per ``maniphest.search`` call. Each batch is written in
    its own BEGIN IMMEDIATE transaction and compared with the rows as they are *inside* that
    transaction, so concurrent syncs queue and never duplicate history, and an interrupted sync
    leaves every batch either fully applied or untouched. *on_batch* gets each batch's changes
    right after its commit. Status changes are timed by :func:`~.tasks.status_steps` (the task's
    close date, else its transactions for at most *transaction_lookups* tasks, else its last
    edit), and statuses the task passed through in between get history rows of their own. Tasks
    not returned are flagged missing, never deleted. A task not modified since the last sync only
    gets its ``synced_at`` touched. The instance's statuses are discovered at most once per run.
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
    refreshed = statuses_due(store, now)  # discovered at most once per run
    statuses = refresh_statuses(store, client, now=now) if refreshed else cached
    remap = statuses != cached  # the instance's statuses changed: recompute every task's state
    names = Names()
    budget = [transaction_lookups]
    changes: list[SyncChange] = []
    done = 0
    if progress:
        progress(0, len(selected))
    for numbers in chunks(selected, batch_size):
        views = fetch_tasks(client, numbers)
        if not refreshed and any(v.status_value not in statuses for v in views.values()):
            fresh = refresh_statuses(store, client, now=now)
            refreshed, remap, statuses = True, remap or fresh != statuses, fresh
        batch = _sync_batch(
            store, client, [f"T{n}" for n in numbers], views,
            incident=incident, statuses=statuses, remap=remap, names=names, budget=budget, now=now,
        )  # fmt: skip
        changes.extend(batch)
        if on_batch:
            on_batch(batch)
        done += len(numbers)
        if progress:
            progress(done, len(selected))
    missing = tuple(store.missing_tasks(incident=incident))
    store.optimize()
    return SyncResult(
        checked=len(selected), changes=tuple(changes), missing=missing, calls=client.calls - calls_before
    )


def _sync_batch(
    store: Store,
    client: ConduitClient,
    batch_tasks: list[str],
    views: dict[int, TaskView],
    *,
    incident: str | None,
    statuses: dict[str, TaskStatus],
    remap: bool,
    names: Names,
    budget: list[int],
    now: datetime,
) -> list[SyncChange]:
    """Write one batch in one transaction; its changes worth printing."""
    before = _by_task(store.actionables_for_tasks(batch_tasks, incident=incident))
    names.resolve(client, views.values(), {task: rows[0] for task, rows in before.items()})
    steps = {
        task: status_steps(rows[0], views[task_number(task)], statuses, client, budget)
        for task, rows in before.items()
        if task_number(task) in views
    }
    changes: list[SyncChange] = []
    with store.transaction():
        current = store.actionables_for_tasks(batch_tasks, incident=incident)
        updates: list[tuple[Actionable, StatusChange | None]] = []
        untouched: list[int] = []
        for actionable in current:
            view = views.get(task_number(actionable.task or "T0"))
            path: Sequence[StatusStep] = ()
            if view is None:
                if actionable.missing:
                    continue  # reported when it went missing
                after = replace(actionable, missing=True, updated_at=now)
                note = "task missing (deleted or not visible)"
                history = [history_row(actionable, after, source="sync", now=now, note=note)]
            elif not remap and _unchanged(actionable, view):
                untouched.append(actionable.id or 0)
                continue
            else:
                # steps were read before the transaction, from the task's first row: they hold for
                # this row if it stands where that one stood then
                seen = before.get(view.task)
                path = steps.get(view.task, ()) if seen and _same_start(seen[0], actionable) else ()
                after, history = observe(
                    actionable, view, statuses=statuses, owner_name=names.owner(view, actionable),
                    project_names=names.projects_of(view, actionable), now=now, steps=path,
                )  # fmt: skip
            updates.extend((after, row) for row in history or [None])
            change = _printable(actionable, after, history, path)
            if change is not None:
                changes.append(change)
        store.update_actionables(updates)
        store.touch_actionables(untouched, synced_at=now)
    return changes


def _unchanged(current: Actionable, view: TaskView) -> bool:
    """Synced before and the task was not modified since: every edit bumps ``dateModified``, but in
    whole seconds, so an edit in the second the last sync saw also shows in the fields themselves."""
    return (
        current.synced_at is not None
        and not current.missing
        and current.task_modified_at == view.modified_at
        and (current.task_status, current.owner_phid, current.priority_value, current.project_phids)
        == (view.status_value, view.owner_phid, view.priority_value, view.project_phids)
        and ("title" in current.locked or current.title == view.title)
    )


def _same_start(a: Actionable, b: Actionable) -> bool:
    """Both rows last saw the task in the same state (so the same status steps lead from it)."""
    return (a.status, a.task_status, a.task_modified_at, a.resolved_at, a.locked, a.missing) == (
        b.status, b.task_status, b.task_modified_at, b.resolved_at, b.locked, b.missing
    )  # fmt: skip


def _printable(
    before: Actionable, after: Actionable, history: Sequence[StatusChange], path: Sequence[StatusStep]
) -> SyncChange | None:
    """The line a change gets: a change of state, of a known task status, or of visibility, or a
    round trip (reopened and closed again) between two syncs; not the first look at a task."""
    changed = bool(history) and (
        before.status != after.status or (before.task_status is not None and before.task_status != after.task_status)
    )
    if history and (after.missing or before.missing):
        note = history[-1].note
    elif changed:
        note = None
    elif len(path) > 1:
        note = "status went " + " → ".join([before.task_status or "?", *(s.new for s in path)]) + " since the last sync"
    elif after.resolved_at is not None and _closed_again(before, after):
        note = f"closed again at {format_utc(after.resolved_at)} (reopened since the last sync)"
    else:
        return None
    return SyncChange(actionable=after, old_status=before.status, old_task_status=before.task_status, note=note)


def _closed_again(before: Actionable, after: Actionable) -> bool:
    """Closed at both syncs, but closed anew in between (Phorge's close date moved)."""
    return (
        before.synced_at is not None
        and before.task_modified_at is not None  # its resolved_at is Phorge's close date, not a hand-set one
        and "status" not in before.locked
        and before.status in CLOSED_STATES
        and after.status in CLOSED_STATES
        and before.resolved_at is not None
        and before.resolved_at != after.resolved_at
    )


def _by_task(actionables: Iterable[Actionable]) -> dict[str, list[Actionable]]:
    grouped: dict[str, list[Actionable]] = {}
    for actionable in actionables:
        if actionable.task:
            grouped.setdefault(actionable.task, []).append(actionable)
    return grouped
