"""The alertmanager source: saved v2 answers and webhook logs (pure), and a real Alertmanager."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer

from incidentkit.config import AlertmanagerSettings
from incidentkit.errors import SourceError
from incidentkit.model.event import EventKind
from incidentkit.model.source import Export, Query
from incidentkit.model.window import Window
from incidentkit.sources.alertmanager import NO_HISTORY_NOTE, SPEC, AlertmanagerSource, parse_alertmanager
from incidentkit.timeline.alerts import alert_rows
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


KEYS = ["labels", "annotations", "startsAt", "endsAt", "status", "alerts", "matchers", "alertname", "name", "value", "fingerprint", "summary", "comment", "createdBy", "id"]
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
