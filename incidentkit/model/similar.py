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

Term weights: ``(1 + log tf) * log((N + 1) / (df + 1))`` for each term with two letters in a row
(:func:`comparable_term`), ``df`` of the ``N`` indexed incidents having it; the top
:data:`TOP_TERMS` are kept, L2-normalised. What the weights start from, an incident's
:class:`Comparable` (its term counts, title words and signals), depends on that incident alone;
the weights on the whole index, so they are computed (:meth:`Comparable.features`) when the
incidents are compared.

A feature that more than :data:`COMMON_SHARE` of the incidents have (and more than
:data:`COMMON_MIN` of them) tells nothing apart and is left out of every comparison: this keeps a
comparison to the incidents worth comparing, however large the store. The score is symmetric, so
the same pair scores the same from either side; incidents below :data:`MIN_SCORE` are not called
similar. Each :class:`Reason` says what matched.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
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
    "TOP_TERMS",
    "too_common",
    "comparable_term",
    "Comparable",
    "Features",
    "Reason",
    "OpenActionable",
    "SimilarIncident",
    "feature_key",
    "split_key",
    "rarity",
    "Scorer",
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
TOP_TERMS = 25
_WORD = re.compile(r"[^\W\d_]{2}", re.UNICODE)  # a term worth comparing has two letters in a row


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
    # weights() by *stored*: a comparison asks for them several times per incident
    _weights: dict[bool, dict[str, float]] = field(default_factory=dict, init=False, repr=False, compare=False)

    def weights(self, *, stored: bool = False) -> Mapping[str, float]:
        """Every feature key with this incident's weight (title words and signals weigh 1: their
        rarity is judged when compared). Unless *stored*, also the keys to look up to find a title
        word among the other incidents' terms and a term among their title words (weighing 0)."""
        known = self._weights.get(stored)
        if known is None:
            known = self._weights[stored] = self._weigh(stored)
        return known

    def _weigh(self, stored: bool) -> dict[str, float]:
        # keys are built from each kind's prefix: an import weighs hundreds of thousands of them
        term, title = feature_key(TERM, ""), feature_key(TITLE, "")
        if not stored:
            cross = dict.fromkeys([title + word for word in self.terms], 0.0)
            cross.update(dict.fromkeys([term + word for word in self.title], 0.0))
            return {**cross, **self.weights(stored=True)}
        found = {term + word: weight for word, weight in self.terms.items()}
        found.update(dict.fromkeys([title + word for word in self.title], 1.0))
        for kind in SIGNAL_KINDS:
            prefix = feature_key(kind, "")
            found.update(dict.fromkeys([prefix + value for value in self.signals.get(kind, ())], 1.0))
        return found


@lru_cache(maxsize=1 << 16)  # asked for every term of every document; a vocabulary repeats its terms
def comparable_term(term: str) -> bool:
    """True for a term worth comparing (two letters in a row: not ``2023``, ``t1``)."""
    return _WORD.search(term) is not None


@dataclass(frozen=True, slots=True, kw_only=True)
class Comparable:
    """An incident before its terms are weighed against the others: how often each comparable
    term occurs in its title, summary and timeline (``IncidentDocument.similarity_text``), the
    comparable terms of its title, and its signals."""

    counts: Mapping[str, int] = field(default_factory=dict)
    title: frozenset[str] = frozenset()
    signals: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def features(self, documents: Mapping[str, int], total: int) -> Features:
        """Its features, with *documents* (term -> in how many of the *total* incidents it is)."""
        log, scale = math.log, total + 1
        # (-weight, term) pairs: the heaviest first, ties by term, without a sort key to call
        weighed = [(-(1 + log(n)) * log(scale / (documents.get(term, 0) + 1)), term) for term, n in self.counts.items()]
        ranked = sorted(weighed)[:TOP_TERMS]
        norm = math.sqrt(sum(weight * weight for weight, _ in ranked)) or 1.0
        terms = {term: -weight / norm for weight, term in ranked if weight < 0}
        return Features(terms=terms, title=self.title, signals={kind: self.signals.get(kind, frozenset()) for kind in SIGNAL_KINDS})

    def to_dict(self) -> dict[str, Any]:
        return {
            "counts": dict(sorted(self.counts.items())),
            "title": sorted(self.title),
            "signals": {kind: sorted(values) for kind, values in self.signals.items() if values},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Comparable:
        return cls(
            counts={term: int(n) for term, n in data.get("counts", {}).items()},
            title=frozenset(data.get("title", ())),
            signals={kind: frozenset(values) for kind, values in data.get("signals", {}).items()},
        )


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


_KINDS = (TERM, TITLE, CROSS, *SIGNAL_KINDS)  # the order a score adds up its kinds in


def too_common(documents: int, total: int) -> bool:
    """True when a feature *documents* of *total* incidents have is left out (see the module docstring)."""
    return documents > max(COMMON_MIN, COMMON_SHARE * total)


@lru_cache(maxsize=4096)
def rarity(documents: int, total: int) -> float:
    """How telling a signal is that *documents* of *total* incidents share: 1 when unique, less when common."""
    if total <= 1 or documents <= 0:
        return 1.0
    return math.log1p(total / documents) / math.log1p(total)


class Scorer:
    """Scores incidents against one incident's features (*mine*): what each shared feature is
    worth depends on *mine* and the index alone (*counts*: how many of the *total* indexed
    incidents have each signal key), so it is worked out once, then each other incident costs a
    look-up per shared feature."""

    def __init__(self, mine: Features, counts: Mapping[str, int], total: int) -> None:
        self._worth: dict[str, tuple[str, float, str]] = {}
        for key in mine.weights():
            kind, value = split_key(key)
            if kind == TERM and value in mine.terms:
                self._worth[key] = (TERM, mine.terms[value], value)  # times the other's weight
            elif kind == TITLE and value not in mine.title or kind == TERM:
                self._worth[key] = (CROSS, 1.0, value)  # a title word of one in the other's text
            else:  # a title word or a signal: every kind weights() gives has a weight
                self._worth[key] = (kind, rarity(counts.get(key, 1), total), value)

    def _shared(self, shared: Mapping[str, float]) -> list[tuple[str, list[tuple[float, str]], float]]:
        """(kind, its values that count, best first, and their points) of each kind shared."""
        by_kind: dict[str, list[tuple[float, str]]] = {}
        for key, other in shared.items():
            worth = self._worth.get(key)
            if worth is not None:
                kind, weight, value = worth
                by_kind.setdefault(kind, []).append((weight * other if kind == TERM else weight, value))
        found = []
        for kind in _KINDS:
            values = sorted(by_kind.get(kind, ()), key=lambda pair: (-pair[0], pair[1]))
            if kind != TERM:  # every shared term counts; of the others, the most telling few
                values = values[:MAX_SHARED]
            if values:
                found.append((kind, values, WEIGHTS[kind] * sum(weight for weight, _ in values)))
        return found

    def score(self, shared: Mapping[str, float]) -> float:
        """The score against an incident with these features in common (key -> its weight for it):
        :meth:`explain`'s, added up in the same order, without the values that tell why (an import
        scores every pair it finds, and explains none)."""
        by_kind: dict[str, list[float]] = {}
        for key, other in shared.items():
            worth = self._worth.get(key)
            if worth is not None:
                kind, weight, _ = worth
                by_kind.setdefault(kind, []).append(weight * other if kind == TERM else weight)
        score = 0.0
        for kind in _KINDS:
            weights = by_kind.get(kind)
            if weights:
                weights.sort(reverse=True)  # equal weights tie: the same floats as sorted with their values
                score += WEIGHTS[kind] * sum(weights if kind == TERM else weights[:MAX_SHARED])
        return score

    def explain(self, shared: Mapping[str, float]) -> tuple[float, tuple[Reason, ...]]:
        """The score, and why: a reason per kind shared, the one worth most first."""
        score = 0.0
        reasons: list[Reason] = []
        for kind, values, points in self._shared(shared):
            score += points
            shown = values[:5]  # the most telling terms (other kinds keep MAX_SHARED values already)
            reasons.append(Reason(kind, tuple(value for _, value in shown), points))
        reasons.sort(key=lambda reason: -reason.points)
        return score, tuple(reasons)
