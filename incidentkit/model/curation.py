"""The owner's curation of a timeline as values: key moments, overrides, manual rows, the result.

Curation never changes events. What the owner decides is stored per incident and read back as a
:class:`CurationState`: overrides keyed by row key (hide / unhide, pin / unpin, edited text or
time, a note), rows added by hand, and explicit key moments. :mod:`incidentkit.timeline.curate`
applies it to freshly built rows and returns a :class:`CurationResult`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime

from ..errors import InputError
from .event import EventKind
from .row import Row

__all__ = [
    "KeyMoments",
    "MOMENTS",
    "MARKERS",
    "MANUAL_SOURCE",
    "MARKER_KEY_PREFIX",
    "OWNER",
    "moment_name",
    "Override",
    "ManualRow",
    "MomentSetting",
    "CurationState",
    "Orphan",
    "MomentChoice",
    "RowCuration",
    "CurationResult",
]


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


MOMENTS: tuple[str, ...] = tuple(f.name for f in fields(KeyMoments))  # impact_start ... resolved


MARKERS: Mapping[str, str] = {"impact_start": "OUTAGE BEGINS", "resolved": "OUTAGE ENDS"}


MANUAL_SOURCE = "manual"  # Row.source of rows the owner added


MARKER_KEY_PREFIX = "moment:"  # key of a marker-only row (a key moment that sits on no visible row)


OWNER = "owner"


_MOMENT_ALIASES = {
    **{name: name for name in MOMENTS},
    "impact-start": "impact_start",
    "start": "impact_start",
    "impact": "impact_start",
    "begins": "impact_start",
    "detection": "detected",
    "detect": "detected",
    "response": "responded",
    "first-response": "responded",
    "first_response": "responded",
    "respond": "responded",
    "mitigation": "mitigated",
    "mitigate": "mitigated",
    "resolution": "resolved",
    "resolve": "resolved",
    "end": "resolved",
    "ends": "resolved",
}


def moment_name(text: str) -> str:
    """The KeyMoments field for *text* (``detected``, ``mitigation``, ``impact-start``...).

    Raises InputError for an unknown name.
    """
    name = _MOMENT_ALIASES.get(text.strip().lower().replace(" ", "-"))
    if name is None:
        raise InputError(f"unknown key moment {text!r}", hint=f"use one of: {', '.join(MOMENTS)}")
    return name


@dataclass(frozen=True, slots=True, kw_only=True)
class Override:
    """What the owner set on one row. ``None`` means "not set": the source and the rules decide."""

    key: str
    hidden: bool | None = None  # True = hide, False = show even if a rule hides it
    pinned: bool | None = None  # True = pin, False = unpinned even if a rule pins it
    text: str | None = None
    time: datetime | None = None
    note: str | None = None

    def describe(self) -> str:
        """What this override does, e.g. ``"hidden, text edited"``."""
        parts = []
        if self.hidden is not None:
            parts.append("hidden" if self.hidden else "unhidden")
        if self.pinned is not None:
            parts.append("pinned" if self.pinned else "unpinned")
        if self.text is not None:
            parts.append("text edited")
        if self.time is not None:
            parts.append("time edited")
        if self.note is not None:
            parts.append("note")
        return ", ".join(parts)


@dataclass(frozen=True, slots=True, kw_only=True)
class ManualRow:
    """A row the owner added by hand (``timeline add``)."""

    key: str
    time: datetime
    text: str

    def to_row(self) -> Row:
        return Row(
            key=self.key,
            time=self.time,
            text=self.text,
            source=MANUAL_SOURCE,
            kind=EventKind.MANUAL,
            events=(),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class MomentSetting:
    """A key moment the owner set: on a row (*key*, its *time* when marked) or at a bare time."""

    moment: str
    time: datetime
    key: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CurationState:
    """Everything the owner decided for one incident, plus which row keys earlier drafts showed.

    ``drafted`` is False for an incident never drafted before: then no row counts as new.
    """

    overrides: Mapping[str, Override] = field(default_factory=dict)
    manual: tuple[ManualRow, ...] = ()
    moments: Mapping[str, MomentSetting] = field(default_factory=dict)
    seen: frozenset[str] = frozenset()
    drafted: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Orphan:
    """An override or key moment whose row the sources no longer return."""

    row_key: str
    action: str  # "hidden, text edited" or "key moment detected"


@dataclass(frozen=True, slots=True, kw_only=True)
class MomentChoice:
    """One key moment as chosen: when, on which row, and why."""

    moment: str
    time: datetime | None
    key: str | None
    origin: str  # "owner", "suggested" or "none"
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RowCuration:
    """Why a row has its flags: who pinned or hid it, and what the source said before an edit."""

    pinned_by: str | None = None  # "owner" or "rule: ..."; None when nothing set it
    hidden_by: str | None = None
    original_text: str | None = None
    original_time: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CurationResult:
    """The curated timeline.

    ``rows`` holds every row, hidden ones included (flags set, manual and marker rows merged in,
    sorted by time); ``new_keys`` the rows no earlier draft showed; ``moments`` the key moments
    (the owner's where set, else suggested), with ``choices`` saying where each came from.
    """

    rows: tuple[Row, ...]
    orphans: tuple[Orphan, ...] = ()
    new_keys: tuple[str, ...] = ()
    moments: KeyMoments = field(default_factory=KeyMoments)
    choices: tuple[MomentChoice, ...] = ()
    curation: Mapping[str, RowCuration] = field(default_factory=dict)

    @property
    def visible(self) -> tuple[Row, ...]:
        return tuple(r for r in self.rows if not r.hidden)
