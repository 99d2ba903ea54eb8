"""The store's schema, as append-only sqlite-utils migrations (never edit an applied one).

Tables are documented in README.md ("The database"); every column holds plain text, numbers or
ISO 8601 UTC strings so the file is useful in any SQLite tool (datasette, sqlite3).
"""

from __future__ import annotations

from sqlite_utils import Database, Migrations

__all__ = ["migrations"]

migrations = Migrations("incidentkit")


@migrations()
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


# Later issues append their own migrations below this line, one function per change.
