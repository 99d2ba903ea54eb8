"""How an import spends its time: the store commits once per batch of pages, and the wiki reads the
next batch while the current one is parsed and stored. What is imported does not change (see
test_import.py); these check the batching itself and what a failure inside a batch leaves behind."""

from __future__ import annotations

import re
import threading
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest

from incidentkit.clients.mediawiki import BATCH_SIZE, PageText, connect_wiki
from incidentkit.config import Settings, load_settings
from incidentkit.errors import StoreError
from incidentkit.model.actionable import UpsertResult
from incidentkit.services import importing
from incidentkit.services.importing import ImportedPage, definition_path, import_reports, load_definition
from incidentkit.store import Store
from incidentkit.wikitext.reports import Report, parse_report
from tests.incident_pages import all_pages
from tests.servers.mediawiki import MediaWiki

NOW = datetime(2024, 6, 1, tzinfo=UTC)
STORE_BATCH = importing.STORE_BATCH
PAGES = 2 * STORE_BATCH + 20  # three batches, the last one short


def report_pages(count: int = PAGES) -> list[tuple[str, str, PageText | None]]:
    return [
        (f"Incidents/2024-01-{1 + n % 28:02d} Outage {n:03d}", f"== Actionables ==\n* Fix thing {n} T{1000 + n}\n", None)
        for n in range(count)
    ]


def test_the_store_commits_once_per_batch_of_pages_and_takes_no_savepoints() -> None:
    sent: list[str] = []
    with Store.open(None) as store:
        store.db.conn.set_trace_callback(sent.append)
        report = import_reports(store, report_pages(), total=PAGES, wiki=None, settings=Settings(), now=NOW)
        store.db.conn.set_trace_callback(None)
        assert len(report.imported) == PAGES and len(store.list_incidents()) == PAGES
    assert sent.count("COMMIT") == 3 + 1  # one per batch, not per page (each waits for the disk), and the similarity refresh
    assert not [sql for sql in sent if sql.startswith("SAVEPOINT")]  # a page is undone with its batch


def _interrupting(monkeypatch: pytest.MonkeyPatch, *pages: int) -> list[str]:
    """Make storing raise KeyboardInterrupt half-way through each of the *pages* (by number), once
    each, after writing an incident of its own; returns the pages stored, as they are."""
    store_report = importing.store_report
    left = [f"Incidents/2024-01-{1 + n % 28:02d} Outage {n:03d}" for n in pages]
    calls: list[str] = []

    def interrupted(store: Store, report: Any, **kwargs: Any) -> Any:
        calls.append(report.page)
        if left and report.page == left[0]:
            left.pop(0)
            store.save_incident(importing.IncidentRecord(slug="half-written", title="x"))
            raise KeyboardInterrupt
        return store_report(store, report, **kwargs)

    monkeypatch.setattr(importing, "store_report", interrupted)
    return calls


def test_ctrl_c_keeps_the_pages_before_it_and_undoes_the_one_half_written(monkeypatch: pytest.MonkeyPatch) -> None:
    pages = report_pages()
    stop = STORE_BATCH + 20  # in the second batch
    calls = _interrupting(monkeypatch, stop)
    with Store.open(None) as store:
        with pytest.raises(importing.ImportInterrupted) as stopped:
            import_reports(store, pages, total=PAGES, wiki=None, settings=Settings(), now=NOW)
        kept = [title for title, _, _ in pages[:stop]]
        assert [page.page for page in stopped.value.result.imported] == kept
        assert sorted(record.page or "" for record in store.list_incidents()) == sorted(kept)  # not "half-written"
        assert calls[STORE_BATCH:] == kept[STORE_BATCH:] + [pages[stop][0]] + kept[STORE_BATCH:]  # stored again after it
        assert store.document_count() == stop  # and indexed, and compared
        assert not store.db.execute("SELECT count(*) FROM search_documents WHERE compared = 0").fetchone()[0]


def test_ctrl_c_again_while_its_batch_is_stored_again_keeps_the_batches_before(monkeypatch: pytest.MonkeyPatch) -> None:
    pages = report_pages()
    # the second while the pages of the batch before the first are stored again
    _interrupting(monkeypatch, STORE_BATCH + 20, STORE_BATCH + 10)
    with Store.open(None) as store:
        with pytest.raises(importing.ImportInterrupted) as stopped:
            import_reports(store, pages, total=PAGES, wiki=None, settings=Settings(), now=NOW)
        kept = [title for title, _, _ in pages[:STORE_BATCH]]
        assert [page.page for page in stopped.value.result.imported] == kept
        assert sorted(record.page or "" for record in store.list_incidents()) == sorted(kept)


EXAMPLE = "Incidents/2024-02-01 Example all actionable styles"  # 22 actionables, 4 scorecard answers


def _example() -> Report:
    text = next(text for title, text in all_pages() if title == EXAMPLE)
    report = parse_report(EXAMPLE, text, scorecard=load_definition(definition_path(Settings())))
    assert isinstance(report, Report)
    return report


def _stored(store: Store, report: Report) -> tuple[ImportedPage, UpsertResult, Counter[str]]:
    """Store *report* as the import does (one unit inside its batch's transaction); what was done
    and the statements sent, by kind and table."""
    sent: list[str] = []
    with store.transaction(), store.transaction(unit=True):
        store.db.conn.set_trace_callback(sent.append)
        imported, upserted, _ = importing.store_report(
            store, report, wiki=None, page=None, settings=Settings(), now=NOW, statuses={}
        )
        store.db.conn.set_trace_callback(None)
    kinds = (re.match(r'(SELECT|INSERT|UPDATE|DELETE|SAVEPOINT|RELEASE)\b.*?(?:FROM|INTO|$)\s*"?(\w*)', s, re.I) for s in sent)
    return imported, upserted, Counter(f"{kind[1].upper()} {kind[2].lower()}".strip() for kind in kinds if kind)


def test_a_new_incident_is_written_once_without_savepoints_or_reading_back_what_it_wrote() -> None:
    with Store.open(None) as store:
        imported, upserted, sent = _stored(store, _example())
        assert imported.created and (upserted.added, imported.scorecard_answers) == (22, 4)
        assert len(store.incident_actionables(imported.slug)) == 22
        assert len(store.get_scorecard_answers(imported.slug)) == 4
    # the page's unit makes it atomic: no savepoint inside it; nothing stored can be compared with yet
    assert sent == {
        "SELECT incidents": 3, "SELECT scorecard_answers": 1,  # by page, by slug; what saving the answers checks
        "INSERT incidents": 1, "INSERT actionables": 22, "INSERT status_history": 22, "INSERT scorecard_answers": 4,
    }  # fmt: skip


def test_an_incident_stored_again_is_compared_with_what_it_holds() -> None:
    report = _example()
    with Store.open(None) as store:
        _stored(store, report)
        imported, upserted, sent = _stored(store, report)
        assert not imported.created and not imported.changed
        assert (upserted.added, upserted.updated, upserted.unchanged, imported.scorecard_answers) == (0, 0, 22, 0)
        assert len(store.incident_actionables(imported.slug)) == 22 and len(store.status_history()) == 22
    assert sent == {"SELECT incidents": 1, "SELECT actionables": 1, "SELECT scorecard_answers": 1}


def test_a_failure_undoes_its_batch_only_and_the_import_can_be_run_again(monkeypatch: pytest.MonkeyPatch) -> None:
    failing = report_pages()[STORE_BATCH + 20][0]  # in the second batch
    store_report = importing.store_report

    def broken(store: Store, report: Any, **kwargs: Any) -> Any:
        if report.page == failing:
            store.save_incident(importing.IncidentRecord(slug="half-written", title="x"))
            raise StoreError("database write failed: disk I/O error")
        return store_report(store, report, **kwargs)

    with Store.open(None) as store:
        monkeypatch.setattr(importing, "store_report", broken)
        with pytest.raises(StoreError, match="disk I/O error"):
            import_reports(store, report_pages(), total=PAGES, wiki=None, settings=Settings(), now=NOW)
        kept = {record.page for record in store.list_incidents()}
        assert kept == {title for title, _, _ in report_pages()[:STORE_BATCH]}  # the first batch, whole
        monkeypatch.setattr(importing, "store_report", store_report)
        again = import_reports(store, report_pages(), total=PAGES, wiki=None, settings=Settings(), now=NOW)
        assert again.created == PAGES - STORE_BATCH
        assert len(store.list_incidents()) == PAGES
        assert again.actionables.added == PAGES - STORE_BATCH and again.actionables.unchanged == STORE_BATCH


@pytest.mark.integration
def test_the_next_batches_are_read_while_this_one_is_worked_on(mediawiki: MediaWiki, monkeypatch: pytest.MonkeyPatch) -> None:
    """The requests for the next two batches start while the batch before them is still being
    worked on; batches not asked for yet when the import stops are never read.

    If a read only started when asked for, the wait below would run out and fail the test.
    """
    mediawiki.config_env(monkeypatch, name="ops")
    wiki = connect_wiki(load_settings(), "ops")
    titles = [f"ReadAhead/missing page {n:03d}" for n in range(2 * BATCH_SIZE + 20)]  # three reads
    started = [threading.Event() for _ in range(3)]
    read_many = wiki.read_many

    def reading(batch: list[str]) -> dict[str, PageText | None]:
        started[titles.index(batch[0]) // BATCH_SIZE].set()
        return read_many(batch)

    monkeypatch.setattr(wiki, "read_many", reading)
    batches = []
    for index, batch in enumerate(importing._read_ahead(wiki, titles)):
        for ahead in range(index + 1, min(index + 1 + importing.READ_AHEAD, len(started))):
            assert started[ahead].wait(timeout=30), f"batch {ahead + 1} was not read ahead"
        batches.append(batch)
    assert [list(batch) for batch in batches] == [titles[:50], titles[50:100], titles[100:]]
    assert all(page is None for batch in batches for page in batch.values())

    many = [f"ReadAhead/more {n:03d}" for n in range(10 * BATCH_SIZE)]
    asked: list[str] = []
    monkeypatch.setattr(wiki, "read_many", lambda batch: asked.append(batch[0]) or read_many(batch))
    stopped = importing._read_ahead(wiki, many)
    next(stopped)
    stopped.close()  # as Ctrl-C does
    assert len(asked) <= 1 + importing.READ_AHEAD  # the first and those read ahead of it: no more
