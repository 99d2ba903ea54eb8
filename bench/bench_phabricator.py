"""Benchmark: pull a busy incident window from the Conduit fake; print Conduit calls and time.

Run from the repository root::

    .venv/bin/python bench/bench_phabricator.py [--tasks 1000] [--transactions 10000] [--noise 20000]

A window holds ``--tasks`` tasks tagged with the configured project and ``--transactions``
transactions on them (10 per task: creation, Unbreak Now!, claim, comment, resolve, reopen,
resolve). The second run adds ``--noise`` transactions on other tasks after the window, which the
``objectType: "TASK"`` scan must page through. The goal: calls = paging lower bound + a small
constant (a per-task ``transaction.search`` would cost one call per task).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from incidentkit.clients.conduit import BATCH_SIZE, SEARCH_PAGE_MAX, TRANSACTION_PAGE_MAX, ConduitClient
from incidentkit.config import PhabricatorSettings, Settings  # noqa: E402
from incidentkit.model.source import Query  # noqa: E402
from incidentkit.model.window import Window
from incidentkit.sources.phabricator import PhabricatorSource, parse  # noqa: E402
from tests.servers.conduit_fake import ConduitFake  # noqa: E402

START = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)
WINDOW = Window(START, START + timedelta(hours=3))
USERS = 40
PER_TASK = 10  # transactions each task gets in the window (see build)


def epoch(minutes: float) -> int:
    return int((START + timedelta(minutes=minutes)).timestamp())


def build(fake: ConduitFake, tasks: int) -> None:
    """*tasks* tagged tasks with PER_TASK transactions each, all inside the window, in time order."""
    fake.set_clock(epoch(-60 * 24))
    project = fake.add_project("Wikimedia-production-error")  # hashtags derived as Phorge derives them
    fake.add_project("Sustainability (Incident Followup)")
    fake.add_project("SRE-OnFIRE (Pending Review & Scorecard)")
    people = [f"sre{n}" for n in range(USERS)]
    for name in people:
        fake.add_user(name)
    span = 150 * 60  # seconds of window used
    for n in range(tasks):
        author = people[n % USERS]
        fake.add_task(
            f"Error {n}", author=author, projects=[project], created=epoch(0) + n * span // (tasks * 7)
        )
    # create, title, projects, subscribers = 4 per task; six more per task, spread in time order
    steps = [
        ("priority", "unbreak"),
        ("owner", None),
        ("comment", "looking"),
        ("status", "resolved"),
        ("status", "open"),
        ("status", "resolved"),
    ]
    for step, (kind, value) in enumerate(steps, start=1):
        for n in range(tasks):
            at = epoch(0) + (step * tasks + n) * span // (tasks * 7)
            actor = people[n % USERS]
            task_id = n + 1
            if kind == "priority":
                fake.set_priority(task_id, value, at=at, actor=actor)
            elif kind == "owner":
                fake.set_owner(task_id, actor, at=at, actor=actor)
            elif kind == "comment":
                fake.add_comment(task_id, f"{value} {n}", at=at, actor=actor)
            else:
                fake.set_status(task_id, value, at=at, actor=actor)


def add_noise(fake: ConduitFake, count: int) -> None:
    """*count* transactions on an untagged task after the window (the rest of the instance)."""
    busy = fake.add_task("Somebody else's busy task", created=epoch(60 * 4))
    for n in range(count - 3):
        fake.add_comment(busy.id, "noise", at=epoch(60 * 4) + n)


def run(fake: ConduitFake, label: str, tasks: int, in_window: int, noise: int) -> None:
    settings = Settings(phabricator=PhabricatorSettings(url=fake.url))
    client = ConduitClient(fake.url, fake.token)
    query = Query(WINDOW, ("T1",))
    started = time.perf_counter()
    export = PhabricatorSource(settings, client).pull(query)
    pulled = time.perf_counter() - started
    started = time.perf_counter()
    result = parse(export, query)
    parsed = time.perf_counter() - started
    users = USERS + 1
    bound = (  # pages the data itself needs
        math.ceil(tasks / SEARCH_PAGE_MAX)
        + math.ceil(in_window / TRANSACTION_PAGE_MAX)
        + math.ceil(users / BATCH_SIZE)
        + 1  # project names
    )
    scan_extra = math.ceil((in_window + noise) / TRANSACTION_PAGE_MAX) - math.ceil(
        in_window / TRANSACTION_PAGE_MAX
    )
    print(f"== {label}")
    print(f"   tasks {tasks}, transactions in window {in_window}, other transactions since {noise}")
    print(
        f"   Conduit calls: {client.calls} = paging lower bound {bound}"
        f" + scan through later transactions {scan_extra} + constant {client.calls - bound - scan_extra}"
    )
    print(f"   transaction strategy: {export.meta['transactions']} (per task would be >= {tasks} calls)")
    print(
        f"   pull {pulled:.2f} s, parse {parsed:.2f} s, events {len(result.events)}, problems {len(result.problems)}"
    )
    by_method: dict[str, int] = {}
    for method, _params in fake.requests[-client.calls :]:
        by_method[method] = by_method.get(method, 0) + 1
    print("   calls by method: " + ", ".join(f"{m} {n}" for m, n in sorted(by_method.items())))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--transactions", type=int, default=10_000)
    parser.add_argument("--noise", type=int, default=20_000)
    args = parser.parse_args()
    if args.transactions != args.tasks * PER_TASK:
        parser.error(f"--transactions must be {PER_TASK} x --tasks (each task gets {PER_TASK})")
    fake = ConduitFake().start()
    try:
        started = time.perf_counter()
        build(fake, args.tasks)
        in_window = len(fake.transactions)
        print(f"built {args.tasks} tasks / {in_window} transactions in {time.perf_counter() - started:.1f} s")
        run(fake, "quiet instance", args.tasks, in_window, 0)
        add_noise(fake, args.noise)
        run(fake, "busy instance", args.tasks, in_window, len(fake.transactions) - in_window)
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
