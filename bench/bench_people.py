"""Benchmark: the channel's words and the pages, on a busy day.

* ``irc``: a 24-hour #wikimedia-operations log of 20,000 people's lines and 2,000 alert-bot lines,
  parsed into chat and alert events, against a floor of splitting the same lines with one regex.
* ``people``: the people facts (paged, responders, first human report, verdicts, burden) of that
  day's events plus 500 pages, against the floor of one pass over the events.
* ``oncall``: parsing 5,000 reporting-API incidents against ``json.loads`` of the same text.

Prints seconds and ratios (best of 3). Run:  .venv/bin/python bench/bench_people.py
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from incidentkit.config import BusinessHoursSettings, Settings
from incidentkit.model.source import Export, Query
from incidentkit.model.window import Window
from incidentkit.sources.irc import parse_irc
from incidentkit.sources.oncall import parse_oncall
from incidentkit.timeline.people import people_facts

DAY = datetime(2023, 2, 14, tzinfo=UTC)
WINDOW = Window(DAY, DAY + timedelta(days=1))
NICKS = [f"person{i}" for i in range(60)]
WORDS = "looking at the fatals on mw1017 reverting the backport errors spike appservers are slow ok thanks".split()


def best(fn: Callable[[], Any]) -> float:
    times = []
    for _ in range(3):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def channel_log(rng: random.Random) -> str:
    lines = []
    for i in range(22_000):
        when = DAY + timedelta(seconds=i * 86_400 // 22_000)
        if i % 11 == 0:
            lines.append(f"{when:%H:%M:%S} <+icinga-wm> PROBLEM - Apache HTTP on mw{1000 + i % 300} is CRITICAL: timeout")
        else:
            words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 12)))
            lines.append(f"{when:%H:%M:%S} <{rng.choice(NICKS)}> {words}")
    return "\n".join(lines) + "\n"


def reporting(count: int, rng: random.Random) -> str:
    incidents = []
    for n in range(count):
        start = DAY + timedelta(seconds=n * 86_400 // count)
        incidents.append(
            {
                "incidentNumber": str(n),
                "currentPhase": "resolved",
                "entityDisplayName": f"[2x] ProbeDown{n % 50} eqiad sre",
                "routingKey": "sre-batphone",
                "startTime": f"{start:%Y-%m-%dT%H:%M:%SZ}",
                "pagedTeams": ["team-sre"],
                "pagedUsers": rng.sample(NICKS, 3),
                "pagedPolicies": [{"policy": {"name": "SRE", "slug": "pol-sre"}, "team": {"name": "SRE", "slug": "team-sre"}}],
                "transitions": [
                    {"name": "triggered", "at": f"{start:%Y-%m-%dT%H:%M:%SZ}"},
                    {"name": "acknowledged", "at": f"{start + timedelta(seconds=40):%Y-%m-%dT%H:%M:%SZ}", "by": rng.choice(NICKS)},
                    {"name": "resolved", "at": f"{start + timedelta(minutes=9):%Y-%m-%dT%H:%M:%SZ}"},
                ],
            }
        )
    return json.dumps({"offset": 0, "limit": count, "total": count, "incidents": incidents})


def main() -> None:
    rng = random.Random(19)
    log = channel_log(rng)
    query = Query(WINDOW)
    irc_export = Export("irc", (("#wikimedia-operations.2023-02-14.log", log),))
    split = re.compile(r"^(\d\d:\d\d:\d\d) <[+@]?([^>]+)> (.*)$")
    floor = best(lambda: [split.match(line) for line in log.splitlines()])
    irc = best(lambda: parse_irc(irc_export, query))
    result = parse_irc(irc_export, query)
    print(f"irc: {len(log.splitlines())} lines -> {len(result.events)} events in {irc:.3f} s; floor {floor:.3f} s ({irc / floor:.0f}x)")

    pages_text = reporting(500, rng)
    events = sorted([*result.events, *parse_oncall(Export("oncall", (("p.json", pages_text),)), query).events], key=lambda e: e.time)
    settings = Settings(business_hours=BusinessHoursSettings(default="Europe/Berlin Mon-Fri 09:00-18:00"))
    one_pass = best(lambda: [e.text.lower() for e in events])
    people = best(lambda: people_facts(events, WINDOW, settings, paging_read=True, first_alert=DAY + timedelta(hours=1)))
    print(f"people: {len(events)} events in {people:.3f} s; one pass {one_pass:.4f} s ({people / one_pass:.0f}x)")

    big = reporting(5_000, rng)
    loads = best(lambda: json.loads(big))
    parsed = best(lambda: parse_oncall(Export("oncall", (("p.json", big),)), query))
    print(f"oncall: 5,000 incidents parsed in {parsed:.3f} s; json.loads {loads:.3f} s ({parsed / loads:.0f}x)")


if __name__ == "__main__":
    main()
