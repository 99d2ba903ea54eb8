"""Searching incidents, and keeping the search index current.

``draft`` (:func:`index_draft`), ``import`` and ``publish`` (:func:`index_page`) index the incident
they touch; :func:`reindex` rebuilds the whole index from the store (the stored events and
curation of drafted incidents, the page text last imported or published) in three passes, so that
every incident's term weights see the same vocabulary. :func:`search` turns what a user types into
an FTS5 query: words (stemmed: "restarts" finds "restarting"), ``"quoted phrases"``, ``prefix*``,
``AND`` / ``OR`` / ``NOT`` and ``field:word`` for one field. Nothing here prints.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import date

from ..config import Settings
from ..errors import InputError
from ..model.event import Event
from ..model.incident import Incident, IncidentRecord
from ..model.search import FIELDS, DraftFacts, IncidentDocument, SearchHit
from ..store import Store
from .documents import build_document, draft_facts, facts_of_draft
from .similar import features_of, link, save_features

__all__ = ["index_incident", "index_draft", "index_page", "refresh_similarity", "reindex", "fts_query", "search"]

Progress = Callable[[int, int], None]
_TOKEN = re.compile(r'"[^"]*"?|\S+')
_OPERATORS = ("AND", "OR", "NOT")


def _save(
    store: Store, record: IncidentRecord, draft: DraftFacts | None, page_text: str | None, revision: int | None
) -> tuple[int, IncidentDocument]:
    document = build_document(record, store.incident_actionables(record.slug), draft=draft, page_text=page_text)
    doc_id = store.save_document(document, draft=draft, page_text=page_text, page_revision=revision)
    store.save_terms(doc_id, sorted(store.term_counts("\n".join(document.field_texts()))))
    return doc_id, document


def _stored_document(store: Store, slug: str) -> IncidentDocument:
    parts = store.stored_parts(slug)
    return build_document(
        store.require_incident(slug), store.incident_actionables(slug),
        draft=parts.draft if parts else None, page_text=parts.page_text if parts else None,
    )  # fmt: skip


def _compare(store: Store, doc_id: int, document: IncidentDocument) -> None:
    features = features_of(store, document, indexed=True)
    save_features(store, doc_id, features)
    link(store, doc_id, features)


def _index(
    store: Store, slug: str, draft: DraftFacts | None, page_text: str | None, revision: int | None, *, compare: bool = True
) -> None:
    record = store.require_incident(slug)
    with store.transaction():
        doc_id, document = _save(store, record, draft, page_text, revision)
        if compare:
            _compare(store, doc_id, document)


def index_incident(
    store: Store,
    slug: str,
    *,
    settings: Settings | None = None,
    page_text: str | None = None,
    page_revision: int | None = None,
    compare: bool = True,
) -> bool:
    """(Re)index incident *slug*; False when nothing changed (the same page text again, no *settings*).

    With *settings*, its draft facts are rebuilt from the stored events and curation; else the ones
    indexed last are kept. *page_text* replaces the page text. Without *compare*, its similarity is
    left for :func:`refresh_similarity` (a batch does it once, at its end).
    """
    parts = store.stored_parts(slug)
    if settings is None and parts is not None and page_text is not None and page_text == parts.page_text:
        return False
    draft = draft_facts(store, slug, settings) if settings is not None else (parts.draft if parts else None)
    if page_text is None and parts is not None:
        page_text, page_revision = parts.page_text, parts.page_revision
    _index(store, slug, draft, page_text, page_revision, compare=compare)
    return True


def index_draft(store: Store, incident: Incident, events: Sequence[Event]) -> None:
    """Index a draft just recorded, from its own rows and key moments (its page text is kept)."""
    parts = store.stored_parts(incident.slug)
    facts = facts_of_draft(incident.rows, incident.raw_rows, incident.key_moments, events)
    _index(store, incident.slug, facts, parts.page_text if parts else None, parts.page_revision if parts else None)


def index_page(store: Store, slug: str, text: str, revision: int | None = None, *, compare: bool = True) -> bool:
    """Index the page of incident *slug* as just imported or published (its draft facts are kept);
    False when the index already has this text."""
    return index_incident(store, slug, page_text=text, page_revision=revision, compare=compare)


def refresh_similarity(store: Store, slugs: Sequence[str]) -> None:
    """Compare the incidents of a batch (an import, indexed with ``compare=False``), once all of them
    are in the vocabulary: so the order of the batch does not change the weights."""
    with store.transaction():
        for slug in slugs:
            incident = store.indexed_incident(slug)
            if incident is not None:
                _compare(store, incident.id, _stored_document(store, slug))


def reindex(store: Store, settings: Settings, *, progress: Progress | None = None) -> int:
    """Rebuild the index of every incident; returns how many were indexed."""
    records = store.list_incidents()
    total = len(records) * 2
    ids: dict[str, int] = {}
    with store.transaction():
        for done, record in enumerate(records, start=1):
            parts = store.stored_parts(record.slug)
            draft = draft_facts(store, record.slug, settings) or (parts.draft if parts else None)
            ids[record.slug], _ = _save(
                store, record, draft, parts.page_text if parts else None, parts.page_revision if parts else None
            )
            if progress:
                progress(done, total)
        for done, record in enumerate(records, start=len(records) + 1):
            _compare(store, ids[record.slug], _stored_document(store, record.slug))
            if progress:
                progress(done, total)
    return len(records)


def fts_query(text: str) -> str:
    """The FTS5 query for what a user typed (see the module docstring). InputError when empty."""
    parts: list[str] = []
    for token in _TOKEN.findall(text):
        if token in _OPERATORS:
            if parts and parts[-1] not in _OPERATORS:
                parts.append(token)
            elif parts:
                parts[-1] = token
            continue
        if token.startswith('"'):
            phrase = token.strip('"').replace('"', "")
            if phrase.strip():
                parts.append(f'"{phrase}"')
            continue
        column, _, rest = token.partition(":")
        field = column.lower() if rest and column.lower() in FIELDS else None
        word = (rest if field else token).replace('"', "")
        prefix = word.endswith("*")
        word = word.rstrip("*")
        if not word:
            continue
        term = f'"{word}"' + ("*" if prefix else "")
        parts.append(f"{field} : {term}" if field else term)
    while parts and parts[-1] in _OPERATORS:
        parts.pop()
    if not parts:
        raise InputError(f"nothing to search for in {text!r}", hint='give words, "a phrase" or prefix*')
    return " ".join(parts)


def search(
    store: Store, text: str, *, since: date | None = None, status: str | None = None, limit: int = 20
) -> list[SearchHit]:
    """The incidents whose text matches *text*, best first."""
    if limit < 1:
        raise InputError("--limit must be at least 1")
    return store.search_text(fts_query(text), since=since, status=status, limit=limit)
