"""Benchmark: ``incidentkit import`` of report pages from a real local MediaWiki, against its request floor.

For each size (default 1,000 and 5,000 pages) it starts a throwaway MediaWiki (tests/servers/mediawiki.py),
loads N pages ``Incidents/<date> Bench NNNN`` with ``maintenance/importDump.php`` (one process: much
faster than N API edits), their texts cycled from the real and constructed fixture reports in
tests/fixtures/incidents/, and measures in the same run:

* the **request floor**: a fresh wiki client sending the requests an import sends (log in, list the
  prefix, read every page 50 at a time) and doing nothing with the answers; the best of two runs;
* the **import** into a fresh SQLite store (list, batched reads, parse, store, index for search
  and compare with the other incidents), then the **re-import**, which must add nothing and, the
  pages being unchanged, parse nothing;
* the import into another fresh store **without the index** (indexing and comparing replaced by
  nothing), so the index's share of the import shows;
* parsing alone (no wiki, no store), and the CPU time of the client, of its worker process and (the
  floor's wait) of the wiki: on a machine whose cores the wiki shares, their sum over the cores is the
  least an import can take, to show where the rest goes.

Goals: import at most 3x the request floor at 5,000 pages, and the time per page flat across sizes
(linear); a re-import of unchanged pages at most 1.5x; the import sends exactly the floor's
requests (one read per 50 pages). Prints figures; asserts nothing.
``bench/bench_import_requests.py`` measures the wiki client alone, with pages created through the API.

Run: ``.venv/bin/python bench/bench_import.py [--pages 1000 5000]``
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from incidentkit.clients.mediawiki import BATCH_SIZE, connect_wiki  # noqa: E402
from incidentkit.config import Settings, load_settings  # noqa: E402
from incidentkit.services import importing  # noqa: E402
from incidentkit.services.importing import import_from_wiki  # noqa: E402
from incidentkit.store import Store  # noqa: E402
from incidentkit.wikitext.reports import Report, parse_report  # noqa: E402
from tests.incident_pages import all_pages  # noqa: E402
from tests.servers.mediawiki import MW_ROOT, REPORTER, running_mediawiki  # noqa: E402

__all__ = ["main"]

PREFIX = "Incidents/"


def bench_pages(count: int) -> list[tuple[str, str]]:
    """*count* (title, text) report pages: the fixture reports' texts, each under a new dated title."""
    texts = [text for title, text in all_pages() if isinstance(parse_report(title, text), Report)]
    first = date(2014, 1, 1)
    return [
        (f"{PREFIX}{first + timedelta(days=n):%Y-%m-%d} Bench {n:04d}", texts[n % len(texts)])
        for n in range(count)
    ]


def dump_xml(pages: list[tuple[str, str]]) -> str:
    """A MediaWiki export (XML) holding one revision of each page."""
    parts = ['<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.10/" version="0.10" xml:lang="en">']
    for number, (title, text) in enumerate(pages, start=1):
        parts.append(
            f"<page><title>{escape(title)}</title><ns>0</ns><id>{number}</id><revision><id>{number}</id>"
            "<timestamp>2026-01-01T00:00:00Z</timestamp><contributor><username>Reporter</username></contributor>"
            "<model>wikitext</model><format>text/x-wiki</format>"
            f'<text xml:space="preserve">{escape(text)}</text></revision></page>'
        )
    parts.append("</mediawiki>")
    return "\n".join(parts)


def load(root: Path, pages: list[tuple[str, str]]) -> None:
    dump = root / "bench-dump.xml"
    dump.write_text(dump_xml(pages), encoding="utf-8")
    env = {**os.environ, "MW_CONFIG_FILE": str(root / "LocalSettings.php")}
    subprocess.run(
        ["php", "maintenance/importDump.php", "--no-updates", str(dump)],
        cwd=MW_ROOT, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip


def request_floor(settings: Settings) -> tuple[float, float, int]:
    """(seconds, client CPU seconds, requests) of the requests an import sends, by a fresh client,
    answers unused."""
    wiki = connect_wiki(settings, "ops")
    started, cpu = time.perf_counter(), time.process_time()
    titles = wiki.list_prefix(PREFIX)
    for start in range(0, len(titles), BATCH_SIZE):
        wiki.read_many(titles[start : start + BATCH_SIZE])
    return time.perf_counter() - started, time.process_time() - cpu, wiki.request_count


@contextlib.contextmanager
def without_index() -> Iterator[None]:
    """Import without indexing for search: no page indexed, nothing compared."""
    stage, refresh = importing.stage_page, importing.refresh_similarity
    importing.stage_page = lambda *args, **kwargs: None  # type: ignore[assignment]
    importing.refresh_similarity = lambda store, known=None: 0  # type: ignore[assignment]
    try:
        yield
    finally:
        importing.stage_page, importing.refresh_similarity = stage, refresh


def _children_cpu() -> float:
    """CPU seconds of the child processes waited for: an import's worker, once the import is done."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_import(store: Store, settings: Settings, run: str, count: int, floors: list[float]) -> float:
    """Import every page into *store* after measuring the request floor again; prints and returns
    the seconds it took."""
    floor_s, floor_cpu, floor_requests = request_floor(settings)
    floors.append(floor_s)
    wiki = connect_wiki(settings, "ops")
    started, cpu, worker = time.perf_counter(), time.process_time(), _children_cpu()
    report = import_from_wiki(store, wiki, prefix=PREFIX, settings=settings, now=datetime(2026, 6, 1, tzinfo=UTC))
    elapsed, cpu, worker = time.perf_counter() - started, time.process_time() - cpu, _children_cpu() - worker
    print(
        f"  {run}: {len(report.imported)} of {report.listed} pages ({report.created} new), "
        f"actionables added {report.actionables.added} / updated {report.actionables.updated} / "
        f"unchanged {report.actionables.unchanged}, {len(report.unparsed)} not parsed"
    )
    print(
        f"  {run}: {elapsed:.2f} s ({1000 * elapsed / count:.2f} ms per page) = "
        f"{elapsed / min(floors):.1f}x the request floor of {min(floors):.2f} s "
        f"({1000 * min(floors) / count:.2f} ms per page); "
        f"{report.requests} requests (floor {floor_requests})"
    )
    wiki_cpu = floor_s - floor_cpu  # the wiki answers one request at a time: the floor's wait is its work
    print(
        f"  {run}: client CPU {cpu:.2f} s (the floor's client: {floor_cpu:.2f} s) + its worker process {worker:.2f} s "
        f"+ the wiki's ~{wiki_cpu:.2f} s = {(cpu + worker + wiki_cpu) / (os.cpu_count() or 1):.2f} s "
        f"on {os.cpu_count()} cores at best"
    )
    return elapsed


def run_size(count: int, tmp: Path) -> None:
    pages = bench_pages(count)
    with running_mediawiki(tmp / "wiki") as mediawiki:
        started = time.perf_counter()
        load(mediawiki.root, pages)
        print(f"\n{count:,} pages: loaded with importDump.php in {time.perf_counter() - started:.1f} s")
        os.environ.update(
            INCIDENTKIT_HOME=str(tmp / "home"),
            INCIDENTKIT_WIKIS_OPS_URL=mediawiki.url,
            INCIDENTKIT_WIKIS_OPS_USER=REPORTER,
            INCIDENTKIT_WIKIS_OPS_PASSWORD_ENV="BENCH_WIKI_PASSWORD",
            BENCH_WIKI_PASSWORD=mediawiki.users[REPORTER],
        )
        settings = load_settings()
        floors: list[float] = []
        with Store.open(tmp / "bench.db") as store:
            indexed = timed_import(store, settings, "import", count, floors)
            timed_import(store, settings, "re-import", count, floors)
        with Store.open(tmp / "bench-no-index.db") as store, without_index():
            bare = timed_import(store, settings, "import without the index", count, floors)
        print(
            f"  the index's share: {indexed - bare:.2f} s of {indexed:.2f} s ({100 * (indexed - bare) / indexed:.0f}%; "
            f"{1000 * (indexed - bare) / count:.2f} ms per page)"
        )
    started = time.perf_counter()
    for title, text in pages:
        parse_report(title, text)
    parse_only = time.perf_counter() - started
    print(f"  parsing alone (no wiki, no store): {parse_only:.2f} s ({1000 * parse_only / count:.2f} ms per page)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, nargs="+", default=[1000, 5000], help="sizes to load and import")
    args = parser.parse_args()
    for count in args.pages:
        with tempfile.TemporaryDirectory(prefix="incidentkit-bench-") as tmp:
            run_size(count, Path(tmp))


if __name__ == "__main__":
    main()
