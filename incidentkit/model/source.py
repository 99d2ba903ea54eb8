"""What sources are asked and what they answer: the values that cross the source boundary.

A source is split in two so that every draft can be replayed offline: ``pull(query) -> Export``
does the I/O and returns what the live system answered as named text files; ``parse(export,
query) -> SourceResult`` is pure. :class:`SourceSummary` and :class:`SourceFailure` are what a draft
says about each source afterwards (counts, skipped lines, notes, or why it was unavailable).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .actionable import FollowUp
from .event import Event
from .window import Window

__all__ = ["Query", "Export", "Problem", "SourceResult", "SourceSummary", "SourceFailure"]


@dataclass(frozen=True, slots=True)
class Query:
    """What a draft asks every source for: a window, and the incident's own task ids."""

    window: Window
    tasks: tuple[str, ...] = ()  # "T123" monograms given with --task

    def to_dict(self) -> dict[str, Any]:
        return {"window": self.window.to_dict(), "tasks": list(self.tasks)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Query:
        return cls(Window.from_dict(data["window"]), tuple(data.get("tasks", ())))


# Export meta key: how many lone surrogates (invalid Unicode) a client replaced in the answers
REPLACED_CHARACTERS = "replaced_characters"


@dataclass(frozen=True, slots=True)
class Export:
    """What one source returned, as named text files; the unit of ``pull --save`` and ``--input``."""

    source: str
    files: tuple[tuple[str, str], ...]  # (file name, text), in a stable order
    meta: dict[str, Any] = field(default_factory=dict)  # e.g. which page/archive each file is

    def text(self, name: str) -> str | None:
        return next((body for file, body in self.files if file == name), None)


@dataclass(frozen=True, slots=True)
class Problem:
    """A line or record a source could not use, with where it was and why."""

    where: str  # "Server Admin Log:132" or "page 3 of maniphest.search"
    reason: str
    text: str = ""


@dataclass(frozen=True, slots=True)
class SourceResult:
    """The parsed result of one source: its events, the follow-ups it proposes, what it skipped."""

    source: str
    events: tuple[Event, ...]
    problems: tuple[Problem, ...] = ()
    lines_read: int = 0
    notes: tuple[str, ...] = ()  # things the page should say (e.g. "Alertmanager keeps no history")
    followups: tuple[FollowUp, ...] = ()  # follow-up work the source found (Phabricator tasks)

    def summary(self) -> SourceSummary:
        # every line or record that could not be used was read first: never "2 of 0 lines"
        return SourceSummary(
            source=self.source,
            events=len(self.events),
            lines_read=max(self.lines_read, len(self.problems)),
            skipped=len(self.problems),
            skipped_where=tuple(f"{p.where} ({p.reason})" if p.reason else p.where for p in self.problems),
            notes=self.notes,
        )


@dataclass(frozen=True, slots=True)
class SourceSummary:
    """What one source gave a draft: counts for the per-source stderr line and the page's notes."""

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
