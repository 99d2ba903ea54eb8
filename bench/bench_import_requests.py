"""Benchmark: read 1,000 incident pages back from a real local MediaWiki through incidentkit.clients.mediawiki.

Starts a throwaway MediaWiki (tests/servers/mediawiki.py: Debian package, SQLite, ``php -S``),
creates N pages ``Incidents/2020-01-01 Bench NNN`` through the API as the bot user, then times what
``incidentkit import`` does: connect and log in, ``list_prefix("Incidents/")`` and ``read_many``
over every title. Prints the creation time, the number of API requests (target <= 25) and the time.

Run: ``.venv/bin/python bench/bench_import_requests.py [--pages 1000]``
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from incidentkit.clients.mediawiki import connect_wiki
from incidentkit.config import load_settings  # noqa: E402
from tests.servers.mediawiki import REPORTER, running_mediawiki  # noqa: E402

__all__ = ["main"]

TARGET_REQUESTS = 25
PAGE = """{{{{irdoc|status=final}}}}
{{| class="wikitable"
|'''Incident ID'''
|2020-01-01 Bench {n:03d}
|'''Start'''
|2020-01-01 10:{minute:02d}:00
|'''End'''
|2020-01-01 11:{minute:02d}:00
|'''Task'''
|[[phab:T{task}|T{task}]]
|}}
== Summary ==
Benchmark incident {n}: the API cluster returned errors for {minute} minutes.

== Timeline ==
'''All times in UTC.'''
* 10:{minute:02d} scap sync-file started by deployer
* 10:{minute:02d} '''OUTAGE BEGINS'''
* 11:{minute:02d} '''OUTAGE ENDS'''

== Actionables ==
* {{{{Phabricator|T{task}}}}} Add a canary check for the API cluster
* [[phab:T{next_task}|T{next_task}]] Document the rollback (Done)

[[Category:Incident documentation]]
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=1000, help="how many incident pages to create and read")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="incidentkit-bench-") as tmp:
        started = time.perf_counter()
        with running_mediawiki(Path(tmp) / "wiki") as mediawiki:
            print(f"wiki up in {time.perf_counter() - started:.1f} s at {mediawiki.url}")
            started = time.perf_counter()
            for n in range(args.pages):
                text = PAGE.format(n=n, minute=n % 60, task=200000 + n, next_task=300000 + n)
                mediawiki.put_page(f"Incidents/2020-01-01 Bench {n:03d}", text, summary="bench")
            created = time.perf_counter() - started
            print(
                f"created {args.pages} pages through the API in {created:.1f} s "
                f"({1000 * created / args.pages:.0f} ms per page, one php -S worker)"
            )

            os.environ.update(
                INCIDENTKIT_WIKIS_OPS_URL=mediawiki.url,
                INCIDENTKIT_WIKIS_OPS_USER=REPORTER,
                INCIDENTKIT_WIKIS_OPS_PASSWORD_ENV="BENCH_WIKI_PASSWORD",
                BENCH_WIKI_PASSWORD=mediawiki.users[REPORTER],
            )
            wiki = connect_wiki(load_settings(), "ops")
            started = time.perf_counter()
            wiki.check()
            connected = wiki.request_count
            titles = wiki.list_prefix("Incidents/")
            listed = wiki.request_count
            pages = wiki.read_many(titles)
            elapsed = time.perf_counter() - started
            found = sum(1 for page in pages.values() if page is not None)
            size = sum(len(page.text) for page in pages.values() if page is not None)
            verdict = "OK" if wiki.request_count <= TARGET_REQUESTS else "OVER TARGET"
            print(
                f"read {found} of {len(titles)} listed pages ({size / 1e6:.1f} MB of wikitext) in {elapsed:.2f} s"
            )
            print(
                f"API requests: {wiki.request_count} (target <= {TARGET_REQUESTS}: {verdict}) = "
                f"{connected} connect+login, {listed - connected} list_prefix, "
                f"{wiki.request_count - listed} read_many"
            )


if __name__ == "__main__":
    main()
