"""Benchmark: what a misbehaving source costs a draft (goals: wall time <= the deadline + 2 s when
one source trickles; peak memory < 200 MB with a 50 MB answer from any source).

Runs ``incidentkit draft`` as a fresh process against the misbehaving server of the test suite
(``tests/servers/misbehaving.py``), every live source configured (SAL wiki, Phabricator,
Prometheus, Alertmanager, Splunk On-Call). The floor is the same draft with every source healthy, measured in the
same run; each misbehaving case prints its wall time, its peak memory (the child's max RSS) and
both against the floor.

Run:  .venv/bin/python bench/bench_edges.py [--deadline SECONDS]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.servers.misbehaving import SOURCES, WINDOW_END, WINDOW_START, running_misbehaving  # noqa: E402


class _Env(dict):
    """The environment of the drafts; ``setenv`` lets the test fixture's ``config_env`` fill it."""

    def setenv(self, name: str, value: str) -> None:
        self[name] = value


def _draft(env: dict[str, str]) -> tuple[float, float, int]:
    """(wall seconds, peak RSS in MB, exit code) of one draft in a fresh process."""
    command = [
        sys.executable, "-c", "from incidentkit.cli import main; main()", "draft",
        "--from", f"{WINDOW_START:%Y-%m-%d %H:%M}", "--to", f"{WINDOW_END:%Y-%m-%d %H:%M}",
        "--title", "Bench", "--task", "T1", "--no-store",
    ]  # fmt: skip
    started = time.monotonic()
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.monotonic() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    return elapsed, usage.ru_maxrss / 1024, process.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deadline", type=float, default=5.0, help="[draft] source_timeout for the drafts (s)")
    options = parser.parse_args()
    owner, server = running_misbehaving()
    home = tempfile.mkdtemp(prefix="incidentkit-bench-")
    env = _Env({k: v for k, v in os.environ.items() if not k.startswith("INCIDENTKIT_")})
    env["INCIDENTKIT_HOME"] = home
    owner.config_env(env, SOURCES, timeout=options.deadline)  # type: ignore[arg-type]
    try:
        floor_time, floor_rss, code = _draft(env)
        print(f"deadline ([draft] source_timeout): {options.deadline:g} s; size cap: 20 MB (default)")
        print(f"floor (every source healthy): {floor_time:.2f} s, peak {floor_rss:.0f} MB, exit {code}")
        print()
        print(f"{'source':<13} {'case':<14} {'wall':>7} {'- floor':>8} {'goal':>8} {'peak MB':>8} {'x floor':>8}  exit")
        timed = ("trickle", "hang", "retry_after")
        for case, goal in [(case, f"<= {options.deadline + 2:g} s") for case in timed] + [
            ("huge", "< 200 MB"), ("huge_declared", "< 200 MB")
        ]:
            for source in SOURCES:
                owner.reset()
                owner.release.clear()
                owner.behave(source, case)
                wall, rss, code = _draft(env)
                owner.release.set()
                met = wall <= options.deadline + 2 if case in timed else rss < 200
                print(
                    f"{source:<13} {case:<14} {wall:>6.2f}s {wall - floor_time:>+7.2f}s {goal:>8} {rss:>8.0f}"
                    f" {rss / floor_rss:>7.2f}x  {code}  {'ok' if met else 'MISSED'}"
                )
    finally:
        owner.release.set()
        server.shutdown()
        server.server_close()


if __name__ == "__main__":
    main()
