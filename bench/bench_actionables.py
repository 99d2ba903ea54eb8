"""Benchmark actionables: batched sync vs one call per task, and `actionables list` over 100,000 rows.

Run from the checkout:  .venv/bin/python bench/bench_actionables.py [--tasks 5000] [--rows 100000]

Targets: a sync of 5,000 tracked tasks in <= 50 Conduit calls and >= 20x faster than a
naive one-call-per-task loop measured in the same run; `actionables list` over 100,000 actionables
in < 0.3 s. Prints the figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from incidentkit.clients.conduit import ConduitClient
from incidentkit.config import Settings  # noqa: E402
from incidentkit.model.actionable import ActionableQuery, FollowUp, SyncResult
from incidentkit.model.incident import IncidentRecord
from incidentkit.services.actionables import record_proposed, upsert_imported
from incidentkit.services.reporting import list_actionables, summarize
from incidentkit.services.sync import BATCH_SIZE, sync_actionables
from incidentkit.store import Store
from tests.servers.conduit_fake import ConduitFake  # noqa: E402

NOW = datetime(2024, 6, 10, 12, tzinfo=UTC)
CREATED = int(datetime(2024, 5, 1, tzinfo=UTC).timestamp())
T = TypeVar("T")


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


class IndexedConduitFake(ConduitFake):
    """The same fake, answering the same, but filtering ``ids`` with a set lookup (as a real
    server's SQL ``IN`` does) instead of re-reading the id list for every task it holds."""

    _ids: tuple[object, frozenset[int]] = (None, frozenset())

    def _task_matches(self, task: Any, key: str, value: Any) -> bool:
        if key == "ids" and isinstance(value, list):
            if self._ids[0] is not value:
                self._ids = (value, frozenset(int(v) for v in value))
            return task.id in self._ids[1]
        return super()._task_matches(task, key, value)


def seed_tasks(fake: ConduitFake, count: int) -> None:
    owners = ["alice", "bob", "admin"]
    for n in range(1, count + 1):
        fake.add_task(f"follow-up {n}", owner=owners[n % 3], created=CREATED + n)


def seed_store(path: Path, count: int) -> None:
    with Store.open(path) as store:
        store.save_incident(IncidentRecord(slug="big", title="Big incident", start="2024-05-01T00:00:00Z", severity="2"))
        proposed = [FollowUp(title=f"follow-up {n}", task=f"T{n}", status="Open") for n in range(1, count + 1)]
        record_proposed(store, "big", proposed, Settings(), now=NOW)


def sync_once(path: Path, fake: ConduitFake, *, batch_size: int, now: datetime) -> tuple[SyncResult, float]:
    with Store.open(path) as store:
        client = ConduitClient(fake.url, fake.token, retries=0)
        return timed(lambda: sync_actionables(store, client, now=now, batch_size=batch_size))


def naive_fetch_loop(fake: ConduitFake, count: int) -> tuple[int, float]:
    """The naive loop itself: one maniphest.search per task, nothing written."""
    client = ConduitClient(fake.url, fake.token, retries=0)
    _, seconds = timed(lambda: [client.tasks_by_ids([n]) for n in range(1, count + 1)])
    return client.calls, seconds


def bench_sync(count: int, work: Path, fake_class: type[ConduitFake]) -> None:
    fake = fake_class().start()
    try:
        _, seeding = timed(lambda: seed_tasks(fake, count))
        base = work / "sync-base.db"
        seed_store(base, count)
        batched_db, naive_db = work / "batched.db", work / "naive.db"
        shutil.copy(base, batched_db)
        shutil.copy(base, naive_db)
        print(f"sync: {count} tracked tasks on {fake_class.__name__} (seeded in {seeding:.1f} s)")

        cold, cold_s = sync_once(batched_db, fake, batch_size=BATCH_SIZE, now=NOW)
        naive, naive_s = sync_once(naive_db, fake, batch_size=1, now=NOW)
        loop_calls, loop_s = naive_fetch_loop(fake, count)
        for n in range(1, count + 1, 10):  # 10% of the tasks change
            fake.set_status(n, "resolved" if n % 20 == 1 else "wontfix", at=CREATED + 86_400 * 20)
        warm, warm_s = sync_once(batched_db, fake, batch_size=BATCH_SIZE, now=NOW + timedelta(hours=1))
        idle, idle_s = sync_once(batched_db, fake, batch_size=BATCH_SIZE, now=NOW + timedelta(hours=2))

        def row(label: str, calls: int, seconds: float, changed: int | None = None) -> None:
            extra = "" if changed is None else f", {changed} changes printed"
            print(f"  {label:<44} {calls:>6} calls  {seconds:7.2f} s{extra}")

        row("batched sync, first run (status+name lookups)", cold.calls, cold_s, len(cold.changes))
        row("batched sync, 10% of tasks changed", warm.calls, warm_s, len(warm.changes))
        row("batched sync, nothing changed", idle.calls, idle_s, len(idle.changes))
        row("naive sync (batch size 1), first run", naive.calls, naive_s, len(naive.changes))
        row("naive fetch loop alone (no writes)", loop_calls, loop_s)
        print(f"  speed-up, first runs (naive sync / batched sync): {naive_s / cold_s:5.1f}x")
        print(f"  speed-up, naive fetch loop / batched sync, 10% changed: {loop_s / warm_s:5.1f}x")
    finally:
        fake.stop()


def seed_many(path: Path, rows: int) -> None:
    """*rows* actionables over 100 incidents: 20% open or in progress (a mature backlog), the rest
    done or declined; 41 owners; due dates spread over 18 months."""
    hints = ["Open", "stalled", "Resolved", "Resolved", "Resolved", "Resolved", "Resolved", "Resolved", "Declined", "Declined"]
    owners = [f"user{i}" for i in range(40)] + [None]
    with Store.open(path) as store:
        per = rows // 100
        for i in range(100):
            start = datetime(2023, 1, 1, tzinfo=UTC) + timedelta(days=5 * i)
            slug = f"incident-{i:03d}"
            store.save_incident(IncidentRecord(slug=slug, title=f"Incident {i}", start=start.isoformat(), severity=str(i % 3 + 1)))
            items = [
                FollowUp(title=f"follow-up {i}-{n}", task=f"T{i * per + n + 1}", status=hints[n % len(hints)],
                                       owner=owners[n % len(owners)])
                for n in range(per)
            ]
            upsert_imported(store, slug, items, now=NOW)
        store.optimize()  # what every `actionables sync` ends with: the planner's statistics are current


def bench_list(rows: int, work: Path) -> None:
    from typer.testing import CliRunner

    from incidentkit.cli import app

    path = work / "list.db"
    _, seeding = timed(lambda: seed_many(path, rows))
    with Store.open(path) as store:
        total = store.db.execute("SELECT count(*) FROM actionables").fetchone()[0]
        print(f"list: {total} actionables over 100 incidents (seeded in {seeding:.1f} s)")

        def library(query: ActionableQuery) -> int:
            found = list_actionables(store, query, now=NOW)
            summarize(store, query, now=NOW)
            return len(found)

        for label, query in [
            ("open (default)", ActionableQuery()),
            ("--overdue --owner user7", ActionableQuery(overdue=True, owner="user7")),
            ("--incident incident-042", ActionableQuery(incident="incident-042")),
            ("--status all --sort owner", ActionableQuery(statuses=(), sort="owner")),
        ]:
            library(query)  # warm the page cache
            best = min(timed(lambda q=query: library(q))[1] for _ in range(3))  # type: ignore[misc]
            print(f"  library list + summary, {label:<26} {library(query):>7} rows  {best * 1000:7.1f} ms")

    runner = CliRunner()
    env = {"INCIDENTKIT_NOW": "2024-06-10T12:00Z"}
    for args in (["--format", "json"], ["--format", "csv"], ["--overdue", "--owner", "user7", "--format", "json"]):
        cmd = ["--db", str(path), "actionables", "list", *args]
        runner.invoke(app, cmd)
        best = min(timed(lambda c=cmd: runner.invoke(app, c, env=env))[1] for _ in range(3))  # type: ignore[misc]
        print(f"  `actionables list {' '.join(args)}` (in-process, incl. output) {best * 1000:7.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=5000)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--only", choices=["sync", "list"], help="Run one of the two benchmarks.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.only != "list":
            bench_sync(args.tasks, Path(tmp), ConduitFake)
            bench_sync(args.tasks, Path(tmp), IndexedConduitFake)
        if args.only != "sync":
            bench_list(args.rows, Path(tmp))


if __name__ == "__main__":
    main()
