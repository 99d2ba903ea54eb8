"""Reading existing incident reports: status, metadata, actionables (every style), scorecard answers."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from incidentkit.services.scorecard import load_definition
from incidentkit.wikitext.reports import (
    ItemStatus,
    Located,
    Report,
    Unparsed,
    gerrit_refs,
    lenient_datetime,
    parse_metadata,
    parse_report,
    parse_status,
    task_refs,
    title_date,
)
from tests.incident_pages import real_pages, seed_pages, wikitext_pages

PAGES = dict(real_pages() + seed_pages() + wikitext_pages())


def report(title: str) -> Report:
    parsed = parse_report(title, PAGES[title], prefix="Incidents/", scorecard=load_definition())
    assert isinstance(parsed, Report), parsed
    return parsed


def rows(parsed: Report) -> list[tuple[str, tuple[str, ...], ItemStatus]]:
    return [(a.text, a.tasks, a.status) for a in parsed.actionables]


# --- the constructed page with every style ----------------------------------------------------

STYLES = "Incidents/2024-02-01 Example all actionable styles"


def test_every_actionable_style_is_read() -> None:
    parsed = report(STYLES)
    assert rows(parsed) == [
        ("Add an alert for save failures", ("T350010",), ItemStatus.UNKNOWN),
        ("Decide on the rollback policy", ("T350011",), ItemStatus.UNKNOWN),
        ("Move the cache to the new cluster", ("T350012",), ItemStatus.UNKNOWN),
        ("follow up on the comment", ("T350013",), ItemStatus.UNKNOWN),
        ("Document the procedure", ("T350014",), ItemStatus.UNKNOWN),
        ("Rebuild the packages", ("T350015",), ItemStatus.UNKNOWN),
        ("Fix the underlying bug and deploy again while testing all namespaces", ("T350016",), ItemStatus.UNKNOWN),
        ("Dashboards for every service", ("T350017",), ItemStatus.UNKNOWN),
        ("Rebuild the Kafka packages", (), ItemStatus.DONE),
        ("Fix the switch topology", ("T350018",), ItemStatus.UNRESOLVED),
        ("Add geoshapes to the monitoring spec", ("T350019",), ItemStatus.DONE),
        ("Kartographer should handle external data errors gracefully", ("T350020",), ItemStatus.NOT_DONE),
        ("Create a partman recipe for the new brokers.", (), ItemStatus.DROPPED),
        ("Create partman recipe for new Kafka brokers. Too complicated for partman :/", (), ItemStatus.DONE),
        ("Improve monitoring", (), ItemStatus.UNKNOWN),
        ("Alert on queue length", ("T350021",), ItemStatus.UNKNOWN),
        ("Alert on error rate", ("T350022",), ItemStatus.UNKNOWN),
        ("(this covers both cases)", (), ItemStatus.UNKNOWN),
        ("Can we increase fiber redundancy?", (), ItemStatus.UNKNOWN),
        ("Set up paging alerting on backend connections piling up", (), ItemStatus.UNRESOLVED),
        ("Move backend restarts from weekly to bi-weekly", (), ItemStatus.DONE),
        ("Cache the virtualenv for faster rollback", ("T350023",), ItemStatus.IN_PROGRESS),
        ("Parallelize the deployment", ("T350024",), ItemStatus.DONE),
    ]
    assert parsed.placeholders == 3  # two "To do #N (TODO: Create task)" and "…"
    assert parsed.found is Located.HEADING


def test_item_details_anchor_gerrit_notes_struck_nesting_questions() -> None:
    items = report(STYLES).actionables
    by_text = {a.text: a for a in items}
    assert by_text["follow up on the comment"].anchors == ("T350013#9876543",)
    restarts = by_text["Move backend restarts from weekly to bi-weekly"]
    assert restarts.gerrit == ("419090",) and restarts.note == "done in gerrit:419090"
    assert by_text["Set up paging alerting on backend connections piling up"].note == "TBD"
    assert by_text["Create a partman recipe for the new brokers."].struck
    parent = [i for i, a in enumerate(items) if a.text == "Improve monitoring"][0]
    assert [a.text for a in items if a.parent == parent] == [
        "Alert on queue length",
        "Alert on error rate",
        "(this covers both cases)",
    ]
    assert all(a.depth == 2 for a in items if a.parent == parent)
    assert by_text["Can we increase fiber redundancy?"].question
    assert "[[phab:T350011]]" in by_text["Decide on the rollback policy"].raw


def test_tasks_outside_the_actionables_are_not_actionables() -> None:
    parsed = report(STYLES)
    assert "T350090" not in parsed.task_ids and "T350091" not in parsed.task_ids
    assert parsed.task == "T350001"  # the incident task, from the metadata table


def test_current_format_metadata_status_and_scorecard() -> None:
    parsed = report(STYLES)
    assert parsed.status == "review"
    assert parsed.date == date(2024, 2, 1)
    assert parsed.start == datetime(2024, 2, 1, 9, 18, tzinfo=UTC)
    assert parsed.end == datetime(2024, 2, 1, 10, 2, tzinfo=UTC)
    assert dict(parsed.metadata) == {
        "incident_id": "2024-02-01 Example all actionable styles",
        "start": "2024-02-01 9:18",
        "end": "2024-02-01 10:02:00 UTC",
        "task": "T350001",
        "people_paged": "3",
        "responder_count": "7+",
        "coordinators": "taavi, cdanis",
        "affected_metrics": "No relevant SLOs exist",
        "impact": "For 44 minutes, some editors could not save their edits.",
    }
    answers = {key: (str(answer), note) for key, (answer, note) in parsed.scorecard.items()}
    assert answers["few_paged"] == ("yes", "only 3")
    assert answers["responders_prepared"] == ("no", "preparedness, the documentation is a decade old")
    assert len(answers) == 4  # the blank row is not an answer
    assert parsed.wikitext


def test_legacy_page_irdoc_final_action_items_numbered_and_continuations() -> None:
    parsed = report("Incidents/20141001-Legacy statuses")
    assert parsed.status == "final"
    assert rows(parsed) == [
        ("Alert on disk usage above 80%", ("T70002",), ItemStatus.DONE),
        ("Move old indices to cold storage", ("T70003",), ItemStatus.IN_PROGRESS),
        ("Buy bigger disks Not worth it for a cluster that is being replaced.", (), ItemStatus.WONT_DO),
        ("Review the retention policy", (), ItemStatus.UNKNOWN),
    ]
    assert "T70001" not in parsed.task_ids  # timeline only


@pytest.mark.parametrize(
    ("title", "reason"),
    [
        ("Incidents/20141001-Legacy statuses/minutes", "subpage"),
        ("Incidents/20141002-Old name", "redirect"),
        ("Incidents/Train deploys", "no incident date"),
    ],
)
def test_pages_that_are_not_reports_say_why(title: str, reason: str) -> None:
    parsed = parse_report(title, PAGES[title], prefix="Incidents/")
    assert isinstance(parsed, Unparsed)
    assert reason in parsed.reason


def test_empty_page_is_not_a_report() -> None:
    assert parse_report("Incidents/2020-01-01 x", "  \n") == Unparsed("Incidents/2020-01-01 x", "the page is empty")


# --- real pages (rendered text degrades gracefully) -------------------------------------------


def test_real_2015_status_done_style() -> None:
    parsed = report("Incidents/20150803-Kafka")
    assert [a.status for a in parsed.actionables] == [ItemStatus.DONE] * 3
    assert parsed.actionables[0].text.startswith("Rebuild 0.8.2.1 Kafka .deb package")
    assert parsed.status is None and not parsed.wikitext


def test_real_2017_done_templates_rendered_and_found_by_anchor_sentence() -> None:
    parsed = report("Incidents/20170601-Maps")
    assert parsed.found is Located.ANCHOR
    assert rows(parsed) == [
        ("Add geoshapes and geolines to monitoring spec", ("T166776",), ItemStatus.DONE),
        ("Services need external monitoring", ("T167048",), ItemStatus.DONE),
        ("Kartographer should handle external data errors gracefully", ("T148883",), ItemStatus.NOT_DONE),
    ]
    assert "T166735" not in parsed.task_ids  # the summary's reference


def test_real_2018_wikitext_phab_links_tbd_and_gerrit() -> None:
    parsed = report("Incidents/20180312-Cache-text")
    assert parsed.wikitext
    assert rows(parsed) == [
        ("Continue ongoing related investigations in T181315", ("T181315",), ItemStatus.UNKNOWN),
        ("Set up paging alerting on backend connections piling up", (), ItemStatus.UNRESOLVED),
        ("Move backend restarts from weekly to bi-weekly", (), ItemStatus.DONE),
        ("Long term: Move to ATS as caching solution for cache backends", ("T96853",), ItemStatus.UNKNOWN),
    ]


def test_real_rendered_page_without_headings_reads_its_last_list_and_says_so() -> None:
    parsed = report("Incidents/20160924-ORES")
    assert parsed.found is Located.LAST_LIST
    assert [a.tasks for a in parsed.actionables] == [("T146560",), ("T146090",)]
    assert any("last list" in p for p in parsed.problems)
    ulsfo = report("Incidents/2022-03-01 ulsfo network")
    assert [(a.tasks, a.question) for a in ulsfo.actionables] == [(("T303219",), False), ((), True)]


def test_real_seed_pages_with_status_markers() -> None:
    ores = report("Incidents/2017-11-20 Ext:ORES")
    assert [(a.tasks[0], a.status) for a in ores.actionables] == [
        ("T181191", ItemStatus.DONE),
        ("T181183", ItemStatus.DONE),
        ("T181071", ItemStatus.IN_PROGRESS),
        ("T181067", ItemStatus.DONE),
        ("T181187", ItemStatus.DONE),
    ]
    assert ores.actionables[2].text == "Cache virtualenv for faster rollback."
    loss = report("Incidents/20160202-deployment-server-loss")
    top = [a for a in loss.actionables if a.parent is None]
    assert [a.status for a in top] == [
        ItemStatus.DONE, ItemStatus.UNRESOLVED, ItemStatus.UNRESOLVED, ItemStatus.DONE, ItemStatus.DONE,
        ItemStatus.IN_PROGRESS, ItemStatus.DONE,
    ]  # fmt: skip
    assert top[0].text == "Include tin and/or mira /srv on our backup system" and top[0].tasks == ("T125527",)
    assert top[1].note == "Vague suggestion, needs discussion"
    assert sum(1 for a in loss.actionables if a.parent is not None) == 2


def test_real_placeholder_only_actionables_and_one_field_per_line_metadata() -> None:
    papal = report("Incidents/2025-05-08 Papal announcement traffic surge")
    assert papal.actionables == () and papal.placeholders == 1
    assert papal.metadata["coordinators"] == "taavi, cdanis"
    assert papal.metadata["affected_metrics"] == "Traffic SLO?"
    assert "task" not in papal.metadata and "people_paged" not in papal.metadata
    assert papal.start == datetime(2025, 5, 8, 17, 16, tzinfo=UTC)


def test_real_markdown_table_metadata() -> None:
    parsed = report("Incidents/2022-06-21 asw-a2-codfw accidental power cycle")
    assert parsed.task == "T309957"
    assert parsed.metadata["coordinators"] == "XioNoX"
    assert parsed.metadata["people_paged"] == "0"
    assert parsed.metadata["impact"].startswith("For 11 minutes, one of the Codfw server racks")
    assert parsed.status == "review"  # rendered "document status: in-review"


def test_real_malformed_metadata_is_kept_raw_and_reported() -> None:
    parsed = report("Incidents/2023-01-17 asw-b2-codfw failure redux")
    assert parsed.start == datetime(2023, 1, 17, 13, 0, tzinfo=UTC)  # "2023_01_17 13:00:00"
    assert parsed.end is None
    assert parsed.metadata["end"] == "not ongoing/follow up stage"
    assert "End: 'not ongoing/follow up stage' is not a time" in parsed.problems


def test_real_template_placeholders_are_unset() -> None:
    parsed = report("Incidents/2021-11-10 cirrussearch commonsfile outage")
    assert set(parsed.metadata) == {"incident_id", "impact"}  # YYYY-MM-DD hh:mm:ss, <amount of people> ...
    assert parsed.status == "final"


def test_real_impossible_title_date_is_a_problem_not_a_crash() -> None:
    parsed = report("Incidents/2018-02-29 Train-1.31.0-wmf.27")
    assert parsed.date is None
    assert "the title date 2018-02-29 is not a calendar date" in parsed.problems


def test_every_real_page_parses_without_crashing() -> None:
    for title, text in real_pages():
        assert isinstance(parse_report(title, text, prefix="Incidents/"), Report), title


# --- pieces ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tasks"),
    [
        ("see {{Phabricator|T123}} and {{phab|45}}", ("T123", "T45")),
        ("[[phab:T181315]] / [[Phab:T293726#7452237|T293726#7452237]]", ("T181315", "T293726")),
        ("https://phabricator.wikimedia.org/T322424 and phabricator:T219450", ("T322424", "T219450")),
        ("(task T166776) (Task T12) bug T219450 T96853", ("T166776", "T12", "T219450", "T96853")),
        ("T303219 Integrate DNS depools", ("T303219",)),
        ("tiny T12 is not an id without a prefix, nor t1234 or F12345", ()),
        ("bare T123 needs four digits; T1234 has them", ("T1234",)),
        ("task T123 and phab:T7 with their prefix", ("T123", "T7")),
        ("rPHEX721eca9b64cc38b495a255bad46cbe11f3d5c390 and https://grafana.example/T1234", ()),
    ],
)
def test_task_references(text: str, tasks: tuple[str, ...]) -> None:
    assert task_refs(text)[0] == tasks


def test_task_anchors_and_gerrit_refs() -> None:
    assert task_refs("T324149#8700128 and T324149")[1] == ("T324149#8700128",)
    assert gerrit_refs("[[gerrit:419090]], https://gerrit.wikimedia.org/r/#/c/282163/ and gerrit: 5") == (
        "419090",
        "282163",
        "5",
    )


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("{{irdoc|status=<includeonly>draft</includeonly>}}", "draft"),
        ("{{irdoc|status=in-review}}", "review"),
        ("{{Irdoc | status = final }}", "final"),
        ("{{irdoc-review}}", "review"),
        ("From Wikitech\ndocument status: in-review\n", "review"),
        ("no status here", None),
    ],
)
def test_document_status(text: str, status: str | None) -> None:
    assert parse_status(text) == status


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2023-06-06 00:30:00", datetime(2023, 6, 6, 0, 30, tzinfo=UTC)),
        ("2023-02-22 9:18", datetime(2023, 2, 22, 9, 18, tzinfo=UTC)),
        ("2025-02-27 14:10 UTC", datetime(2025, 2, 27, 14, 10, tzinfo=UTC)),
        ("2022-10-31", datetime(2022, 10, 31, tzinfo=UTC)),
        ("2022-07-20 03:25 (mostly)", datetime(2022, 7, 20, 3, 25, tzinfo=UTC)),
        ("2023_01_17 13:00:00", datetime(2023, 1, 17, 13, 0, tzinfo=UTC)),
        ("not ongoing/follow up stage", None),
        ("2018-02-29 10:00", None),
        ("2023-02-22 24:00", datetime(2023, 2, 22, tzinfo=UTC)),  # no such hour: the day alone
        ("2023-02-22 23:60", datetime(2023, 2, 22, tzinfo=UTC)),
        ("2023-02-22 23:59:60", datetime(2023, 2, 22, tzinfo=UTC)),
        ("2023-02-22 23:59:59", datetime(2023, 2, 22, 23, 59, 59, tzinfo=UTC)),
        ("alerted 09:58, down 2023-02-22 10:05", datetime(2023, 2, 22, 10, 5, tzinfo=UTC)),  # the time after the date
    ],
)
def test_lenient_metadata_times(raw: str, expected: datetime | None) -> None:
    assert lenient_datetime(raw) == expected


def test_title_dates() -> None:
    assert title_date("20150803-Kafka") == (date(2015, 8, 3), None)
    assert title_date("2023-06-06 dawiktionary/dawiki partial outage") == (date(2023, 6, 6), None)
    assert title_date("Train deploys 8c71822012dc") == (None, None)


def test_metadata_as_a_template_call() -> None:
    text = "{{Incident metadata|id=2024-01-01 x|start=2024-01-01 10:00|task=[[phab:T1234|T1234]]|paged=2}}"
    assert parse_metadata(text) == {
        "incident_id": "2024-01-01 x",
        "start": "2024-01-01 10:00",
        "task": "T1234",
        "people_paged": "2",
    }


def test_incidentkits_own_actionables_lines_read_back() -> None:
    text = (
        "== Actionables ==\n<!-- incidentkit:begin actionables hash=0123456789ab -->\n"
        "* [[phab:T329510|T329510]] Fix the canary checks (Open) – alice\n"
        "* [[phab:T12|T12]] Re-enable &#91;x&#93; (Resolved)\n"
        "* Keep this – as is\n"
        "* '''TODO:''' To do #1 (TODO: Create task)\n<!-- incidentkit:end actionables -->\n"
    )
    parsed = parse_report("Incidents/2024-05-01 Own format", text)
    assert isinstance(parsed, Report)
    assert [(a.text, a.tasks, a.status, a.owner) for a in parsed.actionables] == [
        ("Fix the canary checks", ("T329510",), ItemStatus.UNRESOLVED, "alice"),
        ("Re-enable [x]", ("T12",), ItemStatus.DONE, None),
        ("Keep this – as is", (), ItemStatus.UNKNOWN, None),
    ]
    assert parsed.placeholders == 1


def test_a_team_page_title_is_named_from_its_dated_part() -> None:
    parsed = parse_report("Catalyst/Incidents/2026-01-29", "== Summary ==\nThe CI runners were down.\n")
    assert isinstance(parsed, Report)
    assert (parsed.name, parsed.date) == ("2026-01-29", date(2026, 1, 29))


# --- actionables: where they are and how bullets group (hand-numbered pages) -------------------------


def _items(text: str, **options: object) -> tuple[list[tuple[int, int, int | None, tuple[str, ...], str]], Located]:
    from incidentkit.wikitext.reports import parse_actionables

    items, _, how = parse_actionables(text, **options)  # type: ignore[arg-type]
    return [(item.line, item.depth, item.parent, item.tasks, item.raw) for item in items], how


def test_actionable_bullets_tables_and_continuations() -> None:
    page = "\n".join([
        "== Summary ==",  # 1
        "x",
        "== Actionables ==",
        '{| class="wikitable"',
        "! Task !! Status",  # 5
        "|-",
        "| T123456 Fix the thing || Done",
        "|-",
        "| T234567 Other",
        "| in progress",  # 10
        "|+ caption",
        "|}",
        "* T345678 After the table",
        "  continued here",
        ": and this",  # 15
        "#: more text",
        "----",
        "** T456789 Sub item",
        "plain text line",
        "  not a continuation",  # 20
        "Incident Engagement ScoreCard",
        "* T567890 not an actionable",
    ])  # fmt: skip
    assert _items(page) == (
        [
            (6, 1, None, ("T123456",), "T123456 Fix the thing Done"),
            (8, 1, None, ("T234567",), "T234567 Other in progress"),
            (13, 1, None, ("T345678",), "T345678 After the table continued here and this more text"),
            (18, 2, 2, ("T456789",), "T456789 Sub item"),
        ],
        Located.HEADING,
    )


def test_rendered_lists_nest_by_indent() -> None:
    page = "Actionables\n- T111111 first\n  - T222222 nested\n    - T333333 deeper\n  - T444444 back\n\t1. T555555 tab\n- T666666 top"
    found, how = _items(page)
    assert [(line, depth, parent) for line, depth, parent, _, _ in found] == [
        (2, 1, None), (3, 2, 0), (4, 3, 1), (5, 2, 0), (6, 3, 3), (7, 1, None)
    ]  # fmt: skip
    assert how is Located.HEADING


def test_actionables_after_the_templates_anchor_sentence() -> None:
    page = "\n".join([
        "Incident report",
        "Explicit next steps to prevent this from happening again:",
        "Intro sentence before the list.",
        "* T111111 First",
        "  more of the first",  # 5
        "* T222222 Second",
        "Closing words.",
        "* T333333 not an actionable",
    ])  # fmt: skip
    assert _items(page) == (
        [(4, 1, None, ("T111111",), "T111111 First more of the first"), (6, 1, None, ("T222222",), "T222222 Second")],
        Located.ANCHOR,
    )


def test_the_last_list_is_read_when_it_looks_like_actionables() -> None:
    page = "Some text\n* 10:00 timeline item\n* 10:05 another\nOther text\n* T123456 Fix it\n  continued\n\tand more\n* Done: add alerts"
    assert _items(page) == ([], Located.NONE)  # only when asked to guess
    assert _items(page, guess=True) == (
        [(5, 1, None, ("T123456",), "T123456 Fix it continued and more"), (8, 1, None, (), "Done: add alerts")],
        Located.LAST_LIST,
    )
    one_in_three = "Text\n* 10:00 restarted\n* T123456 fix\n* T234567 alert"
    assert [tasks for _, _, _, tasks, _ in _items(one_in_three, guess=True)[0]] == [(), ("T123456",), ("T234567",)]
    half = "Text\n* 10:00 restarted\n* T123456 fix"  # as many times as not: a timeline
    assert _items(half, guess=True) == ([], Located.NONE)


def test_headings_of_rendered_and_wikitext_pages() -> None:
    from incidentkit.wikitext.reports import headings

    lines = ["Summary", "What went well?", "Next steps", "### Next steps", "=== Action items ===", "== [[Link|Impact]] ==", "text"]
    assert headings(lines) == [
        (0, 2, "Summary"), (1, 3, "What went well?"), (2, 2, "Next steps"), (3, 3, "Next steps"),
        (4, 3, "Action items"), (5, 2, "Impact"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "wikitext"),
    [
        ("== Summary ==\nwords", True),
        ("{{irdoc|status=final}}\nwords", True),
        ("words\n[[Category:Incident documentation]]", True),
        ("<!-- incidentkit: draft -->\nwords", True),
        ("a == b, {{x}}, [[y]] and <!-- z -->", False),  # the marks, but none of the signs
    ],
    ids=["heading", "status", "category", "marker", "none"],
)
def test_a_page_is_wikitext_by_any_one_of_its_signs(text: str, wikitext: bool) -> None:
    report = parse_report("Incidents/2024-01-01 x", text)
    assert isinstance(report, Report) and report.wikitext is wikitext and report.page == "Incidents/2024-01-01 x"


def test_an_anchor_sentence_alone_finds_the_actionables() -> None:
    from incidentkit.wikitext.reports import parse_actionables

    items, _, located = parse_actionables("Intro\nCreate a list of action items for this.\n* Fix the switch T123456\n")
    assert located is Located.ANCHOR and [item.tasks for item in items] == [("T123456",)]
    every = "Explicit next steps to prevent this\nCreate a list of action items\nNote: please add the #wikimedia-incident tag"
    items, _, located = parse_actionables(f"{every}\n* Fix the switch T123456\n")
    assert located is Located.ANCHOR and [item.tasks for item in items] == [("T123456",)]


def test_incident_id_inside_a_word_starts_no_infobox() -> None:
    assert parse_metadata("The Incident IDs are listed below\nStart 2024-01-01") == {}


def test_headings_bounds_of_the_line_length_looked_at() -> None:
    from incidentkit.wikitext.reports import headings

    lines = [
        "Links to relevant documentation",  # the longest known heading
        "Links to relevant documentation.",  # one letter more: a sentence
        "## Actionables " + "#" * 30,  # a long line with heading markup: its title is what counts
        "== Summary ==" + " " * 40,
    ]
    assert headings(lines) == [(0, 2, "Links to relevant documentation"), (2, 2, "Actionables"), (3, 2, "Summary")]


class _CountingParser:
    """Stands for the mwparserfromhell module in reports, keeping what is given to parse."""

    def __init__(self) -> None:
        import mwparserfromhell

        self.parsed: list[str] = []
        self._parse = mwparserfromhell.parse

    def parse(self, text: str) -> object:
        self.parsed.append(text)
        return self._parse(text)


@pytest.fixture
def parser(monkeypatch: pytest.MonkeyPatch) -> _CountingParser:
    from incidentkit.wikitext import reports

    counting = _CountingParser()
    monkeypatch.setattr(reports, "mwparserfromhell", counting)
    return counting


def test_a_heading_title_without_markup_is_not_parsed(parser: _CountingParser) -> None:
    from incidentkit.wikitext.reports import headings

    assert headings(["== Summary ==", "== ''What'' went well? ==", "=== [[Link|Impact]] ==="]) == [
        (0, 2, "Summary"), (1, 2, "What went well?"), (2, 3, "Impact"),
    ]  # fmt: skip
    assert parser.parsed == ["''What'' went well?", "[[Link|Impact]]"]


@pytest.mark.parametrize(
    ("cell", "text", "parsed"),
    [
        (" '''Start''' \n", "Start", False),  # bold around plain words: the words
        ("''Impact''", "Impact", False),  # italic too
        (" 2024-02-01 9:18\n", "2024-02-01 9:18", False),  # the line's end is no markup
        ("\n'''Task'''\n", "Task", False),
        ("'''it's'''", "it's", True),  # a quote inside: the parser decides
        ("'''[[phab:T1|T1]]'''", "T1", True),  # markup inside
        ("''a'' b", "a b", True),  # emphasis around a part only
        ("'''a''", "'a", True),  # unbalanced
        ("'''''a'''''", "a", True),  # bold and italic
        ("* a", "a", True),  # a list, even after the cell's space
        (" \n* a", "a", True),
        ("a\nb", "a b", True),  # a line break inside
        ("[[User:X|Xavier]] |\n", "Xavier", True),  # a stray pipe after markup
    ],
)
def test_a_cell_is_parsed_only_when_it_holds_markup(parser: _CountingParser, cell: str, text: str, parsed: bool) -> None:
    from incidentkit.wikitext.reports import _cell_text

    assert _cell_text(cell) == text
    assert bool(parser.parsed) is parsed


# --- the metadata infobox in each of its forms (hand-built pages) ----------------------------------


def test_metadata_from_a_wikitable() -> None:
    page = "\n".join([
        "{|\n| Task || T999999\n|}",  # one label: not the infobox
        "<div>",
        '{| class="wikitable"',
        "! Incident ID", "| 2022-03-01 ulsfo", "! UTC Start Timestamp:", "| 2022-03-01 10:00:00",
        "|-",
        "! Task:", "| {{Phabricator|T302795}}", "! Responder count || People paged || 3",
        "|-",
        "| Summary: || Users saw errors || and more",
        "|-",
        "! Task", "| T111111",  # a label again: the first value stays
        "|-",
        "| Coordinators",  # a label in the last cell
        "|}",
        "</div>",
    ])  # fmt: skip
    assert parse_metadata(page) == {
        "incident_id": "2022-03-01 ulsfo", "start": "2022-03-01 10:00:00", "task": "T302795", "people_paged": "3",
        "impact": "Users saw errors",
    }  # fmt: skip


def test_metadata_from_a_template() -> None:
    page = "{{Phabricator|T1}}\n<div>{{Incident metadata\n| Incident ID = 2022-01-01 x\n| start time = 2022-01-01 10:00\n}}</div>"
    assert parse_metadata(page) == {"incident_id": "2022-01-01 x", "start": "2022-01-01 10:00"}


def test_metadata_from_rendered_lines() -> None:
    inline = "\n".join([
        "Metadata: Incident ID 2022-03-06 wdqs Start 2022-03-06 13:50 End 2022-03-06 17:24",
        "Task People paged sre",
        "Responder count",
        "3 Coordinators 0",
        "Impact The Task queue grew.",
        "Task T123456",  # after the impact: the report's text
    ])  # fmt: skip
    assert parse_metadata(inline) == {
        "incident_id": "2022-03-06 wdqs", "start": "2022-03-06 13:50", "end": "2022-03-06 17:24", "people_paged": "sre",
        "responder_count": "3", "coordinators": "0", "impact": "The Task queue grew.",
    }  # fmt: skip
    one_per_line = "\n".join([
        "Incident ID", ": 2024-01-01 x", "(approx.)", "Start", "|---|", "2024-01-01 10:00", "Impact", "Users saw errors.",
        "Task T123456",
    ])  # fmt: skip
    assert parse_metadata(one_per_line) == {"incident_id": "2024-01-01 x", "start": "2024-01-01 10:00", "impact": "Users saw errors."}
    pipes = "| Incident ID | 2023-01-01 x |\n|---|---|\n| Start | 2023-01-01 10:00 |\n| Impact | users | saw errors |"
    assert parse_metadata(pipes) == {"incident_id": "2023-01-01 x", "start": "2023-01-01 10:00", "impact": "users saw errors"}


def test_pages_that_are_not_reports_say_why_with_their_title() -> None:
    assert parse_report("Incidents/2024-01-01 x", "#REDIRECT [[Incidents/2024-01-02 x]]") == Unparsed(
        "Incidents/2024-01-01 x", "the page is a redirect"
    )
    assert parse_report("Incidents/2024-01-01 x/Minutes", "notes") == Unparsed(
        "Incidents/2024-01-01 x/Minutes", "a /minutes subpage, not a report"
    )
    assert parse_report("Incidents/Minutes", "== Actionables ==\n* T123456 x") != Unparsed("Incidents/Minutes", "a /minutes subpage, not a report")
    assert parse_report("Incidents/a/b/2024-01-01 notes", "x") != Unparsed("Incidents/a/b/2024-01-01 notes", "a /2024-01-01 notes subpage, not a report")
    assert parse_report("Incidents/Outage", "== Summary ==\nx") == Unparsed(
        "Incidents/Outage", "no incident date in the title or the Start field"
    )


def test_a_reports_problems_task_and_headings() -> None:
    report = parse_report("Incidents/2024-01-01 x", "{{irdoc|status=draft}}\n== Summary ==\n{| class=\"wikitable\"\n| Incident ID || x\n|-\n| Task || {{phab|T234567}} and T345678\n|}\n")
    assert isinstance(report, Report)
    assert report.task == "T234567" and report.problems == ("no Actionables section found",)
    assert report.headings == ((1, 2, "Summary"),) and report.status == "draft"
    rendered = parse_report("Incidents/2024-01-01 x", "Summary\nwords\n* T123456 add a check\n* T234567 add another")
    assert isinstance(rendered, Report)
    assert rendered.problems == ("no Actionables heading: the page's last list was read as its actionables",)
    assert rendered.headings == ((0, 2, "Summary"),) and rendered.task is None
    dated_by_start = parse_report("Incidents/Outage", "Incident ID x\nStart 2024-02-03 10:00")
    assert isinstance(dated_by_start, Report) and dated_by_start.date == date(2024, 2, 3)


def test_status_templates_and_struck_text_of_an_actionable() -> None:
    from incidentkit.wikitext.reports import parse_actionables

    page = "\n".join([
        "== Actionables ==",
        "* {{Done}} T100001 one",
        "* {{Not_done}} T100002 two",
        "* {{Declined}} T100003 three",
        "* {{In progress}} T100004 four",
        "* {{task|T100005}} {{Done}} five",
        "* {{Other|param}} T100006 six &amp; more",
        "* <span>{{Done}}</span> T100007 nested",
        "* <span><s>T100008 old plan</s></span> kept",
        "* <del>T100009 gone</del> <strike>too</strike> rest",
    ])  # fmt: skip
    items, _, _ = parse_actionables(page)
    assert [(item.tasks, item.status) for item in items[:7]] == [
        (("T100001",), ItemStatus.DONE), (("T100002",), ItemStatus.NOT_DONE), (("T100003",), ItemStatus.WONT_DO),
        (("T100004",), ItemStatus.IN_PROGRESS), (("T100005",), ItemStatus.DONE), (("T100006",), ItemStatus.UNKNOWN),
        (("T100007",), ItemStatus.UNKNOWN),  # a status template inside other markup is not the item's status
    ]  # fmt: skip
    assert items[5].text == "six & more"  # entities read, an unknown template's parameters dropped
    assert [item.struck for item in items] == [False] * 7 + [True, True]


def test_the_timeline_list_is_left_out_of_the_tree_but_not_its_other_lines() -> None:
    page = "\n".join([
        "{| class=\"wikitable\"\n| Incident ID || x\n| Start || 2024-01-01 10:00\n|}",
        "== Timeline ==",
        "* 10:00 {{irdoc|status=draft}} quoted in a row",
        "=== Detail ===",
        "# 10:05 {{irdoc|status=review}}",
        "{{irdoc|status=final}}",  # the timeline's other lines stay
        "== Actionables ==",
        "* T123456 fix",
    ])  # fmt: skip
    report = parse_report("Incidents/2024-01-01 x", page)
    assert isinstance(report, Report)
    assert report.status == "final" and report.metadata == {"incident_id": "x", "start": "2024-01-01 10:00"}
    assert report.task_ids == ("T123456",)


def test_more_table_and_continuation_edges() -> None:
    page = "\n".join([
        "== Actionables ==",
        "  an indented line before any bullet",
        "{|",
        "|}",  # an empty table
        "{|",
        "|T123456 first row without a row mark || done",
        "|}",
        "* T234567 item",
        ":Xrays checked",
    ])  # fmt: skip
    assert _items(page) == (
        [(6, 1, None, ("T123456",), "T123456 first row without a row mark done"), (8, 1, None, ("T234567",), "T234567 item Xrays checked")],
        Located.HEADING,
    )
    anchored = "Explicit next steps to prevent this\n* T111111 First\n\tmore of the first\nEnd."
    assert _items(anchored)[0] == [(2, 1, None, ("T111111",), "T111111 First more of the first")]


def test_no_actionables_skip_no_placeholders() -> None:
    from incidentkit.wikitext.reports import parse_actionables

    assert parse_actionables("== Summary ==\nwords") == ((), 0, Located.NONE)


def test_metadata_placeholders_limits_and_prefixes() -> None:
    dropped = "{|\n| Incident ID || x\n| Responder count || n/a\n| Coordinators || None\n| People paged || ?\n| Task || -\n|}"
    assert parse_metadata(dropped) == {"incident_id": "x"}
    two_labels = "{|\n| Start || 2024-01-01 10:00\n| End || 2024-01-01 11:00\n|}"
    assert parse_metadata(two_labels) == {"start": "2024-01-01 10:00", "end": "2024-01-01 11:00"}
    far = "\n".join(["Incident ID z", *(["filler"] * 39), "Start 2024-01-01 10:00"])  # 41 lines down: not read
    assert parse_metadata(far) == {"incident_id": "z"}
    lines = "\n".join([
        "Incident ID w",
        "Start", "End 2024-01-01 11:00", "Start 2024-01-01 10:00",  # a label with no value waits, a label after it does not fill it
        "People paged", "Xavier",
        "Responder count", "X2 | Coordinators 0",
        "Impact Users saw errors.",
        "Affected metrics/SLOs latency",  # after the impact: the report's text
    ])  # fmt: skip
    assert parse_metadata(lines) == {
        "incident_id": "w", "end": "2024-01-01 11:00", "start": "2024-01-01 10:00", "people_paged": "Xavier",
        "responder_count": "X2", "coordinators": "0", "impact": "Users saw errors.",
    }  # fmt: skip


def test_more_report_edges() -> None:
    assert parse_report("Outage", "== Summary ==\nx") == Unparsed("Outage", "no incident date in the title or the Start field")
    assert parse_report("Incidents/2024-01-01 x/y/Minutes", "notes") == Unparsed(
        "Incidents/2024-01-01 x/y/Minutes", "a /minutes subpage, not a report"
    )
    report = parse_report("Incidents/2024-01-01 x", "{{Other|status=final}}\n{{irdoc|status=draft}}\n{|\n| Incident ID || x\n| Task || see the ticket\n|}")
    assert isinstance(report, Report) and report.status == "draft" and report.task is None


def test_more_status_and_struck_edges() -> None:
    from incidentkit.wikitext.reports import parse_actionables

    page = "\n".join([
        "== Actionables ==",
        "* {{Other}} {{Done}} T100011 x",
        "* <del>T100012 gone</del> rest",
        "* <strike>T100013 too</strike> rest",
        "* <s>T100014 a</s> <s>b</s>",
    ])  # fmt: skip
    items, _, _ = parse_actionables(page)
    assert items[0].status is ItemStatus.DONE  # past a template that says nothing
    assert [item.struck for item in items[1:]] == [True, True, True]
    assert items[3].status is ItemStatus.DROPPED  # struck through whole, in two parts


def test_metadata_values_keep_their_letters_and_read_task_links() -> None:
    page = "\n".join([
        "{|",
        "| Incident ID || https://Phabricator.wikimedia.org/T302795",
        "| Task || Phab:T234567",
        "| Coordinators || Xena",
        "| Impact || Xylophone [[broke]]",
        "|}",
    ])  # fmt: skip
    assert parse_metadata(page) == {"incident_id": "T302795", "task": "T234567", "coordinators": "Xena", "impact": "Xylophone broke"}


@pytest.mark.parametrize(
    "line",
    ["<s>T100014 do the thing</s>", "<s>[[phab:T100014|T100014]] do the thing</s>", "<s>do the thing</s> (T100014)", "<s>investigations in T181315</s>"],
    ids=["leading-id", "phab-link", "trailing-id", "kept-id"],
)
def test_an_actionable_struck_through_whole_is_dropped_whatever_its_task_reference(line: str) -> None:
    from incidentkit.wikitext.reports import parse_actionables

    (item,), _, _ = parse_actionables(f"== Actionables ==\n* {line}")
    assert item.struck and item.status is ItemStatus.DROPPED


@pytest.mark.parametrize(
    ("line", "status"),
    [("<s>do it</s>.", ItemStatus.DROPPED), ("<s>old</s> new T100015", ItemStatus.UNKNOWN), ("<s>do it</s> X", ItemStatus.UNKNOWN)],
    ids=["full-stop", "partly", "one-letter-more"],
)
def test_an_actionable_struck_through_in_part_is_not_dropped(line: str, status: ItemStatus) -> None:
    from incidentkit.wikitext.reports import parse_actionables

    (item,), _, _ = parse_actionables(f"== Actionables ==\n* {line}")
    assert item.struck and item.status is status


@pytest.mark.parametrize(
    ("line", "text", "status", "note"),
    [
        ("Status: '''Done''' - T100001 fix", "fix", ItemStatus.DONE, None),  # one word: a status, no note
        ("Status: '''Partly done''' - T100002 fix", "fix", ItemStatus.DONE, "Partly done"),
        ("Status: '''Open''' {{Done}} T100003 fix", "fix", ItemStatus.DONE, None),  # the template says more
        ("{{Done}} Status: open - T100004 fix", "fix", ItemStatus.DONE, None),
        ("{{Done}} T100005 fix (pending review)", "fix", ItemStatus.DONE, "pending review"),  # a trailing note leaves the text
        ("fix the thing (T100006, T100007)", "fix the thing", ItemStatus.UNKNOWN, None),
        ("fix (T100010) the thing", "fix the thing", ItemStatus.UNKNOWN, None),
        ("T100008 - fix it;", "fix it", ItemStatus.UNKNOWN, None),
    ],
    ids=["bold-word", "bold-phrase", "bold-and-template", "prefix-and-template", "note-and-template", "ref-parens", "ref-parens-inside", "punctuation"],
)
def test_an_actionables_status_note_and_text(line: str, text: str, status: ItemStatus, note: str | None) -> None:
    from incidentkit.wikitext.reports import parse_actionables

    (item,), _, _ = parse_actionables(f"== Actionables ==\n* {line}")
    assert (item.text, item.status, item.note) == (text, status, note)


def test_an_owner_is_read_only_after_a_leading_task() -> None:
    from incidentkit.wikitext.reports import parse_actionables

    items, _, _ = parse_actionables("== Actionables ==\n* [[phab:T100009|T100009]] fix (Open) – alice\n* fix the thing – bob")
    assert [(item.owner, item.text) for item in items] == [("alice", "fix"), (None, "fix the thing – bob")]


def test_only_the_timeline_sections_own_list_items_leave_the_tree() -> None:
    page = "\n".join([
        "== Summary ==", "words",
        "== Timeline ==", "* 10:00 {{irdoc|status=review}} row",
        "== Actionables ==", "* {{irdoc|status=draft}} T123456 fix",
        "== Links ==", "{{irdoc|status=final}}",
    ])  # fmt: skip
    report = parse_report("Incidents/2024-01-01 x", page)
    assert isinstance(report, Report) and report.status == "draft"  # the first status outside the timeline's rows


@pytest.mark.parametrize(
    ("page", "status"),
    [
        ("{{irdoc|status=final}}\n== Timeline ==\n* 10:00 {{irdoc|status=review}}", "final"),  # the line before the timeline stays
        ("== Timeline ==\n  * 10:00 {{irdoc|status=draft}}\n{{irdoc|status=final}}", "final"),  # an indented row leaves too
        ("== Timeline ==\n{{irdoc|status=final}}\n* 10:00 {{irdoc|status=review}}", "final"),  # the timeline's first line stays
    ],
    ids=["before", "indented-row", "first-line"],
)
def test_the_status_is_read_around_the_timelines_rows(page: str, status: str) -> None:
    report = parse_report("Incidents/2024-01-01 x", page)
    assert isinstance(report, Report) and report.status == status


def test_a_template_in_a_timeline_row_is_no_metadata() -> None:
    page = "== Timeline ==\n* 10:00 {{Infobox|start=2024-01-01 10:00|end=2024-01-01 11:00}}\n== Actionables ==\n* T123456 x"
    report = parse_report("Incidents/2024-01-01 x", page)
    assert isinstance(report, Report) and report.metadata == {}


# --- metadata cells and rendered labels: edges ---------------------------------------------------


def test_metadata_cells_as_plain_text() -> None:
    page = "\n".join([
        '{| class="wikitable"',
        "! Incident ID || x",
        "|-",
        "! Task || <small>{{Phabricator|T302795}}</small>",  # a task template inside a tag
        "|-",
        "! Impact || Users saw [https://grafana.wikimedia.org/d/x errors] {{Citation needed}}",  # a link's label, no template
        "|}",
    ])  # fmt: skip
    assert parse_metadata(page) == {"incident_id": "x", "task": "T302795", "impact": "Users saw errors"}


def test_stray_pipes_around_a_cells_value_are_no_part_of_it() -> None:
    page = "\n".join([
        '{| class="wikitable"',
        '! Incident ID || style="color:red" | 2022-03-01 ulsfo | ||',  # a cell with attributes and a stray pipe
        "|-",
        "! Coordinators || Xavier ||",
        "|-",
        "! Start",
        '| style="width:10em" | 2022-03-01 10:00 |',
        "|}",
    ])  # fmt: skip
    assert parse_metadata(page) == {"incident_id": "2022-03-01 ulsfo", "coordinators": "Xavier", "start": "2022-03-01 10:00"}


def test_cells_of_two_tables_are_never_paired() -> None:
    page = "\n".join([
        "<div>",
        "{|", "| Start || 2022-03-01 10:00", "|-", "| End || 2022-03-01 11:00", "|-", "| Task", "|}",  # Task left empty
        "{|", "| Some unrelated table", "|}",
        "</div>",
    ])  # fmt: skip
    assert parse_metadata(page) == {"start": "2022-03-01 10:00", "end": "2022-03-01 11:00"}


def test_list_markup_before_a_rendered_label_is_no_value() -> None:
    lines = "\n".join(["Incident ID 2024-01-01 x", "* Start", "* End 2024-01-01 11:00", "Impact Users saw errors."])
    assert parse_metadata(lines) == {"incident_id": "2024-01-01 x", "end": "2024-01-01 11:00", "impact": "Users saw errors."}
    report = parse_report("Incidents/2024-01-01 x", lines)
    assert isinstance(report, Report) and report.start is None and not any("Start" in p for p in report.problems)


@pytest.mark.parametrize(
    ("lines", "start"),
    [
        (["'''Start''' 2024-01-01 10:00"], "2024-01-01 10:00"),
        (["'''Start:''' 2024-01-01 10:00 ''(UTC)''"], "2024-01-01 10:00 (UTC)"),
        (["''Start''", "''2024-01-01 10:00''"], "2024-01-01 10:00"),
        (["Start it's 10:00 o'clock'"], "it's 10:00 o'clock'"),
    ],
    ids=["bold-label", "bold-label-colon", "italic-alone", "apostrophes-kept"],
)
def test_bold_or_italic_markup_is_no_part_of_a_rendered_field(lines: list[str], start: str) -> None:
    text = "\n".join(["Incident ID 2024-01-01 x", *lines, "Impact Users saw errors."])
    assert parse_metadata(text)["start"] == start


def test_a_metadata_table_on_a_page_without_a_timeline() -> None:
    page = "== Summary ==\n{|\n| Start || 2024-01-01 10:00\n|-\n| Task || T234567\n|}\n== Actionables ==\n* T123456 x"
    report = parse_report("Incidents/2024-01-01 x", page)
    assert isinstance(report, Report)
    assert report.task == "T234567" and report.start == datetime(2024, 1, 1, 10, 0, tzinfo=UTC)


def test_the_rows_of_a_last_timeline_section_leave_the_tree() -> None:
    page = "== Summary ==\nwords\n== Timeline ==\n* 10:00 {{irdoc|status=review}} the status was talked about"
    report = parse_report("Incidents/2024-01-01 x", page)
    assert isinstance(report, Report) and report.status is None
    wrapped = "== Timeline ==\n{{Infobox\n| start = 2024-01-01 10:00\n| end =\n* 2024-01-01 11:00 a row\n}}"
    report = parse_report("Incidents/2024-01-01 x", wrapped)
    assert isinstance(report, Report) and report.metadata == {"start": "2024-01-01 10:00"} and report.end is None


@pytest.mark.parametrize(
    ("item", "text"),
    [
        ("* Restart{{Done}}the service", "Restart the service"),  # a status template between two words
        ("* Do X (T123456 (T234567))", "Do X"),  # nested references in parentheses
    ],
    ids=["template-between-words", "nested-references"],
)
def test_actionable_text_edges(item: str, text: str) -> None:
    report = parse_report("Incidents/2024-01-01 x", f"== Actionables ==\n{item}")
    assert isinstance(report, Report) and [a.text for a in report.actionables] == [text]


@pytest.mark.parametrize(
    "page", ["Outage 2024-01-01 db", "XXXX 2024-01-01 db", "Team/Notes 2024-01-01"], ids=["plain", "x-prefix", "team"]
)
def test_without_a_prefix_a_title_not_under_a_known_one_is_the_name(page: str) -> None:
    report = parse_report(page, "Incident ID x\nStart 2024-01-01 10:00")
    assert isinstance(report, Report) and report.name == page
