"""The incident report pages the import/report tests load: real captures, seeds and constructed wikitext.

``tests/fixtures/incidents/real/`` holds verbatim copies of the real report captures (each starts
with SOURCE/CAPTURE lines and ``---``, then one or more captures of the page); the first capture is
used as the page text, under the title ``Incidents/<file name with _ as spaces>``.
``seeds/`` holds three more real pages (two with actionable styles no other capture has, one page
that is not a report). ``wikitext/`` holds constructed wikitext pages named by their
percent-encoded titles (see the README there).
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

__all__ = ["INCIDENTS", "Page", "real_pages", "seed_pages", "wikitext_pages", "all_pages", "capture_body"]

INCIDENTS = Path(__file__).parent / "fixtures" / "incidents"
Page = tuple[str, str]  # (title, text)

SEED_TITLES = {
    "003_8934c72a4090fc40.txt": "Incidents/20160202-deployment-server-loss",
    "004_e9c07b3ea720bc73.txt": "Incidents/2017-11-20 Ext:ORES",
    "002_8c71822012dc6941.txt": "Incidents/Train deploys",  # not a report: a how-to page
}


def capture_body(text: str) -> str:
    """The first capture of a fixture file (after the SOURCE/CAPTURE header and ``---``)."""
    body = text.split("\n---\n", 1)[1]
    captures = [part for part in re.split(r"^=== .* ===$", body, flags=re.M) if part.strip()]
    return captures[0]


def real_pages() -> list[Page]:
    return [
        ("Incidents/" + path.stem.replace("_", " "), capture_body(path.read_text(encoding="utf-8")))
        for path in sorted((INCIDENTS / "real").glob("*.txt"))
    ]


def seed_pages() -> list[Page]:
    return [
        (title, (INCIDENTS / "seeds" / name).read_text(encoding="utf-8")) for name, title in SEED_TITLES.items()
    ]


def wikitext_pages() -> list[Page]:
    return [
        (unquote(path.stem), path.read_text(encoding="utf-8"))
        for path in sorted((INCIDENTS / "wikitext").glob("*.wiki"))
    ]


def all_pages() -> list[Page]:
    return real_pages() + seed_pages() + wikitext_pages()
