"""``incidents search`` and the index behind it, on the real report pages of ``tests/fixtures/incidents``.

Expected results are hand-listed from reading the pages (which reports mention a rack switch,
Kartotherian, Blazegraph...), never computed by the code under test.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from incidentkit.config import Settings
from incidentkit.errors import InputError
from incidentkit.model.curation import KeyMoments
from incidentkit.model.incident import IncidentRecord
from incidentkit.model.search import MARK_END, MARK_START, DraftFacts, IncidentDocument, SearchHit
from incidentkit.model.signals import merge_signals
from incidentkit.model.similar import Comparable
from incidentkit.services.importing import import_reports, save_page_text
from incidentkit.services.search import fts_query, index_page, reindex, search
from incidentkit.store import Store
from tests.helpers import home_store, json_lines, run
from tests.incident_pages import real_pages, seed_pages

NOW = datetime(2026, 11, 1, tzinfo=UTC)
EXAMPLE = Path(__file__).resolve().parent.parent / "data" / "examples" / "backport-crash"


def import_fixtures(store: Store) -> None:
    pages = real_pages() + seed_pages()
    import_reports(store, ((t, x, None) for t, x in pages), total=len(pages), wiki=None, settings=Settings(), now=NOW)


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    with Store.open(tmp_path_factory.mktemp("search") / "ik.db") as store:
        import_fixtures(store)
        yield store


def slugs(store: Store, query: str, **options: object) -> list[str]:
    return [hit.slug for hit in search(store, query, **options)]  # type: ignore[arg-type]


def test_a_switch_failure_search_ranks_the_switch_reports_first(indexed: Store) -> None:
    # by reading: the three pages about a top-of-rack switch going down
    assert set(slugs(indexed, "rack switch")[:3]) == {
        "2015-03-24_eqiad-rack-c4", "2019-09-20_d2-switch-failure", "2022-06-21_asw-a2-codfw-accidental-power-cycle",
    }  # fmt: skip


def test_words_are_stemmed_and_rare_words_find_their_one_report(indexed: Store) -> None:
    assert slugs(indexed, "kartotherian") == ["2019-04-15_maps"]
    # "restarting" is written "restart"/"restarts"/"restarted" in the maps and wdqs pages
    found = slugs(indexed, "restarting kartotherian")
    assert found == ["2019-04-15_maps"]
    assert set(slugs(indexed, "blazegraph")) == {"2022-03-06_wdqs-categories", "2026-05-13_wdqs"}


def test_snippets_mark_the_match(indexed: Store) -> None:
    (hit,) = search(indexed, "kartotherian")
    record = hit.to_dict()
    assert "**Kartotherian**" in record["snippet"]
    assert set(record) >= {"slug", "title", "date", "score", "snippet"}
    assert record["date"] == "2019-04-15" and record["title"] == "maps" and record["score"] > 0


def test_since_status_and_limit_filter(indexed: Store) -> None:
    everything = slugs(indexed, "wdqs")
    assert set(everything) >= {"2022-03-06_wdqs-categories", "2022-12-02_wdqs-outage", "2025-02-27_wdqs-500-errors", "2026-05-13_wdqs"}
    recent = slugs(indexed, "wdqs", since=date(2025, 1, 1))
    assert set(recent) == {"2025-02-27_wdqs-500-errors", "2026-05-13_wdqs"}
    assert slugs(indexed, "wdqs", status="final") == ["2026-05-13_wdqs"]  # the only final wdqs report
    assert len(slugs(indexed, "wdqs", limit=2)) == 2


def test_operators_phrases_and_fields(indexed: Store) -> None:
    assert "2019-04-15_maps" not in slugs(indexed, "maps NOT kartotherian")
    assert "2017-06-01_maps" in slugs(indexed, "maps NOT kartotherian")
    assert set(slugs(indexed, "title:ores")) == {"2016-09-24_ores", "2017-11-20_ext-ores"}
    # only the d2 report has the words side by side ("the top of rack switch"); the others say
    # "the network switch for Rack 4", "the switch for that rack"
    assert slugs(indexed, '"rack switch"') == ["2019-09-20_d2-switch-failure"]
    assert set(slugs(indexed, "kartotheri*")) == {"2019-04-15_maps"}


@pytest.mark.parametrize("typed", ['wdqs-categories', 'foo:bar', '"unclosed', "(", "wdqs AND", "OR wdqs", "a:b:c", "'; DROP TABLE x"])
def test_anything_typed_is_a_query_or_a_clean_error(indexed: Store, typed: str) -> None:
    try:
        search(indexed, typed)
    except InputError as exc:
        assert "\n" not in exc.message


def test_an_empty_query_is_a_clear_error() -> None:
    with pytest.raises(InputError, match="nothing to search for"):
        fts_query('"" OR')


def test_reindex_rebuilds_the_index_and_deleting_an_incident_removes_it(store: Store) -> None:
    store.save_incident(IncidentRecord(slug="2024-01-01_gone", title="Zanzibar gateway down", start="2024-01-01T10:00:00Z"))
    index_page(store, "2024-01-01_gone", "== Summary ==\nThe zanzibar gateway was down for an hour.\n")
    assert slugs(store, "zanzibar") == ["2024-01-01_gone"]
    store.db.execute("DELETE FROM search_documents")
    assert slugs(store, "zanzibar") == []
    assert reindex(store, Settings()) == 1
    assert slugs(store, "zanzibar") == ["2024-01-01_gone"]  # from the page text it kept
    with store.transaction():
        store.db.execute("DELETE FROM incidents WHERE slug = '2024-01-01_gone'")
    assert slugs(store, "zanzibar") == [] and store.document_count() == 0
    assert store.db.execute("SELECT count(*) FROM search_fts").fetchone()[0] == 0


def test_draft_and_import_keep_the_index_current(tmp_path: Path) -> None:
    drafted = run("draft", "--replay", str(EXAMPLE), "-o", str(tmp_path / "draft.wiki"))
    assert drafted.exit_code == 0, drafted.output
    with home_store() as store:  # words of the example's SAL and task titles
        assert slugs(store, "backport") == ["2023-02-14_backport-crash"]
    pages = tmp_path / "pages"
    save_page_text(pages, "Incidents/2019-04-15 maps", dict(real_pages())["Incidents/2019-04-15 maps"])
    assert run("import", "--replay", str(pages)).exit_code == 0
    result = run("incidents", "search", "tilerator", "--format", "json")
    assert result.exit_code == 0, result.output
    (hit,) = json_lines(result.stdout)
    assert hit["slug"] == "2019-04-15_maps" and "**Tilerator**" in hit["snippet"]


def test_search_on_a_terminal_and_its_errors(tmp_path: Path) -> None:
    home_store().close()  # an empty store
    result = run("incidents", "search", "anything", "--format", "table")
    assert result.exit_code == 0 and "0 incidents found." in result.stdout  # a table's summary is under it
    bad = run("incidents", "search", '""')
    assert bad.exit_code != 0 and bad.stderr.startswith("Error: nothing to search for") and "Traceback" not in bad.output


def test_the_same_page_again_is_not_indexed_again(store: Store) -> None:
    store.save_incident(IncidentRecord(slug="2024-01-01_same", title="Same", start="2024-01-01T10:00:00Z"))
    assert index_page(store, "2024-01-01_same", "== Summary ==\nThe quokka feeder stalled.\n") is True
    first = store.db.execute("SELECT indexed_at FROM search_documents").fetchone()[0]
    assert index_page(store, "2024-01-01_same", "== Summary ==\nThe quokka feeder stalled.\n") is False
    assert store.db.execute("SELECT indexed_at FROM search_documents").fetchone()[0] == first
    assert index_page(store, "2024-01-01_same", "== Summary ==\nThe wombat feeder stalled.\n") is True
    assert slugs(store, "wombat") == ["2024-01-01_same"] and slugs(store, "quokka") == []


def test_draft_facts_are_stored_as_plain_json_and_read_back() -> None:
    paged = datetime(2024, 5, 1, 18, 2, tzinfo=UTC)
    facts = DraftFacts(
        timeline="18:00 db1001 paged",
        signals=merge_signals({"host": {"db1002", "db1001"}, "alert": {"MariaDBDown"}}),
        moments=KeyMoments(impact_start=datetime(2024, 5, 1, 17, 58, tzinfo=UTC), detected=paged),
        pages=(paged,),
    )
    data = {
        "timeline": "18:00 db1001 paged",
        "signals": {"host": ["db1001", "db1002"], "alert": ["MariaDBDown"]},
        "moments": {"impact_start": "2024-05-01T17:58:00Z", "detected": "2024-05-01T18:02:00Z"},
        "pages": ["2024-05-01T18:02:00Z"],
    }
    assert facts.to_dict() == data
    assert DraftFacts.from_dict(data) == facts
    assert DraftFacts.from_dict({}) == DraftFacts()  # an older row may lack any key


def test_a_search_hit_as_json() -> None:
    hit = SearchHit(
        slug="2024-05-01_db", title="Database outage", day=date(2024, 5, 1), status="review", score=1.23456,
        snippet=f"the {MARK_START}database{MARK_END} was down", page="Incidents/2024-05-01 db",
    )  # fmt: skip
    assert hit.to_dict(mark=("<", ">")) == {
        "slug": "2024-05-01_db", "title": "Database outage", "date": "2024-05-01", "status": "review", "score": 1.235,
        "snippet": "the <database> was down", "page": "Incidents/2024-05-01 db",
    }  # fmt: skip
    undated = SearchHit(slug="x", title="X", day=None, status="draft", score=2.0, snippet="x", page=None)
    assert undated.to_dict()["date"] is None and undated.to_dict()["snippet"] == "x"


def test_similarity_compares_the_title_thrice_the_summary_and_timeline_else_the_body() -> None:
    full = IncidentDocument(
        slug="a", title="Db down", day=None, summary="Disk full.", timeline="10:00 paged", body="Other words.",
        signals={"host": {"db1001"}},
    )  # fmt: skip
    assert full.compared_texts() == ("Db down", "Disk full.", "10:00 paged", "")
    assert full.similarity_text() == "Db down\nDb down\nDb down\nDisk full.\n10:00 paged"
    bare = IncidentDocument(slug="b", title="Db down", day=None, body="Other words.")
    assert bare.compared_texts() == ("Db down", "", "", "Other words.")
    assert bare.similarity_text() == "Db down\nDb down\nDb down\nOther words."
    counts = [{"db": 1, "down": 1}, {"disk": 1, "full": 1}, {"10": 1, "00": 1, "page": 1}, {"other": 5}]
    comparable = full.comparable(counts)
    assert comparable.counts == {"db": 3, "down": 3, "disk": 1, "full": 1, "page": 1, "other": 5}  # no numbers
    assert comparable.title == frozenset({"db", "down"})
    assert comparable.signals["host"] == frozenset({"db1001"}) and comparable.signals["alert"] == frozenset()


def test_a_term_in_several_compared_fields_counts_the_sum_of_them_the_title_thrice() -> None:
    document = IncidentDocument(
        slug="a", title="Db down, db restarted", day=None, summary="The db disk was full.", timeline="10:00 db disk alert",
    )  # fmt: skip
    title = {"db": 2, "down": 1, "restart": 1}
    summary = {"the": 1, "db": 1, "disk": 1, "wa": 1, "full": 1}
    timeline = {"10": 1, "00": 1, "db": 1, "disk": 1, "alert": 1}
    counts = document.comparable([title, summary, timeline, {}]).counts
    # db: twice in the title (3 x 2), once in the summary, once in the timeline
    assert counts == {"db": 8, "down": 3, "restart": 3, "the": 1, "disk": 2, "wa": 1, "full": 1, "alert": 1}


def test_a_term_counts_the_documents_holding_it_in_any_field(store: Store) -> None:
    pages = {
        "2024-01-01_a": "== Summary ==\nThe quokka feeder stalled.\n== Conclusions ==\nWombats.\n",
        "2024-01-02_b": "== Summary ==\nA quokka again.\n",
    }
    for day, (slug, text) in enumerate(pages.items(), start=1):
        store.save_incident(IncidentRecord(slug=slug, title="Feeder", start=f"2024-01-0{day}T10:00:00Z"))
        index_page(store, slug, text)
    words = ["quokka", "wombat", "feeder", "zebra"]
    assert store.term_documents(words) == {"quokka": 2, "wombat": 1, "feeder": 2}  # stemmed; none has a zebra
    index_page(store, "2024-01-02_b", "== Summary ==\nA wombat now.\n")
    assert store.term_documents(words) == {"quokka": 1, "wombat": 2, "feeder": 2}
    with store.transaction():
        store.db.execute("DELETE FROM incidents WHERE slug = '2024-01-01_a'")
    assert store.term_documents(words) == {"wombat": 1, "feeder": 1}


def test_a_report_page_in_fields_without_its_template_prompts() -> None:
    from incidentkit.wikitext.searchtext import report_text

    page = (
        "{{irdoc|status=draft}}\n== Summary ==\nThe [[Kafka|kafka]] brokers lost their '''metadata'''.\n"
        "Who was affected and how? For user-facing outages, estimate...\n"
        "== Timeline ==\n* 10:00 {{Phabricator|T123456}} opened &amp; <span>triaged</span>\n"
        "== Conclusions ==\n=== What went well? ===\n* alerts fired\n== Actionables ==\n* [[phab:T1234|T1234]] Add a canary\n"
        "[[Category:Incident documentation]]\n"
    )
    fields = report_text(page)
    assert fields.summary == "The kafka brokers lost their metadata."  # the template's question is left out
    assert fields.timeline == "* 10:00 T123456 opened & triaged"
    assert "What went well?" in fields.conclusions and "alerts fired" in fields.conclusions
    assert fields.actionables.startswith("* T1234 Add a canary")
    assert "Kafka" not in fields.body and "brokers" not in fields.body


# --- a page's words for the index (hand-worked tables) --------------------------------------------


@pytest.mark.parametrize(
    ("wikitext", "words"),
    [
        ("a<!-- hidden\nnote -->b", "a b"),
        ("see {{Phabricator|T123}} and {{ phab | 45 }} or {{TASK|T6|x}} {{bug|7}}", "see T123 and T45 or T6 T7"),
        ("a {{x|{{y|{{z}}}}}} b", "a b"),  # three levels of nesting
        ("a {{w|{{x|{{y|{{z}}}}}}}} b", "a {{w| }} b"),  # a fourth is left: real pages never nest so deep
        ("{{a}}{{b}} c", "c"),
        ("the [[Kafka|kafka brokers]] and [[Etcd]]", "the kafka brokers and Etcd"),
        ("[https://grafana.example/d/x the dashboard] and [//phab.example/T1 a task] [https://x.example/]", "the dashboard and a task"),
        ("[http://x.example/ old] [HTTPS://y.example/ shout]", "old [HTTPS://y.example/ shout]"),
        ("<span style='x'>in</span> <br/> <Ref name=a>r</Ref>", "in r"),
        ("a < b and c > d", "a < b and c > d"),  # not a tag
        ("'''bold''' ''it'' it's", "bold it it's"),
        ("&amp; &lt;b&gt; &#91;x&#93; caf&eacute;", "& <b> [x] café"),
        ("{{x}}&amp;lt;", "&lt;"),  # entities are read once
        ("  spaced\t\twords  \n\n\nnext   line ", "spaced words\nnext line"),
        ("kept\nJump to  Navigation\nfrom wikitech, the free\nRevision as of 2020", "kept"),
        ("nothing to strip: 2 // 3, 1 ' 2", "nothing to strip: 2 // 3, 1 ' 2"),
        # a phrase's first and last words may be glued to others: its inner words are words of the text
        ("Skip:jump to contents\nkept\nxwere fewer than five people pagedx", "kept"),
        ("jump to\ncontent\njump tocontent", "jump to\ncontent\njump tocontent"),  # a line break, a glued inner word
    ],
    ids=[
        "comment", "task-templates", "nested", "too-deep", "adjacent", "wikilinks", "external", "scheme-case",
        "tags", "no-tag", "quotes", "entities", "entities-once", "spaces", "boilerplate", "plain",
        "boilerplate-glued", "boilerplate-apart",
    ],
)
def test_plain_text_keeps_the_words(wikitext: str, words: str) -> None:
    from incidentkit.wikitext.searchtext import plain_text

    assert plain_text(wikitext) == words


@pytest.mark.parametrize(
    ("wikitext", "words"),
    [
        ("{|\n|+ caption\n|-\n! a !! b\n|-\n| c || d\n|}", "caption\n! a b\n| c d"),  # a cell's leading bar is punctuation to the index
        ("{| class=x\n| one", "class=x\n| one"),
        ("  |}\nafter", "after"),
        ("|-\nrow", "row"),
        ("|+ title", "title"),
        ("a || b", "a b"),
        ("a !! b", "a b"),
        ("a | b ! c", "a | b ! c"),  # one bar or bang is text
        ("x {| y", "x {| y"),  # a table starts a line
    ],
    ids=["table", "start", "end", "row", "caption", "cells", "header-cells", "single", "mid-line"],
)
def test_plain_text_drops_table_markup(wikitext: str, words: str) -> None:
    from incidentkit.wikitext.searchtext import plain_text

    assert plain_text(wikitext) == words


def test_a_report_page_in_fields_by_heading_level() -> None:
    from incidentkit.wikitext.searchtext import report_text

    page = (
        "intro words\n== Summary and metadata ==\nsummary words\n=== Impact ===\nimpact words\n"
        "== Timeline (UTC) ==\ntimeline words\n== Other ==\nother words\n==Summary==\nsecond summary\n"
        "== Lessons learned ==\nlearned\n== Next steps ==\nsteps\n=== Detail ===\nmore steps"
    )
    fields = report_text(page)
    assert fields.summary == "summary words\n=== Impact ===\nimpact words"  # down to the next heading of its level
    assert fields.timeline == "timeline words"
    assert fields.conclusions == "learned"
    assert fields.actionables == "steps\n=== Detail ===\nmore steps"  # to the end of the page
    assert fields.body == "intro words\n== Other ==\nother words\n==Summary==\nsecond summary"  # only the first Summary


def test_a_report_page_in_fields_by_the_outline_given() -> None:
    from incidentkit.wikitext.searchtext import ReportText, report_text

    page = "Summary\nthe words\nTimeline\nat noon"
    assert report_text(page, [(0, 1, " Summary "), (2, 2, "Timeline")]) == ReportText(
        summary="the words\nTimeline\nat noon",  # a heading of a lower level is inside the section
        timeline="at noon",
    )
    assert report_text(page, []) == ReportText(body="Summary\nthe words\nTimeline\nat noon")
    assert report_text("no headings\nat all") == ReportText(body="no headings\nat all")
    assert report_text("== Timeline ==\nat noon\n== Actionables ==\n* fix") == ReportText(timeline="at noon", actionables="* fix")


def _document(store: Store, slug: str, *, title: str, day: date | None, text: bool = True, **fields: object) -> int:
    """Record the incident *slug* (status review, its page named) and save its search document."""
    store.save_incident(IncidentRecord(slug=slug, title=title, status="review", page=f"Incidents/{slug}"))
    document = IncidentDocument(slug=slug, title=title, day=day, **fields)  # type: ignore[arg-type]
    draft = DraftFacts(timeline="18:00 Ünïcode paged", pages=(datetime(2024, 5, 1, 18, tzinfo=UTC),))
    options = {} if text else {"text": False}
    doc_id = store.save_document(
        document, draft=draft, page_text=f"== Summary ==\n{title} ✓", page_revision=42,
        comparable=Comparable(counts={"outag": 1}, title=frozenset({"élan"})), **options,  # type: ignore[arg-type]
    )  # fmt: skip
    return doc_id


def test_an_indexed_incident_reads_back_as_recorded(store: Store) -> None:
    start = datetime(2024, 5, 1, 17, 30, tzinfo=UTC)
    _document(store, "2024-05-01_db", title="Database outage", day=date(2024, 5, 1), start=start)
    _document(store, "undated", title="Undated outage", day=None)
    store.save_incident(IncidentRecord(slug="2024-06-01_not-indexed", title="Not indexed"))
    found = store.indexed_incident("2024-05-01_db")
    assert found is not None and (found.slug, found.title, found.day, found.start, found.status, found.page) == (
        "2024-05-01_db", "Database outage", date(2024, 5, 1), "2024-05-01T17:30:00Z", "review", "Incidents/2024-05-01_db",
    )  # fmt: skip
    undated = store.indexed_incident("undated")
    assert undated is not None and (undated.day, undated.start, undated.order) == (None, None, ("", "undated"))
    assert store.indexed_incident("2024-06-01_not-indexed") is None
    assert store.unindexed_slugs() == ["2024-06-01_not-indexed"]


def test_what_a_document_was_built_from_reads_back_and_is_stored_as_written(store: Store) -> None:
    _document(store, "2024-05-01_db", title="Database outage", day=date(2024, 5, 1))
    parts = store.stored_parts("2024-05-01_db")
    assert parts is not None
    assert parts.draft == DraftFacts(timeline="18:00 Ünïcode paged", pages=(datetime(2024, 5, 1, 18, tzinfo=UTC),))
    assert (parts.page_text, parts.page_revision) == ("== Summary ==\nDatabase outage ✓", 42)
    assert store.stored_parts("no-such-incident") is None
    draft, comparable = store.db.execute("SELECT draft, comparable FROM search_documents").fetchone()
    assert "Ünïcode" in draft and "élan" in comparable  # readable in any SQLite tool, not \u-escaped


def test_a_document_is_searchable_unless_its_text_is_left_to_the_caller(store: Store) -> None:
    _document(store, "2024-05-01_db", title="Database outage", day=date(2024, 5, 1))
    _document(store, "2024-05-02_dns", title="DNS outage", day=date(2024, 5, 2), text=False)
    assert [hit.slug for hit in store.search_text("outage")] == ["2024-05-01_db"]
    (hit,) = store.search_text("database")
    assert (hit.title, hit.day, hit.status, hit.page) == ("Database outage", date(2024, 5, 1), "review", "Incidents/2024-05-01_db")


def test_the_similarity_text_is_read_back_from_the_index(store: Store) -> None:
    fields = {"summary": "The primary ran out of disk.", "timeline": "18:00 alert fired", "body": "More words here."}
    _document(store, "2024-05-01_db", title="Database outage", day=date(2024, 5, 1), **fields)
    expected = IncidentDocument(slug="2024-05-01_db", title="Database outage", day=None, **fields).similarity_text()
    assert store.similarity_text("2024-05-01_db") == expected
    assert "Database outage" in expected and "ran out of disk" in expected and "alert fired" in expected
    assert store.similarity_text("no-such-incident") == ""
    _document(store, "2024-05-02_lost", title="Lost headings", day=date(2024, 5, 2), body="Only the rest of the page.")
    assert "Only the rest of the page." in store.similarity_text("2024-05-02_lost")  # no summary nor timeline


def test_repeats_are_pairs_at_most_the_days_apart_counted_by_whole_days(store: Store) -> None:
    days = {"a": date(2024, 5, 1), "b": date(2024, 5, 3), "c": date(2024, 5, 4), "d": date(2024, 6, 1)}
    ids = {key: _document(store, f"x-{key}", title=f"Outage {key}", day=day) for key, day in days.items()}
    store.add_links({(ids["a"], ids["b"]): 0.5, (ids["a"], ids["c"]): 0.7, (ids["c"], ids["d"]): 0.9}, list(ids.values()))
    assert sorted(store.repeat_links(2)) == [("x-b", "x-a", 0.5, 2.0)]  # 3 days apart is more than 2
    assert sorted(store.repeat_links(3)) == [("x-b", "x-a", 0.5, 2.0), ("x-c", "x-a", 0.7, 3.0)]
    assert sorted(store.repeat_links(30, since=date(2024, 5, 4))) == [("x-c", "x-a", 0.7, 3.0), ("x-d", "x-c", 0.9, 28.0)]


def test_a_search_reads_twenty_hits_unless_asked_and_says_how_to_write_a_query(store: Store) -> None:
    for n in range(22):
        _document(store, f"2024-05-{n + 1:02d}_outage", title=f"Outage {n}", day=date(2024, 5, n + 1))
    assert len(store.search_text("outage")) == 20
    assert len(store.search_text("outage", limit=21)) == 21
    with pytest.raises(InputError) as caught:
        store.search_text('"unbalanced')
    assert caught.value.message.startswith("cannot search for '\"unbalanced': ")
    assert caught.value.hint == 'write words, "quoted phrases", prefix* and AND / OR / NOT between them'
