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
from incidentkit.model.curation import CurationState, MomentSetting, Override
from incidentkit.model.event import Event, EventKind
from incidentkit.model.people import PagedPerson, Verdict
from incidentkit.model.row import Row
from incidentkit.model.window import Window
from incidentkit.services.pulls import load_pull
from incidentkit.timeline.curate import curate
from incidentkit.timeline.people import (
    compile_hours,
    detected_suggestion,
    first_human_report,
    hours_verdict,
    link_pages,
    page_burden,
    paged_people,
    people_facts,
    people_of_timeline,
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


# --- hand-made events: each rule at its edges ----------------------------------------------------

T0 = datetime(2023, 2, 14, 18, 0, tzinfo=UTC)


def ev(kind: EventKind, seconds: float = 0, *, key: str = "", text: str = "", actor: str | None = None, source: str = "x", **data) -> Event:
    return Event(
        time=T0 + timedelta(seconds=seconds), source=source, kind=kind, key=key or f"{kind}:{seconds}", text=text,
        actor=actor, data=data,
    )


def test_symptom_words_split_camel_case_and_drop_a_plural_s() -> None:
    alert = ev(EventKind.ALERT_FIRING, alertname="MediaWikiFatals", summary="pods class fails, 5xx on host1001 at 2024")
    # "pods" keeps its s (4 letters), "class" its ss; words under 4 letters and bare numbers are left out
    assert symptom_words([alert]) == {"media", "wiki", "fatal", "pods", "class", "fail", "host1001"}


def test_two_error_words_alone_are_a_report_one_is_not() -> None:
    def first(text: str):
        return first_human_report([ev(EventKind.CHAT, text=text, actor="jo")], first_alert=None, symptoms=frozenset())

    assert first("timeout everywhere, slow too").matched == ("timeout", "slow")
    assert first("timeout everywhere") is None
    assert first("timeout and slow and broken").matched == ("timeout", "slow", "broken")


def test_the_gap_to_the_first_alert_in_seconds_under_a_minute() -> None:
    def reason(seconds: int) -> str:
        chat = ev(EventKind.CHAT, text="fatal error", actor="jo")
        return first_human_report([chat], first_alert=T0 + timedelta(seconds=seconds), symptoms=frozenset()).reason

    assert reason(59).endswith(", 59 s before the first alert")
    assert reason(60).endswith(", 1 min before the first alert")
    assert reason(90).endswith(", 2 min before the first alert")
    assert reason(-30).endswith(", 30 s after the first alert")


def test_responders_show_a_name_up_to_its_first_at() -> None:
    found = responders(
        [ev(EventKind.LOG, actor="jo@deploy1002@old", source="sal")], Window(T0, T0 + timedelta(hours=1))
    )
    assert found.names == ("jo",)


def test_long_lists_of_names_stop_at_eight() -> None:
    def burden(count: int) -> list[PagedPerson]:
        return [PagedPerson(page="1", person=f"p{i}", team="sre", paged_at=T0, in_hours=False) for i in range(count)]

    assert hours_verdict(burden(8)).reason == "paged out of business hours: p0, p1, p2, p3, p4, p5, p6, p7"
    assert hours_verdict(burden(9)).reason == "paged out of business hours: p0, p1, p2, p3, p4, p5, p6, p7, …"


@pytest.mark.parametrize(
    "target",
    [{"teams": ["Team-SRE"]}, {"team_slugs": ["team-sre"]}, {"policies": ["SRE"]}, {"routing_key": "sre"}],
)
def test_a_page_reaches_the_owning_team_by_any_of_its_names(target: dict) -> None:
    fired = ev(EventKind.ALERT_FIRING, alertname="Down", paged=True, labels={"team": "sre"})
    page = ev(EventKind.PAGE, 10, alertname="Down", **target)
    assert routing_verdict([fired, page], {}).answer == "yes"
    elsewhere = ev(EventKind.PAGE, 10, alertname="Down", **{k: (["wmcs"] if isinstance(v, list) else "wmcs") for k, v in target.items()})
    assert routing_verdict([fired, elsewhere], {}).answer == "no"


def test_people_of_the_curated_timeline_follow_the_owner(pulled) -> None:
    rows = build_rows(pulled.events)
    repool = next(r for r in rows if r.kind is EventKind.DBCTL)  # the unrelated 19:02 repool
    start = datetime(2023, 2, 14, 18, 35, tzinfo=UTC)
    state = CurationState(
        overrides={repool.key: Override(key=repool.key, hidden=True)},
        moments={"impact_start": MomentSetting(moment="impact_start", time=start)},
    )
    curated = curate(rows, state, TimelineSettings())
    without_pages = [e for e in pulled.events if e.source != "oncall"]
    facts = people_of_timeline(without_pages, pulled.query.window, Settings(), curated, tasks=("T329510",), first_alert=FIRST_ALERT)
    assert facts.human_report.who == "taavi"  # the first report from the owner's impact start on
    assert "marostegui" not in facts.responders.names  # the repool the owner hid is nobody's response
    assert facts.paged.reason == "FrontendUnavailable paged, but no paging source says whom (configure [oncall])"
    suggested = people_of_timeline(pulled.events, pulled.query.window, Settings(), curate(rows, CurationState(), TimelineSettings()), first_alert=FIRST_ALERT)
    assert suggested.human_report.who == "ZebraReader" and "marostegui" in suggested.responders.names


WINDOW = Window(T0, T0 + timedelta(hours=1))


def test_pages_count_each_person_once_and_say_which_teams_named_nobody() -> None:
    one = ev(EventKind.PAGE, 0, key="p1", incident="1", users=["cwhite"], teams=["SRE"])
    again = ev(EventKind.PAGE, 60, key="p2", incident="2", users=["CWhite"], policies=["SRE Business Hours"], teams=["SRE"])
    paged = paged_people([one, again], aliases={}, paging_read=True)
    assert (paged.count, paged.names, paged.teams, paged.pages) == (1, ("cwhite",), ("SRE", "SRE Business Hours"), 2)
    assert paged.reason == "1 person in 2 pages (#1, #2) of the paging source, each counted once"
    team_only = ev(EventKind.PAGE, 120, key="p3", incident="3", teams=["wmcs", "SRE"])
    unknown = paged_people([one, team_only, replace(team_only, key="p4")], aliases={}, paging_read=True)
    assert (unknown.count, unknown.names, unknown.teams, unknown.pages) == (None, ("cwhite",), ("wmcs", "SRE"), 3)
    assert unknown.reason == (
        "1 person in 3 pages (#1, #3, #3) of the paging source, each counted once; "
        "pages to wmcs, SRE do not say whom they reached"
    )


def test_paged_alerts_are_named_in_order_when_no_page_says_whom() -> None:
    alerts = [ev(EventKind.ALERT_FIRING, i, alertname=name, paged=True) for i, name in enumerate(("B", "A", "B"))]
    quiet = ev(EventKind.ALERT_FIRING, 9, alertname="C")
    assert paged_people([*alerts, quiet], aliases={}, paging_read=False).reason == (
        "A, B paged, but no paging source says whom (configure [oncall])"
    )
    assert paged_people([quiet], aliases={}, paging_read=True).reason == "no page in the paging source for this window"


def chat(seconds: float, text: str, actor: str = "jo", **data) -> Event:
    return ev(EventKind.CHAT, seconds, key=f"chat:{seconds}", text=text, actor=actor, **data)


def test_responders_each_way_and_only_in_the_window() -> None:
    events = [
        ev(EventKind.PAGE_ACK, 1, by="Ann", human=True),
        ev(EventKind.PAGE_RESOLVED, 2, by="bob", human=False),  # the paging system resolved it
        ev(EventKind.PAGE_NOTE, 3, human=True),  # nobody named
        ev(EventKind.LOG, 4, actor="cy", source="sal"),
        ev(EventKind.LOG, 5, actor="dee", source="irc"),  # not the SAL
        ev(EventKind.TASK_COMMENT, 6, actor="eve", tasks=()),
        ev(EventKind.SILENCE, 7, actor="fay"),
        ev(EventKind.SILENCE, 8),
        ev(EventKind.LOG, -1, actor="early", source="sal"),
        ev(EventKind.LOG, 3600, actor="late", source="sal"),
        ev(EventKind.LOG, 9, actor="logmsgbot", source="sal"),
        chat(10, "looking", actor="gus", channel="#ops"),
        chat(11, "reverting now", actor="hal", channel="#ops"),
        chat(12, "on it", actor="ida", channel="#dev"),
        chat(13, "the backend is down with errors, fatal", actor="jan"),  # described the symptoms only
        chat(14, "the backend is down with errors, fatal", actor="gus"),  # counted already
        chat(15, "lunch?", actor="kim"),
        chat(16, "backend fails", actor="kay"),
    ]
    found = responders(events, WINDOW, symptoms=frozenset({"backend"}))
    assert found.names == ("Ann", "cy", "eve", "fay", "gus", "hal", "ida")
    assert dict(found.ways) == {
        "acted on a page": ("Ann",),
        "logged to the SAL": ("cy",),
        "acted on the tasks": ("eve",),
        "silenced an alert": ("fay",),
        "spoke about it": ("gus", "hal", "ida"),
    }
    assert found.reporters == ("jan", "kay")
    assert found.reason == (
        "at least 7, each counted once: acted on a page: Ann; logged to the SAL: cy; acted on the tasks: eve; "
        "silenced an alert: fay; spoke about it in #ops, #dev: gus, hal, ida; not counted: jan, kay (only described the "
        "symptoms). People who helped without leaving a trace here are missed."
    )


def test_task_events_count_only_for_the_incident_tasks_and_a_mention_in_chat_responds() -> None:
    events = [
        replace(ev(EventKind.TASK_STATUS, 1, actor="ann"), tasks=("T1",)),
        replace(ev(EventKind.TASK_STATUS, 2, actor="bob"), tasks=("T2",)),
        ev(EventKind.LOG, 2.5, actor="cy", source="sal"),
        replace(chat(3, "see the task", actor="cy"), tasks=("T1",)),
        replace(chat(4, "see the other task", actor="dee"), tasks=("T2",)),
    ]
    found = responders(events, WINDOW, tasks=("T1",))
    assert found.names == ("ann", "cy")
    assert found.reason == (
        "at least 2, each counted once: logged to the SAL: cy; acted on T1: ann; spoke about it in the channel: cy. "
        "People who helped without leaving a trace here are missed."
    )
    assert responders(events, WINDOW).names == ("ann", "bob", "cy")
    assert responders(events, WINDOW).reason.startswith("at least 3, each counted once: logged to the SAL: cy; acted on the tasks: ann, bob.")


def test_nobody_responding_and_aliases() -> None:
    nobody = responders([chat(1, "lunch?")], WINDOW)
    assert (nobody.names, nobody.reason) == (
        (), "nobody left a trace of responding in the sources read (pages, SAL, tasks, silences, the channel)"
    )
    assert suggest_coordinator(nobody) is None
    aliased = responders([ev(EventKind.LOG, 1, actor="mlopez", source="sal"), chat(2, "looking", actor="MLopez")], WINDOW, aliases={"mlopez": "Maria Lopez"})
    assert aliased.names == ("Maria Lopez",) and dict(aliased.ways)["spoke about it"] == ("Maria Lopez",)


def test_the_coordinator_has_the_most_kinds_of_trace_the_first_found_on_a_tie() -> None:
    events = [ev(EventKind.LOG, 1, actor="ann", source="sal"), ev(EventKind.SILENCE, 2, actor="bob"), chat(3, "looking", actor="bob")]
    assert suggest_coordinator(responders(events, WINDOW)).reason == (
        "bob left the most kinds of trace (silenced an alert; spoke about it); confirm or replace"
    )
    assert suggest_coordinator(responders(events[:2], WINDOW)).name == "ann"


def test_first_report_search_starts_where_it_says() -> None:
    alert_at = T0 + timedelta(minutes=40)
    events = [
        chat(0, "fatal errors everywhere", actor="early"),
        chat(600, "fatal errors everywhere", actor="logmsgbot"),
        chat(700, "reverting: fatal errors everywhere", actor="doer"),
        chat(800, "lunch", actor="idle"),
        chat(900, "fatal errors everywhere", actor="jo", channel="#ops"),
    ]
    since = first_human_report(events, first_alert=alert_at, symptoms=frozenset())
    assert (since.who, since.channel, since.first_alert) == ("jo", "#ops", alert_at)
    assert since.reason == (
        "the first message in #ops from 30 min before the first alert on that names the symptoms (fatal, error), "
        "25 min before the first alert"
    )
    longer = first_human_report(events, first_alert=alert_at, lookback=timedelta(minutes=40), symptoms=frozenset())
    assert longer.who == "early" and longer.channel is None
    assert longer.reason.startswith("the first message from 40 min before the first alert on that names")
    start = first_human_report(events, first_alert=None, impact_start=T0 + timedelta(seconds=1), symptoms=frozenset())
    assert start.reason == "the first message in #ops from the impact start on that names the symptoms (fatal, error)"
    anywhere = first_human_report(events, first_alert=None, symptoms=frozenset())
    assert anywhere.reason == "the first message from the window start on that names the symptoms (fatal, error)"
    at_once = first_human_report(events, first_alert=T0, impact_start=T0, symptoms=frozenset())
    assert at_once.reason.endswith(", 0 s after the first alert")
    assert first_human_report(events, first_alert=None, symptoms=None).who == "early"  # read from the events


def test_routing_verdict_reasons() -> None:
    fired = ev(EventKind.ALERT_FIRING, alertname="Down", labels={"team": "sre"})
    page = ev(EventKind.PAGE, 10, alertname="Down", teams=["SRE"])
    assert routing_verdict([fired], {}) == Verdict(None, "no alert sent a page")
    assert routing_verdict([fired, ev(EventKind.PAGE, 10, manual=True, teams=["SRE"])], {}) == Verdict(None, "only manual pages were sent")
    assert routing_verdict([ev(EventKind.ALERT_FIRING, alertname="Down", labels="sre"), page], {}) == Verdict(
        None, "pages went to SRE; the paging alerts name no owning team (no team label)"
    )
    assert routing_verdict([replace(page, data={"alertname": "Down"}), ev(EventKind.ALERT_FIRING, alertname="Down")], {}) == Verdict(
        None, "pages went to unnamed teams; the paging alerts name no owning team (no team label)"
    )
    other = ev(EventKind.ALERT_FIRING, 5, alertname="Slow", paged=True, labels={"team": "wmcs"})
    unpaged = ev(EventKind.ALERT_FIRING, 6, alertname="Noise", labels={"team": "search"})
    assert routing_verdict([fired, fired, other, unpaged, page], {}) == Verdict(
        "no", "the paging alerts belong to teams sre, wmcs, but pages went to SRE"
    )
    assert routing_verdict([fired, other, unpaged, page], {"WMCS": "team-sre"}) == Verdict(
        "yes", "pages went to SRE, and the paging alerts belong to teams sre, wmcs"
    )
    assert routing_verdict([fired, replace(page, data={"alertname": "Down", "routing_key": "x"})], {}) == Verdict(
        "no", "the paging alerts belong to team sre, but pages went to other teams"
    )


def test_page_burden_per_person_or_team_and_whose_hours() -> None:
    hours = compile_hours(
        BusinessHoursSettings(people={"Ann": "UTC Mon-Fri 09:00-17:00"}, teams={"wmcs": "UTC Mon-Fri 17:00-20:00"}, default=" ")
    )
    assert hours.configured and hours.default is None and not compile_hours(BusinessHoursSettings()).configured
    page = ev(EventKind.PAGE, key="page-key", users=["ann", "maria"], policies=["wmcs"], manual=True)
    team_only = ev(EventKind.PAGE, key="page-2", incident="7", team_slugs=["wmcs"])
    burden = page_burden([page, team_only, ev(EventKind.LOG)], hours, {"maria": "Maria Lopez"})
    assert [(p.page, p.person, p.team, p.in_hours, p.hours, p.manual) for p in burden] == [
        ("page-key", "ann", "wmcs", False, "UTC Mon-Fri 09:00-17:00 (their own)", True),
        ("page-key", "Maria Lopez", "wmcs", True, "UTC Mon-Fri 17:00-20:00 (team wmcs)", True),
        ("7", "", "wmcs", True, "UTC Mon-Fri 17:00-20:00 (team wmcs)", False),
    ]
    assert burden[0].local_time == T0 and burden[0].paged_at == T0
    assert hours_verdict(burden) == Verdict("no", "paged out of business hours: ann at 18:00 Tue (UTC Mon-Fri 09:00-17:00 (their own))")
    assert hours_verdict(burden[1:]) == Verdict(
        "yes",
        "everyone was paged within business hours: Maria Lopez at 18:00 Tue (UTC Mon-Fri 17:00-20:00 (team wmcs)), "
        "team wmcs at 18:00 Tue (UTC Mon-Fri 17:00-20:00 (team wmcs))",
    )
    nobody = page_burden([ev(EventKind.PAGE, key="p", teams=["x"])], compile_hours(BusinessHoursSettings()))
    assert hours_verdict(nobody) == Verdict(None, "business hours unknown for team x (configure [business_hours])")


def test_bad_business_hours_name_the_key_and_how_to_write_it() -> None:
    for settings, key in (
        (BusinessHoursSettings(teams={"sre": "Mars/Base Mon-Fri 9-17"}), "business_hours.teams.sre"),
        (BusinessHoursSettings(default="nonsense"), "business_hours.default"),
    ):
        with pytest.raises(ConfigError) as caught:
            compile_hours(settings)
        assert caught.value.message.startswith(f"config key {key}: ")
        assert caught.value.hint == 'write e.g. "Europe/Berlin Mon-Fri 09:00-17:00" (zone, days, hours)'


def test_a_page_links_the_nearest_alert_of_its_name_from_30_min_before_to_5_after() -> None:
    def alert(key: str, minutes: float, name: str = "Down") -> Row:
        return Row(key=key, time=T0 + timedelta(minutes=minutes), text=key, source="x", kind=EventKind.ALERT_FIRING, data={"alertname": name})

    def page(key: str, **data) -> Row:
        return Row(key=key, time=T0, text=key, source="oncall", kind=EventKind.PAGE, data=data)

    rows = [
        alert("too-early", -30.01), alert("early", -30), alert("near", -2), alert("after", 5), alert("too-late", 5.01),
        alert("other", -1, "Slow"),
    ]
    linked = {r.key: r for r in link_pages([*rows, page("p1", alertname="DOWN"), page("p2", entity="host1: down on x"), page("p3", alertname="Down", manual=True)])}
    assert linked["p1"].data["alert_key"] == "near" and linked["p2"].data["alert_key"] == "near"
    assert linked["near"].data["page_keys"] == ["p1", "p2"]
    assert "alert_key" not in linked["p3"].data and "page_keys" not in linked["early"].data
    for key in ("early", "after"):  # each edge of the span, with alerts just outside it
        only = [r for r in rows if r.key in (key, "too-early", "too-late")]
        assert link_pages([*only, page("p", alertname="Down")])[-1].data["alert_key"] == key
    unlinked = [alert("a", 10), page("p", alertname="Down")]
    assert link_pages(unlinked) == unlinked


def test_people_facts_pass_on_the_settings_and_the_incident() -> None:
    alert_at = T0 + timedelta(minutes=50)
    events = [
        ev(EventKind.ALERT_FIRING, 3000, alertname="BackendDown", paged=True, labels={"team": "sre"}),
        chat(0, "the backend seems down", actor="ann", channel="#ops"),  # 50 min before the alert
        chat(60, "looking", actor="mlopez"),
        ev(EventKind.PAGE, 3010, alertname="BackendDown", users=["mlopez"], policies=["SRE", "Ops"]),
    ]
    settings = Settings(oncall=OncallSettings(people={"mlopez": "Maria Lopez"}), timeline=TimelineSettings(impact_deploy_minutes=60))
    facts = people_facts(events, WINDOW, settings, first_alert=alert_at)
    assert facts.responders.names == ("Maria Lopez",) and facts.responders.reporters == ("ann",)
    assert facts.human_report.reason.startswith("the first message in #ops from 1 h before the first alert on that")
    assert facts.human_report.first_alert == alert_at
    assert facts.burden[0].team == "SRE" and facts.paged.count == 1
    assert facts.routing == Verdict("yes", "pages went to SRE, Ops, and the paging alerts belong to team sre")
    default = Settings(timeline=TimelineSettings(impact_deploy_minutes=0))
    assert people_facts(events, WINDOW, default, first_alert=alert_at).human_report is None  # 30 min back only
    unpaged = people_facts(events[:3], WINDOW, Settings(), first_alert=alert_at)
    assert unpaged.paged.reason == "BackendDown paged, but no paging source says whom (configure [oncall])"
    assert people_facts(events[:3], WINDOW, Settings(), paging_read=True).paged.count == 0
    curated = curate(build_rows(events), CurationState(), TimelineSettings())
    timeline = people_of_timeline(events[:3], WINDOW, settings, curated, paging_read=True, first_alert=alert_at)
    assert timeline.paged.count == 0 and timeline.human_report.first_alert == alert_at


def test_nothing_paged_and_a_page_to_people_of_no_team() -> None:
    assert paged_people([ev(EventKind.LOG)], aliases={}, paging_read=True).count == 0
    (burden,) = page_burden([ev(EventKind.PAGE, users=["ann"])], compile_hours(BusinessHoursSettings()))
    assert (burden.person, burden.team) == ("ann", "")


def test_a_report_names_the_symptoms_it_was_given_five_at_most() -> None:
    words = chat(5, "backend api cache search fatal error timeout", actor="ann")
    report = first_human_report([words], first_alert=None, symptoms=frozenset({"backend", "cache", "search", "api"}))
    assert report.key == "chat:5" and report.text == words.text
    assert report.matched == ("backend", "api", "cache", "search", "fatal", "error", "timeout")
    assert report.reason.endswith("names the symptoms (backend, api, cache, search, fatal)")


def test_nobody_paged_and_pages_with_no_person_or_known_hours() -> None:
    assert hours_verdict(()) == Verdict(None, "nobody was paged")
    (team,) = page_burden([ev(EventKind.PAGE, key="p", teams=["x"])], compile_hours(BusinessHoursSettings()), {"": "Ghost"})
    assert (team.person, team.hours, team.in_hours, team.local_time) == ("", "", None, None)


def test_symptom_words_come_from_every_alert_field_that_names_one() -> None:
    alert = ev(EventKind.ALERT_NOTE, alertname="Down", summary="parser", service="citoid", host="mw1001", instance="ores2002:9100")
    # the port is a bare number; the log line is no alert
    assert symptom_words([alert, ev(EventKind.LOG, text="nothing here", service="search")]) == {
        "down", "parser", "citoid", "mw1001", "ores2002"
    }


def test_the_incident_tasks_are_named_in_the_reason() -> None:
    events = [replace(ev(EventKind.TASK_STATUS, 1, actor="ann"), tasks=("T2",))]
    assert responders(events, WINDOW, tasks=("T1", "T2")).reason.startswith("at least 1, each counted once: acted on T1, T2: ann.")


def test_an_alert_with_no_name_is_linked_to_no_page() -> None:
    def page(key: str, **data) -> Row:
        return Row(key=key, time=T0, text=key, source="oncall", kind=EventKind.PAGE, data=data)

    nameless = Row(key="nameless", time=T0, text="?", source="x", kind=EventKind.ALERT_FIRING, data={"alertname": ""})
    unnamed = Row(key="unnamed", time=T0, text="?", source="x", kind=EventKind.ALERT_FIRING)
    short = Row(key="short", time=T0, text="?", source="x", kind=EventKind.ALERT_FIRING, data={"alertname": "XX"})
    pages = [page("p1", entity="mw1001 none"), page("p2", alertname="None"), page("p3", alertname="XXXX"), page("p4")]
    assert link_pages([nameless, unnamed, short, *pages]) == [nameless, unnamed, short, *pages]
