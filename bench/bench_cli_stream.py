"""Streaming output: memory and time of list commands as rows grow, against floors in the same run.

    .venv/bin/python bench/bench_cli_stream.py [--events 50000,100000,200000] [--actionables 10000,100000,1000000]
                                               [--tree DIR]

* ``events --format json|csv`` over an Icinga log with N alert events. Floor: the same pull and
  parse with the rows counted, not written (what the sources hold in memory). The output's own
  cost is the difference: per event it should be ~0 bytes (rows are written as they come).
* ``actionables list --status all --format json|csv`` over a store of N actionables. Floor: the
  same rows read from SQLite with the sqlite3 module and written as JSON lines by a bare script.
  Peak memory should not grow with N.

Each figure is one child process (peak RSS from the kernel, CPU time user+sys). ``--tree`` runs
another copy of incidentkit with this interpreter (before/after figures).
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
START = datetime(2023, 2, 13, 12, tzinfo=UTC)

EVENTS_FLOOR = """
import sys
from datetime import datetime, timedelta, UTC
from pathlib import Path
from incidentkit.config import load_settings
from incidentkit.model.source import Query
from incidentkit.model.window import parse_window
from incidentkit.services.pulls import collect
window = parse_window(sys.argv[1], sys.argv[2], now=datetime.now(UTC), max_span=timedelta(days=14))
pulled = collect(Query(window, ()), load_settings(), inputs={"icinga": Path(sys.argv[3])}, now=datetime.now(UTC))
print(sum(1 for _ in pulled.events))
"""

ACTIONABLES_FLOOR = """
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
cursor = db.execute("SELECT * FROM actionables ORDER BY due, id")
names = [c[0] for c in cursor.description]
write = sys.stdout.write
for row in cursor:
    write(json.dumps(dict(zip(names, row)), ensure_ascii=False) + "\\n")
"""


def measure(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """(peak RSS in MB, CPU seconds) of one child process; its output is discarded."""
    child = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    errors = child.stderr.read().decode() if child.stderr else ""
    if child.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(argv)} failed ({child.returncode}): {errors[-2000:]}")
    return usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def icinga_log(path: Path, events: int) -> None:
    """An Icinga main log whose SERVICE ALERT lines give *events* alert events (fired, resolved)."""
    rng = random.Random(7)
    base = int(START.timestamp())
    with path.open("w", encoding="utf-8") as out:
        for n in range(events):
            state = "CRITICAL" if n % 2 == 0 else "OK"
            host, service = f"mw{1000 + (n // 2) % 700}", f"Apache HTTP {(n // 2) % 50}"
            out.write(f"[{base + n}] SERVICE ALERT: {host};{service};{state};HARD;3;HTTP {state} - "
                      f"{rng.randrange(100, 999)} bytes in {rng.random():.3f} second response time\n")  # fmt: skip


def seed_actionables(path: Path, rows: int, tree: Path, env: dict[str, str]) -> None:
    """*rows* actionables: 1,000 written through the store, then copied in SQL with new task ids."""
    seed = (
        "import sys\n"
        "from datetime import UTC, datetime\n"
        "from incidentkit.config import Settings\n"
        "from incidentkit.model.actionable import FollowUp\n"
        "from incidentkit.model.incident import IncidentRecord\n"
        "from incidentkit.services.actionables import upsert_imported\n"
        "from incidentkit.store import Store\n"
        "with Store.open(sys.argv[1]) as store:\n"
        "    store.save_incident(IncidentRecord(slug='big', title='Big', start='2024-05-01T00:00:00Z', severity='2'))\n"
        "    hints = ['Open', 'stalled', 'Resolved', 'Declined']\n"
        "    items = [FollowUp(title=f'follow-up {n}: make the cache warm before deploys', task=f'T{n}',\n"
        "                      status=hints[n % 4], owner=f'user{n % 40}') for n in range(1, 1001)]\n"
        "    upsert_imported(store, 'big', items, now=datetime(2024, 6, 10, tzinfo=UTC))\n"
    )
    subprocess.run([sys.executable, "-c", seed, str(path)], env=env, cwd=tree, check=True)
    db = sqlite3.connect(path)
    columns = [row[1] for row in db.execute("PRAGMA table_info(actionables)") if row[1] != "id"]
    copied = ", ".join("'T' || (id + ?)" if c == "task" else c for c in columns)
    done = 1000
    while done < rows:
        batch = min(done, rows - done)
        db.execute(f"INSERT INTO actionables ({', '.join(columns)}) SELECT {copied} FROM actionables "
                   f"ORDER BY id LIMIT ?", (done + 10_000_000 * (done // 1000), batch))  # fmt: skip
        done += batch
    db.commit()
    db.close()


def bench_events(sizes: list[int], tree: Path, env: dict[str, str], work: Path) -> None:
    print("events (Icinga alert events): peak RSS MB / CPU s; output's own memory per event = (run - floor) / N")
    window = [START.isoformat(), (START + timedelta(days=10)).isoformat()]
    for size in sizes:
        log = work / f"icinga-{size}.log"
        icinga_log(log, size)
        floor = measure([sys.executable, "-c", EVENTS_FLOOR, *window, str(log)], env, tree)
        line = f"  N={size:>9,}  floor (parse, no output) {floor[0]:7.0f} MB {floor[1]:6.2f} s"
        for fmt in ("json", "csv"):
            run = measure(
                [sys.executable, "-m", "incidentkit", "events", "--from", window[0], "--to", window[1],
                 "--input", f"icinga={log}", "--format", fmt], env, tree,
            )  # fmt: skip
            extra = (run[0] - floor[0]) * 1024 * 1024 / size
            line += f" | {fmt} {run[0]:7.0f} MB {run[1]:6.2f} s ({run[0] / floor[0]:.2f}x MB, {extra:+6.0f} B/event)"
        print(line, flush=True)
        log.unlink()


def bench_actionables(sizes: list[int], tree: Path, env: dict[str, str], work: Path) -> None:
    print("actionables list --status all: peak RSS MB / CPU s against a bare sqlite3 + json script")
    for size in sizes:
        db = work / f"actionables-{size}.db"
        seed_actionables(db, size, tree, env)
        floor = measure([sys.executable, "-c", ACTIONABLES_FLOOR, str(db)], env, tree)
        line = f"  N={size:>9,}  floor {floor[0]:6.0f} MB {floor[1]:6.2f} s"
        for fmt in ("json", "csv"):
            run = measure(
                [sys.executable, "-m", "incidentkit", "--db", str(db), "actionables", "list", "--status", "all",
                 "--format", fmt], env, tree,
            )  # fmt: skip
            line += f" | {fmt} {run[0]:6.0f} MB ({run[0] / floor[0]:.2f}x) {run[1]:6.2f} s ({run[1] / floor[1]:.1f}x)"
        print(line, flush=True)
        db.unlink()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", default="50000,100000,200000")
    parser.add_argument("--actionables", default="10000,100000,1000000")
    parser.add_argument("--tree", type=Path, default=ROOT)
    args = parser.parse_args(argv[1:])
    tree = args.tree.resolve()
    with tempfile.TemporaryDirectory(prefix="bench-stream-") as tmp:
        work = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith("INCIDENTKIT_")}
        env |= {"PYTHONPATH": str(tree), "INCIDENTKIT_HOME": str(work / "home"), "INCIDENTKIT_NOW": "2024-06-10T12:00:00Z"}
        (work / "home").mkdir()
        print(f"{tree}, {sys.executable}")
        if args.events:
            bench_events([int(n) for n in args.events.split(",")], tree, env, work)
        if args.actionables:
            bench_actionables([int(n) for n in args.actionables.split(",")], tree, env, work)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
