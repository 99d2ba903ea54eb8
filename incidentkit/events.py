"""The one event model shared by every source, and the merge of events from several sources.

An :class:`Event` is one fact with a UTC time: a SAL line, a deploy, a Phabricator status change,
an alert firing or resolving. Sources produce events; nothing downstream knows which API they came
from except through ``source``. ``key`` is stable across re-pulls and is what dedup and the
timeline overrides are keyed on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from .window import Window, ensure_utc, format_utc

__all__ = ["EventKind", "Event", "merge_events", "find_tasks", "DEPLOY_KINDS", "ALERT_KINDS"]

TASK_RE = re.compile(r"(?<![\w/#-])T([1-9]\d{0,7})\b")


def find_tasks(text: str) -> tuple[str, ...]:
    """Task ids (``T123``) mentioned in *text*, in order of first mention, without duplicates."""
    seen: dict[str, None] = {}
    for match in TASK_RE.finditer(text):
        seen.setdefault(f"T{match.group(1)}", None)
    return tuple(seen)


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
    MANUAL = "manual"  # a row the incident owner added by hand


DEPLOY_KINDS = frozenset(
    {EventKind.SYNC, EventKind.DEPLOY, EventKind.TRAIN, EventKind.BACKPORT, EventKind.ABORT}
)
ALERT_KINDS = frozenset({EventKind.ALERT_FIRING, EventKind.ALERT_RESOLVED, EventKind.ALERT_NOTE})


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

    @property
    def is_deploy(self) -> bool:
        return self.kind in DEPLOY_KINDS

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
        def when(value: str | None) -> datetime | None:
            return ensure_utc(datetime.fromisoformat(value.replace("Z", "+00:00"))) if value else None

        time = when(data["time"])
        assert time is not None
        return cls(
            time=time,
            source=data["source"],
            kind=EventKind(data["kind"]),
            key=data["key"],
            text=data["text"],
            actor=data.get("actor"),
            url=data.get("url"),
            tasks=tuple(data.get("tasks", ())),
            started=when(data.get("started")),
            raw=data.get("raw", ""),
            data=dict(data.get("data", {})),
        )


def merge_events(groups: Iterable[Iterable[Event]], window: Window | None = None) -> list[Event]:
    """Merge events from several sources: drop duplicates by key, keep the window, sort stably.

    The first event seen for a key wins. Order is ``(time, source, key)``, so the same input
    always gives the same output whatever order the sources answered in.
    """
    by_key: dict[str, Event] = {}
    for group in groups:
        for event in group:
            if window is not None and not _overlaps(event, window):
                continue
            by_key.setdefault(event.key, event)
    return sorted(by_key.values(), key=lambda e: (e.time, e.source, e.key))


def _overlaps(event: Event, window: Window) -> bool:
    if window.contains(event.time):
        return True
    # a long deploy that finished after the window but started inside it still belongs
    return event.started is not None and event.started < window.end and event.time >= window.start
