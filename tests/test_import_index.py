"""What an import leaves in the search index, and what a re-import of unchanged pages does.

An import indexes its pages one by one and compares them all at its end; ``incidents reindex``
rebuilds the same index from the store. The two must agree: the same documents, vocabulary,
features and similar pairs. A page read again exactly as last time is not parsed or indexed again.
"""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from incidentkit.config import Settings
from incidentkit.services import importing, reading
from incidentkit.services.importing import import_reports
from incidentkit.services.search import refresh_similarity, reindex, search
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
            "pages_known, draft, page_text, page_revision, comparable, compared FROM search_documents"
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
    vocabulary = dict(conn.execute("SELECT term, doc FROM search_fts_terms"))
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


def test_what_an_import_compares_by_is_what_it_saved() -> None:
    """The import compares its pages by what it keeps in memory; comparing them again by what the
    store holds (as after an interrupted run) must find the very same features and pairs."""
    pages = real_pages() + seed_pages()
    with Store.open(None) as store:
        import_pages(store, pages)
        imported = index_of(store)
        store.db.conn.execute("UPDATE search_documents SET compared = 0")
        store.db.conn.execute("DELETE FROM search_links")
        store.db.conn.execute("DELETE FROM search_features")
        assert refresh_similarity(store) == len(imported["documents"])
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
        parse = reading.parse_report

        def counted(title: str, text: str, **options: Any) -> Any:
            parsed.append(title)
            return parse(title, text, **options)

        monkeypatch.setattr(reading, "parse_report", counted)
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


def store_contents(store: Store) -> dict[str, Any]:
    """The incidents, actionables and search index of *store*, without the times of writing."""
    return {
        "incidents": [(r.slug, r.title, r.start, r.end, r.task, r.status, r.page, r.metadata) for r in store.list_incidents()],
        "actionables": sorted(
            (a.incident, a.task or "", a.title, str(a.status), a.owner or "") for r in store.list_incidents()
            for a in store.incident_actionables(r.slug)
        ),
        "index": index_of(store),
    }


def batches(count: int) -> list[tuple[str, str]]:
    """The real and seed reports over and over, each time under new titles: more than *count* - 1
    batches of pages."""
    pages = sorted(real_pages() + seed_pages())
    copies = (count - 1) * importing.STORE_BATCH // len(pages) + 1
    return [(f"{title} ({copy})", text) for copy in range(copies) for title, text in pages]


def test_many_pages_are_read_in_a_worker_process_and_stored_alike(monkeypatch: pytest.MonkeyPatch) -> None:
    pages = batches(3)
    assert len(pages) > 2 * importing.STORE_BATCH
    read_here: list[str] = []
    read_page = reading.read_page

    def counted(title: str, text: str, **options: Any) -> Any:
        read_here.append(title)
        return read_page(title, text, **options)

    monkeypatch.setattr(reading, "read_page", counted)  # a worker process does not see this
    monkeypatch.setattr(importing, "PARALLEL_FROM", len(pages) + 1)  # every page read here
    with Store.open(None) as alone:
        import_pages(alone, pages)
        expected = store_contents(alone)
    assert len(read_here) == len(pages)

    read_here.clear()
    monkeypatch.setattr(importing, "PARALLEL_FROM", 1)
    with Store.open(None) as store:
        result = import_pages(store, pages)
        assert store_contents(store) == expected
    # the first batch was read here while the worker started; every other page was read in the worker
    assert read_here == [title for title, _ in pages[: importing.STORE_BATCH]]
    assert len(result.imported) + len(result.unparsed) == len(pages)


def test_a_worker_that_dies_leaves_its_pages_to_be_read_here(monkeypatch: pytest.MonkeyPatch) -> None:
    # a fourth batch, sent only after the worker is killed: however fast the worker read the third,
    # some pages are left to be read here
    pages = batches(4)
    monkeypatch.setattr(importing, "PARALLEL_FROM", len(pages) + 1)  # every page read here
    with Store.open(None) as alone:
        import_pages(alone, pages)
        expected = store_contents(alone)
    workers: list[Any] = []
    start = reading._Worker.__init__

    def started(worker: Any, *args: Any) -> None:
        start(worker, *args)
        workers.append(worker)

    monkeypatch.setattr(reading._Worker, "__init__", started)
    killed: list[int] = []

    def kill_the_worker(done: int, total: int) -> None:
        if done <= importing.STORE_BATCH:  # the first batch is read here: the worker reads the second
            return
        for worker in workers:
            if worker.process.pid not in killed:
                killed.append(worker.process.pid)
                worker.process.kill()
                worker.process.wait()

    read_here: list[str] = []
    read_page = reading.read_page
    monkeypatch.setattr(reading, "read_page", lambda title, text, **kw: read_here.append(title) or read_page(title, text, **kw))
    monkeypatch.setattr(importing, "PARALLEL_FROM", 1)
    with Store.open(None) as store:
        result = import_reports(
            store, ((t, x, None) for t, x in pages), total=len(pages), wiki=None, settings=Settings(), now=NOW,
            progress=kill_the_worker,
        )  # fmt: skip
        assert killed  # there was a worker, and it died during the import
        # the first batch was read here, the second in the worker, the rest here again
        assert importing.STORE_BATCH < len(read_here) < len(pages)
        assert len(result.imported) + len(result.unparsed) == len(pages)
        assert store_contents(store) == expected


def test_what_reading_raises_in_the_worker_is_raised_here() -> None:
    batches = [("first", [("Incidents/2024-01-01 x", "== Summary ==\nfine")]), ("second", [("Incidents/2024-01-02 y", None)])]
    with reading.PageReader(prefix="Incidents/", questions=None, parallel=True) as reader:
        read = reader.ahead(batches)  # type: ignore[arg-type]
        key, pages = next(read)
        assert key == "first" and isinstance(pages[0].report, importing.Report)
        with pytest.raises(AttributeError):  # None has no .strip(): raised in the worker, raised again here
            next(read)


@pytest.mark.skipif(not hasattr(os, "getpriority"), reason="no process priorities here")
def test_the_worker_yields_the_cpu_to_the_importing_process() -> None:
    batches = [(n, [(f"Incidents/2024-01-0{n} x", "== Summary ==\nfine")]) for n in (1, 2)]
    with reading.PageReader(prefix="Incidents/", questions=None, parallel=True) as reader:
        read = reader.ahead(batches)  # type: ignore[arg-type]
        assert [key for key, _ in read] == [1, 2]  # the second batch was read in the worker, now running
        assert reader._worker is not None
        worker = reader._worker.process.pid
        ours = os.getpriority(os.PRIO_PROCESS, 0)
        assert os.getpriority(os.PRIO_PROCESS, worker) == min(ours + reading.WORKER_NICENESS, 19)
