"""The incidents the store knows: listed, shown in full, corrected by hand, removed.

``incidents list`` and ``show`` read only. ``edit`` sets fields and *locks* them, so later drafts
and imports keep them (the page's Incident ID, Start and End follow). ``remove`` deletes the local
records of one incident — never the wiki page, never a task. Nothing here prints or reads the clock.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from ..config import Settings
from ..errors import InputError
from ..model.actionable import Actionable
from ..model.curation import MomentChoice
from ..model.incident import IncidentRecord
from ..model.scorecard import FilledScorecard
from ..model.source import Query, SourceFailure, SourceSummary
from ..model.time import ensure_utc, format_utc, parse_utc
from ..model.window import parse_when
from ..store import Store
from .draft import redraft, source_summaries
from .scorecard import scorecard_for_incident

__all__ = [
    "EDITABLE",
    "IncidentSummary",
    "IncidentView",
    "list_incidents",
    "show_incident",
    "edit_incident",
    "remove_incident",
]

EDITABLE = ("title", "severity", "page", "start", "end")


@dataclass(frozen=True, slots=True, kw_only=True)
class IncidentSummary:
    """One line of ``incidents list``."""

    record: IncidentRecord
    date: date | None
    open: int = 0
    overdue: int = 0

    def to_record(self) -> dict[str, Any]:
        r = self.record
        return {
            "slug": r.slug,
            "title": r.title,
            "date": self.date.isoformat() if self.date else None,
            "status": r.status,
            "page": r.page,
            "open": self.open,
            "overdue": self.overdue,
            "origin": r.origin,
        }


def list_incidents(
    store: Store, *, now: datetime, since: date | None = None, statuses: Iterable[str] = ()
) -> list[IncidentSummary]:
    """Every incident (dated on or after *since*, with one of *statuses*), newest first."""
    wanted = {s.strip().lower() for s in statuses if s.strip()}
    counts = store.incident_actionable_counts(ensure_utc(now).date())
    found = []
    for record in store.list_incidents():
        day = record.day
        if since is not None and (day is None or day < since):
            continue
        if wanted and record.status.lower() not in wanted:
            continue
        open_, overdue = counts.get(record.slug, (0, 0))
        found.append(IncidentSummary(record=record, date=day, open=open_, overdue=overdue))
    return sorted(found, key=lambda s: (s.date or date.min, s.record.slug), reverse=True)


@dataclass(frozen=True, slots=True, kw_only=True)
class IncidentView:
    """Everything ``incidents show`` says about one incident."""

    record: IncidentRecord
    query: Query | None = None  # the window a draft pulled (None for an imported incident)
    pulled_at: datetime | None = None
    moments: tuple[MomentChoice, ...] = ()
    durations: Mapping[str, float | None] = field(default_factory=dict)
    sources: tuple[SourceSummary, ...] = ()
    failures: tuple[SourceFailure, ...] = ()
    actionables: tuple[Actionable, ...] = ()
    scorecard: FilledScorecard | None = None

    def to_record(self, today: date) -> dict[str, Any]:
        r = self.record
        return {
            "slug": r.slug,
            "title": r.title,
            "status": r.status,
            "severity": r.severity,
            "date": r.day.isoformat() if r.day else None,
            "start": r.start,
            "end": r.end,
            "task": r.task,
            "origin": r.origin,
            "locked": list(r.locked),
            "wiki": r.wiki,
            "page": r.page,
            "revision": r.revision,
            "window": self.query.window.to_dict() if self.query else None,
            "pulled_at": format_utc(self.pulled_at) if self.pulled_at else None,
            "key_moments": [
                {"moment": c.moment, "time": format_utc(c.time) if c.time else None, "origin": c.origin, "reason": c.reason}
                for c in self.moments
            ],
            "durations": dict(self.durations),
            "sources": [
                {"source": s.source, "events": s.events, "lines_read": s.lines_read, "skipped": s.skipped,
                 "skipped_where": list(s.skipped_where), "notes": list(s.notes)}
                for s in self.sources
            ],  # fmt: skip
            "failures": [{"source": f.source, "message": f.message} for f in self.failures],
            "actionables": [a.to_record(today) for a in self.actionables],
            "scorecard": self.scorecard.to_dict() if self.scorecard else None,
        }


def show_incident(store: Store, slug: str, settings: Settings) -> IncidentView:
    """What the store knows about incident *slug*; key moments as its latest draft chose them."""
    record = store.require_incident(slug)
    meta = record.metadata
    view = IncidentView(
        record=record,
        sources=source_summaries(meta),
        failures=tuple(SourceFailure(f["source"], f["message"]) for f in meta.get("failures", [])),
        actionables=tuple(store.incident_actionables(slug)),
        scorecard=scorecard_for_incident(store, slug, settings),
    )
    if "query" not in meta:
        return view
    draft = redraft(store, slug, settings)
    return IncidentView(
        **{name: getattr(view, name) for name in ("record", "sources", "failures", "actionables", "scorecard")},
        query=Query.from_dict(meta["query"]),
        pulled_at=parse_utc(meta["pulled_at"]),
        moments=draft.curation.choices,
        durations=draft.incident.key_moments.durations(),
    )


_PAGE_TITLE = re.compile(r"^[^\[\]{}|#<>\n\r]+$")


def edit_incident(
    store: Store,
    slug: str,
    *,
    values: Mapping[str, str],
    unlock: Iterable[str] = (),
    now: datetime,
) -> IncidentRecord:
    """Set fields of incident *slug* by hand and lock them (``start``/``end``: any time
    :func:`~incidentkit.model.window.parse_when` reads, naive = UTC); *unlock* lets drafts and
    imports set those fields again. Raises InputError for an unknown field or a bad value."""
    record = store.require_incident(slug)
    for name in (*values, *unlock):
        if name not in EDITABLE:
            raise InputError(f"{name!r} is not a field `incidents edit` sets", hint=f"fields: {', '.join(EDITABLE)}")
    update: dict[str, Any] = {}
    for name, value in values.items():
        text = value.strip()
        if not text:
            raise InputError(f"--{name} is empty", hint=f"to let drafts and imports set it again: --unlock {name}")
        if name in ("start", "end"):
            update[name] = format_utc(parse_when(text, now=now, option=f"--{name}"))
        elif name == "page" and not _PAGE_TITLE.match(text):
            raise InputError(f"--page {text!r} is not a page title", hint="a title cannot hold [ ] { } | # < >")
        else:
            update[name] = text
    start = update.get("start", record.start)
    end = update.get("end", record.end)
    if start and end and parse_utc(end) < parse_utc(start):
        raise InputError(f"the end ({end}) is before the start ({start})", hint="give --start and --end in order")
    if update:
        record = store.set_incident_fields(slug, lock=True, **update)
    if unlock:
        record = store.unlock_incident_fields(slug, unlock)
    return record


def remove_incident(store: Store, slug: str) -> dict[str, int]:
    """Delete incident *slug* from the store with all its records; rows removed per table."""
    return store.remove_incident(slug)
