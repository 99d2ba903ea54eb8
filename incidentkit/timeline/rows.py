"""Events to timeline rows: one row per fact, alert events grouped into firing/resolved rows."""

from __future__ import annotations

from collections.abc import Iterable

from ..model.event import ALERT_KINDS, Event, EventKind
from ..model.row import Row, row_from_event
from .alerts import alert_rows
from .dedupe import merge_duplicates
from .people import link_pages

__all__ = ["build_rows"]


def build_rows(events: Iterable[Event]) -> list[Row]:
    """Turn merged events into timeline rows: alert fire/resolve events grouped into intervals,
    the same action reported by two sources merged into one row, each page tied to the alert
    that caused it."""
    events = list(events)
    rows = [row_from_event(e) for e in events if e.kind not in ALERT_KINDS and e.kind != EventKind.SILENCE]
    rows = merge_duplicates(rows)
    rows.extend(alert_rows([e for e in events if e.kind in ALERT_KINDS or e.kind == EventKind.SILENCE]))
    return link_pages(sorted(rows, key=lambda r: (r.time, r.source, r.key)))
