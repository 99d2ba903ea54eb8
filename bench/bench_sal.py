"""Benchmark: draft a 7-day window from a Server Admin Log of 10,000 lines (target < 2 s).

Builds a realistic SAL page (10 days x 1,000 entries, every era's line shapes and deploy-tool
lines), then times the whole offline draft: parse, merge, rows, curation, render. Prints figures.

Run:  .venv/bin/python bench/bench_sal.py
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta

from incidentkit.config import Settings
from incidentkit.model.source import Export, Query
from incidentkit.model.window import Window
from incidentkit.services.draft import draft_incident
from incidentkit.services.pulls import Collected
from incidentkit.sources.sal import parse
from incidentkit.wikitext.render import render_incident

LINES = [
    "{user}@deploy1002: Synchronized wmf-config/InitialiseSettings.php: Config: [[gerrit:{n}|Enable thing]] (T{t}) (duration: 00m {s:02d}s)",
    "{user}@deploy1002: Started scap sync-world: Backport for [[gerrit:{n}|Fix {{{{!}}}} pipe]]",
    "{user}@deploy1002: Finished scap sync-world: Backport for [[gerrit:{n}|Fix]] (duration: {m:02d}m {s:02d}s)",
    "{user}@cumin1001: START - Cookbook sre.hosts.reboot-single for host mw{n}.eqiad.wmnet",
    "{user}@cumin1001: END (PASS) - Cookbook sre.hosts.reboot-single (exit_code=0) for host mw{n}.eqiad.wmnet",
    "{user}@cumin1001: dbctl commit (dc=all): 'Depool db{n} T{t}', diff saved to https://phabricator.wikimedia.org/P{n} and previous config saved to /var/cache/conftool/dbconfig/x.json",
    "{user}: restarting the thing on mw{n} per T{t}",
    "{{{{safesubst:SAL entry|1={hh:02d}:{mm:02d} {user}@deploy1002: Finished deploy [citoid/deploy@{sha}]: update (duration: 01m {s:02d}s)}}}}",
]
USERS = ["alice", "bob", "carol", "dave", "erin", "frank"]


def make_sal(days: int = 10, per_day: int = 1000, start: datetime = datetime(2026, 11, 1, tzinfo=UTC)) -> str:
    rng = random.Random(42)
    out = ["Intro text of the Server Admin Log."]
    for d in reversed(range(days)):
        day = start + timedelta(days=d)
        out.append(f"\n== {day:%Y-%m-%d} ==")
        for i in reversed(range(per_day)):
            minute = i * 1440 // per_day
            hh, mm = divmod(minute, 60)
            template = rng.choice(LINES)
            body = template.format(
                user=rng.choice(USERS), n=rng.randint(1000, 999999), t=rng.randint(100000, 400000),
                s=rng.randint(0, 59), m=rng.randint(0, 30), sha=f"{rng.getrandbits(28):07x}", hh=hh, mm=mm,
            )
            out.append(f"* {body}" if body.startswith("{{") else f"* {hh:02d}:{mm:02d} {body}")
    return "\n".join(out) + "\n"


def main() -> None:
    text = make_sal()
    lines = sum(1 for line in text.splitlines() if line.startswith("* "))
    window = Window(datetime(2026, 11, 2, tzinfo=UTC), datetime(2026, 11, 9, tzinfo=UTC))
    query = Query(window)
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        result = parse(Export("sal", (("Server Admin Log", text),)), query)
        collected = Collected(query, window.end, (), (result,), ())
        incident = draft_incident(collected, title="Bench", settings=Settings())
        page = render_incident(incident)
        timings.append(time.perf_counter() - started)
    print(f"SAL lines: {lines}; window: 7 days; events in window: {len(result.events)}; problems: {len(result.problems)}")
    print(f"timeline rows: {len(incident.rows)}; page: {len(page):,} characters")
    print(f"draft time: best {min(timings):.3f} s, median {sorted(timings)[2]:.3f} s (target < 2 s)")


if __name__ == "__main__":
    main()
