"""Benchmark alert history: a 7-day window holding 2,000 alert intervals across 500 series.

Run from the checkout:  .venv/bin/python bench/bench_alerts.py [--series 500] [--intervals 2000]

Against a real Prometheus (Debian package) backfilled with promtool, as the tests do
(tests/servers/prometheus.py): ``ALERTS`` and ``ALERTS_FOR_STATE`` samples every 15 s for each
interval, 5 to 60 minutes long, spread over the 7 days. Prints the time and the number of HTTP
requests of the pull (step 60 s: one range per selector; step 30 s: the 11,000-point limit splits
it), then parse, pairing into rows and detection. Asserts nothing but that every interval is found.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from incidentkit.config import PrometheusSettings  # noqa: E402
from incidentkit.model.event import EventKind
from incidentkit.model.source import Query  # noqa: E402
from incidentkit.model.window import Window
from incidentkit.sources.prometheus import PrometheusSource, parse_prometheus  # noqa: E402
from incidentkit.timeline.alerts import alert_rows, detect
from incidentkit.timeline.merge import merge_events
from tests.servers.prometheus import AlertSeries, backfilled_prometheus  # noqa: E402

START = datetime(2023, 2, 7, tzinfo=UTC)
WINDOW = Window(START, START + timedelta(days=7))
T = TypeVar("T")


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    began = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - began


def make_series(count: int, intervals: int, seed: int = 7) -> list[AlertSeries]:
    """*count* series sharing *intervals* firing intervals, non-overlapping within a series."""
    rng = random.Random(seed)
    names = ["ProbeDown", "PHPFPMTooBusy", "HostDown", "SystemdUnitFailed", "MediaWikiHighErrorRate", "DiskSpaceLow"]
    per_series = [intervals // count + (1 if i < intervals % count else 0) for i in range(count)]
    span = WINDOW.duration.total_seconds()
    result = []
    for index, wanted in enumerate(per_series):
        slots = sorted(rng.sample(range(int(span // 7200) - 1), wanted))  # one interval per 2-hour slot at most
        conditions = []
        for slot in slots:
            begin = START + timedelta(seconds=slot * 7200 + rng.randint(0, 1800))
            conditions.append((begin, begin + timedelta(minutes=rng.randint(5, 60))))
        labels = {
            "alertname": names[index % len(names)],
            "instance": f"host{index:04d}:9100",
            "severity": "page" if index % 50 == 0 else "critical",
            "site": ("eqiad", "codfw", "esams", "ulsfo")[index % 4],
        }
        result.append(AlertSeries(labels, tuple(conditions)))
    return result


def run(server_url: str, step: int, expected: int) -> None:
    query = Query(WINDOW)
    source = PrometheusSource(PrometheusSettings(url=server_url, step=step, timeout=120))
    requests_made: list[str] = []
    source.session.hooks["response"].append(lambda response, *args, **kwargs: requests_made.append(response.url))
    export, pull_s = timed(lambda: source.pull(query))
    size = sum(len(text) for _, text in export.files)
    result, parse_s = timed(lambda: parse_prometheus(export, query))
    starts = sum(1 for e in result.events if e.kind is EventKind.ALERT_FIRING)
    merged, merge_s = timed(lambda: merge_events([result.events], WINDOW))
    rows, rows_s = timed(lambda: alert_rows(merged))
    detection, detect_s = timed(lambda: detect(merged, WINDOW))
    print(
        f"step {step:>2} s: pull {pull_s:6.2f} s in {len(requests_made)} HTTP requests ({size / 1e6:.1f} MB JSON); "
        f"parse {parse_s:5.2f} s -> {starts} intervals ({len(result.problems)} problems); "
        f"merge {merge_s:5.2f} s; rows {rows_s:5.2f} s -> {len(rows)} rows; detect {detect_s:5.2f} s "
        f"({detection.distinct_alerts} alert names, first page {detection.first_page_time:%Y-%m-%d %H:%M})"
    )
    if starts != expected:
        raise SystemExit(f"expected {expected} intervals, parsed {starts}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=500)
    parser.add_argument("--intervals", type=int, default=2000)
    args = parser.parse_args()
    series = make_series(args.series, args.intervals)
    with tempfile.TemporaryDirectory(prefix="bench-alerts-") as tmp:
        began = time.perf_counter()
        with backfilled_prometheus(Path(tmp), series) as server:
            ready = time.perf_counter() - began
            print(
                f"Prometheus backfilled with {server.extra['samples']:,} samples "
                f"({args.intervals} intervals, {args.series} series, 7 days) and ready in {ready:.1f} s"
            )
            for step in (60, 30):
                run(server.url, step, args.intervals)


if __name__ == "__main__":
    main()
