"""The scorecard: definition file, defaults, answers, render context, the wikitable, reading pages, stats."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import mwparserfromhell
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incidentkit.config import ScorecardSettings, Settings, asset_path
from incidentkit.errors import ConfigError, InputError, StoreError
from incidentkit.model.incident import Incident, IncidentRecord
from incidentkit.model.scorecard import (
    Answer,
    AnswerKind,
    ParsedAnswer,
    QuestionStats,
    ScoreAnswer,
    ScorecardDefinition,
    ScorecardSave,
    ScorecardStats,
    StatCell,
    Suggestion,
    fill_scorecard,
    parse_answer,
)
from incidentkit.model.window import Window
from incidentkit.services.scorecard import (
    definition_path,
    load_definition,
    parse_answers,
    parse_definition,
    plan_fill,
    read_answers_file,
    reviewer_name,
    scorecard_for_incident,
    stats,
    suggest,
)
from incidentkit.store import Store
from incidentkit.wikitext import scorecard as scorecard_reader
from incidentkit.wikitext.render import render_incident, render_template
from incidentkit.wikitext.scorecard import parse_from_wikitext, parse_scorecard
from tests.servers.mediawiki import COLLEAGUE

FIXTURES = Path(__file__).parent / "fixtures" / "scorecard"
BUNDLED = asset_path("data", "scorecard.toml")
WHEN = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fresh_matcher() -> None:
    """Each test builds the question matcher itself (it is cached per definition), so that mutation
    testing links every test that reads a scorecard to the matcher's construction."""
    scorecard_reader._matcher.cache_clear()


@pytest.fixture(scope="module")
def definition() -> ScorecardDefinition:
    return load_definition()


def _answers(slug: str, values: dict[str, tuple[str | None, str]]) -> dict[str, ScoreAnswer]:
    return {
        key: ScoreAnswer(
            incident=slug, key=key, answer=Answer(a) if a else None, note=n, reviewer="rev", answered_at=WHEN
        )
        for key, (a, n) in values.items()
    }


def _fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def _tidy(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u00a0", " ")).strip()


# --- the definition ---------------------------------------------------------------------------


def test_bundled_definition_is_the_2025_scorecard_word_for_word(
    definition: ScorecardDefinition,
) -> None:
    seed = _tidy(_fixture("seed001_backport_crash_v3_filled.txt"))
    assert definition.title == "Incident Engagement ScoreCard"
    assert definition.categories == ("People", "Process", "Tooling")
    assert [q.category for q in definition.questions] == ["People"] * 5 + ["Process"] * 5 + ["Tooling"] * 5
    assert len(set(definition.keys)) == 15
    for question in definition.questions:
        assert question.kind is AnswerKind.YES_NO and question.notes
        # the real 2025 page, flattened: every question (with its "Answer “no” if ..." line) verbatim
        assert (
            _tidy(question.full_text) in seed
            or _tidy(question.full_text).replace(" open tasks", "\nopen tasks") in seed
        )
    assert definition.total_method == "count-yes"
    assert definition.total_label == "Total score (count of all “yes” answers above)"
    assert definition.total_label in seed


def test_site_file_from_settings(tmp_path: Path) -> None:
    own = tmp_path / "ours.toml"
    own.write_text(
        BUNDLED.read_text(encoding="utf-8").replace(
            'title = "Incident Engagement ScoreCard"', 'title = "Our card"'
        )
    )
    settings = Settings(scorecard=ScorecardSettings(file=str(own)))
    assert definition_path(settings) == own
    assert load_definition(definition_path(settings)).title == "Our card"
    assert definition_path(Settings()) == BUNDLED


def _broken(tmp_path: Path, old: str, new: str, *, count: int = 1) -> tuple[Path, str]:
    text = BUNDLED.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "scorecard.toml"
    path.write_text(text.replace(old, new, count), encoding="utf-8")
    return path, text.replace(old, new, count)


def _line_of(text: str, needle: str, occurrence: int = 0) -> int:
    lines = [n for n, line in enumerate(text.splitlines(), start=1) if needle in line]
    return lines[occurrence]


@pytest.mark.parametrize(
    ("old", "new", "needle", "occurrence", "message"),
    [
        ('key = "few_paged"', 'key = "few_paged', 'key = "few_paged', 0, "not valid TOML"),
        (
            'key = "few_paged"',
            'key = "responders_prepared"',
            'key = "responders_prepared"',
            1,
            "duplicate question key 'responders_prepared'",
        ),
        (
            'default = "task"\n',
            'default = "task"\nkind = "yes-no"\n',
            'kind = "yes-no"',
            8,
            "not valid TOML: Cannot overwrite",
        ),
        (
            'kind = "yes-no"\nnotes = true\ndefault = "task"',
            'kind = "stars"\nnotes = true\ndefault = "task"',
            'kind = "stars"',
            0,
            "unknown answer kind 'stars'",
        ),
        (
            'category = "Tooling"\ntext = "Did existing',
            'category = "Toolin"\ntext = "Did existing',
            'category = "Toolin"',
            0,
            "unknown category 'Toolin'",
        ),
        (
            'default = "first-alert"',
            'default = "pagerduty"',
            'default = "pagerduty"',
            0,
            "unknown default 'pagerduty'",
        ),
        ('default = "first-alert"', 'defualt = "first-alert"', "defualt", 0, "unknown key 'defualt'"),
        ('method = "count-yes"', 'method = "sum-points"', 'method = "sum-points"', 0, "unknown total method"),
        ('key = "runbook_used"', 'key = "Runbook Used"', 'key = "Runbook Used"', 0, "bad question key"),
    ],
)
def test_invalid_scorecard_files_name_the_line(
    tmp_path: Path, old: str, new: str, needle: str, occurrence: int, message: str
) -> None:
    path, text = _broken(tmp_path, old, new)
    with pytest.raises(ConfigError) as info:
        load_definition(path)
    assert message in info.value.message
    assert info.value.message.startswith(f"{path}:{_line_of(text, needle, occurrence)}: ")
    assert "\n" not in info.value.message


def test_missing_required_key_names_the_question_header(tmp_path: Path) -> None:
    old = 'text = "Were fewer than five people paged?"\n'
    path, text = _broken(tmp_path, old, "")
    with pytest.raises(ConfigError) as info:
        load_definition(path)
    header = text.splitlines().index('key = "few_paged"')  # 0-based index of the key line: header is above it
    assert info.value.message == f"{path}:{header}: question 3 has no 'text'"


def test_unreadable_scorecard_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the scorecard file .*nope.toml"):
        load_definition(tmp_path / "nope.toml")


# --- defaults and answers ---------------------------------------------------------------------


def test_suggestions_from_the_incident_record(definition: ScorecardDefinition) -> None:
    record = IncidentRecord(
        slug="s",
        title="S",
        task="T329000",
        metadata={"people_paged": "2", "first_alert": "FrontendUnavailable"},
    )
    found = suggest(definition, record)
    assert found["task_exists"].answer is Answer.YES and "T329000" in found["task_exists"].reason
    assert found["few_paged"] == Suggestion(Answer.YES, "people paged: 2")
    assert (
        found["monitoring_notified"].answer is Answer.YES
        and "FrontendUnavailable" in found["monitoring_notified"].reason
    )
    assert set(found) == {"task_exists", "few_paged", "monitoring_notified"}

    bare = suggest(definition, IncidentRecord(slug="s", title="S", metadata={"People paged": "14"}))
    assert bare["task_exists"].answer is Answer.NO
    assert bare["few_paged"].answer is Answer.NO
    assert "monitoring_notified" not in bare
    unknown = suggest(
        definition, IncidentRecord(slug="s", title="S", metadata={"people_paged": "N/A"})
    )
    assert "few_paged" not in unknown


def test_plan_fill_asks_neither_answered_nor_skipped_unless_all(definition: ScorecardDefinition) -> None:
    record = IncidentRecord(slug="s", title="S", task="T1")
    stored = _answers("s", {"responders_different": ("yes", "ok"), "few_paged": (None, "unsure"), "not_repeat": (None, "")})
    stored["not_repeat"] = replace(stored["not_repeat"], source="import")  # the page left it blank: ask it
    items = plan_fill(definition, stored, record)
    keys = [item.question.key for item in items]
    assert "responders_different" not in keys and "few_paged" not in keys  # answered; skipped by the reviewer
    assert "not_repeat" in keys and len(keys) == 13
    assert next(i for i in items if i.question.key == "task_exists").default == "yes"
    assert next(i for i in items if i.question.key == "runbook_used").default == "skip"
    every = plan_fill(definition, stored, record, ask_all=True)
    assert len(every) == 15 and every[0].default == "yes" and every[0].number == 1 and every[0].of == 15


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("yes", Answer.YES),
        ("Y", Answer.YES),
        (" no ", Answer.NO),
        ("n", Answer.NO),
        ("skip", "skip"),
        ("-", "skip"),
        ("", None),
    ],
)
def test_parse_answer(text: str, expected: object) -> None:
    assert parse_answer(text) == expected


def test_parse_answer_rejects_other_words() -> None:
    with pytest.raises(InputError, match="cannot read 'maybe' as an answer"):
        parse_answer("maybe")


def test_parse_answers_mapping(definition: ScorecardDefinition) -> None:
    parsed = parse_answers(
        {
            "task_exists": "yes",
            "few_paged": {"answer": "no", "note": " 14 people "},
            "runbook_used": False,
            "not_repeat": "skip",
        },
        definition,
    )
    assert parsed == {
        "task_exists": (Answer.YES, ""),
        "few_paged": (Answer.NO, "14 people"),
        "runbook_used": (Answer.NO, ""),
    }
    kept = parse_answers(
        {"not_repeat": {"answer": "skip", "note": "ask Bob"}, "few_paged": None}, definition
    )
    assert kept == {"not_repeat": (None, "ask Bob")}


def test_parse_answers_unknown_keys_is_one_line(definition: ScorecardDefinition) -> None:
    with pytest.raises(InputError) as info:
        parse_answers(
            {"task_exists": "yes", "bogus": "no", "other": "yes"}, definition, name="a.toml"
        )
    assert info.value.message == "a.toml: unknown question keys 'bogus', 'other'"
    assert "task_exists" in (info.value.hint or "")


def test_parse_answers_bad_value_names_the_key(definition: ScorecardDefinition) -> None:
    with pytest.raises(InputError, match="a.json: few_paged: cannot read 'perhaps'"):
        parse_answers({"few_paged": "perhaps"}, definition, name="a.json")
    with pytest.raises(InputError, match="few_paged: cannot read 3"):
        parse_answers({"few_paged": 3}, definition, name="a.json")


def test_read_answers_file_toml_json_and_bad(
    tmp_path: Path, definition: ScorecardDefinition
) -> None:
    toml = tmp_path / "a.toml"
    toml.write_text('task_exists = "yes"\n[few_paged]\nanswer = "no"\nnote = "many"\n', encoding="utf-8")
    assert read_answers_file(toml, definition) == {
        "task_exists": (Answer.YES, ""),
        "few_paged": (Answer.NO, "many"),
    }
    js = tmp_path / "a.json"
    js.write_text('{"runbook_used": {"answer": "yes", "note": "wiki"}}', encoding="utf-8")
    assert read_answers_file(js, definition) == {"runbook_used": (Answer.YES, "wiki")}
    js.write_text('{"runbook_used": ', encoding="utf-8")
    with pytest.raises(InputError, match="is not valid JSON"):
        read_answers_file(js, definition)
    with pytest.raises(InputError, match="cannot read answers file"):
        read_answers_file(tmp_path / "missing.json", definition)


def test_reviewer_name_order() -> None:
    configured = Settings(scorecard=ScorecardSettings(reviewer="cfg"))
    assert reviewer_name("cli", configured, {"USER": "env"}) == "cli"
    assert reviewer_name(None, configured, {"USER": "env"}) == "cfg"
    assert reviewer_name(None, Settings(), {"USER": "env"}) == "env"
    with pytest.raises(InputError, match="no reviewer name"):
        reviewer_name(None, Settings(), {})


# --- render context and the wikitable -----------------------------------------------------------


def test_fill_scorecard_blank(definition: ScorecardDefinition) -> None:
    blank = fill_scorecard(definition, {})
    assert blank.blank and blank.total is None and blank.answered == 0
    assert [r.rowspan for r in blank.rows] == [5, 0, 0, 0, 0] * 3
    assert all(r.answer == "" and r.note == "" for r in blank.rows)


def test_fill_scorecard_counts_yes(definition: ScorecardDefinition) -> None:
    filled = fill_scorecard(
        definition,
        _answers(
            "s",
            {
                "task_exists": ("yes", "T1"),
                "few_paged": ("no", ""),
                "runbook_used": ("yes", ""),
                "gone": ("yes", ""),
            },
        ),
    )
    assert not filled.blank and filled.answered == 3 and filled.total == 2
    assert filled.reviewers == ("rev",)
    row = next(r for r in filled.rows if r.key == "task_exists")
    assert (row.category, row.answer, row.note, row.answered_at) == (
        "Process",
        "yes",
        "T1",
        "2026-01-05T12:00:00Z",
    )
    assert filled.to_dict()["total"] == 2 and len(filled.records()) == 15


def _cells(wikitext: str) -> list[list[str]]:
    table = mwparserfromhell.parse(wikitext).filter_tags(matches=lambda n: n.tag == "table")[0]
    return [
        [str(c.contents).strip() for c in tr.contents.nodes if getattr(c, "tag", None) in ("td", "th")]
        for tr in table.contents.filter_tags(matches=lambda n: n.tag == "tr", recursive=False)
    ]


def test_template_renders_the_real_wikitable(definition: ScorecardDefinition) -> None:
    filled = fill_scorecard(
        definition, _answers("s", {"responders_different": ("yes", "deployers"), "few_paged": ("no", "")})
    )
    text = render_template("scorecard.wiki.j2", scorecard=filled)
    assert "TODO" not in text
    assert text.startswith(
        '{| class="wikitable"\n|+ Incident Engagement ScoreCard\n!\n! Question\n! Answer<br />(yes/no)\n! Notes\n'
    )
    assert text.count('! rowspan="5" |') == 3
    rows = _cells(text)
    assert rows[0] == ["People", definition.questions[0].text, "yes", "deployers"]
    assert rows[2] == [definition.questions[2].text, "no", ""]
    assert rows[4][0] == (
        "Were pages routed to online (business hours) engineers?<br />Answer “no” if engineers were paged after business hours."
    )
    assert rows[-1] == ["Total score (count of all “yes” answers above)", "1", ""]
    assert not any(line.endswith(" ") for line in text.splitlines())


def test_template_blank_scorecard_is_the_bare_table_with_an_empty_total(
    definition: ScorecardDefinition,
) -> None:
    text = render_template("scorecard.wiki.j2", scorecard=fill_scorecard(definition, {}))
    assert text.startswith('{| class="wikitable"')  # the prompt to answer stands outside the region
    assert _cells(text)[-1] == ["Total score (count of all “yes” answers above)", "", ""]
    assert render_template("scorecard.wiki.j2", scorecard=None) == ""


def test_template_escapes_hostile_notes(definition: ScorecardDefinition) -> None:
    hostile = "{{evil}} [[Category:X]] ~~~~ | a || b !! c\n|-\n|} <ref>x</ref> __NOTOC__"
    text = render_template(
        "scorecard.wiki.j2",
        scorecard=fill_scorecard(definition, _answers("s", {"few_paged": ("no", hostile)})),
    )
    code = mwparserfromhell.parse(text)
    assert not code.filter_templates() and not code.filter_wikilinks()
    assert [
        str(t.tag)
        for t in code.filter_tags()
        if str(t.tag) not in ("table", "tr", "td", "th", "br", "caption")
    ] == []
    assert len(_cells(text)) == 16
    assert parse_from_wikitext(text, definition) == {"few_paged": (Answer.NO, _tidy(hostile))}


_NOTE = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=60).map(_tidy)


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from([q.key for q in load_definition().questions]),
        st.tuples(st.sampled_from(["yes", "no", None]), _NOTE),
    )
)
def test_render_then_parse_round_trip(values: dict[str, tuple[str | None, str]]) -> None:
    definition = load_definition()
    text = render_template(
        "scorecard.wiki.j2", scorecard=fill_scorecard(definition, _answers("s", values))
    )
    parsed = parse_scorecard(text, definition)
    expected = {k: (Answer(a) if a else None, n) for k, (a, n) in values.items() if a or n}
    assert parse_from_wikitext(text, definition) == expected
    assert parsed.found == definition.keys
    assert parsed.total == (
        sum(a == "yes" for a, _ in values.values()) if any(a for a, _ in values.values()) else None
    )


def test_the_incident_page_carries_the_scorecard_region(definition: ScorecardDefinition) -> None:
    seed = parse_from_wikitext(_fixture("seed001_backport_crash_v3_filled.txt"), definition)
    filled = fill_scorecard(
        definition, _answers("s", {k: (a.value if a else None, n) for k, (a, n) in seed.items()})
    )
    start = datetime(2023, 2, 14, 18, 0, tzinfo=UTC)
    incident = Incident(
        slug="2023-02-14_backport",
        title="Backport",
        window=Window(start, start + timedelta(hours=2)),
        generated_at=start,
        scorecard=filled,
    )
    page = render_incident(incident)
    region = page[
        page.index("<!-- incidentkit:begin scorecard") : page.index("<!-- incidentkit:end scorecard -->")
    ]
    assert '{| class="wikitable"' in region and "| 13\n" in region
    assert (
        parse_from_wikitext(page, definition) == seed
    )  # the metadata table is not mistaken for it


# --- reading real pages ---------------------------------------------------------------------------


def test_parse_seed_001_recovers_all_15_answers_and_the_total(
    definition: ScorecardDefinition,
) -> None:
    parsed = parse_scorecard(_fixture("seed001_backport_crash_v3_filled.txt"), definition)
    assert parsed.generation == "v3"
    assert parsed.found == definition.keys
    assert len(parsed.answers) == 15
    assert parsed.total == 13 == parsed.yes_count
    no = {k for k, a in parsed.answers.items() if a.answer is Answer.NO}
    assert no == {"status_page_updated", "task_queue_clear"}
    assert parsed.answers["responders_different"].note == "responders were deployers, not SREs"
    assert parsed.answers["responders_prepared"].note == ""
    assert parsed.answers["pages_routed_subteam"].note == (
        "The page was not routable to sub-teams because it originated in the frontend (Basically the sub-team was everyone)"
    )
    assert parsed.answers["task_queue_clear"].note == (
        "Serve production traffic via Kubernetes: https://phabricator.wikimedia.org/T290536"
    )
    assert parsed.answers["runbook_used"].note.startswith("Backport_windows/Deployers#Reverting, although")
    assert parse_from_wikitext(_fixture("seed001_backport_crash_v3_filled.txt"), load_definition())[
        "status_page_updated"
    ] == (
        Answer.NO,
        "responders did not have access or training on wikimediastatus.net usage",
    )


def test_parse_blank_2025_scorecard(definition: ScorecardDefinition) -> None:
    parsed = parse_scorecard(_fixture("papal_2025_v3_blank.txt"), definition)
    assert (parsed.generation, parsed.found, parsed.answers, parsed.total) == (
        "v3",
        definition.keys,
        {},
        None,
    )


def test_parse_v2_flattened_rendering(definition: ScorecardDefinition) -> None:
    parsed = parse_scorecard(_fixture("v2_2022_filled_flattened.txt"), definition)
    assert parsed.generation == "v2"
    assert len(parsed.found) == 15 and len(parsed.answers) == 12
    assert {"monitoring_notified", "tools_available", "runbook_used"}.isdisjoint(parsed.answers)
    assert parsed.answers["few_paged"] == ParsedAnswer(Answer.YES, "Not paging")
    assert parsed.answers["status_doc_updated"] == ParsedAnswer(Answer.NO, "No working doc")
    assert parsed.answers["status_page_updated"] == ParsedAnswer(Answer.NO, "not user facing")
    assert parsed.answers["responders_prepared"].note.startswith("preparedness, we just discussed")
    assert parsed.total == 9 == parsed.yes_count


def test_parse_v1_points_rubric(definition: ScorecardDefinition) -> None:
    scored = parse_scorecard(_fixture("v1_2022_scored_markdown.txt"), definition)
    assert scored.generation == "v1"
    assert {k: (a.answer, a.score) for k, a in scored.answers.items()} == {
        "responders_different": (Answer.YES, 5),
        "responders_prepared": (Answer.NO, 0),
        "few_paged": (Answer.YES, 5),
        "pages_business_hours": (Answer.NO, 0),
        "status_doc_updated": (Answer.YES, 1),
        "status_page_updated": (Answer.NO, 0),
        "task_exists": (Answer.YES, 1),
    }
    assert "pages_routed_subteam" in scored.found
    for name in ("ulsfo_2022_v1_points.txt", "lightweight_template_v1_markdown.txt"):
        empty = parse_scorecard(_fixture(name), definition)  # real captures: Score cells empty
        assert empty.generation == "v1" and empty.answers == {}
        assert {"responders_different", "few_paged", "pages_business_hours", "status_doc_updated"} <= set(
            empty.found
        )


def test_parse_human_edited_wikitable(definition: ScorecardDefinition) -> None:
    parsed = parse_scorecard(_fixture("human_edited.wiki"), definition)
    assert parsed.generation == "wikitable"
    assert parsed.found == definition.keys  # "previous 5 incidents" still matches (fuzzy)
    got = {k: (a.answer.value if a.answer else None, a.note) for k, a in parsed.answers.items()}
    assert got == {
        "responders_different": ("yes", "responders were deployers, not SREs"),
        "responders_prepared": ("no", "nobody had done a backport revert before"),
        "few_paged": ("yes", "pages went out right before the fix"),
        "pages_routed_subteam": (None, "the page was not routable to sub-teams | everyone got it"),
        "pages_business_hours": ("no", ""),
        "status_doc_updated": ("yes", "no incident doc was needed"),
        "status_page_updated": (
            "no",
            "responders had no access to [https://www.wikimediastatus.net/ wikimediastatus.net]",
        ),
        "task_exists": ("yes", "T329000, created by the community"),
        "not_repeat": ("yes", "<not a repeat> [checked]"),
        "task_queue_clear": (
            "no",
            "Serve production traffic via Kubernetes: https://phabricator.wikimedia.org/T290536",
        ),
        "communication_effective": ("yes", ""),
        "monitoring_notified": ("yes", "icinga alerted four seconds after the first user report"),
        "tools_available": ("yes", ""),
        "runbook_used": ("yes", "[[Backport windows/Deployers#Reverting]]"),
    }
    assert parsed.total == 10 and parsed.yes_count == 9  # the page's stated total is stale: recompute


@pytest.mark.parametrize(
    "text", ["", "no scorecard here", "{| broken table\n| x", "Incident Engagement ScoreCard\n\x00|||\t\t"]
)
def test_parse_odd_text_never_raises(text: str) -> None:
    parsed = parse_scorecard(text, load_definition())
    assert parsed.answers == {} and not parsed.present and parsed.generation == "unknown"


# --- store ----------------------------------------------------------------------------------------


def test_store_saves_and_reads_answers(store: Store) -> None:
    store.save_incident(IncidentRecord(slug="a", title="A"))
    saved = store.save_scorecard_answers(
        "a",
        {"task_exists": ("yes", " T1 "), "few_paged": (None, "unsure")},
        reviewer="jdoe",
        answered_at=WHEN,
    )
    assert saved == ScorecardSave(written=("task_exists", "few_paged"), kept=())
    got = store.get_scorecard_answers("a")
    assert got["task_exists"] == ScoreAnswer(
        incident="a",
        key="task_exists",
        answer=Answer.YES,
        note="T1",
        reviewer="jdoe",
        answered_at=WHEN,
        source="local",
    )
    assert got["few_paged"].answer is None and got["few_paged"].note == "unsure"
    store.save_scorecard_answers("a", {"task_exists": ("no", "")}, reviewer="other", answered_at=WHEN)
    assert store.get_scorecard_answers("a")["task_exists"].answer is Answer.NO
    assert [a.key for a in store.list_scorecard_answers()] == ["few_paged", "task_exists"]


def test_import_never_overwrites_local_answers(store: Store) -> None:
    store.save_incident(IncidentRecord(slug="a", title="A"))
    store.save_scorecard_answers("a", {"task_exists": ("yes", "mine")}, reviewer="jdoe")
    page = {"task_exists": (Answer.NO, "wiki"), "few_paged": (Answer.YES, "")}
    saved = store.save_scorecard_answers("a", page, reviewer="WikiUser", source="import", revision=42)
    assert saved == ScorecardSave(written=("few_paged",), kept=("task_exists",))
    got = store.get_scorecard_answers("a")
    assert (got["task_exists"].note, got["task_exists"].source) == ("mine", "local")
    assert (got["few_paged"].source, got["few_paged"].revision, got["few_paged"].reviewer) == (
        "import",
        42,
        "WikiUser",
    )
    again = store.save_scorecard_answers(
        "a", {"few_paged": ("no", "edited on wiki")}, reviewer="W", source="import", revision=43
    )
    assert again.written == ("few_paged",)
    assert store.get_scorecard_answers("a")["few_paged"].answer is Answer.NO


def test_store_rejects_bad_input(store: Store) -> None:
    with pytest.raises(StoreError, match="unknown incident"):
        store.save_scorecard_answers("nope", {"task_exists": ("yes", "")}, reviewer="x")
    store.save_incident(IncidentRecord(slug="a", title="A"))
    with pytest.raises(StoreError, match="bad scorecard answer 'maybe'"):
        store.save_scorecard_answers("a", {"task_exists": ("maybe", "")}, reviewer="x")
    with pytest.raises(StoreError, match="unknown scorecard answer source"):
        store.save_scorecard_answers("a", {"task_exists": ("yes", "")}, reviewer="x", source="wiki")
    with pytest.raises(sqlite3.IntegrityError):  # the schema itself refuses other answers
        store.db["scorecard_answers"].insert(
            {"incident": "a", "question": "q", "answer": "maybe", "answered_at": "x"}
        )
    assert store.get_scorecard_answers("a") == {}


def test_scorecard_for_incident(store: Store) -> None:
    store.save_incident(IncidentRecord(slug="a", title="A"))
    store.save_scorecard_answers("a", {"task_exists": ("yes", "")}, reviewer="x")
    assert scorecard_for_incident(store, "a", Settings()).total == 1
    assert scorecard_for_incident(store, "unknown", Settings()).blank
    assert scorecard_for_incident(None, "a", Settings()).blank


# --- stats ----------------------------------------------------------------------------------------


def _stat(result: ScorecardStats, key: str) -> dict[str, tuple[int, int]]:
    question = next(q for q in result.questions if q.key == key)
    return {c.period: (c.no, c.answered) for c in (*question.periods, question.overall)}


def test_stats_share_of_no_per_quarter(definition: ScorecardDefinition) -> None:
    incidents = [
        IncidentRecord(slug="2025-01-10_a", title="a", start="2025-01-10T10:00:00Z"),
        IncidentRecord(slug="2025-02-11_b", title="b"),  # date from the slug
        IncidentRecord(slug="2025-05-01_c", title="c", start="2025-05-01T00:00:00Z"),
        IncidentRecord(slug="old-page", title="d"),
    ]
    answers = [
        *_answers("2025-01-10_a", {"status_page_updated": ("no", ""), "task_exists": ("yes", "")}).values(),
        *_answers(
            "2025-02-11_b", {"status_page_updated": ("no", ""), "task_exists": (None, "later")}
        ).values(),
        *_answers("2025-05-01_c", {"status_page_updated": ("yes", ""), "task_exists": ("no", "")}).values(),
        *_answers("old-page", {"status_page_updated": ("no", "")}).values(),
        *_answers("unknown-incident", {"status_page_updated": ("no", "")}).values(),
    ]
    result = stats(definition, answers, incidents)
    assert result.periods == ("2025-Q1", "2025-Q2", "undated")
    assert result.incidents == 4
    assert _stat(result, "status_page_updated") == {
        "2025-Q1": (2, 2),
        "2025-Q2": (0, 1),
        "undated": (1, 1),
        "all": (3, 4),
    }
    assert _stat(result, "task_exists") == {
        "2025-Q1": (0, 1),
        "2025-Q2": (1, 1),
        "undated": (0, 0),
        "all": (1, 2),
    }
    record = next(r for r in result.records() if r["key"] == "status_page_updated" and r["period"] == "all")
    assert record["share_no"] == 0.75

    monthly = stats(definition, answers, incidents, by="month", since=date(2025, 2, 1))
    assert monthly.periods == ("2025-02", "2025-05")
    assert _stat(monthly, "status_page_updated")["all"] == (1, 2)
    with pytest.raises(InputError, match="unknown period"):
        stats(definition, answers, incidents, by="week")


# --- against a real MediaWiki ---------------------------------------------------------------------


class _TableText(HTMLParser):
    """MediaWiki's rendered HTML as text the way seed 001 was captured: a table row per line, cells
    separated by tabs (a rowspan cell repeated on the rows it spans, a colspan cell repeated)."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []
        self.row: list[str] | None = None
        self.cell: list[str] | None = None
        self.span = (1, 1)
        self.pending: dict[int, tuple[str, int]] = {}  # column -> (text, rows left) for rowspans

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.row = []
        elif tag in ("td", "th") and self.row is not None:
            self.cell = []
            values = dict(attrs)
            self.span = (int(values.get("rowspan") or 1), int(values.get("colspan") or 1))
        elif tag == "br" and self.cell is not None:
            self.cell.append(" ")

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self.row is not None and self.cell is not None:
            while len(self.row) in self.pending:
                self._fill_pending()
            text = _tidy("".join(self.cell))
            if self.span[0] > 1:
                self.pending[len(self.row)] = (text, self.span[0] - 1)
            self.row.extend([text] * self.span[1])
            self.cell = None
        elif tag == "tr" and self.row is not None:
            while len(self.row) in self.pending:
                self._fill_pending()
            self.lines.append("\t".join(self.row))
            self.row = None

    def _fill_pending(self) -> None:
        assert self.row is not None
        text, left = self.pending.pop(len(self.row))
        if left > 1:
            self.pending[len(self.row)] = (text, left - 1)
        self.row.append(text)


@pytest.mark.integration
def test_real_mediawiki_renders_the_scorecard_and_it_reads_back(mediawiki, definition) -> None:  # noqa: ANN001
    seed = parse_from_wikitext(_fixture("seed001_backport_crash_v3_filled.txt"), definition)
    values = {k: (a.value if a else None, n) for k, (a, n) in seed.items()}
    values["few_paged"] = ("yes", "{{evil}} | [[Category:X]] ~~~~")  # hostile text must survive as text
    filled = fill_scorecard(definition, _answers("s", values))
    title = "Incidents/2023-02-14 Scorecard round trip"
    body = render_template("scorecard.wiki.j2", scorecard=filled)
    mediawiki.put_page(title, "== Scorecard ==\n" + body)

    # the wiki's own parser: one table, the categories span five rows, no template or category got in
    parsed = mediawiki.api(action="parse", page=title, prop="text|templates|categories|parsewarnings")[
        "parse"
    ]
    assert parsed["templates"] == [] and parsed["categories"] == [] and not parsed.get("parsewarnings")
    html = parsed["text"]
    assert html.count("<table") == 1 and html.count('rowspan="5"') == 3
    assert "{{evil}} | [[Category:X]] ~~~~" in unescape(re.sub(r"<[^>]+>", "", html))

    # read back: the stored wikitext (as import does) and the rendered page as a capture would have it
    expected = {k: (Answer(a) if a else None, n) for k, (a, n) in values.items()}
    assert parse_from_wikitext(mediawiki.get_page(title) or "", definition) == expected
    rendered = _TableText()
    rendered.feed(html)
    as_text = "Incident Engagement ScoreCard\n" + "\n".join(rendered.lines)
    reread = parse_scorecard(as_text, definition)
    assert reread.generation == "v3" and reread.total == 13 == reread.yes_count
    assert {k: (a.answer, a.note) for k, a in reread.answers.items()} == expected

    # a colleague answers on the wiki: import reads it, and never overwrites what was filled locally
    edited = (mediawiki.get_page(title) or "").replace(
        "| Are the documented action items assigned?\n| yes\n",
        "| Are the documented action items assigned?\n| no\n| two are unowned\n",
        1,
    )
    revision = mediawiki.put_page(title, edited, user=COLLEAGUE)
    with Store.open(None) as db:
        db.save_incident(IncidentRecord(slug="s", title="S"))
        db.save_scorecard_answers("s", {"runbook_used": ("no", "filled locally")}, reviewer="jdoe")
        page = parse_from_wikitext(mediawiki.get_page(title) or "", definition)
        saved = db.save_scorecard_answers("s", page, reviewer=None, source="import", revision=revision)
        stored = db.get_scorecard_answers("s")
    assert saved.kept == ("runbook_used",) and len(saved.written) == 14
    assert (stored["actions_assigned"].answer, stored["actions_assigned"].note) == (
        Answer.NO,
        "two are unowned",
    )
    assert stored["actions_assigned"].revision == revision
    assert (stored["runbook_used"].answer, stored["runbook_used"].note) == (Answer.NO, "filled locally")


# --- answers and records: hand-written tables ---------------------------------------------------


@pytest.mark.parametrize(
    ("text", "answer"),
    [("yes", Answer.YES), ("Y", Answer.YES), ("TRUE", Answer.YES), ("no", Answer.NO), ("n", Answer.NO),
     ("False", Answer.NO), ("skip", "skip"), ("-", "skip"), ("Unanswered", "skip"), ("none", "skip"), ("  ", None)],
)  # fmt: skip
def test_parse_answer_words(text: str, answer: Answer | str | None) -> None:
    assert parse_answer(text) == answer


def test_parse_answer_refuses_with_a_hint() -> None:
    with pytest.raises(InputError, match=r"^cannot read 'maybe' as an answer$") as refused:
        parse_answer(" maybe ")
    assert refused.value.hint == "answer yes, no or skip"


def test_reviewers_are_those_who_answered_a_question_of_the_definition(definition: ScorecardDefinition) -> None:
    key = definition.questions[0].key
    answers = {
        key: ScoreAnswer(incident="i", key=key, answer=Answer.YES, reviewer="ana"),
        definition.questions[1].key: ScoreAnswer(incident="i", key=definition.questions[1].key, answer=None, note="n", reviewer="bo"),
        "retired_question": ScoreAnswer(incident="i", key="retired_question", answer=Answer.NO, reviewer="cy"),
    }
    filled = fill_scorecard(definition, answers)
    assert filled.reviewers == ("ana",)
    data = filled.to_dict()
    assert (data["title"], data["questions"], data["total"], data["total_label"], data["reviewers"]) == (
        definition.title, len(definition.questions), 1, definition.total_label, ["ana"],
    )  # fmt: skip
    stamped = fill_scorecard(definition, {key: replace(answers[key], answered_at=datetime(2024, 5, 1, 9, tzinfo=UTC))})
    assert stamped.records()[0]["answered_at"] == "2024-05-01T09:00:00Z"


def test_stats_records_round_the_share_to_four_places() -> None:
    cell = StatCell(period="2024-Q1", answered=3, no=1)
    stats = ScorecardStats(by="quarter", periods=("2024-Q1",), incidents=3, questions=(
        QuestionStats(key="k", category="People", question="Were enough people paged?", periods=(cell,),
                      overall=StatCell(period="all", answered=0, no=0)),
    ))  # fmt: skip
    assert stats.records() == [
        {"key": "k", "category": "People", "question": "Were enough people paged?", "period": "2024-Q1",
         "answered": 3, "no": 1, "share_no": 0.3333},
        {"key": "k", "category": "People", "question": "Were enough people paged?", "period": "all",
         "answered": 0, "no": 0, "share_no": None},
    ]  # fmt: skip


def test_of_two_tables_the_one_with_more_questions_is_the_scorecard(definition: ScorecardDefinition) -> None:
    first = definition.questions[0]
    quoted = f'{{| class="wikitable"\n|-\n| {first.text} || no || quoted in the summary\n|}}\n'
    values = {q.key: ("yes", "") for q in definition.questions[:3]}
    full = render_template("scorecard.wiki.j2", scorecard=fill_scorecard(definition, _answers("s", values)))
    for text in (quoted + full, full + quoted):  # wherever it stands
        parsed = parse_scorecard(text, definition)
        assert parsed.found == definition.keys
        assert {k: a.answer for k, a in parsed.answers.items() if a.answer} == {k: Answer.YES for k in values}


# --- reading hand-built pages: each rule of the reader, one page each ------------------------------

FEW = "Were fewer than five people paged?"
PREPARED = "Were the people who responded prepared enough to respond effectively"
ROUTED = "Were pages routed to the correct sub-team(s)?"
TOTAL = "Total score (count of all “yes” answers above)"


def _read(text: str) -> tuple[str, tuple[str, ...], dict[str, tuple[str | None, str, int | None]], int | None]:
    parsed = parse_scorecard(text, load_definition())
    answers = {k: (a.answer.value if a.answer else None, a.note, a.score) for k, a in parsed.answers.items()}
    return parsed.generation, parsed.found, answers, parsed.total


def test_rendered_rows_are_read_between_questions() -> None:
    text = (
        f"Incident Engagement ScoreCard\nQuestion | Yes/No | Notes\nPeople\n{FEW} | yes | quick | -\nprocess\n"
        f"{ROUTED} |\n{PREPARED} | no | a | b 2\n{TOTAL} | 1\n"
    )
    assert _read(text) == (
        "v2",  # "Yes No" in the header, and the v2 wording (no "Incident status" question in its v3 form)
        ("few_paged", "pages_routed_subteam", "responders_prepared"),
        # a "-" cell is no note, a category's line is none either (in any case), a blank row no answer
        {"few_paged": ("yes", "quick", None), "responders_prepared": ("no", "a b 2", None)},
        1,  # the number after the total's label, not one before it
    )


def test_rendered_generations_and_points() -> None:
    v15 = f"Incident Engagement\u2122 ScoreCard\nQuestion Score Notes\nPeople {FEW} 1 on rotation\n{PREPARED} 0 nobody knew\n"
    assert _read(v15) == (
        "v1.5",
        ("few_paged", "responders_prepared"),
        {"few_paged": ("yes", "on rotation", 1), "responders_prepared": ("no", "nobody knew", 0)},
        None,  # no total row
    )
    rubric = f"Incident Engagement ScoreCard\nRubric Question Score Notes\n{FEW} 5 all good\n"
    assert _read(rubric) == ("v1", ("few_paged",), {"few_paged": ("yes", "all good", 5)}, None)
    # a points mark is blanked, not removed: the words on each side of it stay apart
    marked = f"Incident Engagement ScoreCard\n{PREPARED}(0/5pt)0(0/5pt)nobody knew"
    assert _read(marked) == ("v1", ("responders_prepared",), {"responders_prepared": ("no", "nobody knew", 0)}, None)


def test_rendered_generation_is_told_by_the_header_alone() -> None:
    text = f"Incident Engagement ScoreCard\n{FEW} | yes | the rubric says question score notes, yes no\n{PREPARED} | no |\n"
    assert _read(text) == (
        "unknown",
        ("few_paged", "responders_prepared"),
        {"few_paged": ("yes", "the rubric says question score notes, yes no", None), "responders_prepared": ("no", "", None)},
        None,
    )
    assert _read("Incident Engagement ScoreCard\nQuestion Yes No Notes\n") == ("unknown", (), {}, None)
    assert _read(f"{FEW} | yes | ok") == ("unknown", ("few_paged",), {"few_paged": ("yes", "ok", None)}, None)


def test_rendered_scorecard_starts_at_its_title_or_heading_and_ends_at_the_next_heading() -> None:
    titled = f"Summary: {FEW} | yes | draft\nincident engagement scorecard\n{FEW} | no | final\n"
    assert _read(titled)[2] == {"few_paged": ("no", "final", None)}
    headed = f"{FEW} | yes | draft\n== scorecard ==\n{FEW} | no | final\n== Actionables ==\n{PREPARED} | no | x\n"
    assert _read(headed) == ("unknown", ("few_paged",), {"few_paged": ("no", "final", None)}, None)


def test_rendered_tab_separated_rows_keep_their_pipes() -> None:
    text = f"Incident Engagement ScoreCard\n{FEW}\tyes\tok\t-\n{PREPARED}\tno | maybe\tnote\n"
    assert _read(text)[2] == {"few_paged": ("yes", "ok", None), "responders_prepared": ("no", "| maybe note", None)}


def test_rendered_question_is_read_at_its_first_place() -> None:
    generation, found, answers, _ = _read(f"{FEW} | yes | first\n{FEW} | no | second")
    assert found == ("few_paged",) and answers["few_paged"][0] == "yes"


def test_rendered_total_word_alone_is_text_and_a_total_with_no_question_is_read() -> None:
    # "total" starts only the total's label: alone (not "total score") it is a note's word
    text = f"Incident Engagement ScoreCard\n{FEW} | yes | in total two\n{PREPARED} | no |\n"
    assert _read(text)[1:3] == (
        ("few_paged", "responders_prepared"),
        {"few_paged": ("yes", "in total two", None), "responders_prepared": ("no", "", None)},
    )
    assert _read(f"Incident Engagement ScoreCard\n{TOTAL} | 4\n") == ("unknown", (), {}, 4)


def test_rendered_letters_that_lower_to_two_keep_the_offsets() -> None:
    text = f"Incident Engagement ScoreCard\nQuestion | Yes/No | Notes\n{FEW} | yes | \u0130\u0130 ok\n{PREPARED} | no | fine\n"
    assert _read(text)[2] == {"few_paged": ("yes", "\u0130\u0130 ok", None), "responders_prepared": ("no", "fine", None)}


def _question(key: str, text: str, aliases: str = "[]") -> str:
    return f'[[questions]]\nkey = "{key}"\ncategory = "People"\ntext = "{text}"\nkind = "yes-no"\naliases = {aliases}\n'


# a site's own scorecard, its wordings made to probe the matcher's edges
SITE_DEFINITION = (
    'title = "Review"\n[total]\nlabel = "Sum for 2025"\n[[categories]]\nname = "People"\n'
    + _question("paged", "Was it paged?", '["?"]')  # an alias with no words is no wording
    + _question("routed", "Were the pages routed to the team that owns these servers?")
    + _question("alert_paged", "Was the alert paged?")
    + _question("alert_pager", "Was the alert pager?")
    + _question("sent", "Was the page sent?")
    + _question("on_time", "Page sent on time?")
    + _question("kept", "Notes were kept during the incident?")
)


@pytest.mark.parametrize(
    ("text", "generation", "found", "answers"),
    [
        # three words are enough, and a points mark is no word
        ("{|\n| Was it paged? (0/5pt) || 5\n|}", "wikitable", ("paged",), {"paged": ("yes", "", 5)}),
        # 43 characters of a 57-character wording: exactly the closeness needed (2 * 43 / 100 = 0.86)
        ("{|\n| were the pages routed to the team that owns || yes\n|}", "wikitable", ("routed",), {"routed": ("yes", "", None)}),
        # as close to two wordings: the first question of the definition
        ("{|\n| Was the alert pages? || no\n|}", "wikitable", ("alert_paged",), {"alert_paged": ("no", "", None)}),
        # a question's words are not read again as the start of another ("page sent on time")
        ("Review\nQuestion\nWas the page sent on time | yes", "unknown", ("sent",), {}),
    ],
    ids=["three-words", "closeness-at-the-threshold", "tie", "overlap"],
)
def test_a_site_definition_at_the_matchers_edges(
    text: str, generation: str, found: tuple[str, ...], answers: dict[str, object]
) -> None:
    parsed = parse_scorecard(text, parse_definition(SITE_DEFINITION))
    assert (parsed.generation, parsed.found) == (generation, found)
    assert {k: (a.answer.value if a.answer else None, a.note, a.score) for k, a in parsed.answers.items()} == answers


def test_a_site_definition_total_and_header() -> None:
    parsed = parse_scorecard(
        "Review\nQuestion Score\nNotes were kept during the incident? | yes | ok\nSum for 2025 | 3", parse_definition(SITE_DEFINITION)
    )
    # the header is what stands before the first question: "Question Score" and the question's "Notes" are no v1.5 header
    assert parsed.generation == "unknown"
    assert parsed.answers == {"kept": ParsedAnswer(Answer.YES, "ok")}
    assert parsed.total == 3  # the number after the whole label, not the 2025 in it


def test_a_definition_without_a_total_row_reads_rendered_pages() -> None:
    definition = parse_definition(
        'title = "Review"\n[total]\nlabel = ""\n[[categories]]\nname = "People"\n'
        f'[[questions]]\nkey = "paged"\ncategory = "People"\ntext = "{FEW}"\nkind = "yes-no"\n'
    )
    parsed = parse_scorecard(f"Review\n{FEW} | yes | ok\n", definition)
    assert parsed.answers == {"paged": ParsedAnswer(Answer.YES, "ok")} and parsed.total is None


def test_wikitable_cells_rows_and_notes() -> None:
    text = (
        f"<div>\n{{| class=\"wikitable\"\nstray words\n| {FEW} || yes || a || b\n|-\nstray in a row\n| {PREPARED}\n|}}\n</div>"
    )
    assert _read(text) == ("wikitable", ("few_paged", "responders_prepared"), {"few_paged": ("yes", "a b", None)}, None)
    assert _read(f"{{|\n! {FEW} !! no !! x\n|}}")[2] == {"few_paged": ("no", "x", None)}


def test_wikitable_points_from_a_score_column_or_a_points_mark() -> None:
    scored = f"{{|\n! Question !! Score !! Notes\n|-\n| {FEW} || 5 || quick\n|}}"
    assert _read(scored)[2] == {"few_paged": ("yes", "quick", 5)}
    marked = "{|\n|-\n| Were fewer than five people paged? (0/5pt) || 0 || slow\n|}"
    assert _read(marked)[2] == {"few_paged": ("no", "slow", 0)}
    plain = f"{{|\n|-\n| {FEW} || 2 || people\n|}}"
    assert _read(plain)[2] == {"few_paged": (None, "2 people", None)}  # a number is no answer to a yes/no question


def test_wikitable_of_equal_tables_the_first_and_after_the_scorecard_heading() -> None:
    two = f"{{|\n| {FEW} || yes\n|}}\n{{|\n| {FEW} || no\n|}}"
    assert _read(two)[2] == {"few_paged": ("yes", "", None)}
    sectioned = f"{{|\n| {FEW} || no || draft\n|}}\n== Scorecard ==\n{{|\n| {FEW} || yes || final\n|}}"
    assert _read(sectioned)[2] == {"few_paged": ("yes", "final", None)}
    outside = f"{{|\n|}}\n<tr><td>{FEW}</td><td>yes</td></tr>"  # an HTML row outside any table
    assert _read(outside)[0] != "wikitable"


def test_wikitable_wording_matches_closely_but_not_loosely() -> None:
    close = "{|\n| Were fewer than 5 people paged || yes\n|}"
    assert _read(close)[1] == ("few_paged",)
    shuffled = "{|\n| paged people five than fewer were || yes\n|}"  # the same letters, in another order
    assert _read(shuffled)[1] == ()
    # a long question (over 200 characters) missing a few words: every character counts, none is junk
    long = (
        "{|\n| To the best of your was the open task queue free of any tasks that would have prevented this incident? "
        "Answer no there are open tasks that would this incident or make easier if implemented || no\n|}"
    )
    assert _read(long)[2] == {"task_queue_clear": ("no", "", None)}
