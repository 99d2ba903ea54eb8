"""Timeline rows: what the incident page's Timeline section shows.

Most events become one row each (:func:`row_from_event`); alert events are grouped into
"X firing" / "X resolved after N min" rows by :mod:`incidentkit.timeline.alerts`, and the same
action seen by two sources becomes one row (:mod:`incidentkit.timeline.dedupe`). Rows carry a
stable ``key`` so that the owner's curation (hide, pin, edit...) can be stored and re-applied
after every re-pull.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from .event import DEPLOY_KINDS, Event, EventKind
from .time import format_utc

__all__ = ["Row", "row_from_event"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Row:
    """One line of the Timeline section. ``text`` is plain text; escaping happens in templates."""

    key: str
    time: datetime
    text: str
    source: str  # the source whose wording the row keeps
    kind: EventKind
    actor: str | None = None
    sources: tuple[str, ...] = ()  # every source that saw the fact, when more than ``source``
    url: str | None = None
    tasks: tuple[str, ...] = ()
    end: datetime | None = None  # for rows that stand for an interval (an alert, a long deploy)
    events: tuple[str, ...] = ()  # keys of the events behind this row
    marker: str | None = None  # "OUTAGE BEGINS", "OUTAGE ENDS", or another key-moment label
    pinned: bool = False
    hidden: bool = False
    edited: bool = False
    new: bool = False
    note: str | None = None
    page_text: str | None = None  # the row as the page words it (None: "actor: text")
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def deploy(self) -> bool:
        return self.kind in DEPLOY_KINDS

    @property
    def provenance(self) -> tuple[str, ...]:
        """Every source that reported this row's fact, the one whose wording it keeps first."""
        return self.sources or (self.source,)

    def with_changes(self, **changes: Any) -> Row:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "time": format_utc(self.time),
            "end": format_utc(self.end) if self.end else None,
            "source": self.source,
            "sources": list(self.provenance),
            "kind": str(self.kind),
            "actor": self.actor,
            "text": self.text,
            "tasks": list(self.tasks),
            "url": self.url,
            "marker": self.marker,
            "pinned": self.pinned,
            "hidden": self.hidden,
            "edited": self.edited,
            "new": self.new,
            "note": self.note,
        }


def row_from_event(event: Event) -> Row:
    """The row for a single non-alert event."""
    return Row(
        key=event.key,
        time=event.time,
        text=event.text,
        source=event.source,
        kind=event.kind,
        actor=event.actor,
        url=event.url,
        tasks=event.tasks,
        events=(event.key,),
        data=dict(event.data),
    )

