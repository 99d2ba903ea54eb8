"""Secrets never leave: every command runs with recognisable secrets configured, against servers
that quote them back in their errors (the misbehaving server's ``echo_secrets``: the wiki puts the
bot password in its login refusal, Conduit the token and the request, Prometheus and Alertmanager
the ``Authorization`` header, Splunk On-Call the ``X-VO-Api-Key``), and against the session's real
MediaWiki for publishing (the draft, the actionables page, the statistics page and its uploaded
chart). No form of any secret (as given, URL-, HTML- or JSON-escaped, base64 in a Basic header)
may appear in any output (stdout, stderr, ``--debug`` tracebacks), any file written, the
database, or the pages.
"""

from __future__ import annotations

import base64
import html
import json
import sqlite3
from pathlib import Path
from urllib.parse import quote

import pytest

from incidentkit.config import db_path, load_settings
from tests.helpers import commands, home_store, invocation, run
from tests.servers.mediawiki import REPORTER, MediaWiki
from tests.servers.misbehaving import (
    BEARER,
    ONCALL_KEY,
    PASSWORD,
    SOURCES,
    TOKEN,
    WINDOW_END,
    WINDOW_START,
    Misbehaving,
)

URL_USER = "drill"
URL_PASSWORD = "url-s3cret-passw0rd"
BASIC_USER = "proxy"
BASIC_PASSWORD = "basic-s3cret-passw0rd"
WINDOW = ["--from", f"{WINDOW_START:%Y-%m-%d %H:%M}", "--to", f"{WINDOW_END:%Y-%m-%d %H:%M}"]


def _forms(secret: str, user: str | None = None) -> set[str]:
    forms = {secret, quote(secret, safe=""), html.escape(secret), json.dumps(secret)[1:-1]}
    if user:
        forms.add(base64.b64encode(f"{user}:{secret}".encode()).decode())
    return forms


def _leaks(text: str, secrets: dict[str, set[str]]) -> list[str]:
    return [name for name, forms in secrets.items() if any(form in text for form in forms)]


class _Outputs:
    """Every output of the commands run, to search afterwards."""

    def __init__(self) -> None:
        self.texts: list[tuple[str, str]] = []

    def run(self, *args: str) -> None:
        result = run(*args, input="")
        shown = " ".join(a if len(a) < 40 else a[:30] + "…" for a in args)
        assert result.exception is None or isinstance(result.exception, SystemExit), f"{shown}: {result.exception!r}"
        self.texts.append((shown, result.output + result.stderr))


def _database_text(path: Path) -> str:
    with sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True) as conn:
        tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return "\n".join(repr(row) for table in tables for row in conn.execute(f'SELECT * FROM "{table}"'))


def _files_text(*folders: Path) -> list[tuple[str, str]]:
    found = []
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file():
                found.append((str(path), path.read_bytes().decode("utf-8", errors="replace")))
    return found


@pytest.fixture
def echoing(misbehaving: Misbehaving, monkeypatch: pytest.MonkeyPatch) -> Misbehaving:
    """Every source configured with a secret, every server echoing what it was sent; every way of
    giving a secret is used: an ``*_env`` variable for a password, token or key, a password in a URL,
    HTTP basic auth (Alertmanager, behind an authenticating proxy)."""
    misbehaving.config_env(monkeypatch, SOURCES, timeout=2.0)
    monkeypatch.setenv(
        "INCIDENTKIT_PROMETHEUS_URL", misbehaving.base("prometheus").replace("//", f"//{URL_USER}:{URL_PASSWORD}@", 1)
    )
    monkeypatch.delenv("INCIDENTKIT_ALERTMANAGER_TOKEN_ENV")
    monkeypatch.setenv("INCIDENTKIT_ALERTMANAGER_USER", BASIC_USER)
    monkeypatch.setenv("INCIDENTKIT_ALERTMANAGER_PASSWORD_ENV", "DRILL_BASIC_PASSWORD")
    monkeypatch.setenv("DRILL_BASIC_PASSWORD", BASIC_PASSWORD)
    for source in SOURCES:
        misbehaving.behave(source, "echo_secrets")
    return misbehaving


def test_no_command_lets_a_secret_out(
    echoing: Misbehaving, mediawiki: MediaWiki, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, incidentkit_home: Path
) -> None:
    secrets = {
        "wiki password": _forms(PASSWORD),
        "conduit token": _forms(TOKEN),
        "bearer token": _forms(BEARER),
        "on-call key": _forms(ONCALL_KEY),
        "URL password": _forms(URL_PASSWORD, URL_USER),
        "basic auth password": _forms(BASIC_PASSWORD, BASIC_USER),
        "real bot password": _forms(mediawiki.users[REPORTER]),
    }
    outputs = _Outputs()
    work = tmp_path / "work"
    work.mkdir()
    saved, page_file = work / "pull", work / "page.wiki"

    # against servers that echo every secret
    outputs.run("draft", *WINDOW, "--title", "Secret drill", "--task", "T1")
    outputs.run("--debug", "draft", *WINDOW, "--title", "Secret drill", "--task", "T1", "--strict", "--no-store")
    outputs.run("events", *WINDOW, "--format", "json")
    outputs.run("pull", *WINDOW, "--task", "T1", "--save", str(saved))
    outputs.run("draft", "--replay", str(saved), "--title", "Secret drill", "--output", str(page_file))
    outputs.run("config", "show")
    outputs.run("sources", "list")
    outputs.run("sources", "check")
    outputs.run("--debug", "sources", "check")
    with home_store() as store:
        slug = store.list_incidents()[0].slug
    outputs.run("actionables", "add", slug, "Alert on lag", "--task", "T1")
    outputs.run("actionables", "add", slug, "Write the runbook")
    outputs.run("--debug", "actionables", "create", "2")
    outputs.run("actionables", "sync")
    outputs.run("publish", slug, "--page", "Incidents/Secret drill", "--dry-run")
    outputs.run("--debug", "import", "--prefix", "Incidents/")
    outputs.run("incidents", "similar", slug, "--format", "json")
    outputs.run("--debug", "actionables", "publish", "--page", "Secret drill actionables")
    outputs.run("--debug", "incidents", "stats", "publish", "--page", "Secret drill statistics", "--by", "month")
    outputs.run("incidents", "stats", "--chart", str(work / "chart.svg"))
    for path, _ in commands():  # and every command, with harmless arguments
        outputs.run(*invocation(path, {"incident": slug, "slug": slug, "target": slug}))
    echoed = [where for where, text in outputs.texts if "<redacted>" in text]
    assert echoed, "the servers did not echo: the drill tested nothing"
    assert any(where.startswith("--debug incidents stats publish") for where in echoed), "the wiki did not echo on the statistics path"
    assert any("oncall" in text and "<redacted>" in text for _, text in outputs.texts), "on-call did not echo"

    # publishing for real, with the real bot password
    mediawiki.config_env(monkeypatch, "ops")
    outputs.run("publish", slug, "--page", "Incidents/Secret drill")
    outputs.run("actionables", "publish", "--page", "Incidents/Secret drill actionables")
    outputs.run("incidents", "stats", "publish", "--page", "Secret drill statistics", "--by", "month")
    outputs.run("import", "--prefix", "Incidents/Secret")
    outputs.run("draft", *WINDOW, "--title", "Secret drill", "--task", "T1")

    leaks = [(where, _leaks(text, secrets)) for where, text in outputs.texts if _leaks(text, secrets)]
    assert not leaks, f"secrets in outputs: {leaks}"
    files = [(where, _leaks(text, secrets)) for where, text in _files_text(work, incidentkit_home) if _leaks(text, secrets)]
    assert not files, f"secrets in files: {files}"
    assert not _leaks(_database_text(db_path(load_settings())), secrets), "secrets in the database"
    page = mediawiki.get_page("Incidents/Secret drill")
    assert page is not None and "could not be read when it was drafted" in page
    assert not _leaks(page, secrets), "secrets on the published page"
    for title in ("Incidents/Secret drill actionables", "Secret drill statistics", "File:Secret drill statistics - incidents.png"):
        text = mediawiki.get_page(title)
        assert text is not None, f"{title} was not published"
        assert not _leaks(text, secrets), f"secrets on {title}"
