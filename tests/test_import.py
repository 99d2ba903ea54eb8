"""``incidentkit import``: every fixture report loaded into the real throwaway wiki and read back.

The counts the parser finds are checked against an independent count: a plain regex over each
page's Actionables section (bullets, placeholders, ``T1234``-style ids), written without the
parser's code. Pages whose renderer dropped the headings have no section for the regex to find;
those are checked page by page in ``test_reports.py`` and reported here separately.
"""

from __future__ import annotations

import re
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from incidentkit.clients.conduit import ConduitClient
from incidentkit.config import Settings, load_settings
from incidentkit.model.actionable import Actionable, ActionableQuery, ActionableStatus
from incidentkit.services.actionables import set_fields
from incidentkit.services.importing import (
    import_from_dir,
    import_reports,
    page_file_name,
    save_page_text,
)
from incidentkit.services.reporting import list_actionables, summarize
from incidentkit.services.sync import sync_actionables
from incidentkit.store import Store
from incidentkit.wikitext.reports import Report, parse_report
from tests.helpers import home_store, json_lines, run
from tests.incident_pages import all_pages
from tests.servers.conduit_fake import ConduitFake
from tests.servers.mediawiki import COLLEAGUE, MediaWiki

PREFIX = "ImportTest/"
NOT_REPORTS = {
    "ImportTest/20141001-Legacy statuses/minutes": "subpage",
    "ImportTest/20141002-Old name": "redirect",
    "ImportTest/Train deploys": "no incident date",
}

# --- the independent count ------------------------------------------------------------------------

_SECTION = re.compile(r"^\s*(?:=+\s*|#+\s+)?(?:Actionables|Action items)\s*=*\s*$", re.I)
_NEXT = re.compile(
    r"^\s*(?:=+[^=]|#{2,6}\s|\[\[Category:|Incident Engagement|Scorecard\s*$|Meeting Minutes\s*$"
    r"|TODO: Add the #Sustainability)",
    re.I,
)
_ITEM = re.compile(r"^\s*(?:[*#]+(?![*#:])|[•\-–](?!-))\s*\S")
_PLACEHOLDER = re.compile(r"To do #\d+ \(TODO: Create task\)|^\W*…\s*$")
_TASK_ID = re.compile(r"(?<![A-Za-z0-9])T\d{4,7}(?!\d)")


def _section_items(text: str) -> list[str] | None:
    """The bullet lines of the Actionables section found by heading, or None."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if _SECTION.match(line)), None)
    if start is None:
        return None
    body: list[str] = []
    for line in lines[start + 1 :]:
        if _NEXT.match(line):
            break
        body.append(line)
    return [line for line in body if _ITEM.match(line)]


def independent_count(text: str) -> tuple[int, int, set[str]] | None:
    """(items, placeholders, task ids) of the Actionables section found by heading, or None."""
    items = _section_items(text)
    if items is None:
        return None
    placeholders = [line for line in items if _PLACEHOLDER.search(line)]
    return len(items) - len(placeholders), len(placeholders), set(_TASK_ID.findall("\n".join(items)))


def independent_store(text: str) -> tuple[set[str], int] | None:
    """What the store should hold for a page found by heading: its task ids, and how many free-text
    ideas (least-indented single bullets with no task id and no placeholder; a sub-bullet without a
    task is part of its parent)."""
    items = _section_items(text)
    if items is None:
        return None
    indent = {line: len(line) - len(line.lstrip()) for line in items}
    top = [line for line in items if indent[line] == min(indent.values()) and not re.match(r"\s*[*#]{2}", line)]
    ideas = [line for line in top if not _TASK_ID.search(line) and not _PLACEHOLDER.search(line)]
    return set(_TASK_ID.findall("\n".join(items))), len(ideas)


# Pages whose renderer dropped the Actionables heading, read by hand: (task ids, free-text ideas).
# Other pages without the heading hold no follow-ups.
HEADLESS = {
    "ImportTest/20160924-ORES": ({"T146560", "T146090"}, 0),
    "ImportTest/20170601-Maps": ({"T166776", "T167048", "T148883"}, 0),
    "ImportTest/2017-11-20 Ext:ORES": ({"T181191", "T181183", "T181071", "T181067", "T181187"}, 0),
    "ImportTest/2022-03-01 ulsfo network": ({"T303219"}, 1),  # "Can we increase fiber redundancy?"
}


# --- setup ----------------------------------------------------------------------------------------


def wiki_title(title: str) -> str:
    return PREFIX + title.split("/", 1)[1]


@pytest.fixture(scope="module")
def loaded(mediawiki: MediaWiki) -> dict[str, str]:
    """Every fixture page saved on the wiki under ImportTest/ (title -> text as sent)."""
    pages = {}
    for title, text in all_pages():
        mediawiki.put_page(wiki_title(title), text)
        pages[wiki_title(title)] = text
    return pages


@pytest.fixture
def wiki_env(mediawiki: MediaWiki, monkeypatch: pytest.MonkeyPatch) -> MediaWiki:
    mediawiki.config_env(monkeypatch, name="ops")
    monkeypatch.setenv("INCIDENTKIT_NOW", "2026-06-01T12:00:00Z")
    return mediawiki


def all_actionables(store: Store) -> list[Actionable]:
    return store.query_actionables(ActionableQuery(statuses=(), sort="id"), today=date(2026, 6, 1))


# --- tests ----------------------------------------------------------------------------------------


@pytest.mark.integration
def test_import_all_fixture_reports_matches_an_independent_count(loaded: dict[str, str], wiki_env: MediaWiki) -> None:
    result = run("import", "--prefix", PREFIX)
    assert result.exit_code == 0, result.output
    reports = {title: parse_report(title, text, prefix=PREFIX) for title, text in loaded.items()}
    parsed = {title: r for title, r in reports.items() if isinstance(r, Report)}
    assert {t for t, r in reports.items() if not isinstance(r, Report)} == set(NOT_REPORTS)
    for title, word in NOT_REPORTS.items():
        assert re.search(rf"{re.escape(title)}: .*{word}", result.stderr), result.stderr
    reports_count = len(loaded) - len(NOT_REPORTS)
    assert f"imported {reports_count} of {len(loaded)} pages ({reports_count} new, 0 updated, 0 unchanged)" in result.stderr

    found_items = found_tasks = contained_items = contained_tasks = 0
    beyond_headings: list[str] = []
    for title, report in parsed.items():
        counted = independent_count(loaded[title])
        tasks = set(report.task_ids)
        found_items += len(report.actionables)
        found_tasks += len(tasks)
        if counted is None:
            if report.actionables:
                beyond_headings.append(title)
            continue
        items, placeholders, ids = counted
        assert (len(report.actionables), report.placeholders, tasks) == (items, placeholders, ids), title
        contained_items += items
        contained_tasks += len(ids)

    with home_store() as store:
        incidents = store.list_incidents()
        stored = all_actionables(store)
        assert sorted(i.page for i in incidents) == sorted(set(loaded) - set(NOT_REPORTS))
        assert all(i.wiki == "ops" and i.revision for i in incidents)
        for incident in incidents:
            assert incident.page is not None
            expected = HEADLESS.get(incident.page) or independent_store(loaded[incident.page]) or (set(), 0)
            mine = [a for a in stored if a.incident == incident.slug]
            assert ({a.task for a in mine if a.task}, sum(1 for a in mine if not a.task)) == expected, incident.page
    headed_tasks = found_tasks - sum(len(parsed[t].task_ids) for t in beyond_headings)
    guessed = sum(len(parsed[t].actionables) for t in beyond_headings)
    print(
        f"\nimport over {len(loaded)} fixture pages: {len(parsed)} imported, {len(loaded) - len(parsed)} not reports; "
        f"in Actionables sections found by heading: actionables found {found_items - guessed} vs {contained_items} "
        f"contained (independent count), task ids found {headed_tasks} vs {contained_tasks} contained; "
        f"on {len(beyond_headings)} rendered pages without the heading (anchor sentence / last list): "
        f"{guessed} actionables, {found_tasks - headed_tasks} task ids; "
        f"store: {len(stored)} actionables, {len({a.task for a in stored if a.task})} distinct tasks"
    )


@pytest.mark.integration
def test_reimport_is_idempotent_and_keeps_local_fields(loaded: dict[str, str], wiki_env: MediaWiki) -> None:
    assert run("import", "--prefix", PREFIX).exit_code == 0
    with home_store() as store:
        incident = store.find_incident_by_page(PREFIX + "2024-02-01 Example all actionable styles")
        assert incident is not None and incident.status == "review"
        store.set_incident_fields(incident.slug, lock=True, title="Save failures (renamed here)", status="final")
        item = store.find_actionable(incident.slug, task="T350010")
        assert item is not None
        set_fields(store, item.id or 0, now=datetime(2026, 6, 1, tzinfo=UTC), owner="alice", title="Mine")
        store.save_scorecard_answers(incident.slug, {"few_paged": ("no", "set locally")}, reviewer="me", source="local")
        before = (len(store.list_incidents()), len(all_actionables(store)))

    title = PREFIX + "2024-02-01 Example all actionable styles"
    wiki_env.put_page(
        title,
        loaded[title].replace(
            "* Can we increase fiber redundancy?", "* Can we increase fiber redundancy?\n* Add a canary check {{Phabricator|T350099}}"
        ),
        user=COLLEAGUE,
    )
    try:
        _reimport_keeps_local_fields(before)
    finally:  # the wiki is shared by the session: put the page back for the other tests
        wiki_env.put_page(title, loaded[title], user=COLLEAGUE)


def _reimport_keeps_local_fields(before: tuple[int, int]) -> None:
    again = run("import", "--prefix", PREFIX)
    assert again.exit_code == 0, again.output
    assert "(0 new," in again.stderr and "actionables added 1," in again.stderr
    with home_store() as store:
        assert (len(store.list_incidents()), len(all_actionables(store))) == (before[0], before[1] + 1)
        incident = store.find_incident_by_page(PREFIX + "2024-02-01 Example all actionable styles")
        assert incident is not None
        assert (incident.title, incident.status) == ("Save failures (renamed here)", "final")
        item = store.find_actionable(incident.slug, task="T350010")
        assert item is not None and (item.owner, item.title) == ("alice", "Mine")
        assert store.find_actionable(incident.slug, task="T350099") is not None
        answers = store.get_scorecard_answers(incident.slug)
        assert (answers["few_paged"].note, answers["few_paged"].source) == ("set locally", "local")
        assert answers["responders_prepared"].source == "import"


@pytest.mark.integration
def test_since_category_and_offline_round_trip(
    loaded: dict[str, str], wiki_env: MediaWiki, tmp_path: Path
) -> None:
    result = run("import", "--prefix", PREFIX, "--since", "2024-01-01", "--save", str(tmp_path / "saved"))
    assert result.exit_code == 0, result.output
    with home_store() as store:
        days = sorted(i.slug[:10] for i in store.list_incidents())
    assert days and all(day >= "2024-01-01" for day in days)
    assert "before --since left out" in result.stderr
    saved = sorted(p.name for p in (tmp_path / "saved").iterdir())
    assert page_file_name(PREFIX + "2024-02-01 Example all actionable styles") in saved

    both = run("--db", str(tmp_path / "cat.db"), "import", "--prefix", PREFIX, "--category", "Incident documentation")
    assert both.exit_code == 0, both.output
    with Store.open(tmp_path / "cat.db") as store:
        pages = {i.page for i in store.list_incidents()}
    assert pages == {
        PREFIX + "20160407-Mediawiki",
        PREFIX + "2024-02-01 Example all actionable styles",
        PREFIX + "20141001-Legacy statuses",
    }

    offline = run(
        "--db", str(tmp_path / "offline.db"), "import", "--replay", str(tmp_path / "saved"), "--prefix", PREFIX,
        "--since", "2024-01-01",
    )  # fmt: skip
    assert offline.exit_code == 0, offline.output
    with Store.open(tmp_path / "offline.db") as store:
        assert sorted(i.slug[:10] for i in store.list_incidents()) == days
        assert all(i.wiki is None and i.revision is None for i in store.list_incidents())


@pytest.mark.integration
def test_import_uses_batched_requests(loaded: dict[str, str], wiki_env: MediaWiki) -> None:
    from incidentkit.clients.mediawiki import connect_wiki
    from incidentkit.services.importing import import_from_wiki

    settings = load_settings()
    client = connect_wiki(settings, "ops")
    seen: list[tuple[int, int]] = []
    with Store.open(None) as store:
        report = import_from_wiki(
            store, client, prefix=PREFIX, settings=settings, now=datetime(2026, 6, 1, tzinfo=UTC),
            progress=lambda done, total: seen.append((done, total)),
        )  # fmt: skip
    pages = len(loaded)
    # connect + login (2), one listing, one read per 50 titles
    assert report.requests <= 3 + -(-pages // 50), report.requests
    assert seen[-1] == (pages, pages) and len(seen) == pages


def test_bad_input_folder_is_one_line_error(tmp_path: Path) -> None:
    result = run("import", "--replay", str(tmp_path / "nope"))
    assert result.exit_code == 2
    assert "Error: --replay" in result.stderr and "is not a folder" in result.stderr
    (tmp_path / "empty").mkdir()
    empty = run("import", "--replay", str(tmp_path / "empty"))
    assert empty.exit_code == 2 and "holds no page texts" in empty.stderr


SYNC_PAGE = """{{irdoc|status=final}}
== Actionables ==
* {{Done}} Alert on resolver errors {{Phabricator|T2}}
* Write the resolver runbook (task T3)
* Anycast the resolvers [[phab:T4]]
* Try a second resolver vendor
"""


def test_sync_works_on_imported_tasks(tmp_path: Path, conduit: ConduitFake) -> None:
    conduit.add_task("DNS outage")  # T1
    conduit.add_task("Alert on resolver errors", owner="alice")  # T2
    conduit.add_task("Write the resolver runbook", owner="bob", status="resolved")  # T3
    conduit.add_task("Anycast the resolvers")  # T4
    save_page_text(tmp_path / "pages", "Incidents/2024-05-01 DNS outage", SYNC_PAGE)
    now = datetime(2024, 6, 1, tzinfo=UTC)
    with Store.open(None) as store:
        report = import_from_dir(store, tmp_path / "pages", settings=Settings(), now=now)
        assert [p.slug for p in report.imported] == ["2024-05-01_dns-outage"]
        before = {a.task: a.status for a in all_actionables(store)}
        assert before == {"T2": ActionableStatus.DONE, "T3": ActionableStatus.OPEN, "T4": ActionableStatus.OPEN, None: ActionableStatus.OPEN}
        sync = sync_actionables(store, ConduitClient(conduit.url, conduit.token, retries=0), now=now)
        assert sync.checked == 3 and sync.missing == ()
        after = {a.task: (a.status, a.owner) for a in all_actionables(store)}
        assert after["T2"] == (ActionableStatus.OPEN, "alice")  # the page said done; Phabricator is the authority
        assert after["T3"] == (ActionableStatus.DONE, "bob")
        listed = list_actionables(store, ActionableQuery(), now=now)
        assert {a.task for a in listed} == {"T2", "T4", None}


def test_import_reports_counts_unparsed_and_progress() -> None:
    pages = [
        ("Incidents/2024-01-01 A", "== Actionables ==\n* Do a thing T123456\n", None),
        ("Incidents/B", "#REDIRECT [[Incidents/2024-01-01 A]]", None),
        ("Incidents/2019-01-01 old", "== Actionables ==\n* Old thing\n", None),
    ]
    seen: list[tuple[int, int]] = []
    with Store.open(None) as store:
        report = import_reports(
            store, iter(pages), total=3, wiki=None, since=date(2020, 1, 1), settings=Settings(),
            now=datetime(2024, 2, 1, tzinfo=UTC), progress=lambda d, t: seen.append((d, t)),
        )  # fmt: skip
        assert [p.page for p in report.imported] == ["Incidents/2024-01-01 A"]
        assert [u.reason for u in report.unparsed] == ["the page is a redirect"]
        assert report.filtered == 1 and report.task_ids == 1
        assert seen == [(1, 3), (2, 3), (3, 3)]


# --- dates and "unchanged" ------------------------------------------------------------------------

WIKITEXT = Path(__file__).parent / "fixtures" / "incidents" / "wikitext"


def test_the_title_date_is_the_start_and_done_items_have_no_close_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 2014 page with no Start: SLAs count from 2014-10-01, not from the import."""
    monkeypatch.setenv("INCIDENTKIT_NOW", "2024-03-15T12:00:00Z")
    result = run("import", "--replay", str(WIKITEXT))
    assert result.exit_code == 0, result.output
    with home_store() as store:
        legacy = store.require_incident("2014-10-01_legacy-statuses")
        assert "start" not in legacy.metadata and legacy.start == "2014-10-01T00:00:00Z"
        items = {a.task or a.title: a for a in store.incident_actionables(legacy.slug)}
        in_progress = items["T70003"]
        assert in_progress.due == date(2014, 10, 31)  # 30 days (the default SLA) after the title date
        assert in_progress.created_at == datetime(2014, 10, 1, tzinfo=UTC)
        done = items["T70002"]
        assert done.status is ActionableStatus.DONE and done.resolved_at is None
        summary = summarize(store, ActionableQuery(incident=legacy.slug), now=datetime(2024, 3, 15, tzinfo=UTC))
        assert summary.done_this_month == 0
        assert summary.overdue == 2  # the in-progress item and the untracked review, due in 2014
    listed = run("actionables", "list", "--incident", "2014-10-01_legacy-statuses", "--status", "done", "--format", "json")
    assert [a["resolved_at"] for a in json_lines(listed.stdout)] == [None]


def test_reimporting_unchanged_pages_reports_unchanged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INCIDENTKIT_NOW", "2024-03-15T12:00:00Z")
    pages = tmp_path / "pages"
    shutil.copytree(WIKITEXT, pages)
    first = run("import", "--replay", str(pages))
    assert "imported 2 of 4 pages (2 new, 0 updated, 0 unchanged)" in first.stderr, first.stderr
    with home_store() as store:
        before = [(r.slug, r.updated_at) for r in store.list_incidents()]
    monkeypatch.setenv("INCIDENTKIT_NOW", "2024-03-16T12:00:00Z")
    again = run("import", "--replay", str(pages))
    assert "imported 2 of 4 pages (0 new, 0 updated, 2 unchanged)" in again.stderr, again.stderr
    assert "actionables added 0, updated 0," in again.stderr
    with home_store() as store:
        assert [(r.slug, r.updated_at) for r in store.list_incidents()] == before  # nothing was rewritten

    legacy = pages / "Incidents%2F20141001-Legacy statuses.wiki"
    legacy.write_text(legacy.read_text().replace("# Review the retention policy", "# Review the retention policy\n# Add a disk alert T70009"))
    changed = run("import", "--replay", str(pages))
    assert "(0 new, 1 updated, 1 unchanged)" in changed.stderr, changed.stderr


def test_ctrl_c_during_import_says_what_was_saved_and_how_to_go_on(monkeypatch: pytest.MonkeyPatch) -> None:
    from incidentkit.services import importing

    real = importing.store_report
    calls: list[str] = []

    def interrupted_on_the_second_page(store: Store, report: Report, **kwargs: object) -> object:
        calls.append(report.page)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(store, report, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(importing, "store_report", interrupted_on_the_second_page)
    result = run("import", "--replay", str(WIKITEXT))
    assert result.exit_code == 130, result.output
    assert "imported 1 of 4 pages (1 new, 0 updated, 0 unchanged)" in result.stderr
    assert "Interrupted: 1 page imported and saved" in result.stderr and "Run the same import again" in result.stderr
    assert "Traceback" not in result.output and "Aborted!" not in result.output
    with home_store() as store:
        assert [i.page for i in store.list_incidents()] == [calls[0]]
    monkeypatch.setattr(importing, "store_report", real)
    again = run("import", "--replay", str(WIKITEXT))
    assert "(1 new, 0 updated, 1 unchanged)" in again.stderr, again.stderr
