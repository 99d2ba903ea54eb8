"""Benchmark: draft and sync against a real Phorge with 1,000 tasks; Conduit calls and time, as ratios
against a floor measured in the same run.

Run from the repository root (needs what the test fixture needs: the Phorge tarball, MariaDB, PHP)::

    .venv/bin/python bench/bench_phorge.py [--tasks 1000] [--changed 100]

It starts a throwaway Phorge (``tests/servers/phorge.py``) and files ``--tasks`` tasks tagged
Wikimedia-production-error through Conduit, as people would during an incident: each is created
at High priority and owned, raised to Unbreak Now! with a comment, then resolved.

* **draft**: the Phabricator pull and parse of that window (``PhabricatorSource``). The floor is the
  same data fetched with bare ``requests`` and nothing else: the tagged tasks 100 per call, every
  transaction since the window start 1,000 per call, the users in one call.
* **sync**: ``actionables sync`` of the tasks tracked as follow-ups: the first run, a run after
  ``--changed`` tasks changed through Conduit (a third declined after being resolved, a third
  reopened, a third reopened and resolved again: the changes Phorge's close date cannot time), and
  a run with nothing changed. The floor is the tasks fetched 100 per call with bare ``requests``;
  a one-call-per-task loop is shown beside it.

Read-only steps (the floors, the pull, a sync with nothing to do) are timed as the best of three
runs, as the machine is shared. Prints the figures and ratios; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from incidentkit.clients.conduit import SEARCH_PAGE_MAX, TRANSACTION_PAGE_MAX, ConduitClient  # noqa: E402
from incidentkit.config import PhabricatorSettings, Settings  # noqa: E402
from incidentkit.model.actionable import FollowUp  # noqa: E402
from incidentkit.model.incident import IncidentRecord  # noqa: E402
from incidentkit.model.source import Query  # noqa: E402
from incidentkit.model.time import to_epoch  # noqa: E402
from incidentkit.model.window import Window  # noqa: E402
from incidentkit.services.actionables import record_proposed  # noqa: E402
from incidentkit.services.sync import sync_actionables  # noqa: E402
from incidentkit.sources.phabricator import PhabricatorSource, parse  # noqa: E402
from incidentkit.store import Store  # noqa: E402
from tests.servers.phorge import Phorge, running_phorge  # noqa: E402

ERROR = "Wikimedia-production-error"
WORKERS = 2  # php -S serves two requests at once
T = TypeVar("T")


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def best(fn: Callable[[], tuple[T, float]], runs: int = 3) -> tuple[T, float]:
    """The fastest of *runs* runs of a read-only step."""
    return min((fn() for _ in range(runs)), key=lambda outcome: outcome[1])


def in_parallel(fn: Callable[[int], Any], items: range) -> None:
    with ThreadPoolExecutor(WORKERS) as pool:
        list(pool.map(lambda n: _again_if_rolled_back(fn, n), items))


def _again_if_rolled_back(fn: Callable[[int], Any], n: int) -> Any:
    """Two edits at once can deadlock in MariaDB; Phorge then answers HTTP 500 ("SAVEPOINT ...
    does not exist") having rolled the edit back, so it is safe to send again."""
    for attempt in range(5):
        try:
            return fn(n)
        except requests.HTTPError as exc:
            if attempt == 4 or "SAVEPOINT" not in exc.response.text and "Deadlock" not in exc.response.text:
                raise
            time.sleep(0.1 * (attempt + 1))
    return None


def build(phorge: Phorge, count: int) -> list[int]:
    """*count* tagged tasks, each created, raised to Unbreak Now! with a comment, then resolved."""
    owners = ["alice", "bob", "admin"]
    ids: list[int] = [0] * count

    def create(n: int) -> None:
        ids[n] = phorge.create_task(
            f"DBQueryError {n} on checkout", projects=[ERROR], owner=owners[n % 3], priority="high",
            user=owners[(n + 1) % 3],
        )["id"]  # fmt: skip

    in_parallel(create, range(count))
    in_parallel(
        lambda n: phorge.edit_task(
            ids[n],
            [{"type": "priority", "value": "unbreak"}, {"type": "comment", "value": f"seen {n} times"}],
            owners[n % 3],
        ),
        range(count),
    )
    in_parallel(lambda n: phorge.close(ids[n], "resolved", owners[(n + 2) % 3]), range(count))
    return ids


class Bare:
    """The floor: Conduit calls with plain ``requests``, nothing parsed or stored."""

    def __init__(self, phorge: Phorge) -> None:
        self.url, self.token = phorge.api_url, phorge.tokens["admin"]
        self.session = requests.Session()
        self.calls = 0

    def call(self, method: str, params: dict[str, Any]) -> Any:
        self.calls += 1
        form = {"params": json.dumps({**params, "__conduit__": {"token": self.token}}), "output": "json", "__conduit__": "1"}
        return self.session.post(self.url + method, data=form, timeout=120).json()["result"]

    def pages(self, method: str, params: dict[str, Any]) -> Iterator[list[Any]]:
        after = None
        while True:
            result = self.call(method, {**params, **({"after": after} if after else {})})
            yield result["data"]
            after = result["cursor"]["after"]
            if after is None:
                return


def floor_draft(phorge: Phorge, project: str, start: int, end: int) -> tuple[int, float]:
    bare = Bare(phorge)

    def fetch() -> None:
        authors: set[str] = set()
        constraints = {"projects": [project], "modifiedStart": start, "createdEnd": end}
        for page in bare.pages("maniphest.search", {"constraints": constraints, "limit": SEARCH_PAGE_MAX}):
            authors.update(item["fields"]["authorPHID"] for item in page)
        for page in bare.pages("transaction.search", {"objectType": "TASK", "limit": TRANSACTION_PAGE_MAX}):
            authors.update(item["authorPHID"] for item in page)
            if page and page[-1]["dateCreated"] < start:
                break
        bare.call("user.search", {"constraints": {"phids": sorted(authors)}})

    _, seconds = timed(fetch)
    return bare.calls, seconds


def floor_sync(phorge: Phorge, ids: list[int]) -> tuple[int, float]:
    bare = Bare(phorge)
    chunks = [ids[i : i + SEARCH_PAGE_MAX] for i in range(0, len(ids), SEARCH_PAGE_MAX)]
    _, seconds = timed(lambda: [bare.call("maniphest.search", {"constraints": {"ids": c}, "limit": SEARCH_PAGE_MAX}) for c in chunks])
    return bare.calls, seconds


def per_task_loop(phorge: Phorge, ids: list[int]) -> tuple[int, float]:
    bare = Bare(phorge)
    _, seconds = timed(lambda: [bare.call("maniphest.search", {"constraints": {"ids": [i]}}) for i in ids])
    return bare.calls, seconds


def row(label: str, calls: int, seconds: float, floor: tuple[int, float], extra: str = "") -> None:
    ratio = f"{calls / floor[0]:4.2f}x calls, {seconds / floor[1]:5.2f}x time of the floor"
    print(f"  {label:<42} {calls:>5} calls {seconds:7.2f} s   {ratio}{extra}")


def bench_draft(phorge: Phorge, window: Window, count: int) -> None:
    settings = Settings(phabricator=PhabricatorSettings(url=phorge.url))
    query = Query(window, ("T1",))

    def pull() -> tuple[Any, float]:
        client = ConduitClient(phorge.url, phorge.tokens["admin"])
        return timed(lambda: (PhabricatorSource(settings, client).pull(query), client.calls))

    (export, calls), pulled = best(pull)
    result, parsed = best(lambda: timed(lambda: parse(export, query)))
    transactions = len(json.loads(export.text("transactions.json") or "[]"))
    project = phorge.projects[ERROR]["phid"]
    start, end = to_epoch(window.start), math.ceil(window.end.timestamp()) - 1
    floor = best(lambda: floor_draft(phorge, project, start, end))
    print(f"draft: {count} tagged tasks, {transactions} transactions in the window ({export.meta['transactions']})")
    row("floor: the same data, bare requests", *floor, floor)
    row("pull (incidentkit)", calls, pulled, floor)
    print(f"  {'parse':<42} {'':>11} {parsed:7.2f} s   {len(result.events)} events, {len(result.problems)} problems")


def bench_sync(phorge: Phorge, ids: list[int], changed: int, work: Path) -> None:
    path = work / "sync.db"
    with Store.open(path) as store:
        store.save_incident(IncidentRecord(slug="big", title="Checkout down", start=datetime.now(UTC).isoformat()))
        record_proposed(store, "big", [FollowUp(title=f"task {i}", task=f"T{i}") for i in ids], Settings(), now=datetime.now(UTC))

    def sync() -> tuple[Any, float]:
        with Store.open(path) as store:
            client = ConduitClient(phorge.url, phorge.tokens["admin"])
            return timed(lambda: sync_actionables(store, client, now=datetime.now(UTC)))

    floor = best(lambda: floor_sync(phorge, ids))
    loop = per_task_loop(phorge, ids)
    print(f"sync: {len(ids)} tracked tasks")
    row("floor: 100 ids per call, bare requests", *floor, floor)
    row("one call per task, bare requests", *loop, floor)
    first, first_s = sync()
    row("sync, first run", first.calls, first_s, floor, f", {len(first.changes)} changes printed")
    step = max(1, len(ids) // changed)
    picked = ids[::step][:changed]
    third = len(picked) // 3
    in_parallel(lambda n: phorge.close(picked[n], "declined"), range(third))
    in_parallel(lambda n: phorge.reopen(picked[n]), range(third, len(picked)))
    in_parallel(lambda n: phorge.close(picked[n], "resolved"), range(2 * third, len(picked)))
    warm, warm_s = sync()
    row(f"sync, {len(picked)} tasks changed", warm.calls, warm_s, floor, f", {len(warm.changes)} changes printed")
    idle, idle_s = best(sync)
    row("sync, nothing changed", idle.calls, idle_s, floor, f", {len(idle.changes)} changes printed")
    print(f"  batched sync (nothing changed) vs one call per task: {loop[1] / idle_s:5.1f}x faster")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--changed", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-phorge-") as tmp, running_phorge(Path(tmp) / "site") as phorge:
        print(f"phorge ready in {phorge.startup_seconds:.1f} s")
        start = datetime.fromtimestamp(int(time.time()), UTC)
        ids, seconds = timed(lambda: build(phorge, args.tasks))
        time.sleep(1)  # whole-second dates: the window ends after the last edit
        window = Window(start, datetime.fromtimestamp(int(time.time()) + 1, UTC))
        print(f"built {args.tasks} tasks ({3 * args.tasks} Conduit edits) in {seconds:.1f} s")
        bench_draft(phorge, window, args.tasks)
        bench_sync(phorge, ids, args.changed, Path(tmp))


if __name__ == "__main__":
    main()
