"""The model layer on its own: times and durations, task ids, windows, slugs, events, follow-ups."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest

from incidentkit.errors import InputError
from incidentkit.model.actionable import Actionable
from incidentkit.model.alert import alert_event, icinga_identity, pages, severity_of, split_links, with_starts
from incidentkit.model.event import Event, EventKind
from incidentkit.model.hours import BusinessHours, parse_business_hours
from incidentkit.model.incident import slugify
from incidentkit.model.people import PagedPerson, display_name, is_bot, person_key
from incidentkit.model.row import Row, row_from_event
from incidentkit.model.source import Problem, Query, SourceResult, SourceSummary
from incidentkit.model.tasks import find_tasks, parse_task, task_number, task_or_none
from incidentkit.model.time import ensure_utc, format_duration, format_utc, from_epoch, parse_utc, to_epoch
from incidentkit.model.window import Window, parse_when, parse_window

NOW = datetime(2023, 2, 16, 9, 0, tzinfo=UTC)


def at(text: str) -> datetime:
    return datetime.fromisoformat(f"2023-02-14T{text}+00:00")


# --- time -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2016-09-15T19:10:00Z", datetime(2016, 9, 15, 19, 10, tzinfo=UTC)),
        ("2016-09-15T19:10:00+00:00", datetime(2016, 9, 15, 19, 10, tzinfo=UTC)),
        ("2016-09-15T21:10:00+02:00", datetime(2016, 9, 15, 19, 10, tzinfo=UTC)),
        ("2016-09-15T19:10:00", datetime(2016, 9, 15, 19, 10, tzinfo=UTC)),  # naive is UTC
        (" 2016-09-15 19:10:05.250Z ", datetime(2016, 9, 15, 19, 10, 5, 250000, tzinfo=UTC)),
    ],
)
def test_parse_utc_reads_z_offsets_and_naive_as_utc(text: str, expected: datetime) -> None:
    parsed = parse_utc(text)
    assert parsed == expected and parsed.utcoffset() == timedelta(0)


def test_parse_utc_refuses_what_is_not_iso() -> None:
    with pytest.raises(ValueError):
        parse_utc("yesterday")


def test_format_utc_round_trips_and_drops_microseconds() -> None:
    value = datetime(2016, 9, 15, 21, 10, 5, 999999, tzinfo=timezone(timedelta(hours=2)))
    assert format_utc(value) == "2016-09-15T19:10:05Z"
    assert format_utc(value, seconds=False) == "2016-09-15T19:10Z"
    assert parse_utc(format_utc(value)) == value.replace(microsecond=0)
    assert ensure_utc(datetime(2016, 9, 15, 19, 10)).tzinfo is UTC


def test_epochs() -> None:
    assert from_epoch(0) is None and from_epoch("") is None and from_epoch(None) is None
    assert from_epoch(1676400000) == datetime(2023, 2, 14, 18, 40, tzinfo=UTC)
    assert from_epoch("1676400000") == from_epoch(1676400000.0)
    assert to_epoch(datetime(2026, 11, 23, 1, 33, 55, 900000, tzinfo=UTC)) == 1795397635  # floor, not round
    with pytest.raises(ValueError):
        to_epoch(datetime(2026, 11, 23))


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(0), "0 min"),
        (timedelta(seconds=20), "less than a minute"),
        (timedelta(seconds=30), "less than a minute"),  # rounds half to even: 0.5 min -> 0
        (timedelta(seconds=31), "1 min"),
        (timedelta(minutes=59, seconds=29), "59 min"),
        (timedelta(minutes=59, seconds=31), "1 h"),
        (timedelta(minutes=60), "1 h"),
        (timedelta(minutes=65), "1 h 5 min"),
        (timedelta(hours=26), "26 h"),
    ],
)
def test_format_duration(delta: timedelta, text: str) -> None:
    assert format_duration(delta) == text


# --- task ids -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "task"),
    [
        ("T123", "T123"),
        ("t123", "T123"),
        ("123", "T123"),
        (123, "T123"),
        (" T9 ", "T9"),
        ("https://phabricator.wikimedia.org/T329510", "T329510"),
        ("http://127.0.0.1:8080/T5", "T5"),
    ],
)
def test_parse_task_accepts_the_forms_people_type(given: object, task: str) -> None:
    assert parse_task(given) == task == task_or_none(given)
    assert task_number(task) == int(task[1:])


@pytest.mark.parametrize("given", ["", "T", "T0", "0", "X12", "T12a", "T-1", "phab:T12", "12345678901"])
def test_parse_task_refuses_the_rest(given: str) -> None:
    assert task_or_none(given) is None
    with pytest.raises(InputError, match="--task"):
        parse_task(given, what="--task")


def test_find_tasks_in_free_text_in_order_without_repeats() -> None:
    text = "T12 then T3 (see T12), not xT4, /T5, #T6, T7-ish and T0, T123456789"
    assert find_tasks(text) == ("T12", "T3", "T7")


# --- windows --------------------------------------------------------------------------------------


def test_window_is_half_open_and_touches_spans_that_overlap_it() -> None:
    window = Window(at("18:00:00"), at("19:00:00"))
    assert window.contains(at("18:00:00")) and not window.contains(at("19:00:00"))
    assert window.touches(at("18:30:00"))
    assert not window.touches(at("19:00:00"))
    # a long deploy that started inside and finished after the window belongs to it
    assert window.touches(at("19:20:00"), started=at("18:50:00"))
    # one that started after the window's end does not, nor one that finished before it began
    assert not window.touches(at("19:20:00"), started=at("19:00:00"))
    assert not window.touches(at("17:59:00"), started=at("17:00:00"))
    assert window.touches(at("18:00:00"), started=at("17:00:00"))


def test_window_refuses_naive_times_and_an_end_before_the_start() -> None:
    with pytest.raises(ValueError):
        Window(datetime(2023, 2, 14, 18), at("19:00:00"))
    with pytest.raises(InputError, match="before it starts"):
        Window(at("19:00:00"), at("18:00:00"))


def test_window_days_cover_every_utc_day_touched() -> None:
    window = Window(at("23:00:00"), datetime(2023, 2, 16, 0, 0, tzinfo=UTC))
    assert window.days() == [date(2023, 2, 14), date(2023, 2, 15)]
    assert Window.from_dict(window.to_dict()) == window


def test_parse_window_names_the_flags_and_the_maximum() -> None:
    with pytest.raises(InputError) as refused:
        parse_window("2023-02-14 19:00", "2023-02-14 18:00", now=NOW)
    assert refused.value.hint == "--to must be later than --from"
    exactly = parse_window("2023-02-01 00:00", "2023-02-15 00:00", now=NOW, max_span=timedelta(days=14))
    assert exactly.duration == timedelta(days=14)  # the maximum itself is allowed
    with pytest.raises(InputError, match="more than the maximum of 14 days"):
        parse_window("2023-02-01 00:00", "2023-02-15 00:01", now=NOW, max_span=timedelta(days=14))
    assert parse_window("2023-02-14 18:00", None, now=NOW).end == NOW


def test_parse_when_reads_human_forms_relative_to_now() -> None:
    assert parse_when("2 hours ago", now=NOW) == NOW - timedelta(hours=2)
    assert parse_when("2023-02-14 7:05", now=NOW) == at("07:05:00")
    with pytest.raises(InputError, match="cannot read --from 'soonish'"):
        parse_when("soonish", now=NOW, option="--from")


# --- slugs and events -----------------------------------------------------------------------------


def test_slugify() -> None:
    assert slugify("Wikidata: dispatch lag!", datetime(2016, 9, 15, 19, tzinfo=UTC)) == "2016-09-15_wikidata-dispatch-lag"
    assert slugify("???", date(2016, 9, 15)) == "2016-09-15_incident"
    assert slugify("Old page", "undated") == "undated_old-page"
    assert len(slugify("x" * 200, date(2016, 9, 15))) == 80


def test_event_round_trips_through_its_dict_and_refuses_naive_times() -> None:
    event = Event(
        time=at("18:48:00"), source="sal", kind=EventKind.DEPLOY, key="sal:1", text="Finished scap",
        actor="urbanecm", tasks=("T1",), started=at("18:39:00"), data={"duration": 540},
    )
    assert Event.from_dict(event.to_dict()) == event
    assert event.within(Window(at("18:00:00"), at("18:40:00")))  # started inside, finished after
    with pytest.raises(ValueError):
        Event(time=datetime(2023, 2, 14, 18), source="sal", kind=EventKind.LOG, key="k", text="t")


# --- what the mutation run found untested -------------------------------------------------------


def test_ensure_utc_converts_to_utc_whatever_the_machine_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    try:
        converted = ensure_utc(datetime(2016, 9, 15, 21, 10, tzinfo=timezone(timedelta(hours=2))))
        assert (converted.hour, converted.utcoffset()) == (19, timedelta(0))
    finally:
        monkeypatch.undo()
        time.tzset()


def test_from_epoch_zero_as_text_is_none_and_to_epoch_says_why_it_refuses() -> None:
    assert from_epoch("0") is None
    with pytest.raises(ValueError, match="^to_epoch needs an aware datetime$"):
        to_epoch(datetime(2026, 11, 23))


def test_event_from_a_minimal_dict_takes_the_defaults() -> None:
    minimal = {"time": "2023-02-14T18:48:00Z", "source": "sal", "kind": "log", "key": "sal:1", "text": "x"}
    event = Event.from_dict(minimal)
    assert (event.tasks, event.raw, event.data, event.started, event.actor) == ((), "", {}, None, None)
    full = Event.from_dict({**minimal, "raw": "18:48 x", "tasks": ["T2"], "data": {"a": 1}})
    assert (full.raw, full.tasks, full.data) == ("18:48 x", ("T2",), {"a": 1})


def test_query_from_a_dict_without_tasks() -> None:
    window = Window(at("18:00:00"), at("19:00:00"))
    assert Query.from_dict({"window": window.to_dict()}) == Query(window)
    assert Query.from_dict(Query(window, ("T1", "T2")).to_dict()) == Query(window, ("T1", "T2"))


def test_source_summary_says_where_and_why_each_problem_is() -> None:
    result = SourceResult(
        "sal", (), (Problem("Server Admin Log:12", "bad time"), Problem("Server Admin Log:40", "")), lines_read=41,
        notes=("n",),
    )  # fmt: skip
    assert result.summary() == SourceSummary(
        source="sal", events=0, lines_read=41, skipped=2,
        skipped_where=("Server Admin Log:12 (bad time)", "Server Admin Log:40"), notes=("n",),
    )  # fmt: skip


def test_row_to_dict_is_the_json_form() -> None:
    row = Row(
        key="k", time=at("18:40:00"), end=at("18:52:00"), text="FrontendUnavailable firing", source="irc",
        sources=("irc", "prometheus"), kind=EventKind.ALERT_FIRING, actor="jinxer-wm", tasks=("T1",),
        url="https://x.example/", marker="OUTAGE BEGINS", pinned=True, hidden=False, edited=True, new=True, note="n",
    )  # fmt: skip
    assert row.to_dict() == {
        "key": "k", "time": "2023-02-14T18:40:00Z", "end": "2023-02-14T18:52:00Z", "source": "irc",
        "sources": ["irc", "prometheus"], "kind": "alert-firing", "actor": "jinxer-wm", "text": "FrontendUnavailable firing",
        "tasks": ["T1"], "url": "https://x.example/", "marker": "OUTAGE BEGINS", "pinned": True, "hidden": False,
        "edited": True, "new": True, "note": "n",
    }  # fmt: skip
    plain = Row(key="p", time=at("18:00:00"), text="t", source="sal", kind=EventKind.LOG).to_dict()
    assert (plain["end"], plain["sources"], plain["marker"], plain["pinned"]) == (None, ["sal"], None, False)


# --- business hours (hand-worked tables) ------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "zone", "days", "start", "end"),
    [
        ("", "UTC", {0, 1, 2, 3, 4}, time(9), time(17)),  # every part has a default
        ("Europe/Berlin", "Europe/Berlin", {0, 1, 2, 3, 4}, time(9), time(17)),
        ("Mon-Fri 9-17", "UTC", {0, 1, 2, 3, 4}, time(9), time(17)),
        ("09:30-17:45 Tue", "UTC", {1}, time(9, 30), time(17, 45)),  # any order
        ("9:30-17", "UTC", {0, 1, 2, 3, 4}, time(9, 30), time(17)),
        ("9-17:30", "UTC", {0, 1, 2, 3, 4}, time(9), time(17, 30)),
        ("Mon,Wed,Fri 22-6", "UTC", {0, 2, 4}, time(22), time(6)),  # runs past midnight
        ("Fri-Mon 18-24", "UTC", {4, 5, 6, 0}, time(18), time(0)),  # wraps the week; 24 is midnight
        ("Mon-Sun 24-8", "UTC", {0, 1, 2, 3, 4, 5, 6}, time(0), time(8)),
        ("Sun-Tue,Thu", "UTC", {6, 0, 1, 3}, time(9), time(17)),
        ("mon-mon America/New_York", "America/New_York", {0}, time(9), time(17)),
    ],
)
def test_parse_business_hours(spec: str, zone: str, days: set[int], start: time, end: time) -> None:
    hours = parse_business_hours(spec)
    assert (hours.zone, hours.days, hours.start, hours.end) == (zone, frozenset(days), start, end)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("Mon,Xyz", r"^unknown day in 'Mon,Xyz' \(use Mon, Tue"),
        ("Mon-Xyz", r"^unknown day in 'Mon-Xyz'"),
        ("9-9", r"^business hours in '9-9' start and end at the same time$"),
        ("Mon 25-26", r"^bad time of day in 'Mon 25-26'$"),
        ("9:75-17", r"^bad time of day in '9:75-17'$"),
        ("9-17:75", r"^bad time of day in '9-17:75'$"),
        ("18-24:30", r"^bad time of day in '18-24:30'$"),
        ("Mars/Olympus 9-17", r"^unknown time zone 'Mars/Olympus' in 'Mars/Olympus 9-17'$"),
        ("weekdays", r"^cannot read 'weekdays' in 'weekdays' \(expected e\.g\."),
    ],
)
def test_parse_business_hours_refuses_with_a_reason(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_business_hours(spec)


@pytest.mark.parametrize(
    ("spec", "utc", "inside"),
    [
        ("Mon-Fri 09:00-17:00", "2023-02-13 09:00", True),  # Monday, the first minute
        ("Mon-Fri 09:00-17:00", "2023-02-13 08:59", False),
        ("Mon-Fri 09:00-17:00", "2023-02-13 16:59", True),
        ("Mon-Fri 09:00-17:00", "2023-02-13 17:00", False),  # the end is out
        ("Mon-Fri 09:00-17:00", "2023-02-18 10:00", False),  # Saturday
        ("Europe/Berlin Mon-Fri 09:00-17:00", "2023-02-13 08:30", True),  # 09:30 in Berlin (CET, +1)
        ("Europe/Berlin Mon-Fri 09:00-17:00", "2023-02-13 16:30", False),  # 17:30 in Berlin
        ("Mon-Fri 22:00-06:00", "2023-02-17 22:00", True),  # Friday evening, from the start
        ("Mon-Fri 22:00-06:00", "2023-02-17 21:59", False),
        ("Mon-Fri 22:00-06:00", "2023-02-18 05:59", True),  # Saturday morning ends Friday's shift
        ("Mon-Fri 22:00-06:00", "2023-02-18 06:00", False),
        ("Mon-Fri 22:00-06:00", "2023-02-18 22:30", False),  # Saturday evening: no shift
        ("Mon-Fri 22:00-06:00", "2023-02-13 05:00", False),  # Monday morning: Sunday had no shift
        ("Mon-Fri 22:00-06:00", "2023-02-14 05:00", True),  # Tuesday morning ends Monday's shift
    ],
)
def test_business_hours_contain(spec: str, utc: str, inside: bool) -> None:
    when = datetime.fromisoformat(utc).replace(tzinfo=UTC)
    assert parse_business_hours(spec).contains(when) is inside


def test_an_empty_shift_contains_nothing() -> None:
    empty = BusinessHours(zone="UTC", days=frozenset(range(7)), start=time(9), end=time(9), spec="")
    assert not any(empty.contains(datetime(2023, 2, 13, h, tzinfo=UTC)) for h in range(24))


# --- names of people (hand-written tables) -----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("@_Joe_|away", "joe"),
        ("urbanecm@deploy1002", "urbanecm"),
        ("a@b@c", "a"),
        ("+volans", "volans"),
        ("!%~&Volans", "volans"),
        ("  @joe  ", "joe"),
        ("joe|away|afk", "joe"),
        ("Xavier_", "xavier"),
        ("`^joe^`", "joe"),
        ("joe doe", "joe doe"),
    ],
)
def test_person_key(name: str, key: str) -> None:
    assert person_key(name) == key


@pytest.mark.parametrize(
    ("name", "bot"),
    [
        (None, True), ("", True), ("stashbot", True), ("wikibugs2", True), ("jinxer-wm", True),
        ("icinga-wm_", True), ("ChanServ", True), ("escalator_sysuser", True), ("Splunk On-Call", True),
        ("volans", False), ("bob2", False), ("robotnik", False),
    ],
)  # fmt: skip
def test_is_bot(name: str | None, bot: bool) -> None:
    assert is_bot(name) is bot


def test_display_name_prefers_the_name_as_written_then_its_key() -> None:
    aliases = {"JDoe": "Jane Doe (on call)", "jdoe": "Jane Doe"}
    assert display_name("JDoe", aliases) == "Jane Doe (on call)"
    assert display_name("_jdoe_", aliases) == "Jane Doe"
    assert display_name("someone", aliases) == "someone"


def test_paged_person_to_dict() -> None:
    berlin = datetime(2023, 2, 14, 19, 35, tzinfo=timezone(timedelta(hours=1)))
    page = PagedPerson(page="4711", person="cwhite", team="sre", paged_at=at("18:35:00"), in_hours=False,
                       local_time=berlin, hours="Europe/Berlin Mon-Fri 09:00-17:00", manual=True)  # fmt: skip
    assert page.to_dict() == {
        "page": "4711", "person": "cwhite", "team": "sre", "paged_at": "2023-02-14T18:35:00Z", "in_hours": False,
        "local_time": "2023-02-14T19:35:00+01:00", "hours": "Europe/Berlin Mon-Fri 09:00-17:00", "manual": True,
    }  # fmt: skip
    bare = PagedPerson(page="1", person="", team="sre", paged_at=at("18:35:00")).to_dict()
    assert (bare["in_hours"], bare["local_time"], bare["hours"], bare["manual"]) == (None, None, "", False)


# --- windows and alert values: edges the mutation run found untested ----------------------------------


def test_parse_window_edges() -> None:
    assert parse_window("2023-02-14 18:00", "30 minutes ago", now=at("19:00:00")) == Window(at("18:00:00"), at("18:30:00"))
    with pytest.raises(InputError, match=r"^cannot read --to 'soonish' as a time$"):
        parse_window("2023-02-14 18:00", "soonish", now=NOW)
    with pytest.raises(InputError, match=r"ends \(2023-02-14T18:00:00Z\) before it starts"):
        parse_window("2023-02-14 18:00", "2023-02-14 18:00", now=NOW)  # an empty window
    assert parse_window("2023-02-01 00:00", "2023-02-15 00:00", now=NOW).duration == timedelta(days=14)  # the maximum itself
    with pytest.raises(InputError, match=r"^the window spans 14\.5 days, more than the maximum of 14 days$") as refused:
        parse_window("2023-02-01 00:00", "2023-02-15 12:00", now=NOW)
    assert refused.value.hint == "narrow --from/--to, or raise max_window_days in the [draft] config section"


def test_window_from_a_damaged_dict_and_padding() -> None:
    for damaged in ({"start": "2023-02-14T18:00:00Z", "end": "soon"}, {"start": "x", "end": "2023-02-14T18:00:00Z"}):
        with pytest.raises(InputError, match=r"^bad saved window ") as refused:
            Window.from_dict(damaged)
        assert refused.value.hint == "the saved pull is damaged; pull again"
    window = Window(at("18:00:00"), at("19:00:00"))
    assert window.padded(timedelta(minutes=30), timedelta(minutes=5)) == Window(at("17:30:00"), at("19:05:00"))
    assert window.padded(timedelta(minutes=30)) == Window(at("17:30:00"), at("19:00:00"))


def test_alert_event_fills_its_data_and_keeps_what_it_is_given() -> None:
    event = alert_event(
        source="icinga", kind=EventKind.ALERT_FIRING, time=at("18:00:00"), key="k", text="t", alertname="Disk",
        labels={"host": "db1", "alertstate": "firing"}, host="db1", service="Disk", state="CRITICAL",
        url="https://runbook.example/disk", raw="[1676397600] SERVICE ALERT: db1;Disk;CRITICAL",
    )  # fmt: skip
    assert (event.url, event.raw) == ("https://runbook.example/disk", "[1676397600] SERVICE ALERT: db1;Disk;CRITICAL")
    assert event.data["labels"] == {"alertname": "Disk", "host": "db1"}  # identity labels, the name added
    assert (event.data["host"], event.data["service"], event.data["state"]) == ("db1", "Disk", "CRITICAL")
    bare = alert_event(source="irc", kind=EventKind.ALERT_FIRING, time=at("18:00:00"), key="k", text="t",
                       alertname="A", labels={"alertname": "B"})  # fmt: skip
    assert (bare.raw, bare.data["labels"]) == ("", {"alertname": "B"})
    assert "host" not in bare.data and "state" not in bare.data


@pytest.mark.parametrize(
    ("host", "service", "expected"),
    [
        ("mw1017", None, ("Host down", {"alertname": "Host down", "host": "mw1017"})),
        ("db1", "MariaDB Replica Lag", ("MariaDB Replica Lag", {"alertname": "MariaDB Replica Lag", "host": "db1", "service": "MariaDB Replica Lag"})),
    ],
)
def test_icinga_identity(host: str, service: str | None, expected: tuple[str, dict[str, str]]) -> None:
    assert icinga_identity(host, service) == expected


@pytest.mark.parametrize(
    ("state", "severity"),
    [("CRITICAL", "critical"), ("DOWN", "critical"), ("UNREACHABLE", "critical"), ("WARNING", "warning"),
     ("UNKNOWN", "unknown"), ("OK", None), ("UP", None), ("PENDING", None)],
)  # fmt: skip
def test_severity_of_icinga_states(state: str, severity: str | None) -> None:
    assert severity_of(state) == severity


def test_paging_patterns_match_in_full_and_literally_when_not_a_regex() -> None:
    assert pages({}, {"team": "|sre"})  # a pattern that allows empty matches an absent label
    assert not pages({"severity": "[y"}, {"severity": "[x"})  # not a regex, and not equal
    assert pages({"severity": "[x"}, {"severity": "[x"})


def test_split_links_keeps_the_first_plain_link_as_the_runbook() -> None:
    assert split_links("disk full https://wiki.example/a https://wiki.example/b") == (
        "disk full", "https://wiki.example/a", None,
    )  # fmt: skip
    assert split_links("slow https://grafana.example/d/1") == ("slow", None, "https://grafana.example/d/1")


def test_with_starts_keeps_a_start_the_resolve_already_knows() -> None:
    def alert(kind: EventKind, hms: str, started: str | None = None) -> Event:
        return alert_event(source="irc", kind=kind, time=at(hms), key=f"irc:{hms}", text="X", alertname="X",
                           started=at(started) if started else None)  # fmt: skip

    linked = with_starts([alert(EventKind.ALERT_FIRING, "18:00:00"), alert(EventKind.ALERT_RESOLVED, "18:30:00", "17:50:00")])
    assert linked[1].started == at("17:50:00")
    assert with_starts([alert(EventKind.ALERT_FIRING, "18:00:00"), alert(EventKind.ALERT_RESOLVED, "18:30:00")])[1].started == at("18:00:00")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2023-02-14 9:05 UTC", at("09:05:00")),
        ("2023-02-14T9:05Z", at("09:05:00")),
        ("2023-02-14 18:00:30Z", at("18:00:30")),
        ("2023-02-14 18:00 +02:00", at("16:00:00")),
        ("2023-02-14", at("00:00:00")),
    ],
)
def test_iso_times_never_go_through_the_slow_human_parser(monkeypatch: pytest.MonkeyPatch, text: str, expected: datetime) -> None:
    import dateparser

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"dateparser called for {args[0]!r}")

    monkeypatch.setattr(dateparser, "parse", refuse)
    assert parse_when(text, now=NOW) == expected


def test_parse_when_errors_name_the_option_and_say_what_it_reads() -> None:
    with pytest.raises(InputError, match=r"^time is empty$") as empty:
        parse_when("  ", now=NOW)
    assert empty.value.hint == "give a time such as 2016-09-15T19:10Z or '2 hours ago'"
    with pytest.raises(InputError, match=r"^cannot read time 'hier 18:00' as a time$") as foreign:
        parse_when("hier 18:00", now=NOW)  # French for "yesterday": English only
    assert foreign.value.hint == (
        "use ISO 8601 (2016-09-15T19:10Z) or a phrase like 'yesterday 18:00' or '2 hours ago'; naive times are UTC"
    )


def test_events_and_windows_refuse_times_that_are_not_utc() -> None:
    berlin = datetime(2023, 2, 14, 19, tzinfo=timezone(timedelta(hours=1)))
    with pytest.raises(ValueError, match=r"^Event\.time must be aware UTC, got "):
        Event(time=berlin, source="sal", kind=EventKind.LOG, key="k", text="t")
    with pytest.raises(ValueError, match=r"^Event\.started must be aware UTC$"):
        Event(time=at("18:00:00"), source="sal", kind=EventKind.LOG, key="k", text="t", started=datetime(2023, 2, 14))
    with pytest.raises(ValueError, match=r"^Window\.end must be aware UTC, got "):
        Window(at("18:00:00"), berlin)
    with pytest.raises(InputError, match=r"^the window ends \(2023-02-14T18:00:00Z\) before it starts \(2023-02-14T18:00:00Z\)$") as empty:
        Window(at("18:00:00"), at("18:00:00"))
    assert empty.value.hint == "the end must be later than the start"


def test_window_days_include_a_day_touched_by_a_microsecond() -> None:
    window = Window(at("18:00:00"), datetime(2023, 2, 15, 0, 0, 0, 1, tzinfo=UTC))
    assert window.days() == [date(2023, 2, 14), date(2023, 2, 15)]
    assert Window(at("18:00:00"), datetime(2023, 2, 15, tzinfo=UTC)).days() == [date(2023, 2, 14)]


def test_a_row_from_an_event_keeps_its_link() -> None:
    event = Event(time=at("18:00:00"), source="phabricator", kind=EventKind.TASK_CREATED, key="k", text="T1 created",
                  url="https://phab.example/T1", tasks=("T1",), actor="cwhite", data={"a": 1})  # fmt: skip
    row = row_from_event(event)
    assert (row.url, row.tasks, row.actor, row.events, row.data, row.source) == (
        "https://phab.example/T1", ("T1",), "cwhite", ("k",), {"a": 1}, "phabricator",
    )  # fmt: skip


def test_the_last_edges_of_the_model() -> None:
    with pytest.raises(InputError, match=r"^--task 'x1' is not a Phabricator task id$") as bad_task:
        parse_task("x1", what="--task")
    assert bad_task.value.hint == "give a task as T123"
    event = Event(time=at("18:00:00"), source="sal", kind=EventKind.LOG, key="k", text="t", raw="18:00 t")
    assert event.to_dict()["raw"] == "18:00 t"
    with pytest.raises(InputError) as empty:
        parse_window("2023-02-14 18:00", "2023-02-14 18:00", now=NOW)
    assert empty.value.hint == "--to must be later than --from"
    with pytest.raises(InputError, match=r"^the window spans 14\.2 days"):  # 14.150012 days: the divisor matters
        parse_window("2023-02-01 00:00", "2023-02-15 03:36:01", now=NOW)
    assert parse_business_hours("Sun 22-6").contains(datetime(2023, 2, 13, 5, tzinfo=UTC))  # Monday 05:00 ends Sunday's shift
    with pytest.raises(ValueError, match=r"^Actionable times must be aware UTC, got "):
        Actionable(incident="i", title="t", created_at=datetime(2023, 2, 14))


def test_mentioned_tasks_are_the_visible_rows_tasks_beyond_the_incidents_own_in_first_mention_order() -> None:
    from incidentkit.model.incident import Incident
    from incidentkit.model.row import Row

    def row(key: str, tasks: tuple[str, ...], hidden: bool = False) -> Row:
        return Row(key=key, time=at("10:00"), text="x", source="sal", kind=EventKind.LOG, tasks=tasks, hidden=hidden)

    rows = (row("a", ("T3", "T1")), row("b", ("T9",), hidden=True), row("c", ("T2", "T3", "T4")))
    window = Window(at("09:00"), at("12:00"))
    incident = Incident(slug="s", title="t", window=window, generated_at=at("13:00"), tasks=("T1",), rows=rows)
    assert incident.mentioned_tasks == ("T3", "T2", "T4")
