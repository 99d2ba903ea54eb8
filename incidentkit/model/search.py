"""What the search index holds about an incident, and what a search returns.

An :class:`IncidentDocument` is the searchable, comparable and countable digest of one incident:
its text in fields (title, summary, timeline, conclusions, actionables, signals, the rest of its
page), its signals, its key moments and the pages its alerts sent. It is made from two parts that
arrive at different times: what the latest draft found (:class:`DraftFacts`, from the stored
events and curation) and what its page says (the text ``import`` read or ``publish`` wrote).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from .curation import MOMENTS, KeyMoments
from .signals import SIGNAL_KINDS, Signals, empty_signals
from .similar import Comparable, comparable_term
from .time import format_utc, parse_utc

__all__ = ["FIELDS", "COMPARED", "FIELD_WEIGHTS", "MARK_START", "MARK_END", "DraftFacts", "IncidentDocument", "SearchHit"]

# The searchable fields, in index order, and their BM25 weights (a title match outranks a timeline one).
FIELDS = ("title", "summary", "timeline", "conclusions", "actionables", "signals", "body")
COMPARED = ("title", "summary", "timeline", "body")  # the fields text similarity counts terms of
TITLE_TIMES = 3  # what a title's words count for in text similarity, against once for the other fields
FIELD_WEIGHTS = (10.0, 4.0, 1.0, 2.0, 2.0, 3.0, 1.0)
MARK_START, MARK_END = "\x02", "\x03"  # around a match in a snippet; the CLI turns them into styles


def _signals_to_json(signals: Mapping[str, set[str] | frozenset[str]]) -> dict[str, list[str]]:
    return {kind: sorted(values) for kind, values in signals.items() if values}


def _signals_from_json(data: Mapping[str, Any]) -> Signals:
    signals = empty_signals()
    for kind in SIGNAL_KINDS:
        signals[kind].update(data.get(kind, ()))
    return signals


@dataclass(frozen=True, slots=True, kw_only=True)
class DraftFacts:
    """What an incident's latest draft knows: its curated timeline as text, the signals of its
    events, its key moments and the times its alerts paged."""

    timeline: str = ""
    signals: Signals = field(default_factory=empty_signals)
    moments: KeyMoments = field(default_factory=KeyMoments)
    pages: tuple[datetime, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "timeline": self.timeline,
            "signals": _signals_to_json(self.signals),
            "moments": {
                name: format_utc(value) for name in MOMENTS if (value := getattr(self.moments, name)) is not None
            },
            "pages": [format_utc(page) for page in self.pages],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DraftFacts:
        moments = data.get("moments", {})
        return cls(
            timeline=data.get("timeline", ""),
            signals=_signals_from_json(data.get("signals", {})),
            moments=KeyMoments(**{name: parse_utc(moments[name]) for name in MOMENTS if moments.get(name)}),
            pages=tuple(parse_utc(page) for page in data.get("pages", ())),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class IncidentDocument:
    """One incident as the search index holds it."""

    slug: str
    title: str
    day: date | None
    start: datetime | None = None  # orders incidents of one day ("earlier")
    summary: str = ""
    timeline: str = ""
    conclusions: str = ""
    actionables: str = ""
    body: str = ""
    signals: Signals = field(default_factory=empty_signals)
    moments: KeyMoments = field(default_factory=KeyMoments)
    moments_from: str | None = None  # "draft" (key moments) or "page" (the page's Start / End)
    pages: tuple[datetime, ...] = ()
    pages_known: bool = False  # the draft had alert events to tell pages from

    @property
    def signals_text(self) -> str:
        return " ".join(value for kind in SIGNAL_KINDS for value in sorted(self.signals.get(kind, ())))

    def field_texts(self) -> tuple[str, ...]:
        """The text of each of :data:`FIELDS`, in order."""
        return (
            self.title, self.summary, self.timeline, self.conclusions, self.actionables, self.signals_text, self.body,
        )  # fmt: skip

    def similarity_text(self) -> str:
        """What text similarity compares: the title (counted three times), summary and timeline;
        the rest of the page when it has neither (rendered pages whose headings were lost)."""
        title, summary, timeline, body = self.compared_texts()
        return "\n".join(part for part in [*[title] * TITLE_TIMES, summary, timeline, body] if part)

    @property
    def compares_body(self) -> bool:
        return not (self.summary or self.timeline)

    def compared_texts(self) -> tuple[str, str, str, str]:
        """The texts of :data:`COMPARED`, in order, as similarity compares them: the body only
        when it stands in for a summary and timeline the page does not have."""
        return self.title, self.summary, self.timeline, self.body if self.compares_body else ""

    def comparable(self, counts: Sequence[Mapping[str, int]]) -> Comparable:
        """What it is compared by, from the term counts of each of :meth:`compared_texts` (in order).

        The counts of :meth:`similarity_text` are those of its parts added up: the tokenizer
        never joins two words across the line between them.
        """
        title, summary, timeline, body = counts
        total = dict(timeline)  # added up by hand: Counter.update is a loop in Python for all but the first
        for part in (summary, body):
            for term, n in part.items():
                total[term] = total.get(term, 0) + n
        for term, n in title.items():
            total[term] = total.get(term, 0) + TITLE_TIMES * n
        return Comparable(
            counts={term: n for term, n in total.items() if comparable_term(term)},
            title=frozenset(term for term in title if comparable_term(term)),
            signals={kind: frozenset(self.signals.get(kind, ())) for kind in SIGNAL_KINDS},
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class SearchHit:
    """One incident a search found; ``snippet`` marks matches with :data:`MARK_START`/:data:`MARK_END`."""

    slug: str
    title: str
    day: date | None
    status: str
    score: float  # higher is better (BM25, sign flipped)
    snippet: str
    page: str | None = None

    def to_dict(self, *, mark: tuple[str, str] = ("**", "**")) -> dict[str, Any]:
        return {
            "slug": self.slug,
            "title": self.title,
            "date": self.day.isoformat() if self.day else None,
            "status": self.status,
            "score": round(self.score, 3),
            "snippet": self.snippet.replace(MARK_START, mark[0]).replace(MARK_END, mark[1]),
            "page": self.page,
        }
