"""The prometheus source: chunk planning and parsing (pure), and pulls from a real backfilled Prometheus."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer

from incidentkit.config import PrometheusSettings, load_settings
from incidentkit.errors import SourceError
from incidentkit.model.alert import pages
from incidentkit.model.event import EventKind
from incidentkit.model.source import Export, Query
from incidentkit.model.window import Window
from incidentkit.sources.exports import load_export
from incidentkit.sources.prometheus import (
    MAX_POINTS,
    SPEC,
    PrometheusSource,
    for_state_selector,
    parse_prometheus,
    plan_chunks,
)
from incidentkit.timeline.alerts import alert_rows
from incidentkit.timeline.merge import merge_events
from tests.servers._common import Stalled
from tests.servers.prometheus import INCIDENT_WINDOW, Server, free_port

FIXTURES = Path(__file__).parent / "fixtures" / "prometheus"
WINDOW = Window(*INCIDENT_WINDOW)
QUERY = Query(WINDOW)


def at(hms: str) -> datetime:
    return datetime.fromisoformat(f"2023-02-14 {hms}").replace(tzinfo=UTC)


# What the backfilled history (tests/servers/prometheus.py INCIDENT_SERIES) must read back as, with
# step 60 s and the server's 30 s lookback: (alertname, distinguishing label, start, end or None if ongoing).
EXPECTED = [
    ("DiskSpaceLow", "ms-be1040:9100", at("17:31:00"), at("18:11:00")),
    ("FrontendUnavailable", "eqiad", at("18:38:00"), at("18:52:00")),
    ("FrontendUnavailable", "esams", at("18:39:00"), at("18:50:00")),
    ("MediaWikiHighErrorRate", "eqiad", at("18:34:35"), at("18:49:00")),  # exact start from ALERTS_FOR_STATE
    ("PHPFPMTooBusy", "eqiad", at("18:40:05"), at("18:43:00")),
    ("PHPFPMTooBusy", "eqiad", at("18:45:05"), at("18:47:00")),
    ("PHPFPMTooBusy", "eqiad", at("18:49:05"), at("18:51:00")),
    ("ProbeDown", "text-lb.eqiad.wikimedia.org:443", at("19:51:00"), None),
]


def intervals(result) -> list[tuple[str, str, datetime, datetime | None]]:
    found = []
    starts = {e.key: e for e in result.events if e.kind is EventKind.ALERT_FIRING}
    for end in (e for e in result.events if e.kind is not EventKind.ALERT_FIRING):
        firing = starts[end.key.rsplit(":", 1)[0]]
        labels = firing.data["labels"]
        which = labels.get("instance") or labels.get("site")
        found.append((firing.data["alertname"], which, firing.time, None if end.data.get("ongoing") else end.time))
    return sorted(found)


# --- pure -----------------------------------------------------------------------------------------


def test_plan_chunks_keeps_every_chunk_under_the_limit_on_one_grid() -> None:
    start = datetime(2023, 2, 7, tzinfo=UTC)
    end = start + timedelta(days=7, minutes=60)
    chunks = plan_chunks(start, end, 30)
    assert len(chunks) == 2
    assert chunks[0][0] == start and chunks[-1][1] == end
    for chunk_start, chunk_end in chunks:
        assert (chunk_end - chunk_start).total_seconds() / 30 + 1 <= MAX_POINTS
        assert (chunk_start - start).total_seconds() % 30 == 0
    assert chunks[1][0] - chunks[0][1] == timedelta(seconds=30)  # contiguous, no point twice
    assert plan_chunks(start, start + timedelta(hours=3), 60) == [(start, start + timedelta(hours=3))]


@given(st.integers(min_value=1, max_value=600), st.integers(min_value=1, max_value=40 * 24 * 3600), st.integers(min_value=2, max_value=11_000))
@settings(max_examples=200, deadline=None)
def test_plan_chunks_covers_every_step_exactly_once(step: int, span: int, max_points: int) -> None:
    start = datetime(2023, 1, 1, tzinfo=UTC)
    chunks = plan_chunks(start, start + timedelta(seconds=span), step, max_points)
    points = 0
    for chunk_start, chunk_end in chunks:
        count = int((chunk_end - chunk_start).total_seconds() // step) + 1
        assert count <= max_points
        points += count
    assert points == span // step + 1


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ('ALERTS{alertstate="firing"}', "ALERTS_FOR_STATE"),
        ("ALERTS", "ALERTS_FOR_STATE"),
        ('ALERTS{alertname=~"A|B", alertstate="firing", site="a,b"}', 'ALERTS_FOR_STATE{alertname=~"A|B", site="a,b"}'),
        ('ALERTS{alertstate="firing"} > 0', None),
        ('sum by (alertname) (ALERTS{alertstate="firing"})', None),
    ],
)
def test_for_state_selector(selector: str, expected: str | None) -> None:
    assert for_state_selector(selector) == expected


def test_paging_labels_are_full_match_regexes() -> None:
    assert pages({"severity": "page"}, {"severity": "page"})
    assert not pages({"severity": "pager"}, {"severity": "page"})
    assert pages({"severity": "critical", "team": "sre"}, {"severity": "page|critical", "team": "sre"})
    assert not pages({"severity": "critical"}, {"severity": "page|critical", "team": "sre"})
    assert not pages({"severity": "page"}, {})
    assert pages({"severity": "[x"}, {"severity": "[x"})  # not a regex: compared literally


def test_parse_saved_incident_export() -> None:
    export = load_export("prometheus", FIXTURES / "incident")
    result = parse_prometheus(export, QUERY)
    assert not result.problems and not result.notes
    assert intervals(result) == EXPECTED
    by_name = {e.data["alertname"]: e for e in result.events if e.kind is EventKind.ALERT_FIRING}
    eqiad = next(e for e in result.events if e.kind is EventKind.ALERT_FIRING and e.data["labels"].get("site") == "eqiad" and e.data["alertname"] == "FrontendUnavailable")
    assert eqiad.data["pending_since"] == "2023-02-14T18:35:20Z"  # ActiveAt; it fired `for` later
    assert eqiad.data["paged"] is True
    assert by_name["MediaWikiHighErrorRate"].data["paged"] is False
    disk = by_name["DiskSpaceLow"]
    assert disk.key == f"prometheus:DiskSpaceLow:{disk.data['fingerprint']}:{int(at('17:31:00').timestamp())}"
    assert disk.data["instance"] == "ms-be1040:9100" and disk.data["severity"] == "warning"


def test_parse_then_rows_through_the_window_filter() -> None:
    result = parse_prometheus(load_export("prometheus", FIXTURES / "incident"), QUERY)
    rows = alert_rows(merge_events([result.events], WINDOW))
    assert [(r.time.strftime("%H:%M:%S"), r.text) for r in rows] == [
        ("18:11:00", "DiskSpaceLow resolved on ms-be1040:9100 after 40 min (firing since 2023-02-14 17:31 UTC)"),
        ("18:34:35", "MediaWikiHighErrorRate firing"),
        ("18:38:00", "FrontendUnavailable firing (2 instances: eqiad, esams), paged"),
        ("18:40:05", "PHPFPMTooBusy firing (flapping: fired 3 times)"),
        ("18:49:00", "MediaWikiHighErrorRate resolved after 14 min"),
        ("18:51:00", "PHPFPMTooBusy resolved after 11 min"),
        ("18:52:00", "FrontendUnavailable resolved after 14 min"),
        ("19:51:00", "ProbeDown firing (text-lb.eqiad.wikimedia.org:443); still firing at window end"),
    ]


def test_parse_thanos_answer_with_replicas_warnings_and_bad_records() -> None:
    text = (FIXTURES / "thanos-query_range.json").read_text()
    export = Export("prometheus", (("thanos.json", text),), {"step": 60, "end": "2023-02-14T18:45:00Z"})
    result = parse_prometheus(export, QUERY)
    assert result.notes == (
        "Prometheus/Thanos warned: No StoreAPIs matched for this query",
        "Prometheus/Thanos warned: partial response: store prometheus-codfw: rpc error: code = Unavailable",
    )
    reasons = sorted(p.reason for p in result.problems)
    assert reasons == [
        "sample is not [time, value]",
        "sample is not [time, value]",
        "series has no alertname label",
        "series without metric/values",
    ]
    probes = [e for e in result.events if e.data["alertname"] == "ProbeDown"]
    assert {e.data["labels"].get("replica") for e in probes} == {None}  # the HA replica label is not identity
    rows = alert_rows(probes)
    assert [r.text for r in rows] == [
        "ProbeDown firing (text-https:443), paged",
        "ProbeDown resolved after 4 min",
    ]
    bad = [e for e in result.events if e.data["alertname"] == "BadSample"]
    assert len(bad) == 2  # the good sample still counts


@pytest.mark.parametrize("name", ["error-bad_data.json", "proxy-error.html"])
def test_parse_error_answers_are_problems_not_crashes(name: str) -> None:
    export = Export("prometheus", ((name, (FIXTURES / name).read_text()),))
    result = parse_prometheus(export, QUERY)
    assert result.events == () and len(result.problems) == 1
    assert result.problems[0].where == name


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(["metric", "values", "__name__", "alertname", "x"]), inner, max_size=4),
    max_leaves=20,
)


@given(st.text(max_size=300), JSON)
@settings(max_examples=300, deadline=None)
def test_parse_never_crashes_on_noise(text: str, value: object) -> None:
    wrapped = {"status": "success", "data": {"resultType": "matrix", "result": [value]}}
    for body in (text, json.dumps(value), json.dumps(wrapped)):
        result = parse_prometheus(Export("prometheus", (("x.json", body),)), QUERY)
        assert len(result.events) % 2 == 0  # every interval has a start and an end (or ongoing) event
        firing = [e for e in result.events if e.kind is EventKind.ALERT_FIRING]
        assert len(firing) * 2 == len(result.events)
    try:
        json.loads(text)
    except ValueError:  # text that is no JSON is one problem and nothing else
        result = parse_prometheus(Export("prometheus", (("x.json", text),)), QUERY)
        assert (result.events, len(result.problems), result.lines_read) == ((), 1, 0)


# Well-formed answers written from what they mean: for each alert, the grid points (step 60 s from
# BASE) at which ALERTS was 1. Runs of consecutive points are firing intervals; an interval whose
# last point is within a step of the range's end still fires.
STEP, BASE, RANGE_END = 60, WINDOW.start - timedelta(minutes=30), WINDOW.end
POINTS = int((RANGE_END - BASE).total_seconds()) // STEP
SERIES_POINTS = st.sets(st.integers(0, POINTS), min_size=1, max_size=40)
BAD_SAMPLES = st.lists(st.sampled_from([["x", "1"], [1], "1", None, [1, 2, 3], ["NaN", "1"]]), max_size=3)


def _runs(points: set[int]) -> list[tuple[int, int]]:
    runs: list[list[int]] = []
    for point in sorted(points):
        if runs and point == runs[-1][1] + 1:
            runs[-1][1] = point
        else:
            runs.append([point, point])
    return [(a, b) for a, b in runs]


@given(
    st.dictionaries(st.tuples(st.sampled_from(["ProbeDown", "PHPFPMTooBusy"]), st.sampled_from(["mw1", "mw2", "db1"])),
                    st.tuples(SERIES_POINTS, st.sets(st.integers(0, POINTS)), BAD_SAMPLES), max_size=4),
    st.integers(0, 2),
)  # fmt: skip
@settings(max_examples=300, deadline=None)
def test_firing_intervals_are_read_back_from_chunked_answers(series: dict, broken_series: int) -> None:  # type: ignore[type-arg]
    chunks: list[list[dict]] = [[], []]  # type: ignore[type-arg]
    expected, samples, bad = [], 0, broken_series
    for (alertname, instance), (points, in_second, bad_samples) in series.items():
        metric = {"__name__": "ALERTS", "alertname": alertname, "alertstate": "firing", "instance": instance}
        for chunk, wanted in enumerate((points - in_second, points & in_second)):  # split as chunked pulls do
            values = [[(BASE + timedelta(seconds=p * STEP)).timestamp(), "1"] for p in sorted(wanted)]
            chunks[chunk].append({"metric": metric, "values": values + (bad_samples if chunk == 0 else [])})
        samples += len(points) + len(bad_samples)
        bad += len(bad_samples)
        for first, last in _runs(points):
            end = BASE + timedelta(seconds=last * STEP)
            ongoing = end + timedelta(seconds=STEP) > RANGE_END
            expected.append((alertname, instance, BASE + timedelta(seconds=first * STEP), None if ongoing else end))
    pending = {"metric": {"__name__": "ALERTS", "alertname": "Later", "alertstate": "pending"}, "values": [[BASE.timestamp(), "1"]]}
    chunks[1] += [pending] + [{"metric": "broken"}] * broken_series
    files = tuple(
        (f"chunk-{n}.json", json.dumps({"status": "success", "data": {"resultType": "matrix", "result": result}}))
        for n, result in enumerate(chunks)
    )
    result = parse_prometheus(Export("prometheus", files, {"step": STEP, "end": RANGE_END.isoformat()}), QUERY)
    assert result.lines_read == samples + 1  # the pending series' sample is read, and no interval
    assert len(result.problems) == bad
    assert intervals(result) == sorted(expected)
    assert len(result.events) == 2 * len(expected)


def test_spec_help_names_the_selector_and_config() -> None:
    assert "ALERTS" in SPEC.help and "[prometheus]" in SPEC.help


def test_pull_without_url_is_a_source_error() -> None:
    with pytest.raises(SourceError) as caught:
        PrometheusSource(PrometheusSettings()).pull(QUERY)
    assert caught.value.message == "prometheus: no url is configured"
    assert caught.value.hint == "set url in the [prometheus] config section, or give --input prometheus=FILE"


def test_pull_from_a_closed_port_is_a_source_error_with_hint() -> None:
    source = PrometheusSource(PrometheusSettings(url=f"http://127.0.0.1:{free_port()}", timeout=2))
    with pytest.raises(SourceError) as info:
        source.pull(QUERY)
    assert "cannot connect" in info.value.message and "[prometheus] url" in (info.value.hint or "")


def test_a_source_that_is_down_is_a_visible_note_in_the_page(tmp_path: Path) -> None:
    from incidentkit.services.draft import draft_incident
    from incidentkit.services.pulls import collect
    from incidentkit.wikitext.render import render_incident

    config = tmp_path / "config.toml"
    config.write_text(f'[prometheus]\nurl = "http://127.0.0.1:{free_port()}"\ntimeout = 2\n')
    settings = load_settings(config)
    irc = Path(__file__).parent / "fixtures" / "irc" / "#wikimedia-operations.2023-02-14.log"
    collected = collect(QUERY, settings, inputs={"irc": irc}, now=at("20:00:00"))
    assert [f.source for f in collected.failures] == ["prometheus"]
    page = render_incident(draft_incident(collected, title="Backport", settings=settings))
    assert "''Missing from this timeline: prometheus could not be read when it was drafted.''" in page
    assert "cannot connect" not in page  # the reason is for the owner (stderr), not the readers
    assert "First automated alert at 18:34 (seen in irc)" in page


# --- real Prometheus --------------------------------------------------------------------------------


def recording_source(server: Server, **changes: object) -> tuple[PrometheusSource, list[str]]:
    """A source whose session records every URL it requests."""
    seen: list[str] = []
    source = PrometheusSource(PrometheusSettings(url=server.url, **changes))  # type: ignore[arg-type]
    source.session.hooks["response"].append(lambda response, *args, **kwargs: seen.append(response.url))
    return source, seen


@pytest.mark.integration
def test_real_prometheus_history_reads_back_as_intervals(prometheus_server: Server) -> None:
    source, seen = recording_source(prometheus_server)
    export = source.pull(QUERY)
    assert [name for name, _ in export.files] == ["ALERTS-001.json", "ALERTS_FOR_STATE-001.json"]
    assert len(seen) == 2 and all("query_range" in url for url in seen)
    assert export.meta["start"] == "2023-02-14T17:00:00Z" and export.meta["step"] == 60
    result = parse_prometheus(export, QUERY)
    assert not result.problems
    assert intervals(result) == EXPECTED


@pytest.mark.integration
def test_real_prometheus_chunked_pull_gives_the_same_events(prometheus_server: Server) -> None:
    whole = parse_prometheus(PrometheusSource(PrometheusSettings(url=prometheus_server.url)).pull(QUERY), QUERY)
    source, seen = recording_source(prometheus_server)
    source.max_points = 40
    chunked = source.pull(QUERY)
    assert len(seen) == 2 * 5  # 181 points per series in chunks of 40, for ALERTS and ALERTS_FOR_STATE
    assert parse_prometheus(chunked, QUERY).events == whole.events


@pytest.mark.integration
def test_real_prometheus_rejects_11001_points_and_the_source_splits(prometheus_server: Server) -> None:
    start, end = WINDOW.start - timedelta(hours=2), WINDOW.end
    response = requests.get(
        prometheus_server.url + "/api/v1/query_range",
        params={"query": 'ALERTS{alertstate="firing"}', "start": start.timestamp(), "end": end.timestamp(), "step": "1s"},
        timeout=10,
    )
    assert response.status_code == 400 and "11,000 points" in response.json()["error"]
    source, seen = recording_source(prometheus_server, step=1, padding_minutes=120)
    result = parse_prometheus(source.pull(QUERY), QUERY)
    assert len(seen) == 4  # 14,401 points: two chunks for each selector
    starts = sorted({e.time for e in result.events if e.kind is EventKind.ALERT_FIRING and e.data["alertname"] == "FrontendUnavailable"})
    assert starts == [at("18:37:20"), at("18:38:20")]  # one-second steps: the raw evaluation times


@pytest.mark.integration
def test_real_prometheus_with_thanos_parameters(prometheus_server: Server) -> None:
    source, seen = recording_source(prometheus_server, thanos=True)
    result = parse_prometheus(source.pull(QUERY), QUERY)
    assert all("dedup=true" in url and "partial_response=true" in url for url in seen)
    assert intervals(result) == EXPECTED


@pytest.mark.integration
def test_real_prometheus_custom_selector_and_errors(prometheus_server: Server) -> None:
    source, seen = recording_source(prometheus_server, selector='ALERTS{alertstate="firing", alertname="ProbeDown"} > 0')
    export = source.pull(QUERY)
    assert len(seen) == 1 and export.meta["for_state_selector"] is None
    result = parse_prometheus(export, QUERY)
    assert {e.data["alertname"] for e in result.events} == {"ProbeDown"}
    bad = PrometheusSource(PrometheusSettings(url=prometheus_server.url, selector="ALERTS{"))
    with pytest.raises(SourceError) as info:
        bad.pull(QUERY)
    assert "HTTP 400" in info.value.message and "parse error" in info.value.message
    wrong_path = PrometheusSource(PrometheusSettings(url=prometheus_server.url + "/nothing"))
    with pytest.raises(SourceError) as info:
        wrong_path.pull(QUERY)
    assert "HTTP 404" in info.value.message and "base URL" in (info.value.hint or "")


# --- pull against recorded answers -------------------------------------------------------------------
# The answers below are the real server's, recorded in tests/fixtures/prometheus/incident; the
# expected request parameters are worked out by hand from the incident window (18:00-20:00 UTC).

T_1700 = "1676394000.000"  # 2023-02-14 17:00:00 UTC: the window start less the default 60 min padding
T_2000 = "1676404800.000"  # 2023-02-14 20:00:00 UTC: the window end
ALERTS_ANSWER = (FIXTURES / "incident" / "000-ALERTS-001.json").read_text()
FOR_STATE_ANSWER = (FIXTURES / "incident" / "001-ALERTS_FOR_STATE-001.json").read_text()


def test_pull_asks_for_the_padded_window_and_saves_the_answers(httpserver: HTTPServer) -> None:
    for query, answer in (('ALERTS{alertstate="firing"}', ALERTS_ANSWER), ("ALERTS_FOR_STATE", FOR_STATE_ANSWER)):
        httpserver.expect_ordered_request(
            "/thanos/api/v1/query_range", query_string={"query": query, "start": T_1700, "end": T_2000, "step": "60s"}
        ).respond_with_data(answer, content_type="application/json")
    url = "http://user:secret@" + httpserver.url_for("/thanos/").split("//", 1)[1]
    export = PrometheusSource(PrometheusSettings(url=url, paging_labels={"severity": "page"})).pull(QUERY)
    assert export.source == "prometheus"
    assert export.files == (("ALERTS-001.json", ALERTS_ANSWER), ("ALERTS_FOR_STATE-001.json", FOR_STATE_ANSWER))
    assert export.meta == {
        "url": url.replace("user:secret@", "user:****@"),
        "selector": 'ALERTS{alertstate="firing"}',
        "for_state_selector": "ALERTS_FOR_STATE",
        "step": 60,
        "start": "2023-02-14T17:00:00Z",
        "end": "2023-02-14T20:00:00Z",
        "thanos": False,
        "paging_labels": {"severity": "page"},
        "chunks": 1,
    }
    assert intervals(parse_prometheus(export, QUERY)) == EXPECTED


def test_pull_with_thanos_chunks_and_a_custom_selector(httpserver: HTTPServer) -> None:
    empty = '{"status":"success","data":{"resultType":"matrix","result":[]}}'
    # padding 1 min, step 30 s and 120 points a chunk: 17:59:00-18:58:30, 18:59:00-19:58:30, 19:59:00-20:00:00
    grid = [("1676397540.000", "1676401110.000"), ("1676401140.000", "1676404710.000"), ("1676404740.000", T_2000)]
    for start, end in grid:
        httpserver.expect_ordered_request(
            "/X/api/v1/query_range",  # only the trailing "/" of the url goes, not an X before it
            query_string={
                "query": "up == 0", "start": start, "end": end, "step": "30s", "dedup": "true", "partial_response": "true",
            },
        ).respond_with_data(empty)
    settings = PrometheusSettings(url=httpserver.url_for("/X/"), selector="up == 0", step=30, padding_minutes=1, thanos=True)
    export = PrometheusSource(settings, max_points=120).pull(QUERY)
    assert [name for name, _ in export.files] == ["ALERTS-001.json", "ALERTS-002.json", "ALERTS-003.json"]
    assert export.meta["for_state_selector"] is None and export.meta["chunks"] == 3 and export.meta["thanos"] is True
    assert export.meta["start"] == "2023-02-14T17:59:00Z" and "replaced_characters" not in export.meta


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ('{"status":"error","error":"' + "x" * 250 + '"}', "prometheus: query up failed: " + "x" * 200),
        ('{"status":"error"}', "prometheus: query up failed: unexpected answer"),
        ("[1, 2]", "prometheus: query up failed: unexpected answer"),
        ('{"status":"success","data":{"resultType":"vector","result":[]}}', "prometheus: query up answered in an unexpected shape (no matrix result)"),
        ('{"status":"success","data":{"resultType":"matrix","result":{}}}', "prometheus: query up answered in an unexpected shape (no matrix result)"),
        ('{"status":"success","data":[]}', "prometheus: query up answered in an unexpected shape (no matrix result)"),
    ],
)
def test_pull_refuses_answers_that_are_no_matrix(httpserver: HTTPServer, answer: str, message: str) -> None:
    httpserver.expect_request("/api/v1/query_range").respond_with_data(answer)
    with pytest.raises(SourceError) as caught:
        PrometheusSource(PrometheusSettings(url=httpserver.url_for(""), selector="up")).pull(QUERY)
    assert caught.value.message == message
    assert caught.value.hint == (
        "[prometheus] url should be a Prometheus or Thanos Query server"
        if "unexpected shape" in message
        else 'check [prometheus] selector (a PromQL selector such as ALERTS{alertstate="firing"}) and url'
    )


def test_pull_refuses_a_step_that_is_not_positive() -> None:
    for step in (0, -60):
        with pytest.raises(SourceError) as caught:
            PrometheusSource(PrometheusSettings(url="http://127.0.0.1:1", step=step)).pull(QUERY)
        assert (caught.value.message, caught.value.hint) == (
            "prometheus: step must be a positive number of seconds", "fix [prometheus] step"
        )


def test_a_server_echoing_a_secret_does_not_show_it(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/v1/query_range").respond_with_data('{"status":"error","error":"bad token s3cret"}', status=401)
    source = PrometheusSource(PrometheusSettings(url=httpserver.url_for("/"), selector="up"), secrets=("s3cret",))
    with pytest.raises(SourceError) as caught:
        source.pull(QUERY)
    assert caught.value.message.startswith(f"prometheus: HTTP 401 from {httpserver.url_for('/api/v1/query_range')}")
    assert "s3cret" not in caught.value.message and "<redacted>" in caught.value.message
    assert caught.value.hint == (
        "the server refused access; check [prometheus] url and its credentials (user, password_env, token_env)"
    )


def test_pull_gives_up_on_a_server_that_does_not_answer_in_time(httpserver: HTTPServer, stalled: Stalled) -> None:
    empty = '{"status":"success","data":{"resultType":"matrix","result":[]}}'
    httpserver.expect_request("/api/v1/query_range").respond_with_handler(stalled(empty))
    source = PrometheusSource(PrometheusSettings(url=httpserver.url_for("/"), selector="up", timeout=0.2))
    with pytest.raises(SourceError) as caught:
        source.pull(QUERY)
    assert caught.value.message == f"prometheus: {httpserver.url_for('/api/v1/query_range')} did not answer within 0.2 s"


def test_a_step_of_one_second_is_valid(httpserver: HTTPServer) -> None:
    empty = '{"status":"success","data":{"resultType":"matrix","result":[]}}'
    httpserver.expect_request("/api/v1/query_range", query_string={
        "query": "up", "start": "1676397540.000", "end": T_2000, "step": "1s",
    }).respond_with_data(empty)  # fmt: skip
    settings = PrometheusSettings(url=httpserver.url_for("/"), selector="up", step=1, padding_minutes=1)
    assert PrometheusSource(settings).pull(QUERY).meta["step"] == 1


def test_pull_sends_basic_auth_or_a_bearer_token(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROM_PASSWORD", "s3cret")
    monkeypatch.setenv("PROM_TOKEN", "t0ken")
    empty = '{"status":"success","data":{"resultType":"matrix","result":[]}}'
    basic = "Basic " + base64.b64encode(b"reader:s3cret").decode()
    httpserver.expect_request("/api/v1/query_range", headers={"Authorization": basic}).respond_with_data(empty)
    settings = PrometheusSettings(url=httpserver.url_for("/"), selector="up", user="reader", password_env="PROM_PASSWORD")
    assert len(PrometheusSource(settings).pull(QUERY).files) == 1
    httpserver.clear()
    httpserver.expect_request("/api/v1/query_range", headers={"Authorization": "Bearer t0ken"}).respond_with_data(empty)
    settings = PrometheusSettings(url=httpserver.url_for("/"), selector="up", token_env="PROM_TOKEN")
    assert len(PrometheusSource(settings).pull(QUERY).files) == 1


def test_the_registered_factory_knows_the_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROM_PASSWORD", "s3cret")
    config = tmp_path / "config.toml"
    config.write_text('[prometheus]\nurl = "http://127.0.0.1:1"\nuser = "reader"\npassword_env = "PROM_PASSWORD"\nstep = 15\n')
    source = SPEC.factory(load_settings(config))
    assert isinstance(source, PrometheusSource)
    assert source.settings.step == 15 and "s3cret" in source.secrets and source.session.auth == ("reader", "s3cret")


def _series(*stamps: float) -> str:
    values = [[stamp, "1"] for stamp in stamps]
    result = [{"metric": {"__name__": "ALERTS", "alertname": "Gappy", "alertstate": "firing"}, "values": values}]
    return json.dumps({"status": "success", "data": {"resultType": "matrix", "result": result}})


def test_without_a_saved_step_the_smallest_sample_gap_is_the_step() -> None:
    base = at("18:10:00").timestamp()
    end = {"end": "2023-02-14T20:00:00Z"}
    # samples 30 s apart, then a 90 s gap: more than 1.5 steps of 30 s, so two intervals
    split = parse_prometheus(Export("prometheus", (("a.json", _series(base, base + 30, base + 60, base + 150, base + 180)),), end), QUERY)
    assert [(e.kind, e.time) for e in split.events] == [
        (EventKind.ALERT_FIRING, at("18:10:00")), (EventKind.ALERT_RESOLVED, at("18:11:00")),
        (EventKind.ALERT_FIRING, at("18:12:30")), (EventKind.ALERT_RESOLVED, at("18:13:00")),
    ]  # fmt: skip
    # a lone sample gives no gap: the default step of 60 s says whether it reaches the range end
    last = at("20:00:00").timestamp()
    ongoing = parse_prometheus(Export("prometheus", (("a.json", _series(last - 59)),), end), QUERY)
    assert [e.data.get("ongoing", False) for e in ongoing.events] == [False, True]
    over = parse_prometheus(Export("prometheus", (("a.json", _series(last - 61)),), end), QUERY)
    assert [e.kind for e in over.events] == [EventKind.ALERT_FIRING, EventKind.ALERT_RESOLVED]


@pytest.mark.parametrize("sample", [["NaN", "1"], ["+Inf", "1"], ["-Inf", "1"], [None, "1"], ["soon", "1"], [1676397600, "1", 2], "1676397600"])
def test_a_sample_without_a_finite_time_is_a_problem(sample: object) -> None:
    good = [at("18:10:00").timestamp(), "1"]
    body = {"status": "success", "data": {"resultType": "matrix", "result": [
        {"metric": {"__name__": "ALERTS", "alertname": "Odd", "alertstate": "firing"}, "values": [sample, good]},
    ]}}  # fmt: skip
    result = parse_prometheus(Export("prometheus", (("odd.json", json.dumps(body)),), {"step": 60}), QUERY)
    assert [(p.where, p.reason) for p in result.problems] == [("odd.json series 1", "sample is not [time, value]")]
    assert result.lines_read == 2 and [e.time for e in result.events] == [at("18:10:00"), at("18:10:00")]


@pytest.mark.parametrize(
    ("end", "ongoing"),
    [
        ("2023-02-14T19:00:00Z", True),
        ("2023-02-14T19:00:00", True),  # no offset: UTC
        ("2023-02-14T21:00:00+02:00", True),  # 19:00 UTC
        ("2023-02-14T19:01:00Z", False),
        ("not a time", False),  # the query's window end (20:00) instead
        ("", False),
    ],
)
def test_the_saved_range_end_decides_what_is_still_firing(end: str, ongoing: bool) -> None:
    export = Export("prometheus", (("a.json", _series(at("18:59:30").timestamp())),), {"step": 60, "end": end})
    firing, last = parse_prometheus(export, QUERY).events
    assert last.kind is (EventKind.ALERT_NOTE if ongoing else EventKind.ALERT_RESOLVED)
    assert last.time == at("18:59:30") and firing.time == at("18:59:30") and last.started == at("18:59:30")
    if ongoing:
        assert (last.text, last.data["note"]) == ("Gappy still firing at window end", "ongoing")
    else:
        assert last.text == "Gappy resolved" and "note" not in last.data


def _with_for_state(alerts: list[float], for_state: list[tuple[float, float]]) -> Export:
    """ALERTS samples of one alert and its ALERTS_FOR_STATE samples as (time, ActiveAt)."""
    labels = {"alertname": "Slow", "instance": "mw1"}
    result = [
        {"metric": {"__name__": "ALERTS", "alertstate": "firing", **labels}, "values": [[t, "1"] for t in alerts]},
        {"metric": {"__name__": "ALERTS_FOR_STATE", **labels}, "values": [[t, str(v)] for t, v in for_state]},
    ]
    body = json.dumps({"status": "success", "data": {"resultType": "matrix", "result": result}})
    return Export("prometheus", (("a.json", body),), {"step": 60, "end": "2023-02-14T20:00:00Z"})


T1010, T1011 = at("18:10:00").timestamp(), at("18:11:00").timestamp()


@pytest.mark.parametrize(
    ("for_state", "start", "pending_since"),
    [
        ([(T1010, T1010 - 30)], at("18:09:30"), None),  # ActiveAt within the step before: the exact start
        ([(T1011, T1010 - 30)], at("18:09:30"), None),  # read at the interval's last sample too
        ([(T1010, T1010 - 60)], at("18:10:00"), "2023-02-14T18:09:00Z"),  # a whole step before: a `for` delay
        ([(T1010, T1010 - 600)], at("18:10:00"), "2023-02-14T18:00:00Z"),
        ([(T1010, T1010 + 30)], at("18:10:00"), None),  # after the first sample: no use
        ([(T1010 - 60, T1010 - 30), (T1011 + 60, T1010 - 30)], at("18:10:00"), None),  # outside the interval
    ],
)
def test_active_at_gives_the_exact_start_or_the_pending_time(
    for_state: list[tuple[float, float]], start: datetime, pending_since: str | None
) -> None:
    firing, resolved = parse_prometheus(_with_for_state([T1010, T1011], for_state), QUERY).events
    assert (firing.kind, firing.time, resolved.time, resolved.started) == (EventKind.ALERT_FIRING, start, at("18:11:00"), start)
    assert firing.data.get("pending_since") == pending_since


def test_samples_one_and_a_half_steps_apart_are_one_interval() -> None:
    events = parse_prometheus(_with_for_state([T1010, T1010 + 90], []), QUERY).events
    assert [(e.kind, e.time) for e in events] == [(EventKind.ALERT_FIRING, at("18:10:00")), (EventKind.ALERT_RESOLVED, at("18:11:30"))]
    events = parse_prometheus(_with_for_state([T1010, T1010 + 91], []), QUERY).events
    assert [e.kind for e in events] == [EventKind.ALERT_FIRING, EventKind.ALERT_RESOLVED] * 2


def test_a_series_without_alertname_is_named_by_its_selector() -> None:
    result = [{"metric": {"__name__": "ALERTS", "alertstate": "firing", "job": "node", "instance": "a:9100"}, "values": [[T1010, "1"]]}]
    body = json.dumps({"status": "success", "data": {"resultType": "matrix", "result": result}})
    problems = parse_prometheus(Export("prometheus", (("a.json", body),), {"step": 60}), QUERY).problems
    assert [(p.where, p.reason) for p in problems] == [
        ('ALERTS{alertstate="firing", instance="a:9100", job="node"}', "series has no alertname label")
    ]
    firing = parse_prometheus(_with_for_state([T1010], []), QUERY).events[0]
    assert firing.raw == 'ALERTS{alertname="Slow", alertstate="firing", instance="mw1"}'


def test_a_sample_read_twice_does_not_make_the_inferred_step_zero() -> None:
    # two Thanos replicas or overlapping chunks repeat a sample; the step is still the 30 s between samples
    base = at("18:10:00").timestamp()
    export = Export("prometheus", (("a.json", _series(base, base + 30, base + 60)), ("b.json", _series(base + 60, base + 90))))
    events = parse_prometheus(export, QUERY).events
    assert [(e.kind, e.time) for e in events] == [(EventKind.ALERT_FIRING, at("18:10:00")), (EventKind.ALERT_RESOLVED, at("18:11:30"))]


@pytest.mark.parametrize(
    ("labels", "instance", "text"),
    [
        ({"host": "db1", "hostname": "db1.eqiad.wmnet"}, "db1", "Down firing on db1"),
        ({"hostname": "db2.eqiad.wmnet"}, "db2.eqiad.wmnet", "Down firing on db2.eqiad.wmnet"),
        ({"instance": "db3:9100", "host": "db3"}, "db3:9100", "Down firing on db3:9100"),
        ({"site": "eqiad"}, None, "Down firing"),
    ],
)
def test_the_instance_is_the_instance_host_or_hostname_label(labels: dict[str, str], instance: str | None, text: str) -> None:
    metric = {"__name__": "ALERTS", "alertname": "Down", "alertstate": "firing", **labels}
    body = json.dumps({"status": "success", "data": {"resultType": "matrix", "result": [{"metric": metric, "values": [[T1010, "1"]]}]}})
    firing, resolved = parse_prometheus(Export("prometheus", (("a.json", body),), {"step": 60}), QUERY).events
    assert (firing.data.get("instance"), firing.text) == (instance, text)
    assert resolved.text == text.replace("firing", "resolved")
