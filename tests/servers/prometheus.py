"""A real Prometheus with historical alerts, and a real Alertmanager, for the tests (pytest plugin) and the bench.

Prometheus (Debian ``prometheus`` package) gets a past incident's alert history the way
real-components.md measured it: OpenMetrics ``ALERTS`` / ``ALERTS_FOR_STATE`` samples written for
an evaluation grid (every 15 s, at :05/:20/:35/:50), turned into TSDB blocks with
``promtool tsdb create-blocks-from openmetrics`` *before* the server starts (so no block reload or
restart is needed), retention 100y because the data is old, ``--query.lookback-delta=30s`` because
backfilled series carry no staleness markers. Alertmanager (``prometheus-alertmanager``) gets
alerts and silences through its v2 API once started. Both bind 127.0.0.1 on free ports, start
once per session, and are stopped by PID at the end.

Fixtures (registered through ``tests/conftest.py``'s ``pytest_plugins``):

* ``prometheus_server`` (session): a :class:`Server` holding :data:`INCIDENT_SERIES` for the
  incident window :data:`INCIDENT_WINDOW` (2023-02-14 18:00–20:00 UTC).
* ``alertmanager_server`` (session): a :class:`Server` whose ``.extra`` holds the posted alerts,
  the silence ids and ``posted_at`` (the real clock: Alertmanager only lists live alerts).

The bench uses :func:`backfilled_prometheus` directly. If the binaries are missing the fixtures
skip their tests, except in CI (any ``CI`` but empty, ``false`` or ``0``: see ``_common.in_ci``),
where that is a failure.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.servers._common import free_port, skip_or_fail, stop_processes, wait_for_url

__all__ = [
    "AlertSeries",
    "Server",
    "INCIDENT_WINDOW",
    "INCIDENT_SERIES",
    "EVAL_INTERVAL",
    "write_openmetrics",
    "backfilled_prometheus",
    "running_alertmanager",
    "prometheus_server",
    "alertmanager_server",
    "free_port",
]

EVAL_INTERVAL = 15  # seconds between rule evaluations
EVAL_OFFSET = 5  # evaluations happen at :05, :20, :35, :50
LOOKBACK = "30s"
START_TIMEOUT = 20.0


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


INCIDENT_WINDOW = (_utc("2023-02-14 18:00:00"), _utc("2023-02-14 20:00:00"))


@dataclass(frozen=True)
class AlertSeries:
    """One alerting rule instance: its labels, ``for`` delay and when its condition held.

    ``conditions`` are ``(from, to)`` spans of the condition; the rule evaluates on the
    :data:`EVAL_INTERVAL` grid, goes pending at the first evaluation inside a span and fires once
    ``for_seconds`` have passed, like Prometheus' alerting rules.
    """

    labels: dict[str, str]
    conditions: tuple[tuple[datetime, datetime], ...]
    for_seconds: int = 0

    def evaluations(self) -> Iterator[tuple[int, str, int]]:
        """``(epoch, alertstate, active_at)`` for every evaluation where the alert is active."""
        for begin, end in self.conditions:
            tick = _next_tick(int(begin.timestamp()))
            active_at = tick
            while tick <= int(end.timestamp()):
                state = "firing" if tick - active_at >= self.for_seconds else "pending"
                yield tick, state, active_at
                tick += EVAL_INTERVAL


def _next_tick(epoch: int) -> int:
    remainder = (epoch - EVAL_OFFSET) % EVAL_INTERVAL
    return epoch if remainder == 0 else epoch + EVAL_INTERVAL - remainder


def _span(a: str, b: str) -> tuple[datetime, datetime]:
    return _utc(f"2023-02-14 {a}"), _utc(f"2023-02-14 {b}")


INCIDENT_SERIES: tuple[AlertSeries, ...] = (
    AlertSeries(  # pages; fires 2 minutes after its condition starts
        {"alertname": "FrontendUnavailable", "cluster": "cache_text", "site": "eqiad", "severity": "page", "team": "sre"},
        (_span("18:35:10", "18:51:55"),),
        for_seconds=120,
    ),
    AlertSeries(
        {"alertname": "FrontendUnavailable", "cluster": "cache_text", "site": "esams", "severity": "page", "team": "sre"},
        (_span("18:36:10", "18:49:55"),),
        for_seconds=120,
    ),
    AlertSeries(  # no `for`: ALERTS_FOR_STATE gives the exact start
        {"alertname": "MediaWikiHighErrorRate", "cluster": "appserver", "site": "eqiad", "severity": "critical"},
        (_span("18:34:30", "18:48:55"),),
    ),
    AlertSeries(  # flaps three times
        {"alertname": "PHPFPMTooBusy", "cluster": "appserver", "site": "eqiad", "severity": "critical"},
        (_span("18:40:00", "18:42:55"), _span("18:45:00", "18:46:55"), _span("18:49:00", "18:50:55")),
    ),
    AlertSeries(  # started before the window (inside the 60-minute padding), resolves inside it
        {"alertname": "DiskSpaceLow", "instance": "ms-be1040:9100", "severity": "warning"},
        (_span("17:25:00", "18:10:55"),),
        for_seconds=300,
    ),
    AlertSeries(  # still firing when the window ends at 20:00
        {"alertname": "ProbeDown", "instance": "text-lb.eqiad.wikimedia.org:443", "severity": "critical"},
        (_span("19:49:00", "20:30:00"),),
        for_seconds=60,
    ),
    AlertSeries(  # long before the padded window: must not show up
        {"alertname": "OldNoise", "instance": "cp1001:9100", "severity": "warning"},
        (_span("10:00:00", "11:00:00"),),
    ),
)


def _label_text(labels: dict[str, str]) -> str:
    escaped = {k: v.replace("\\", "\\\\").replace('"', '\\"') for k, v in labels.items()}
    return ",".join(f'{k}="{v}"' for k, v in sorted(escaped.items()))


def write_openmetrics(path: Path, series: Iterable[AlertSeries]) -> int:
    """Write ``ALERTS`` and ``ALERTS_FOR_STATE`` samples for *series* as OpenMetrics; returns the sample count.

    Samples of a metric family stay together and each series is in time order, as promtool needs.
    """
    alerts: dict[str, list[str]] = {}
    for_state: dict[str, list[str]] = {}
    for one in series:
        for epoch, state, active_at in one.evaluations():
            alerts.setdefault(_label_text({**one.labels, "alertstate": state}), []).append(f"1 {epoch}")
            for_state.setdefault(_label_text(one.labels), []).append(f"{active_at} {epoch}")
    count = 0
    with path.open("w", encoding="utf-8") as out:
        for family, table in (("ALERTS", alerts), ("ALERTS_FOR_STATE", for_state)):
            out.write(f"# TYPE {family} gauge\n")
            for labels, samples in table.items():
                for sample in samples:
                    out.write(f"{family}{{{labels}}} {sample}\n")
                    count += 1
        out.write("# EOF\n")
    return count


@dataclass
class Server:
    """A running server: its base URL, process and directory; ``extra`` holds what was loaded into it."""

    url: str
    process: subprocess.Popen[bytes]
    directory: Path
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.process.pid


def missing_binaries(*names: str) -> str | None:
    absent = [name for name in names if shutil.which(name) is None]
    if absent:
        return f"{', '.join(absent)} not installed (apt-get install -y --no-install-recommends prometheus prometheus-alertmanager)"
    return None


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    wait_for_url(
        url + "/-/ready",
        timeout=START_TIMEOUT,
        process=process,
        log=log,
        what="server",
        ready=lambda response: response.status_code == 200,
        request_timeout=1,
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop one server by its PID: SIGTERM, then SIGKILL if it does not exit."""
    stop_processes([process])


@contextmanager
def backfilled_prometheus(directory: Path, series: Iterable[AlertSeries]) -> Iterator[Server]:
    """A Prometheus on 127.0.0.1 whose TSDB holds *series*, backfilled with promtool before start."""
    directory.mkdir(parents=True, exist_ok=True)
    tsdb = directory / "tsdb"
    history = directory / "history.om"
    samples = write_openmetrics(history, series)
    subprocess.run(
        ["promtool", "tsdb", "create-blocks-from", "openmetrics", str(history), str(tsdb)],
        check=True,
        capture_output=True,
    )
    config = directory / "prometheus.yml"
    config.write_text("global:\n  evaluation_interval: 15s\n  scrape_interval: 15s\nscrape_configs: []\n")
    port = free_port()
    log = directory / "prometheus.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [
                "prometheus",
                f"--config.file={config}",
                f"--storage.tsdb.path={tsdb}",
                "--storage.tsdb.retention.time=100y",
                f"--web.listen-address=127.0.0.1:{port}",
                f"--query.lookback-delta={LOOKBACK}",
                "--log.level=error",
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
            cwd=directory,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, process, log)
        yield Server(url, process, directory, {"samples": samples})
    finally:
        _stop(process)


AM_CONFIG = """route: {receiver: 'null', group_by: [alertname], group_wait: 1s, group_interval: 1s, repeat_interval: 1h}
receivers: [{name: 'null'}]
"""


@contextmanager
def running_alertmanager(directory: Path) -> Iterator[Server]:
    """An empty Alertmanager on 127.0.0.1 (no clustering, a null receiver)."""
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "alertmanager.yml"
    config.write_text(AM_CONFIG)
    port = free_port()
    log = directory / "alertmanager.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [
                "prometheus-alertmanager",
                f"--config.file={config}",
                f"--storage.path={directory / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--cluster.listen-address=",
                "--log.level=warn",
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
            cwd=directory,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, process, log)
        yield Server(url, process, directory)
    finally:
        _stop(process)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def load_alertmanager(server: Server, now: datetime) -> None:
    """Post live alerts (and one already resolved) and silences (one expired) through the v2 API."""
    alerts = [
        {
            "labels": {"alertname": "FrontendUnavailable", "cluster": "cache_text", "site": "eqiad", "severity": "page", "team": "sre"},
            "annotations": {
                "summary": "varnish-text has reduced HTTP availability #page",
                "runbook": "https://wikitech.wikimedia.org/wiki/Monitoring/FrontendUnavailable",
                "dashboard": "https://grafana.wikimedia.org/d/000000479/frontend-traffic?viewPanel=3",
            },
            "startsAt": _iso(now - timedelta(minutes=10)),
            "endsAt": _iso(now + timedelta(hours=1)),
            "generatorURL": "http://prometheus.example/graph?g0.expr=ALERTS",
        },
        {
            "labels": {"alertname": "PHPFPMTooBusy", "cluster": "appserver", "site": "eqiad", "severity": "critical", "team": "serviceops"},
            "annotations": {"summary": "Not enough idle php7.4-fpm.service workers for Mediawiki appserver at eqiad"},
            "startsAt": _iso(now - timedelta(minutes=5)),
            "endsAt": _iso(now + timedelta(hours=1)),
        },
        {  # already resolved: Alertmanager will not list it (it keeps no history)
            "labels": {"alertname": "DiskSpaceLow", "instance": "ms-be1040:9100", "severity": "warning"},
            "annotations": {"summary": "Disk filling up"},
            "startsAt": _iso(now - timedelta(minutes=30)),
            "endsAt": _iso(now - timedelta(minutes=20)),
        },
    ]
    response = requests.post(server.url + "/api/v2/alerts", json=alerts, timeout=10)
    response.raise_for_status()
    silences = [
        {
            "matchers": [{"name": "alertname", "value": "PHPFPMTooBusy", "isRegex": False, "isEqual": True}],
            "startsAt": _iso(now),
            "endsAt": _iso(now + timedelta(hours=2)),
            "createdBy": "jdoe",
            "comment": "Known during the backport incident, see T329001",
        },
        {
            "matchers": [{"name": "instance", "value": "mw13.*", "isRegex": True, "isEqual": True}],
            "startsAt": _iso(now),
            "endsAt": _iso(now + timedelta(hours=1)),
            "createdBy": "asmith",
            "comment": "Reimaging appservers (T329002)",
        },
    ]
    ids = []
    for silence in silences:
        response = requests.post(server.url + "/api/v2/silences", json=silence, timeout=10)
        response.raise_for_status()
        ids.append(response.json()["silenceID"])
    requests.delete(f"{server.url}/api/v2/silence/{ids[1]}", timeout=10).raise_for_status()
    server.extra.update({"alerts": alerts, "silences": silences, "silence_ids": ids, "posted_at": now})


@pytest.fixture(scope="session")
def prometheus_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A real Prometheus holding :data:`INCIDENT_SERIES` (the 2023-02-14 incident's alerts)."""
    reason = missing_binaries("prometheus", "promtool")
    if reason:
        skip_or_fail(reason)
    with backfilled_prometheus(tmp_path_factory.mktemp("prometheus"), INCIDENT_SERIES) as server:
        yield server


@pytest.fixture(scope="session")
def alertmanager_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A real Alertmanager with two live alerts, one resolved alert and two silences (one expired)."""
    reason = missing_binaries("prometheus-alertmanager")
    if reason:
        skip_or_fail(reason)
    with running_alertmanager(tmp_path_factory.mktemp("alertmanager")) as server:
        load_alertmanager(server, datetime.now(UTC).replace(microsecond=0))
        yield server
