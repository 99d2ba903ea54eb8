"""The incident as a draft sees it: metadata, timeline rows, detection, actionables, failures.

Pure value types; :mod:`incidentkit.pipeline` builds them and :mod:`incidentkit.render` turns them
into wikitext through the templates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .timeline import Row
from .window import Window

__all__ = [
    "SourceReport",
    "SourceFailure",
    "Detection",
    "ProposedActionable",
    "KeyMoments",
    "Incident",
    "slugify",
]


def slugify(title: str, start: datetime) -> str:
    """``2016-09-15_wikidata-dispatch-lag``: the incident's id in the store and on the CLI."""
    words = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    return f"{start:%Y-%m-%d}_{words or 'incident'}"[:80]


@dataclass(frozen=True, slots=True)
class SourceReport:
    """What one source gave: counts for the per-source stderr line and the page's notes."""

    source: str
    events: int
    lines_read: int = 0
    skipped: int = 0
    skipped_where: tuple[str, ...] = ()  # e.g. "Server Admin Log:132 (no HH:MM time)"
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SourceFailure:
    """A source that could not be read; rendered as a visible note in the page."""

    source: str
    message: str


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
class ProposedActionable:
    """A follow-up the draft proposes under Actionables (from Phabricator follow-up tasks)."""

    title: str
    task: str | None = None
    status: str | None = None  # the instance's status name, e.g. "Open"
    owner: str | None = None
    url: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyMoments:
    """The incident's key moments; any may be unknown."""

    impact_start: datetime | None = None
    detected: datetime | None = None
    responded: datetime | None = None
    mitigated: datetime | None = None
    resolved: datetime | None = None

    def durations(self) -> dict[str, float | None]:
        """Minutes from impact start to detection, mitigation, resolution, and the impact length."""

        def minutes(a: datetime | None, b: datetime | None) -> float | None:
            return None if a is None or b is None else (b - a).total_seconds() / 60

        return {
            "time_to_detect": minutes(self.impact_start, self.detected),
            "time_to_mitigate": minutes(self.impact_start, self.mitigated),
            "time_to_resolve": minutes(self.impact_start, self.resolved),
            "impact_duration": minutes(self.impact_start, self.resolved or self.mitigated),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Incident:
    """Everything a draft renders."""

    slug: str
    title: str
    window: Window
    generated_at: datetime
    tasks: tuple[str, ...] = ()
    rows: tuple[Row, ...] = ()
    raw_rows: tuple[Row, ...] = ()  # every row, before curation (for --raw and `timeline show --all`)
    detection: Detection = field(default_factory=Detection)
    actionables: tuple[ProposedActionable, ...] = ()
    key_moments: KeyMoments = field(default_factory=KeyMoments)
    reports: tuple[SourceReport, ...] = ()
    failures: tuple[SourceFailure, ...] = ()
    scorecard: Any = None  # a scorecard.FilledScorecard when one exists for the incident
    lightweight: bool = False
    phabricator_url: str = "https://phabricator.wikimedia.org/"

    @property
    def visible_rows(self) -> tuple[Row, ...]:
        return tuple(r for r in self.rows if not r.hidden)
