"""The irc source: icinga-wm and jinxer-wm lines in every historic format, under common log prefixes."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incidentkit.config import LogFileSettings, Settings
from incidentkit.errors import SourceError
from incidentkit.model.event import ALERT_KINDS, EventKind
from incidentkit.model.source import Export, LineExport, LineFile, Query
from incidentkit.model.window import Window
from incidentkit.sources.exports import load_export
from incidentkit.sources.icinga import parse_icinga
from incidentkit.sources.irc import SPEC, BotMessage, IrcSource, parse_bot_message, parse_irc, stream_irc
from incidentkit.timeline.alerts import alert_rows, detect

FIXTURES = Path(__file__).parent / "fixtures" / "irc"
FIRING, RESOLVED, NOTE = EventKind.ALERT_FIRING, EventKind.ALERT_RESOLVED, EventKind.ALERT_NOTE


def window(start: str, end: str) -> Window:
    return Window(datetime.fromisoformat(start).replace(tzinfo=UTC), datetime.fromisoformat(end).replace(tzinfo=UTC))


def parse(name: str, start: str, end: str):
    return parse_irc(Export("irc", ((name, (FIXTURES / name).read_text()),)), Query(window(start, end)))


def alerts(result):
    return [e for e in result.events if e.kind in ALERT_KINDS]


def summary(result) -> list[tuple[str, EventKind, str, int, bool]]:
    return [
        (e.time.strftime("%Y-%m-%d %H:%M:%S"), e.kind, e.data["alertname"], e.data["count"], e.data["paged"])
        for e in alerts(result)
    ]


@pytest.mark.parametrize(
    ("message", "kind", "alertname", "fields"),
    [
        (  # icinga-wm, 2016 (real line from T141520)
            "PROBLEM - MediaWiki exceptions and fatals per minute on graphite1001 is CRITICAL: CRITICAL: 20.00% of data above the critical threshold [50.0]",
            FIRING,
            "MediaWiki exceptions and fatals per minute",
            {"host": "graphite1001", "state": "CRITICAL", "summary": "CRITICAL: 20.00% of data above the critical threshold [50.0]"},
        ),
        (  # " on " inside the service name
            "RECOVERY - High average POST latency for mw requests on api_appserver in eqiad on icinga1001 is OK: All metrics within thresholds.",
            RESOLVED,
            "High average POST latency for mw requests on api_appserver in eqiad",
            {"host": "icinga1001", "state": "OK"},
        ),
        ("PROBLEM - Host mw1017 is DOWN: PING CRITICAL - Packet loss = 100%", FIRING, "Host down", {"host": "mw1017", "state": "DOWN"}),
        ("ACKNOWLEDGEMENT - Host mw1017 is DOWN: PING CRITICAL - Packet loss = 100% Giuseppe reimaging", NOTE, "Host down", {"note": "acknowledgement"}),
        ("FLAPPINGSTART - Apache HTTP on mw1290 is CRITICAL: CRITICAL - Socket timeout", NOTE, "Apache HTTP", {"note": "flapping-start"}),
        ("DOWNTIMESTART - MariaDB Replica Lag: s1 on db1173 is OK: OK", NOTE, "MariaDB Replica Lag: s1", {"note": "downtime-start"}),
        ("CUSTOM - Host cp3051 is UP: PING OK volans testing the pager", NOTE, "Host down", {"note": "custom"}),
        (  # jinxer-wm 2020 format
            "(ProbeDown) firing: (2) Service text-https:443 has failed probes (http_text-https_ip4) #page",
            FIRING,
            "ProbeDown",
            {"count": 2, "paged": True, "summary": "Service text-https:443 has failed probes (http_text-https_ip4)", "format": "jinxer-2020"},
        ),
        (  # 2020 with the alerts link appended
            "(KubernetesAPILatency) resolved: High Kubernetes API latency on k8s@eqiad - https://alerts.wikimedia.org",
            RESOLVED,
            "KubernetesAPILatency",
            {"count": 1, "summary": "High Kubernetes API latency on k8s@eqiad", "url": "https://alerts.wikimedia.org", "format": "jinxer-2020"},
        ),
        (  # 2021-2024 format
            "(PHPFPMTooBusy) firing: (2) Not enough idle workers - https://bit.ly/wmf-fpmsat - https://grafana.wikimedia.org/d/RIA1lzDZk - https://alerts.wikimedia.org/?q=alertname%3DPHPFPMTooBusy",
            FIRING,
            "PHPFPMTooBusy",
            {"count": 2, "runbook": "https://bit.ly/wmf-fpmsat", "dashboard": "https://grafana.wikimedia.org/d/RIA1lzDZk", "format": "jinxer-2021"},
        ),
        (  # 2024+ format, missing runbook leaves a double space
            "FIRING: [2x] ProbeDown: Service foo:443 has failed probes -  - https://alerts.wikimedia.org/?q=alertname%3DProbeDown",
            FIRING,
            "ProbeDown",
            {"count": 2, "summary": "Service foo:443 has failed probes", "runbook": None, "format": "jinxer-2024"},
        ),
        ("RESOLVED: ErrorBudgetBurn: mediawiki - api-appserver-latency - https://wikitech.wikimedia.org/wiki/Monitoring/ErrorBudgetBurn", RESOLVED, "ErrorBudgetBurn", {"summary": "mediawiki - api-appserver-latency"}),
        ("ALERT: (PHPFPMTooBusy) firing: Not enough idle workers", FIRING, "PHPFPMTooBusy", {"summary": "Not enough idle workers"}),
        ("Alert HostDown on mw2259:9100 is firing", FIRING, "HostDown", {"instance": "mw2259:9100", "format": "relay-default"}),
        ("Alert ProbeDown for probes/service is resolved", RESOLVED, "ProbeDown", {"format": "relay-default"}),
    ],
)
def test_every_bot_format(message: str, kind: EventKind, alertname: str, fields: dict[str, object]) -> None:
    bot = "icinga-wm" if message.split()[0].isupper() and " - " in message[:20] else "jinxer-wm"
    parsed = parse_bot_message(bot, message)
    assert parsed is not None
    assert parsed.kind is kind and parsed.alertname == alertname
    values = {**parsed.fields, **parsed.fields.get("extra", {})}
    for name, value in fields.items():
        assert values.get(name) == value, name


@pytest.mark.parametrize(
    ("bot", "message"),
    [
        ("icinga-wm", "PROBLEM - MediaWiki exceptions and fatals per minute on icinga1001"),  # truncated
        ("icinga-wm", "WHATEVER - x on y is CRITICAL: z"),
        ("jinxer-wm", "firing: something the bot never says"),
        ("jinxer-wm", "FIRING ProbeDown Service without colons"),
    ],
)
def test_unknown_bot_lines_do_not_parse(bot: str, message: str) -> None:
    assert parse_bot_message(bot, message) is None


def test_wm_bot_log_dated_by_its_file_name() -> None:
    result = parse("20160728.txt", "2016-07-28 12:00", "2016-07-28 14:00")
    assert summary(result) == [
        ("2016-07-28 12:46:28", FIRING, "MediaWiki exceptions and fatals per minute", 1, False),
        ("2016-07-28 12:47:10", FIRING, "Host down", 1, False),
        ("2016-07-28 12:47:31", FIRING, "High average POST latency for mw requests on api_appserver in eqiad", 1, False),
        ("2016-07-28 12:48:05", NOTE, "Host down", 1, False),
        ("2016-07-28 12:48:40", NOTE, "Apache HTTP", 1, False),  # nick "icinga-wm_" is still the bot
        ("2016-07-28 12:50:18", RESOLVED, "MediaWiki exceptions and fatals per minute", 1, False),
        ("2016-07-28 12:51:00", RESOLVED, "High average POST latency for mw requests on api_appserver in eqiad", 1, False),
        ("2016-07-28 12:55:30", RESOLVED, "Host down", 1, False),
    ]
    assert [(p.where, p.reason) for p in result.problems] == [("20160728.txt:7", "icinga-wm line in no known format")]
    assert result.lines_read == 12
    ack = next(e for e in alerts(result) if e.kind is NOTE)
    assert ack.tasks == ("T141520",) and ack.actor == "icinga-wm"
    resolved = [e for e in alerts(result) if e.kind is RESOLVED]
    assert [e.started.strftime("%H:%M:%S") for e in resolved] == ["12:46:28", "12:47:31", "12:47:10"]


def test_irssi_log_with_day_changes_and_2020_jinxer_lines() -> None:
    result = parse("wikimedia-operations.irssi.log", "2020-10-05 09:00", "2020-10-06 01:00")
    assert summary(result) == [
        ("2020-10-05 09:14:00", FIRING, "ProbeDown", 2, True),
        ("2020-10-05 09:15:00", FIRING, "KubernetesAPILatency", 1, False),
        ("2020-10-05 09:21:00", RESOLVED, "ProbeDown", 2, True),
        ("2020-10-05 23:58:00", RESOLVED, "KubernetesAPILatency", 1, False),
        ("2020-10-06 00:03:00", FIRING, "ProbeDown", 1, True),
        ("2020-10-06 00:09:00", RESOLVED, "ProbeDown", 1, True),
    ]
    assert not result.problems
    rows = alert_rows(result.events)
    assert rows[0].text == "ProbeDown firing (2 instances), paged: Service text-https:443 has failed probes (http_text-https_ip4)"
    assert rows[3].text == "KubernetesAPILatency resolved after 14 h 43 min"


def test_full_date_prefix_2021_format_and_split_lines() -> None:
    result = parse("#wikimedia-operations.2023-02-14.log", "2023-02-14 18:00", "2023-02-14 19:45")
    names = [(e.time.strftime("%H:%M:%S"), e.kind, e.data["alertname"]) for e in alerts(result)]
    assert names[:3] == [
        ("18:34:55", FIRING, "MediaWiki exceptions and fatals per minute for appserver"),
        ("18:35:20", FIRING, "Check systemd state"),  # its 450-character continuation is not a problem
        ("18:36:30", FIRING, "PHPFPMTooBusy"),
    ]
    assert ("18:38:12", FIRING, "MediaWikiLatencyExceeded") in names  # "ALERT: (X) firing: ..."
    assert [(p.where, p.reason) for p in result.problems] == [
        ("#wikimedia-operations.2023-02-14.log:10", "jinxer-wm line in no known format")
    ]
    first = alerts(result)[0]
    assert first.data["runbook"] == "https://wikitech.wikimedia.org/wiki/Application_servers"
    assert first.data["dashboard"].startswith("https://grafana.wikimedia.org/d/000000438/")
    detection = detect(result.events, window("2023-02-14 18:00", "2023-02-14 19:45"))
    assert detection.first_alert == "PROBLEM - MediaWiki exceptions and fatals per minute for appserver on alert1001 is CRITICAL: 2.651e+04 gt 100"
    assert detection.first_page_time == datetime(2023, 2, 14, 18, 36, 30, tzinfo=UTC)
    assert detection.notifications == 10


def test_weechat_log_with_2024_format() -> None:
    result = parse("irc.libera.#wikimedia-operations.weechatlog", "2024-06-12 14:00", "2024-06-12 15:00")
    assert summary(result) == [
        ("2024-06-12 14:05:01", FIRING, "ProbeDown", 2, False),
        ("2024-06-12 14:05:40", FIRING, "SystemdUnitFailed", 1, False),
        ("2024-06-12 14:06:12", FIRING, "ErrorBudgetBurn", 1, False),
        ("2024-06-12 14:07:00", FIRING, "DatasourceError", 1, False),
        ("2024-06-12 14:07:30", FIRING, "PuppetFailure", 3, True),
        ("2024-06-12 14:08:00", FIRING, "HostDown", 1, False),
        ("2024-06-12 14:15:01", RESOLVED, "ProbeDown", 2, False),
        ("2024-06-12 14:20:00", RESOLVED, "HostDown", 1, False),
        ("2024-06-12 14:22:10", RESOLVED, "PuppetFailure", 3, True),
    ]
    assert [p.reason for p in result.problems] == ["jinxer-wm line in no known format"]
    datasource = next(e for e in alerts(result) if e.data["alertname"] == "DatasourceError")
    assert datasource.data["runbook"] == "https://wikitech.wikimedia.org/wiki/Monitoring/DatasourceError"


def test_hexchat_log_takes_the_year_from_its_logging_line() -> None:
    result = parse("hexchat-wikimedia-sre.log", "2024-06-12 14:00", "2024-06-12 15:00")
    assert summary(result) == [
        ("2024-06-12 14:10:44", FIRING, "BGP status", 1, False),
        ("2024-06-12 14:11:02", FIRING, "BFDdown", 2, True),
        ("2024-06-12 14:31:50", RESOLVED, "BGP status", 1, False),
    ]


def test_undated_log_uses_a_single_day_window_and_says_so() -> None:
    result = parse("pasted-from-sal.txt", "2018-02-28 19:00", "2018-02-28 20:00")
    assert [e.time.strftime("%Y-%m-%d %H:%M") for e in result.events] == ["2018-02-28 19:18", "2018-02-28 19:24"]
    assert result.notes == ("IRC log pasted-from-sal.txt carries no date; its times were read as 2018-02-28 (the window's day)",)
    several_days = parse("pasted-from-sal.txt", "2018-02-27 19:00", "2018-02-28 20:00")
    assert several_days.events == ()
    assert [p.reason for p in several_days.problems] == [
        "no date for this time-only line (name the file YYYYMMDD.txt or add a date line)"
    ] * 2  # only the two bot lines; chat is not a problem


def test_midnight_without_a_date_line_moves_to_the_next_day() -> None:
    text = (
        "[23:58:00] <icinga-wm> PROBLEM - Apache HTTP on mw1290 is CRITICAL: timeout\n"
        "[00:03:00] <icinga-wm> RECOVERY - Apache HTTP on mw1290 is OK: fine\n"
    )
    result = parse_irc(Export("irc", (("20230214.txt", text),)), Query(window("2023-02-14 23:00", "2023-02-15 01:00")))
    assert [e.time for e in result.events] == [
        datetime(2023, 2, 14, 23, 58, tzinfo=UTC),
        datetime(2023, 2, 15, 0, 3, tzinfo=UTC),
    ]
    assert [r.text for r in alert_rows(result.events)][-1] == "Apache HTTP resolved after 5 min"


def test_recovery_inside_the_window_knows_its_problem_before_it() -> None:
    result = parse("20160728.txt", "2016-07-28 12:50:00", "2016-07-28 14:00")
    kinds = [(e.kind, e.data["alertname"]) for e in alerts(result)]
    assert (FIRING, "Host down") not in kinds
    host = next(e for e in result.events if e.kind is RESOLVED and e.data["alertname"] == "Host down")
    assert host.started == datetime(2016, 7, 28, 12, 47, 10, tzinfo=UTC)
    assert len(result.problems) == 1  # bad lines are reported from the day before the window on
    later = parse("20160728.txt", "2016-07-30 12:00", "2016-07-30 14:00")
    assert later.events == () and later.problems == ()  # a log of other days is not this window's problem


def test_bundled_example_irc_export() -> None:
    root = Path(__file__).resolve().parent.parent / "data" / "examples" / "backport-crash"
    export = load_export("irc", root / "irc")
    assert export.files[0][0] == "#wikimedia-operations.2023-02-14.log"
    result = parse_irc(export, Query(window("2023-02-14 18:00", "2023-02-14 19:45")))
    assert not result.problems
    assert alerts(result)[0].text.startswith("PROBLEM - MediaWiki exceptions and fatals per minute for appserver on alert1001")
    paging = [e for e in alerts(result) if e.data["paged"]]
    assert paging[0].time == datetime(2023, 2, 14, 18, 37, 43, tzinfo=UTC)


def test_pull_reads_the_days_of_the_window_from_a_folder(tmp_path: Path) -> None:
    channel = tmp_path / "#wikimedia-operations"
    channel.mkdir()
    for day in ("20160727", "20160728", "20160729", "20160801"):
        (channel / f"{day}.txt").write_text((FIXTURES / "20160728.txt").read_text())
    (channel / "20160727.txt.gz").write_bytes(b"\x1f\x8b")
    (channel / "20150101.txt.gz").write_bytes(b"\x1f\x8b")
    pulled = IrcSource(LogFileSettings(path=str(tmp_path))).pull(Query(window("2016-07-28 12:00", "2016-07-28 14:00")))
    assert [name for name, _ in pulled.files] == [
        "#wikimedia-operations/20160727.txt",
        "#wikimedia-operations/20160728.txt",
        "#wikimedia-operations/20160729.txt",
    ]
    assert pulled.meta["skipped_files"] == ["#wikimedia-operations/20160727.txt.gz"]
    result = parse_irc(pulled, Query(window("2016-07-28 12:00", "2016-07-28 14:00")))
    assert len(alerts(result)) == 8  # only the file for the 28th has times inside the window
    with pytest.raises(SourceError, match="holds no log"):
        IrcSource(LogFileSettings(path=str(tmp_path))).pull(Query(window("2019-01-01 00:00", "2019-01-01 01:00")))
    with pytest.raises(SourceError, match="no path"):
        IrcSource(LogFileSettings()).pull(Query(window("2019-01-01 00:00", "2019-01-01 01:00")))


def test_check_counts_the_log_files(tmp_path: Path) -> None:
    assert IrcSource(LogFileSettings(path=str(FIXTURES))).check() == f"6 log file(s) under {FIXTURES}"
    with pytest.raises(SourceError, match="does not exist"):
        IrcSource(LogFileSettings(path=str(tmp_path / "nope"))).check()
    with pytest.raises(SourceError, match="holds no files"):
        IrcSource(LogFileSettings(path=str(tmp_path))).check()


def test_help_lists_the_formats() -> None:
    for word in ("icinga-wm", "jinxer-wm", "2020", "2021-2024", "2024+", "[irc] path"):
        assert word in SPEC.help


PREFIXES = [
    "[12:46:28] <icinga-wm> {msg}",  # wm-bot, ZNC
    "[12:46] <icinga-wm> {msg}",
    "12:46:28 <+icinga-wm> {msg}",
    "12:46 <@icinga-wm> {msg}",  # irssi
    "12:46 icinga-wm: {msg}",  # pasted from the SAL
    "2016-07-28 12:46:28 <+icinga-wm> {msg}",
    "[2016-07-28 12:46:28] <icinga-wm> {msg}",
    "2016-07-28T12:46:28Z <icinga-wm> {msg}",
    "2016-07-28T12:46:28.123+00:00 < icinga-wm> {msg}",
    "2016-07-28 12:46:28\t+icinga-wm\t{msg}",  # WeeChat
    "Jul 28 12:46:28 <icinga-wm>\t{msg}",  # HexChat
]


@pytest.mark.parametrize("template", PREFIXES)
def test_every_line_prefix(template: str) -> None:
    message = "PROBLEM - Apache HTTP on mw1290 is CRITICAL: CRITICAL - Socket timeout after 10 seconds"
    text = "<volans> chat first\n" + template.format(msg=message) + "\n"
    result = parse_irc(Export("irc", (("20160728.txt", text),)), Query(window("2016-07-28 12:00", "2016-07-28 13:00")))
    assert not result.problems
    assert len(result.events) == 1
    event = result.events[0]
    assert event.time.strftime("%Y-%m-%d %H:%M") == "2016-07-28 12:46"
    assert event.data["alertname"] == "Apache HTTP" and event.text == message


BOT_LINES = st.sampled_from(
    [
        "18:34:55 <+icinga-wm> PROBLEM - ",
        "18:34:55 <+icinga-wm> RECOVERY - Host ",
        "18:34:55 <+jinxer-wm> (",
        "18:34:55 <+jinxer-wm> FIRING: [",
        "2023-02-14 18:34:55\t+jinxer-wm\tRESOLVED: ",
        "--- Day changed ",
        "[1676399695] SERVICE ALERT: ",
        "[1676399695] HOST NOTIFICATION: ",
        "[1676399695] SERVICE NOTIFICATION: ",
    ]
)


@given(st.lists(st.tuples(BOT_LINES, st.text(alphabet=";:-()[]x #OKCRITICALHARDUPDOWN12", max_size=50)), max_size=15))
@settings(max_examples=300, deadline=None)
def test_log_parsers_never_crash_on_noise(lines: list[tuple[str, str]]) -> None:
    text = "\n".join(prefix + rest for prefix, rest in lines)
    query = Query(window("2023-02-14 18:00", "2023-02-14 19:00"))
    for parse, name in ((parse_irc, "irc"), (parse_icinga, "icinga")):
        result = parse(Export(name, (("20230214.log", text),)), query)
        assert result.lines_read == sum(1 for prefix, rest in lines if (prefix + rest).strip())
        assert len(result.events) + len(result.problems) <= result.lines_read
        assert all(query.window.start <= e.time < query.window.end for e in result.events)
        alert_rows(list(result.events))


# Well-formed lines, written from what each one means (so the expected events come from the
# strategy, not from the parser): (message, kind, alertname) per bot format.
NAMES = st.sampled_from(["PHPFPMTooBusy", "ProbeDown", "MariaDB_replica_lag"])
HOSTS = st.sampled_from(["mw1290", "db1100", "cp3050"])
SERVICES = st.sampled_from(["Apache HTTP", "MariaDB Replica Lag: s1", "HTTPS on port 443"])
WORDS = st.text(alphabet="abcdefghij XYZ.,%=", min_size=1, max_size=40).map(str.strip).filter(bool)
ICINGA_SERVICE = st.builds(
    lambda up, service, host, output: (
        f"{'RECOVERY' if up else 'PROBLEM'} - {service} on {host} is {'OK' if up else 'CRITICAL'}: {output}",
        RESOLVED if up else FIRING,
        service,
    ),
    st.booleans(), SERVICES, HOSTS, WORDS,
)  # fmt: skip
ICINGA_HOST = st.builds(
    lambda up, host: (f"{'RECOVERY' if up else 'PROBLEM'} - Host {host} is {'UP' if up else 'DOWN'}: PING OK", RESOLVED if up else FIRING, "Host down"),
    st.booleans(), HOSTS,
)  # fmt: skip
JINXER_2024 = st.builds(
    lambda up, n, name, summary: (
        f"{'RESOLVED' if up else 'FIRING'}: [{n}x] {name}: {summary} - https://wikitech.wikimedia.org/wiki/{name} "
        f"- https://alerts.wikimedia.org/?q=alertname%3D{name}",
        RESOLVED if up else FIRING,
        name,
    ),
    st.booleans(), st.integers(1, 9), NAMES, WORDS,
)  # fmt: skip
JINXER_2020 = st.builds(
    lambda up, name, summary: (f"({name}) {'resolved' if up else 'firing'}: (2) {summary}", RESOLVED if up else FIRING, name),
    st.booleans(), NAMES, WORDS,
)  # fmt: skip
RELAY = st.builds(
    lambda up, name, host: (f"Alert {name} on {host} is {'resolved' if up else 'firing'}", RESOLVED if up else FIRING, name),
    st.booleans(), NAMES, HOSTS,
)  # fmt: skip
ALERT_MESSAGES = {"icinga-wm": st.one_of(ICINGA_SERVICE, ICINGA_HOST), "jinxer-wm": st.one_of(JINXER_2024, JINXER_2020, RELAY)}
# Line prefixes for a time, a nick and a message (the file's name gives the date: 2023-02-14).
LAYOUTS = st.sampled_from(
    [
        "{t} <+{nick}> {msg}",
        "[{t}] <{nick}> {msg}",
        "2023-02-14 {t} <@{nick}> {msg}",
        "[2023-02-14T{t}Z] <{nick}> {msg}",
        "2023-02-14 {t}\t{nick}\t{msg}",
    ]
)


@st.composite
def irc_logs(draw: st.DrawFn) -> tuple[list[str], list[tuple[datetime, EventKind, str]], int, list[tuple[datetime, str]]]:
    """A day's log: alert lines (expected events), unreadable bot lines, people, joins; times ascending."""
    seconds = sorted(draw(st.lists(st.integers(0, 3599), min_size=1, max_size=25)))
    lines: list[str] = []
    alerts: list[tuple[datetime, EventKind, str]] = []
    chat: list[tuple[datetime, str]] = []
    unreadable = 0
    for second in seconds:
        when = datetime(2023, 2, 14, 18, second // 60, second % 60, tzinfo=UTC)
        layout, clock = draw(LAYOUTS), when.strftime("%H:%M:%S")
        kind = draw(st.sampled_from(["alert", "alert", "unreadable", "person", "join"]))
        if kind == "alert":
            bot = draw(st.sampled_from(sorted(ALERT_MESSAGES)))
            message, event_kind, alertname = draw(ALERT_MESSAGES[bot])
            lines.append(layout.format(t=clock, nick=bot, msg=message))
            alerts.append((when, event_kind, alertname))
        elif kind == "unreadable":  # a bot saying something in no known format
            lines.append(layout.format(t=clock, nick=draw(st.sampled_from(sorted(ALERT_MESSAGES))), msg="hello " + draw(WORDS)))
            unreadable += 1
        elif kind == "person":
            said = draw(WORDS)
            lines.append(layout.format(t=clock, nick=draw(st.sampled_from(["volans", "cdanis", "Krinkle"])), msg=said))
            chat.append((when, said))
        else:
            lines.append(f"{clock} -!- jdoe [~jdoe@host] has joined #wikimedia-operations")
    return lines, alerts, unreadable, chat


@given(irc_logs())
@settings(max_examples=300, deadline=None)
def test_well_formed_lines_give_one_event_each_and_noise_one_problem(
    log: tuple[list[str], list[tuple[datetime, EventKind, str]], int, list[tuple[datetime, str]]],
) -> None:
    lines, expected_alerts, unreadable, expected_chat = log
    query = Query(window("2023-02-14 18:00", "2023-02-14 19:00"))
    result = parse_irc(Export("irc", (("20230214.log", "\n".join(lines) + "\n"),)), query)
    assert result.lines_read == len(lines)
    assert sorted((e.time, e.kind, e.data["alertname"]) for e in alerts(result)) == sorted(expected_alerts)
    assert sorted((e.time, e.text) for e in result.events if e.kind is EventKind.CHAT) == sorted(expected_chat)
    assert [p.reason.endswith("line in no known format") for p in result.problems] == [True] * unreadable
    assert not result.notes
    rows = alert_rows([e for e in result.events if e.kind in ALERT_KINDS])
    assert {r.data["alertname"] for r in rows} == {alertname for _, _, alertname in expected_alerts}


def test_pull_save_covers_the_alert_log_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from incidentkit.cli import app

    monkeypatch.setenv("INCIDENTKIT_NOW", "2023-02-15T09:00:00Z")
    fixtures = FIXTURES.parent
    args = [
        "--from", "2023-02-14 18:00", "--to", "2023-02-14 19:45",
        "--input", f"irc={FIXTURES / '#wikimedia-operations.2023-02-14.log'}",
        "--input", f"icinga={fixtures / 'icinga'}",
        "--input", f"alertmanager={fixtures / 'alertmanager' / 'webhook-payloads.jsonl'}",
    ]  # fmt: skip
    runner = CliRunner()
    saved = tmp_path / "pull"
    pulled = runner.invoke(app, ["pull", "--save", str(saved), "--title", "Backport crash", *args])
    assert pulled.exit_code == 0, pulled.output
    assert {p.name for p in saved.iterdir()} >= {"irc", "icinga", "alertmanager", "pull.json"}
    direct = runner.invoke(app, ["draft", "--title", "Backport crash", "--no-store", *args])
    replayed = runner.invoke(app, ["draft", "--replay", str(saved), "--no-store"])
    assert direct.exit_code == 0 and replayed.exit_code == 0, replayed.output
    assert replayed.stdout == direct.stdout
    assert "FrontendUnavailable firing (2 instances: eqiad, esams), paged" in direct.stdout


def streamed(files: tuple[tuple[str, str], ...], query: Query):
    """The streaming parse of *files*, read to its end: (events, tally)."""
    stream = stream_irc(LineExport("irc", tuple(LineFile(name, text.splitlines) for name, text in files)), query)
    return list(stream.events), stream.tally


def test_the_registered_factory_reads_the_configured_path() -> None:
    source = SPEC.factory(Settings(irc=LogFileSettings(path=str(FIXTURES))))
    assert source.check() == f"6 log file(s) under {FIXTURES}"


@pytest.mark.parametrize(
    ("last", "then", "next_day"),
    [
        ("12:00:00", "10:59:59", True),  # back by more than an hour: midnight passed
        ("12:00:00", "11:00:00", False),  # back by exactly an hour: the same day
        ("12:00:01", "11:30:00", False),
        ("12:00:30", "11:00:29", True),
    ],
)
def test_a_time_more_than_an_hour_back_is_the_next_day(last: str, then: str, next_day: bool) -> None:
    text = (
        f"[{last}] <icinga-wm> PROBLEM - Apache HTTP on mw1290 is CRITICAL: timeout\n"
        f"[{then}] <icinga-wm> RECOVERY - Apache HTTP on mw1290 is OK: fine\n"
    )
    result = parse_irc(Export("irc", (("20230214.txt", text),)), Query(window("2023-02-14 00:00", "2023-02-16 00:00")))
    day = 15 if next_day else 14
    assert [e.time for e in result.events if e.kind is RESOLVED] == [
        datetime.fromisoformat(f"2023-02-{day} {then}").replace(tzinfo=UTC)
    ]


def test_bad_bot_lines_are_reported_from_the_day_before_the_window_to_its_end() -> None:
    text = "".join(
        f"{stamp} <icinga-wm> WHATEVER - x\n"
        for stamp in ("2023-02-13 17:59:59", "2023-02-13 18:00:00", "2023-02-14 18:59:59", "2023-02-14 19:00:00")
    )
    result = parse_irc(Export("irc", (("ops.log", text),)), Query(window("2023-02-14 18:00", "2023-02-14 19:00")))
    assert [p.where for p in result.problems] == ["ops.log:2", "ops.log:3"]


def test_jinxer_links_keep_their_order_and_plain_http() -> None:
    message = (
        "(MemcachedDown) firing: memcached is down - http://wikitech.wikimedia.org/wiki/Memcached"
        " - https://example.org/b - https://example.org/c"
    )
    parsed = parse_bot_message("jinxer-wm", message)
    assert parsed is not None
    assert (parsed.fields["summary"], parsed.fields["runbook"], parsed.fields["dashboard"], parsed.fields["url"]) == (
        "memcached is down",
        "http://wikitech.wikimedia.org/wiki/Memcached",
        None,
        None,
    )


def test_the_stream_sorts_each_second_by_key_and_says_which_files_were_out_of_order() -> None:
    one = "2023-02-14 18:05:00 <icinga-wm> PROBLEM - Apache HTTP on mw1 is CRITICAL: down"
    two = "2023-02-14 18:05:00 <icinga-wm> PROBLEM - Apache HTTP on mw2 is CRITICAL: down"
    early = "2023-02-14 18:01:00 <icinga-wm> PROBLEM - Apache HTTP on mw3 is CRITICAL: down"
    query = Query(window("2023-02-14 18:00", "2023-02-14 19:00"))
    for ordered in ((one, two), (two, one)):
        events, tally = streamed((("a.log", "\n".join(ordered)),), query)
        assert [e.key for e in events] == sorted(e.key for e in events) and len(events) == 2
        assert tally.notes == []  # two lines of one second are in time order
    events, tally = streamed((("a.log", f"{one}\n{early}"), ("b.log", f"{one}\n{two}"), ("c.log", f"{two}\n{early}")), query)
    assert [e.time.minute for e in events] == [1, 1, 5, 5, 5, 5]
    assert tally.notes == ["IRC log files not in time order, sorted in memory: a.log, c.log"]


def test_an_undated_file_out_of_order_in_a_one_day_window_is_sorted() -> None:
    text = "\ufeff[18:10:00] <icinga-wm> PROBLEM - Apache HTTP on mw1 is CRITICAL: down\n\n[18:05:00] <volans> is it down?\n"
    events, tally = streamed((("pasted.txt", text),), Query(window("2023-02-14 18:00", "2023-02-14 19:00")))
    assert [e.time.strftime("%Y-%m-%d %H:%M") for e in events] == ["2023-02-14 18:05", "2023-02-14 18:10"]
    assert tally.notes == [
        "IRC log pasted.txt carries no date; its times were read as 2023-02-14 (the window's day)",
        "IRC log files not in time order, sorted in memory: pasted.txt",
    ]


def test_hexchat_lines_with_no_year_take_the_window_start_s() -> None:
    text = "Dec 31 23:50:00 <icinga-wm>\tPROBLEM - Apache HTTP on mw1 is CRITICAL: down\n"
    query = Query(window("2023-12-30 00:00", "2024-01-02 00:00"))
    events, tally = streamed((("hexchat.log", text),), query)
    assert [e.time for e in events] == [datetime(2023, 12, 31, 23, 50, tzinfo=UTC)] and not tally.problems


def icinga_fields(host: str, service: str | None, state: str, severity: str | None, summary: str, **changes: object) -> dict:
    fields = {"instance": host, "host": host, "service": service, "state": state, "severity": severity, "summary": summary,
              "runbook": None, "dashboard": None, "paged": False, "note": None, "extra": {"format": "icinga-wm"}}  # fmt: skip
    return fields | changes


@pytest.mark.parametrize(
    ("bot", "message", "expected"),
    [
        (
            "icinga-wm",
            "PROBLEM - MediaWiki exceptions on graphite1001 is CRITICAL: CRITICAL: 20% of data above [50.0]"
            " https://wikitech.wikimedia.org/wiki/X https://grafana.wikimedia.org/d/1",
            BotMessage(
                EventKind.ALERT_FIRING,
                "MediaWiki exceptions",
                {"alertname": "MediaWiki exceptions", "host": "graphite1001", "service": "MediaWiki exceptions"},
                icinga_fields("graphite1001", "MediaWiki exceptions", "CRITICAL", "critical", "CRITICAL: 20% of data above [50.0]",
                              runbook="https://wikitech.wikimedia.org/wiki/X", dashboard="https://grafana.wikimedia.org/d/1"),
            ),
        ),
        (
            "icinga-wm",
            "PROBLEM - Host mw1017 is DOWN: PING CRITICAL - Packet loss = 100% #page",
            BotMessage(EventKind.ALERT_FIRING, "Host down", {"alertname": "Host down", "host": "mw1017"},
                       icinga_fields("mw1017", None, "DOWN", "critical", "DOWN: PING CRITICAL - Packet loss = 100% #page", paged=True)),
        ),
        (
            "icinga-wm",
            "RECOVERY - Host mw1017 is UP: PING OK - Packet loss = 0%",
            BotMessage(EventKind.ALERT_RESOLVED, "Host down", {"alertname": "Host down", "host": "mw1017"},
                       icinga_fields("mw1017", None, "UP", None, "UP: PING OK - Packet loss = 0%")),
        ),
        (
            "nagios-wm",
            "STALKING - Apache HTTP on mw1290 is WARNING: slow",
            BotMessage(EventKind.ALERT_NOTE, "Apache HTTP", {"alertname": "Apache HTTP", "host": "mw1290", "service": "Apache HTTP"},
                       icinga_fields("mw1290", "Apache HTTP", "WARNING", "warning", "WARNING: slow", note="stalking")),
        ),
        (
            "icinga-wm",
            "ACKNOWLEDGEMENT - Apache HTTP on mw1290 is PENDING: pending",
            BotMessage(EventKind.ALERT_NOTE, "Apache HTTP", {"alertname": "Apache HTTP", "host": "mw1290", "service": "Apache HTTP"},
                       icinga_fields("mw1290", "Apache HTTP", "PENDING", None, "PENDING: pending", note="acknowledgement")),
        ),
        (
            "jinxer-wm",
            "(ProbeDown) firing: (2) Service text-https:443 has failed probes #page - https://alerts.wikimedia.org",
            BotMessage(EventKind.ALERT_FIRING, "ProbeDown", {"alertname": "ProbeDown"},
                       {"count": 2, "summary": "Service text-https:443 has failed probes", "runbook": None, "dashboard": None,
                        "url": "https://alerts.wikimedia.org", "paged": True, "extra": {"format": "jinxer-2020"}}),
        ),
        (
            "jinxer-wm",
            "(PHPFPMTooBusy) resolved: Not enough idle workers - https://bit.ly/wmf-fpmsat - https://grafana.wikimedia.org/d/RIA1lzDZk"
            " - https://alerts.wikimedia.org/?q=alertname%3DPHPFPMTooBusy",
            BotMessage(EventKind.ALERT_RESOLVED, "PHPFPMTooBusy", {"alertname": "PHPFPMTooBusy"},
                       {"count": 1, "summary": "Not enough idle workers", "runbook": "https://bit.ly/wmf-fpmsat",
                        "dashboard": "https://grafana.wikimedia.org/d/RIA1lzDZk",
                        "url": "https://alerts.wikimedia.org/?q=alertname%3DPHPFPMTooBusy", "paged": False, "extra": {"format": "jinxer-2021"}}),
        ),
        (
            "jinxer-wm",
            "(Lag) firing: lag - https://example.org/dash/d/1 - https://alerts.wikimedia.org",  # a dashboard by its /d/ path
            BotMessage(EventKind.ALERT_FIRING, "Lag", {"alertname": "Lag"},
                       {"count": 1, "summary": "lag", "runbook": None, "dashboard": "https://example.org/dash/d/1",
                        "url": "https://alerts.wikimedia.org", "paged": False, "extra": {"format": "jinxer-2021"}}),
        ),
        (
            "jinxer-wm",
            "(Lag) resolved: lag - https://alerts.wikimedia.org/?q=alertname%3DLag",  # only the 2021 alerts link
            BotMessage(EventKind.ALERT_RESOLVED, "Lag", {"alertname": "Lag"},
                       {"count": 1, "summary": "lag", "runbook": None, "dashboard": None,
                        "url": "https://alerts.wikimedia.org/?q=alertname%3DLag", "paged": False, "extra": {"format": "jinxer-2021"}}),
        ),
        (
            "jinxer-wm",
            "ALERT: FIRING: [3x] PuppetFailure: Puppet has failed on 3 hosts - https://wikitech.wikimedia.org/wiki/Puppet - https://karma.example/x",
            BotMessage(EventKind.ALERT_FIRING, "PuppetFailure", {"alertname": "PuppetFailure"},
                       {"count": 3, "summary": "Puppet has failed on 3 hosts", "runbook": "https://wikitech.wikimedia.org/wiki/Puppet",
                        "dashboard": None, "url": "https://karma.example/x", "paged": False, "extra": {"format": "jinxer-2024"}}),
        ),
        (
            "jinxer-wm",
            "RESOLVED: HostDown: mw1 is down",
            BotMessage(EventKind.ALERT_RESOLVED, "HostDown", {"alertname": "HostDown"},
                       {"count": 1, "summary": "mw1 is down", "runbook": None, "dashboard": None, "url": None, "paged": False,
                        "extra": {"format": "jinxer-2024"}}),
        ),
        (
            "jinxer-wm",
            "Alert HostDown on mw2259:9100 is firing",
            BotMessage(EventKind.ALERT_FIRING, "HostDown", {"alertname": "HostDown", "instance": "mw2259:9100"},
                       {"instance": "mw2259:9100", "paged": False, "extra": {"format": "relay-default"}}),
        ),
        (
            "jinxer-wm",
            "Alert ProbeDown for probes/service is resolved",
            BotMessage(EventKind.ALERT_RESOLVED, "ProbeDown", {"alertname": "ProbeDown", "job": "probes/service"},
                       {"instance": None, "paged": False, "extra": {"format": "relay-default"}}),
        ),
    ],
)  # fmt: skip
def test_every_field_of_a_bot_message(bot: str, message: str, expected: BotMessage) -> None:
    assert parse_bot_message(bot, f"  {message} ") == expected


@pytest.mark.parametrize(
    ("bot", "message"),
    [
        ("icinga-wm", "PROBLEM - x on y is BOGUS: z"),
        ("icinga-wm", "UNKNOWNTYPE - Host mw1 is DOWN: z"),
        ("icinga-wm", "(ProbeDown) firing: (2) down"),  # a jinxer-wm format from icinga-wm
        ("jinxer-wm", "Alert HostDown on mw1 is burning"),
    ],
)
def test_lines_a_bot_never_says_do_not_parse(bot: str, message: str) -> None:
    assert parse_bot_message(bot, message) is None


MESSAGE = "PROBLEM - Apache HTTP on mw1 is CRITICAL: down T123"
TWO_DAYS = Query(window("2023-02-14 00:00", "2023-02-16 00:00"))


@pytest.mark.parametrize(
    "date_line",
    [
        "--- Day changed Wed Feb 15 2023",  # irssi
        "--- Log opened Wed Feb 15 18:00:00 2023",
        "**** BEGIN LOGGING AT Wed Feb 15 18:00:00 2023",  # HexChat
        "Session Start: Wed Feb 15 18:00:00 2023",  # mIRC
        "2023-02-15",
        "== 2023-02-15 ==",
    ],
)
def test_every_date_line_dates_the_time_only_lines_after_it(date_line: str) -> None:
    result = parse_irc(Export("irc", (("ops.log", f"{date_line}\n[18:05:00] <icinga-wm> {MESSAGE}\n"),)), TWO_DAYS)
    assert [e.time for e in result.events] == [datetime(2023, 2, 15, 18, 5, tzinfo=UTC)] and not result.problems


@pytest.mark.parametrize("date_line", ["--- Day changed Thu Feb 30 2023", "2023-02-30", "--- Day changed sometime"])
def test_an_impossible_date_line_dates_nothing(date_line: str) -> None:
    result = parse_irc(Export("irc", (("ops.log", f"{date_line}\n[18:05:00] <icinga-wm> {MESSAGE}\n"),)), TWO_DAYS)
    assert result.events == ()
    assert [(p.where, p.reason) for p in result.problems] == [
        ("ops.log:2", "no date for this time-only line (name the file YYYYMMDD.txt or add a date line)")
    ]


def test_impossible_times_and_dates_are_problems() -> None:
    lines = [f"[24:00:00] <icinga-wm> {MESSAGE}", f"Feb 30 12:00:00 <icinga-wm>\t{MESSAGE}", f"2023-02-30 12:00:00 <icinga-wm> {MESSAGE}"]
    result = parse_irc(Export("irc", (("20230214.txt", "\n".join(lines)),)), TWO_DAYS)
    assert [(p.where, p.reason, p.text) for p in result.problems] == [
        ("20230214.txt:1", "bad time of day", lines[0]),
        ("20230214.txt:2", "bad date", lines[1]),
    ]  # the third is no message line at all
    assert result.lines_read == 3


def test_an_alert_event_carries_its_line() -> None:
    line = f"2023-02-14 18:05:00 <+icinga-wm_>  {MESSAGE}"
    (event,) = parse_irc(Export("irc", (("ops.log", line),)), TWO_DAYS).events
    digest = hashlib.sha1(f" {MESSAGE}".encode()).hexdigest()[:12]  # the message as said, before it is trimmed
    assert event.key == f"irc:icinga-wm:{int(datetime(2023, 2, 14, 18, 5, tzinfo=UTC).timestamp())}:{digest}"
    assert (event.text, event.actor, event.raw, event.tasks, event.source) == (MESSAGE, "icinga-wm", line.strip(), ("T123",), "irc")
    assert event.data["notifications"] == 1 and event.data["count"] == 1
    assert event.data["labels"] == {"alertname": "Apache HTTP", "host": "mw1", "service": "Apache HTTP"}


@pytest.mark.parametrize(("length", "problem"), [(399, True), (400, False)])
def test_only_the_continuation_of_a_long_bot_line_is_no_problem(length: int, problem: bool) -> None:
    first = MESSAGE + " " + "x" * (length - len(MESSAGE) - 1)
    text = f"2023-02-14 18:05:00 <icinga-wm> {first}\n2023-02-14 18:05:00 <icinga-wm> xxxxxxxx (the rest)\n"
    result = parse_irc(Export("irc", (("ops.log", text),)), TWO_DAYS)
    assert [p.where for p in result.problems] == (["ops.log:2"] if problem else [])


def test_a_continuation_needs_the_same_bot() -> None:
    first = MESSAGE + " " + "x" * 400
    text = f"2023-02-14 18:05:00 <icinga-wm> {first}\n2023-02-14 18:05:01 <jinxer-wm> xxxxxxxx\n2023-02-14 18:05:02 <jinxer-wm> yyyy\n"
    result = parse_irc(Export("irc", (("ops.log", text),)), TWO_DAYS)
    assert [(p.where, p.reason) for p in result.problems] == [
        ("ops.log:2", "jinxer-wm line in no known format"),
        ("ops.log:3", "jinxer-wm line in no known format"),  # a short bad line is not split either
    ]


def test_notes_name_the_compressed_files_once() -> None:
    files = (("a.log", f"2023-02-14 18:05:00 <icinga-wm> {MESSAGE}\n"),)
    meta = {"skipped_files": ["a.log.gz", "b.log.gz"]}
    note = "IRC log files not read (compressed): a.log.gz, b.log.gz"
    assert parse_irc(Export("irc", files, meta), TWO_DAYS).notes == (note,)
    stream = stream_irc(LineExport("irc", tuple(LineFile(n, t.splitlines) for n, t in files), meta), TWO_DAYS)
    assert len(list(stream.events)) == 1 and stream.tally.notes == [note]
    undated = (("x.txt", f"[18:05:00] <icinga-wm> {MESSAGE}\n"), ("y.txt", f"[18:06:00] <icinga-wm> {MESSAGE}\n"))
    one_day = parse_irc(Export("irc", undated), Query(window("2023-02-14 18:00", "2023-02-14 19:00")))
    assert one_day.notes == (
        "IRC log x.txt carries no date; its times were read as 2023-02-14 (the window's day)",
        "IRC log y.txt carries no date; its times were read as 2023-02-14 (the window's day)",
    )


def test_a_bot_nick_with_two_modes_is_still_the_bot() -> None:
    result = parse_irc(Export("irc", (("ops.log", f"2023-02-14 18:05:00 <@+icinga-wm> {MESSAGE}\n"),)), TWO_DAYS)
    assert [(e.kind, e.actor) for e in result.events] == [(FIRING, "icinga-wm")]


def test_a_line_that_says_nothing_does_not_count_for_the_time_order() -> None:
    text = "X[18:10:00] <volans> not a message line\n[18:05:00] <volans> hi\n[18:06:00] <volans> there\n"
    events, tally = streamed((("20230214.txt", text),), TWO_DAYS)
    assert [e.text for e in events] == ["hi", "there"] and tally.notes == []


def test_hexchat_takes_the_year_of_the_last_date_line_before_the_window_s() -> None:
    text = "**** BEGIN LOGGING AT Sun Jan 01 00:00:00 2023\nJan 01 00:10:00 <icinga-wm>\tPROBLEM - Apache HTTP on mw1 is CRITICAL: down\n"
    result = parse_irc(Export("irc", (("hexchat.log", text),)), Query(window("2022-12-31 12:00", "2023-01-02 00:00")))
    assert [e.time for e in result.events] == [datetime(2023, 1, 1, 0, 10, tzinfo=UTC)]


def test_the_list_parse_gives_alerts_and_chat_in_time_order() -> None:
    text = f"2023-02-14 18:05:00 <volans> is it down?\n2023-02-14 18:06:00 <icinga-wm> {MESSAGE}\n2023-02-14 18:07:00 <volans> yes\n"
    result = parse_irc(Export("irc", (("ops.log", text),)), TWO_DAYS)
    assert [(e.time.minute, e.kind) for e in result.events] == [(5, EventKind.CHAT), (6, FIRING), (7, EventKind.CHAT)]


def test_nicks_that_only_look_like_a_bot_and_bot_actions_are_no_alerts() -> None:
    lines = [
        f"2023-02-14 18:05:00 <Xicinga-wm> {MESSAGE}",
        f"2023-02-14 18:05:01 <icinga-wmX> {MESSAGE}",
        f"2023-02-14 18:05:02 * icinga-wm {MESSAGE}",
    ]
    result = parse_irc(Export("irc", (("ops.log", "\n".join(lines)),)), TWO_DAYS)
    assert [e.kind for e in result.events if e.kind is not EventKind.CHAT] == [] and not result.problems


def test_a_long_unknown_bot_line_and_its_continuation_are_one_problem() -> None:
    long_line = "2023-02-14 18:05:00 <jinxer-wm> firing: something the bot never says " + "x" * 400
    text = f"{long_line}\n2023-02-14 18:05:00 <jinxer-wm> xxxxxxxx (the rest)\n"
    result = parse_irc(Export("irc", (("ops.log", text),)), TWO_DAYS)
    assert [(p.where, p.reason, p.text) for p in result.problems] == [
        ("ops.log:1", "jinxer-wm line in no known format", long_line[:200])
    ]


def test_problems_quote_the_first_200_characters_of_their_line() -> None:
    undated = f"[18:05:00] <icinga-wm> {MESSAGE} " + "x" * 300
    result = parse_irc(Export("irc", (("ops.log", undated),)), TWO_DAYS)
    assert [(p.where, p.reason, p.text) for p in result.problems] == [
        ("ops.log:1", "no date for this time-only line (name the file YYYYMMDD.txt or add a date line)", undated[:200])
    ]
