"""What an import leaves in the search index, and what a re-import of unchanged pages does.

An import indexes its pages one by one and compares them all at its end; ``incidents reindex``
rebuilds the same index from the store. The two must agree: the same documents, vocabulary,
features and similar pairs. A page read again exactly as last time is not parsed or indexed again.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from incidentkit.config import Settings
from incidentkit.services import importing
from incidentkit.services.importing import import_reports
from incidentkit.services.search import reindex, search
from incidentkit.store import Store
from tests.helpers import home_store, run
from tests.incident_pages import real_pages, seed_pages

NOW = datetime(2026, 11, 1, tzinfo=UTC)
WIKITEXT = Path(__file__).resolve().parent / "fixtures" / "incidents" / "wikitext"


def import_pages(store: Store, pages: list[tuple[str, str]], **options: Any) -> importing.ImportResult:
    return import_reports(
        store, ((t, x, None) for t, x in pages), total=len(pages), wiki=None, settings=Settings(), now=NOW, **options
    )


def index_of(store: Store) -> dict[str, Any]:
    """Everything the index holds, by slug (document ids and build times left out)."""
    conn = store.db.conn
    documents = {
        row[0]: row[1:]
        for row in conn.execute(
            "SELECT slug, day, start, impact_start, detected, responded, mitigated, resolved, moments_from, pages, "
            "pages_known, draft, page_text, page_revision, terms, comparable, compared FROM search_documents"
        )
    }
    features = sorted(
        (slug, feature, round(weight, 9))
        for slug, feature, weight in conn.execute(
            "SELECT d.slug, f.feature, f.weight FROM search_features f JOIN search_documents d ON d.id = f.doc"
        )
    )
    links = sorted(
        (a, b, round(score, 9))
        for a, b, score in conn.execute(
            "SELECT a.slug, b.slug, l.score FROM search_links l "
            "JOIN search_documents a ON a.id = l.earlier JOIN search_documents b ON b.id = l.later"
        )
    )
    vocabulary = dict(conn.execute("SELECT term, docs FROM search_vocabulary WHERE docs > 0"))
    text = sorted(conn.execute("SELECT d.slug, f.* FROM search_fts f JOIN search_documents d ON d.id = f.rowid"))
    return {"documents": documents, "features": features, "links": links, "vocabulary": vocabulary, "text": text}


def test_an_import_indexes_exactly_what_a_reindex_builds() -> None:
    pages = real_pages() + seed_pages()
    with Store.open(None) as store:
        result = import_pages(store, pages)
        assert len(result.imported) > 30
        imported = index_of(store)
        assert len(imported["documents"]) == len(result.imported)
        assert all(row[-1] == 1 for row in imported["documents"].values())  # every page compared
        assert len(imported["links"]) > len(result.imported)  # the real reports do have similar pairs
        assert reindex(store, Settings()) == len(result.imported)
        assert index_of(store) == imported


def test_pages_imported_in_several_runs_are_compared_with_each_other() -> None:
    pages = sorted(real_pages() + seed_pages())
    with Store.open(None) as store:
        first = {page.slug for page in import_pages(store, pages[: len(pages) // 2]).imported}
        second = {page.slug for page in import_pages(store, pages[len(pages) // 2 :]).imported}
        links = index_of(store)["links"]
    assert first and second and not first & second
    across = [(a, b) for a, b, _ in links if (a in first) != (b in first)]
    assert across  # pairs of an incident of each run: the second run's pages were compared with the first's


def test_a_reimport_of_unchanged_pages_parses_and_indexes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    pages = real_pages()[:40]
    with Store.open(None) as store:
        first = import_pages(store, pages)
        before = index_of(store)
        parsed: list[str] = []
        parse = importing.parse_report

        def counted(title: str, text: str, **options: Any) -> Any:
            parsed.append(title)
            return parse(title, text, **options)

        monkeypatch.setattr(importing, "parse_report", counted)
        statements: list[str] = []
        store.db.conn.set_trace_callback(statements.append)
        again = import_pages(store, pages)
        store.db.conn.set_trace_callback(None)
        assert parsed == []
        assert not [sql for sql in statements if sql.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]
        assert index_of(store) == before
        assert again.unchanged == len(first.imported) == len(again.imported) and again.created == 0
        assert again.actionables.unchanged == first.actionables.added
        assert [(p.page, p.actionables, p.tasks, p.problems) for p in again.imported] == [
            (p.page, p.actionables, p.tasks, p.problems) for p in first.imported
        ]
        assert [u.page for u in again.unparsed] == [u.page for u in first.unparsed]

        reread = import_pages(store, pages, reread=True)  # parses every page, changes nothing
        assert len(parsed) == len(pages)
        assert reread.unchanged == len(first.imported) and index_of(store) == before


def test_a_changed_page_is_read_indexed_and_compared_again() -> None:
    pages = real_pages()[:20]
    title, text = pages[0]
    with Store.open(None) as store:
        import_pages(store, pages)
        assert search(store, "zanzibar") == []
        again = import_pages(store, [(title, text + "\nThe zanzibar gateway stalled.\n"), *pages[1:]])
        assert again.unchanged == len(again.imported)  # nothing the store keeps apart from the index changed
        slug = again.imported[0].slug
        assert [hit.slug for hit in search(store, "zanzibar")] == [slug]
        assert store.db.conn.execute("SELECT count(*) FROM search_documents WHERE compared = 0").fetchone()[0] == 0


def test_since_filters_pages_read_as_last_time() -> None:
    pages = [(t, x) for t, x in real_pages() if t.startswith(("Incidents/2015", "Incidents/2022"))]
    with Store.open(None) as store:
        first = import_pages(store, pages)
        again = import_pages(store, pages, since=datetime(2022, 1, 1, tzinfo=UTC).date())
    assert first.filtered == 0 and again.filtered > 0
    assert all(page.page.startswith("Incidents/2022") for page in again.imported)
    assert len(again.imported) + again.filtered == len(first.imported)


def test_unlocking_a_field_lets_the_unchanged_page_set_it_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INCIDENTKIT_NOW", "2024-03-15T12:00:00Z")
    pages = tmp_path / "pages"
    shutil.copytree(WIKITEXT, pages)
    assert run("import", "--replay", str(pages)).exit_code == 0
    with home_store() as store:
        (record,) = [r for r in store.list_incidents() if (r.page or "").endswith("Example all actionable styles")]
    assert record.start == "2024-02-01T09:18:00Z"  # the page's Start
    assert run("incidents", "edit", record.slug, "--start", "2024-02-01 08:00").exit_code == 0
    kept = run("import", "--replay", str(pages))
    assert "(0 new, 0 updated, 2 unchanged)" in kept.stderr, kept.stderr
    with home_store() as store:
        assert store.require_incident(record.slug).start == "2024-02-01T08:00:00Z"  # locked: the page does not win
    assert run("incidents", "edit", record.slug, "--unlock", "start").exit_code == 0
    restored = run("import", "--replay", str(pages))
    assert "(0 new, 1 updated, 1 unchanged)" in restored.stderr, restored.stderr
    with home_store() as store:
        assert store.require_incident(record.slug).start == "2024-02-01T09:18:00Z"


def test_unlocking_an_actionable_field_lets_the_unchanged_page_set_it_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INCIDENTKIT_NOW", "2024-03-15T12:00:00Z")
    pages = tmp_path / "pages"
    shutil.copytree(WIKITEXT, pages)
    assert run("import", "--replay", str(pages)).exit_code == 0
    with home_store() as store:
        (item,) = store.actionables_for_tasks(["T350018"])
    assert run("actionables", "set", str(item.id), "--title", "Renamed here").exit_code == 0
    assert "(0 new, 0 updated, 2 unchanged)" in run("import", "--replay", str(pages)).stderr
    assert run("actionables", "set", str(item.id), "--unlock", "title").exit_code == 0
    restored = run("import", "--replay", str(pages))
    assert "(0 new, 1 updated, 1 unchanged)" in restored.stderr, restored.stderr
    with home_store() as store:
        assert store.require_actionable(item.id).title == item.title
