"""The icinga source: the Icinga 1.x main log (realistic fixture covering every line type)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from incidentkit.config import LogFileSettings
from incidentkit.errors import SourceError
from incidentkit.model.alert import plugin_summary, split_links
from incidentkit.model.event import EventKind
from incidentkit.model.source import Export, Query
from incidentkit.model.window import Window
from incidentkit.sources.icinga import SPEC, IcingaSource, parse_icinga
from incidentkit.timeline.alerts import alert_rows, detect

FIXTURES = Path(__file__).parent / "fixtures" / "icinga"
WINDOW = Window(datetime(2023, 2, 14, 18, 0, tzinfo=UTC), datetime(2023, 2, 14, 19, 45, tzinfo=UTC))
QUERY = Query(WINDOW)


def at(hms: str) -> datetime:
    return datetime.fromisoformat(f"2023-02-14 {hms}").replace(tzinfo=UTC)


@pytest.fixture(scope="module")
def result():
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
