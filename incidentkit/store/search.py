"""The search index: incident documents, their full text (SQLite FTS5, Porter-stemmed), their
similarity features and the similar pairs found when each was indexed.

Tables (docs/schema.md): ``search_documents`` (one row per indexed incident: date, key moments,
pages, the parts it was built from, what it is compared by and whether it has been), ``search_fts``
(the text, one column per field, its rowid the document id), ``search_fts_terms`` (FTS5's own
vocabulary: in how many documents each stemmed term occurs), ``search_features`` (weighted terms
and signals) and ``search_links`` (similar pairs, earlier -> later). Deleting an incident deletes
all of it (foreign keys cascade; a trigger clears the text). Terms are the FTS5 tokenizer's own: a
scratch FTS5 table in the connection's temp schema, with the compared fields as columns and no
content, tokenizes a document's compared texts the same way the index does, field by field.
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from ..errors import InputError
from ..model.curation import MOMENTS
from ..model.search import (
    COMPARED,
    FIELD_WEIGHTS,
    FIELDS,
    MARK_END,
    MARK_START,
    DraftFacts,
    IncidentDocument,
    SearchHit,
)
from ..model.similar import Comparable
from ..model.time import format_utc
from ..util import chunks
from .incidents import IncidentsMixin

__all__ = ["SearchMixin", "IndexedIncident", "StoredParts"]

SNIPPET_TOKENS = 14
_BATCH = 500  # parameters per statement, well under SQLite's limit


@dataclass(frozen=True, slots=True, kw_only=True)
class IndexedIncident:
    """What the similar list reads about one indexed incident."""

    id: int
    slug: str
    title: str
    day: date | None
    start: str | None
    status: str
    page: str | None

    @property
    def order(self) -> tuple[str, str]:
        """Sorts incidents in time: start, else date; then slug."""
        return (self.start or (self.day.isoformat() if self.day else ""), self.slug)


@dataclass(frozen=True, slots=True)
class StoredParts:
    """What an incident's document was last built from."""

    draft: DraftFacts | None
    page_text: str | None
    page_revision: int | None


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


class SearchMixin(IncidentsMixin):
    """Index, search and read back incident documents."""

    _DOC_COLUMNS = "d.id, d.slug, i.title, d.day, d.start, i.status, i.page"

    def _scratch(self) -> None:
        """The temp FTS5 table that tokenizes a document's compared texts as the index does (no
        content, no column sizes: emptied at once, with ``delete-all``), and its per-column vocabulary."""
        self.conn.execute(
            f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.search_scratch USING fts5({', '.join(COMPARED)}, "
            "content = '', columnsize = 0, tokenize = 'porter unicode61')"
        )
        self.conn.execute(
            "CREATE VIRTUAL TABLE IF NOT EXISTS temp.search_scratch_terms USING fts5vocab(temp, search_scratch, 'col')"
        )

    # --- writing -------------------------------------------------------------------------------

    def save_document(
        self,
        document: IncidentDocument,
        *,
        draft: DraftFacts | None,
        page_text: str | None,
        page_revision: int | None,
        comparable: Comparable,
        text: bool = True,
    ) -> int:
        """Insert or replace the document of an incident (and its text), with what it is
        *comparable* by, as not compared yet; returns its id.

        Without *text* the old text is removed and the new one is the caller's to write
        (:meth:`save_texts`: a batch at once).
        """
        conn = self.conn
        moments = [getattr(document.moments, name) for name in MOMENTS]
        values = (
            document.day.isoformat() if document.day else None,
            format_utc(document.start) if document.start else None,
            *(format_utc(m) if m else None for m in moments),
            document.moments_from,
            json.dumps([format_utc(p) for p in document.pages]),
            int(document.pages_known),
            json.dumps(draft.to_dict(), ensure_ascii=False) if draft is not None else None,
            page_text,
            page_revision,
            json.dumps(comparable.to_dict(), ensure_ascii=False),
            0,
            self.now_text(),
        )
        columns = (
            "day, start, impact_start, detected, responded, mitigated, resolved, moments_from, pages, pages_known, "
            "draft, page_text, page_revision, comparable, compared, indexed_at"
        )
        with self.transaction():
            row = conn.execute("SELECT id FROM search_documents WHERE slug = ?", [document.slug]).fetchone()
            if row is None:
                cursor = conn.execute(
                    f"INSERT INTO search_documents (slug, {columns}) VALUES (?{', ?' * len(values)})",
                    [document.slug, *values],
                )
                doc_id = int(cursor.lastrowid or 0)
            else:
                doc_id = int(row[0])
                assignments = ", ".join(f"{name.strip()} = ?" for name in columns.split(","))
                conn.execute(f"UPDATE search_documents SET {assignments} WHERE id = ?", [*values, doc_id])
                conn.execute("DELETE FROM search_fts WHERE rowid = ?", [doc_id])
            if text:
                self._insert_texts({doc_id: document.field_texts()})
        return doc_id

    def save_texts(self, texts: Mapping[int, Sequence[str]]) -> None:
        """Write the text of documents saved without it: document id -> the text of each of
        :data:`~incidentkit.model.search.FIELDS`. Many at once make one FTS5 segment instead of one
        each (FTS5 writes what it holds at every savepoint)."""
        with self.transaction():
            self._insert_texts(texts)

    def _insert_texts(self, texts: Mapping[int, Sequence[str]]) -> None:
        self.conn.executemany(
            f"INSERT INTO search_fts (rowid, {', '.join(FIELDS)}) VALUES (?{', ?' * len(FIELDS)})",
            [(doc_id, *fields) for doc_id, fields in texts.items()],
        )

    def clear_comparison(self, docs: Sequence[int]) -> None:
        """Forget the similarity features of these documents (a trigger deletes those their lists
        name) and the similar pairs they are part of: they are about to be compared again."""
        with self.transaction():
            self._write_in_batches("DELETE FROM search_compared WHERE doc IN ({marks})", docs)
            self._write_in_batches("DELETE FROM search_links WHERE earlier IN ({marks})", docs)
            self._write_in_batches("DELETE FROM search_links WHERE later IN ({marks})", docs)

    def save_features(self, features: Mapping[int, Mapping[str, float]]) -> None:
        """Record the similarity features of documents that have none (:meth:`clear_comparison`):
        document id -> feature key -> weight."""
        by_key: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for doc, weights in features.items():
            for key, weight in weights.items():
                by_key[key].append((doc, weight))
        with self.transaction():
            self.conn.executemany(
                "INSERT INTO search_compared (doc, features) VALUES (?, ?)",
                [(doc, json.dumps(list(weights), ensure_ascii=False)) for doc, weights in features.items()],
            )
            # in the table's order: each row goes after the one before it, not somewhere in the tree
            self.conn.executemany(
                "INSERT INTO search_features (feature, doc, weight) VALUES (?, ?, ?)",
                [(key, doc, weight) for key in sorted(by_key) for doc, weight in sorted(by_key[key])],
            )

    def add_links(self, links: Mapping[tuple[int, int], float], compared: Sequence[int]) -> None:
        """Record similar pairs ((earlier id, later id) -> score; a pair already there keeps the
        higher score) and mark the documents *compared*."""
        with self.transaction():
            self.conn.executemany(
                "INSERT INTO search_links (earlier, later, score) VALUES (?, ?, ?) "
                "ON CONFLICT (earlier, later) DO UPDATE SET score = max(score, excluded.score)",
                [(earlier, later, score) for (earlier, later), score in links.items()],
            )
            self._write_in_batches("UPDATE search_documents SET compared = 1 WHERE id IN ({marks})", compared)

    def _write_in_batches(self, sql: str, keys: Sequence[Any]) -> None:
        """Run the writing *sql* (whose ``{marks}`` is a list of parameters) for all *keys*, 500 at a time."""
        for batch in chunks(keys, _BATCH):
            self.conn.execute(sql.format(marks=", ".join("?" for _ in batch)), list(batch))

    # --- terms ---------------------------------------------------------------------------------

    def field_term_counts(self, texts: Sequence[str]) -> list[dict[str, int]]:
        """How often each term (as the index stems it) occurs in each of the texts of a document's
        :data:`~incidentkit.model.search.COMPARED` fields (one tokenizer pass for all of them)."""
        conn = self.conn
        columns = ", ".join(COMPARED)
        insert = f"INSERT INTO temp.search_scratch (rowid, {columns}) VALUES (1{', ?' * len(COMPARED)})"
        try:
            conn.execute(insert, list(texts))
        except sqlite3.OperationalError:  # the first use on this connection (or undone with its transaction)
            self._scratch()
            conn.execute(insert, list(texts))
        counts: dict[str, dict[str, int]] = {name: {} for name in COMPARED}
        try:  # one JSON object per column: a row per term was most of the cost
            for column, found in conn.execute(
                "SELECT col, json_group_object(term, cnt) FROM temp.search_scratch_terms GROUP BY col"
            ):
                counts[column] = json.loads(found)
        finally:
            conn.execute("INSERT INTO temp.search_scratch (search_scratch) VALUES ('delete-all')")
        return [counts[name] for name in COMPARED]

    def _in_batches(self, sql: str, keys: Sequence[Any]) -> Iterator[tuple[Any, ...]]:
        """The rows of *sql* (whose ``{marks}`` is a list of parameters) for all *keys*, 500 at a time."""
        for batch in chunks(keys, _BATCH):
            yield from self.conn.execute(sql.format(marks=", ".join("?" for _ in batch)), list(batch))

    def term_documents(self, terms: Sequence[str]) -> dict[str, int]:
        """In how many indexed documents each of *terms* occurs (any field; from FTS5's vocabulary,
        which finds each term's postings by the term)."""
        sql = "SELECT term, doc FROM search_fts_terms WHERE term IN ({marks})"
        return {term: int(docs) for term, docs in self._in_batches(sql, terms)}

    def document_count(self) -> int:
        return int(self.conn.execute("SELECT count(*) FROM search_documents").fetchone()[0])

    # --- reading -------------------------------------------------------------------------------

    def stored_parts(self, slug: str) -> StoredParts | None:
        """What the document of *slug* was last built from, or None when it is not indexed."""
        row = self.conn.execute(
            "SELECT draft, page_text, page_revision FROM search_documents WHERE slug = ?", [slug]
        ).fetchone()
        if row is None:
            return None
        draft = DraftFacts.from_dict(json.loads(row[0])) if row[0] else None
        return StoredParts(draft, row[1], row[2])

    def uncompared(self, known: Mapping[int, Comparable]) -> dict[int, Comparable]:
        """The documents indexed since they were last compared: id -> what they are compared by
        (*known*'s when it has the id: an import keeps what it just saved, cheaper than reading it back)."""
        found: dict[int, Comparable] = {}
        for (doc,) in self.conn.execute("SELECT id FROM search_documents WHERE compared = 0 ORDER BY id"):
            found[int(doc)] = known.get(doc) or self._comparable(int(doc))
        return found

    def _comparable(self, doc: int) -> Comparable:
        (data,) = self.conn.execute("SELECT comparable FROM search_documents WHERE id = ?", [doc]).fetchone()
        return Comparable.from_dict(json.loads(data))

    def document_orders(self, docs: Collection[int]) -> dict[int, tuple[str, str]]:
        """The order key (see :attr:`IndexedIncident.order`) of each of these documents."""
        sql = "SELECT id, coalesce(start, day, ''), slug FROM search_documents WHERE id IN ({marks})"
        return {int(doc): (start, slug) for doc, start, slug in self._in_batches(sql, sorted(docs))}

    def features_of(self, slug: str) -> dict[str, float]:
        """The stored features of *slug* (feature key -> weight); empty when not indexed."""
        rows = self.conn.execute(
            "SELECT f.feature, f.weight FROM search_documents d JOIN search_compared c ON c.doc = d.id, json_each(c.features) j "
            "JOIN search_features f ON f.feature = j.value AND f.doc = c.doc WHERE d.slug = ? ORDER BY f.feature",
            [slug],
        )
        return {feature: float(weight) for feature, weight in rows}

    def similarity_text(self, slug: str) -> str:
        """The similarity text of the indexed incident *slug* (see ``IncidentDocument.similarity_text``)."""
        row = self.conn.execute(
            "SELECT f.title, f.summary, f.timeline, f.body FROM search_fts f JOIN search_documents d ON d.id = f.rowid "
            "WHERE d.slug = ?",
            [slug],
        ).fetchone()
        if row is None:
            return ""
        return IncidentDocument(slug=slug, title=row[0], day=None, summary=row[1], timeline=row[2], body=row[3]).similarity_text()

    def feature_counts(self, keys: Sequence[str]) -> dict[str, int]:
        """How many indexed documents have each of the feature *keys*."""
        sql = "SELECT feature, count(*) FROM search_features WHERE feature IN ({marks}) GROUP BY feature"
        return {feature: int(n) for feature, n in self._in_batches(sql, keys)}

    def repeat_links(self, within_days: int, *, since: date | None = None) -> list[tuple[str, str, float, float]]:
        """(later slug, earlier slug, score, days between their starts) of the similar pairs at most
        *within_days* apart (the later one on or after *since*)."""
        sql = (
            "SELECT b.slug, a.slug, l.score, julianday(coalesce(b.start, b.day)) - julianday(coalesce(a.start, a.day)) AS gap "
            "FROM search_links l JOIN search_documents a ON a.id = l.earlier JOIN search_documents b ON b.id = l.later "
            "WHERE gap IS NOT NULL AND gap <= ?"
        )
        params: list[Any] = [within_days + 0.999999]
        if since is not None:
            sql += " AND b.day >= ?"
            params.append(since.isoformat())
        return [(r[0], r[1], float(r[2]), float(r[3])) for r in self.conn.execute(sql, params)]

    def postings(self, keys: Sequence[str]) -> list[tuple[int, str, float]]:
        """Every (document id, feature, weight) having one of the feature *keys*."""
        sql = "SELECT doc, feature, weight FROM search_features WHERE feature IN ({marks})"
        return [(int(doc), feature, float(weight)) for doc, feature, weight in self._in_batches(sql, keys)]

    def _indexed(self, row: Sequence[Any]) -> IndexedIncident:
        return IndexedIncident(
            id=int(row[0]), slug=row[1], title=row[2], day=_day(row[3]), start=row[4], status=row[5], page=row[6]
        )

    def indexed_incidents(self, ids: Iterable[int]) -> list[IndexedIncident]:
        """The indexed incidents with these document ids, oldest first."""
        wanted = sorted(set(ids))
        if not wanted:
            return []
        sql = (
            f"SELECT {self._DOC_COLUMNS} FROM search_documents d JOIN incidents i ON i.slug = d.slug "
            f"WHERE d.id IN ({', '.join('?' for _ in wanted)})"
        )
        return sorted((self._indexed(row) for row in self.conn.execute(sql, wanted)), key=lambda i: i.order)

    def stats_rows(self, *, since: date | None = None) -> list[tuple[Any, ...]]:
        """(slug, day, impact_start, detected, responded, mitigated, resolved, pages JSON, pages_known)
        of every indexed incident (on or after *since*), as stored: the stats read thousands of these."""
        sql = (
            "SELECT slug, day, impact_start, detected, responded, mitigated, resolved, pages, pages_known "
            "FROM search_documents"
        )
        params: list[Any] = []
        if since is not None:
            sql += " WHERE day >= ?"
            params.append(since.isoformat())
        return self.conn.execute(sql + " ORDER BY day, start, slug", params).fetchall()

    def indexed_incident(self, slug: str) -> IndexedIncident | None:
        rows = self.conn.execute(
            f"SELECT {self._DOC_COLUMNS} FROM search_documents d JOIN incidents i ON i.slug = d.slug WHERE d.slug = ?",
            [slug],
        ).fetchall()
        return self._indexed(rows[0]) if rows else None

    def unindexed_slugs(self) -> list[str]:
        """Incidents that have no search document yet (recorded before the index existed)."""
        return [
            row[0]
            for row in self.conn.execute(
                "SELECT slug FROM incidents WHERE slug NOT IN (SELECT slug FROM search_documents) ORDER BY slug"
            )
        ]

    def search_text(
        self, match: str, *, since: date | None = None, status: str | None = None, limit: int = 20
    ) -> list[SearchHit]:
        """Incidents whose text matches the FTS5 query *match*, best first (BM25 with field weights).

        Raises InputError when *match* is not a valid FTS5 query.
        """
        weights = ", ".join(str(w) for w in FIELD_WEIGHTS)
        sql = (
            f"SELECT d.slug, i.title, d.day, i.status, bm25(search_fts, {weights}) AS rank, "
            f"snippet(search_fts, -1, ?, ?, '…', {SNIPPET_TOKENS}), i.page "
            "FROM search_fts JOIN search_documents d ON d.id = search_fts.rowid JOIN incidents i ON i.slug = d.slug "
            "WHERE search_fts MATCH ?"
        )
        params: list[Any] = [MARK_START, MARK_END, match]
        if since is not None:
            sql += " AND d.day >= ?"
            params.append(since.isoformat())
        if status is not None:
            sql += " AND i.status = ?"
            params.append(status)
        sql += " ORDER BY rank, d.slug LIMIT ?"
        params.append(limit)
        try:
            rows = self.conn.execute(sql, params).fetchall()
        except sqlite3.OperationalError as exc:
            raise InputError(
                f"cannot search for {match!r}: {exc}",
                hint='write words, "quoted phrases", prefix* and AND / OR / NOT between them',
            ) from exc
        return [
            SearchHit(slug=r[0], title=r[1], day=_day(r[2]), status=r[3], score=-float(r[4]), snippet=r[5], page=r[6])
            for r in rows
        ]
