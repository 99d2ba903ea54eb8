"""``publish`` and ``actionables publish`` against the real throwaway MediaWiki, with two real users.

The draft comes from the bundled example (``draft --replay data/examples/backport-crash``); the
colleague edits the page on the wiki as a second user, so edit conflicts are MediaWiki's own.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from incidentkit.clients.mediawiki import MwclientWiki, PageText, connect_wiki, html_errors
from incidentkit.config import db_path, load_settings
from incidentkit.errors import ConflictError, PublishError
from incidentkit.model.actionable import ActionableQuery
from incidentkit.model.scorecard import Answer, ScoreAnswer, fill_scorecard
from incidentkit.services.actionables import set_fields
from incidentkit.services.publish import absorbs, dashboard_text, plan_publish, publish_page
from incidentkit.services.reporting import list_actionables, summarize
from incidentkit.services.scorecard import load_definition
from incidentkit.store import Store
from incidentkit.wikitext.regions import Text, regions, split, wrap
from incidentkit.wikitext.render import render_template
from tests.helpers import run
from tests.servers.mediawiki import COLLEAGUE, MediaWiki

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "data" / "examples" / "backport-crash"
SLUG = "2023-02-14_backport-crash"
FIRST_ROW = "6177725"  # the first timeline row's ref in the example
SUMMARY_TODO = "'''TODO:''' Summary of what happened, in one or two paragraphs."


@pytest.fixture
def wiki_env(mediawiki: MediaWiki, monkeypatch: pytest.MonkeyPatch) -> MediaWiki:
    mediawiki.config_env(monkeypatch, name="ops")
    monkeypatch.setenv("INCIDENTKIT_NOW", "2023-02-16T10:00:00Z")
    return mediawiki


def client() -> MwclientWiki:
    return connect_wiki(load_settings(), "ops")


def draft_file(tmp_path: Path) -> Path:
    path = tmp_path / "draft.wiki"
    result = run("draft", "--replay", str(EXAMPLE), "-o", str(path))
    assert result.exit_code == 0, result.output
    return path


def page(wiki: MediaWiki, title: str) -> str:
    text = wiki.get_page(title)
    assert text is not None
    return text


def outside_regions(text: str) -> list[str]:
    return [span.text for span in split(text) if isinstance(span, Text)]


def assert_renders_cleanly(title: str, text: str) -> None:
    html = client().render_html(text, title)
    assert html_errors(html) == []
    assert 'class="wikitable' in html


# --- pure ---------------------------------------------------------------------------------------

BASE = PageText(title="P", text="", revid=7, timestamp=datetime(2024, 1, 1, tzinfo=UTC))


def test_plan_for_a_new_page_is_the_whole_draft() -> None:
    plan = plan_publish("P", None, "== T ==\n" + wrap("timeline", "* a") + "\n")
    assert plan.creates and plan.changes and plan.splice is None
    assert plan.diff.startswith("--- P (new page)\n+++ P\n")


def test_plan_refuses_damaged_markers() -> None:
    broken = PageText(title="P", text="<!-- incidentkit:begin timeline hash=000000000000 -->\n* a\n", revid=7,
                      timestamp=BASE.timestamp)  # fmt: skip
    with pytest.raises(PublishError, match="damaged") as info:
        plan_publish("P", broken, wrap("timeline", "* b"))
    assert info.value.hint and "incidentkit:begin/end" in info.value.hint


def test_plan_shows_what_a_hand_edit_changed() -> None:
    old = "== T ==\n" + wrap("timeline", "* a").replace("* a", "* a (checked by hand)") + "\n"
    plan = plan_publish("P", PageText(title="P", text=old, revid=7, timestamp=BASE.timestamp), "== T ==\n" + wrap("timeline", "* b") + "\n")
    assert plan.splice is not None and plan.splice.conflicts == ("timeline",)
    assert not plan.changes  # nothing else to update: the edited region is kept
    ((name, diff),) = plan.conflict_diffs
    assert name == "timeline" and "-* a (checked by hand)" in diff and "+* b" in diff


def test_a_scorecard_answered_on_the_wiki_is_absorbed_only_when_the_draft_holds_every_answer() -> None:
    definition = load_definition()

    def drawn(answers: dict[str, tuple[str | None, str]]) -> str:
        filled = fill_scorecard(definition, {k: ScoreAnswer(incident="s", key=k, answer=Answer(a) if a else None, note=n) for k, (a, n) in answers.items()})
        return render_template("scorecard.wiki.j2", scorecard=filled).strip("\n")

    test = absorbs(definition)
    on_page = drawn({"few_paged": ("yes", "two people"), "task_exists": ("no", "")})
    respaced = on_page.replace("| yes", "|yes   ")  # typed by hand on the wiki
    fuller = drawn({"few_paged": ("yes", "two people"), "task_exists": ("no", ""), "runbook_used": ("yes", "")})
    assert test("scorecard", on_page, fuller) and test("scorecard", respaced, fuller)
    assert not test("scorecard", on_page, drawn({"few_paged": ("yes", "two people")}))  # an answer would go
    assert not test("scorecard", on_page, drawn({"few_paged": ("no", "two people"), "task_exists": ("no", "")}))
    assert not test("scorecard", on_page + "\nA paragraph written inside the region.", fuller)
    assert not test("detection", "* a", "* a\n* b")  # only the scorecard is read back


# --- real wiki ------------------------------------------------------------------------------------


@pytest.mark.integration
def test_publish_file_creates_the_page_records_it_and_renders(wiki_env: MediaWiki, tmp_path: Path) -> None:
    title = "PublishTest/2023-02-14 Backport crash (file)"
    path = draft_file(tmp_path)
    dry = run("publish", str(path), "--page", title, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert dry.stdout.startswith(f"--- {title} (new page)") and "would create" in dry.stderr
    assert wiki_env.get_page(title) is None

    result = run("publish", str(path), "--page", title)
    assert result.exit_code == 0, result.output
    text = page(wiki_env, title)
    assert text == path.read_text().rstrip()
    assert "created " + title in result.stderr and f"recorded on incident {SLUG}" in result.stderr
    with Store.open(db_path(load_settings())) as store:
        record = store.require_incident(SLUG)
    current = client().read(title)
    assert current is not None
    assert (record.page, record.wiki, record.revision) == (title, "ops", current.revid)
    assert_renders_cleanly(title, text)

    again = run("publish", str(path), "--page", title)
    assert again.exit_code == 0 and "nothing to update" in again.stderr
    assert client().read(title) == current


@pytest.mark.integration
def test_hand_edits_survive_a_redraft_and_republish(wiki_env: MediaWiki, tmp_path: Path) -> None:
    title = "PublishTest/2023-02-14 Backport crash"
    draft_file(tmp_path)  # records the incident in the store
    assert run("publish", SLUG, "--page", title).exit_code == 0

    # A colleague edits the page on the wiki: around the regions and inside one of them.
    original = page(wiki_env, title)
    edited = original.replace(
        SUMMARY_TODO, "A volunteer's backport crashed MediaWiki for logged-in users for 15 minutes.\n\n" + SUMMARY_TODO
    ).replace("=== What went well? ===\n", "=== What went well? ===\n* The revert was quick.\n")
    detection = regions(original)["detection"]
    edited = edited.replace(detection.content, detection.content + "\n* Users reported it on IRC first (hand-written).")
    wiki_env.put_page(title, edited, user=COLLEAGUE)
    edited = page(wiki_env, title)

    # The owner curates the timeline, which changes the generated timeline, and republishes.
    noted = run("timeline", "note", SLUG, FIRST_ROW, "A volunteer started the backport")
    assert noted.exit_code == 0, noted.output
    result = run("publish", SLUG)  # the page recorded on the incident
    assert result.exit_code == 0, result.output
    assert "kept region 'detection': it was edited on the wiki" in result.stderr
    assert "+* Users reported it on IRC first (hand-written)." not in result.stdout  # diff: wiki version -> draft
    assert "-* Users reported it on IRC first (hand-written)." in result.stdout
    text = page(wiki_env, title)
    assert "A volunteer's backport crashed MediaWiki" in text
    assert "* The revert was quick." in text
    assert "Users reported it on IRC first (hand-written)." in text
    timeline = regions(text)["timeline"]
    assert "A volunteer started the backport" in timeline.content and not timeline.edited
    assert outside_regions(text) == outside_regions(edited)  # every byte outside the regions kept
    assert_renders_cleanly(title, text)

    forced = run("publish", SLUG, "--force")
    assert forced.exit_code == 0, forced.output
    assert "overwrote region 'detection'" in forced.stderr
    text = page(wiki_env, title)
    assert "Users reported it on IRC first" not in text
    assert "A volunteer's backport crashed MediaWiki" in text and "* The revert was quick." in text


class EditAfterRead:
    """The real client, but a colleague saves *edit(text)* right after each read: a concurrent edit."""

    def __init__(self, real: MwclientWiki, wiki: MediaWiki, edit: Callable[[str], str]) -> None:
        self.real, self.wiki, self.edit = real, wiki, edit
        self.name, self.url = real.name, real.url

    @property
    def request_count(self) -> int:
        return self.real.request_count

    def read(self, title: str) -> PageText | None:
        current = self.real.read(title)
        if current is not None:
            self.wiki.put_page(title, self.edit(current.text), user=COLLEAGUE)
        return current

    def save(self, title: str, text: str, *, summary: str, base: PageText | None) -> PageText:
        return self.real.save(title, text, summary=summary, base=base)


def _redraft_timeline(text: str, old_line: str, new_line: str) -> str:
    timeline = regions(text)["timeline"]
    return text.replace(timeline.text, wrap("timeline", timeline.content.replace(old_line, new_line)))


@pytest.mark.integration
def test_a_concurrent_edit_stops_publish_and_loses_nothing(
    wiki_env: MediaWiki, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    title = "PublishTest/2023-02-14 Backport crash (conflict)"
    path = draft_file(tmp_path)
    assert run("publish", str(path), "--page", title).exit_code == 0
    first = page(wiki_env, title)
    line = next(li for li in regions(first)["timeline"].content.splitlines() if li.startswith("* 18:16"))
    ours = _redraft_timeline(first, line, line + " ''(our re-draft)''")
    theirs = lambda text: text.replace(line, line + " (colleague's fix)")  # noqa: E731

    racing = EditAfterRead(client(), wiki_env, theirs)
    with pytest.raises(ConflictError, match="edit conflict"):
        publish_page(racing, None, title=title, draft=ours)  # type: ignore[arg-type]
    text = page(wiki_env, title)
    assert "(colleague's fix)" in text and "(our re-draft)" not in text  # their edit is intact

    # Publishing again reads their edit: it sits inside the region, so it is kept and reported.
    again = publish_page(client(), None, title=title, draft=ours)
    assert again.plan.splice is not None and again.plan.splice.conflicts == ("timeline",)
    assert "(colleague's fix)" in page(wiki_env, title)

    # The command line says what happened, with its own exit code.
    wiki_env.put_page(title, first)  # the page as generated, before anyone's fix
    path.write_text(ours)
    monkeypatch.setattr(
        "incidentkit.clients.mediawiki.connect_wiki",
        lambda settings, name=None: EditAfterRead(client(), wiki_env, theirs),
    )
    result = run("publish", str(path), "--page", title)
    assert result.exit_code == 3, result.output
    assert "Error: edit conflict" in result.stderr and "publish again" in result.stderr
    assert "(colleague's fix)" in page(wiki_env, title)


@pytest.mark.integration
def test_a_concurrent_edit_elsewhere_is_merged_by_the_wiki(wiki_env: MediaWiki, tmp_path: Path) -> None:
    title = "PublishTest/2023-02-14 Backport crash (merge)"
    path = draft_file(tmp_path)
    assert run("publish", str(path), "--page", title).exit_code == 0
    first = page(wiki_env, title)
    line = next(li for li in regions(first)["timeline"].content.splitlines() if li.startswith("* 18:16"))
    ours = _redraft_timeline(first, line, line + " ''(our re-draft)''")
    theirs = lambda text: text.replace(SUMMARY_TODO, "Summary written by a colleague.\n\n" + SUMMARY_TODO)  # noqa: E731
    outcome = publish_page(EditAfterRead(client(), wiki_env, theirs), None, title=title, draft=ours)  # type: ignore[arg-type]
    assert outcome.saved is not None
    text = page(wiki_env, title)
    assert "Summary written by a colleague." in text and "(our re-draft)" in text


@pytest.mark.integration
def test_publish_refuses_damaged_markers_and_writes_nothing(wiki_env: MediaWiki, tmp_path: Path) -> None:
    title = "PublishTest/2023-02-14 Backport crash (damaged)"
    path = draft_file(tmp_path)
    assert run("publish", str(path), "--page", title).exit_code == 0
    damaged = page(wiki_env, title).replace("<!-- incidentkit:end timeline -->", "")
    wiki_env.put_page(title, damaged, user=COLLEAGUE)
    result = run("publish", str(path), "--page", title, "--force")
    assert result.exit_code == 1
    assert "are damaged (region 'timeline' has no end marker" in result.stderr
    assert page(wiki_env, title) == damaged


@pytest.mark.integration
def test_publish_needs_a_login_to_write(mediawiki: MediaWiki, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    mediawiki.config_env(monkeypatch, name="ops", user=None)
    path = draft_file(tmp_path)
    result = run("publish", str(path), "--page", "PublishTest/anonymous")
    assert result.exit_code == 1
    assert "without logging in" in result.stderr and "password" in result.stderr
    assert mediawiki.get_page("PublishTest/anonymous") is None


def test_publish_input_errors(tmp_path: Path) -> None:
    (tmp_path / "d.wiki").write_text("{{irdoc|status=draft}}\n")
    missing_page = run("publish", str(tmp_path / "d.wiki"))
    assert missing_page.exit_code == 2 and "--page is required" in missing_page.stderr
    Store.open(db_path(load_settings())).close()
    unknown = run("publish", "2020-01-01_nothing", "--page", "X")
    assert unknown.exit_code == 1 and "unknown incident '2020-01-01_nothing'" in unknown.stderr


# --- the managers' dashboard ----------------------------------------------------------------------


def test_the_dashboard_says_when_phabricator_was_last_synced_or_that_it_never_was() -> None:
    fixture = ROOT / "tests" / "fixtures" / "incidents" / "wikitext"
    assert run("import", "--replay", str(fixture)).exit_code == 0
    now = datetime(2026, 6, 1, 12, tzinfo=UTC)
    with Store.open(db_path(load_settings())) as store:
        never = dashboard_text(store, now=now)
        assert "Not synced with Phabricator yet (<code>incidentkit actionables sync</code>)" in never
        assert "Task statuses are Phabricator's" not in never
        tracked = [a for a in store.incident_actionables("2024-02-01_example-all-actionable-styles") if a.task and a.is_open]
        store.touch_actionables([a.id or 0 for a in tracked[:-1]], synced_at=datetime(2026, 5, 30, 7, 5, tzinfo=UTC))
        synced = dashboard_text(store, now=now)
    with_tasks = sum(1 for a in all_open(now) if a.task)
    assert "Task statuses are Phabricator's as of <code>incidentkit actionables sync</code> on 2026-05-30 07:05 UTC" in synced
    assert f"; {with_tasks - len(tracked) + 1} tasks not synced yet show the status the report gives." in synced
    assert "Not synced" not in synced


def all_open(now: datetime) -> list[Any]:
    with Store.open(db_path(load_settings())) as store:
        return list_actionables(store, ActionableQuery(), now=now)



@pytest.mark.integration
def test_dashboard_page_is_regenerated_in_place(wiki_env: MediaWiki, monkeypatch: pytest.MonkeyPatch) -> None:
    title = "PublishTest/Incident actionables"
    fixture = ROOT / "tests" / "fixtures" / "incidents" / "wikitext"
    assert run("import", "--replay", str(fixture)).exit_code == 0
    now = datetime(2026, 6, 1, 12, tzinfo=UTC)
    with Store.open(db_path(load_settings())) as store:
        slug = "2024-02-01_example-all-actionable-styles"
        soon = store.find_actionable(slug, task="T350010")
        later = store.find_actionable(slug, task="T350011")
        assert soon is not None and later is not None
        set_fields(store, soon.id or 0, now=now, owner="alice", due=date(2026, 7, 1))
        set_fields(store, later.id or 0, now=now, owner="alice")
        open_before = summarize(store, ActionableQuery(), now=now).open

    monkeypatch.setenv("INCIDENTKIT_NOW", "2026-06-01T12:00:00Z")
    result = run("actionables", "publish", "--page", title)
    assert result.exit_code == 0, result.output
    text = page(wiki_env, title)
    body = regions(text)["dashboard"].content
    assert "Generated by incidentkit on 2026-06-01 12:00 UTC" in body
    assert f"'''{open_before}''' open actionables" in body
    assert "== By owner ==" in body and "=== alice (2 open, 1 overdue) ===" in body
    assert "== By incident ==" in body
    assert "[[phab:T350010|T350010]] || Add an alert for save failures" in body
    assert "2026-07-01" in body and "'''overdue''' by" in body
    assert "[[Incidents/2024-02-01 Example all actionable styles|Example all actionable styles]]" in body
    assert_renders_cleanly(title, text)

    wiki_env.put_page(title, "Managers: ask in #sre.\n\n" + text + "\n\nNotes kept below the list.", user=COLLEAGUE)
    with Store.open(db_path(load_settings())) as store:
        set_fields(store, soon.id or 0, now=now, status="done")
    monkeypatch.setenv("INCIDENTKIT_NOW", "2026-06-08T12:00:00Z")
    again = run("actionables", "publish", "--page", title)
    assert again.exit_code == 0, again.output
    text = page(wiki_env, title)
    body = regions(text)["dashboard"].content
    assert text.startswith("Managers: ask in #sre.") and text.endswith("Notes kept below the list.")
    assert "2026-06-08 12:00 UTC" in body and f"'''{open_before - 1}''' open" in body
    assert "=== alice (1 open, 1 overdue) ===" in body
    assert not regions(text)["dashboard"].edited


@pytest.mark.integration
def test_publishing_a_draft_no_incident_knows_records_a_new_one(wiki_env: MediaWiki, tmp_path: Path) -> None:
    title = "PublishTest/2024-03-03 Hand-written report"
    path = tmp_path / "hand.wiki"
    path.write_text(
        "{{irdoc|status=draft}}\n== Summary ==\nWritten by hand.\n\n== Actionables ==\n* Fix the cache {{Phabricator|T4242}}\n"
    )
    result = run("publish", str(path), "--page", title)
    assert result.exit_code == 0, result.output
    assert "recorded on incident 2024-03-03_hand-written-report" in result.stderr
    current = client().read(title)
    with Store.open(db_path(load_settings())) as store:
        record = store.require_incident("2024-03-03_hand-written-report")
        assert current is not None and (record.page, record.revision, record.wiki) == (title, current.revid, "ops")
        assert store.find_actionable(record.slug, task="T4242") is not None


def test_republishing_over_an_earlier_version_removes_the_retired_regions() -> None:
    earlier = (ROOT / "tests" / "fixtures" / "publish" / "backport-crash.earlier-version.wiki").read_text()
    draft = (ROOT / "tests" / "golden" / "backport-crash.wiki").read_text()
    base = PageText(title="P", text=earlier.rstrip("\n"), revid=7, timestamp=BASE.timestamp)
    plan = plan_publish("P", base, draft, scorecard=load_definition())
    assert plan.splice is not None and plan.splice.removed == ("moments", "sources")
    assert "|+ Key moments (UTC)" not in plan.text and "lines could not be read" not in plan.text
    assert "|}\n\n'''TODO:''' Summary of what happened" in plan.text  # no gap left behind
    assert "== Timeline ==\nAll times in UTC." in plan.text
    assert regions(plan.text)["timeline"].content == regions(draft)["timeline"].content
    assert set(plan.splice.skipped) == {  # cells were the humans'
        "meta-id", "meta-start", "meta-task", "meta-end", "meta-paged", "meta-responders",
        "similar",  # a section the earlier page does not have: its heading is the humans' to add
    }

    sources = regions(earlier)["sources"]
    edited = base.text.replace(sources.content, sources.content + "\n* a note someone added")
    kept = plan_publish("P", PageText(title="P", text=edited, revid=8, timestamp=BASE.timestamp), draft, scorecard=load_definition())
    assert kept.splice is not None and kept.splice.removed == ("moments",) and "* a note someone added" in kept.text


@pytest.mark.integration
def test_a_login_refused_while_the_draft_is_read_is_the_one_error_shown(
    mediawiki: MediaWiki, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # publish FILE reads the page (logging in first) in the background while it reads the draft
    secret = mediawiki.config_env(monkeypatch, name="ops")
    monkeypatch.setenv(secret, "Pw-not-the-password")
    path = draft_file(tmp_path)
    result = run("publish", str(path), "--page", "PublishTest/refused login")
    assert result.exit_code != 0 and result.stderr.startswith("Error: ") and "Traceback" not in result.output
    assert "login" in result.stderr and "Pw-not-the-password" not in result.output
    assert mediawiki.get_page("PublishTest/refused login") is None
