"""Incident statistics: incidents per period, the duration metrics as distributions, after-hours
pages and repeats; and the age of the open actionables backlog.

Everything is read from the search index (one query), so it takes well under a second for tens of
thousands of incidents:

* the durations come from each incident's key moments (:data:`~incidentkit.model.stats.METRICS`);
  an unknown moment, or one before the impact start, makes the duration unknown (counted, never
  dropped);
* a **page** is an alert episode of a draft that paged, at the time it started firing; it is
  **outside business hours** when, in the ``[stats] timezone``, it falls on a day not in
  ``business_days`` or outside ``business_hours`` (public holidays are not known). Imported
  reports do not say when pages went out: only drafted incidents count here;
* a **repeat** is an incident with a similar earlier incident (the pairs kept by
  :mod:`incidentkit.services.similar`) that started at most ``repeat_days`` before it.

Nothing here prints; the clock is an argument.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..config import StatsSettings
from ..errors import ConfigError, InputError, require_between
from ..model.actionable import ActionableQuery
from ..model.curation import MOMENTS, KeyMoments
from ..model.stats import METRICS, AgeBucket, Distribution, IncidentStats, PeriodStats, Repeat, distribution
from ..model.time import ensure_utc, parse_utc, period_label
from ..store import Store

__all__ = ["PERIODS", "BusinessHours", "business_hours", "incident_stats", "backlog_ages", "AGE_BUCKETS"]

PERIODS = ("month", "quarter", "year")
MAX_REPEAT_DAYS = 36_500  # a century: an earlier start stays a real date
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
AGE_BUCKETS: tuple[tuple[str, float], ...] = (
    ("< 30 days", 30), ("30-89 days", 90), ("90-179 days", 180), ("180-364 days", 365), (">= 1 year", float("inf")),
)  # fmt: skip


class BusinessHours:
    """When pages count as sent in business hours: days of the week and a time range, in a time zone."""

    def __init__(self, zone: ZoneInfo, start: time, end: time, days: frozenset[int], label: str) -> None:
        self.zone, self.start, self.end, self.days, self.label = zone, start, end, days, label

    def contains(self, when: datetime) -> bool:
        local = ensure_utc(when).astimezone(self.zone)
        return local.weekday() in self.days and self.start <= local.time() < self.end


def business_hours(settings: StatsSettings) -> BusinessHours:
    """The ``[stats]`` business hours; ConfigError naming the key for a bad value."""
    try:
        zone = ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(
            f"config key stats.timezone is not a time zone: {settings.timezone!r}", hint="use an IANA name, e.g. Europe/Amsterdam"
        ) from exc
    match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", settings.business_hours)
    if not match or int(match.group(1)) > 23 or int(match.group(3)) > 24 or int(match.group(2)) > 59 or int(match.group(4)) > 59:
        raise ConfigError(
            f"config key stats.business_hours must be HH:MM-HH:MM, got {settings.business_hours!r}", hint='e.g. "09:00-17:00"'
        )
    start = time(int(match.group(1)), int(match.group(2)))
    end = time.max if int(match.group(3)) == 24 else time(int(match.group(3)), int(match.group(4)))
    days: set[int] = set()
    for day in settings.business_days:
        key = day.strip().lower()[:3]
        if key not in _DAYS:
            raise ConfigError(f"config key stats.business_days has {day!r}, not a day", hint="use mon, tue, wed, thu, fri, sat, sun")
        days.add(_DAYS.index(key))
    label = f"{settings.business_hours.strip()} {', '.join(d for d in _DAYS if _DAYS.index(d) in days)}, {settings.timezone}"
    return BusinessHours(zone, start, end, frozenset(days), label)


def _durations(row: Sequence[Any]) -> dict[str, float | None]:
    """The metrics of one stats row (see :meth:`~incidentkit.store.Store.stats_rows`); a negative
    duration (a moment before the impact start) is unknown."""
    when = datetime.fromisoformat
    moments = KeyMoments(**{name: when(value) for name, value in zip(MOMENTS, row[2:7], strict=True) if value})
    return {key: (value if value is not None and value >= 0 else None) for key, value in moments.durations().items()}


def _all_periods(first: date, last: date, by: str) -> list[str]:
    """Every period label from *first*'s to *last*'s, none skipped (a quiet quarter shows as 0)."""
    labels: list[str] = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        label = period_label(date(year, month, 1), by)
        if not labels or labels[-1] != label:
            labels.append(label)
        month += 1
        if month > 12:
            year, month = year + 1, 1
    return labels


def _repeats(store: Store, repeat_days: int, since: date | None) -> dict[str, Repeat]:
    """The incidents (on or after *since*) with a similar incident that started at most *repeat_days* before."""
    found: dict[str, Repeat] = {}
    for later, earlier, score, gap in store.repeat_links(repeat_days, since=since):
        best = found.get(later)
        if best is None or score > best.score:
            found[later] = Repeat(later, earlier, int(gap), score)
    return found


def incident_stats(
    store: Store, settings: StatsSettings, *, by: str = "quarter", since: date | None = None, repeat_days: int | None = None
) -> IncidentStats:
    """The statistics of the indexed incidents (on or after *since*), grouped *by* month/quarter/year."""
    if by not in PERIODS:
        raise InputError(f"unknown period {by!r}", hint=f"use one of: {', '.join(PERIODS)}")
    window = settings.repeat_days if repeat_days is None else repeat_days
    require_between("--repeat-days", window, 0, MAX_REPEAT_DAYS)
    hours = business_hours(settings)
    rows = store.stats_rows(since=since)
    repeats = _repeats(store, window, since)
    durations = {row[0]: _durations(row) for row in rows}
    buckets: dict[str, list[Sequence[Any]]] = defaultdict(list)
    days = [date.fromisoformat(row[1]) if row[1] else None for row in rows]
    for row, day in zip(rows, days, strict=True):
        buckets[period_label(day, by)].append(row)
    days = [day for day in days if day is not None]
    labels = _all_periods(min(days), max(days), by) if days else []
    if "undated" in buckets:
        labels.append("undated")
    periods = []
    all_pages = all_outside = 0
    for label in labels:
        members = buckets.get(label, [])
        pages = [parse_utc(p) for row in members if row[7] != "[]" for p in json.loads(row[7])]
        outside = sum(1 for page in pages if not hours.contains(page))
        all_pages, all_outside = all_pages + len(pages), all_outside + outside
        periods.append(
            PeriodStats(
                period=label,
                incidents=len(members),
                repeats=sum(1 for row in members if row[0] in repeats),
                pages=len(pages),
                pages_outside=outside,
                impact=distribution(durations[row[0]]["impact_duration"] for row in members),
            )
        )
    metrics = tuple(
        (key, label, definition, distribution(values[key] for values in durations.values()))
        for key, label, definition in METRICS
    )
    return IncidentStats(
        by=by,
        since=since.isoformat() if since else None,
        incidents=len(rows),
        periods=tuple(periods),
        metrics=metrics,
        pages=all_pages,
        pages_outside=all_outside,
        incidents_with_pages_known=sum(1 for row in rows if row[8]),
        business_hours=hours.label,
        repeats=tuple(sorted(repeats.values(), key=lambda r: r.slug)),
        repeat_days=window,
        unindexed=len(store.unindexed_slugs()),
        durations={
            key: tuple(v for values in durations.values() if (v := values[key]) is not None) for key, _, _ in METRICS
        },
    )


def backlog_ages(store: Store, *, now: datetime, incident: str | None = None, owner: str | None = None) -> tuple[Distribution, tuple[AgeBucket, ...], tuple[float, ...]]:
    """The age in days of every open actionable (matching *incident* / *owner*): its distribution,
    counts per age bucket, and the ages themselves (for charts)."""
    ages = store.open_ages(ActionableQuery(incident=incident, owner=owner), today=ensure_utc(now).date())
    counts = []
    lower = 0.0
    for label, upper in AGE_BUCKETS:
        counts.append(AgeBucket(label, sum(1 for age in ages if lower <= age < upper)))
        lower = upper
    return distribution(ages), tuple(counts), tuple(sorted(ages))
