"""``incidentkit scorecard fill|show|stats`` end to end: prompts answered on a real (pseudo-)terminal, real SQLite."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from incidentkit.model.incident import IncidentRecord
from incidentkit.model.scorecard import Answer, ScoreAnswer
from incidentkit.model.time import format_utc
from incidentkit.services.scorecard import load_definition
from incidentkit.wikitext.scorecard import parse_from_wikitext
from tests.helpers import home_store, run, run_in_terminal

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "data" / "examples" / "backport-crash"
SLUG = "2023-02-14_backport-crash"


@pytest.fixture
def incident(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("INCIDENTKIT_NOW", "2023-02-20T10:00:00Z")
    monkeypatch.setenv("USER", "envuser")
    with home_store() as store:
        store.save_incident(
            IncidentRecord(
                slug=SLUG,
                title="Backport crash",
                start="2023-02-14T18:16:00Z",
                task="T329510",
                metadata={"people_paged": "3", "first_alert": "FrontendUnavailable"},
            )
        )
    return SLUG


def _answers() -> dict[str, ScoreAnswer]:
    with home_store() as store:
        return store.get_scorecard_answers(SLUG)


# --- fill -----------------------------------------------------------------------------------------


@pytest.mark.slow  # a child process on a terminal
def test_fill_interactively_every_question(incident: str) -> None:
    # 15 questions: answer, then a note (empty = none). Q3, Q8 and Q13 take the suggested default.
    lines = [
        "yes",
        "deployers, not SREs",
        "y",
        "",
        "",
        "",
        "yes",
        "",
        "yes",
        "",
        "yes",
        "no doc needed",
        "no",
        "no access to the status page",
        "",
        "created by the community",
        "yes",
        "",
        "y",
        "",
        "n",
        "T290536 | would have helped",
        "yes",
        "",
        "",
        "",
        "yes",
        "",
        "yes",
        "runbook",
    ]
    result = run_in_terminal("scorecard", "fill", incident, "--reviewer", "jdoe", input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    assert "[People 1/15] Were the people responding" in result.output
    assert "suggested: yes (people paged: 3)" in result.output
    assert "suggested: yes (the incident task is T329510)" in result.output
    assert "suggested: yes (first alert: FrontendUnavailable)" in result.output
    assert f"{incident}: 15 of 15 answered, total score 13" in result.output
    stored = _answers()
    assert len(stored) == 15
    assert stored["responders_different"].note == "deployers, not SREs"
    assert stored["few_paged"].answer is Answer.YES  # the default, from people_paged = 3
    assert (stored["status_page_updated"].answer, stored["status_page_updated"].note) == (
        Answer.NO,
        "no access to the status page",
    )
    assert stored["task_queue_clear"].note == "T290536 | would have helped"
    assert {a.reviewer for a in stored.values()} == {"jdoe"}
    assert {a.source for a in stored.values()} == {"local"}
    assert {format_utc(a.answered_at) for a in stored.values()} == {"2023-02-20T10:00:00Z"}


@pytest.mark.slow  # a child process on a terminal
def test_resume_asks_neither_answered_nor_skipped_questions_unless_all(incident: str) -> None:
    first = run_in_terminal("scorecard", "fill", incident, input="yes\nok\nskip\n" + "skip\n" * 13)
    assert first.exit_code == 0, first.output
    assert f"{incident}: 1 of 15 answered, total score 1" in first.output
    answered = {k: a.answer for k, a in _answers().items() if a.answer is not None}
    assert answered == {"responders_different": Answer.YES}
    assert _answers()["responders_different"].reviewer == "envuser"  # $USER
    assert len(_answers()) == 15 and {a.source for a in _answers().values()} == {"local"}  # skips are kept

    second = run_in_terminal("scorecard", "fill", incident, input="")
    assert second.exit_code == 0, second.output
    assert "Answer (yes/no/skip)" not in second.output
    assert "every question is answered or skipped" in second.output and "--all" in second.output

    every = run_in_terminal("scorecard", "fill", incident, "--all", input="\n\n" + "no\nlate\n" + "s\n" * 13)
    assert every.exit_code == 0, every.output
    assert every.output.count("Answer (yes/no/skip)") == 15
    assert _answers()["responders_prepared"].answer is Answer.NO
    assert _answers()["responders_different"].answer is Answer.YES  # Enter kept it; a skip keeps it too


@pytest.mark.slow  # a child process on a terminal
def test_interrupting_a_fill_says_what_was_saved_and_how_to_go_on(incident: str) -> None:
    result = run_in_terminal("scorecard", "fill", incident, input="yes\n\nno\nmeh\n", interrupt_at="[People 3/15]")
    assert result.exit_code == 130, result.output
    assert "Interrupted. 2 answers saved this time; 2 of 15 answered." in result.output
    assert f"`incidentkit scorecard fill {incident}`" in result.output and "Aborted!" not in result.output
    assert "Traceback" not in result.output
    assert {k: a.answer for k, a in _answers().items()} == {
        "responders_different": Answer.YES,
        "responders_prepared": Answer.NO,
    }


@pytest.mark.slow  # a child process on a terminal
def test_abort_midway_keeps_what_was_answered(incident: str) -> None:
    result = run_in_terminal("scorecard", "fill", incident, input="yes\n\nno\nmeh\n\x04")  # Ctrl-D at question 3
    assert result.exit_code == 1 and "Error: standard input ended before every question was answered" in result.output
    assert "Traceback" not in result.output and "Aborted" not in result.output
    assert {k: a.answer for k, a in _answers().items()} == {
        "responders_different": Answer.YES,
        "responders_prepared": Answer.NO,
    }
    again = run_in_terminal("scorecard", "fill", incident, input="s\n" * 13)
    assert again.exit_code == 0 and "[People 3/15]" in again.output and "[People 2/15]" not in again.output


@pytest.mark.slow  # a child process on a terminal
def test_fill_all_shows_current_answers_and_keeps_them_on_enter(incident: str) -> None:
    assert run_in_terminal("scorecard", "fill", incident, input="no\nfirst note\n" + "s\n" * 14).exit_code == 0
    result = run_in_terminal("scorecard", "fill", incident, "--all", input="\n\n" + "s\n" * 14)
    assert result.exit_code == 0, result.output
    assert "now: no first note" in result.output
    assert "Answer (yes/no/skip) [no]:" in result.output and "Note [first note]:" in result.output
    kept = _answers()["responders_different"]
    assert (kept.answer, kept.note) == (Answer.NO, "first note")
    cleared = run_in_terminal("scorecard", "fill", incident, "--all", input="yes\n-\n" + "s\n" * 14)
    assert cleared.exit_code == 0, cleared.output
    changed = _answers()["responders_different"]
    assert (changed.answer, changed.note) == (Answer.YES, "")


@pytest.mark.slow  # a child process on a terminal
def test_fill_reprompts_on_a_bad_answer(incident: str) -> None:
    result = run_in_terminal("scorecard", "fill", incident, input="maybe\nyes\n\n" + "s\n" * 14)
    assert result.exit_code == 0, result.output
    assert "Error: cannot read 'maybe' as an answer" in result.output
    assert _answers()["responders_different"].answer is Answer.YES


def test_fill_from_answers_files(incident: str, tmp_path: Path) -> None:
    answers = tmp_path / "answers.toml"
    answers.write_text(
        'task_exists = "yes"\nfew_paged = { answer = "no", note = "14 paged" }\n', encoding="utf-8"
    )
    result = run("scorecard", "fill", incident, "--answers", str(answers), "--reviewer", "bot")
    assert result.exit_code == 0, result.output
    assert "Answer (" not in result.output and "saved 2 answers" in result.output
    as_json = tmp_path / "answers.json"
    as_json.write_text(json.dumps({"runbook_used": "yes"}), encoding="utf-8")
    assert run("scorecard", "fill", incident, "--answers", str(as_json)).exit_code == 0
    stored = _answers()
    assert (stored["few_paged"].answer, stored["few_paged"].note, stored["few_paged"].reviewer) == (
        Answer.NO,
        "14 paged",
        "bot",
    )
    assert set(stored) == {"task_exists", "few_paged", "runbook_used"}


def test_answers_file_with_unknown_key_is_a_one_line_error(incident: str, tmp_path: Path) -> None:
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({"task_exists": "yes", "pager_duty": "no"}), encoding="utf-8")
    result = run("scorecard", "fill", incident, "--answers", str(answers))
    assert result.exit_code == 2
    assert f"Error: {answers}: unknown question key 'pager_duty'\n" in result.stderr
    assert "Hint: known keys: responders_different," in result.stderr
    assert _answers() == {}  # nothing half-saved


def test_fill_unknown_incident(incident: str, tmp_path: Path) -> None:
    answers = tmp_path / "answers.toml"
    answers.write_text('task_exists = "yes"\n', encoding="utf-8")
    result = run("scorecard", "fill", "2020-01-01_nothing", "--answers", str(answers))
    assert result.exit_code == 1
    assert "Error: unknown incident '2020-01-01_nothing'" in result.stderr


@pytest.mark.slow  # a child process on a terminal
def test_fill_without_any_reviewer_name(incident: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("USER")
    monkeypatch.delenv("LOGNAME", raising=False)
    result = run_in_terminal("scorecard", "fill", incident, input="yes\n")
    assert result.exit_code == 2 and "Error: no reviewer name" in result.output


@pytest.mark.slow  # a child process on a terminal
def test_reviewer_from_config(incident: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[scorecard]\nreviewer = "Configured Reviewer"\n', encoding="utf-8")
    result = run_in_terminal("--config", str(config), "scorecard", "fill", incident, input="yes\n\n" + "s\n" * 14)
    assert result.exit_code == 0, result.output
    assert _answers()["responders_different"].reviewer == "Configured Reviewer"


def test_invalid_site_scorecard_file_names_file_and_line(incident: str, tmp_path: Path) -> None:
    own = tmp_path / "card.toml"
    own.write_text(
        'title = "Card"\n[[categories]]\nname = "People"\n[[questions]]\nkey = "q"\ncategory = "People"\ntext = "Q?"\nkind = "maybe"\n',
        encoding="utf-8",
    )
    config = tmp_path / "config.toml"
    config.write_text(f'[scorecard]\nfile = "{own}"\n', encoding="utf-8")
    result = run("--config", str(config), "scorecard", "show", incident)
    assert result.exit_code == 2
    assert f"Error: {own}:8: question 'q' has unknown answer kind 'maybe'" in result.stderr


# --- show -----------------------------------------------------------------------------------------


def _filled(incident: str) -> None:
    with home_store() as store:
        store.save_scorecard_answers(
            incident,
            {"task_exists": ("yes", "T329510"), "status_page_updated": ("no", "no access")},
            reviewer="jdoe",
        )


def test_show_formats(incident: str) -> None:
    _filled(incident)
    as_json = json.loads(run("scorecard", "show", incident, "--format", "json").stdout)
    assert (as_json["incident"], as_json["answered"], as_json["total"], len(as_json["rows"])) == (
        incident,
        2,
        1,
        15,
    )
    row = next(r for r in as_json["rows"] if r["key"] == "status_page_updated")
    assert (row["answer"], row["note"], row["reviewer"], row["source"]) == (
        "no",
        "no access",
        "jdoe",
        "local",
    )

    rows = list(csv.DictReader(io.StringIO(run("scorecard", "show", incident, "--format", "csv").stdout)))
    assert len(rows) == 15 and rows[7]["key"] == "task_exists" and rows[7]["answer"] == "yes"

    markdown = run("scorecard", "show", incident, "--format", "markdown").stdout
    assert (
        "| Process | task_exists | Is there a phabricator task for the incident? | yes | T329510 |"
        in markdown
    )

    table = run("scorecard", "show", incident, "--format", "table")
    assert table.exit_code == 0
    assert "Incident Engagement ScoreCard" in table.stdout and "no access" in table.stdout
    assert "Total score (count of all “yes” answers above): 1" in table.stdout


def test_show_defaults_to_json_off_a_terminal(incident: str) -> None:
    result = run("scorecard", "show", incident)
    assert result.exit_code == 0 and json.loads(result.stdout)["total"] is None


# --- stats ----------------------------------------------------------------------------------------


def test_stats_json_and_csv(incident: str) -> None:
    with home_store() as store:
        store.save_incident(
            IncidentRecord(slug="2023-06-01_other", title="Other", start="2023-06-01T00:00:00Z")
        )
        store.save_scorecard_answers(
            incident, {"status_page_updated": ("no", ""), "runbook_used": ("yes", "")}, reviewer="a"
        )
        store.save_scorecard_answers("2023-06-01_other", {"status_page_updated": ("no", "")}, reviewer="b")
    document = json.loads(run("scorecard", "stats", "--format", "json").stdout)
    assert (document["by"], document["periods"], document["incidents"]) == ("quarter", ["2023-Q1", "2023-Q2"], 2)
    records = document["rows"]
    status = {
        r["period"]: (r["no"], r["answered"], r["share_no"])
        for r in records
        if r["key"] == "status_page_updated"
    }
    assert status == {"2023-Q1": (1, 1, 1.0), "2023-Q2": (1, 1, 1.0), "all": (2, 2, 1.0)}
    monthly = run("scorecard", "stats", "--by", "month", "--since", "2023-03-01", "--format", "csv")
    assert monthly.exit_code == 0, monthly.output
    rows = list(csv.DictReader(io.StringIO(monthly.stdout)))
    assert {r["period"] for r in rows} == {"2023-06", "all"}
    table = run("scorecard", "stats", "--format", "table")
    assert table.exit_code == 0 and "100% (2/2)" in table.stdout and "2023-Q1" in table.stdout


# --- the page shows what was filled locally (no network) -------------------------------------------


@pytest.mark.slow  # a child process on a terminal
def test_filled_scorecard_appears_in_the_redrafted_page() -> None:
    drafted = run("draft", "--replay", str(EXAMPLE))
    assert drafted.exit_code == 0, drafted.output
    slug = drafted.stderr.split("recorded as incident ")[1].split()[0]
    assert "'''TODO:''' Answer the scorecard" in drafted.stdout
    filled = run_in_terminal(
        "scorecard",
        "fill",
        slug,
        "--reviewer",
        "jdoe",
        input="yes\nresponders were deployers\n" + "yes\n\n" * 14,
    )
    assert filled.exit_code == 0, filled.output
    page = run("draft", "--replay", str(EXAMPLE)).stdout
    region = page[
        page.index("<!-- incidentkit:begin scorecard") : page.index("<!-- incidentkit:end scorecard -->")
    ]
    assert "TODO" not in region and "| responders were deployers\n" in region and "| 15\n" in region
    parsed = parse_from_wikitext(page, load_definition())
    assert len(parsed) == 15 and parsed["responders_different"] == (Answer.YES, "responders were deployers")
