"""Benchmark looking across incidents: search, stats and the similar list over 10,000 incidents.

Run from the checkout:  .venv/bin/python bench/bench_learn.py [--incidents 10000]

Targets: `incidents search` over 10,000 incidents < 50 ms above start-up; `incidents stats` over
10,000 incidents < 0.5 s; the similar-incidents list adds < 100 ms to a draft. Each figure is
printed next to its floors measured in the same run: `incidentkit --help` (Python and the CLI),
the same command on an empty store (that, plus opening the store), a draft of the example with
an empty store. Prints the figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from incidentkit.config import Settings  # noqa: E402
from incidentkit.model.curation import KeyMoments  # noqa: E402
from incidentkit.model.event import EventKind  # noqa: E402
from incidentkit.model.incident import Incident, IncidentRecord  # noqa: E402
from incidentkit.model.row import Row  # noqa: E402
from incidentkit.model.window import Window  # noqa: E402
from incidentkit.services.draft import draft_incident  # noqa: E402
from incidentkit.services.pulls import load_pull  # noqa: E402
from incidentkit.services.search import index_draft, index_page, search  # noqa: E402
from incidentkit.services.similar import similar_incidents, with_similar  # noqa: E402
from incidentkit.services.stats import incident_stats  # noqa: E402
from incidentkit.store import Store  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "data" / "examples" / "backport-crash"
CLI = [str(ROOT / ".venv" / "bin" / "incidentkit")]
SERVICES = ["wdqs", "maps", "elastic", "kafka", "mw", "cp", "db", "lvs", "ores", "restbase", "swift", "etcd", "gerrit", "phab"]
WORDS = (
    "overloaded restarted depooled rolled back deploy config change latency errors timeout queue lag cache purge "
    "replication switch rack network power failover alert page responders mitigated resolved outage users editors"
).split()


def page_text(rng: random.Random, service: str, start: datetime) -> str:
    host = f"{service}{rng.choice('12')}{rng.randint(0, 99):03d}"
    alert = f"{service.capitalize()}{rng.choice(['Down', 'ErrorsHigh', 'LatencyHigh', 'LagHigh'])}"
    lines = ["== Summary ==", f"The {service} service {' '.join(rng.choices(WORDS, k=25))}.", "== Timeline ==", "All times in UTC."]
    for minute in range(0, 60, 6):
        lines.append(f"* {start + timedelta(minutes=minute):%H:%M} {host}: {' '.join(rng.choices(WORDS, k=10))}")
    lines += ["== Detection ==", f"FIRING: {alert} on {host}", "== Actionables ==", f"* T{rng.randint(100000, 400000)} fix {service}"]
    return "\n".join(lines)


def seed(store: Store, count: int) -> float:
    rng = random.Random(7)
    began = time.perf_counter()
    base = datetime(2016, 1, 1, tzinfo=UTC)
    with store.transaction():
        for n in range(count):
            service = rng.choice(SERVICES)
            start = base + timedelta(minutes=rng.randint(0, 10 * 365 * 24 * 60))
            slug = f"{start:%Y-%m-%d}_{service}-incident-{n}"
            end = start + timedelta(minutes=rng.randint(5, 600))
            store.save_incident(IncidentRecord(slug=slug, title=f"{service} incident {n}", start=f"{start:%Y-%m-%dT%H:%M:%SZ}", end=f"{end:%Y-%m-%dT%H:%M:%SZ}"))
            if n % 3:
                index_page(store, slug, page_text(rng, service, start))
                continue
            moments = KeyMoments(impact_start=start, detected=start + timedelta(minutes=rng.randint(1, 30)), resolved=end)
            rows = tuple(
                Row(key=f"k{i}", time=start + timedelta(minutes=i), text=f"{service}1001 {' '.join(rng.choices(WORDS, k=8))}",
                    source="sal", kind=EventKind.LOG)
                for i in range(20)
            )  # fmt: skip
            paged = (Row(key="p", time=start + timedelta(minutes=3), text=f"{service} down, paged", source="prometheus",
                         kind=EventKind.ALERT_FIRING, data={"alertname": f"{service}Down", "paged": True}),)  # fmt: skip
            incident = Incident(slug=slug, title=f"{service} incident {n}", window=Window(start, end + timedelta(hours=1)),
                                generated_at=start, rows=rows, raw_rows=rows + paged, key_moments=moments)  # fmt: skip
            index_draft(store, incident, ())
    return time.perf_counter() - began


def best_of(fn: Callable[[], object], runs: int = 7) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        fn()
        times.append(time.perf_counter() - began)
    return min(times), statistics.median(times)


def cli(args: list[str], env: dict[str, str]) -> float:
    def once() -> None:
        subprocess.run(CLI + args, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    return best_of(once, 5)[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--incidents", type=int, default=10_000)
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-learn-"))
    try:
        db = work / "ik.db"
        with Store.open(db) as store:
            seconds = seed(store, options.incidents)
            print(f"seeded and indexed {options.incidents} incidents in {seconds:.1f} s ({1000 * seconds / options.incidents:.1f} ms each)")
            for query in ("wdqs", "overloaded restarted", '"rack network"', "maps NOT kafka"):
                fast, median = best_of(lambda q=query: search(store, q, limit=20), 15)
                print(f"  search {query!r:<26} in-process: best {fast * 1000:6.1f} ms, median {median * 1000:6.1f} ms")
            fast, median = best_of(lambda: incident_stats(store, Settings().stats, by="quarter"), 5)
            print(f"  stats by quarter                  in-process: best {fast * 1000:6.1f} ms, median {median * 1000:6.1f} ms")
            collected = load_pull(EXAMPLE)
            incident = draft_incident(collected, title="Backport crash", settings=Settings())
            fast, median = best_of(lambda: with_similar(store, incident, collected.events, now=collected.pulled_at), 10)
            found = with_similar(store, incident, collected.events, now=collected.pulled_at).similar or ()
            print(f"  similar list for the example draft: best {fast * 1000:6.1f} ms, median {median * 1000:6.1f} ms ({len(found)} listed)")
            sample = [record.slug for record in store.list_incidents()[:: max(1, options.incidents // 50)]]
            timings, listed = [], 0
            for slug in sample:
                began = time.perf_counter()
                listed += len(similar_incidents(store, slug, now=collected.pulled_at))
                timings.append(time.perf_counter() - began)
            print(f"  `incidents similar` of {len(sample)} seeded incidents: median {statistics.median(timings) * 1000:6.1f} ms, "
                  f"max {max(timings) * 1000:6.1f} ms ({listed / len(sample):.1f} listed on average)")
        env = {**os.environ, "INCIDENTKIT_HOME": str(work / "home")}
        floor = cli(["--help"], env)
        empty = work / "empty.db"
        Store.open(empty).close()
        print(f"CLI (median of 5 runs): start-up floor `incidentkit --help` {floor * 1000:.0f} ms")
        for label, args in (
            ("incidents search wdqs --format json", ["incidents", "search", "wdqs", "--format", "json"]),
            ("incidents stats --format json", ["incidents", "stats", "--format", "json"]),
        ):
            total = cli(["--db", str(db), *args], env)
            bare = cli(["--db", str(empty), *args], env)
            print(f"  {label:<40} {total * 1000:6.0f} ms: {1000 * (total - floor):+5.0f} ms above --help, "
                  f"{1000 * (total - bare):+5.0f} ms above the same command on an empty store")
        for label, path in (("draft --replay, empty store", empty), (f"draft --replay, {options.incidents} incidents", db)):
            copy = work / "draft.db"
            shutil.copy(path, copy) if path.exists() else copy.unlink(missing_ok=True)
            total = cli(["--db", str(copy), "draft", "--replay", str(EXAMPLE)], env)
            print(f"  {label:<40} {total * 1000:6.0f} ms")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
