"""The alertmanager source: saved v2 answers and webhook logs (pure), and a real Alertmanager."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer

from incidentkit.config import AlertmanagerSettings, PrometheusSettings, Settings
from incidentkit.errors import SourceError
from incidentkit.model.alert import fingerprint
from incidentkit.model.event import EventKind
from incidentkit.model.source import Export, Query
from incidentkit.model.window import Window
from incidentkit.sources.alertmanager import NO_HISTORY_NOTE, SPEC, AlertmanagerSource, parse_alertmanager
from incidentkit.timeline.alerts import alert_rows
from tests.servers._common import Stalled
from tests.servers.prometheus import Server, free_port

FIXTURES = Path(__file__).parent / "fixtures" / "alertmanager"
WINDOW = Window(datetime(2023, 2, 14, 18, 0, tzinfo=UTC), datetime(2023, 2, 14, 19, 45, tzinfo=UTC))
QUERY = Query(WINDOW)


def at(hms: str) -> datetime:
    return datetime.fromisoformat(f"2023-02-14 {hms}").replace(tzinfo=UTC)


def export(*names: str) -> Export:
    return Export("alertmanager", tuple((name, (FIXTURES / name).read_text()) for name in names))


def test_help_says_alertmanager_keeps_no_history() -> None:
    assert "keeps NO alert history" in SPEC.help


def test_live_alerts_carry_annotations_and_a_no_history_note() -> None:
    result = parse_alertmanager(export("alerts.json"), QUERY)
    assert result.notes == (NO_HISTORY_NOTE,)
    assert [(p.where, p.reason) for p in result.problems] == [("alerts.json alert 3", "alert without alertname or startsAt")]
    frontend, php = (next(e for e in result.events if e.data["alertname"] == n) for n in ("FrontendUnavailable", "PHPFPMTooBusy"))
    assert frontend.time == at("18:37:20") and frontend.kind is EventKind.ALERT_FIRING
    assert frontend.data["summary"] == "varnish-text has reduced HTTP availability #page"
    assert frontend.data["runbook"] == "https://wikitech.wikimedia.org/wiki/Monitoring/FrontendUnavailable"
    assert frontend.data["dashboard"].startswith("https://grafana.wikimedia.org/")
    assert frontend.data["paged"] is True and frontend.data["ongoing"] is True
    assert frontend.data["fingerprint"] == "2c4c7b0b2f91a4d4"
    assert php.data["state"] == "suppressed" and php.data["silenced_by"] == ["6b1f4c8e-2d0a-4a57-9a4e-3f0d8c2b7e15"]
    # an alert live since before the window is left to the window filter (it is not in the window)
    assert all(e.data["alertname"] != "LongRunning" for e in result.events)


def test_live_alerts_enrich_prometheus_intervals_with_the_same_labels() -> None:
    from incidentkit.sources.prometheus import parse_prometheus

    prometheus = Export(
        "prometheus",
        (
            (
                "ALERTS.json",
                '{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"ALERTS",'
                '"alertname":"FrontendUnavailable","alertstate":"firing","cluster":"cache_text","severity":"page",'
                '"site":"eqiad","team":"sre"},"values":[[1676399880,"1"],[1676399940,"1"]]}]}}',
            ),
        ),
        {"step": 60, "end": "2023-02-14T19:45:00Z"},
    )
    events = list(parse_prometheus(prometheus, QUERY).events) + [
        e for e in parse_alertmanager(export("alerts.json"), QUERY).events if e.data["alertname"] == "FrontendUnavailable"
    ]
    rows = alert_rows(events)
    firing = [r for r in rows if r.kind is EventKind.ALERT_FIRING]
    assert len(firing) == 1
    assert firing[0].data["summary"] == "varnish-text has reduced HTTP availability #page"
    assert firing[0].url == "https://wikitech.wikimedia.org/wiki/Monitoring/FrontendUnavailable"
    assert firing[0].text == "FrontendUnavailable firing, paged: varnish-text has reduced HTTP availability"
    assert firing[0].data["sources"] == ["alertmanager", "prometheus"]


def test_silences_created_or_active_in_the_window() -> None:
    result = parse_alertmanager(export("silences.json"), QUERY)
    silences = [e for e in result.events if e.kind is EventKind.SILENCE]
    assert [s.key for s in silences] == [
        "alertmanager:silence:0d4e1a9b-7c3f-4b8e-8f55-1a2b3c4d5e6f",
        "alertmanager:silence:6b1f4c8e-2d0a-4a57-9a4e-3f0d8c2b7e15",
    ]
    older, during = silences
    assert older.time == WINDOW.start and "(active since 2023-02-14 09:14 UTC)" in older.text
    assert "severity!=page" in older.text and "instance=~db1173.*" in older.text
    assert during.actor == "cwhite" and during.tasks == ("T329510",)
    assert during.text == (
        "Silence for alertname=PHPFPMTooBusy, site=eqiad until 2023-02-14 20:44 UTC: "
        "flapping while the backport revert rolls out, see T329510"
    )
    assert during.data["alertname"] == "PHPFPMTooBusy"
    assert [(p.where, p.reason) for p in result.problems] == [
        ("silences.json silence 4", "silence without matchers, startsAt or endsAt")
    ]
    assert NO_HISTORY_NOTE not in result.notes  # silences are history


def test_webhook_payload_log() -> None:
    result = parse_alertmanager(export("webhook-payloads.jsonl"), QUERY)
    assert sorted((p.where, p.reason) for p in result.problems) == [
        ("webhook-payloads.jsonl:3", "not a JSON object"),
        ("webhook-payloads.jsonl:4", "neither a webhook payload nor a logged alert"),
        ("webhook-payloads.jsonl:6", "alert without alertname, status or startsAt"),
    ]
    assert result.lines_read == 6
    rows = alert_rows(result.events)
    assert [r.text for r in rows] == [
        "FrontendUnavailable firing (2 instances: eqiad, esams), paged: varnish-text has reduced HTTP availability",
        "FrontendUnavailable resolved after 15 min",
    ]
    assert rows[0].time == datetime(2023, 2, 14, 18, 37, 20, 123456, tzinfo=UTC)  # nanoseconds cut to micro
    assert rows[0].data["notifications"] == 5  # eqiad fired in two payloads, esams in one, both resolved in one
    firing = [e for e in result.events if e.kind is EventKind.ALERT_FIRING]
    assert all(e.data["origin"] == "webhook" and not e.data["ongoing"] for e in firing)


def test_webhook_logger_flat_lines() -> None:
    result = parse_alertmanager(export("webhook-logger.log"), QUERY)
    assert [(p.where, p.reason) for p in result.problems] == [
        ("webhook-logger.log:5", "neither a webhook payload nor a logged alert")
    ]
    first = result.events[0]
    assert first.data["labels"] == {
        "alertname": "PHPFPMTooBusy",
        "cluster": "appserver",
        "severity": "critical",
        "site": "eqiad",
        "team": "serviceops",
    }
    assert first.data["notified_at"] == "2023-02-14T18:36:30.412000+00:00"
    assert [r.text for r in alert_rows(result.events)] == [
        "PHPFPMTooBusy firing: Not enough idle php7.4-fpm.service workers for Mediawiki appserver at eqiad (flapping: fired 2 times)",
        "PHPFPMTooBusy resolved after 10 min",
    ]


def test_pull_needs_url_or_path_and_reports_unreachable_servers(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="neither url nor path"):
        AlertmanagerSource(AlertmanagerSettings()).pull(QUERY)
    with pytest.raises(SourceError, match="cannot connect"):
        AlertmanagerSource(AlertmanagerSettings(url=f"http://127.0.0.1:{free_port()}", timeout=2)).pull(QUERY)
    with pytest.raises(SourceError, match="does not exist"):
        AlertmanagerSource(AlertmanagerSettings(path=str(tmp_path / "missing"))).pull(QUERY)


def test_pull_reads_the_webhook_log_folder(tmp_path: Path) -> None:
    (tmp_path / "webhook-2023-02-14.log").write_text((FIXTURES / "webhook-logger.log").read_text())
    (tmp_path / "webhook-2023-01-01.log").write_text("{}\n")  # far from the window: not read
    (tmp_path / "webhook-2023-02-13.log.gz").write_bytes(b"\x1f\x8b")
    pulled = AlertmanagerSource(AlertmanagerSettings(path=str(tmp_path))).pull(QUERY)
    assert [name for name, _ in pulled.files] == ["webhook/webhook-2023-02-14.log"]
    result = parse_alertmanager(pulled, QUERY)
    assert len(result.events) == 4
    assert result.notes == ("Alertmanager webhook log files not read (compressed): webhook-2023-02-13.log.gz",)


KEYS = ["labels", "annotations", "startsAt", "endsAt", "status", "alerts", "receiver", "matchers", "alertname", "name", "value", "fingerprint", "summary", "comment", "createdBy", "id"]
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8) | st.sampled_from(["2023-02-14T18:30:00Z", "firing", "resolved"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=5),
    max_leaves=25,
)


@pytest.mark.parametrize("annotations", [1, "runbook", ["summary"], None])
def test_annotations_that_are_no_object_are_ignored(annotations: object) -> None:
    alert = {"labels": {"alertname": "ProbeDown"}, "annotations": annotations, "startsAt": "2023-02-14T18:30:00Z",
             "status": {"state": "active"}}  # fmt: skip
    payload = {"alerts": [{**alert, "status": "firing"}], "commonAnnotations": annotations}
    for body in (json.dumps([alert]), json.dumps(payload)):
        result = parse_alertmanager(Export("alertmanager", (("x", body),)), QUERY)
        assert [(e.data["alertname"], e.time, e.data.get("summary")) for e in result.events] == [("ProbeDown", at("18:30:00"), None)]
        assert result.problems == ()


@given(VALUES)
@settings(max_examples=300, deadline=None)
def test_parse_never_crashes_on_noise(value: object) -> None:
    for body, records in ((json.dumps(value), len(value) if isinstance(value, list) else 1), (json.dumps([value]), 1),
                          ("Feb 14 18:38:41 host logger: " + json.dumps(value), 1)):  # fmt: skip
        result = parse_alertmanager(Export("alertmanager", (("x", body),)), QUERY)
        assert result.lines_read == records
        assert all(WINDOW.start <= e.time and (e.started or e.time) < WINDOW.end for e in result.events)
        assert [(e.time, e.key) for e in result.events] == sorted((e.time, e.key) for e in result.events)
        assert all(len(p.text) <= 120 for p in result.problems)
        alert_rows(list(result.events))


# Well-formed webhook records written from what they mean, so the expected events come from the
# strategy: (alertname, fingerprint, status, startsAt, endsAt, summary). Times fall around the window.
MINUTE = timedelta(minutes=1)
ALERTS = st.builds(
    lambda name, print_id, resolved, start, length, summary: (
        name, print_id, "resolved" if resolved else "firing", WINDOW.start + start * MINUTE,
        WINDOW.start + (start + length) * MINUTE if resolved else None, summary,
    ),
    st.sampled_from(["FrontendUnavailable", "PHPFPMTooBusy", "ProbeDown"]), st.sampled_from(["a1", "b2"]),
    st.booleans(), st.integers(-30, 120), st.integers(1, 30), st.text(max_size=30),
)  # fmt: skip
NOISE = st.one_of(
    st.text(alphabet="abc :;-]0123456789", min_size=1).filter(str.strip),  # no JSON object at all
    st.text(alphabet="abc :;-]0123456789").map(lambda t: "{" + t),  # a brace, then no JSON
    st.dictionaries(st.sampled_from(["msg", "level", "receiver"]), st.text(max_size=5), max_size=3).map(json.dumps),
)


def _iso(when: datetime | None) -> str:
    return "0001-01-01T00:00:00Z" if when is None else when.strftime("%Y-%m-%dT%H:%M:%S.%f123Z")


def _logged(alert: tuple, flat: bool) -> dict:  # type: ignore[type-arg]
    name, print_id, status, starts, ends, summary = alert
    times = {"status": status, "startsAt": _iso(starts), "endsAt": _iso(ends), "fingerprint": print_id}
    if flat:  # alertmanager-webhook-logger: one flattened alert per line
        return {"alertname": name, "instance": "mw1", "summary": summary, **times}
    return {"labels": {"alertname": name, "instance": "mw1"}, "annotations": {"summary": summary}, **times}


@given(st.lists(st.tuples(st.sampled_from(["flat", "payload", "noise"]), ALERTS, NOISE, st.booleans()), max_size=20))
@settings(max_examples=300, deadline=None)
def test_webhook_logs_give_each_alert_once_and_each_bad_line_one_problem(lines: list[tuple]) -> None:  # type: ignore[type-arg]
    text, expected, bad = [], {}, 0
    for form, alert, noise, prefixed in lines:
        if form == "noise":
            text.append(noise)
            bad += 1
            continue
        record = _logged(alert, form == "flat")
        if form == "payload":
            record = {"version": "4", "status": alert[2], "receiver": "irc", "alerts": [record]}
        text.append(("Feb 14 18:38:41 host logger: " if prefixed else "") + json.dumps(record))
        name, print_id, status, starts, ends, summary = alert
        seen = expected.get((name, print_id, status, starts))  # repeats of one notification: the first one stands, counted
        when = ends if status == "resolved" else starts
        expected[(name, print_id, status, starts)] = (seen[0], seen[1], seen[2] + 1) if seen else (when, summary, 1)
    expected = {  # in the window, or (resolved) a span that overlaps it
        key: value for key, value in expected.items()
        if WINDOW.start <= value[0] < WINDOW.end or (key[2] == "resolved" and key[3] < WINDOW.end and value[0] >= WINDOW.start)
    }  # fmt: skip
    result = parse_alertmanager(Export("alertmanager", (("webhook/w.log", "\n".join(text) + "\n"),)), QUERY)
    assert result.lines_read == len(lines)
    assert len(result.problems) == bad
    got = {
        (e.data["alertname"], e.data["fingerprint"], "resolved" if e.kind is EventKind.ALERT_RESOLVED else "firing",
         e.started or e.time): (e.time, e.data.get("summary") or "", e.data["notifications"])
        for e in result.events
    }  # fmt: skip
    assert got == expected
    assert len(result.events) == len(expected)


@pytest.mark.integration
def test_real_alertmanager_alerts_and_silences(alertmanager_server: Server) -> None:
    posted_at: datetime = alertmanager_server.extra["posted_at"]
    query = Query(Window(posted_at - timedelta(hours=1), posted_at + timedelta(minutes=10)))
    pulled = AlertmanagerSource(AlertmanagerSettings(url=alertmanager_server.url)).pull(query)
    assert [name for name, _ in pulled.files] == ["alerts.json", "silences.json"]
    result = parse_alertmanager(pulled, query)
    assert result.notes == (NO_HISTORY_NOTE,) and not result.problems
    live = {e.data["alertname"]: e for e in result.events if e.kind is EventKind.ALERT_FIRING}
    assert set(live) == {"FrontendUnavailable", "PHPFPMTooBusy"}  # the resolved DiskSpaceLow is gone: no history
    assert live["FrontendUnavailable"].time == posted_at - timedelta(minutes=10)
    assert live["FrontendUnavailable"].data["runbook"] == "https://wikitech.wikimedia.org/wiki/Monitoring/FrontendUnavailable"
    assert live["FrontendUnavailable"].data["fingerprint"] == "2c4c7b0b2f91a4d4"
    assert live["PHPFPMTooBusy"].data["state"] == "suppressed"
    silences = {e.actor: e for e in result.events if e.kind is EventKind.SILENCE}
    assert set(silences) == {"jdoe", "asmith"}
    assert silences["jdoe"].tasks == ("T329001",) and silences["jdoe"].data["state"] == "active"
    assert silences["asmith"].tasks == ("T329002",) and silences["asmith"].data["state"] == "expired"
    assert "instance=~mw13.*" in silences["asmith"].text
    rows = alert_rows(result.events)
    assert any(r.text.startswith("FrontendUnavailable firing, paged: varnish-text") and r.data["ongoing"] for r in rows)


@pytest.mark.integration
def test_real_alertmanager_check(alertmanager_server: Server, tmp_path: Path) -> None:
    (tmp_path / "webhook.log").write_text("{}\n")
    source = AlertmanagerSource(AlertmanagerSettings(url=alertmanager_server.url, path=str(tmp_path)))
    assert source.check() == f"Alertmanager 0.25.0 (cluster disabled); 1 log file(s) under {tmp_path}"


@pytest.mark.integration
def test_real_alertmanager_wrong_path_is_a_clear_error(alertmanager_server: Server) -> None:
    source = AlertmanagerSource(AlertmanagerSettings(url=alertmanager_server.url + "/api/v2"))
    with pytest.raises(SourceError) as info:
        source.pull(QUERY)
    assert "HTTP 404" in info.value.message


# --- pull and check against recorded answers ---------------------------------------------------------


def test_pull_saves_the_v2_answers_and_the_webhook_log(httpserver: HTTPServer, tmp_path: Path) -> None:
    alerts, silences = ((FIXTURES / name).read_text() for name in ("alerts.json", "silences.json"))
    httpserver.expect_ordered_request("/am/api/v2/alerts").respond_with_data(alerts, content_type="application/json")
    httpserver.expect_ordered_request("/am/api/v2/silences").respond_with_data(silences, content_type="application/json")
    (tmp_path / "webhook-2023-02-14.log").write_text((FIXTURES / "webhook-logger.log").read_text())
    url = "http://am:pw@" + httpserver.url_for("/am/").split("//", 1)[1]
    source = AlertmanagerSource(AlertmanagerSettings(url=url, path=str(tmp_path)), paging_labels={"team": "sre"})
    pulled = source.pull(QUERY)
    assert [name for name, _ in pulled.files] == ["alerts.json", "silences.json", "webhook/webhook-2023-02-14.log"]
    assert pulled.files[0][1] == alerts and pulled.files[1][1] == silences
    assert pulled.meta == {"paging_labels": {"team": "sre"}, "url": url.replace("am:pw@", "am:****@"), "skipped_files": []}
    assert AlertmanagerSource(AlertmanagerSettings(url=url)).paging_labels == {"severity": "page"}


@pytest.mark.parametrize("answer", ['{"alerts": []}', "[1]", '[{"labels": {}}, "x"]'])
def test_pull_refuses_answers_that_are_no_list_of_objects(httpserver: HTTPServer, answer: str) -> None:
    httpserver.expect_request("/api/v2/alerts").respond_with_data(answer)
    with pytest.raises(SourceError) as caught:
        AlertmanagerSource(AlertmanagerSettings(url=httpserver.url_for("/"))).pull(QUERY)
    assert caught.value.message == (
        f"alertmanager: {httpserver.url_for('/api/v2/alerts')} answered JSON of an unexpected shape, "
        "not the list of objects of the v2 API"
    )
    assert caught.value.hint == "[alertmanager] url should be the Alertmanager itself (its /api/v2 is appended)"


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ({"versionInfo": {"version": "0.25.0"}, "cluster": {"status": "ready"}}, "Alertmanager 0.25.0 (cluster ready)"),
        ({"versionInfo": {}, "cluster": {}}, "Alertmanager ? (cluster ?)"),
        ({"versionInfo": "0.25", "cluster": "ready"}, "Alertmanager ? (cluster ?)"),
        ([], "Alertmanager ? (cluster ?)"),
    ],
)
def test_check_names_version_and_cluster(httpserver: HTTPServer, status: object, expected: str) -> None:
    httpserver.expect_request("/api/v2/status").respond_with_json(status)
    assert AlertmanagerSource(AlertmanagerSettings(url=httpserver.url_for("/"))).check() == expected


def test_check_without_url_or_path_and_with_a_log_folder(httpserver: HTTPServer, tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="neither url nor path is configured") as caught:
        AlertmanagerSource(AlertmanagerSettings()).check()
    assert caught.value.hint == "set url or path in [alertmanager]"
    (tmp_path / "webhook-2023-02-14.log").write_text("{}\n")
    assert AlertmanagerSource(AlertmanagerSettings(path=str(tmp_path))).check() == f"1 log file(s) under {tmp_path}"
    httpserver.expect_request("/api/v2/status").respond_with_json({"versionInfo": {"version": "0.27.0"}, "cluster": {"status": "settling"}})
    both = AlertmanagerSource(AlertmanagerSettings(url=httpserver.url_for("/"), path=str(tmp_path))).check()
    assert both == f"Alertmanager 0.27.0 (cluster settling); 1 log file(s) under {tmp_path}"


def test_webhook_log_problems_and_events_written_out_by_hand() -> None:
    pad = "z" * 150  # past the 120 characters a problem quotes
    valid = {"labels": {"alertname": "ProbeDown", "instance": "mw1", "team": "sre"}, "status": "firing",
             "startsAt": "2023-02-14T18:30:00Z", "fingerprint": "f1"}  # fmt: skip
    no_labels = {"labels": "none", "note": pad}
    payload = {"version": "4", "status": "firing", "receiver": "irc", "commonAnnotations": {"summary": "common summary"},
               "alerts": ["x", valid, no_labels], "ts": "2023-02-14T18:30:05Z"}  # fmt: skip
    flat = {"time": "2023-02-14T18:32:10Z", "alertname": "PHPFPMTooBusy", "status": "firing",
            "startsAt": "2023-02-14T18:32:00Z", "message": "workers busy", "site": "eqiad", "team": "sre"}  # fmt: skip
    pending = {"alertname": "X", "status": "pending", "startsAt": "2023-02-14T18:33:00Z", "description": pad}
    unresolved = {"alertname": "Y", "status": "resolved", "startsAt": "2023-02-14T18:34:00Z", "summary": pad}
    chatter = {"status": "ok", "msg": pad}
    broken = 'Feb 14 18:40:01 host logger: {"broken' + pad
    lines = ["Feb 14 18:40:00 host logger: no json here " + pad, "", broken, json.dumps(payload), json.dumps(flat),
             json.dumps(pending), json.dumps(unresolved), json.dumps(chatter)]  # fmt: skip
    export = Export("alertmanager", (("w.log", "\n".join(lines) + "\n"),), {"paging_labels": {"team": "sre"}})
    result = parse_alertmanager(export, QUERY)
    assert result.lines_read == 7  # the blank line is not a line read
    assert [(p.where, p.reason, p.text) for p in result.problems] == [
        ("w.log:1", "no JSON object on the line", lines[0][:120]),
        ("w.log:3", "not a JSON object", broken[:120]),
        ("w.log:4 alert 1", "alert without labels", '"x"'),
        ("w.log:4 alert 3", "alert without labels", json.dumps(no_labels)[:120]),
        ("w.log:6", "alert without alertname, status or startsAt", json.dumps(pending)[:120]),
        ("w.log:7", "resolved alert without endsAt", json.dumps(unresolved)[:120]),
        ("w.log:8", "neither a webhook payload nor a logged alert", json.dumps(chatter)[:120]),
    ]
    probe, php = result.events
    assert (probe.time, probe.data["alertname"], probe.data["summary"]) == (at("18:30:00"), "ProbeDown", "common summary")
    assert probe.data["notified_at"] == "2023-02-14T18:30:05+00:00" and probe.data["paged"] is True
    assert probe.data["fingerprint"] == "f1" and probe.data["notifications"] == 1
    assert probe.raw == json.dumps(valid, sort_keys=True)
    assert (php.time, php.data["alertname"], php.data["summary"]) == (at("18:32:00"), "PHPFPMTooBusy", "workers busy")
    assert php.data["notified_at"] == "2023-02-14T18:32:10+00:00" and php.data["paged"] is True
    assert php.data["labels"] == {"alertname": "PHPFPMTooBusy", "site": "eqiad", "team": "sre"}


# --- each field written out by hand ------------------------------------------------------------------


def live(*alerts: object, name: str = "alerts.json") -> Export:
    return Export("alertmanager", ((name, json.dumps(list(alerts))),))


@pytest.mark.parametrize(
    ("starts_at", "expected"),
    [
        ("2023-02-14T18:30:00Z", datetime(2023, 2, 14, 18, 30, tzinfo=UTC)),
        (" 2023-02-14T18:30:00Z ", datetime(2023, 2, 14, 18, 30, tzinfo=UTC)),
        ("2023-02-14T18:30:00.5Z", datetime(2023, 2, 14, 18, 30, 0, 500000, tzinfo=UTC)),
        ("2023-02-14T18:30:00.123456789Z", datetime(2023, 2, 14, 18, 30, 0, 123456, tzinfo=UTC)),
        ("2023-02-14T19:30:00.25+01:00", datetime(2023, 2, 14, 18, 30, 0, 250000, tzinfo=UTC)),
        ("2023-02-14T13:30:00-05:00", datetime(2023, 2, 14, 18, 30, tzinfo=UTC)),
        ("2023-02-14T18:30:00", datetime(2023, 2, 14, 18, 30, tzinfo=UTC)),  # no offset: UTC
        ("1970-01-01T00:00:00Z", None),  # before the window: read, then left out
        ("0001-01-01T00:00:00Z", "problem"),  # Go's zero time: unset
        ("1969-12-31T23:59:59Z", "problem"),
        ("", "problem"),
        ("yesterday", "problem"),
        (1676399400, "problem"),
    ],
    ids=["z", "spaces", "tenth", "nanoseconds", "offset-fraction", "negative-offset", "naive", "epoch", "go-zero",
         "before-1970", "empty", "words", "number"],
)  # fmt: skip
def test_start_times_as_alertmanager_writes_them(starts_at: object, expected: object) -> None:
    result = parse_alertmanager(live({"labels": {"alertname": "ProbeDown"}, "startsAt": starts_at}), QUERY)
    if expected == "problem":
        assert [(p.where, p.reason) for p in result.problems] == [("alerts.json alert 1", "alert without alertname or startsAt")]
        assert result.events == ()
        return
    assert result.problems == ()
    assert [e.time for e in result.events] == ([expected] if expected else [])


def test_a_live_alert_event_field_by_field() -> None:
    alert = {"labels": {"alertname": "FrontendUnavailable", "cluster": "cache_text", "severity": "page", "site": "eqiad",
                        "team": "sre", "host": "cp1001"},
             "annotations": {"description": "described", "runbook_url": "https://runbooks/x", "dashboard_url": "https://grafana/x",
                             "summary": ""},
             "startsAt": "2023-02-14T18:37:20Z", "endsAt": "2023-02-14T19:05:43Z", "fingerprint": "f00d",
             "status": {"state": "suppressed", "silencedBy": ["s1", "s2"]}}  # fmt: skip
    (event,) = parse_alertmanager(live(alert), QUERY).events
    assert event.kind is EventKind.ALERT_FIRING and event.source == "alertmanager"
    assert event.time == at("18:37:20") and event.started is None
    assert event.key == "alertmanager:live:FrontendUnavailable:f00d:1676399840:firing"
    assert event.text == "FrontendUnavailable firing (live in Alertmanager) on cp1001: described"
    assert event.url == "https://runbooks/x"
    assert event.raw == json.dumps(alert, sort_keys=True)
    assert event.data["instance"] == "cp1001" and event.data["severity"] == "page" and event.data["paged"] is True
    assert (event.data["summary"], event.data["runbook"], event.data["dashboard"]) == ("described", "https://runbooks/x", "https://grafana/x")
    assert event.data["notifications"] == 0 and event.data["ongoing"] is True
    assert (event.data["origin"], event.data["fingerprint"]) == ("api", "f00d")
    assert (event.data["state"], event.data["silenced_by"]) == ("suppressed", ["s1", "s2"])


def test_a_live_alert_without_fingerprint_gets_alertmanagers() -> None:
    # the labels and fingerprint of FrontendUnavailable in alerts.json, as a real Alertmanager wrote them
    labels = {"alertname": "FrontendUnavailable", "cluster": "cache_text", "severity": "page", "site": "eqiad", "team": "sre"}
    alert = {"labels": {**labels, "alertstate": "firing"}, "startsAt": "2023-02-14T18:37:20Z",
             "annotations": {"message": "a message", "runbook": "wikitech: Monitoring", "summary": "sum"}}  # fmt: skip
    (event,) = parse_alertmanager(live(alert), QUERY).events
    assert event.data["fingerprint"] == "2c4c7b0b2f91a4d4"
    assert event.key == "alertmanager:live:FrontendUnavailable:2c4c7b0b2f91a4d4:1676399840:firing"
    assert event.url is None and event.data["runbook"] == "wikitech: Monitoring"  # not a link: no url
    assert event.text == "FrontendUnavailable firing (live in Alertmanager): sum"
    assert "instance" not in event.data and "dashboard" not in event.data
    assert "state" not in event.data  # no status object: no state
    assert event.data["silenced_by"] == []


@pytest.mark.parametrize(
    ("labels", "summary", "paged"),
    [
        ({"team": "sre"}, "", True),
        ({"team": "other"}, "", False),
        ({"team": "other"}, "disk full #page", True),
        ({"team": "other"}, "disk full #pager", True),
        ({"team": "other"}, "disk full page", False),
    ],
    ids=["label", "no-label", "hash-page", "hash-page-prefix", "bare-page"],
)
def test_paged_by_the_exports_paging_labels_or_a_page_tag(labels: dict[str, str], summary: str, paged: bool) -> None:
    alert = {"labels": {"alertname": "X", **labels}, "annotations": {"summary": summary}, "startsAt": "2023-02-14T18:30:00Z"}
    export = Export("alertmanager", (("alerts.json", json.dumps([alert])),), {"paging_labels": {"team": "sre"}})
    (event,) = parse_alertmanager(export, QUERY).events
    assert event.data["paged"] is paged


def test_paging_labels_default_to_severity_page() -> None:
    alerts = [{"labels": {"alertname": name, "severity": severity}, "startsAt": "2023-02-14T18:30:00Z"}
              for name, severity in (("A", "page"), ("B", "critical"))]  # fmt: skip
    for meta in (None, {"paging_labels": ["severity"]}):
        result = parse_alertmanager(Export("alertmanager", (("alerts.json", json.dumps(alerts)),), meta), QUERY)
        assert {e.data["alertname"]: e.data["paged"] for e in result.events} == {"A": True, "B": False}


def test_webhook_alerts_firing_and_resolved_field_by_field() -> None:
    firing = {"labels": {"alertname": "ProbeDown", "instance": "mw1:443", "severity": "critical"}, "status": "firing",
              "annotations": {"summary": "probe failed", "runbook": "https://r/probe"},
              "startsAt": "2023-02-14T18:30:00Z", "endsAt": "0001-01-01T00:00:00Z", "fingerprint": "p1"}  # fmt: skip
    resolved = {**firing, "status": "resolved", "endsAt": "2023-02-14T18:45:00Z"}
    payload = {"version": "4", "status": "firing", "receiver": "irc", "alerts": [firing, resolved]}
    text = json.dumps({**payload, "time": "2023-02-14T18:45:30Z"}) + "\n"
    fired, ended = parse_alertmanager(Export("alertmanager", (("w.log", text),)), QUERY).events
    assert (fired.kind, fired.time, fired.started) == (EventKind.ALERT_FIRING, at("18:30:00"), None)
    assert fired.key == "alertmanager:ProbeDown:p1:1676399400:firing"
    assert fired.text == "ProbeDown firing on mw1:443: probe failed"
    assert (ended.kind, ended.time, ended.started) == (EventKind.ALERT_RESOLVED, at("18:45:00"), at("18:30:00"))
    assert ended.key == "alertmanager:ProbeDown:p1:1676399400:resolved"
    assert ended.text == "ProbeDown resolved on mw1:443: probe failed"
    for event in (fired, ended):
        assert event.url == "https://r/probe" and event.data["severity"] == "critical" and event.data["paged"] is False
        assert event.data["notifications"] == 1 and event.data["ongoing"] is False and event.data["origin"] == "webhook"
        assert event.data["notified_at"] == "2023-02-14T18:45:30+00:00"


def test_a_firing_alert_is_placed_at_its_start_whatever_its_end_says() -> None:
    alert = {"labels": {"alertname": "X"}, "status": "firing", "startsAt": "2023-02-14T18:30:00Z", "endsAt": "2023-02-14T18:50:00Z"}
    (event,) = parse_alertmanager(Export("alertmanager", (("w.log", json.dumps({"alerts": [alert]})),)), QUERY).events
    assert (event.kind, event.time, event.started) == (EventKind.ALERT_FIRING, at("18:30:00"), None)


def test_a_webhook_fingerprint_that_is_no_string_is_computed_and_a_missing_stamp_is_left_out() -> None:
    labels = {"alertname": "FrontendUnavailable", "cluster": "cache_text", "severity": "page", "site": "eqiad", "team": "sre"}
    alert = {"labels": labels, "status": "firing", "startsAt": "2023-02-14T18:37:20Z", "fingerprint": 7}
    (event,) = parse_alertmanager(Export("alertmanager", (("w.log", json.dumps({"alerts": [alert]})),)), QUERY).events
    assert event.data["fingerprint"] == "2c4c7b0b2f91a4d4"  # as alerts.json's real Alertmanager computed it
    assert "notified_at" not in event.data


@pytest.mark.parametrize("field", ["timestamp", "time", "ts"])
def test_the_logger_stamp_is_read_from_each_of_its_names(field: str) -> None:
    record = {field: "2023-02-14T18:31:00Z", "alertname": "X", "status": "firing", "startsAt": "2023-02-14T18:30:00Z"}
    (event,) = parse_alertmanager(Export("alertmanager", (("w.log", json.dumps(record)),)), QUERY).events
    assert event.data["notified_at"] == "2023-02-14T18:31:00+00:00"


def test_flattened_logger_lines_keep_string_labels_and_the_annotations_apart() -> None:
    record = {"alertname": "X", "status": "firing", "startsAt": "2023-02-14T18:30:00Z", "endsAt": "0001-01-01T00:00:00Z",
              "generatorURL": "https://p", "externalURL": "https://am", "receiver": "irc", "fingerprint": "fx", "level": "info",
              "msg": "alert", "timestamp": "2023-02-14T18:30:01Z", "ts": "x", "time": "y", "instance": "db1", "count": 3,
              "summary": "s", "description": "d", "message": "m", "runbook": "https://r", "runbook_url": "u",
              "dashboard": "https://g", "dashboard_url": "v"}  # fmt: skip
    (event,) = parse_alertmanager(Export("alertmanager", (("w.log", json.dumps(record)),)), QUERY).events
    assert event.data["labels"] == {"alertname": "X", "instance": "db1"}
    assert (event.data["summary"], event.data["runbook"], event.data["dashboard"]) == ("s", "https://r", "https://g")
    assert event.data["fingerprint"] == "fx"


@pytest.mark.parametrize(
    ("annotations", "summary"),
    [({"summary": "S", "message": "M", "description": "D"}, "S"), ({"message": "M", "description": "D"}, "M"),
     ({"description": "D"}, "D"), ({"summary": "", "description": "D"}, "D"), ({"summary": 5}, "5"), ({}, None)],
    ids=["summary", "message", "description", "empty-summary", "number", "none"],
)  # fmt: skip
def test_the_summary_is_the_first_annotation_that_says_something(annotations: dict[str, object], summary: str | None) -> None:
    alert = {"labels": {"alertname": "X"}, "annotations": annotations, "startsAt": "2023-02-14T18:30:00Z"}
    (event,) = parse_alertmanager(live(alert), QUERY).events
    assert event.data.get("summary") == summary
    assert event.text == "X firing (live in Alertmanager)" + (f": {summary}" if summary else "")


def test_alertmanager_groups_are_read_alert_by_alert() -> None:
    one = {"labels": {"alertname": "A", "severity": "page"}, "startsAt": "2023-02-14T18:30:00Z"}
    two = {"labels": {"alertname": "B"}, "startsAt": "2023-02-14T18:31:00Z"}
    groups = [{"receiver": {"name": "irc"}, "labels": {}, "alerts": [one, "x"]}, {"receiver": {"name": "x"}, "alerts": None},
              5, {"receiver": {"name": "y"}, "alerts": [two]}]  # fmt: skip
    result = parse_alertmanager(Export("alertmanager", (("groups.json", json.dumps(groups)),)), QUERY)
    assert [(e.data["alertname"], e.time) for e in result.events] == [("A", at("18:30:00")), ("B", at("18:31:00"))]
    assert [(p.where, p.reason, p.text) for p in result.problems] == [
        ("groups.json group 1 alert 2", "alert without labels", '"x"'),
        ("groups.json group 2", "alert group without alerts", json.dumps(groups[1])),
        ("groups.json group 3", "alert group without alerts", "5"),
    ]
    assert result.lines_read == 4 and result.notes == (NO_HISTORY_NOTE,)
    assert result.source == "alertmanager"
    assert [e.data["paged"] for e in result.events] == [True, False]  # the default paging labels: severity=page


def test_alerts_are_read_as_a_group_only_with_both_its_keys() -> None:
    alerts = [{"labels": {"alertname": "A"}, "startsAt": "2023-02-14T18:30:00Z", "receiver": "irc"}]
    result = parse_alertmanager(live(*alerts), QUERY)
    assert [e.data["alertname"] for e in result.events] == ["A"] and result.problems == ()


def test_a_list_that_is_no_json_is_one_problem_and_the_note_is_given_once() -> None:
    alert = {"labels": {"alertname": "A"}, "startsAt": "2023-02-14T18:30:00Z"}
    broken = "[" + "x" * 200
    flat = {"alertname": "B", "status": "firing", "startsAt": "2023-02-14T18:31:00Z"}
    files = (("empty.json", " \n"), ("bad.json", broken), ("w.log", "\n".join([json.dumps(flat)] * 2)),
             ("alerts.json", json.dumps([alert])), ("again.json", json.dumps([alert, alert])), ("w2.log", json.dumps(flat)))  # fmt: skip
    result = parse_alertmanager(Export("alertmanager", files), QUERY)
    assert result.source == "alertmanager"
    ((where, reason, text),) = [(p.where, p.reason, p.text) for p in result.problems]
    assert where == "bad.json" and reason.startswith("not JSON: Expecting value") and text == broken[:120]
    assert result.notes == (NO_HISTORY_NOTE,)
    assert result.lines_read == 6  # three alerts in lists, three log lines
    assert [(e.data["alertname"], e.data["notifications"]) for e in result.events] == [("A", 0), ("B", 3)]


def test_the_compressed_log_files_left_unread_are_named() -> None:
    meta = {"skipped_files": ["webhook-2023-02-13.log.gz", "webhook-2023-02-12.log.gz"]}
    result = parse_alertmanager(Export("alertmanager", (), meta), QUERY)
    assert result.notes == (
        "Alertmanager webhook log files not read (compressed): webhook-2023-02-13.log.gz, webhook-2023-02-12.log.gz",
    )
    assert parse_alertmanager(Export("alertmanager", (), {"skipped_files": []}), QUERY).notes == ()


def test_raw_records_are_kept_up_to_2000_characters() -> None:
    pad = "q" * 3000
    alert = {"labels": {"alertname": "X"}, "annotations": {"description": pad}, "startsAt": "2023-02-14T18:30:00Z"}
    item = silence(comment=pad)
    event, quiet = parse_alertmanager(live(alert, name="a.json"), QUERY).events + parse_alertmanager(live(item, name="s.json"), QUERY).events
    fired = {**alert, "status": "firing"}
    (logged,) = parse_alertmanager(Export("alertmanager", (("w.log", json.dumps({"alerts": [fired]})),)), QUERY).events
    assert event.raw == json.dumps(alert, sort_keys=True)[:2000] and len(event.raw) == 2000
    assert quiet.raw == json.dumps(item, sort_keys=True)[:2000] and len(quiet.raw) == 2000
    assert logged.raw == json.dumps(fired, sort_keys=True)[:2000] and len(logged.raw) == 2000


def test_times_are_utc_whatever_the_local_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        record = {"time": "2023-02-14T19:31:00+01:00", "alertname": "X", "status": "firing", "startsAt": "2023-02-14T13:30:00-05:00"}
        (event,) = parse_alertmanager(Export("alertmanager", (("w.log", json.dumps(record)),)), QUERY).events
        assert event.data["notified_at"] == "2023-02-14T18:31:00+00:00"
        naive = {"alertname": "X", "status": "firing", "startsAt": "2023-02-14T18:30:00"}
        assert [e.time for e in parse_alertmanager(Export("alertmanager", (("w.log", json.dumps(naive)),)), QUERY).events] == [
            at("18:30:00")
        ]
        item = silence(startsAt="2023-02-14T19:30:00+01:00", endsAt="2023-02-14T15:00:00-05:00")
        (quiet,) = parse_alertmanager(live(item, name="s.json"), QUERY).events
        assert (quiet.data["starts_at"], quiet.data["ends_at"]) == ("2023-02-14T18:30:00+00:00", "2023-02-14T20:00:00+00:00")
        assert quiet.text == "Silence for alertname=X until 2023-02-14 20:00 UTC"
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_a_live_alert_without_labels_or_alertname_is_a_problem_quoting_it() -> None:
    pad = "p" * 150
    items = ["plain", {"labels": "x", "pad": pad}, {"labels": {"alertname": ""}, "startsAt": "2023-02-14T18:30:00Z", "pad": pad},
             {"labels": {"alertname": "X"}, "startsAt": "2023-02-14T18:30:00Z"}]  # fmt: skip
    result = parse_alertmanager(live(*items, name="a.json"), QUERY)
    assert [e.data["alertname"] for e in result.events] == ["X"]  # read on after the bad ones
    assert [(p.where, p.reason, p.text) for p in result.problems] == [
        ("a.json alert 1", "alert without labels", '"plain"'),
        ("a.json alert 2", "alert without labels", json.dumps(items[1])[:120]),
        ("a.json alert 3", "alert without alertname or startsAt", json.dumps(items[2])[:120]),
    ]


def silence(**fields: object) -> dict[str, object]:
    return {"id": "s1", "matchers": [{"name": "alertname", "value": "X", "isEqual": True, "isRegex": False}],
            "startsAt": "2023-02-14T18:30:00Z", "endsAt": "2023-02-14T20:00:00Z", "createdBy": "ana", **fields}  # fmt: skip


def test_silence_matchers_in_each_form() -> None:
    matchers = [{"name": "a", "value": "1", "isEqual": True, "isRegex": False}, {"name": "b", "value": "2.*", "isRegex": True},
                {"name": "c", "value": "3", "isEqual": False, "isRegex": False},
                {"name": "d", "value": "4.*", "isEqual": False, "isRegex": True}, "junk", {"name": "e", "value": "5"}]  # fmt: skip
    (event,) = parse_alertmanager(live(silence(matchers=matchers, createdBy="ana"), name="s.json"), QUERY).events
    assert event.data["matchers"] == "a=1, b=~2.*, c!=3, d!~4.*, e=5"
    assert event.text == "Silence for a=1, b=~2.*, c!=3, d!~4.*, e=5 until 2023-02-14 20:00 UTC"
    assert event.data["alertname"] is None


@pytest.mark.parametrize(
    ("matcher", "alertname"),
    [({"name": "alertname", "value": "X"}, "X"), ({"name": "alertname", "value": "X", "isEqual": True, "isRegex": False}, "X"),
     ({"name": "alertname", "value": "X.*", "isRegex": True}, None), ({"name": "alertname", "value": "X", "isEqual": False}, None),
     ({"name": "job", "value": "X"}, None)],
    ids=["default", "explicit", "regex", "not-equal", "other-label"],
)  # fmt: skip
def test_a_silence_names_its_alert_only_for_an_exact_alertname_matcher(matcher: dict[str, object], alertname: str | None) -> None:
    (event,) = parse_alertmanager(live(silence(matchers=[matcher]), name="s.json"), QUERY).events
    assert event.data.get("alertname") == alertname


def test_a_silence_event_field_by_field() -> None:
    item = silence(createdBy="ana", comment="maintenance T1234 and T5678", status={"state": "active"})
    (event,) = parse_alertmanager(live(item, name="s.json"), QUERY).events
    assert (event.kind, event.time, event.source, event.actor) == (EventKind.SILENCE, at("18:30:00"), "alertmanager", "ana")
    assert event.key == "alertmanager:silence:s1"
    assert event.text == "Silence for alertname=X until 2023-02-14 20:00 UTC: maintenance T1234 and T5678"
    assert event.tasks == ("T1234", "T5678")
    assert event.raw == json.dumps(item, sort_keys=True)
    assert event.data == {
        "silence_id": "s1", "matchers": "alertname=X", "alertname": "X", "starts_at": "2023-02-14T18:30:00+00:00",
        "ends_at": "2023-02-14T20:00:00+00:00", "state": "active", "comment": "maintenance T1234 and T5678",
        "created_by": "ana",
    }  # fmt: skip


def test_a_silence_without_creator_or_comment() -> None:
    (event,) = parse_alertmanager(live(silence(createdBy="", comment=None, startsAt="2023-02-14T17:00:00Z"), name="s.json"), QUERY).events
    assert event.actor is None and event.tasks == ()
    assert event.text == "Silence (creator unknown) for alertname=X until 2023-02-14 20:00 UTC (active since 2023-02-14 17:00 UTC)"
    assert event.time == WINDOW.start
    assert (event.data["created_by"], event.data["comment"], event.data["state"]) == (None, "", None)


def test_a_silence_from_the_window_start_is_not_active_since_before() -> None:
    (event,) = parse_alertmanager(live(silence(startsAt="2023-02-14T18:00:00Z"), name="s.json"), QUERY).events
    assert event.text == "Silence for alertname=X until 2023-02-14 20:00 UTC" and event.time == WINDOW.start


def test_a_silence_without_id_is_keyed_by_its_matchers_and_start() -> None:
    # the key hashes with Alertmanager's FNV-1a (model.alert, checked against real fingerprints in test_alerts)
    first = silence(id=None)
    later = silence(id="", startsAt="2023-02-14T18:31:00Z")
    events = parse_alertmanager(live(first, later, name="s.json"), QUERY).events
    assert [e.key for e in events] == [
        "alertmanager:silence:" + fingerprint({"m": "alertname=X", "s": "2023-02-14T18:30:00+00:00"}),
        "alertmanager:silence:" + fingerprint({"m": "alertname=X", "s": "2023-02-14T18:31:00+00:00"}),
    ]


@pytest.mark.parametrize(
    ("starts", "ends", "kept"),
    [
        ("2023-02-14T19:45:00Z", "2023-02-14T20:00:00Z", False),  # starts as the window ends
        ("2023-02-14T19:44:59Z", "2023-02-14T20:00:00Z", True),
        ("2023-02-14T17:00:00Z", "2023-02-14T18:00:00Z", False),  # ends as the window starts
        ("2023-02-14T17:00:00Z", "2023-02-14T18:00:01Z", True),
    ],
    ids=["starts-at-end", "starts-before-end", "ends-at-start", "ends-after-start"],
)
def test_silences_at_the_window_edges(starts: str, ends: str, kept: bool) -> None:
    result = parse_alertmanager(live(silence(startsAt=starts, endsAt=ends), name="s.json"), QUERY)
    assert len(result.events) == int(kept) and result.problems == ()


@pytest.mark.parametrize(
    "item",
    ["junk", {"id": "a", "startsAt": "2023-02-14T18:30:00Z", "endsAt": "2023-02-14T20:00:00Z", "matchers": "alertname=X"},
     {"id": "b", "matchers": [], "endsAt": "2023-02-14T20:00:00Z"}, {"id": "c", "matchers": [], "startsAt": "2023-02-14T18:30:00Z"}],
    ids=["no-object", "matchers-no-list", "no-start", "no-end"],
)  # fmt: skip
def test_a_broken_silence_is_a_problem_quoting_it(item: object) -> None:
    result = parse_alertmanager(live(item, silence(), name="s.json"), QUERY)
    assert [(p.where, p.reason, p.text) for p in result.problems] == [
        ("s.json silence 1", "silence without matchers, startsAt or endsAt", json.dumps(item)[:120])
    ]
    assert len(result.events) == 1


def test_pull_counts_the_characters_it_had_to_replace(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/v2/alerts").respond_with_data('[{"labels": {"alertname": "A\\ud800\\udfff\\ud801"}}]')
    httpserver.expect_request("/api/v2/silences").respond_with_data('[{"comment": "\\udc00"}]')
    pulled = AlertmanagerSource(AlertmanagerSettings(url=httpserver.url_for("/"))).pull(QUERY)
    assert pulled.meta["replaced_characters"] == 2
    assert "\\ud801" not in pulled.files[0][1] and "\\udc00" not in pulled.files[1][1]


def test_pull_without_replaced_characters_says_nothing_of_them(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/v2/alerts").respond_with_data("[]")
    httpserver.expect_request("/api/v2/silences").respond_with_data("[]")
    url = httpserver.url_for("/") + "/"
    pulled = AlertmanagerSource(AlertmanagerSettings(url=url)).pull(QUERY)
    assert pulled.meta == {"paging_labels": {"severity": "page"}, "url": url}
    assert pulled.files == (("alerts.json", "[]"), ("silences.json", "[]"))


# --- the source as the registry builds it: credentials, secrets, hints, timeouts ----------------------


def test_the_registry_builds_the_source_from_the_config(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AM_TOKEN", "s3cret-am-token")
    am = AlertmanagerSettings(url=httpserver.url_for("/"), token_env="AM_TOKEN")
    source = SPEC.factory(Settings(alertmanager=am, prometheus=PrometheusSettings(paging_labels={"team": "sre"})))
    assert isinstance(source, AlertmanagerSource) and source.settings is am
    assert source.paging_labels == {"team": "sre"} and source.secrets == ("s3cret-am-token",)
    httpserver.expect_request("/api/v2/status", headers={"Authorization": "Bearer s3cret-am-token"}).respond_with_json(
        {"versionInfo": {"version": "0.25.0"}, "cluster": {"status": "ready"}}
    )
    assert source.check() == "Alertmanager 0.25.0 (cluster ready)"


def test_without_url_or_path_pull_and_check_say_what_to_set() -> None:
    source = AlertmanagerSource(AlertmanagerSettings())
    with pytest.raises(SourceError) as pulled:
        source.pull(QUERY)
    assert pulled.value.message == "alertmanager: neither url nor path is configured"
    assert pulled.value.hint == (
        "set url (the Alertmanager) or path (a webhook log) in [alertmanager], or give --input alertmanager=FILE"
    )
    with pytest.raises(SourceError) as checked:
        source.check()
    assert checked.value.message == "alertmanager: neither url nor path is configured"


def test_a_missing_log_path_points_at_the_path_setting(tmp_path: Path) -> None:
    source = AlertmanagerSource(AlertmanagerSettings(path=str(tmp_path / "missing")))
    for call in (lambda: source.pull(QUERY), source.check):
        with pytest.raises(SourceError) as caught:
            call()
        assert caught.value.message == f"alertmanager: {tmp_path / 'missing'} does not exist"
        assert caught.value.hint == "check [alertmanager] path"


def test_the_api_is_found_under_a_url_with_or_without_its_slash(httpserver: HTTPServer) -> None:
    for endpoint in ("/amX/api/v2/alerts", "/amX/api/v2/silences"):
        httpserver.expect_request(endpoint).respond_with_data("[]")
    httpserver.expect_request("/amX/api/v2/status").respond_with_json({"versionInfo": {"version": "0.27.0"}})
    for url in (httpserver.url_for("/amX"), httpserver.url_for("/amX/")):
        source = AlertmanagerSource(AlertmanagerSettings(url=url))
        assert source.pull(QUERY).source == "alertmanager"
        assert source.check() == "Alertmanager 0.27.0 (cluster ?)"


def test_the_registry_knows_when_the_source_is_configured() -> None:
    assert SPEC.configured(Settings(alertmanager=AlertmanagerSettings(url="http://am"))) is True
    assert SPEC.configured(Settings(alertmanager=AlertmanagerSettings(path="/var/log/am"))) is True
    assert SPEC.configured(Settings()) is False


def test_basic_auth_from_user_and_password_env(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AM_PASSWORD", "pw")
    settings = AlertmanagerSettings(url=httpserver.url_for("/"), user="am", password_env="AM_PASSWORD")
    for endpoint in ("/api/v2/alerts", "/api/v2/silences"):  # "am:pw" in base64
        httpserver.expect_request(endpoint, headers={"Authorization": "Basic YW06cHc="}).respond_with_data("[]")
    assert AlertmanagerSource(settings).pull(QUERY).files == (("alerts.json", "[]"), ("silences.json", "[]"))


def test_secrets_never_reach_the_messages(httpserver: HTTPServer) -> None:
    echo = "refused: s3cret-am-token"  # no "Bearer"/"Token" before it, which the client masks whatever it knows
    httpserver.expect_request("/api/v2/alerts").respond_with_data(echo, status=403)
    httpserver.expect_request("/api/v2/status").respond_with_data(echo, status=403)
    source = AlertmanagerSource(AlertmanagerSettings(url=httpserver.url_for("/")), secrets=("s3cret-am-token",))
    for call in (lambda: source.pull(QUERY), source.check):
        with pytest.raises(SourceError) as caught:
            call()
        assert "s3cret-am-token" not in caught.value.message and "refused: <redacted>" in caught.value.message
        assert caught.value.hint == (
            "the server refused access; check [alertmanager] url and its credentials (user, password_env, token_env)"
        )


def test_an_unreachable_server_points_at_the_url_setting() -> None:
    source = AlertmanagerSource(AlertmanagerSettings(url=f"http://127.0.0.1:{free_port()}", timeout=2))
    for call in (lambda: source.pull(QUERY), source.check):
        with pytest.raises(SourceError) as caught:
            call()
        assert caught.value.message.startswith(f"alertmanager: cannot connect to {source.settings.url}/api/v2/")
        assert caught.value.hint == "is the server up and reachable? check [alertmanager] url"


def test_a_slow_server_is_given_up_after_the_timeout(httpserver: HTTPServer, stalled: Stalled) -> None:
    for endpoint in ("/api/v2/alerts", "/api/v2/silences", "/api/v2/status"):
        httpserver.expect_request(endpoint).respond_with_handler(stalled("[]"))
    source = AlertmanagerSource(AlertmanagerSettings(url=httpserver.url_for("/"), timeout=0.3))
    for call in (lambda: source.pull(QUERY), source.check):
        with pytest.raises(SourceError, match=r"did not answer within 0\.3 s") as caught:
            call()
        assert caught.value.hint == "raise the timeout in [alertmanager] or narrow the window"


def test_the_silences_answer_is_checked_too(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/v2/alerts").respond_with_data("[]")
    httpserver.expect_request("/api/v2/silences").respond_with_data('{"silences": []}')
    with pytest.raises(SourceError) as caught:
        AlertmanagerSource(AlertmanagerSettings(url=httpserver.url_for("/"))).pull(QUERY)
    assert caught.value.message.startswith(f"alertmanager: {httpserver.url_for('/api/v2/silences')} answered JSON")


def test_a_log_folder_alone_reads_no_server(tmp_path: Path) -> None:
    (tmp_path / "webhook-2023-02-14.log").write_text("{}\n")
    pulled = AlertmanagerSource(AlertmanagerSettings(path=str(tmp_path))).pull(QUERY)
    assert pulled.files == (("webhook/webhook-2023-02-14.log", "{}\n"),)
    assert pulled.meta == {"paging_labels": {"severity": "page"}, "skipped_files": []}
