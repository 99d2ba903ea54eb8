"""Log-file sources parsed as their lines are read (``events``): the same events, in the same order
and with the same counts as the whole-file parse, in memory that does not grow with the log."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incidentkit.config import Settings
from incidentkit.model.source import Export, LineExport, LineFile, Query
from incidentkit.model.window import Window
from incidentkit.services.pulls import collect, load_pull, stream_collect, stream_pull
from incidentkit.sources.icinga import parse_icinga, stream_icinga
from incidentkit.sources.irc import parse_irc, stream_irc

from .helpers import json_lines, run

FIXTURES = Path(__file__).parent / "fixtures"
EXAMPLE = Path(__file__).parents[1] / "data" / "examples" / "backport-crash"
WIDE = Query(Window(datetime(2023, 2, 13, tzinfo=UTC), datetime(2023, 2, 17, tzinfo=UTC)))
START = datetime(2023, 2, 14, 18, tzinfo=UTC)


def texts(folder: Path) -> tuple[tuple[str, str], ...]:
    return tuple((p.name, p.read_text(encoding="utf-8")) for p in sorted(folder.iterdir()))


def as_lines(source: str, files: tuple[tuple[str, str], ...], meta: dict | None = None) -> LineExport:
    return LineExport(source, tuple(LineFile(name, text.splitlines) for name, text in files), meta or {})


def same(listed, streamed) -> None:
    """The stream gives the list parse's events in its (time, key) order, and the same counts."""
    events = list(streamed.events)
    assert events == sorted(listed.events, key=lambda e: (e.time, e.key))
    summary, expected = streamed.tally.summary(), listed.summary()
    assert (summary.events, summary.lines_read, summary.skipped_where) == (
        expected.events,
        expected.lines_read,
        expected.skipped_where,
    )
    assert set(expected.notes) <= set(summary.notes)


@pytest.mark.parametrize(
    ("source", "parse", "stream"), [("icinga", parse_icinga, stream_icinga), ("irc", parse_irc, stream_irc)]
)
@pytest.mark.parametrize("query", [WIDE, Query(Window(START, START + timedelta(hours=1)))])
def test_the_stream_gives_the_list_parse_on_the_fixtures(source, parse, stream, query) -> None:
    files = texts(FIXTURES / source)
    meta = {"skipped_files": ["old.log.gz"]}
    same(parse(Export(source, files, meta), query), stream(as_lines(source, files, meta), query))


# --- a generated Icinga log: every line type, alerts amended by late notifications ---

HOSTS = ("mw1", "mw2", "db1")
SERVICES = (None, "HTTP", "Disk space")
STATES = ("OK", "WARNING", "CRITICAL", "UNKNOWN")


def icinga_line(rng: random.Random, epoch: int) -> str:
    host, service = rng.choice(HOSTS), rng.choice(SERVICES)
    state = rng.choice(("UP", "DOWN")) if service is None else rng.choice(STATES)
    target = host if service is None else f"{host};{service}"
    kind = "HOST" if service is None else "SERVICE"
    contact = rng.choice(("sms-pager", "irc", "mail"))
    body = rng.choice(
        (
            f"{kind} ALERT: {target};{state};{rng.choice(('HARD', 'HARD', 'SOFT'))};3;output {state} x;y",
            f"{kind} NOTIFICATION: {contact};{target};{state};notify-by-{contact};output {state}",
            f"{kind} NOTIFICATION: {contact};{target};ACKNOWLEDGEMENT ({state});notify;out;jane;looking T123",
            f"CURRENT {kind} STATE: {target};{state};HARD;1;carried",
            f"{kind} FLAPPING ALERT: {target};{rng.choice(('STARTED', 'STOPPED', 'ODD'))}; flap",
            f"{kind} ALERT: {target};NOTASTATE;HARD;1;bad",
            "EXTERNAL COMMAND: SCHEDULE_FORCED_SVC_CHECK;mw1;HTTP",
        )
    )
    return f"[{epoch}] {body}" if rng.random() > 0.03 else f"garbage {body}"


@given(
    seed=st.integers(0, 2**32),
    files=st.integers(1, 3),
    lines=st.integers(0, 120),
    shuffled=st.booleans(),
)
@settings(max_examples=120, deadline=None)
def test_the_stream_gives_the_list_parse_on_a_generated_icinga_log(seed, files, lines, shuffled) -> None:
    rng = random.Random(seed)
    epoch = int(START.timestamp()) - 600
    logs: list[list[str]] = [[] for _ in range(files)]
    for _ in range(lines):
        epoch += rng.choice((0, 0, 1, 5, 40, 200, 300, 400))  # same seconds, and gaps around the 5-minute recovery grace
        logs[rng.randrange(files)].append(icinga_line(rng, epoch))
    if shuffled:
        rng.shuffle(logs[0])
    named = tuple((f"icinga-{n}.log", "\n".join(log) + "\n") for n, log in enumerate(logs))
    query = Query(Window(START, START + timedelta(minutes=rng.choice((10, 60, 600)))))
    same(parse_icinga(Export("icinga", named), query), stream_icinga(as_lines("icinga", named), query))


IRC_LINES = (
    "[{t}] <icinga-wm> PROBLEM - HTTP on mw{n}.eqiad.wmnet is CRITICAL: down",
    "[{t}] <icinga-wm> RECOVERY - HTTP on mw{n}.eqiad.wmnet is OK: up",
    "[{t}] <jinxer-wm> FIRING: [2x] ProbeDown{n}: probes down - https://alerts.wikimedia.org/?q=a",
    "[{t}] <jinxer-wm> RESOLVED: ProbeDown{n}: probes down - https://alerts.wikimedia.org/?q=a",
    "[{t}] <jinxer-wm> something else {n}",
    "[{t}] <alice> looking at mw{n} T12{n}",
    "* {t} bob waves",
    "--- Day changed Wed Feb 15 2023",
    "[{t}] <icinga-wm> PROBLEM - HTTP on mw{n}.eqiad.wmnet is CRITICAL: down",
)


@given(seed=st.integers(0, 2**32), files=st.integers(1, 3), lines=st.integers(0, 80))
@settings(max_examples=120, deadline=None)
def test_the_stream_gives_the_list_parse_on_a_generated_irc_log(seed, files, lines) -> None:
    rng = random.Random(seed)
    logs: list[list[str]] = [[] for _ in range(files)]
    clock = START - timedelta(minutes=30)
    for _ in range(lines):
        clock += timedelta(seconds=rng.choice((0, 0, 1, 30, 900, -120)))  # some lines step back in time
        line = rng.choice(IRC_LINES).format(t=clock.strftime("%H:%M:%S"), n=rng.randrange(3))
        logs[rng.randrange(files)].append(line)
    named = tuple((f"2023021{4 + n}.txt", "\n".join(log)) for n, log in enumerate(logs))
    query = Query(Window(START, START + timedelta(hours=rng.choice((1, 30)))))
    same(parse_irc(Export("irc", named), query), stream_irc(as_lines("irc", named), query))


# --- what the stream holds ---


def test_events_are_released_long_before_the_log_ends() -> None:
    """Memory does not follow the log: the first events come out while most of a 20,000-line log
    is unread, though one alert stays open all along and is paged at its very end."""
    base = int(START.timestamp())
    read = [0]

    def lines() -> Iterator[str]:
        yield f"[{base}] HOST ALERT: db1;DOWN;HARD;3;down"
        for n in range(1, 20_000):
            read[0] += 1
            state = "CRITICAL" if n % 2 else "OK"
            yield f"[{base + n}] SERVICE ALERT: mw{n // 2 % 50};HTTP;{state};HARD;3;HTTP {state}"
        yield f"[{base + 20_000}] HOST NOTIFICATION: sre-pager;db1;DOWN;notify-by-sms;down"

    export = LineExport("icinga", (LineFile("icinga.log", lines),))
    streamed = stream_icinga(export, Query(Window(START, START + timedelta(days=1))))
    read[0] = 0  # the setup read the file (order check, final counts)
    first = next(streamed.events)
    assert (first.data["host"], first.data["notifications"], first.data["paged"]) == ("db1", 1, True)
    assert read[0] < 50
    assert sum(1 for _ in streamed.events) + 1 == 20_000 == streamed.tally.events


def test_a_recovery_notification_up_to_five_minutes_late_still_counts() -> None:
    base = int(START.timestamp())
    log = (
        f"[{base}] SERVICE ALERT: mw1;HTTP;CRITICAL;HARD;3;down\n"
        f"[{base + 60}] SERVICE ALERT: mw1;HTTP;OK;HARD;3;up\n"
        f"[{base + 360}] SERVICE NOTIFICATION: sms-pager;mw1;HTTP;OK;notify-by-sms;up\n"  # 300 s after the recovery
        f"[{base + 361}] SERVICE ALERT: mw2;HTTP;CRITICAL;HARD;3;down\n"
    )
    events = list(stream_icinga(as_lines("icinga", (("icinga.log", log),)), WIDE).events)
    assert [(e.data["host"], e.kind.value, e.data["notifications"]) for e in events] == [
        ("mw1", "alert-firing", 0),
        ("mw1", "alert-resolved", 1),
        ("mw2", "alert-firing", 0),
    ]


def test_a_file_out_of_time_order_is_sorted_and_said() -> None:
    files = (("a.log", "[1676397600] SERVICE ALERT: mw1;HTTP;CRITICAL;HARD;3;down\n[1676397000] SERVICE ALERT: mw2;HTTP;CRITICAL;HARD;3;down\n"),)
    streamed = stream_icinga(as_lines("icinga", files), WIDE)
    assert [e.data["host"] for e in streamed.events] == ["mw2", "mw1"]
    assert streamed.tally.summary().notes == ("Icinga log files not in time order, sorted in memory: a.log",)


# --- the pull layer and the command ---


def test_stream_collect_merges_every_source_as_collect_does(tmp_path: Path) -> None:
    inputs = {"icinga": FIXTURES / "icinga", "irc": FIXTURES / "irc", "sal": EXAMPLE / "sal"}
    now = datetime(2024, 1, 1, tzinfo=UTC)
    listed = collect(WIDE, Settings(), inputs=inputs, now=now)
    streamed = stream_collect(WIDE, Settings(), inputs=inputs)
    assert list(streamed.events) == listed.events and len(listed.events) > 40
    assert {s.source for s in streamed.summaries()} == {"icinga", "irc", "sal"}
    assert [s.events for s in streamed.summaries()] == [s.events for s in listed.summaries()]


def test_escaped_lone_surrogates_are_replaced_and_counted_as_collect_does(tmp_path: Path) -> None:
    log = tmp_path / "icinga.log"  # starts with "[": read as JSON-like, its escapes rewritten
    log.write_text("[1676397600] SERVICE ALERT: mw1;HTTP;CRITICAL;HARD;3;bad \\ud800 text\n", encoding="utf-8")
    listed = collect(WIDE, Settings(), inputs={"icinga": log}, now=START)
    streamed = stream_collect(WIDE, Settings(), inputs={"icinga": log})
    events = list(streamed.events)
    assert events == listed.events and "\\ufffd" in events[0].text
    assert streamed.summaries() == listed.summaries()
    assert streamed.summaries()[0].skipped_where == ("icinga answers (1 lone surrogate (invalid Unicode) replaced with U+FFFD)",)


def test_stream_pull_replays_as_load_pull() -> None:
    assert list(stream_pull(EXAMPLE).events) == load_pull(EXAMPLE).events


@pytest.mark.parametrize("fmt", ["json", "csv", "markdown", "table"])
def test_events_lists_what_the_whole_parse_lists_in_every_format(fmt: str) -> None:
    args = ["events", "--from", "2023-02-13", "--to", "2023-02-17", "--format", fmt]
    args += ["--input", f"icinga={FIXTURES / 'icinga'}", "--input", f"irc={FIXTURES / 'irc'}"]
    result = run(*args)
    assert result.exit_code == 0, result.stderr
    listed = collect(WIDE, Settings(), inputs={"icinga": FIXTURES / "icinga", "irc": FIXTURES / "irc"}, now=START)
    if fmt == "json":
        assert json_lines(result.stdout) == [json.loads(json.dumps(e.to_dict(), default=str)) for e in listed.events]
    else:
        assert result.stdout.count("\n") >= len(listed.events)
    # the counts follow the rows, exact: 5 malformed Icinga lines, 3 unreadable IRC lines
    assert "icinga: 18 events from 42 lines, 5 lines skipped" in result.stderr
    assert "irc: 13 events from 59 lines, 3 lines skipped" in result.stderr


def test_a_file_that_is_not_text_fails_before_any_row(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "a.log").write_text("[1676397600] SERVICE ALERT: mw1;HTTP;CRITICAL;HARD;3;down\n")
    (logs / "b.log").write_bytes(b"[1676397601] \xff\xfe not text\n")
    result = run("events", "--from", "2023-02-13", "--to", "2023-02-17", "--input", f"icinga={logs}", "--format", "json")
    assert result.exit_code != 0 and result.stdout == ""
    assert "not UTF-8 text" in result.stderr
