"""Similar past incidents: each incident's features, the similar pairs, and the ranked list with the
still-open follow-ups of each match.

Features (:class:`~incidentkit.model.similar.Features`) are computed when an incident is indexed:
its signals, and its top :data:`TOP_TERMS` terms of title, summary and timeline weighted by tf-idf
(term frequency from the FTS5 tokenizer, document frequency from the index's own vocabulary).
Candidates are the incidents sharing at least one feature (one indexed lookup), scored by
:func:`~incidentkit.model.similar.score_shared`; the pairs above the minimum score are kept
(``search_links``) for the repeat counts of ``incidents stats``. Nothing here prints.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from ..model.actionable import ActionableQuery
from ..model.event import Event
from ..model.incident import Incident
from ..model.search import IncidentDocument
from ..model.signals import SIGNAL_KINDS
from ..model.similar import (
    CROSS,
    MAX_SIMILAR,
    MIN_SCORE,
    TERM,
    TITLE,
    Features,
    OpenActionable,
    Reason,
    SimilarIncident,
    score_shared,
    split_key,
    too_common,
)
from ..model.time import ensure_utc, format_utc
from ..store import Store
from ..store.search import IndexedIncident
from .documents import document_for_draft

__all__ = ["TOP_TERMS", "MAX_LINKS", "features_of", "stored_features", "save_features", "link", "rank", "similar_incidents", "with_similar"]

TOP_TERMS = 25
MAX_LINKS = 100
_WORD = re.compile(r"[^\W\d_]{2}", re.UNICODE)  # a term worth comparing has two letters in a row


def features_of(store: Store, document: IncidentDocument, *, indexed: bool = False) -> Features:
    """The features of *document*, its term weights judged against the index as it is now
    (*indexed*: the document is in the index already, so it counts in the document frequencies)."""
    text = document.similarity_text()
    counts = {term: n for term, n in store.term_counts(text).items() if _WORD.search(term)}
    total = store.document_count() + (0 if indexed else 1)
    documents = store.term_documents(list(counts))
    weights = {
        term: (1 + math.log(n)) * math.log((total + 1) / (documents.get(term, 0) + 1)) for term, n in counts.items()
    }
    top = sorted(weights.items(), key=lambda pair: (-pair[1], pair[0]))[:TOP_TERMS]
    norm = math.sqrt(sum(w * w for _, w in top)) or 1.0
    terms = {term: weight / norm for term, weight in top if weight > 0}
    title = frozenset(term for term in store.term_counts(document.title) if _WORD.search(term))
    return Features(
        terms=terms, title=title, signals={kind: frozenset(document.signals.get(kind, ())) for kind in SIGNAL_KINDS}
    )


def _worded(reasons: tuple[Reason, ...], text: str) -> tuple[Reason, ...]:
    """*reasons* with each stemmed term shown as a word of *text* it came from ("outages" for "outag")."""

    def word(term: str) -> str:
        match = re.search(rf"(?<!\w){re.escape(term)}\w*", text, re.IGNORECASE)
        return match.group(0).lower() if match else term

    return tuple(
        replace(reason, values=tuple(word(v) for v in reason.values)) if reason.kind in (TERM, TITLE, CROSS) else reason
        for reason in reasons
    )


def stored_features(store: Store, slug: str) -> Features:
    """The features indexed for *slug* (empty when it is not indexed)."""
    terms: dict[str, float] = {}
    title: set[str] = set()
    signals: dict[str, set[str]] = defaultdict(set)
    for key, weight in store.features_of(slug).items():
        kind, value = split_key(key)
        if kind == TERM:
            terms[value] = weight
        elif kind == TITLE:
            title.add(value)
        else:
            signals[kind].add(value)
    return Features(terms=terms, title=frozenset(title), signals={k: frozenset(v) for k, v in signals.items()})


def save_features(store: Store, doc_id: int, features: Features) -> None:
    store.save_features(doc_id, features.weights(stored=True))


def _scores(store: Store, features: Features, *, exclude: int | None) -> dict[int, tuple[float, tuple[Reason, ...]]]:
    """Every indexed incident sharing a feature with *features*: its score and reasons."""
    weights = features.weights()
    counts = store.feature_counts(list(weights))
    total = max(store.document_count(), 1)
    usable = [key for key in weights if not too_common(counts.get(key, 0), total)]
    shared: dict[int, dict[str, float]] = defaultdict(dict)
    for doc, feature, weight in store.postings(usable):
        if doc != exclude:
            shared[doc][feature] = weight
    return {doc: score_shared(features, keys, counts, total) for doc, keys in shared.items()}


def link(store: Store, doc_id: int, features: Features) -> None:
    """Record the (at most :data:`MAX_LINKS`) most similar incidents of incident *doc_id*, earlier or
    later, for the repeat counts."""
    scored = sorted(
        ((score, doc) for doc, (score, _) in _scores(store, features, exclude=doc_id).items() if score >= MIN_SCORE),
        reverse=True,
    )
    scores = {doc: score for score, doc in scored[:MAX_LINKS]}
    incidents = {i.id: i for i in store.indexed_incidents([*scores, doc_id])}
    me = incidents.get(doc_id)
    if me is None:
        return
    pairs = []
    for doc, score in scores.items():
        other = incidents.get(doc)
        if other is not None:
            earlier, later = (other, me) if other.order < me.order else (me, other)
            pairs.append((earlier.id, later.id, score))
    store.save_links(doc_id, pairs)


def rank(
    store: Store, features: Features, *, before: tuple[str, str] | None, exclude: str | None = None, limit: int = MAX_SIMILAR
) -> list[tuple[IndexedIncident, float, tuple[Reason, ...]]]:
    """The incidents most like *features*, best first, that come before *before* (an order key)."""
    me = store.indexed_incident(exclude) if exclude else None
    scores = _scores(store, features, exclude=me.id if me else None)
    good = {doc: value for doc, value in scores.items() if value[0] >= MIN_SCORE}
    found = []
    for incident in store.indexed_incidents(good):
        if incident.slug == exclude or (before is not None and incident.order >= before):
            continue
        score, reasons = good[incident.id]
        found.append((incident, score, reasons))
    found.sort(key=lambda item: (-item[1], item[0].order))
    return found[:limit]


def _open_actionables(store: Store, slugs: Sequence[str], now: datetime) -> dict[str, tuple[OpenActionable, ...]]:
    today = ensure_utc(now).date()
    found: dict[str, list[OpenActionable]] = defaultdict(list)
    for slug in slugs:
        for a in store.query_actionables(ActionableQuery(incident=slug, sort="due"), today=today):
            found[slug].append(
                OpenActionable(
                    task=a.task, title=a.title, owner=a.owner, status=str(a.status), due=a.due, overdue=a.is_overdue(today)
                )
            )
    return {slug: tuple(items) for slug, items in found.items()}


def _similar(
    store: Store, ranked: list[tuple[IndexedIncident, float, tuple[Reason, ...]]], now: datetime, text: str
) -> list[SimilarIncident]:
    actionables = _open_actionables(store, [incident.slug for incident, _, _ in ranked], now)
    return [
        SimilarIncident(
            slug=incident.slug,
            title=incident.title,
            day=incident.day,
            page=incident.page,
            score=score,
            reasons=_worded(reasons, text),
            open_actionables=actionables.get(incident.slug, ()),
        )
        for incident, score, reasons in ranked
    ]


def similar_incidents(store: Store, slug: str, *, now: datetime, limit: int = MAX_SIMILAR) -> list[SimilarIncident]:
    """Up to *limit* earlier incidents most like the indexed incident *slug*, with their open actionables."""
    me = store.indexed_incident(slug)
    if me is None:
        store.require_incident(slug)
        return []
    ranked = rank(store, stored_features(store, slug), before=me.order, exclude=slug, limit=limit)
    return _similar(store, ranked, now, store.similarity_text(slug))


def with_similar(store: Store, incident: Incident, events: Sequence[Event], *, now: datetime) -> Incident:
    """*incident* (a draft) with its list of similar earlier incidents filled in."""
    document, _ = document_for_draft(store, incident, events)
    features = features_of(store, document)
    start = format_utc(document.start or incident.window.start)
    ranked = rank(store, features, before=(start, incident.slug), exclude=incident.slug)
    return replace(incident, similar=tuple(_similar(store, ranked, now, document.similarity_text())))
