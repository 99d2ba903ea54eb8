"""Similar past incidents: each incident's features, the similar pairs, and the ranked list with the
still-open follow-ups of each match.

Features (:class:`~incidentkit.model.similar.Features`) are computed when incidents are compared
(:func:`compare`): their signals, and their top terms of title, summary and timeline weighted by
tf-idf (term frequency from the FTS5 tokenizer, stored with the document; document frequency from
the index's own vocabulary). Candidates are the incidents sharing at least one feature (looked up
in the index, never every incident), scored by :class:`~incidentkit.model.similar.Scorer`;
the pairs above the minimum score are kept (``search_links``) for the repeat counts of
``incidents stats``. Nothing here prints.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from ..errors import MAX_LIMIT, require_between
from ..model.actionable import ActionableQuery
from ..model.event import Event
from ..model.incident import Incident
from ..model.search import IncidentDocument
from ..model.similar import (
    CROSS,
    MAX_SIMILAR,
    MIN_SCORE,
    TERM,
    TITLE,
    Comparable,
    Features,
    OpenActionable,
    Reason,
    Scorer,
    SimilarIncident,
    split_key,
    too_common,
)
from ..model.time import ensure_utc, format_utc
from ..store import Store
from ..store.search import IndexedIncident
from ..util import chunks
from .documents import document_for_draft

__all__ = ["MAX_LINKS", "features_of", "stored_features", "compare", "rank", "similar_incidents", "with_similar"]

MAX_LINKS = 100
_CHUNK = 250  # incidents compared per look-up of their candidates (bounds the memory of a large batch)
Progress = Callable[[int, int], None]
Scores = dict[int, tuple[float, tuple[Reason, ...]]]


def features_of(store: Store, document: IncidentDocument) -> Features:
    """The features of *document*, not indexed (a draft's), its term weights judged against the
    index as it is now with the document counted in."""
    comparable = document.comparable(store.field_term_counts(document.compared_texts()))
    return comparable.features(store.term_documents(sorted(comparable.counts)), store.document_count() + 1)


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


def _common(counts: Mapping[str, int], total: int) -> set[str]:
    """The feature keys of *counts* (key -> how many of the *total* incidents have it) too common to compare by."""
    return {key for key, n in counts.items() if too_common(n, total)}


def _shared(
    features: Features, postings: Mapping[str, Sequence[tuple[int, float]]], common: Collection[str],
    *, exclude: int | None,
) -> dict[int, dict[str, float]]:
    """Every incident of *postings* (feature key -> (document, its weight)) sharing a feature with
    *features* (the *common* ones left out): the features shared, with its weight for each."""
    shared: dict[int, dict[str, float]] = defaultdict(dict)
    for key in features.weights():
        if key in common:
            continue
        for doc, weight in postings.get(key, ()):
            if doc != exclude:
                shared[doc][key] = weight
    return shared


def _postings(store: Store, keys: Sequence[str]) -> dict[str, list[tuple[int, float]]]:
    found: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for doc, key, weight in store.postings(keys):
        found[key].append((doc, weight))
    return found


def _scores(store: Store, features: Features, *, exclude: int | None) -> Scores:
    """Every indexed incident sharing a feature with *features*: its score and reasons."""
    weights = features.weights()
    counts = store.feature_counts(list(weights))
    total = max(store.document_count(), 1)
    common = _common(counts, total)
    usable = [key for key in weights if key not in common]
    scorer = Scorer(features, counts, total)
    return {
        doc: scorer.explain(keys) for doc, keys in _shared(features, _postings(store, usable), common, exclude=exclude).items()
    }


def compare(store: Store, comparables: Mapping[int, Comparable], *, progress: Progress | None = None) -> None:
    """Compare the indexed incidents *comparables* (document id -> what it is compared by) with every
    indexed incident, and record the (at most :data:`MAX_LINKS`) most similar of each, earlier or
    later, for the repeat counts.

    All their features are weighed and saved first, so every comparison sees the same index
    whatever the order; a pair found from both sides keeps the higher score. The candidates of
    each incident come from the index (the incidents sharing a feature with it).
    """
    if not comparables:
        return
    total = max(store.document_count(), 1)
    documents = store.term_documents(sorted({term for c in comparables.values() for term in c.counts}))
    features = {doc: c.features(documents, total) for doc, c in comparables.items()}
    stored = {doc: f.weights(stored=True) for doc, f in features.items()}
    with store.transaction(unit=True):  # one write: an interrupted comparison is done again next time
        store.clear_comparison(list(features))
        # how many incidents have each key: the others, counted in the index; these, here (counting
        # them in the index too would read back every feature just written)
        counts = Counter(store.feature_counts(sorted({key for f in features.values() for key in f.weights()})))
        counts.update(key for weights in stored.values() for key in weights)
        store.save_features(stored)
        common = _common(counts, total)
        done = 0
        for chunk in chunks(list(features.items()), _CHUNK):
            store.add_links(_links(store, chunk, counts, common, total), [doc for doc, _ in chunk])
            done += len(chunk)
            if progress:
                progress(done, len(features))


def _links(
    store: Store, chunk: Sequence[tuple[int, Features]], counts: Mapping[str, int], common: Collection[str], total: int
) -> dict[tuple[int, int], float]:
    """The similar pairs (earlier, later) -> score of the incidents of *chunk* (id, features)."""
    usable = {key for _, f in chunk for key in f.weights() if key not in common}
    postings = _postings(store, sorted(usable))
    best: dict[int, dict[int, float]] = {}
    for doc, mine in chunk:
        shared = _shared(mine, postings, common, exclude=doc)
        if shared:  # a scorer is worked out only for an incident with candidates
            scorer = Scorer(mine, counts, total)
            best[doc] = _best({other: scorer.score(keys) for other, keys in shared.items()})
    orders = store.document_orders({one for doc, found in best.items() for one in (doc, *found)})
    links: dict[tuple[int, int], float] = {}
    for doc, found in best.items():
        for other, score in found.items():
            pair = (doc, other) if orders[doc] < orders[other] else (other, doc)
            links[pair] = max(score, links.get(pair, score))
    return links


def _best(scores: Mapping[int, float]) -> dict[int, float]:
    """The (at most :data:`MAX_LINKS`) best of *scores* at or above the minimum score."""
    scored = sorted(((score, doc) for doc, score in scores.items() if score >= MIN_SCORE), reverse=True)
    return {doc: score for score, doc in scored[:MAX_LINKS]}


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
    require_between("--limit", limit, 1, MAX_LIMIT)
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
