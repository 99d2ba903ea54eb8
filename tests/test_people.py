"""People from facts on the bundled example, against values worked out by hand from its files.

The example (data/examples/backport-crash/) has one Splunk On-Call page (#4711, FrontendUnavailable,
to cwhite and mlopez through "SRE Business Hours", acknowledged by cwhite at 18:38:05, auto-resolved
at 18:52:41), a channel log with people's lines, the SAL, Phabricator T329510 and an Alertmanager
silence by cwhite. The first alert fired at 18:34:55.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from incidentkit.config import BusinessHoursSettings, OncallSettings, Settings, TimelineSettings
from incidentkit.errors import ConfigError
from incidentkit.model.curation import CurationState
from incidentkit.model.event import EventKind
from incidentkit.services.pulls import load_pull
from incidentkit.timeline.curate import curate
from incidentkit.timeline.people import (
    compile_hours,
    detected_suggestion,
    first_human_report,
    hours_verdict,
    page_burden,
    paged_people,
    people_facts,
    responders,
    routing_verdict,
    suggest_coordinator,
    symptom_words,
)
from incidentkit.timeline.rows import build_rows

EXAMPLE = Path(__file__).resolve().parent.parent / "data" / "examples" / "backport-crash"
FIRST_ALERT = datetime(2023, 2, 14, 18, 34, 55, tzinfo=UTC)


@pytest.fixture(scope="module")
def pulled():
    return load_pull(EXAMPLE)


def test_people_paged_on_the_example(pulled) -> None:
    paged = paged_people(pulled.events, aliases={}, paging_read=True)
    assert (paged.count, paged.names, paged.teams, paged.pages) == (2, ("cwhite", "mlopez"), ("SRE Business Hours",), 1)
    assert paged.text == "2 (cwhite, mlopez)"
    assert paged.reason == "2 people in 1 page (#4711) of the paging source, each counted once"
    aliased = paged_people(pulled.events, aliases={"mlopez": "Maria Lopez"}, paging_read=True)
    assert aliased.names == ("cwhite", "Maria Lopez")


def test_people_paged_without_a_paging_source(pulled) -> None:
    without = [e for e in pulled.events if e.source != "oncall"]
    paged = paged_people(without, aliases={}, paging_read=False)
    assert paged.count is None and paged.text == "unknown"
    assert paged.reason == "FrontendUnavailable paged, but no paging source says whom (configure [oncall])"
    assert paged_people(without, aliases={}, paging_read=True).reason == (
        "no page in the paging source for this window, though FrontendUnavailable paged"
    )
    quiet = [e for e in without if not e.data.get("paged")]
    assert paged_people(quiet, aliases={}, paging_read=False) is None


def test_a_page_to_a_team_with_nobody_named_leaves_the_count_unknown(pulled) -> None:
    page = next(e for e in pulled.events if e.kind is EventKind.PAGE)
    teamonly = replace(page, data={**page.data, "users": []})
    paged = paged_people([teamonly], aliases={}, paging_read=True)
    assert paged.count is None and paged.text == "team SRE Business Hours (count unknown)"


def test_responders_on_the_example(pulled) -> None:
    found = responders(pulled.events, pulled.query.window, tasks=("T329510",), symptoms=symptom_words(pulled.events))
    assert found.names == ("urbanecm", "cwhite", "taavi", "marostegui") and found.count == 4
    assert dict(found.ways) == {
        "acted on a page": ("cwhite",),  # acknowledged #4711; mlopez was paged but left no trace
        "logged to the SAL": ("urbanecm", "cwhite", "taavi", "marostegui"),
        "acted on the tasks": ("cwhite", "urbanecm"),  # T329510 created, priority, claimed, resolved
        "silenced an alert": ("cwhite",),
        "spoke about it": ("urbanecm", "cwhite"),  # "cancelling the backport", "looking, is it the backport?"
    }
    assert found.reporters == ("ZebraReader",)  # only described the fatals
    assert found.text == "4+"
    assert found.reason == (
        "at least 4, each counted once: acted on a page: cwhite; logged to the SAL: urbanecm, cwhite, taavi, marostegui; "
        "acted on T329510: cwhite, urbanecm; silenced an alert: cwhite; spoke about it in #wikimedia-operations: "
        "urbanecm, cwhite; not counted: ZebraReader (only described the symptoms). "
        "People who helped without leaving a trace here are missed."
    )


def test_rows_the_owner_hid_do_not_count(pulled) -> None:
    repool = next(e for e in pulled.events if e.kind is EventKind.DBCTL)  # the unrelated 19:02 repool
    found = responders(pulled.events, pulled.query.window, tasks=("T329510",), ignore={repool.key})
    assert "marostegui" not in found.names and found.count == 3


def test_coordinator_suggestion(pulled) -> None:
    found = responders(pulled.events, pulled.query.window, tasks=("T329510",))
    suggestion = suggest_coordinator(found)
    assert suggestion.name == "cwhite"
    assert suggestion.reason == (
        "cwhite left the most kinds of trace (acted on a page; logged to the SAL; acted on the tasks; "
        "silenced an alert; spoke about it); confirm or replace"
    )


def test_first_human_report_precedes_the_first_alert(pulled) -> None:
    report = first_human_report(pulled.events, first_alert=FIRST_ALERT)
    assert (report.time, report.who) == (datetime(2023, 2, 14, 18, 34, 51, tzinfo=UTC), "ZebraReader")
    assert report.matched == ("fatal", "exception", "fail", "error")
    assert report.before_first_alert
    assert report.reason == (
        "the first message in #wikimedia-operations from 30 min before the first alert on that names the symptoms "
        "(fatal, exception, fail, error), 4 s before the first alert"
    )
    moment = detected_suggestion(report)
    assert (moment.moment, moment.time, moment.key, moment.origin) == ("detected", report.time, report.key, "suggested")
    assert moment.reason.startswith("the first human report (ZebraReader): the first message")


def test_first_human_report_starts_at_the_impact_start(pulled) -> None:
    after = first_human_report(pulled.events, first_alert=FIRST_ALERT, impact_start=datetime(2023, 2, 14, 18, 35, tzinfo=UTC))
    assert (after.time.strftime("%H:%M:%S"), after.who) == ("18:53:01", "taavi")  # "fatals are back to the usual level"
    assert not after.before_first_alert and detected_suggestion(after) is None
    assert after.reason.endswith("18 min after the first alert")


def test_a_single_error_word_is_not_a_report(pulled) -> None:
    # 18:31:20 urbanecm "canaries show a few errors, looks transient" lies in the lookback but names no symptom
    report = first_human_report(pulled.events, first_alert=FIRST_ALERT, lookback=timedelta(hours=1))
    assert report.who == "ZebraReader"


def test_routing_on_the_example(pulled) -> None:
    verdict = routing_verdict(pulled.events, {})
    assert (verdict.answer, verdict.reason) == ("yes", "pages went to SRE Business Hours, and the paging alerts belong to team sre")
    wrong = routing_verdict(pulled.events, {"sre": "wmcs"})
    assert (wrong.answer, wrong.reason) == ("no", "the paging alerts belong to team sre, but pages went to SRE Business Hours")
    no_label = [replace(e, data={**e.data, "labels": {}}) if e.kind in (EventKind.ALERT_FIRING,) else e for e in pulled.events]
    no_label = [e for e in no_label if e.kind is not EventKind.ALERT_RESOLVED]
    assert routing_verdict(no_label, {}).answer is None


HOURS = BusinessHoursSettings(
    people={"cwhite": "America/Los_Angeles Mon-Fri 09:00-17:00", "mlopez": "Europe/Madrid Mon-Fri 09:00-18:00"}
)


def test_business_hours_per_person(pulled) -> None:
    burden = page_burden(pulled.events, compile_hours(HOURS))
    # 18:37:44 UTC on Tuesday 2023-02-14 is 10:37 in Los Angeles (UTC-8) and 19:37 in Madrid (UTC+1)
    assert [(p.person, p.in_hours, f"{p.local_time:%H:%M}", p.team) for p in burden] == [
        ("cwhite", True, "10:37", "SRE"),
        ("mlopez", False, "19:37", "SRE"),
    ]
    verdict = hours_verdict(burden)
    assert (verdict.answer, verdict.reason) == (
        "no",
        "paged out of business hours: mlopez at 19:37 Tue (Europe/Madrid Mon-Fri 09:00-18:00 (their own))",
    )


def test_business_hours_of_a_team_and_the_default(pulled) -> None:
    team = page_burden(pulled.events, compile_hours(BusinessHoursSettings(teams={"team-sre": "UTC Mon-Fri 08:00-20:00"})))
    assert [p.in_hours for p in team] == [True, True]
    assert team[0].hours == "UTC Mon-Fri 08:00-20:00 (team SRE)"
    assert hours_verdict(team).answer == "yes"
    late = page_burden(pulled.events, compile_hours(BusinessHoursSettings(default="UTC Mon-Fri 09:00-17:00")))
    assert [p.in_hours for p in late] == [False, False] and late[0].hours.endswith("(the default)")
    unknown = page_burden(pulled.events, compile_hours(BusinessHoursSettings()))
    assert [p.in_hours for p in unknown] == [None, None]
    assert hours_verdict(unknown).reason == "business hours unknown for cwhite, mlopez (configure [business_hours])"
    assert hours_verdict(()).answer is None


def test_bad_business_hours_name_the_key() -> None:
    with pytest.raises(ConfigError, match=r"config key business_hours.people.alice: unknown time zone 'Europe/Atlantis'"):
        compile_hours(BusinessHoursSettings(people={"alice": "Europe/Atlantis Mon-Fri 9-17"}))


def test_people_facts_together(pulled) -> None:
    settings = Settings(business_hours=HOURS, oncall=OncallSettings(people={"mlopez": "Maria Lopez"}))
    facts = people_facts(pulled.events, pulled.query.window, settings, tasks=("T329510",), paging_read=True, first_alert=FIRST_ALERT)
    assert facts.paged.text == "2 (cwhite, Maria Lopez)"
    assert facts.responders.count == 4 and facts.coordinator.name == "cwhite"
    assert facts.human_report.who == "ZebraReader"
    assert facts.routing.answer == "yes" and facts.business_hours.answer == "no"
    assert [p.person for p in facts.burden] == ["cwhite", "Maria Lopez"]


def test_the_first_page_acknowledgement_is_the_responded_moment(pulled) -> None:
    rows = build_rows(pulled.events)
    choice = next(c for c in curate(rows, CurationState(), TimelineSettings()).choices if c.moment == "responded")
    assert (choice.time.strftime("%H:%M:%S"), choice.reason) == ("18:38:05", "the first acknowledgement of a page")
    no_ack = build_rows([e for e in pulled.events if e.kind is not EventKind.PAGE_ACK])
    fallback = next(c for c in curate(no_ack, CurationState(), TimelineSettings()).choices if c.moment == "responded")
    # the 18:37:44 page itself is the paging system acting, not a response: the 18:36 scap abort is
    assert (fallback.time.strftime("%H:%M"), fallback.reason) == ("18:36", "the first human action after detection")


def test_a_page_row_links_the_alert_that_caused_it(pulled) -> None:
    rows = build_rows(pulled.events)
    page = next(r for r in rows if r.kind is EventKind.PAGE)
    alert = next(r for r in rows if r.key == page.data["alert_key"])
    assert alert.kind is EventKind.ALERT_FIRING and alert.data["alertname"] == "FrontendUnavailable"
    assert alert.time == datetime(2023, 2, 14, 18, 37, 43, tzinfo=UTC)
    assert alert.data["page_keys"] == [page.key]
    other = next(r for r in rows if r.kind is EventKind.ALERT_FIRING and r.data["alertname"] == "PHPFPMTooBusy")
    assert "page_keys" not in other.data
