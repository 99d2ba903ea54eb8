"""What managers read: the actionables list and summary line, statistics, and the dashboard's groups."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

from ..errors import MAX_LIMIT, InputError, require_between
from ..model.actionable import (
    SORT_KEYS,
    Actionable,
    ActionableQuery,
    ActionableStats,
    Dashboard,
    DashboardGroup,
    DashboardItem,
    MonthCount,
    OwnerOverdue,
    Summary,
)
from ..model.time import ensure_utc, format_utc
from ..store import Store

__all__ = ["list_actionables", "iter_actionables", "summarize", "actionable_stats", "open_actionables_for_dashboard"]

MAX_MONTHS = 1200  # a century of backlog: the months counted back stay real dates


def _month_start(now: datetime) -> datetime:
    now = ensure_utc(now)
    return datetime(now.year, now.month, 1, tzinfo=UTC)


def list_actionables(store: Store, query: ActionableQuery, *, now: datetime) -> list[Actionable]:
    """The actionables matching *query* (open ones by default), in the requested order."""
    return list(iter_actionables(store, query, now=now))


def iter_actionables(store: Store, query: ActionableQuery, *, now: datetime) -> Iterator[Actionable]:
    """As :func:`list_actionables`, one at a time (``actionables list`` streams them); the query is
    checked before the first row."""
    if query.sort not in SORT_KEYS:
        raise InputError(f"cannot sort by {query.sort!r}", hint=f"sort keys: {', '.join(SORT_KEYS)}")
    if query.limit is not None:
        require_between("--limit", query.limit, 1, MAX_LIMIT)
    if query.incident is not None:
        store.require_incident(query.incident)
    return store.iter_actionables(query, today=ensure_utc(now).date())


def summarize(store: Store, query: ActionableQuery, *, now: datetime) -> Summary:
    """Open, overdue and done-this-month counts under the query's owner/incident/project/type filters."""
    base = replace(query, statuses=(), overdue=False, due_before=None, missing=None, limit=None)
    open_, overdue, done = store.actionable_counts(
        base, today=ensure_utc(now).date(), month_start=format_utc(_month_start(now))
    )
    return Summary(open_, overdue, done)


def _month_range(first: str, last: str) -> list[str]:
    year, month = int(first[:4]), int(first[5:7])
    months = []
    while f"{year:04d}-{month:02d}" <= last:
        months.append(f"{year:04d}-{month:02d}")
        month += 1
        if month > 12:
            year, month = year + 1, 1
    return months


def actionable_stats(
    store: Store, *, now: datetime, months: int = 12, incident: str | None = None, owner: str | None = None
) -> ActionableStats:
    """Opened vs closed per month (last *months* months), median days to close, overdue by owner."""
    require_between("--months", months, 1, MAX_MONTHS, hint="e.g. --months 12 for the last year")
    if incident is not None:
        store.require_incident(incident)
    query = ActionableQuery(statuses=(), incident=incident, owner=owner)
    today = ensure_utc(now).date()
    opened, closed = store.actionable_months(query)
    current = f"{today:%Y-%m}"
    year, month = today.year, today.month - (months - 1)
    while month < 1:
        year, month = year - 1, month + 12
    first_wanted = f"{year:04d}-{month:02d}"
    backlog = sum(n for m, n in opened.items() if m < first_wanted) - sum(n for m, n in closed.items() if m < first_wanted)
    rows = []
    for m in _month_range(first_wanted, current):
        backlog += opened.get(m, 0) - closed.get(m, 0)
        rows.append(MonthCount(m, opened.get(m, 0), closed.get(m, 0), backlog))
    durations = store.days_to_close(query)
    by_owner = tuple(OwnerOverdue(o, n_open, n_overdue) for o, n_open, n_overdue in store.open_by_owner(query, today=today))
    return ActionableStats(
        months=tuple(rows),
        median_days_to_close=round(statistics.median(durations), 1) if durations else None,
        closed=len(durations),
        open=sum(o.open for o in by_owner),
        overdue=sum(o.overdue for o in by_owner),
        by_owner=by_owner,
    )


def open_actionables_for_dashboard(store: Store, now: datetime) -> Dashboard:
    """Every open actionable, grouped by owner (unassigned last) and by incident (newest first)."""
    today = ensure_utc(now).date()
    incidents = {i.slug: i for i in store.list_incidents()}
    items = []
    for a in store.query_actionables(ActionableQuery(sort="due"), today=today):
        late = a.is_overdue(today)
        record = incidents.get(a.incident)
        items.append(
            DashboardItem(
                actionable=a,
                incident_title=record.title if record else a.incident,
                overdue=late,
                days_overdue=(today - a.due).days if late and a.due else 0,
            )
        )
    owners: dict[str | None, list[DashboardItem]] = defaultdict(list)
    per_incident: dict[str, list[DashboardItem]] = defaultdict(list)
    for item in items:
        owners[item.actionable.owner].append(item)
        per_incident[item.actionable.incident].append(item)
    by_owner = tuple(
        DashboardGroup(key=owner, label=owner or "(unassigned)", items=tuple(group))
        for owner, group in sorted(owners.items(), key=lambda kv: (kv[0] is None, (kv[0] or "").lower()))
    )
    by_incident = tuple(
        DashboardGroup(key=slug, label=group[0].incident_title, items=tuple(group))
        for slug, group in sorted(
            per_incident.items(), key=lambda kv: ((incidents[kv[0]].start or "") if kv[0] in incidents else "", kv[0]),
            reverse=True,
        )
    )
    return Dashboard(
        generated_at=ensure_utc(now),
        open=len(items),
        overdue=sum(1 for i in items if i.overdue),
        by_owner=by_owner,
        by_incident=by_incident,
    )
