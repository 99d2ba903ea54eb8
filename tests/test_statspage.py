"""``incidents stats publish`` and ``publish`` on the real MediaWiki of the test session.

The session's wiki has uploads enabled (PNG and SVG); the Reporter's bot password may upload, the
Colleague's may not, so both a wiki that takes the chart and one that refuses it are real.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

from incidentkit.clients.mediawiki import connect_wiki, html_errors
from incidentkit.config import load_settings
from incidentkit.wikitext.regions import regions
from tests.helpers import home_store, run
from tests.servers.mediawiki import COLLEAGUE, MediaWiki
from tests.test_stats import seed_five

pytestmark = pytest.mark.integration
EXAMPLE = Path(__file__).resolve().parent.parent / "data" / "examples" / "backport-crash"
_pages = itertools.count(1)


def image_info(wiki: MediaWiki, name: str) -> dict | None:  # type: ignore[type-arg]
    page = wiki.api(action="query", titles=f"File:{name}", prop="imageinfo", iiprop="size|mime|sha1")["query"]["pages"][0]
    infos = page.get("imageinfo")
    return infos[0] if infos else None


def test_the_statistics_page_has_the_tables_and_the_uploaded_chart(mediawiki: MediaWiki, monkeypatch: pytest.MonkeyPatch) -> None:
    mediawiki.config_env(monkeypatch)
    with home_store() as store:
        seed_five(store)
    title = f"Incident statistics {next(_pages)}"
    first = run("incidents", "stats", "publish", "--page", title)
    assert first.exit_code == 0, first.output
    name = f"{title} - incidents.png"
    assert f"uploaded File:{name}" in first.stderr and f"created {title}" in first.stderr
    info = image_info(mediawiki, name)
    assert info is not None and info["mime"] == "image/png" and (info["width"], info["height"]) == (1200, 900)
    text = mediawiki.get_page(title) or ""
    body = regions(text)["statistics"].content
    assert f"[[File:{name}|frame|none|" in body
    html = connect_wiki(load_settings()).render_html(text, title)  # as readers see it: the chart shows
    assert html_errors(html) == [] and re.search(r'<img [^>]*width="1200" height="900"', html)
    assert "| time to detect || 3 || 2 || 10 min || 30 min || 30 min" in body
    assert "| 2024-Q1 || 2 || 1 || 2 || 1 || 2 || 0 || 1 h 15 min" in body
    assert "'''Pages outside business hours''': 2 of 3 (67%)" in body
    # a colleague writes around the tables; the next run keeps that and re-uploads nothing
    mediawiki.put_page(title, "Notes above, by hand.\n\n" + text + "\nNotes below.\n", user=COLLEAGUE)
    again = run("incidents", "stats", "publish", "--page", title)
    assert again.exit_code == 0, again.output
    assert f"File:{name} is already up to date" in again.stderr
    kept = mediawiki.get_page(title) or ""
    assert kept.startswith("Notes above, by hand.") and kept.rstrip().endswith("Notes below.")


def test_where_uploads_are_refused_the_page_has_the_tables_and_says_so(mediawiki: MediaWiki, monkeypatch: pytest.MonkeyPatch) -> None:
    mediawiki.config_env(monkeypatch, user=COLLEAGUE)  # no upload grant
    with home_store() as store:
        seed_five(store)
    title = f"Incident statistics refused {next(_pages)}"
    result = run("incidents", "stats", "publish", "--page", title, "--chart-format", "svg")
    assert result.exit_code == 0, result.output
    assert "note: The wiki refused the chart upload" in result.stderr
    body = regions(mediawiki.get_page(title) or "")["statistics"].content
    assert "[[File:" not in body and "The wiki refused the chart upload" in body and "| time to resolve || 3 || 2 ||" in body
    assert image_info(mediawiki, f"{title} - incidents.svg") is None


def test_an_svg_chart_uploads_too(mediawiki: MediaWiki, monkeypatch: pytest.MonkeyPatch) -> None:
    mediawiki.config_env(monkeypatch)
    with home_store() as store:
        seed_five(store)
    title = f"Incident statistics svg {next(_pages)}"
    result = run("incidents", "stats", "publish", "--page", title, "--chart-format", "svg", "--by", "month")
    assert result.exit_code == 0, result.output
    info = image_info(mediawiki, f"{title} - incidents.svg")
    assert info is not None and info["mime"] == "image/svg+xml"


def test_a_dry_run_uploads_and_writes_nothing(mediawiki: MediaWiki, monkeypatch: pytest.MonkeyPatch) -> None:
    mediawiki.config_env(monkeypatch)
    title = f"Incident statistics dry {next(_pages)}"
    home_store().close()  # an empty store
    result = run("incidents", "stats", "publish", "--page", title, "--dry-run")
    assert result.exit_code == 0, result.output
    assert mediawiki.get_page(title) is None and image_info(mediawiki, f"{title} - incidents.png") is None
    assert "+<!-- incidentkit:begin statistics" in result.stdout


def test_publish_indexes_what_the_page_says(mediawiki: MediaWiki, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    mediawiki.config_env(monkeypatch)
    draft = tmp_path / "draft.wiki"
    assert run("draft", "--replay", str(EXAMPLE), "-o", str(draft)).exit_code == 0
    prompt = "'''TODO:''' Summary of what happened"
    text = "\n".join(  # the owner writes the summary in place of its prompt
        "The zanzibar cache melted." if line.startswith(prompt) else line
        for line in draft.read_text(encoding="utf-8").splitlines()
    )
    draft.write_text(text, encoding="utf-8")
    title = f"Incidents/2023-02-14 Backport crash {next(_pages)}"
    assert run("publish", str(draft), "--page", title).exit_code == 0
    found = run("incidents", "search", "zanzibar", "--format", "json")
    assert '"slug": "2023-02-14_backport-crash"' in found.stdout and f'"page": "{title}"' in found.stdout
