"""Benchmark: ``incidentkit publish`` against a login + edit done directly with mwclient.

Starts a throwaway real MediaWiki (tests/servers/mediawiki.py, as the test session does) and
measures, in the same run, the wall time (and the CPU time of the client itself) of fresh processes:

* the **floor**: ``python -c`` importing mwclient, ``mwclient.Site(...)``, ``login``, and
  ``page.edit`` of the same text to the same page;
* **publish**: ``incidentkit publish FILE --page TITLE`` of a draft file, as a user runs it.

Two cases: a new page (a draft of about 74 KB, ~450 timeline rows) and a republish of a page
with 500 timeline rows by a draft whose 500 rows differ (the timeline region is replaced, the rest
of the page kept). Each case runs ``--repeat`` times on new pages, after a warm-up run of each (the
wiki's caches, the compiled modules); the best of each is kept. The
requests each process sends are counted from the wiki's own request log. Goal: publish at most
1.3x the floor. Prints figures; asserts nothing.

Run:  .venv/bin/python bench/bench_publish.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from incidentkit.model.event import EventKind  # noqa: E402
from incidentkit.model.incident import Incident  # noqa: E402
from incidentkit.model.row import Row  # noqa: E402
from incidentkit.model.window import Window  # noqa: E402
from incidentkit.wikitext.render import render_incident  # noqa: E402
from tests.servers.mediawiki import REPORTER, MediaWiki, running_mediawiki  # noqa: E402

__all__ = ["main"]

PASSWORD_ENV = "BENCH_WIKI_PASSWORD"
FLOOR = """
import os, sys
import mwclient
scheme, host, path, user, title, text_path = sys.argv[1:]
site = mwclient.Site(host, path=path, scheme=scheme)
site.login(user, os.environ["BENCH_WIKI_PASSWORD"])
site.pages[title].edit(open(text_path, encoding="utf-8").read(), summary="floor")
"""


def draft(rows: int, seed: int) -> str:
    """A full draft whose timeline holds *rows* rows (texts vary with *seed*)."""
    from datetime import UTC, datetime

    start = datetime(2026, 1, 1, 12, tzinfo=UTC)
    made = tuple(
        Row(
            key=f"sal:{seed}:{i}",
            time=start + timedelta(seconds=30 * i),
            text=f"Synchronized wmf-config/InitialiseSettings.php: Config change {seed}-{i} for T{300000 + i} (duration: 00m {i % 60:02d}s)",
            source="sal",
            kind=EventKind.SYNC,
            actor=("alice", "bob", "carol")[i % 3],
            tasks=(f"T{300000 + i}",),
        )
        for i in range(rows)
    )
    window = Window(start, start + timedelta(hours=6))
    incident = Incident(slug="2026-01-01_bench", title="Bench", window=window, generated_at=window.end, similar=())
    return render_incident(replace(incident, rows=made))


def requests_logged(wiki: MediaWiki) -> int:
    """Requests the wiki has answered so far (lines of its ``php -S`` log naming a method)."""
    text = (wiki.root / "php-server.log").read_text(encoding="utf-8", errors="replace")
    return sum(1 for line in text.splitlines() if "]: GET " in line or "]: POST " in line)


def timed(wiki: MediaWiki, argv: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, requests sent) of one fresh process; it must succeed."""
    before = requests_logged(wiki)
    started = time.perf_counter()
    child = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    errors = child.stderr.read().decode() if child.stderr else ""
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"{argv[:3]} failed: {errors[-2000:]}")
    time.sleep(0.2)  # the server writes its log line after answering
    return seconds, usage.ru_utime + usage.ru_stime, requests_logged(wiki) - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure (the best is kept)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-publish-") as tmp, running_mediawiki(Path(tmp) / "wiki") as wiki:
        home = Path(tmp) / "home"
        home.mkdir()
        # Compiled modules cached as an installed incidentkit has them (this machine's environment
        # may turn the cache off), kept under the bench's folder, not in the tree.
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("INCIDENTKIT_") and k != "PYTHONDONTWRITEBYTECODE"},
            "PYTHONPYCACHEPREFIX": str(home / "pycache"),
            "INCIDENTKIT_HOME": str(home),
            "INCIDENTKIT_WIKIS_BENCH_URL": wiki.url,
            "INCIDENTKIT_WIKIS_BENCH_USER": REPORTER,
            "INCIDENTKIT_WIKIS_BENCH_PASSWORD_ENV": PASSWORD_ENV,
            PASSWORD_ENV: wiki.users[REPORTER],
        }
        scheme, rest = wiki.url.split("://", 1)
        host, path = rest.split("/", 1)
        files = {}
        for name, rows, seed in (("new", 450, 1), ("base", 500, 2), ("again", 500, 3)):
            files[name] = Path(tmp) / f"{name}.wiki"
            files[name].write_text(draft(rows, seed), encoding="utf-8")

        def floor(title: str, name: str) -> tuple[float, float, int]:
            return timed(wiki, [sys.executable, "-c", FLOOR, scheme, host, "/" + path, REPORTER, title, str(files[name])], env)

        def publish(title: str, name: str) -> tuple[float, float, int]:
            return timed(wiki, [sys.executable, "-m", "incidentkit", "publish", str(files[name]), "--page", title], env)

        floor("Bench/warm-up floor", "new")  # the wiki's first answers are slow (its caches)
        publish("Bench/warm-up publish", "new")  # and the first run compiles the modules
        print(f"new page: {files['new'].stat().st_size / 1000:.0f} KB; republish: 500 rows replaced by 500 others")
        for case in ("new page", "republish"):
            floors, publishes = [], []
            for run in range(args.repeat):
                for kind, results, action in (("floor", floors, floor), ("publish", publishes, publish)):
                    title = f"Bench/{case} {kind} {run}"
                    if case == "republish":
                        floor(title, "base")
                        results.append(action(title, "again"))
                    else:
                        results.append(action(title, "new"))
            wall = min(f[0] for f in floors), min(p[0] for p in publishes)
            cpu = min(f[1] for f in floors), min(p[1] for p in publishes)
            print(
                f"  {case}: wall floor {wall[0]:.2f} s, publish {wall[1]:.2f} s = {wall[1] / wall[0]:.2f}x (goal <= 1.3x) | "
                f"client CPU floor {cpu[0]:.2f} s, publish {cpu[1]:.2f} s | requests floor {floors[0][2]}, publish {publishes[0][2]}",
                flush=True,
            )


if __name__ == "__main__":
    main()
