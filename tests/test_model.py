"""The model layer on its own: times and durations, task ids, windows, slugs, events, follow-ups."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from incidentkit.errors import InputError
from incidentkit.model.event import Event, EventKind
from incidentkit.model.incident import slugify
from incidentkit.model.row import Row
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
