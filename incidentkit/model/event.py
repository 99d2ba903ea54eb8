"""The one event model shared by every source.

An :class:`Event` is one fact with a UTC time: a SAL line, a deploy, a Phabricator status change,
an alert firing or resolving, a page and who acknowledged it, a person's words in a channel. Sources produce events; nothing downstream knows which API they came
from except through ``source``. ``key`` is stable across re-pulls and is what dedup and the
timeline overrides are keyed on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from .time import format_utc, parse_utc
from .window import Window

__all__ = ["EventKind", "Event", "DEPLOY_KINDS", "ALERT_KINDS", "PAGE_KINDS"]


class EventKind(StrEnum):
    """What an event is; the closed list every source maps onto."""

    LOG = "log"  # a free-text !log line
    SYNC = "sync"  # scap sync-file / sync-world / full scap
    DEPLOY = "deploy"  # scap3 service deploy / restart
    TRAIN = "train"  # wikiversions promotion (the train)
    BACKPORT = "backport"  # scap backport
    COOKBOOK = "cookbook"  # spicerack START / END / DONE
    DBCTL = "dbctl"  # dbctl commit
    CONFTOOL = "conftool"  # confctl action
    ABORT = "abort"  # scap aborted / failed
    TASK_CREATED = "task-created"
    TASK_STATUS = "task-status"
    TASK_PRIORITY = "task-priority"
    TASK_OWNER = "task-owner"
    TASK_COMMENT = "task-comment"
    ALERT_FIRING = "alert-firing"
    ALERT_RESOLVED = "alert-resolved"
    ALERT_NOTE = "alert-note"  # acknowledgement, flapping, downtime...
    SILENCE = "silence"
    PAGE = "page"  # an on-call page went out (Splunk On-Call incident triggered, or a manual page)
    PAGE_ACK = "page-ack"  # someone acknowledged a page
    PAGE_RESOLVED = "page-resolved"  # a page was resolved, by someone or by the alert recovering
    PAGE_NOTE = "page-note"  # any other page transition (rerouted, escalated...)
    CHAT = "chat"  # a person's words in a channel (IRC), kept in the raw log
    MANUAL = "manual"  # a row the incident owner added by hand


DEPLOY_KINDS = frozenset(
    {EventKind.SYNC, EventKind.DEPLOY, EventKind.TRAIN, EventKind.BACKPORT, EventKind.ABORT}
)
ALERT_KINDS = frozenset({EventKind.ALERT_FIRING, EventKind.ALERT_RESOLVED, EventKind.ALERT_NOTE})
PAGE_KINDS = frozenset({EventKind.PAGE, EventKind.PAGE_ACK, EventKind.PAGE_RESOLVED, EventKind.PAGE_NOTE})


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """One fact from one source, at one UTC instant.

    ``started`` is set when the line reports the end of something that took a while (a scap
    "Finished ... (duration: 08m 47s)" line): it is the derived start time. ``data`` holds typed
    extras (duration, repo, alert labels...); ``raw`` is the source's own text for the fact.
    """

    time: datetime
    source: str
    kind: EventKind
    key: str
    text: str
    actor: str | None = None
    url: str | None = None
    tasks: tuple[str, ...] = ()
    started: datetime | None = None
    raw: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.time.tzinfo is None or self.time.utcoffset() != timedelta(0):
            raise ValueError(f"Event.time must be aware UTC, got {self.time!r}")
        if self.started is not None and self.started.tzinfo is None:
            raise ValueError("Event.started must be aware UTC")

    def within(self, window: Window) -> bool:
        """True when the event belongs to *window* (see :meth:`Window.touches`)."""
        return window.touches(self.time, self.started)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form used by ``incidentkit events --format json`` and saved pulls."""
        return {
            "time": format_utc(self.time),
            "source": self.source,
            "kind": str(self.kind),
            "key": self.key,
            "actor": self.actor,
            "text": self.text,
            "tasks": list(self.tasks),
            "url": self.url,
            "started": format_utc(self.started) if self.started else None,
            "data": dict(self.data),
            "raw": self.raw,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Event:
        started = data.get("started")
        return cls(
            time=parse_utc(data["time"]),
            source=data["source"],
            kind=EventKind(data["kind"]),
            key=data["key"],
            text=data["text"],
            actor=data.get("actor"),
            url=data.get("url"),
            tasks=tuple(data.get("tasks", ())),
            started=parse_utc(started) if started else None,
            raw=data.get("raw", ""),
            data=dict(data.get("data", {})),
        )

