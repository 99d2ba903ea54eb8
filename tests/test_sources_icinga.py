"""The icinga source: the Icinga 1.x main log (realistic fixture covering every line type)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from incidentkit.config import LogFileSettings, Settings
from incidentkit.errors import SourceError
from incidentkit.model.alert import plugin_summary, split_links
from incidentkit.model.event import EventKind
from incidentkit.model.source import Export, LineExport, LineFile, Query
from incidentkit.model.window import Window
from incidentkit.sources.icinga import SPEC, IcingaSource, parse_icinga, stream_icinga
from incidentkit.timeline.alerts import alert_rows, detect

FIXTURES = Path(__file__).parent / "fixtures" / "icinga"
WINDOW = Window(datetime(2023, 2, 14, 18, 0, tzinfo=UTC), datetime(2023, 2, 14, 19, 45, tzinfo=UTC))
QUERY = Query(WINDOW)


def at(hms: str) -> datetime:
    return datetime.fromisoformat(f"2023-02-14 {hms}").replace(tzinfo=UTC)


@pytest.fixture
def result():  # per test: mutation testing maps each test to the code it runs
    files = tuple((p.name, p.read_text()) for p in sorted(FIXTURES.iterdir()))
    return parse_icinga(Export("icinga", files), QUERY)


def test_every_line_type(result) -> None:
    kinds = [(e.time.strftime("%H:%M:%S"), e.kind, e.data["alertname"]) for e in result.events]
    assert kinds == [
        ("18:10:51", EventKind.ALERT_RESOLVED, "Disk space"),  # open since the rotation (CURRENT STATE)
        ("18:34:55", EventKind.ALERT_FIRING, "MediaWiki exceptions and fatals per minute for appserver"),  # SOFT skipped
        ("18:36:50", EventKind.ALERT_FIRING, "Host down"),
        ("18:37:02", EventKind.ALERT_FIRING, "Varnish HTTP text-frontend - port 3120"),
        ("18:38:30", EventKind.ALERT_NOTE, "Varnish HTTP text-frontend - port 3120"),
        ("18:39:10", EventKind.ALERT_NOTE, "Varnish HTTP text-frontend - port 3120"),
        ("18:47:12", EventKind.ALERT_RESOLVED, "Host down"),
        ("18:49:55", EventKind.ALERT_RESOLVED, "MediaWiki exceptions and fatals per minute for appserver"),
        ("18:52:30", EventKind.ALERT_NOTE, "Varnish HTTP text-frontend - port 3120"),
        ("18:53:04", EventKind.ALERT_RESOLVED, "Varnish HTTP text-frontend - port 3120"),
        ("18:54:00", EventKind.ALERT_NOTE, "Varnish HTTP text-frontend - port 3120"),  # FLAPPINGSTOP notification
        ("18:55:00", EventKind.ALERT_RESOLVED, "MariaDB Replica Lag: s1"),  # fired in the previous archive
        ("18:56:00", EventKind.ALERT_RESOLVED, "Host down"),  # down since the INITIAL HOST STATE
        ("19:00:00", EventKind.ALERT_NOTE, "Host down"),  # DOWNTIMESTART notification
        ("19:30:00", EventKind.ALERT_NOTE, "MariaDB Replica Lag: s1"),
    ]
    assert result.lines_read == 42


def test_malformed_lines_are_problems(result) -> None:
    assert sorted((p.where, p.reason) for p in result.problems) == [
        ("icinga-02-15-2023-00.log:23", "expected 6 ';'-separated fields, found 5"),
        ("icinga-02-15-2023-00.log:24", "unknown state 'NOTOK'"),
        ("icinga-02-15-2023-00.log:25", "empty host name"),
        ("icinga-02-15-2023-00.log:26", "expected 6 ';'-separated fields, found 2"),
        ("icinga-02-15-2023-00.log:27", "not an Icinga log line ([epoch] TEXT)"),
    ]


def test_fields_and_notifications(result) -> None:
    events = {(e.kind, e.data["alertname"]): e for e in result.events}
    mw = events[(EventKind.ALERT_FIRING, "MediaWiki exceptions and fatals per minute for appserver")]
    assert mw.data["labels"] == {
        "alertname": "MediaWiki exceptions and fatals per minute for appserver",
        "host": "alert1001",
        "service": "MediaWiki exceptions and fatals per minute for appserver",
    }
    assert mw.data["notifications"] == 1  # irc and email contacts at one instant: one notification
    assert mw.data["paged"] is False and mw.data["severity"] == "critical"
    host = events[(EventKind.ALERT_FIRING, "Host down")]
    assert host.data["paged"] is True  # notified the sms contact
    recovered = next(e for e in result.events if e.kind is EventKind.ALERT_RESOLVED and e.data["host"] == "mw1290")
    assert recovered.started == at("18:36:50") and recovered.data["notifications"] == 1
    varnish = events[(EventKind.ALERT_FIRING, "Varnish HTTP text-frontend - port 3120")]
    # output with ';' kept whole, long output after a literal \n dropped
    assert varnish.data["summary"] == (
        "CRITICAL: HTTP CRITICAL: HTTP/1.1 503 Backend fetch failed; x-cache: cp3050 int; 1021 bytes in 0.120 second response time"
    )
    disk = events[(EventKind.ALERT_RESOLVED, "Disk space")]
    assert disk.started is None  # it was already open at the log rotation
    lag = events[(EventKind.ALERT_RESOLVED, "MariaDB Replica Lag: s1")]
    assert lag.started == datetime(2023, 2, 13, 12, 0, tzinfo=UTC)  # archives are read in time order


def test_acknowledgement_flapping_and_downtime_notes(result) -> None:
    notes = [e for e in result.events if e.kind is EventKind.ALERT_NOTE]
    ack = notes[0]
    assert ack.data["note"] == "acknowledgement" and ack.actor == "vgutierrez" and ack.tasks == ("T329510",)
    assert ack.text == "Varnish HTTP text-frontend - port 3120 on cp3050 acknowledged by vgutierrez: investigating with the backport revert, T329510"
    assert [n.data["note"] for n in notes[1:]] == [
        "flapping-start",
        "flapping-stop",
        "flapping-stop",
        "downtime-start",
        "downtime-end",
    ]
    assert notes[4].text == "host mw1290 entered scheduled downtime"


def test_rows_and_detection(result) -> None:
    rows = alert_rows(result.events)
    assert [r.text for r in rows] == [
        "Disk space resolved on ms-be1040 (it started before the available history)",
        "MediaWiki exceptions and fatals per minute for appserver firing (alert1001): CRITICAL: 2.651e+04 gt 100",
        "Host down firing (mw1290), paged: DOWN: PING CRITICAL - Packet loss = 100%",
        "Varnish HTTP text-frontend - port 3120 firing (cp3050): CRITICAL: HTTP CRITICAL: HTTP/1.1 503 Backend fetch failed; x-cache: cp3050 int; 1021 bytes in 0.120 second response time (flapping)",
        "Varnish HTTP text-frontend - port 3120 on cp3050 acknowledged by vgutierrez: investigating with the backport revert, T329510",
        "Host down resolved after 10 min",
        "MediaWiki exceptions and fatals per minute for appserver resolved after 15 min",
        "Varnish HTTP text-frontend - port 3120 resolved after 16 min",
        "MariaDB Replica Lag: s1 resolved on db1173 after 30 h 55 min (firing since 2023-02-13 12:00 UTC)",
        "Host down resolved on cp3051 (it started before the available history)",
        "host mw1290 entered scheduled downtime",
        "MariaDB Replica Lag: s1 on db1173 left scheduled downtime: Service has exited from a period of scheduled downtime",
    ]
    detection = detect(result.events, WINDOW)
    assert detection.first_alert_time == at("18:34:55") and detection.first_alert_source == "icinga"
    assert detection.first_page_time == at("18:36:50")
    assert detection.notifications == 4


@pytest.mark.parametrize(
    ("state", "output", "summary"),
    [
        ("CRITICAL", "CRITICAL - degraded", "CRITICAL: degraded"),
        ("CRITICAL", "CRITICAL: 20% of data", "CRITICAL: 20% of data"),
        ("OK", "", "OK"),
        ("WARNING", "HTTP WARNING: slow", "WARNING: HTTP WARNING: slow"),
    ],
)
def test_plugin_summary(state: str, output: str, summary: str) -> None:
    assert plugin_summary(state, output) == summary


def test_split_links_takes_trailing_notes_urls() -> None:
    assert split_links("2.651e+04 gt 100 https://wikitech.wikimedia.org/wiki/X https://grafana.wikimedia.org/d/1") == (
        "2.651e+04 gt 100",
        "https://wikitech.wikimedia.org/wiki/X",
        "https://grafana.wikimedia.org/d/1",
    )


def test_pull_selects_archives_near_the_window(tmp_path: Path) -> None:
    for path in FIXTURES.iterdir():
        (tmp_path / path.name).write_text(path.read_text())
    (tmp_path / "icinga-06-01-2022-00.log").write_text("[1654041600] SERVICE ALERT: a;b;CRITICAL;HARD;3;x\n")
    pulled = IcingaSource(LogFileSettings(path=str(tmp_path))).pull(QUERY)
    assert [name for name, _ in pulled.files] == ["icinga-02-14-2023-00.log", "icinga-02-15-2023-00.log"]
    single = IcingaSource(LogFileSettings(path=str(tmp_path / "icinga-06-01-2022-00.log"))).pull(QUERY)
    assert len(single.files) == 1  # a file named explicitly is always read
    with pytest.raises(SourceError, match="no path"):
        IcingaSource(LogFileSettings()).pull(QUERY)


def test_check_counts_the_log_files() -> None:
    assert IcingaSource(LogFileSettings(path=str(FIXTURES))).check() == f"2 log file(s) under {FIXTURES}"
    with pytest.raises(SourceError, match="no path"):
        IcingaSource(LogFileSettings()).check()


def test_help_mentions_the_config_section() -> None:
    assert "[icinga] path" in SPEC.help


def test_the_registered_factory_reads_the_configured_path() -> None:
    source = SPEC.factory(Settings(icinga=LogFileSettings(path=str(FIXTURES))))
    assert source.check() == f"2 log file(s) under {FIXTURES}"


def ep(hms: str, day: int = 14) -> int:
    """The Unix time of *hms* on 2023-02-*day* (UTC), as Icinga writes it."""
    return int(datetime.fromisoformat(f"2023-02-{day:02d} {hms}").replace(tzinfo=UTC).timestamp())


def icinga_log(*lines: str, meta: dict | None = None) -> Export:
    return Export("icinga", (("icinga.log", "\n".join(lines) + "\n"),), meta or {})


def both(export: Export, query: Query = QUERY) -> list:
    """The events of the list parse, checked against the streaming parse of the same files."""
    listed = parse_icinga(export, query)
    lines = LineExport("icinga", tuple(LineFile(name, text.splitlines) for name, text in export.files), export.meta)
    streamed = stream_icinga(lines, query)
    assert list(streamed.events) == list(listed.events)
    assert streamed.tally.summary() == listed.summary()
    return list(listed.events)


def test_a_service_alert_with_its_notifications_and_recovery() -> None:
    lines = [
        f"[{ep('18:10:00')}] SERVICE NOTIFICATION: team-sre;db1001;Disk space;CRITICAL;notify-by-pagerduty;DISK CRITICAL: /srv: 2% free",
        f"[{ep('18:10:00')}] SERVICE NOTIFICATION: irc;db1001;Disk space;CRITICAL;notify-service-by-irc;DISK CRITICAL: /srv: 2% free",
        f"[{ep('18:10:00')}] SERVICE ALERT: db1001;Disk space;CRITICAL;HARD;3;DISK CRITICAL: /srv: 2% free"
        r" https://wikitech.wikimedia.org/wiki/Disk\nLong output: /srv",
        f"[{ep('18:15:00')}] SERVICE NOTIFICATION: irc;db1001;Disk space;CRITICAL;notify-service-by-irc;DISK CRITICAL: /srv: 2% free",
        f"[{ep('18:20:00')}] SERVICE NOTIFICATION: irc;db1001;Disk space;OK;notify-service-by-irc;DISK OK",
        f"[{ep('18:20:00')}] SERVICE NOTIFICATION: team-sre;db1001;Disk space;OK;notify-service-by-email;DISK OK",
        f"[{ep('18:20:00')}] SERVICE ALERT: db1001;Disk space;OK;HARD;3;DISK OK",
    ]
    firing, resolved = both(icinga_log(*lines))
    labels = {"alertname": "Disk space", "host": "db1001", "service": "Disk space"}
    assert (firing.kind, firing.time, firing.raw) == (EventKind.ALERT_FIRING, at("18:10:00"), lines[0])
    assert firing.key.startswith("icinga:Disk space:") and firing.key.endswith(f":{ep('18:10:00')}:firing")
    assert firing.text == "Disk space on db1001 is CRITICAL: DISK CRITICAL: /srv: 2% free"
    assert firing.data == {
        "alertname": "Disk space",
        "labels": labels,
        "instance": "db1001",
        "host": "db1001",
        "service": "Disk space",
        "severity": "critical",
        "state": "CRITICAL",
        "summary": "CRITICAL: DISK CRITICAL: /srv: 2% free",
        "paged": True,  # the pagerduty command, whatever the contact
        "count": 1,
        "notifications": 2,  # two contacts at 18:10 count once, the reminder at 18:15 once more
        "ongoing": False,
    }
    assert (resolved.kind, resolved.time, resolved.raw, resolved.started) == (EventKind.ALERT_RESOLVED, at("18:20:00"), lines[4], at("18:10:00"))
    assert resolved.key.startswith("icinga:Disk space:") and resolved.key.endswith(f":{ep('18:20:00')}:resolved")
    assert resolved.text == "Disk space on db1001 is OK: DISK OK"
    assert resolved.data["paged"] is True and resolved.data["notifications"] == 1  # two contacts, one instant
    assert (resolved.data["state"], resolved.data["summary"], "severity" in resolved.data) == ("OK", "OK: DISK OK", False)


def test_the_notes_and_links_of_a_host_alert() -> None:
    lines = [
        f"[{ep('18:05:00')}] HOST ALERT: mw1001;DOWN;HARD;3;PING CRITICAL - loss = 100%; RTA: 0 ms"
        " https://wikitech.wikimedia.org/wiki/Mw https://grafana.wikimedia.org/d/1",
        f"[{ep('18:06:00')}] HOST NOTIFICATION: sms-oncall;mw1001;DOWN;notify-host-by-email;PING CRITICAL - loss = 100%; RTA: 0 ms",
        f"[{ep('18:07:00')}] HOST ALERT: mw1001;UP;HARD;1;PING OK",
    ]
    firing, resolved = both(icinga_log(*lines))
    assert firing.text == "Host mw1001 is DOWN: PING CRITICAL - loss = 100%; RTA: 0 ms"
    assert firing.data["labels"] == {"alertname": "Host down", "host": "mw1001"} and "service" not in firing.data
    assert (firing.data["runbook"], firing.data["dashboard"]) == ("https://wikitech.wikimedia.org/wiki/Mw", "https://grafana.wikimedia.org/d/1")
    assert firing.data["paged"] is True and firing.data["notifications"] == 1  # an sms contact, whatever the command
    assert (resolved.text, resolved.started, resolved.data["paged"]) == ("Host mw1001 is UP: PING OK", at("18:05:00"), True)
    assert (firing.raw, resolved.raw) == (lines[0], lines[2])


def test_an_alert_seen_only_in_notifications_to_people() -> None:
    lines = [
        f"[{ep('18:05:00')}] SERVICE NOTIFICATION: irc;mw1;Apache;CRITICAL;notify-service-by-irc;HTTP CRITICAL: 503",
        f"[{ep('18:06:00')}] SERVICE NOTIFICATION: irc;mw1;Apache;CRITICAL;notify-service-by-irc;HTTP CRITICAL: 503",
        f"[{ep('18:09:00')}] SERVICE NOTIFICATION: irc;mw1;Apache;OK;notify-service-by-irc;HTTP OK: 200: fast",
        f"[{ep('18:12:00')}] SERVICE NOTIFICATION: irc;mw1;Apache;OK;notify-service-by-irc;HTTP OK: 200: fast",
    ]
    firing, resolved = both(icinga_log(*lines))
    assert (firing.data["notifications"], firing.data["paged"]) == (2, False)
    assert (resolved.data["notifications"], resolved.data["paged"], resolved.started) == (2, False, at("18:05:00"))
    assert resolved.text == "Apache on mw1 is OK: HTTP OK: 200: fast"  # a repeat within 5 minutes is the same recovery


def test_problems_open_at_the_log_rotation() -> None:
    lines = [
        f"[{ep('17:00:00')}] CURRENT HOST STATE: cp1;DOWN;HARD;3;PING CRITICAL",
        f"[{ep('17:00:00')}] INITIAL SERVICE STATE: cp1;HTTPS;CRITICAL;HARD;3;SSL CRITICAL",
        f"[{ep('17:00:00')}] CURRENT SERVICE STATE: cp2;HTTPS;CRITICAL;SOFT;1;SSL CRITICAL",  # SOFT: not open
        f"[{ep('17:00:00')}] CURRENT SERVICE STATE: cp3;Disk;WARNING;HARD;3;DISK WARNING",
        f"[{ep('17:00:00')}] INITIAL HOST STATE: cp4;DOWN;HARD;3;PING CRITICAL",
        f"[{ep('18:05:00')}] SERVICE ALERT: cp1;HTTPS;CRITICAL;HARD;3;SSL CRITICAL",  # open since the rotation: no firing
        f"[{ep('18:05:00')}] SERVICE ALERT: cp2;HTTPS;CRITICAL;HARD;3;SSL CRITICAL",
        f"[{ep('18:06:00')}] HOST NOTIFICATION: sms-oncall;cp1;DOWN;notify-host-by-email;PING CRITICAL",
        f"[{ep('18:07:00')}] SERVICE ALERT: cp3;Disk;WARNING;HARD;3;DISK WARNING",
        f"[{ep('18:08:00')}] HOST ALERT: cp4;DOWN;HARD;3;PING CRITICAL",
        f"[{ep('18:10:00')}] CURRENT SERVICE STATE: cp2;HTTPS;CRITICAL;HARD;3;SSL CRITICAL",  # a rotation: still the same problem
        f"[{ep('18:30:00')}] HOST ALERT: cp1;UP;HARD;1;PING OK",
        f"[{ep('18:31:00')}] SERVICE ALERT: cp1;HTTPS;OK;HARD;1;SSL OK",
        f"[{ep('18:32:00')}] SERVICE ALERT: cp2;HTTPS;OK;HARD;1;SSL OK",
        f"[{ep('18:33:00')}] SERVICE ALERT: cp3;Disk;OK;HARD;1;DISK OK",
    ]
    events = both(icinga_log(*lines))
    assert [(e.time, e.kind, e.text, e.started, e.data["paged"]) for e in events] == [
        (at("18:05:00"), EventKind.ALERT_FIRING, "HTTPS on cp2 is CRITICAL: SSL CRITICAL", None, False),
        (at("18:30:00"), EventKind.ALERT_RESOLVED, "Host cp1 is UP: PING OK", None, True),  # paged while open
        (at("18:31:00"), EventKind.ALERT_RESOLVED, "HTTPS on cp1 is OK: SSL OK", None, False),
        (at("18:32:00"), EventKind.ALERT_RESOLVED, "HTTPS on cp2 is OK: SSL OK", at("18:05:00"), False),
        (at("18:33:00"), EventKind.ALERT_RESOLVED, "Disk on cp3 is OK: DISK OK", None, False),
    ]
    assert [e.data["notifications"] for e in events] == [0, 0, 0, 0, 0]


def test_every_note_type_from_alert_and_notification_lines() -> None:
    lines = [
        f"[{ep('18:40:00')}] HOST FLAPPING ALERT: mw1;STARTED; Host appears to have started flapping (25% change); see T123",
        f"[{ep('18:41:00')}] HOST DOWNTIME ALERT: mw1;CANCELLED; Scheduled downtime for host has been cancelled.",
        f"[{ep('18:42:00')}] SERVICE DOWNTIME ALERT: mw1;Apache;STARTED; Service has entered a period of scheduled downtime; T456",
        f"[{ep('18:43:00')}] SERVICE FLAPPING ALERT: mw1;Apache;DISABLED; Flap detection has been disabled",
        f"[{ep('18:44:00')}] HOST NOTIFICATION: irc;mw1;CUSTOM (DOWN);notify-host-by-irc;PING CRITICAL",
        f"[{ep('18:45:00')}] SERVICE NOTIFICATION: irc;mw1;Apache;ACKNOWLEDGEMENT (WARNING);notify-service-by-irc;HTTP WARNING",
        f"[{ep('18:46:00')}] HOST NOTIFICATION: irc;mw1;ACKNOWLEDGEMENT (DOWN);notify-host-by-irc;PING CRITICAL;;rebooting for T789",
        f"[{ep('18:47:00')}] SERVICE NOTIFICATION: irc;mw1;Apache;FLAPPINGSTART (WARNING);notify-service-by-irc;a;b;c",
        f"[{ep('18:48:00')}] HOST NOTIFICATION: irc;mw1;DOWNTIMEEND (UP);notify-host-by-irc;PING OK",
        f"[{ep('18:49:00')}] SERVICE NOTIFICATION: irc;mw1;Apache;FLAPPINGSTOP (OK);notify-service-by-irc;HTTP OK",
        f"[{ep('18:50:00')}] HOST NOTIFICATION: irc;mw1;FLAPPINGDISABLED (UP);notify-host-by-irc;PING OK",
        f"[{ep('18:51:00')}] SERVICE NOTIFICATION: irc;mw1;Apache;DOWNTIMECANCELLED (OK);notify-service-by-irc;HTTP OK",
        f"[{ep('18:52:00')}] SERVICE NOTIFICATION: irc;mw1;Apache;ACKNOWLEDGEMENT (CRITICAL);notify-service-by-irc;HTTP CRITICAL;bob;on it",
    ]
    events = both(icinga_log(*lines))
    assert [(e.kind, e.data["note"], e.text, e.actor, e.tasks, e.data["state"]) for e in events] == [
        (EventKind.ALERT_NOTE, "flapping-start", "host mw1 started flapping: Host appears to have started flapping (25% change); see T123", None, ("T123",), "OK"),
        (EventKind.ALERT_NOTE, "downtime-cancelled", "scheduled downtime cancelled for host mw1: Scheduled downtime for host has been cancelled.", None, (), "OK"),
        (EventKind.ALERT_NOTE, "downtime-start", "Apache on mw1 entered scheduled downtime: Service has entered a period of scheduled downtime; T456", None, ("T456",), "OK"),
        (EventKind.ALERT_NOTE, "flapping-disabled", "flap detection disabled for Apache on mw1: Flap detection has been disabled", None, (), "OK"),
        (EventKind.ALERT_NOTE, "custom", "custom notification for host mw1", None, (), "DOWN"),
        (EventKind.ALERT_NOTE, "acknowledgement", "Apache on mw1 acknowledged", None, (), "WARNING"),
        (EventKind.ALERT_NOTE, "acknowledgement", "host mw1 acknowledged: rebooting for T789", None, ("T789",), "DOWN"),
        (EventKind.ALERT_NOTE, "flapping-start", "Apache on mw1 started flapping", None, (), "WARNING"),
        (EventKind.ALERT_NOTE, "downtime-end", "host mw1 left scheduled downtime", None, (), "UP"),
        (EventKind.ALERT_NOTE, "flapping-stop", "Apache on mw1 stopped flapping", None, (), "OK"),
        (EventKind.ALERT_NOTE, "flapping-disabled", "flap detection disabled for host mw1", None, (), "UP"),
        (EventKind.ALERT_NOTE, "downtime-cancelled", "scheduled downtime cancelled for Apache on mw1", None, (), "OK"),
        (EventKind.ALERT_NOTE, "acknowledgement", "Apache on mw1 acknowledged by bob: on it", "bob", (), "CRITICAL"),
    ]
    for event, line in zip(events, lines, strict=True):
        assert event.raw == line
        assert event.key.endswith(f":{int(event.time.timestamp())}:{event.data['note']}")
        assert event.data["notifications"] == 0 and "summary" not in event.data
        assert event.data["host"] == "mw1" and event.data["labels"]["host"] == "mw1"
    assert events[4].data["severity"] == "critical" and "severity" not in events[0].data
    assert events[-1].data["labels"] == {"alertname": "Apache", "host": "mw1", "service": "Apache"}


def test_malformed_alert_lines_near_the_window_are_problems_with_their_reason() -> None:
    long_line = f"[{ep('18:59:00')}] SERVICE ALERT: mw1;" + "x" * 300
    lines = [
        f"[{ep('18:00:00', day=13)}] HOST ALERT: mw1;DOWN;HARD;3",  # exactly a day before the window: reported
        f"[{ep('17:59:59', day=13)}] HOST ALERT: mw1;DOWN;HARD;3",  # earlier: not
        f"[{ep('18:50:00')}] HOST ALERT: mw1;DOWN;FIRM;3;x",
        "",
        f"[{ep('18:51:00')}] SERVICE ALERT: mw1;Apache;CRITICAL;HARD;three;x",
        f"[{ep('18:52:00')}] HOST NOTIFICATION: irc;mw1;DOWN;cmd",
        f"[{ep('18:53:00')}] SERVICE NOTIFICATION: irc;mw1;Apache;BAD;cmd;x",
        f"[{ep('18:54:00')}] HOST NOTIFICATION: irc;mw1;CRITICAL;cmd;x",
        f"[{ep('18:55:00')}] HOST FLAPPING ALERT: mw1;STARTED",
        f"[{ep('18:56:00')}] SERVICE FLAPPING ALERT: mw1;Apache;PAUSED; x",
        f"[{ep('18:57:00')}] HOST DOWNTIME ALERT: mw1;PAUSED; x",
        f"[{ep('18:58:00')}] EXTERNAL COMMAND: SCHEDULE_HOST_DOWNTIME;mw1",  # not an alert line: skipped
        long_line,
        "x" * 250,
        f"[{ep('19:44:59')}] HOST ALERT: ;DOWN;HARD;3;x",  # the window's last second: reported
        f"[{ep('19:45:00')}] HOST ALERT: ;DOWN;HARD;3;x",  # its end: not
    ]
    result = parse_icinga(icinga_log(*lines), QUERY)
    assert sorted((p.where, p.reason, p.text) for p in result.problems) == sorted([
        ("icinga.log:1", "expected 5 ';'-separated fields, found 4", lines[0]),
        ("icinga.log:3", "bad state type/attempt 'FIRM';'3'", lines[2]),
        ("icinga.log:5", "bad state type/attempt 'HARD';'three'", lines[4]),
        ("icinga.log:6", "expected 5 ';'-separated fields, found 4", lines[5]),
        ("icinga.log:7", "unknown notification state 'BAD'", lines[6]),
        ("icinga.log:8", "unknown notification state 'CRITICAL'", lines[7]),
        ("icinga.log:9", "too few ';'-separated fields", lines[8]),
        ("icinga.log:10", "unknown service flapping alert state 'PAUSED'", lines[9]),
        ("icinga.log:11", "unknown host downtime alert state 'PAUSED'", lines[10]),
        ("icinga.log:13", "expected 6 ';'-separated fields, found 2", long_line[:200]),
        ("icinga.log:14", "not an Icinga log line ([epoch] TEXT)", "x" * 200),
        ("icinga.log:15", "empty host name", lines[14]),
    ])
    assert (result.events, result.lines_read) == ((), 15)  # the blank line is not counted, the lines after it are read


def test_a_host_line_keeps_semicolons_in_its_output() -> None:
    line = f"[{ep('18:05:00')}] HOST ALERT: mw1;DOWN;HARD;3;PING CRITICAL; loss 100%"
    note = f"[{ep('18:06:00')}] HOST NOTIFICATION: irc;mw1;DOWN;notify-host-by-irc;PING CRITICAL; loss 100%"
    (firing,) = both(icinga_log(line, note))
    assert firing.data["summary"] == "DOWN: PING CRITICAL; loss 100%" and firing.data["notifications"] == 1


def test_files_are_read_in_time_order_then_in_the_order_given() -> None:
    """Lines of the same second keep the order of their files as given, whatever their names."""
    files = (
        ("z.log", f"[{ep('18:05:00')}] SERVICE ALERT: mw1;Apache;CRITICAL;HARD;3;down\n"),
        ("a.log", f"[{ep('18:05:00')}] SERVICE ALERT: mw1;Apache;OK;HARD;3;up\n"),
    )
    firing, resolved = both(Export("icinga", files))
    assert (firing.kind, resolved.kind, resolved.started) == (EventKind.ALERT_FIRING, EventKind.ALERT_RESOLVED, at("18:05:00"))


def test_notes_name_the_compressed_and_the_unsorted_files() -> None:
    line = f"[{ep('18:05:00')}] SERVICE ALERT: mw1;Apache;CRITICAL;HARD;3;down"
    early = f"[{ep('18:01:00')}] SERVICE ALERT: mw2;Apache;CRITICAL;HARD;3;down"
    same = f"[{ep('18:05:00')}] SERVICE ALERT: mw3;Apache;CRITICAL;HARD;3;down"
    files = (("a.log", f"{line}\n{early}\n"), ("b.log", f"{line}\n{same}\n"), ("c.log", f"{line}\n{early}\n"))
    meta = {"skipped_files": ["x.log.gz", "y.log.gz"]}
    compressed = "Icinga log files not read (compressed): x.log.gz, y.log.gz"
    assert parse_icinga(Export("icinga", files, meta), QUERY).notes == (compressed,)
    streamed = stream_icinga(LineExport("icinga", tuple(LineFile(n, t.splitlines) for n, t in files), meta), QUERY)
    assert len(list(streamed.events)) == 3
    assert streamed.tally.notes == [compressed, "Icinga log files not in time order, sorted in memory: a.log, c.log"]
