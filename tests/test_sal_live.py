"""The SAL source against a real MediaWiki: live page + archives, the draft end to end, and failures."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from incidentkit.cli import app
from incidentkit.config import load_settings
from incidentkit.model.source import Query
from incidentkit.model.window import parse_window
from incidentkit.sources.sal import SalSource
from tests.servers._common import free_port

pytestmark = pytest.mark.integration

EXAMPLE_SAL = Path(__file__).resolve().parent.parent / "data" / "examples" / "backport-crash" / "sal" / "000-Server_Admin_Log"
LIVE = "SAL test/Live"  # each test module uses its own page names in the shared session wiki

ARCHIVE_1 = """== 2023-01-10 ==
* 10:00 alice: january work
== 2023-01-02 ==
* 09:00 alice: new year work
"""
ARCHIVE_2 = """== 2023-02-05 ==
* 12:30 bob@deploy1002: Synchronized wmf-config/db.php: T100 (duration: 00m 49s)
* 12:00 bob: early february
== 2023-02-01 ==
* 08:00 bob: first of the month
"""


@pytest.fixture(scope="module")
def sal_pages(mediawiki):  # noqa: ANN001, ANN201 - session fixture from tests/servers/mediawiki.py
    mediawiki.put_page(LIVE, EXAMPLE_SAL.read_text(encoding="utf-8"))
    mediawiki.put_page(f"{LIVE}/Archive 1", ARCHIVE_1)
    mediawiki.put_page(f"{LIVE}/Archive 2", ARCHIVE_2)
    return mediawiki


def point_at(wiki, monkeypatch: pytest.MonkeyPatch, page: str = LIVE) -> None:  # noqa: ANN001
    wiki.config_env(monkeypatch)
    monkeypatch.setenv("INCIDENTKIT_SAL_WIKI", "ops")
    monkeypatch.setenv("INCIDENTKIT_SAL_PAGES", page)


def test_reads_live_page_and_only_the_archive_the_window_needs(sal_pages, monkeypatch: pytest.MonkeyPatch, incidentkit_home: Path) -> None:  # noqa: ANN001
    point_at(sal_pages, monkeypatch)
    settings = load_settings()
    window = parse_window("2023-02-05 11:00", "2023-02-05 13:00", now=datetime(2023, 3, 1, tzinfo=UTC))
    export = SalSource(settings).pull(Query(window))
    titles = [name for name, _ in export.files]
    assert titles == [LIVE, f"{LIVE}/Archive 2"]
    from incidentkit.sources.sal import parse

    events = parse(export, Query(window)).events
    assert [e.text for e in sorted(events, key=lambda e: e.time)] == ["early february", "Synchronized wmf-config/db.php: T100 (duration: 00m 49s)"]
    index = json.loads((incidentkit_home / "sal-archives.json").read_text())
    assert index[f"{LIVE}/Archive 1"]["dates"] == ["2023-01-02", "2023-01-10"]


def test_draft_from_live_wiki_renders_without_parser_errors(sal_pages, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    point_at(sal_pages, monkeypatch)
    result = CliRunner().invoke(
        app, ["draft", "--from", "2023-02-14 18:00", "--to", "2023-02-14 19:45", "--title", "Live SAL", "--task", "T329510"]
    )
    assert result.exit_code == 0, result.output
    page = result.stdout
    assert "urbanecm: started the backport of [[gerrit:887912|Enable the reply tool on dewiki]]" in page
    assert "sal: 10 events from 21 lines, 1 line skipped" in result.stderr
    from incidentkit.clients.mediawiki import connect_wiki, html_errors

    wiki = connect_wiki(load_settings())
    saved = wiki.save("Incidents/2023-02-14 Live SAL", page, summary="draft", base=None)
    assert saved.text.strip() == page.strip()
    html = wiki.render_html(saved.text, saved.title)
    assert html_errors(html) == []
    assert 'class="wikitable"' in html and "T329510" in html


def test_unreachable_wiki_gives_a_visible_note_or_a_strict_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INCIDENTKIT_WIKIS_OPS_URL", f"http://127.0.0.1:{free_port()}/")
    monkeypatch.setenv("INCIDENTKIT_SAL_WIKI", "ops")
    args = ["draft", "--from", "2023-02-14 18:00", "--to", "2023-02-14 19:00", "--title", "Down", "--no-store"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "''Missing from this timeline: sal could not be read when it was drafted.''" in result.stdout
    assert "sal: unavailable: wiki ops" in result.stderr and "unreachable" in result.stderr
    strict = CliRunner().invoke(app, [*args, "--strict"])
    assert strict.exit_code != 0 and "Error: wiki ops" in strict.stderr and "Traceback" not in strict.output


def test_login_refused_and_missing_page(sal_pages, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    secret = point_at(sal_pages, monkeypatch) or sal_pages.password_env("ops")
    monkeypatch.setenv(secret, "wrong-password-0123456789abcdef0")
    result = CliRunner().invoke(app, ["sources", "check"])
    assert result.exit_code == 1
    assert "sal" in result.stdout and "FAIL" in result.stdout and "refused" in result.stdout
    assert "wrong-password" not in result.output

    point_at(sal_pages, monkeypatch, page="No Such SAL Page")
    result = CliRunner().invoke(
        app, ["draft", "--from", "2023-02-14 18:00", "--to", "2023-02-14 19:00", "--title", "x", "--strict", "--no-store"]
    )
    assert result.exit_code != 0
    assert "Error: SAL page 'No Such SAL Page' does not exist on wiki ops" in result.stderr
