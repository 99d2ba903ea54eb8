"""Benchmark: the full ``incidentkit import`` of 1,000 report pages from a real local MediaWiki.

Starts a throwaway MediaWiki (tests/servers/mediawiki.py), loads N pages ``Incidents/<date> Bench
NNNN`` with ``maintenance/importDump.php`` (one process: much faster than N API edits), their texts
cycled from the real and constructed fixture reports in tests/fixtures/incidents/, then runs the
import (list, batched reads, parse, store) into a fresh SQLite store and again (re-import, which
must add nothing). Prints API requests (target <= 25), the time, and where the time went.

``bench/bench_import_requests.py`` measures the raw wiki client alone.

Run: ``.venv/bin/python bench/bench_import.py [--pages 1000]``
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from incidentkit.clients.mediawiki import connect_wiki
from incidentkit.config import load_settings  # noqa: E402
from incidentkit.services.importing import import_from_wiki
from incidentkit.store import Store
from incidentkit.wikitext.reports import Report, parse_report
from tests.incident_pages import all_pages  # noqa: E402
from tests.servers.mediawiki import MW_ROOT, REPORTER, running_mediawiki  # noqa: E402

__all__ = ["main"]

TARGET_REQUESTS = 25


def bench_pages(count: int) -> list[tuple[str, str]]:
    """*count* (title, text) report pages: the fixture reports' texts, each under a new dated title."""
    texts = [text for title, text in all_pages() if isinstance(parse_report(title, text), Report)]
    first = date(2014, 1, 1)
    return [
        (f"Incidents/{first + timedelta(days=n):%Y-%m-%d} Bench {n:04d}", texts[n % len(texts)])
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=1000, help="how many report pages to load and import")
    args = parser.parse_args()
    pages = bench_pages(args.pages)
    with tempfile.TemporaryDirectory(prefix="incidentkit-bench-") as tmp:
        started = time.perf_counter()
        with running_mediawiki(Path(tmp) / "wiki") as mediawiki:
            print(f"wiki up in {time.perf_counter() - started:.1f} s at {mediawiki.url}")
            started = time.perf_counter()
            load(mediawiki.root, pages)
            print(f"loaded {len(pages)} pages with importDump.php in {time.perf_counter() - started:.1f} s")
            os.environ.update(
                INCIDENTKIT_HOME=str(Path(tmp) / "home"),
                INCIDENTKIT_WIKIS_OPS_URL=mediawiki.url,
                INCIDENTKIT_WIKIS_OPS_USER=REPORTER,
                INCIDENTKIT_WIKIS_OPS_PASSWORD_ENV="BENCH_WIKI_PASSWORD",
                BENCH_WIKI_PASSWORD=mediawiki.users[REPORTER],
            )
            settings = load_settings()
            now = datetime(2026, 6, 1, tzinfo=UTC)
            parse_started = time.perf_counter()
            for title, text in pages:
                parse_report(title, text)
            parse_only = time.perf_counter() - parse_started
            with Store.open(Path(tmp) / "bench.db") as store:
                for run in ("import", "re-import"):
                    wiki = connect_wiki(settings, "ops")
                    started = time.perf_counter()
                    report = import_from_wiki(store, wiki, prefix="Incidents/", settings=settings, now=now)
                    elapsed = time.perf_counter() - started
                    verdict = "OK" if report.requests <= TARGET_REQUESTS else "OVER TARGET"
                    print(
                        f"{run}: {len(report.imported)} of {report.listed} pages ({report.created} new), "
                        f"{report.items} actionables, {report.task_ids} task ids, "
                        f"actionables added {report.actionables.added} / updated {report.actionables.updated} / "
                        f"unchanged {report.actionables.unchanged}, {len(report.unparsed)} not parsed"
                    )
                    print(
                        f"{run}: {report.requests} API requests (target <= {TARGET_REQUESTS}: {verdict}) "
                        f"in {elapsed:.2f} s ({1000 * elapsed / max(1, report.listed):.1f} ms per page)"
                    )
            print(f"parsing alone (no wiki, no store): {parse_only:.2f} s for {len(pages)} pages")


if __name__ == "__main__":
    main()
