"""Alert pairing, cross-source dedup, flapping, timeline rows and detection (incidentkit.timeline.alerts), all pure."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from incidentkit.model.alert import alert_event, fingerprint, labels_match, with_starts
from incidentkit.model.curation import KeyMoments
from incidentkit.model.event import Event, EventKind
from incidentkit.model.incident import Detection, Incident
from incidentkit.model.source import SourceSummary
from incidentkit.model.time import format_duration
from incidentkit.model.window import Window
from incidentkit.timeline.alerts import alert_rows, detect
from incidentkit.timeline.merge import merge_events
from incidentkit.wikitext.render import render_template

FIRING, RESOLVED, NOTE = EventKind.ALERT_FIRING, EventKind.ALERT_RESOLVED, EventKind.ALERT_NOTE
WINDOW = Window(datetime(2023, 2, 14, 18, 0, tzinfo=UTC), datetime(2023, 2, 14, 19, 45, tzinfo=UTC))
ROOT = Path(__file__).resolve().parent.parent


def at(hms: str) -> datetime:
    return datetime.fromisoformat(f"2023-02-14 {hms}").replace(tzinfo=UTC)


def ev(
    source: str,
    kind: EventKind,
    hms: str,
    alertname: str,
    labels: dict[str, str] | None = None,
    *,
    started: str | None = None,
    **fields: object,
) -> Event:
    when = at(hms)
    labels = {"alertname": alertname, **(labels or {})}
    return alert_event(
        source=source,
        kind=kind,
        time=when,
        key=f"{source}:{alertname}:{fingerprint(labels)}:{int(when.timestamp())}:{kind}",
        text=f"{alertname} {str(kind).removeprefix('alert-')}",
        alertname=alertname,
        labels=labels,
        started=at(started) if started else None,
        **fields,  # type: ignore[arg-type]
    )


def prom(kind: EventKind, hms: str, site: str, *, started: str | None = None) -> Event:
    labels = {"cluster": "cache_text", "site": site, "severity": "page"}
    return ev("prometheus", kind, hms, "FrontendUnavailable", labels, started=started, paged=True)


def jinxer(kind: EventKind, hms: str, count: int = 1) -> Event:
    return ev(
        "irc",
        kind,
        hms,
        "FrontendUnavailable",
        count=count,
        paged=True,
        notifications=1,
        summary="varnish-text has reduced HTTP availability #page",
    )


def texts(rows: list) -> list[str]:
    return [r.text for r in rows]


def test_fingerprint_is_alertmanagers() -> None:
    # values read back from the real Alertmanager in tests/servers/prometheus.py
    assert fingerprint({"alertname": "FrontendUnavailable", "cluster": "cache_text", "severity": "page", "site": "eqiad", "team": "sre"}) == "2c4c7b0b2f91a4d4"
    assert fingerprint({"alertname": "PHPFPMTooBusy", "cluster": "appserver", "severity": "critical", "site": "eqiad", "team": "serviceops"}) == "fcee91de07c457db"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(20, "less than a minute"), (60, "1 min"), (42 * 60 + 10, "42 min"), (3600, "1 h"), (3900, "1 h 5 min")],
)
def test_format_duration(seconds: int, text: str) -> None:
    assert format_duration(timedelta(seconds=seconds)) == text


def test_labels_match_is_subset_either_way() -> None:
    group = {"alertname": "X"}
    series = {"alertname": "X", "site": "eqiad"}
    assert labels_match(group, series) and labels_match(series, group)
    assert not labels_match(series, {"alertname": "X", "site": "esams"})


def test_fire_and_resolve_become_one_interval_with_two_rows() -> None:
    events = [
        ev("icinga", FIRING, "18:34:55", "Disk space", {"host": "ms-be1040"}, instance="ms-be1040", summary="CRITICAL: 5% free"),
        ev("icinga", RESOLVED, "19:16:55", "Disk space", {"host": "ms-be1040"}, instance="ms-be1040"),
    ]
    rows = alert_rows(events)
    assert texts(rows) == ["Disk space firing (ms-be1040): CRITICAL: 5% free", "Disk space resolved after 42 min"]
    firing, resolved = rows
    assert firing.kind is FIRING and firing.end == at("19:16:55")
    assert resolved.kind is RESOLVED and resolved.key == firing.key + ":resolved"
    assert firing.key == "alert:Disk_space:2023-02-14T18:34Z"
    assert firing.data["instances"] == ["ms-be1040"] and firing.data["sources"] == ["icinga"]


def test_renotification_while_open_is_absorbed_and_counted() -> None:
    events = [
        jinxer(FIRING, "18:37:43"),
        jinxer(FIRING, "18:38:40", count=2),
        jinxer(RESOLVED, "18:52:40", count=2),
    ]
    rows = alert_rows(events)
    assert texts(rows) == [
        "FrontendUnavailable firing (2 instances), paged: varnish-text has reduced HTTP availability",
        "FrontendUnavailable resolved after 15 min",
    ]
    assert rows[0].data["notifications"] == 3


def test_same_alert_from_prometheus_and_irc_is_one_interval() -> None:
    events = [
        prom(FIRING, "18:38:00", "eqiad"),
        prom(RESOLVED, "18:52:00", "eqiad", started="18:38:00"),
        prom(FIRING, "18:39:00", "esams"),
        prom(RESOLVED, "18:50:00", "esams", started="18:39:00"),
        jinxer(FIRING, "18:37:43"),
        jinxer(FIRING, "18:38:40", count=2),
        jinxer(RESOLVED, "18:52:40", count=2),
    ]
    rows = alert_rows(events)
    assert texts(rows) == [
        "FrontendUnavailable firing (2 instances: eqiad, esams), paged: varnish-text has reduced HTTP availability",
        "FrontendUnavailable resolved after 15 min",
    ]
    assert rows[0].time == at("18:37:43")  # the earliest evidence
    assert rows[0].data["sources"] == ["irc", "prometheus"]
    assert rows[0].data["paged"] is True


def test_icinga_log_and_icinga_wm_are_one_interval() -> None:
    ident = {"host": "alert1001", "service": "MediaWiki exceptions"}
    events = [
        ev("icinga", FIRING, "18:34:55", "MediaWiki exceptions", ident, instance="alert1001", notifications=1),
        ev("irc", FIRING, "18:34:56", "MediaWiki exceptions", ident, instance="alert1001", notifications=1),
        ev("icinga", RESOLVED, "18:49:55", "MediaWiki exceptions", ident, started="18:34:55", notifications=1),
        ev("irc", RESOLVED, "18:49:57", "MediaWiki exceptions", ident, started="18:34:56", notifications=1),
    ]
    rows = alert_rows(events)
    assert texts(rows) == ["MediaWiki exceptions firing (alert1001)", "MediaWiki exceptions resolved after 15 min"]
    assert detect(events, WINDOW).notifications == 4


def test_different_alerts_with_the_same_name_far_apart_are_two_episodes() -> None:
    events = [
        ev("irc", FIRING, "18:00:00", "ProbeDown"),
        ev("irc", RESOLVED, "18:05:00", "ProbeDown"),
        ev("irc", FIRING, "18:30:00", "ProbeDown"),
        ev("irc", RESOLVED, "18:32:00", "ProbeDown"),
    ]
    rows = alert_rows(events)
    assert [r.key for r in rows] == [
        "alert:ProbeDown:2023-02-14T18:00Z",
        "alert:ProbeDown:2023-02-14T18:00Z:resolved",
        "alert:ProbeDown:2023-02-14T18:30Z",
        "alert:ProbeDown:2023-02-14T18:30Z:resolved",
    ]


def test_flapping_collapses_into_one_row_with_a_count() -> None:
    labels = {"site": "eqiad"}
    events = []
    for start, end in (("18:40:05", "18:43:00"), ("18:45:05", "18:47:00"), ("18:49:05", "18:51:00")):
        events.append(ev("prometheus", FIRING, start, "PHPFPMTooBusy", labels))
        events.append(ev("prometheus", RESOLVED, end, "PHPFPMTooBusy", labels, started=start))
    rows = alert_rows(events)
    assert texts(rows) == [
        "PHPFPMTooBusy firing (flapping: fired 3 times)",
        "PHPFPMTooBusy resolved after 11 min",
    ]
    assert rows[0].data["fires"] == 3 and rows[0].data["flapping"] is True


@pytest.mark.parametrize(("refire", "fires"), [("18:15:00", 2), ("18:15:01", 1)])
def test_a_gap_of_exactly_the_flap_gap_still_flaps(refire: str, fires: int) -> None:
    events = [
        ev("irc", FIRING, "18:00:00", "ProbeDown"),
        ev("irc", RESOLVED, "18:05:00", "ProbeDown"),  # 10 min (FLAP_GAP) before 18:15:00
        ev("irc", FIRING, refire, "ProbeDown"),
        ev("irc", RESOLVED, "18:20:00", "ProbeDown"),
    ]
    firing = [r for r in alert_rows(events) if r.kind is FIRING]
    assert [r.data["fires"] for r in firing] == ([2] if fires == 2 else [1, 1])


def test_one_source_never_deduplicates_with_itself() -> None:
    # a group-level series and a per-instance one of the same alert: two observations of one source,
    # one episode; the instance still fires, so the episode does (merged, it would read resolved)
    events = [
        ev("prometheus", FIRING, "18:00:00", "X"),
        ev("prometheus", FIRING, "18:02:00", "X", {"instance": "a"}, instance="a"),
        ev("prometheus", RESOLVED, "18:10:00", "X", started="18:00:00"),
    ]
    assert texts(alert_rows(events)) == ["X firing (a); still firing at window end"]
    # the same from two sources is one alert seen twice: merged, and it resolved
    other = ev("irc", FIRING, "18:02:00", "X", {"instance": "a"}, instance="a")
    assert texts(alert_rows([events[0], other, events[2]])) == ["X firing (a)", "X resolved after 10 min"]


def test_ongoing_alert_says_still_firing_at_window_end() -> None:
    events = [
        ev("prometheus", FIRING, "19:31:00", "ProbeDown", {"instance": "text-lb:443"}, instance="text-lb:443"),
        ev("prometheus", NOTE, "19:45:00", "ProbeDown", {"instance": "text-lb:443"}, started="19:31:00", ongoing=True, note="ongoing"),
    ]
    rows = alert_rows(events)
    assert texts(rows) == ["ProbeDown firing (text-lb:443); still firing at window end"]
    assert rows[0].end is None and rows[0].data["ongoing"] is True
    # an IRC problem with no recovery is ongoing too
    assert texts(alert_rows([ev("irc", FIRING, "19:00:00", "X")])) == ["X firing; still firing at window end"]


def test_a_check_that_fails_and_recovers_within_one_second_is_one_interval() -> None:
    events = [  # bot lines are keyed by a digest of their text: here the resolve's key sorts first
        replace(ev("irc", kind, "18:00:00", "Host down", {"host": "db1100"}), key=f"irc:icinga-wm:{digest}")
        for kind, digest in ((RESOLVED, "3e1e9d024344"), (FIRING, "58637bd43f26"))
    ]
    rows = alert_rows(events)
    assert [(r.kind, r.time) for r in rows] == [(FIRING, at("18:00:00")), (RESOLVED, at("18:00:00"))]
    assert rows[0].end == at("18:00:00") and not rows[0].data["ongoing"]


def test_a_resolve_without_start_then_a_new_firing_that_lasts() -> None:
    events = [
        ev("irc", RESOLVED, "18:10:00", "ProbeDown"),  # started before the history we have
        ev("irc", FIRING, "18:12:00", "ProbeDown"),  # fires again two minutes later, never resolves
    ]
    rows = alert_rows(events)  # one flapping interval, as when it resolves again (test below)
    assert texts(rows) == ["ProbeDown still firing at window end (it started before the available history)"]
    assert rows[0].time == at("18:12:00") and rows[0].data["ongoing"] is True
    closed = alert_rows([*events, ev("irc", RESOLVED, "18:20:00", "ProbeDown")])
    assert texts(closed) == ["ProbeDown resolved (it started before the available history)"]


def test_alert_started_before_the_window_shows_only_its_end() -> None:
    before = ev("prometheus", FIRING, "17:31:00", "DiskSpaceLow")
    after = ev("prometheus", RESOLVED, "18:11:00", "DiskSpaceLow", started="17:31:00")
    merged = merge_events([[before, after]], WINDOW)
    assert [e.kind for e in merged] == [RESOLVED]  # the pipeline drops the firing event before the window
    rows = alert_rows(merged)
    assert texts(rows) == ["DiskSpaceLow resolved after 40 min (firing since 2023-02-14 17:31 UTC)"]
    assert detect(merged, WINDOW).first_alert is None  # already firing: not a detection
    no_start = alert_rows([ev("icinga", RESOLVED, "18:10:51", "Disk space", {"host": "ms-be1040"}, instance="ms-be1040")])
    assert texts(no_start) == ["Disk space resolved on ms-be1040 (it started before the available history)"]
    spanning = ev("prometheus", NOTE, "19:45:00", "Old", started="17:10:00", ongoing=True, note="ongoing")
    assert texts(alert_rows([spanning])) == ["Old still firing at window end (firing since 2023-02-14 17:10 UTC)"]


def test_row_keys_are_stable_across_order_and_extra_observations() -> None:
    base = [
        prom(FIRING, "18:38:00", "eqiad"),
        prom(RESOLVED, "18:52:00", "eqiad", started="18:38:00"),
        jinxer(FIRING, "18:38:43"),
    ]
    keys = [r.key for r in alert_rows(base)]
    shuffled = base[:]
    random.Random(5).shuffle(shuffled)
    assert [r.key for r in alert_rows(shuffled)] == keys
    more = base + [jinxer(RESOLVED, "18:52:40"), prom(FIRING, "18:38:00", "esams")]
    assert {r.key for r in alert_rows(more)} >= set(keys)


def test_notes_and_silences_keep_their_own_rows_and_flapping_notes_fold_in() -> None:
    ident = {"host": "cp3050", "service": "Varnish"}
    ack = ev("icinga", NOTE, "18:38:30", "Varnish", ident, note="acknowledgement", actor="vgutierrez")
    flap = ev("icinga", NOTE, "18:39:10", "Varnish", ident, note="flapping-start")
    silence = Event(
        time=at("18:44:51"),
        source="alertmanager",
        kind=EventKind.SILENCE,
        key="alertmanager:silence:abc",
        text="Silence for alertname=Varnish until 2023-02-14 20:44 UTC: see T329510",
        actor="cwhite",
        tasks=("T329510",),
    )
    events = [
        ev("icinga", FIRING, "18:37:02", "Varnish", ident, instance="cp3050"),
        ack,
        flap,
        silence,
        ev("icinga", RESOLVED, "18:53:04", "Varnish", ident),
    ]
    rows = alert_rows(events)
    assert [r.key for r in rows] == [
        "alert:Varnish:2023-02-14T18:37Z",
        ack.key,
        silence.key,
        "alert:Varnish:2023-02-14T18:37Z:resolved",
    ]
    assert rows[0].text == "Varnish firing (cp3050) (flapping)"
    assert rows[1].actor == "vgutierrez" and rows[2].tasks == ("T329510",) and rows[2].kind is EventKind.SILENCE


def test_many_instances_are_listed_then_elided() -> None:
    events = [
        ev("prometheus", FIRING, f"18:00:{i:02d}", "HostDown", {"instance": f"mw13{i:02d}"}, instance=f"mw13{i:02d}")
        for i in range(8)
    ]
    text = alert_rows(events)[0].text
    assert text.startswith("HostDown firing (8 instances: mw1300, mw1301, mw1302, mw1303, mw1304, …)")


def test_with_starts_links_recoveries_to_their_problems() -> None:
    ident = {"host": "a"}
    events = [
        ev("irc", FIRING, "17:50:00", "X", ident),
        ev("irc", FIRING, "17:55:00", "X", ident),  # re-notification: the start stays 17:50
        ev("irc", RESOLVED, "18:20:00", "X", ident),
        ev("irc", RESOLVED, "18:30:00", "Y", ident),
    ]
    linked = with_starts(events)
    assert linked[2].started == at("17:50:00")
    assert linked[3].started is None


def test_detect_first_alert_page_and_volume() -> None:
    icinga_ident = {"host": "alert1001", "service": "MediaWiki exceptions"}
    events = [
        ev("irc", FIRING, "18:34:55", "MediaWiki exceptions", icinga_ident, notifications=1),
        ev("irc", RESOLVED, "18:49:55", "MediaWiki exceptions", icinga_ident, notifications=1),
        prom(FIRING, "18:37:00", "eqiad"),  # pages by its labels...
        prom(RESOLVED, "18:52:00", "eqiad", started="18:37:00"),
        jinxer(FIRING, "18:37:43"),  # ...but the page went out with this notification
    ]
    detection = detect(events, WINDOW)
    assert detection == Detection(
        first_alert="MediaWiki exceptions firing",
        first_alert_time=at("18:34:55"),
        first_alert_source="irc",
        first_alert_paged=False,
        first_page_time=at("18:37:43"),
        distinct_alerts=2,
        notifications=3,
        alert_names=("MediaWiki exceptions", "FrontendUnavailable"),
    )


def test_detect_with_state_history_only_counts_firing_transitions() -> None:
    events = [prom(FIRING, "18:37:00", "eqiad"), prom(RESOLVED, "18:52:00", "eqiad", started="18:37:00")]
    detection = detect(events, WINDOW)
    assert detection.first_page_time == at("18:37:00")  # no notification seen: the start of the paging alert
    assert detection.first_alert_paged is True
    assert detection.notifications == 1
    assert detection.first_alert == "FrontendUnavailable firing, paged"
    assert detect([], WINDOW) == Detection()


def test_detect_quotes_the_bot_line_without_its_links() -> None:
    line = (
        "PROBLEM - MediaWiki exceptions on alert1001 is CRITICAL: 2.651e+04 gt 100 "
        "https://wikitech.wikimedia.org/wiki/Application_servers https://grafana.wikimedia.org/d/1"
    )
    event = alert_event(
        source="irc", kind=FIRING, time=at("18:34:55"), key="irc:1", text=line, alertname="MediaWiki exceptions", notifications=1
    )
    assert detect([event], WINDOW).first_alert == "PROBLEM - MediaWiki exceptions on alert1001 is CRITICAL: 2.651e+04 gt 100"


def _incident(detection: Detection, **extra: object) -> Incident:
    return Incident(
        slug="2023-02-14_backport",
        title="Backport",
        window=WINDOW,
        generated_at=at("19:45:00"),
        detection=detection,
        **extra,  # type: ignore[arg-type]
    )


def test_detection_template_renders_facts_and_prompts() -> None:
    detection = Detection(
        first_alert="PROBLEM - x [[Category:Spam]] {{evil}} ~~~~",
        first_alert_time=at("18:34:55"),
        first_alert_source="irc",
        first_alert_paged=False,
        first_page_time=at("18:37:43"),
        distinct_alerts=2,
        notifications=10,
        alert_names=("MediaWiki exceptions", "Frontend|Unavailable"),
    )
    text = render_template("detection.wiki.j2", incident=_incident(detection))
    assert "* First automated alert at 18:34 (seen in irc): " in text
    assert "It did not page." in text
    assert "* First page at 18:37." in text
    assert "2 distinct alerts" in text and "10 notifications" in text
    assert "[[Category" not in text and "{{evil" not in text and "~~~~" not in text and "Frontend|" not in text
    assert "TODO" not in text  # the questions for humans stand outside the generated region
    items = [line for line in text.splitlines() if line.startswith("* ")]
    assert len(items) == 3  # first alert, first page, volume: one item per line


def test_detection_lists_the_key_moments_and_durations_in_order() -> None:
    moments = KeyMoments(
        impact_start=at("18:33:00"), detected=at("18:34:55"), responded=at("18:36:00"), resolved=at("18:52:40")
    )
    text = render_template("detection.wiki.j2", incident=_incident(Detection(), key_moments=moments))
    assert text.splitlines()[-5:] == [
        "* Key moments (UTC):",
        "** Impact started: 18:33",
        "** Detected: 18:34 (time to detect: 2 min)",
        "** First response: 18:36",
        "** Resolved: 18:52 (time to resolve: 20 min)",
    ]
    next_day = _incident(Detection(), key_moments=KeyMoments(impact_start=at("18:33:00"), resolved=at("18:33:00") + timedelta(days=1)))
    assert "** Resolved: 2023-02-15 18:33 (time to resolve: 24 h)" in render_template("detection.wiki.j2", incident=next_day)


def test_detection_template_without_alerts_says_what_was_read() -> None:
    quiet = _incident(Detection(), sources=(SourceSummary(source="irc", events=0),))
    assert render_template("detection.wiki.j2", incident=quiet) == "* No alert fired in this window.\n"
    none = render_template("detection.wiki.j2", incident=_incident(Detection()))
    assert none == "* No alert history was read for this window.\n"  # no config advice on the page


def test_bundled_example_draft_interleaves_alerts_with_sal_and_fills_detection() -> None:
    from typer.testing import CliRunner

    from incidentkit.cli import app

    result = CliRunner().invoke(app, ["draft", "--replay", str(ROOT / "data" / "examples" / "backport-crash"), "--no-store"])
    assert result.exit_code == 0, result.output
    page = result.stdout
    timeline = page.split("== Timeline ==")[1].split("== Detection ==")[0]
    lines = [line for line in timeline.splitlines() if line.startswith("* 1")]
    kinds = ["alert" if "''alert:''" in line else "other" for line in lines]
    first_alert = kinds.index("alert")
    assert "other" in kinds[first_alert:], "alert rows are interleaved with SAL rows"
    assert any("FrontendUnavailable firing (2 instances: eqiad, esams), paged" in line for line in lines)
    detection = page.split("== Detection ==")[1].split("== Conclusions ==")[0]
    assert "First automated alert at 18:34 (seen in irc): PROBLEM - MediaWiki exceptions and fatals per minute for appserver on alert1001 is CRITICAL: 2.651e+04 gt 100. It did not page." in detection
    assert "First page at 18:37." in detection
    assert "Alertmanager keeps no alert history" not in page  # a note for the owner: on stderr
    assert "Alertmanager keeps no alert history" in result.stderr


def test_alert_rows_survive_the_store_round_trip() -> None:
    """Drafts re-rendered from the store (Event.to_dict/from_dict, JSON) give the same rows and detection."""
    import json

    from incidentkit.services.pulls import load_pull

    collected = load_pull(ROOT / "data" / "examples" / "backport-crash")
    events = [e for e in collected.events if e.kind in (FIRING, RESOLVED, NOTE, EventKind.SILENCE)]
    assert events
    restored = [Event.from_dict(json.loads(json.dumps(e.to_dict()))) for e in events]
    assert [r.to_dict() for r in alert_rows(restored)] == [r.to_dict() for r in alert_rows(events)]
    assert detect(restored, collected.query.window) == detect(events, collected.query.window)


# --- each rule at its edge (hand-worked expectations) --------------------------------------------------


def resolved_before(source: str, hms: str, alertname: str, labels: dict[str, str] | None = None, **fields: object) -> Event:
    """A resolve whose alert started before the history we have (no start known)."""
    return ev(source, RESOLVED, hms, alertname, labels, **fields)


def test_an_episode_row_carries_its_facts() -> None:
    events = [
        ev("prometheus", FIRING, "18:00:00", "X", {"site": "eqiad"}, severity="critical", summary="S", runbook="https://rb/x",
           dashboard="https://d/x", notifications=2),
        ev("irc", FIRING, "18:01:00", "X", {"site": "eqiad"}, notifications=1),
        ev("prometheus", RESOLVED, "18:10:00", "X", {"site": "eqiad"}, started="18:00:00"),
    ]  # fmt: skip
    firing, resolved = alert_rows(events)
    data = {
        "alertname": "X", "paged": False, "instances": [], "instance_count": 1, "sources": ["prometheus", "irc"],
        "severity": "critical", "summary": "S", "runbook": "https://rb/x", "dashboard": "https://d/x", "fires": 1,
        "notifications": 3, "ongoing": False, "flapping": False, "start": "2023-02-14T18:00:00Z", "end": "2023-02-14T18:10:00Z",
    }  # fmt: skip
    assert firing.data == data and resolved.data == data
    assert (firing.source, firing.sources, firing.url, firing.kind) == ("prometheus", ("prometheus", "irc"), "https://rb/x", FIRING)
    # the events of the observation kept, then of the one it took over
    assert firing.events == resolved.events == (events[0].key, events[2].key, events[1].key)
    assert resolved.kind is RESOLVED and resolved.sources == firing.sources
    alone = alert_rows([ev("irc", FIRING, "18:00:00", "Y", runbook="see the wiki page"), ev("irc", RESOLVED, "18:05:00", "Y")])
    assert alone[0].sources == () and alone[0].url is None and alone[0].data["start"] == "2023-02-14T18:00:00Z"


def test_an_ongoing_note_row_names_the_instances() -> None:
    events = [
        ev("prometheus", NOTE, f"19:45:0{n}", "X", {"instance": i}, instance=i, ongoing=True, note="ongoing", started=f"17:00:0{n}")
        for n, i in enumerate(("a", "b"))
    ]
    (row,) = alert_rows(events)
    assert row.text == "X still firing on a, b at window end (firing since 2023-02-14 17:00 UTC)"
    assert row.kind is NOTE and row.key == "alert:X:2023-02-14T17:00Z:ongoing" and row.data["end"] is None


@pytest.mark.parametrize(("count", "listed"), [(5, "a0, a1, a2, a3, a4"), (6, "a0, a1, a2, a3, a4, …")])
def test_five_instances_are_listed_whole_six_are_cut(count: int, listed: str) -> None:
    names = [f"a{i}" for i in range(count)]
    firing = [ev("prometheus", FIRING, f"18:00:0{i}", "X", {"instance": n}, instance=n) for i, n in enumerate(names)]
    assert alert_rows(firing)[0].text == f"X firing ({count} instances: {listed}); still firing at window end"
    unseen = [resolved_before("irc", f"18:10:0{i}", "X", {"instance": n}, instance=n) for i, n in enumerate(names)]
    assert alert_rows(unseen)[0].text == f"X resolved on {listed} (it started before the available history)"


def test_instances_named_by_the_labels_that_differ() -> None:
    two = [ev("prometheus", FIRING, f"18:00:0{i}", "X", {"site": s, "cluster": c}) for i, (s, c) in enumerate((("eqiad", "a"), ("esams", "b")))]
    assert alert_rows(two)[0].text == "X firing (2 instances: a/eqiad, b/esams); still firing at window end"
    sites = [ev("prometheus", FIRING, f"18:00:0{i}", "X", {"site": s}) for i, s in enumerate(("eqiad", "esams"))]
    assert alert_rows(sites)[0].text == "X firing (2 instances: eqiad, esams); still firing at window end"
    # a series without the differing label has no name; a group-level series (alertname only) none either
    partial = [
        ev("prometheus", FIRING, f"18:00:0{i}", "X", labels)
        for i, labels in enumerate(({"site": "eqiad", "env": "p"}, {"site": "esams", "env": "p"}, {"env": "p"}))
    ]
    assert alert_rows(partial)[0].text == "X firing (3 instances: eqiad, esams); still firing at window end"
    group = [ev("prometheus", FIRING, "18:00:00", "X"), ev("prometheus", FIRING, "18:00:00", "X", {"site": "eqiad"})]
    assert alert_rows(group)[0].text == "X firing; still firing at window end"
    # an instance named by one series: the others (without one) still count
    mixed = [
        ev("prometheus", FIRING, "18:00:00", "X", {"instance": "a"}, instance="a"),
        ev("prometheus", FIRING, "18:00:00", "X", {"site": "x"}),
        ev("prometheus", FIRING, "18:00:00", "X", {"site": "y"}),
    ]
    assert alert_rows(mixed)[0].text == "X firing (3 instances: a); still firing at window end"


def test_an_instance_renotified_is_listed_once() -> None:
    events = [ev("irc", FIRING, "18:00:00", "X", instance="a"), ev("irc", FIRING, "18:02:00", "X", instance="a")]
    assert alert_rows(events)[0].text == "X firing (a); still firing at window end"


def test_a_long_summary_is_cut_at_160_characters() -> None:
    def text(summary: str) -> str:
        return alert_rows([ev("irc", FIRING, "18:00:00", "X", summary=summary)])[0].text

    assert text("s" * 160) == f"X firing: {'s' * 160}; still firing at window end"
    assert text("a" * 158 + " " + "b" * 10) == f"X firing: {'a' * 158}…; still firing at window end"
    assert text("c" * 170) == f"X firing: {'c' * 159}…; still firing at window end"


def test_alert_events_built_without_the_helper() -> None:
    def bare(kind: EventKind, hms: str, **data: object) -> Event:
        return Event(time=at(hms), source="irc", kind=kind, key=f"irc:{hms}", text=f"line {hms}", data={"alertname": "Bare", **data})

    rows = alert_rows([bare(FIRING, "18:00:00", count=0), bare(RESOLVED, "18:05:00")])
    assert texts(rows) == ["Bare firing", "Bare resolved after 5 min"]
    assert rows[0].data["notifications"] == 0 and rows[0].data["instance_count"] == 1


def test_two_flaps_make_a_flapping_episode_and_a_resolve_alone_fires_none() -> None:
    events = [
        ev("irc", FIRING, "18:00:00", "X"), ev("irc", RESOLVED, "18:02:00", "X"),
        ev("irc", FIRING, "18:04:00", "X"), ev("irc", RESOLVED, "18:06:00", "X"),
    ]  # fmt: skip
    assert alert_rows(events)[0].data["flapping"] is True
    assert alert_rows([resolved_before("irc", "18:10:00", "X")])[0].data["fires"] == 0  # only its end was seen
    started = alert_rows([ev("prometheus", RESOLVED, "18:10:00", "X", started="18:00:00")])[0].data
    assert (started["fires"], started["flapping"]) == (1, False)  # it fired once, before the history


def test_a_repeated_resolve_is_one_at_exactly_the_tolerance() -> None:
    events = [ev("irc", FIRING, "18:00:00", "X"), ev("irc", RESOLVED, "18:10:00", "X")]
    assert texts(alert_rows([*events, resolved_before("irc", "18:15:00", "X")])) == ["X firing", "X resolved after 15 min"]
    again = ev("prometheus", RESOLVED, "18:12:00", "Y", started="18:10:00")
    first = [ev("prometheus", FIRING, "18:00:00", "Y"), ev("prometheus", RESOLVED, "18:10:00", "Y", started="18:00:00")]
    assert texts(alert_rows([*first, again])) == ["Y firing", "Y resolved after 12 min"]  # started when the first ended


def test_resolves_of_different_instances_from_two_sources_stay_apart() -> None:
    events = [resolved_before("irc", "18:10:00", "X", {"host": "a"}), resolved_before("icinga", "18:10:30", "X", {"host": "b"})]
    assert texts(alert_rows(events)) == ["X resolved on a, b (it started before the available history)"]


def test_dedup_merges_at_exactly_the_tolerance_and_looks_past_other_candidates() -> None:
    at_tolerance = [ev("prometheus", FIRING, "18:00:00", "X", {"instance": "a"}, instance="a"),
                    ev("irc", FIRING, "18:05:00", "X", {"instance": "a"}, instance="a")]  # fmt: skip
    assert alert_rows(at_tolerance)[0].text == "X firing (a); still firing at window end"
    # the irc line joins the alertmanager series though an earlier candidate is of its own source
    own_source = [ev("irc", FIRING, "18:00:00", "X", {"instance": "x"}, instance="x"),
                  ev("alertmanager", FIRING, "18:00:30", "X", {"instance": "y"}, instance="y"),
                  ev("irc", FIRING, "18:01:00", "X", {"instance": "y"}, instance="y")]  # fmt: skip
    assert alert_rows(own_source)[0].text == "X firing (2 instances: x, y); still firing at window end"
    # ... or of other labels
    other_labels = [ev("prometheus", FIRING, "18:00:00", "X", {"instance": "x"}, instance="x"),
                    ev("alertmanager", FIRING, "18:00:30", "X", {"instance": "y"}, instance="y"),
                    ev("irc", FIRING, "18:01:00", "X", {"instance": "y"}, instance="y")]  # fmt: skip
    assert alert_rows(other_labels)[0].text == "X firing (2 instances: x, y); still firing at window end"
    # ... or too far before it
    too_far = [ev("prometheus", FIRING, "17:50:00", "X", {"instance": "y"}, instance="y"),
               ev("prometheus", RESOLVED, "17:52:00", "X", {"instance": "y"}, instance="y"),
               ev("alertmanager", FIRING, "18:00:00", "X", {"instance": "y"}, instance="y"),
               ev("irc", FIRING, "18:01:00", "X", {"instance": "y"}, instance="y")]  # fmt: skip
    assert texts(alert_rows(too_far)) == ["X firing (y)", "X resolved after 2 min", "X firing (y); still firing at window end"]


def test_dedup_keeps_the_start_seen_firing() -> None:
    # the same start, seen firing by one source and inferred from a resolve by the other: seen, whichever is first
    for resolve_labels, firing_labels in (({"host": "a", "site": "x"}, {"host": "a"}), ({"host": "a"}, {"host": "a", "site": "x"})):
        events = [ev("prometheus", RESOLVED, "18:10:00", "X", resolve_labels, started="18:00:00"),
                  ev("irc", FIRING, "18:00:00", "X", firing_labels)]  # fmt: skip
        assert texts(alert_rows(events)) == ["X firing", "X resolved after 10 min"]
    # a later firing from another source does not make the earlier, inferred start seen
    later = [ev("prometheus", RESOLVED, "18:10:00", "X", started="18:00:00"), ev("irc", FIRING, "18:02:00", "X")]
    rows = alert_rows(later)
    assert texts(rows) == ["X resolved after 10 min (firing since 2023-02-14 18:00 UTC)"]
    assert rows[0].source == "irc"  # the first firing event seen is the row's source
    # a resolve with no start joins one that knows it
    unknown = [ev("prometheus", RESOLVED, "18:06:00", "X", started="18:01:00"), resolved_before("irc", "18:05:00", "X")]
    assert texts(alert_rows(unknown)) == ["X resolved after 5 min (firing since 2023-02-14 18:01 UTC)"]


def test_a_resolve_of_unknown_start_is_not_the_alert_another_source_sees_start_after_it() -> None:
    # the IRC log starts at 18:04 and shows an alert resolving; Prometheus shows it fire again at 18:06
    refired = [resolved_before("irc", "18:05:00", "X"), ev("prometheus", FIRING, "18:06:00", "X")]
    (row,) = alert_rows(refired)
    assert (row.text, row.time, row.end) == ("X firing; still firing at window end", at("18:06:00"), None)
    closed = alert_rows([*refired, ev("prometheus", RESOLVED, "18:20:00", "X", started="18:06:00")])
    assert texts(closed) == ["X firing", "X resolved after 14 min"] and closed[0].end == at("18:20:00")


def test_dedup_looks_past_a_resolve_of_unknown_start() -> None:
    events = [resolved_before("irc", "18:00:00", "X", {"instance": "b"}, instance="b"),
              ev("alertmanager", FIRING, "18:01:00", "X", {"instance": "a"}, instance="a"),
              ev("prometheus", FIRING, "18:02:00", "X", {"instance": "a"}, instance="a")]  # fmt: skip
    assert texts(alert_rows(events)) == ["X firing (2 instances: b, a); still firing at window end"]


def test_dedup_of_two_ongoing_observations_is_ongoing() -> None:
    events = [ev("prometheus", FIRING, "18:00:00", "X"), ev("irc", FIRING, "18:01:00", "X")]
    (row,) = alert_rows(events)
    assert row.text == "X firing; still firing at window end" and row.end is None


def test_dedup_takes_over_what_the_other_observation_knew() -> None:
    events = [ev("prometheus", FIRING, "18:00:00", "X", {"instance": "a"}, paged=True),
              ev("irc", FIRING, "18:01:00", "X", {"instance": "a"}, summary="the summary", notifications=1)]  # fmt: skip
    assert alert_rows(events)[0].text == "X firing, paged: the summary; still firing at window end"


def test_episodes_group_at_exactly_the_group_gap() -> None:
    events = [ev("prometheus", FIRING, "18:00:00", "X", {"site": "a"}), ev("prometheus", FIRING, "18:05:00", "X", {"site": "b"})]
    assert texts(alert_rows(events)) == ["X firing (2 instances: a, b); still firing at window end"]


def flap_note(hms: str, labels: dict[str, str] | None = None) -> Event:
    return ev("icinga", NOTE, hms, "Varnish", labels or {"host": "cp3050"}, note="flapping-start")


@pytest.mark.parametrize(
    ("note", "folds"),
    [
        (flap_note("17:55:00"), True),  # the tolerance before the start
        (flap_note("18:15:00"), True),  # the tolerance after the end
        (flap_note("18:15:01"), False),
        (flap_note("18:05:00", {"host": "cp9999"}), False),  # another host
    ],
    ids=["before", "after", "too-late", "other-host"],
)
def test_a_flapping_note_folds_into_the_episode_it_falls_in(note: Event, folds: bool) -> None:
    ident = {"host": "cp3050"}
    events = [ev("icinga", FIRING, "18:00:00", "Varnish", ident), ev("icinga", RESOLVED, "18:10:00", "Varnish", ident), note]
    rows = alert_rows(events)
    assert (note.key in rows[0].events) is folds
    assert (note.key in [r.key for r in rows]) is not folds
    assert rows[0].text == ("Varnish firing (flapping)" if folds else "Varnish firing")


def test_a_flapping_note_finds_the_later_episode() -> None:
    ident = {"host": "cp3050"}
    events = [
        ev("icinga", FIRING, "18:00:00", "Varnish", ident), ev("icinga", RESOLVED, "18:02:00", "Varnish", ident),
        ev("icinga", FIRING, "18:30:00", "Varnish", ident), ev("icinga", RESOLVED, "18:32:00", "Varnish", ident),
        flap_note("18:31:00"),
    ]  # fmt: skip
    assert texts(alert_rows(events)) == ["Varnish firing", "Varnish resolved after 2 min", "Varnish firing (flapping)", "Varnish resolved after 2 min"]


def line(source: str, hms: str, text: str, key: str = "", **fields: object) -> Event:
    event = ev(source, FIRING, hms, "X", notifications=1, **fields)
    return replace(event, text=text, key=key or event.key)


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        ("FIRING: X - https://runbook - https://dashboard", "FIRING: X"),
        ("X is CRITICAL -  - https://a", "X is CRITICAL"),
        ("X on a http://a https://b", "X on a"),
        ("https://a - https://b", "https://a"),
        ("https://only", "https://only"),
        ("A -  - B", "A - - B"),
        ("A - https://x - B", "A - https://x - B"),
        ("A - https://b", "A"),
        ("X - http://a", "X"),
        ("A https://b", "A"),
    ],
    ids=["parts", "empty-part", "words", "only-links", "one-link", "empty-middle", "link-middle", "one-part", "http-part", "two-words"],
)
def test_detection_quotes_the_first_line_without_trailing_links(text: str, quoted: str) -> None:
    assert detect([line("irc", "18:00:00", text)], WINDOW).first_alert == quoted


def test_detection_quotes_the_first_of_two_lines_at_one_second() -> None:
    events = [line("irc", "18:00:00", "the second line", key="irc:b"), line("irc", "18:00:00", "the first line", key="irc:a")]
    assert detect(events, WINDOW).first_alert == "the first line"


def test_detection_of_merged_observations() -> None:
    # at one time, the observation sorted first (more labels) keeps its first event and its notice
    tied = [line("prometheus", "18:00:00", "P line", labels={"host": "a", "site": "x"}),
            line("irc", "18:00:00", "I line", labels={"host": "a"})]  # fmt: skip
    detection = detect(tied, WINDOW)
    assert (detection.first_alert, detection.first_alert_source) == ("P line", "prometheus")
    # a notice only the later observation has is quoted
    later = [ev("prometheus", FIRING, "18:00:00", "X"), line("irc", "18:01:00", "FIRING: X")]
    assert detect(later, WINDOW).first_alert == "FIRING: X"
    # a start known from a resolve, seen firing by the other source at that time: that source found it
    seen = [ev("prometheus", RESOLVED, "18:10:00", "X", {"host": "a", "site": "x"}, started="18:00:00"),
            ev("irc", FIRING, "18:00:00", "X", {"host": "a"})]  # fmt: skip
    assert detect(seen, WINDOW).first_alert_source == "irc"


def test_detection_counts_only_episodes_in_the_window() -> None:
    assert detect([ev("irc", FIRING, "19:45:00", "X")], WINDOW) == Detection()  # starts at the window's end
    assert detect([ev("irc", FIRING, "17:00:00", "X"), ev("irc", RESOLVED, "17:30:00", "X")], WINDOW) == Detection()
    ended_at_start = detect([ev("irc", FIRING, "17:50:00", "X"), ev("irc", RESOLVED, "18:00:00", "X")], WINDOW)
    assert ended_at_start == Detection(distinct_alerts=1, notifications=1, alert_names=("X",))  # seen, not a detection


def test_detection_of_an_alert_already_firing_still_counts_its_page() -> None:
    events = [
        ev("prometheus", FIRING, "17:56:00", "X", {"site": "eqiad"}),
        ev("irc", FIRING, "18:01:00", "X", {"site": "eqiad"}, paged=True, notifications=1),  # the same alert, paging
        ev("prometheus", RESOLVED, "18:10:00", "X", {"site": "eqiad"}, started="17:56:00"),
    ]
    assert detect(events, WINDOW) == Detection(first_page_time=at("18:01:00"), distinct_alerts=1, notifications=1, alert_names=("X",))
