"""Benchmark: a draft's cost follows its window, not the size of the SAL page it reads.

Builds a realistic Server Admin Log page (newest day first, every era's line shapes and deploy-tool
lines), writes it to a file and measures, in the same run:

* the **floor**: Python reading the same file and regex-splitting it into lines;
* the **draft**: reading the file as ``--input sal=FILE`` does, the SAL parse, merge, rows and
  curation (goal: at most 5x the floor for a 7-day window of a 100,000-line page); rendering the
  page is timed and printed beside it;
* **memory**: the peak RSS of a fresh process drafting the whole page, against one drafting a page
  holding only the window's days; the difference per out-of-window page byte (goal: at most 2).

``--scale`` adds the linearity runs: pages of 100k to 1M lines with a 1-day window, and 50k to 500k
rows inside the window; it prints time and memory per line (or row) so growth beyond linear shows.
Times are this process's CPU time, so other processes on the machine disturb them less; still,
ratios are what to compare: these 2-core machines are noisy. Prints figures; asserts nothing.

Run:  .venv/bin/python bench/bench_sal.py [--lines 100000] [--days 100] [--repeat 5] [--scale]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from incidentkit.config import Settings  # noqa: E402
from incidentkit.model.source import Query  # noqa: E402
from incidentkit.model.window import Window  # noqa: E402
from incidentkit.services.draft import draft_incident  # noqa: E402
from incidentkit.services.pulls import collect  # noqa: E402
from incidentkit.wikitext.render import render_incident  # noqa: E402

__all__ = ["make_days", "main"]

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
FIRST_DAY = date(2026, 1, 1)
SPLIT = re.compile(r"\r\n|[\n\r]")
INTRO = "This is the production '''Server Admin Log'''. Entries are added by stashbot; newest first.\n"


def make_days(days: int, per_day: int, *, first: date = FIRST_DAY, seed: int = 42) -> list[tuple[date, str]]:
    """*days* day sections of *per_day* entries each, oldest first: ``[(day, section text), ...]``."""
    rng = random.Random(seed)
    sections = []
    for d in range(days):
        day = first + timedelta(days=d)
        out = [f"\n== {day:%Y-%m-%d} =="]
        for i in reversed(range(per_day)):
            hh, mm = divmod(i * 1440 // per_day, 60)
            body = rng.choice(LINES).format(
                user=rng.choice(USERS), n=rng.randint(1000, 999999), t=rng.randint(100000, 400000),
                s=rng.randint(0, 59), m=rng.randint(0, 30), sha=f"{rng.getrandbits(28):07x}", hh=hh, mm=mm,
            )  # fmt: skip
            out.append(f"* {body}" if body.startswith("{{") else f"* {hh:02d}:{mm:02d} {body}")
        sections.append((day, "\n".join(out) + "\n"))
    return sections


def page_text(sections: list[tuple[date, str]]) -> str:
    """The page as the wiki holds it: an intro, then the newest day first."""
    return INTRO + "".join(text for _, text in reversed(sections))


def floor(path: Path) -> int:
    """What any reader pays: read the file, split it into lines."""
    return len(SPLIT.split(path.read_text(encoding="utf-8")))


def draft(path: Path, window: Window) -> tuple[float, float, int, int]:
    """(draft seconds, render seconds, events, page characters) of drafting *window* from *path*."""
    started = time.process_time()
    query = Query(window)
    collected = collect(query, Settings(), inputs={"sal": path}, now=window.end, title="Bench")
    incident = draft_incident(collected, title="Bench", settings=Settings())
    drafted = time.process_time()
    page = render_incident(incident)
    return drafted - started, time.process_time() - drafted, len(incident.rows), len(page)


def best(repeat: int, fn, *args):  # noqa: ANN001, ANN201 - a timing helper
    """The fastest of *repeat* runs of ``fn(*args)``, whose first item is its time in seconds."""
    return min((fn(*args) for _ in range(repeat)), key=lambda result: result[0])


def peak_kb() -> int:
    """This process's peak RSS in KB (VmHWM: unlike ru_maxrss it does not carry the parent's peak over exec)."""
    status = Path("/proc/self/status").read_text(encoding="ascii")
    return int(re.search(r"^VmHWM:\s*(\d+) kB", status, re.M).group(1))


def child(mode: str, path: str, start: str, end: str) -> None:
    """Run in a fresh process: one floor or one draft, then print its peak RSS (KB) as JSON."""
    if mode == "floor":
        floor(Path(path))
        print(json.dumps({"peak_kb": peak_kb()}))
        return
    window = Window(datetime.fromisoformat(start), datetime.fromisoformat(end))
    query = Query(window)
    collected = collect(query, Settings(), inputs={"sal": Path(path)}, now=window.end, title="Bench")
    incident = draft_incident(collected, title="Bench", settings=Settings())
    drafted = peak_kb()
    render_incident(incident)
    print(json.dumps({"peak_kb": drafted, "peak_render_kb": peak_kb()}))


def peak(mode: str, path: Path, window: Window) -> dict[str, int]:
    args = [sys.executable, __file__, "--child", mode, str(path), window.start.isoformat(), window.end.isoformat()]
    return json.loads(subprocess.run(args, check=True, capture_output=True, text=True).stdout)


def write(path: Path, sections: list[tuple[date, str]]) -> int:
    text = page_text(sections)
    path.write_text(text, encoding="utf-8")
    return len(text.encode())


def window_of(first: date, days: int) -> Window:
    start = datetime(first.year, first.month, first.day, tzinfo=UTC)
    return Window(start, start + timedelta(days=days))


def headline(tmp: Path, lines: int, days: int, window_days: int, repeat: int) -> None:
    sections = make_days(days, lines // days)
    first = len(sections) // 2  # the window in the middle: days before it and after it to skip
    window = window_of(sections[first][0], window_days)
    full, only = tmp / "sal-full.wiki", tmp / "sal-window.wiki"
    full_bytes = write(full, sections)
    only_bytes = write(only, sections[first : first + window_days])
    floor_s = min(timed_floor(full) for _ in range(repeat))
    draft_s, render_s, rows, chars = best(repeat, draft, full, window)
    only_s, only_render_s, only_rows, _ = best(repeat, draft, only, window)
    print(f"page: {lines:,} entries over {days} days, {full_bytes / 1e6:.1f} MB; window: {window_days} days, {rows:,} rows")
    print(f"floor (read + regex-split the file): {floor_s:.3f} s")
    print(f"draft (read, parse, merge, rows, curation): {draft_s:.3f} s = {draft_s / floor_s:.1f}x the floor (goal <= 5x)")
    print(f"render: {render_s:.3f} s ({chars:,} characters); draft + render {(draft_s + render_s) / floor_s:.1f}x the floor")
    print(f"same window from a page of only its days ({only_bytes / 1e6:.1f} MB): draft {only_s:.3f} s, render {only_render_s:.3f} s, {only_rows:,} rows")
    floor_kb = peak("floor", full, window)["peak_kb"]
    full_kb, only_kb = peak("draft", full, window), peak("draft", only, window)
    extra = (full_kb["peak_kb"] - only_kb["peak_kb"]) * 1024 / (full_bytes - only_bytes)
    print(
        f"peak RSS: floor {floor_kb / 1024:.0f} MB; draft {full_kb['peak_kb'] / 1024:.0f} MB "
        f"(window-only page {only_kb['peak_kb'] / 1024:.0f} MB); with render {full_kb['peak_render_kb'] / 1024:.0f} MB"
    )
    print(f"extra memory per out-of-window page byte: {extra:.2f} (goal <= 2)")


def timed_floor(path: Path) -> float:
    started = time.process_time()
    floor(path)
    return time.process_time() - started


def baseline_kb(tmp: Path) -> int:
    """Peak RSS of a process drafting a one-line page: the interpreter and its imports."""
    path = tmp / "sal-tiny.wiki"
    sections = make_days(1, 1)
    write(path, sections)
    return peak("draft", path, window_of(sections[0][0], 1))["peak_kb"]


def scale(tmp: Path, repeat: int) -> None:
    """Linearity: time and memory (above a one-line draft's) per page line, then per row in the window."""
    base = baseline_kb(tmp)
    print(f"\nbaseline: a one-line draft peaks at {base / 1024:.0f} MB (interpreter and imports)")
    print("pages of growing size, 1-day window (time per page line, memory above the baseline per page byte):")
    for lines in (100_000, 200_000, 500_000, 1_000_000):
        sections = make_days(40, lines // 40)
        window = window_of(sections[20][0], 1)
        path = tmp / "sal-scale.wiki"
        size = write(path, sections)
        floor_s = min(timed_floor(path) for _ in range(repeat))
        draft_s, render_s, rows, _ = best(repeat, draft, path, window)
        kb = peak("draft", path, window)["peak_kb"]
        print(
            f"  {lines:>9,} lines {size / 1e6:6.1f} MB, {rows:,} rows: floor {floor_s:.3f} s; draft {draft_s:.3f} s "
            f"({draft_s / floor_s:.1f}x, {draft_s / lines * 1e6:.2f} us/line); render {render_s:.2f} s; "
            f"peak {kb / 1024:.0f} MB ({(kb - base) * 1024 / size:.2f} bytes per page byte)"
        )
    print("rows in the window (a 1-day page, the window its day; time and memory per row):")
    for rows in (50_000, 100_000, 200_000, 500_000):
        path = tmp / "sal-rows.wiki"
        sections = make_days(1, rows)
        size = write(path, sections)
        window = window_of(sections[0][0], 1)
        floor_s = min(timed_floor(path) for _ in range(repeat))
        draft_s, render_s, got, _ = draft(path, window)
        kb = peak("draft", path, window)
        print(
            f"  {got:>9,} rows {size / 1e6:6.1f} MB: floor {floor_s:.3f} s; draft {draft_s:.2f} s "
            f"({draft_s / floor_s:.1f}x, {draft_s / got * 1e6:.1f} us/row); render {render_s:.2f} s "
            f"({render_s / got * 1e6:.1f} us/row); peak {kb['peak_kb'] / 1024:.0f} MB "
            f"({(kb['peak_kb'] - base) / got:.2f} KB/row), with render {kb['peak_render_kb'] / 1024:.0f} MB"
        )


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(*sys.argv[2:6])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000, help="entries on the page")
    parser.add_argument("--days", type=int, default=100, help="day sections the entries spread over")
    parser.add_argument("--window-days", type=int, default=7, help="days in the drafted window")
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure (the best is kept)")
    parser.add_argument("--scale", action="store_true", help="also run the linearity series (slow)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="incidentkit-bench-") as tmp:
        headline(Path(tmp), args.lines, args.days, args.window_days, args.repeat)
        if args.scale:
            scale(Path(tmp), args.repeat)


if __name__ == "__main__":
    main()
