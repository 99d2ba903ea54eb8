"""The store's schema, as append-only sqlite-utils migrations (never edit an applied one).

Tables are documented in docs/schema.md; every column holds plain text, numbers or ISO 8601 UTC
strings so the file is useful in any SQLite tool (datasette, sqlite3). The public API:
:func:`newer_steps` (steps a newer incidentkit applied: refuse the file), :func:`pending`,
:func:`apply`, and :func:`database` (a connection as a sqlite-utils ``Database``).

Which steps a file holds is read with plain SQL from sqlite-utils' own record of them
(``_sqlite_migrations``), so that opening an up-to-date database does not load sqlite-utils,
whose import costs more than the rest of a short command's start-up (``publish FILE``); it loads
only when a step is applied.
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # annotations only: sqlite-utils loads when a step is applied (start-up cost)
    from sqlite_utils import Database

__all__ = ["STEPS", "newer_steps", "pending", "apply", "database"]

SET_NAME = "incidentkit"  # the migration set recorded in _sqlite_migrations
STEPS: list[str] = []  # every step this incidentkit knows, in order
_FUNCTIONS: list[Callable[[Database], None]] = []


def step(fn: Callable[[Database], None]) -> Callable[[Database], None]:
    """Register a schema step (the function's name is its permanent id)."""
    STEPS.append(fn.__name__)
    _FUNCTIONS.append(fn)
    return fn


def database(conn: sqlite3.Connection) -> Database:
    """*conn* as a sqlite-utils ``Database`` (for schema steps and introspection), loaded on first use."""
    # sqlite-utils imports numpy whenever it is installed (the charts extra brings it), only to map
    # numpy scalars to column types; the store never writes one, and importing numpy costs more than
    # the rest of a command's start-up. So numpy is hidden from that one import (None in sys.modules
    # makes an import fail) unless something loaded it already.
    hide_numpy = "numpy" not in sys.modules
    if hide_numpy:
        sys.modules["numpy"] = None  # type: ignore[assignment]
    try:
        from sqlite_utils import Database
    finally:
        if hide_numpy:
            del sys.modules["numpy"]
    return Database(conn)


def _applied(db: Any) -> list[str]:
    """The steps recorded in *db* (a connection or a ``Database``), in the order applied. Reads only."""
    exists = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlite_migrations'").fetchone()
    if not exists:
        return []
    rows = db.execute("SELECT name FROM _sqlite_migrations WHERE migration_set = ? ORDER BY rowid", [SET_NAME])
    return [name for (name,) in rows]


def newer_steps(db: Any) -> list[str]:
    """Steps recorded in *db* that this incidentkit does not know (a newer version wrote it). Reads only."""
    known = set(STEPS)
    return [name for name in _applied(db) if name not in known]


def pending(db: Any) -> list[str]:
    """Steps not yet applied to *db* (a connection or a ``Database``). Reads only."""
    applied = set(_applied(db))
    return [name for name in STEPS if name not in applied]


def apply(conn: sqlite3.Connection) -> None:
    """Apply every pending step, each in its own transaction with its record."""
    if not pending(conn):
        return
    db = database(conn)  # loads sqlite-utils (lazy import, see the module docstring)
    from sqlite_utils import Migrations

    migrations = Migrations(SET_NAME)
    for fn in _FUNCTIONS:
        migrations()(fn)
    migrations.apply(db)


@step
def m001_incidents(db: Database) -> None:
    db["incidents"].create(
        {
            "slug": str,  # 2016-09-15_wikidata-dispatch-lag
            "title": str,
            "start": str,  # ISO 8601 UTC
            "end": str,
            "severity": str,
            "task": str,  # T123, the incident task
            "status": str,  # draft / review / final
            "wiki": str,  # config name of the wiki it is published on
            "page": str,  # page title
            "revision": int,  # last revision we wrote or read
            "page_timestamp": str,
            "origin": str,  # draft / import
            "metadata": str,  # JSON: the metadata-table fields as text
            "locked": str,  # JSON list of fields set locally that import must not overwrite
            "created_at": str,
            "updated_at": str,
        },
        pk="slug",
        not_null={"title", "status", "created_at", "updated_at"},
        defaults={"status": "draft", "origin": "draft", "metadata": "{}", "locked": "[]"},
    )
    db["incidents"].create_index(["page"])


# Append new steps below, one function per change.


@step
def m002_actionables(db: Database) -> None:
    db["actionables"].create(
        {
            "id": int,
            "incident": str,  # incidents.slug
            "task": str,  # T123, or NULL for a free-text idea
            "task_phid": str,
            "title": str,
            "owner": str,  # Phabricator username
            "owner_phid": str,
            "status": str,  # open / in-progress / done / wont-do
            "task_status": str,  # the task's raw status key on the instance (resolved, declined...)
            "priority": str,  # the instance's priority name (High, Needs Triage...)
            "priority_value": int,  # its numeric value (100 = Unbreak Now!)
            "type": str,  # prevent / detect / mitigate / process / investigate / other
            "due": str,  # YYYY-MM-DD
            "projects": str,  # JSON list of the task's project names
            "project_phids": str,  # JSON list of the task's project PHIDs
            "missing": int,  # 1 when the task vanished or is not visible to the token
            "origin": str,  # draft / manual / import
            "raw_text": str,  # the line it was imported from
            "locked": str,  # JSON list of fields set locally that import and sync keep
            "created_at": str,  # ISO 8601 UTC
            "resolved_at": str,
            "recorded_at": str,
            "updated_at": str,
            "synced_at": str,  # last time sync saw the task
            "task_modified_at": str,  # the task's dateModified at that sync
        },
        pk="id",
        not_null={"incident", "title", "status", "type", "origin", "missing", "created_at", "recorded_at", "updated_at"},
        defaults={
            "status": "open",
            "type": "other",
            "origin": "manual",
            "missing": 0,
            "projects": "[]",
            "project_phids": "[]",
            "locked": "[]",
        },
        foreign_keys=[("incident", "incidents", "slug")],
    )
    db["actionables"].create_index(["incident", "task"], unique=True)
    db.execute(
        "CREATE UNIQUE INDEX idx_actionables_idea ON actionables (incident, title) WHERE task IS NULL"
    )
    db["actionables"].create_index(["task"])
    db["actionables"].create_index(["status", "due"])
    db["actionables"].create_index(["owner"])
    db["actionables"].create_index(["resolved_at"])


@step
def m003_status_history(db: Database) -> None:
    db["status_history"].create(
        {
            "id": int,
            "actionable_id": int,  # actionables.id
            "incident": str,
            "task": str,
            "old_status": str,  # NULL on the first row of an actionable
            "new_status": str,
            "old_task_status": str,
            "new_task_status": str,
            "changed_at": str,  # when it changed (see changed_at_from)
            "changed_at_from": str,  # transaction / task-closed / task-modified / observed
            "observed_at": str,  # when incidentkit saw it
            "source": str,  # draft / import / manual / create / sync
            "note": str,  # e.g. "task missing", "task visible again"
        },
        pk="id",
        not_null={"actionable_id", "new_status", "changed_at", "changed_at_from", "observed_at", "source"},
        foreign_keys=[("actionable_id", "actionables", "id")],
    )
    db["status_history"].create_index(["actionable_id", "id"])
    db["status_history"].create_index(["changed_at"])
    db.execute(
        "CREATE TRIGGER status_history_append_only_update BEFORE UPDATE ON status_history "
        "BEGIN SELECT RAISE(ABORT, 'status_history is append-only'); END"
    )
    db.execute(
        "CREATE TRIGGER status_history_append_only_delete BEFORE DELETE ON status_history "
        "BEGIN SELECT RAISE(ABORT, 'status_history is append-only'); END"
    )


@step
def m004_task_statuses(db: Database) -> None:
    db["task_statuses"].create(
        {
            "value": str,  # the status key (open, resolved, declined...)
            "name": str,  # its display name
            "closed": int,  # 1 for a closed status
            "special": str,  # default / closed / duplicate, or NULL
            "state": str,  # what incidentkit maps it to: open / in-progress / done / wont-do
            "fetched_at": str,  # when maniphest.status.search returned it
        },
        pk="value",
        not_null={"name", "closed", "state", "fetched_at"},
    )


@step
def m005_scorecard_answers(db: Database) -> None:
    """One row per incident and scorecard question (keys from data/scorecard.toml)."""
    db.execute(
        """
        CREATE TABLE scorecard_answers (
            incident TEXT NOT NULL REFERENCES incidents(slug),
            question TEXT NOT NULL,            -- the question key, e.g. task_exists
            answer TEXT CHECK (answer IN ('yes', 'no')),  -- NULL: not answered (a note may still be kept)
            note TEXT NOT NULL DEFAULT '',
            reviewer TEXT,                     -- who answered (local) or who the page credits (import)
            answered_at TEXT NOT NULL,         -- ISO 8601 UTC
            source TEXT NOT NULL DEFAULT 'local' CHECK (source IN ('local', 'import')),
            page_revision INTEGER,             -- import: the page revision the answer was read from
            PRIMARY KEY (incident, question)
        )
        """
    )
    db["scorecard_answers"].create_index(["question", "answer"])


@step
def m009_timeline_curation(db: Database) -> None:
    """Each incident's saved events, and the owner's curation of its timeline."""
    db["timeline_events"].create(
        {
            "incident": str,  # incidents.slug
            "key": str,  # Event.key, stable across re-pulls
            "position": int,  # order in the merged event list
            "time": str,  # ISO 8601 UTC
            "source": str,
            "kind": str,
            "text": str,
            "event": str,  # JSON: Event.to_dict()
        },
        pk=("incident", "key"),
        not_null={"position", "time", "source", "kind", "event"},
        foreign_keys=[("incident", "incidents", "slug")],
    )
    db["timeline_events"].create_index(["incident", "position"])
    db["timeline_overrides"].create(
        {
            "incident": str,
            "key": str,  # the row key the override applies to (may no longer exist: an orphan)
            "hidden": int,  # 1 hide, 0 show even if a rule hides it, NULL not set
            "pinned": int,  # 1 pin, 0 unpinned even if a rule pins it, NULL not set
            "text": str,  # replacement text, NULL not set
            "time": str,  # replacement time (ISO 8601 UTC), NULL not set
            "note": str,
            "updated_at": str,
        },
        pk=("incident", "key"),
        not_null={"updated_at"},
        foreign_keys=[("incident", "incidents", "slug")],
    )
    db["timeline_manual_rows"].create(
        {"incident": str, "key": str, "time": str, "text": str, "created_at": str},
        pk=("incident", "key"),
        not_null={"time", "text", "created_at"},
        foreign_keys=[("incident", "incidents", "slug")],
    )
    db["timeline_moments"].create(
        {
            "incident": str,
            "moment": str,  # impact_start / detected / responded / mitigated / resolved
            "key": str,  # the row it was set on, NULL when set as a bare time
            "time": str,  # ISO 8601 UTC (the row's time when it was set)
            "updated_at": str,
        },
        pk=("incident", "moment"),
        not_null={"time", "updated_at"},
        foreign_keys=[("incident", "incidents", "slug")],
    )
    db["timeline_seen"].create(
        {"incident": str, "key": str, "draft": int, "seen_at": str},  # draft: the draft number that first showed it
        pk=("incident", "key"),
        not_null={"draft", "seen_at"},
        foreign_keys=[("incident", "incidents", "slug")],
    )
    db["timeline_drafts"].create(
        {"incident": str, "drafts": int, "last_drafted_at": str},
        pk="incident",
        not_null={"drafts", "last_drafted_at"},
        foreign_keys=[("incident", "incidents", "slug")],
    )


@step
def m010_actionables_owner_nocase(db: Database) -> None:
    """`actionables list --owner` matches usernames case-insensitively; index that."""
    db.execute("CREATE INDEX idx_actionables_owner_nocase ON actionables (owner COLLATE NOCASE, status, due)")


@step
def m011_pages(db: Database) -> None:
    """Each page to each person, in or out of their business hours: the after-hours burden."""
    db.execute(
        """
        CREATE TABLE pages (
            incident TEXT NOT NULL REFERENCES incidents(slug),
            page TEXT NOT NULL,                -- the paging system's incident number, e.g. 4711
            person TEXT NOT NULL DEFAULT '',   -- who was paged; '' when the page reached a team and nobody says whom
            team TEXT NOT NULL DEFAULT '',     -- the team or escalation policy that paged them
            paged_at TEXT NOT NULL,            -- ISO 8601 UTC
            in_hours INTEGER CHECK (in_hours IN (0, 1)),  -- NULL: their business hours are not configured
            local_time TEXT,                   -- ISO 8601 with their UTC offset, e.g. 2023-02-14T10:37:44-08:00
            hours TEXT NOT NULL DEFAULT '',    -- the business hours applied and whose, e.g. "UTC Mon-Fri 09:00-17:00 (team SRE)"
            manual INTEGER NOT NULL DEFAULT 0, -- 1 for a page sent by hand (Klaxon)
            PRIMARY KEY (incident, page, person)
        )
        """
    )
    db["pages"].create_index(["paged_at"])
    db["pages"].create_index(["team", "paged_at"])


@step
def m012_incident_removal(db: Database) -> None:
    """`incidents rm`: status history stays append-only except for the incident being removed.

    The removal names the incident in ``incident_removals`` for the length of its transaction; the
    delete trigger lets that incident's history go and refuses every other delete as before.
    """
    db.execute("CREATE TABLE incident_removals (incident TEXT PRIMARY KEY)")
    db.execute("DROP TRIGGER status_history_append_only_delete")
    db.execute(
        "CREATE TRIGGER status_history_append_only_delete BEFORE DELETE ON status_history "
        "WHEN NOT EXISTS (SELECT 1 FROM incident_removals WHERE incident = OLD.incident) "
        "BEGIN SELECT RAISE(ABORT, 'status_history is append-only'); END"
    )


@step
def m013_search_index(db: Database) -> None:
    """The search index: one document per incident, its full text (FTS5), its similarity features
    and the similar pairs found when it was indexed (see docs/schema.md)."""
    db.execute(
        """
        CREATE TABLE search_documents (
            id INTEGER PRIMARY KEY,
            slug TEXT NOT NULL UNIQUE REFERENCES incidents(slug) ON DELETE CASCADE,
            day TEXT,                      -- YYYY-MM-DD, the incident's date
            start TEXT,                    -- ISO 8601 UTC, orders incidents of one day
            impact_start TEXT, detected TEXT, responded TEXT, mitigated TEXT, resolved TEXT,
            moments_from TEXT,             -- draft / page
            pages TEXT NOT NULL DEFAULT '[]',   -- JSON list of the times alerts paged
            pages_known INTEGER NOT NULL DEFAULT 0,
            draft TEXT,                    -- JSON: what the latest draft found (DraftFacts)
            page_text TEXT,                -- the page as last imported or published
            page_revision INTEGER,
            terms TEXT NOT NULL DEFAULT '[]',   -- JSON list: the distinct terms of its similarity text
            indexed_at TEXT NOT NULL
        )
        """
    )
    db.execute(
        "CREATE TABLE search_vocabulary (term TEXT PRIMARY KEY, docs INTEGER NOT NULL) WITHOUT ROWID"
    )
    db.execute("CREATE INDEX idx_search_documents_day ON search_documents (day, start)")
    db.execute(
        "CREATE VIRTUAL TABLE search_fts USING fts5("
        "title, summary, timeline, conclusions, actionables, signals, body, tokenize = 'porter unicode61')"
    )
    db.execute("CREATE VIRTUAL TABLE search_fts_terms USING fts5vocab(search_fts, 'row')")
    db.execute(
        "CREATE TRIGGER search_documents_delete AFTER DELETE ON search_documents "
        "BEGIN DELETE FROM search_fts WHERE rowid = old.id; "
        "UPDATE search_vocabulary SET docs = docs - 1 WHERE term IN (SELECT value FROM json_each(old.terms)); END"
    )
    db.execute(
        """
        CREATE TABLE search_features (
            doc INTEGER NOT NULL REFERENCES search_documents(id) ON DELETE CASCADE,
            feature TEXT NOT NULL,         -- kind:value, e.g. term:wdq, alert:ATSBackendErrorsHigh
            weight REAL NOT NULL,
            PRIMARY KEY (doc, feature)
        ) WITHOUT ROWID
        """
    )
    db.execute("CREATE INDEX idx_search_features_feature ON search_features (feature, doc, weight)")
    db.execute(
        """
        CREATE TABLE search_links (
            earlier INTEGER NOT NULL REFERENCES search_documents(id) ON DELETE CASCADE,
            later INTEGER NOT NULL REFERENCES search_documents(id) ON DELETE CASCADE,
            score REAL NOT NULL,
            PRIMARY KEY (earlier, later)
        ) WITHOUT ROWID
        """
    )
    db.execute("CREATE INDEX idx_search_links_later ON search_links (later, score)")


@step
def m014_index_batches(db: Database) -> None:
    """An import indexes its pages and compares them once, at its end; a page read again unchanged
    is not parsed again.

    ``search_documents`` keeps what each incident is compared by (term counts, title words and
    signals: they depend on that incident alone) and whether it has been compared since it was
    indexed (those indexed before this step have been). ``imported_pages`` remembers each page as
    the import last read it.
    """
    db.execute("ALTER TABLE search_documents ADD COLUMN comparable TEXT NOT NULL DEFAULT '{}'")
    db.execute("ALTER TABLE search_documents ADD COLUMN compared INTEGER NOT NULL DEFAULT 1")
    db.execute("CREATE INDEX idx_search_documents_uncompared ON search_documents (id) WHERE compared = 0")
    db.execute(
        """
        CREATE TABLE imported_pages (
            page TEXT PRIMARY KEY,         -- the page title
            incident TEXT NOT NULL REFERENCES incidents(slug) ON DELETE CASCADE,
            digest TEXT NOT NULL,          -- SHA-256 of what the reading depended on: text, revision, reader
            summary TEXT NOT NULL          -- JSON: what the page held, reported again while it is unchanged
        ) WITHOUT ROWID
        """
    )
    db.execute("CREATE INDEX idx_imported_pages_incident ON imported_pages (incident)")


@step
def m015_fts_vocabulary(db: Database) -> None:
    """Similarity reads in how many documents a term occurs from FTS5's own vocabulary
    (``search_fts_terms``), which finds a term's postings by the term: the count kept beside it
    (``search_vocabulary``, and each document's list of ``terms`` to take off again) goes."""
    db.execute("DROP TRIGGER search_documents_delete")
    db.execute(
        "CREATE TRIGGER search_documents_delete AFTER DELETE ON search_documents "
        "BEGIN DELETE FROM search_fts WHERE rowid = old.id; END"
    )
    db.execute("DROP TABLE search_vocabulary")
    db.execute("ALTER TABLE search_documents DROP COLUMN terms")


@step
def m016_features_by_key(db: Database) -> None:
    """Similarity features are kept in one tree, by feature then document (the order candidates
    are looked up in), and beside it each compared document's list of its feature keys
    (``search_compared``): a second tree by document, which every feature written went into too,
    was most of the cost of writing them. Deleting a document's list (or the document) deletes its
    features."""
    db.execute(
        """
        CREATE TABLE search_compared (
            doc INTEGER PRIMARY KEY REFERENCES search_documents(id) ON DELETE CASCADE,
            features TEXT NOT NULL         -- JSON list of its feature keys (search_features.feature)
        )
        """
    )
    db.execute(
        "INSERT INTO search_compared (doc, features) SELECT doc, json_group_array(feature) "
        "FROM (SELECT doc, feature FROM search_features ORDER BY doc, feature) GROUP BY doc"
    )
    db.execute(
        """
        CREATE TABLE search_features_by_key (
            feature TEXT NOT NULL,         -- kind:value, e.g. term:wdq, alert:ATSBackendErrorsHigh
            doc INTEGER NOT NULL,          -- search_documents.id
            weight REAL NOT NULL,
            PRIMARY KEY (feature, doc)
        ) WITHOUT ROWID
        """
    )
    db.execute("INSERT INTO search_features_by_key SELECT feature, doc, weight FROM search_features ORDER BY feature, doc")
    db.execute("DROP TABLE search_features")
    db.execute("ALTER TABLE search_features_by_key RENAME TO search_features")
    db.execute(
        "CREATE TRIGGER search_compared_delete AFTER DELETE ON search_compared BEGIN "
        "DELETE FROM search_features WHERE doc = old.doc AND feature IN (SELECT value FROM json_each(old.features)); END"
    )
