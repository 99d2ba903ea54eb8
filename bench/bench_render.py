"""Benchmark: rendering a draft costs the same per timeline row at 50,000 rows as at 500,000.

Builds an incident whose timeline holds N rows (SAL-like deploy, log, cookbook and dbctl lines,
alerts, task links and URLs; two days, so the day headings are there too) and measures, in the
same run and for each N:

* the **floor**: the same rows written as plain ``"\\n".join`` of f-strings (``* HH:MM actor: text``),
  no escaping, no links, no page around them;
* the **render**: the whole page, as ``draft`` writes it (:func:`incident_pieces`, written to
  ``/dev/null`` as it is made), in CPU microseconds per row;
* **memory**: in a fresh process, the peak RSS above the incident itself while rendering, per row,
  against the floor's.

Goal: microseconds and bytes per row flat from 50k to 500k rows (linear in the rows). Times are this
process's CPU time; ratios are what to compare (the machines are noisy). Prints; asserts nothing.

Run:  .venv/bin/python bench/bench_render.py [--rows 50000,200000,500000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from incidentkit.model.event import EventKind  # noqa: E402
from incidentkit.model.incident import Incident  # noqa: E402
from incidentkit.model.row import Row  # noqa: E402
from incidentkit.model.window import Window  # noqa: E402
from incidentkit.wikitext.render import incident_pieces  # noqa: E402

__all__ = ["make_incident", "main"]

START = datetime(2026, 1, 1, 12, tzinfo=UTC)
TEXTS = [
    (EventKind.SYNC, "Synchronized wmf-config/InitialiseSettings.php: Config: [[gerrit:{n}|Enable thing]] (T{t}) (duration: 00m {s:02d}s)"),
    (EventKind.BACKPORT, "Finished scap sync-world: Backport for [[gerrit:{n}|Fix {{{{!}}}} pipe]] (duration: {m:02d}m {s:02d}s)"),
    (EventKind.COOKBOOK, "END (PASS) - Cookbook sre.hosts.reboot-single (exit_code=0) for host mw{n}.eqiad.wmnet"),
    (EventKind.DBCTL, "dbctl commit (dc=all): 'Depool db{n} T{t}', diff saved to https://phabricator.wikimedia.org/P{n}"),
    (EventKind.LOG, "restarting the thing on mw{n} per T{t} — see https://logstash.wikimedia.org/goto/{n}"),
    (EventKind.ALERT_FIRING, "ProbeDown firing: Service mw{n}:443 has failed probes (http_api_https_ip4)"),
]
USERS = ["alice", "bob", "carol", "dave", "erin", "frank"]


def make_incident(rows: int, seed: int = 42) -> Incident:
    """An incident whose timeline holds *rows* rows over two days."""
    rng = random.Random(seed)
    step = timedelta(days=2) / rows
    made = []
    for i in range(rows):
        kind, text = rng.choice(TEXTS)
        n, t = rng.randint(1000, 999999), rng.randint(100000, 400000)
        made.append(
            Row(
                key=f"sal:{i}",
                time=START + i * step,
                text=text.format(n=n, t=t, s=rng.randint(0, 59), m=rng.randint(0, 30)),
                source="sal",
                kind=kind,
                actor=rng.choice(USERS),
                url=f"https://wikitech.wikimedia.org/wiki/Runbook{n}" if kind == EventKind.ALERT_FIRING else None,
                tasks=(f"T{t}",) if "T{t}" in text else (),
            )
        )
    window = Window(START, START + timedelta(days=2))
    return Incident(slug="2026-01-01_bench", title="Bench", window=window, generated_at=window.end, rows=tuple(made), similar=())


def floor(incident: Incident) -> str:
    """What any writer of these rows pays: one f-string per row, joined."""
    return "\n".join(f"* {row.time:%H:%M} {row.actor}: {row.text}" for row in incident.rows)


def render(incident: Incident) -> int:
    """The page as ``draft`` writes it, piece by piece, to /dev/null; its length."""
    written = 0
    with open(os.devnull, "w", encoding="utf-8") as out:
        for piece in incident_pieces(incident):
            written += out.write(piece)
    return written


def cpu(fn, *args) -> float:  # noqa: ANN001 - a timing helper
    started = time.process_time()
    fn(*args)
    return time.process_time() - started


def peak_kb() -> int:
    """This process's peak RSS in KB (VmHWM)."""
    status = Path("/proc/self/status").read_text(encoding="ascii")
    return int(re.search(r"^VmHWM:\s*(\d+) kB", status, re.M).group(1))


def child(mode: str, rows: int) -> None:
    """In a fresh process: build the incident, then run the floor or the render; print both peaks."""
    incident = make_incident(rows)
    built = peak_kb()
    (floor if mode == "floor" else render)(incident)
    print(json.dumps({"built_kb": built, "peak_kb": peak_kb()}))


def extra_per_row(mode: str, rows: int) -> float:
    """Bytes per row the floor or the render adds to the peak, in a fresh process."""
    args = [sys.executable, __file__, "--child", mode, str(rows)]
    found = json.loads(subprocess.run(args, check=True, capture_output=True, text=True).stdout)
    return (found["peak_kb"] - found["built_kb"]) * 1024 / rows


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], int(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="50000,200000,500000", help="timeline sizes, comma-separated")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (the best is kept)")
    args = parser.parse_args()
    print("rows: floor us/row | render us/row (ratio) | page chars | memory above the incident: floor B/row, render B/row")
    for rows in (int(n) for n in args.rows.split(",")):
        incident = make_incident(rows)
        floor_s = min(cpu(floor, incident) for _ in range(args.repeat))
        render_s = min(cpu(render, incident) for _ in range(args.repeat))
        chars = render(incident)
        floor_b, render_b = extra_per_row("floor", rows), extra_per_row("render", rows)
        print(
            f"  {rows:>9,}: floor {floor_s / rows * 1e6:5.2f} | render {render_s / rows * 1e6:6.2f} "
            f"({render_s / floor_s:4.1f}x) | {chars / 1e6:6.1f}M | floor {floor_b:5.0f} B/row, render {render_b:5.0f} B/row",
            flush=True,
        )


if __name__ == "__main__":
    main()
