"""Similar incidents as values, and the one scoring rule that ranks them.

An incident is compared through its :class:`Features`: the signals it touched (alert names,
services, hosts, data centres, Phabricator projects and tasks; :mod:`incidentkit.model.signals`)
and the weighted terms of its title, summary and timeline. Two incidents score

* for every word their titles share, :data:`WEIGHTS` ``title`` times the word's rarity (titles
  name the service: "wdqs outage", "maps"), and ``cross`` for every word of one's title among
  the other's top terms ("Elasticsearch unavailable", and a report whose text is about
  Elasticsearch); plus
* the **text similarity** of their terms: the cosine of their tf-idf vectors over each incident's
  top terms (both vectors are L2-normalised when the incident is indexed), between 0 and 1; plus
* for every kind of signal they share, the kind's weight (:data:`WEIGHTS`) times the rarity of
  each shared value, for at most :data:`MAX_SHARED` values of a kind. A value every incident has
  (a big data centre) counts little: ``rarity = log(1 + N/df) / log(1 + N)``, where ``df`` of the
  ``N`` indexed incidents have it.

A feature that more than :data:`COMMON_SHARE` of the incidents have (and more than
:data:`COMMON_MIN` of them) tells nothing apart and is left out of every comparison: this keeps a
comparison to the incidents worth comparing, however large the store. The score is symmetric, so
the same pair scores the same from either side; incidents below :data:`MIN_SCORE` are not called
similar. Each :class:`Reason` says what matched.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from .signals import SIGNAL_KINDS, SIGNAL_LABELS

__all__ = [
    "TERM",
    "TITLE",
    "CROSS",
    "WEIGHTS",
    "MAX_SHARED",
    "MIN_SCORE",
    "MAX_SIMILAR",
    "COMMON_SHARE",
    "COMMON_MIN",
    "too_common",
    "Features",
    "Reason",
    "OpenActionable",
    "SimilarIncident",
    "feature_key",
    "split_key",
    "rarity",
    "score_shared",
]

TERM = "term"  # the feature kind of a text term
TITLE = "title"  # the feature kind of a word of the title
CROSS = "cross"  # not stored: a title word of one incident among the top terms of the other
WEIGHTS: Mapping[str, float] = {
    TERM: 2.0,
    TITLE: 0.45,
    CROSS: 0.15,
    "alert": 0.5,
    "task": 0.6,
    "project": 0.3,
    "service": 0.4,
    "host": 0.25,
    "site": 0.1,
}
MAX_SHARED = 3  # shared values of one kind that count (a long host list is one signal, not twenty)
MIN_SCORE = 0.3
MAX_SIMILAR = 5
COMMON_SHARE = 0.01
COMMON_MIN = 30


def feature_key(kind: str, value: str) -> str:
    """``alert:ATSBackendErrorsHigh``, ``term:wdq``: one feature as stored and compared."""
    return f"{kind}:{value}"


def split_key(key: str) -> tuple[str, str]:
    kind, _, value = key.partition(":")
    return kind, value


@dataclass(frozen=True, slots=True, kw_only=True)
class Features:
    """What an incident is compared by: weighted (stemmed) terms, title words and signals."""

    terms: Mapping[str, float] = field(default_factory=dict)
    title: frozenset[str] = frozenset()
    signals: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def weights(self, *, stored: bool = False) -> dict[str, float]:
        """Every feature key with this incident's weight (title words and signals weigh 1: their
        rarity is judged when compared). Unless *stored*, also the keys to look up to find a title
        word among the other incidents' terms and a term among their title words (weighing 0)."""
        found: dict[str, float] = {}
        if not stored:
            found.update((feature_key(TITLE, term), 0.0) for term in self.terms)
            found.update((feature_key(TERM, term), 0.0) for term in self.title)
        found.update((feature_key(TERM, term), weight) for term, weight in self.terms.items())
        found.update((feature_key(TITLE, term), 1.0) for term in self.title)
        for kind in SIGNAL_KINDS:
            for value in self.signals.get(kind, ()):
                found[feature_key(kind, value)] = 1.0
        return found


@dataclass(frozen=True, slots=True)
class Reason:
    """One thing two incidents share: the kind, the shared values (most telling first), the points."""

    kind: str
    values: tuple[str, ...]
    points: float

    def text(self) -> str:
        if self.kind == TERM:
            return "similar text: " + ", ".join(self.values)
        if self.kind == TITLE:
            return "similar title: " + ", ".join(self.values)
        if self.kind == CROSS:
            return "one's title in the other's text: " + ", ".join(self.values)
        label = SIGNAL_LABELS.get(self.kind, self.kind)
        return f"same {label}{'s' if len(self.values) > 1 else ''}: " + ", ".join(self.values)


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenActionable:
    """A follow-up of a similar incident that is still open."""

    task: str | None
    title: str
    owner: str | None
    status: str
    due: date | None
    overdue: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "title": self.title,
            "owner": self.owner,
            "status": self.status,
            "due": self.due.isoformat() if self.due else None,
            "overdue": self.overdue,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class SimilarIncident:
    """An earlier incident like this one: why it matched, and what of its follow-up is still open."""

    slug: str
    title: str
    day: date | None
    page: str | None
    score: float
    reasons: tuple[Reason, ...]
    open_actionables: tuple[OpenActionable, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "slug": self.slug,
            "title": self.title,
            "date": self.day.isoformat() if self.day else None,
            "page": self.page,
            "score": round(self.score, 3),
            "reasons": [reason.text() for reason in self.reasons],
            "open_actionables": [a.to_dict() for a in self.open_actionables],
        }


def too_common(documents: int, total: int) -> bool:
    """True when a feature *documents* of *total* incidents have is left out (see the module docstring)."""
    return documents > max(COMMON_MIN, COMMON_SHARE * total)


def rarity(documents: int, total: int) -> float:
    """How telling a signal is that *documents* of *total* incidents share: 1 when unique, less when common."""
    if total <= 1 or documents <= 0:
        return 1.0
    return math.log1p(total / documents) / math.log1p(total)


def score_shared(
    mine: Features, shared: Mapping[str, float], counts: Mapping[str, int], total: int
) -> tuple[float, tuple[Reason, ...]]:
    """The score of *mine* against another incident and why, from the features they share.

    *shared* maps each shared feature key to the other incident's weight for it; *counts* maps
    signal keys to how many indexed incidents have them; *total* is the number indexed.
    """
    terms: list[tuple[float, str]] = []
    by_kind: dict[str, list[tuple[float, str]]] = {}
    for key, other in shared.items():
        kind, value = split_key(key)
        if kind == TERM and value in mine.terms:
            terms.append((mine.terms[value] * other, value))
        elif kind == TITLE and value not in mine.title or kind == TERM:
            by_kind.setdefault(CROSS, []).append((1.0, value))  # a title word of one in the other's text
        elif kind in WEIGHTS:
            by_kind.setdefault(kind, []).append((rarity(counts.get(key, 1), total), value))
    reasons: list[Reason] = []
    score = 0.0
    if terms:
        terms.sort(key=lambda pair: (-pair[0], pair[1]))
        points = WEIGHTS[TERM] * sum(weight for weight, _ in terms)
        score += points
        reasons.append(Reason(TERM, tuple(term for _, term in terms[:5]), points))
    for kind in (TITLE, CROSS, *SIGNAL_KINDS):
        values = sorted(by_kind.get(kind, ()), key=lambda pair: (-pair[0], pair[1]))[:MAX_SHARED]
        if values:
            points = WEIGHTS[kind] * sum(weight for weight, _ in values)
            score += points
            reasons.append(Reason(kind, tuple(value for _, value in values), points))
    reasons.sort(key=lambda reason: -reason.points)
    return score, tuple(reasons)
