"""The incident: as a draft renders it (:class:`Incident`) and as the store records it
(:class:`IncidentRecord`), and its slug, the id it goes by on the command line and in the store.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from .actionable import FollowUp
from .curation import KeyMoments
from .people import PeopleFacts
from .row import Row
from .scorecard import FilledScorecard
from .similar import SimilarIncident
from .source import SourceFailure, SourceSummary
from .window import Window

__all__ = ["slugify", "Detection", "Incident", "IncidentRecord"]


def slugify(title: str, day: date | str) -> str:
    """``2016-09-15_wikidata-dispatch-lag``: the incident's id in the store and on the CLI.

    *day* is the incident's date (a datetime is fine), or a label such as ``undated``.
    """
    prefix = day if isinstance(day, str) else f"{day:%Y-%m-%d}"
    words = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    return f"{prefix}_{words or 'incident'}"[:80]


@dataclass(frozen=True, slots=True, kw_only=True)
class Detection:
    """What the alerts say about detection: first alert, whether it paged, alert volume."""

    first_alert: str | None = None
    first_alert_time: datetime | None = None
    first_alert_source: str | None = None
    first_alert_paged: bool | None = None
    first_page_time: datetime | None = None
    distinct_alerts: int = 0
    notifications: int = 0
    alert_names: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Incident:
    """Everything a draft renders.

    ``start`` and ``end`` are the metadata Start and End: the impact start and resolution among
    the key moments (or what the owner set with ``incidents edit``), None when unknown. The
    window is only what the sources were asked for.
    """

    slug: str
    title: str
    window: Window
    generated_at: datetime
    start: datetime | None = None
    end: datetime | None = None
    tasks: tuple[str, ...] = ()
    rows: tuple[Row, ...] = ()
    raw_rows: tuple[Row, ...] = ()  # every row, before curation (for --raw and `timeline show --all`)
    detection: Detection = field(default_factory=Detection)
    actionables: tuple[FollowUp, ...] = ()
    key_moments: KeyMoments = field(default_factory=KeyMoments)
    sources: tuple[SourceSummary, ...] = ()
    failures: tuple[SourceFailure, ...] = ()
    scorecard: FilledScorecard | None = None
    people: PeopleFacts | None = None  # who was paged, who responded (None: not computed)
    lightweight: bool = False
    phabricator_url: str = "https://phabricator.wikimedia.org/"
    similar: tuple[SimilarIncident, ...] | None = None  # earlier incidents like it (None: not looked up)

    @property
    def visible_rows(self) -> tuple[Row, ...]:
        return tuple(r for r in self.rows if not r.hidden)

    @property
    def mentioned_tasks(self) -> tuple[str, ...]:
        """Tasks the visible timeline mentions besides the incident's own, in order of first mention."""
        own = set(self.tasks)
        return tuple(dict.fromkeys(t for row in self.rows if not row.hidden for t in row.tasks if t not in own))

    @property
    def day(self) -> date:
        """The incident's date: its start, else the window's (times on other days show their date)."""
        return (self.start or self.window.start).date()


@dataclass(frozen=True, slots=True, kw_only=True)
class IncidentRecord:
    """An incident as the store knows it."""

    slug: str
    title: str
    start: str | None = None
    end: str | None = None
    severity: str | None = None
    task: str | None = None
    status: str = "draft"
    wiki: str | None = None
    page: str | None = None
    revision: int | None = None
    page_timestamp: str | None = None
    origin: str = "draft"
    metadata: dict[str, Any] = field(default_factory=dict)
    locked: tuple[str, ...] = ()
    created_at: str | None = None
    updated_at: str | None = None

    @property
    def day(self) -> date | None:
        """The incident's date: its start's, else the date its slug begins with (None if neither)."""
        for text in (self.start or "", self.slug):
            match = re.match(r"(\d{4})-(\d{2})-(\d{2})", text)
            if match:
                try:
                    return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
                except ValueError:
                    continue
        return None
