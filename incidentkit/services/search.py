"""Searching incidents, and keeping the search index current.

``draft`` (:func:`index_draft`) and ``publish`` (:func:`index_page`) index the incident they touch
and compare it with the others at once. ``import`` indexes each page as it stores it
(:func:`stage_page`), writes the text of a batch of pages at once, and compares all of them at
its end (:func:`refresh_similarity`), once every page is in the vocabulary: so the order of the
pages does not change the weights, and nothing is computed twice. :func:`reindex` rebuilds the
whole index the same way from the store (the stored events and curation of drafted incidents,
the page text last imported or published). :func:`search` turns what a user types into an FTS5
query: words (stemmed: "restarts" finds "restarting"), ``"quoted phrases"``, ``prefix*``, ``AND``
/ ``OR`` / ``NOT`` and ``field:word`` for one field. Nothing here prints.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from ..config import Settings
from ..errors import MAX_LIMIT, InputError, require_between
from ..model.event import Event
from ..model.incident import Incident, IncidentRecord
from ..model.search import FIELDS, DraftFacts, SearchHit
from ..model.similar import Comparable
from ..store import Store
from .documents import PageFacts, build_document, draft_facts, facts_of_draft
from .similar import compare

__all__ = [
    "StagedPage", "index_incident", "index_draft", "index_page", "stage_page", "save_staged",
    "refresh_similarity", "reindex",
    "fts_query", "search",
]  # fmt: skip

Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class StagedPage:
    """A document just saved: its id, what it is compared by and (staged) its text to write."""

    document: int
    comparable: Comparable
    texts: tuple[str, ...] | None = None


_TOKEN = re.compile(r'"[^"]*"?|\S+')
_OPERATORS = ("AND", "OR", "NOT")


def _save(
    store: Store,
    record: IncidentRecord,
    draft: DraftFacts | None,
    page_text: str | None,
    revision: int | None,
    *,
    outline: Sequence[tuple[int, int, str]] | None = None,
    facts: PageFacts | None = None,
    staged: bool = False,
) -> StagedPage:
    """Save the document of *record* as not compared yet; returns it (and, if *staged*, the text it
    is searched by: not written yet, see :func:`save_staged`)."""
    document = build_document(
        record, store.incident_actionables(record.slug), draft=draft, page_text=page_text, outline=outline, facts=facts
    )
    comparable = document.comparable(store.field_term_counts(document.compared_texts()))
    doc_id = store.save_document(
        document, draft=draft, page_text=page_text, page_revision=revision, comparable=comparable, text=not staged
    )
    return StagedPage(doc_id, comparable, document.field_texts() if staged else None)


def _index(store: Store, slug: str, draft: DraftFacts | None, page_text: str | None, revision: int | None) -> None:
    record = store.require_incident(slug)
    with store.transaction():
        saved = _save(store, record, draft, page_text, revision)
        refresh_similarity(store, {saved.document: saved.comparable})


def index_incident(
    store: Store,
    slug: str,
    *,
    settings: Settings | None = None,
    page_text: str | None = None,
    page_revision: int | None = None,
) -> bool:
    """(Re)index incident *slug* and compare it; False when nothing changed (the same page text
    again, no *settings*).

    With *settings*, its draft facts are rebuilt from the stored events and curation; else the ones
    indexed last are kept. *page_text* replaces the page text.
    """
    parts = store.stored_parts(slug)
    if settings is None and parts is not None and page_text is not None and page_text == parts.page_text:
        return False
    draft = draft_facts(store, slug, settings) if settings is not None else (parts.draft if parts else None)
    if page_text is None and parts is not None:
        page_text, page_revision = parts.page_text, parts.page_revision
    _index(store, slug, draft, page_text, page_revision)
    return True


def index_draft(store: Store, incident: Incident, events: Sequence[Event]) -> None:
    """Index a draft just recorded, from its own rows and key moments (its page text is kept)."""
    parts = store.stored_parts(incident.slug)
    facts = facts_of_draft(incident.rows, incident.raw_rows, incident.key_moments, events)
    _index(store, incident.slug, facts, parts.page_text if parts else None, parts.page_revision if parts else None)


def index_page(store: Store, slug: str, text: str, revision: int | None = None) -> bool:
    """Index the page of incident *slug* as just published (its draft facts are kept) and compare
    it; False when the index already has this text."""
    return index_incident(store, slug, page_text=text, page_revision=revision)


def stage_page(
    store: Store,
    record: IncidentRecord,
    text: str,
    revision: int | None = None,
    *,
    outline: Sequence[tuple[int, int, str]] | None = None,
    facts: PageFacts | None = None,
) -> StagedPage | None:
    """Index the page of incident *record* as just imported (its draft facts are kept; *outline*:
    its headings as the import parsed them; *facts*: what the import read from its text already),
    leaving the text searched to the caller (:func:`save_staged` of a batch of pages) and the comparison to :func:`refresh_similarity`. None when the index already has this text."""
    parts = store.stored_parts(record.slug)
    if parts is not None and text == parts.page_text:
        return None
    draft = parts.draft if parts else None
    return _save(store, record, draft, text, revision, outline=outline, facts=facts, staged=True)


def save_staged(store: Store, staged: Iterable[StagedPage]) -> None:
    """Write the text of pages staged (:func:`stage_page`), at once."""
    texts: dict[int, tuple[str, ...]] = {}
    for page in staged:
        if page.texts is not None:
            texts[page.document] = page.texts  # the same incident twice: its last text
    store.save_texts(texts)


def refresh_similarity(
    store: Store, known: Mapping[int, Comparable] | None = None, *, progress: Progress | None = None
) -> int:
    """Compare every incident indexed since it was last compared (an import's pages, all at once;
    those an interrupted run left); returns how many. *known*: what some of them are compared by,
    as they were just saved (the rest is read back from the store)."""
    pending = store.uncompared(known or {})
    compare(store, pending, progress=progress)
    return len(pending)


def reindex(store: Store, settings: Settings, *, progress: Progress | None = None) -> int:
    """Rebuild the index of every incident; returns how many were indexed."""
    records = store.list_incidents()
    total = len(records) * 2
    comparables: dict[int, Comparable] = {}
    with store.transaction():
        for done, record in enumerate(records, start=1):
            parts = store.stored_parts(record.slug)
            draft = draft_facts(store, record.slug, settings) or (parts.draft if parts else None)
            saved = _save(store, record, draft, parts.page_text if parts else None, parts.page_revision if parts else None)
            comparables[saved.document] = saved.comparable
            if progress:
                progress(done, total)
        refresh_similarity(store, comparables, progress=(lambda done, _: progress(len(records) + done, total)) if progress else None)
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
    require_between("--limit", limit, 1, MAX_LIMIT)
    return store.search_text(fts_query(text), since=since, status=status, limit=limit)
