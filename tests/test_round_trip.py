"""The page readers see, through every path and every round trip.

* One rendering path: ``draft`` (live, ``--replay``, ``--incident``, ``--no-store``), ``publish
  SLUG`` and ``publish FILE`` give the same page for the same stored state, proposed and tracked
  actionables included — before and after curation, locked edits and scorecard answers.
* The round trip on the real wiki: a colleague answers every prompt (``Colleague@incidentkit``),
  the owner re-drafts with new data and republishes: every answer is kept, every generated fact
  is updated, nothing is reported as kept.
* Golden files of the published page and of the page after that round trip.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from incidentkit.config import db_path, load_settings
from incidentkit.model.scorecard import Answer
from incidentkit.services.draft import redraft
from incidentkit.store import Store
from incidentkit.wikitext.regions import regions
from tests.helpers import run
from tests.servers.mediawiki import COLLEAGUE, MediaWiki
from tests.test_golden import check_golden

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "data" / "examples" / "backport-crash"
SLUG = "2023-02-14_backport-crash"
SOURCES = ("sal", "phabricator", "prometheus", "alertmanager", "irc", "oncall")
INPUTS = [arg for name in SOURCES for arg in ("--input", f"{name}={EXAMPLE / name}")]
PULLED_AT = "2023-02-16T09:00:00Z"  # the example pull's own clock reading
FIRST_ROW = "6177725"  # the ref of the example's first timeline row (18:16)


def drafted(*args: str) -> str:
    result = run("draft", *args)
    assert result.exit_code == 0, result.output
    return result.stdout


def from_store() -> str:
    """What ``publish SLUG`` renders: the incident re-drafted from the store alone."""
    settings = load_settings()
    with Store.open(db_path(settings)) as store:
        return redraft(store, SLUG, settings).text


def ok(*args: str) -> str:
    result = run(*args)
    assert result.exit_code == 0, (args, result.output)
    return result.stderr


def test_every_path_gives_the_same_page(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("INCIDENTKIT_NOW", PULLED_AT)
    preview = drafted("--replay", str(EXAMPLE), "--no-store")  # nothing recorded yet
    replayed = drafted("--replay", str(EXAMPLE))
    live = drafted(
        "--from", "2023-02-14 18:00", "--to", "2023-02-14 19:45", "--title", "Backport crash", "--task", "T329510", *INPUTS
    )  # fmt: skip
    repulled = drafted("--incident", SLUG, *INPUTS)
    assert preview == replayed == live == repulled == from_store()
    actionables = regions(replayed)["actionables"].content
    assert "[[phab:T329530|T329530]]" in actionables and "[[phab:T329531|T329531]]" in actionables

    # the owner curates, corrects, tracks follow-ups and answers the scorecard: every path still agrees
    answers = tmp_path / "answers.toml"
    answers.write_text('task_exists = "yes"\nfew_paged = {answer = "yes", note = "two people"}\n')
    ok("timeline", "hide", SLUG, "--kind", "dbctl")
    ok("timeline", "mark", SLUG, "impact_start", "18:16")
    ok("timeline", "note", SLUG, FIRST_ROW, "the volunteer's five patches")
    ok("incidents", "edit", SLUG, "--title", "Fatals for logged-in users after a backport")
    ok("actionables", "add", SLUG, "Document the backport sync order", "--owner", "urbanecm")
    ok("scorecard", "fill", SLUG, "--answers", str(answers), "--reviewer", "jdoe")
    curated = from_store()
    assert drafted("--replay", str(EXAMPLE), "--no-store") == curated
    assert drafted("--replay", str(EXAMPLE)) == curated
    assert drafted("--incident", SLUG, *INPUTS) == curated
    assert "Document the backport sync order (Open) – urbanecm" in regions(curated)["actionables"].content
    assert "-->2023-02-14 Fatals for logged-in users after a backport<!--" in curated
    assert "''(the volunteer's five patches)''" in curated and "dbctl" not in curated
    assert "| two people" in regions(curated)["scorecard"].content


# --- the real wiki ---------------------------------------------------------------------------------


@pytest.fixture
def wiki_env(mediawiki: MediaWiki, monkeypatch: pytest.MonkeyPatch) -> MediaWiki:
    mediawiki.config_env(monkeypatch, name="ops")
    monkeypatch.setenv("INCIDENTKIT_NOW", "2023-02-16T10:00:00Z")
    return mediawiki


@pytest.mark.integration
def test_publish_slug_and_publish_file_give_the_same_page(wiki_env: MediaWiki, tmp_path: Path) -> None:
    draft = tmp_path / "draft.wiki"
    ok("draft", "--replay", str(EXAMPLE), "-o", str(draft))
    ok("publish", SLUG, "--page", "RoundTrip/2023-02-14 Backport crash (slug)")
    ok("publish", str(draft), "--page", "RoundTrip/2023-02-14 Backport crash (file)")
    by_slug = wiki_env.get_page("RoundTrip/2023-02-14 Backport crash (slug)")
    assert by_slug is not None and by_slug == wiki_env.get_page("RoundTrip/2023-02-14 Backport crash (file)")
    assert by_slug == draft.read_text().rstrip("\n")  # MediaWiki drops the final newline only
    check_golden("backport-crash.published.wiki", by_slug + "\n")


# Every prompt of the page, answered as a colleague would (the prompt's start -> the answer).
ANSWERED = {
    "| '''Impact''' || colspan=\"3\" | TODO:": "| '''Impact''' || colspan=\"3\" | Logged-in users got fatal errors on every page view for 15 minutes.",
    "'''TODO:''' Summary of what happened": "A backport of five patches crashed MediaWiki for all logged-in users.",
    "'''TODO:''' Add what the sources cannot know": "* 18:34:51 First user report on IRC (written by a colleague)",
    "'''TODO:''' What did humans notice first": "A user reported fatals on IRC four seconds before the first alert.",
    "'''TODO:''' Did the appropriate alert(s) fire?": "Yes; the alert volume was manageable.",
    "'''TODO:''' What weaknesses did we learn about": "Canary checks do not see a half-synced backport.",
    "* '''TODO:''' …\n\n=== What went poorly? ===": "* The revert worked as is.\n\n=== What went poorly? ===",
    "* '''TODO:''' …\n\n=== Where did we get lucky? ===": "* Canary checks did not catch it.\n\n=== Where did we get lucky? ===",
    "* '''TODO:''' …\n\n== Links": "* Not sure, everything went as expected.\n\n== Links",
    "* '''TODO:''' add runbooks": "* [[Backport windows/Deployers]]",
    "'''TODO:''' Add the #Sustainability": "Both tasks carry the #Sustainability (Incident Followup) tag.",
    "'''TODO:''' Answer the scorecard below": "Answered in the table below.",
}
CELLS = {"Coordinators": "cwhite", "Affected metrics/SLOs": "none"}  # People paged and Responder count come from facts
SCORED = {  # question wording on the page -> (answer, note) typed into its row
    "Were fewer than five people paged?": ("yes", "pages went out right before the revert"),
    "Is there a phabricator task for the incident?": ("yes", ""),
    "Did existing monitoring notify the initial responders?": ("no", "a user was first"),
}


def answer_every_prompt(text: str) -> str:
    for start, answer in ANSWERED.items():
        if "\n" in start:  # a placeholder bullet, named by the heading after it
            assert start in text, start
            text = text.replace(start, answer, 1)
        else:
            line = next(li for li in text.split("\n") if li.startswith(start))
            text = text.replace(line, answer, 1)
    for label, value in CELLS.items():
        cell = re.compile(rf"(\| '''{re.escape(label)}''' \|\| )TODO[^|\n]*")
        text = cell.sub(lambda m, value=value: f"{m.group(1)}{value} ", text, count=1)
    for question, (answer, note) in SCORED.items():
        text = text.replace(f"| {question}\n|\n|\n", f"| {question}\n| {answer}\n|{' ' + note if note else ''}\n", 1)
    return text


@pytest.mark.integration
def test_a_colleagues_answers_survive_a_redraft_and_every_fact_refreshes(
    wiki_env: MediaWiki, tmp_path: Path
) -> None:
    title = "RoundTrip/2023-02-14 Backport crash"
    ok("draft", "--replay", str(EXAMPLE), "-o", "/dev/null")
    ok("publish", SLUG, "--page", title)
    first = wiki_env.get_page(title)
    assert first is not None

    wiki_env.put_page(title, answer_every_prompt(first), user=COLLEAGUE)
    answered = wiki_env.get_page(title)
    assert answered is not None and "TODO" not in answered  # every prompt answered
    assert [name for name, region in regions(answered).items() if region.edited] == ["scorecard"]

    # New data: the SAL gains a line, the owner marks the impact start on the test-server sync.
    pull = tmp_path / "pull"
    shutil.copytree(EXAMPLE, pull)
    sal = pull / "sal" / "000-Server_Admin_Log"
    sal.write_text(sal.read_text().replace(
        "* 18:39 urbanecm", "* 18:41 taavi: error rate dropping on the canaries\n* 18:39 urbanecm"
    ))  # fmt: skip
    ok("draft", "--replay", str(pull), "-o", "/dev/null")
    ok("timeline", "mark", SLUG, "impact_start", "18:31")

    dry = run("publish", SLUG, "--dry-run")  # shows what publishing does, and keeps nothing
    assert dry.exit_code == 0 and "region 'scorecard' was answered on the wiki" in dry.stderr and "kept" not in dry.stderr
    with Store.open(db_path(load_settings())) as store:
        assert store.get_scorecard_answers(SLUG) == {}

    republished = run("publish", SLUG)
    assert republished.exit_code == 0, republished.output
    assert "kept" not in republished.stderr and "still differs" not in republished.stderr
    assert "region 'scorecard' was answered on the wiki" in republished.stderr
    page = wiki_env.get_page(title)
    assert page is not None
    for answer in (*ANSWERED.values(), *(f"'''{label}''' || {value} " for label, value in CELLS.items())):
        assert answer in page, f"lost the colleague's {answer!r}"
    spans = regions(page)
    assert not [name for name, region in spans.items() if region.edited]  # every region is generated again
    assert "18:41 taavi: error rate dropping on the canaries" in spans["timeline"].content
    assert spans["meta-start"].content == "2023-02-14 18:31"
    assert (spans["meta-paged"].content, spans["meta-responders"].content) == ("2 (cwhite, mlopez)", "4+")
    assert "** Impact started: 18:31" in spans["detection"].content
    assert "time to detect: 4 min" in spans["detection"].content
    scorecard = spans["scorecard"].content
    for question, (answer, note) in SCORED.items():
        assert f"| {question}\n| {answer}\n|{' ' + note if note else ''}\n" in scorecard
    with Store.open(db_path(load_settings())) as store:
        stored = store.get_scorecard_answers(SLUG)
    assert stored["few_paged"].answer is Answer.YES and stored["few_paged"].source == "import"
    check_golden("backport-crash.republished.wiki", page + "\n")

    again = run("publish", SLUG)  # nothing new: nothing to do, nothing kept
    assert again.exit_code == 0 and "nothing to update" in again.stderr and "kept" not in again.stderr


@pytest.mark.integration
def test_start_and_end_follow_the_marks_until_someone_edits_the_cell(wiki_env: MediaWiki) -> None:
    title = "RoundTrip/2023-02-14 Backport crash (cells)"
    ok("draft", "--replay", str(EXAMPLE), "-o", "/dev/null")
    ok("publish", SLUG, "--page", title)
    ok("timeline", "mark", SLUG, "impact_start", "18:31")
    ok("publish", SLUG)
    page = wiki_env.get_page(title)
    assert page is not None and regions(page)["meta-start"].content == "2023-02-14 18:31"

    end = regions(page)["meta-end"]
    wiki_env.put_page(title, page.replace(end.text, end.text.replace("2023-02-14 18:52", "2023-02-14 19:31 (after the fix)")), user=COLLEAGUE)
    ok("timeline", "mark", SLUG, "resolved", "18:48")
    ok("timeline", "mark", SLUG, "impact_start", "18:16")
    result = run("publish", SLUG)
    assert result.exit_code == 0, result.output
    assert "kept region 'meta-end': it was edited on the wiki" in result.stderr
    assert "the page still differs from the draft in: meta-end" in result.stderr
    page = wiki_env.get_page(title)
    assert page is not None
    assert regions(page)["meta-end"].content == "2023-02-14 19:31 (after the fix)"  # the person's value stays
    assert regions(page)["meta-start"].content == "2023-02-14 18:16"  # the other cell still follows
