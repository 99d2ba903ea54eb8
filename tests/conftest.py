"""Shared test setup: user state in a temp dir, a pinned clock, and the real-server plugins.

Real servers (MediaWiki, Prometheus, Alertmanager, Phorge), the Conduit and Splunk On-Call
fakes and the misbehaving server of the fault drills start once per session in ``tests/servers/``.
``-m "not integration"`` skips the tests that need real servers locally;
CI never skips them.
"""

from __future__ import annotations

import threading
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from incidentkit.store import Store
from tests.servers._common import Stalled

pytest_plugins = [
    "tests.servers.mediawiki",
    "tests.servers.prometheus",
    "tests.servers.conduit_fake",
    "tests.servers.oncall_fake",
    "tests.servers.phorge",
    "tests.servers.misbehaving",
]

FIXTURES = Path(__file__).parent / "fixtures"
REAL_SERVERS = {"mediawiki", "prometheus_server", "alertmanager_server", "phorge"}  # the session fixtures


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that uses a real server is an integration test, whether or not it says so, so that
    ``-m "not integration"`` (and the mutation runs) never start one."""
    for item in items:
        if REAL_SERVERS & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(autouse=True)
def incidentkit_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own INCIDENTKIT_HOME and no stray INCIDENTKIT_* settings."""
    import os

    for name in list(os.environ):
        if name.startswith("INCIDENTKIT_"):
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("INCIDENTKIT_HOME", str(home))
    return home


@pytest.fixture
def stalled(httpserver: HTTPServer) -> Iterator[Stalled]:
    """``stalled(body)``: a handler that answers *body* only once the test is over (at most 5 s), for
    a client's timeout to give up on. The test server answers one request at a time: requests the
    client gave up on are answered before the next test, whose own (ordered) expectations a late
    answer would break, uses the server."""
    released = threading.Event()

    def stalled_answer(body: str) -> Callable[[Request], Response]:
        def handler(request: Request) -> Response:
            released.wait(5)
            return Response(body, content_type="application/json")

        return handler

    yield stalled_answer
    released.set()
    httpserver.expect_request("/--idle--").respond_with_data("")
    with urllib.request.urlopen(httpserver.url_for("/--idle--"), timeout=10) as answer:  # behind the others
        answer.read()


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """An empty store in a file of the test's own (modules add the incidents they need)."""
    with Store.open(tmp_path / "incidentkit.db") as opened:
        yield opened
