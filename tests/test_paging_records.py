"""What a draft records about people: metadata, scorecard suggestions, and each page in the store for stats."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from incidentkit.cli import app
from incidentkit.model.incident import IncidentRecord
from incidentkit.model.people import PagedPerson
from incidentkit.model.scorecard import Answer
from incidentkit.services.scorecard import bundled_definition, suggest
from incidentkit.store import Store

EXAMPLE = Path(__file__).resolve().parent.parent / "data" / "examples" / "backport-crash"
SLUG = "2023-02-14_backport-crash"
CONFIG = """
[business_hours]
people = { cwhite = "America/Los_Angeles Mon-Fri 09:00-17:00", mlopez = "Europe/Madrid Mon-Fri 09:00-18:00" }
"""


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def page(number: str, person: str, team: str, when: str, in_hours: bool | None) -> PagedPerson:
    return PagedPerson(page=number, person=person, team=team, paged_at=at(when), in_hours=in_hours, hours="x")


def test_pages_are_kept_per_incident_and_counted_per_period_and_team(store: Store) -> None:
    for slug in ("2023-02-14_a", "2023-05-02_b"):
        store.save_incident(IncidentRecord(slug=slug, title=slug))
    store.save_pages("2023-02-14_a", [page("1", "cwhite", "SRE", "2023-02-14T18:37:44", True), page("1", "mlopez", "SRE", "2023-02-14T18:37:44", False)])
    store.save_pages("2023-05-02_b", [page("7", "", "SRE", "2023-05-02T02:00:00", None), page("8", "jdoe", "WMCS", "2023-05-02T03:00:00", False)])
    assert [(p.person, p.in_hours) for p in store.get_pages("2023-02-14_a")] == [("cwhite", True), ("mlopez", False)]
    assert store.page_hours_stats(by="quarter") == [
        {"period": "2023-Q1", "team": "SRE", "pages": 2, "in_hours": 1, "out_of_hours": 1, "unknown": 0, "people": 2, "incidents": 1},
        {"period": "2023-Q2", "team": "SRE", "pages": 1, "in_hours": 0, "out_of_hours": 0, "unknown": 1, "people": 0, "incidents": 1},
        {"period": "2023-Q2", "team": "WMCS", "pages": 1, "in_hours": 0, "out_of_hours": 1, "unknown": 0, "people": 1, "incidents": 1},
    ]  # fmt: skip
    assert [r["period"] for r in store.page_hours_stats(by="month", since=date(2023, 3, 1))] == ["2023-05", "2023-05"]
    assert all(type(v) is int for r in store.page_hours_stats() for k, v in r.items() if k not in ("period", "team"))
    store.save_pages("2023-02-14_a", [page("1", "cwhite", "SRE", "2023-02-14T18:37:44", True)])  # a re-draft replaces
    assert [p.person for p in store.get_pages("2023-02-14_a")] == ["cwhite"]


@pytest.fixture
def drafted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG)
    monkeypatch.setenv("INCIDENTKIT_CONFIG", str(config))
    result = CliRunner().invoke(app, ["draft", "--replay", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    return tmp_path


def test_the_example_draft_records_who_was_paged_and_who_responded(drafted: Path, incidentkit_home: Path) -> None:
    with Store.open(incidentkit_home / "incidentkit.db") as store:
        record = store.require_incident(SLUG)
        pages = store.get_pages(SLUG)
    meta = record.metadata
    assert meta["people_paged"] == "2" and meta["people_paged_names"] == ["cwhite", "mlopez"]
    assert meta["responder_count"] == 4 and meta["responders"] == ["urbanecm", "cwhite", "taavi", "marostegui"]
    assert meta["coordinators_suggested"]["name"] == "cwhite"
    assert meta["first_human_report"]["who"] == "ZebraReader" and meta["first_human_report"]["time"] == "2023-02-14T18:34:51Z"
    assert meta["first_human_report"]["before_first_alert"] is True
    assert meta["pages_routing"] == {"answer": "yes", "reason": "pages went to SRE Business Hours, and the paging alerts belong to team sre"}
    assert meta["pages_out_of_hours"] == 1
    assert [(p.page, p.person, p.in_hours, p.local_time.isoformat()) for p in pages] == [
        ("4711", "cwhite", True, "2023-02-14T10:37:44-08:00"),
        ("4711", "mlopez", False, "2023-02-14T19:37:44+01:00"),
    ]


def test_the_scorecard_suggests_the_paging_answers_with_their_reasons(drafted: Path, incidentkit_home: Path) -> None:
    with Store.open(incidentkit_home / "incidentkit.db") as store:
        record = store.require_incident(SLUG)
    suggestions = suggest(bundled_definition(), record)
    assert suggestions["few_paged"].answer is Answer.YES
    assert suggestions["few_paged"].reason == "people paged: 2 (2 people in 1 page (#4711) of the paging source, each counted once)"
    assert (suggestions["pages_routed_subteam"].answer, suggestions["pages_routed_subteam"].reason) == (
        Answer.YES,
        "pages went to SRE Business Hours, and the paging alerts belong to team sre",
    )
    assert (suggestions["pages_business_hours"].answer, suggestions["pages_business_hours"].reason) == (
        Answer.NO,
        "paged out of business hours: mlopez at 19:37 Tue (Europe/Madrid Mon-Fri 09:00-18:00 (their own))",
    )


def test_an_unknown_verdict_is_no_suggestion() -> None:
    record = IncidentRecord(
        slug="x",
        title="x",
        metadata={"pages_business_hours": {"answer": None, "reason": "business hours unknown for cwhite"}, "people_paged": "unknown"},
    )
    suggestions = suggest(bundled_definition(), record)
    assert "pages_business_hours" not in suggestions and "few_paged" not in suggestions
    five = IncidentRecord(slug="y", title="y", metadata={"people_paged": "5"})
    assert suggest(bundled_definition(), five)["few_paged"].answer is Answer.NO


def test_hiding_an_unrelated_row_takes_its_author_out_of_the_responders(drafted: Path, incidentkit_home: Path) -> None:
    runner = CliRunner()
    hidden = runner.invoke(app, ["timeline", "hide", SLUG, "--kind", "dbctl"])
    assert hidden.exit_code == 0, hidden.output
    assert runner.invoke(app, ["draft", "--replay", str(EXAMPLE)]).exit_code == 0
    with Store.open(incidentkit_home / "incidentkit.db") as store:
        meta = store.require_incident(SLUG).metadata
    assert meta["responder_count"] == 3 and "marostegui" not in meta["responders"]
