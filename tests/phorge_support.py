"""What the tests against the real Phorge (``tests/servers/phorge.py``) share.

Pointing incidentkit's configuration at the session's Phorge, a Conduit client that records every
method it calls, reading the Phorge's request count from its server log, and the clock around
real edits (Phorge dates are whole seconds of the real clock, so windows are built around them).
The Phorge is shared by the whole session: every test makes its own tasks, with titles of its own.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from incidentkit.clients.conduit import ConduitClient
from incidentkit.model.time import format_utc
from tests.servers.phorge import Phorge

__all__ = [
    "TOKEN_ENV",
    "configure",
    "RecordingClient",
    "client_for",
    "requests_served",
    "tag",
    "utc_now",
    "next_second",
    "iso",
]

TOKEN_ENV = "TEST_PHORGE_TOKEN"


def configure(
    home: Path,
    monkeypatch: pytest.MonkeyPatch,
    phorge: Phorge,
    *,
    user: str = "admin",
    token: str | None = None,
    url: str | None = None,
    phabricator: Mapping[str, Any] | None = None,
    actionables: Mapping[str, Any] | None = None,
) -> None:
    """Write ``config.toml`` in *home* pointing at *phorge* (no retries) and put the token in the env.

    Projects, follow-up projects and tags are the defaults unless *phabricator*/*actionables* say so.
    """
    sections = {
        "phabricator": {"url": url or phorge.url, "token_env": TOKEN_ENV, "retries": 0, **(phabricator or {})},
        "actionables": dict(actionables or {}),
    }
    lines = []
    for name, values in sections.items():
        lines.append(f"[{name}]")
        lines.extend(f"{key} = {json.dumps(value)}" for key, value in values.items())
        lines.append("")
    (home / "config.toml").write_text("\n".join(lines), encoding="utf-8")
    monkeypatch.setenv(TOKEN_ENV, token if token is not None else phorge.tokens[user])


class RecordingClient(ConduitClient):
    """A ConduitClient that remembers the method of every call it made, in order."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.methods: list[str] = []

    def call(self, method: str, params: Mapping[str, Any] | None = None) -> Any:
        self.methods.append(method)
        return super().call(method, params)

    def count(self, method: str) -> int:
        return self.methods.count(method)


def client_for(phorge: Phorge, user: str = "admin", *, token: str | None = None) -> RecordingClient:
    return RecordingClient(phorge.url, token or phorge.tokens[user], retries=0)


def requests_served(phorge: Phorge, path: str | None = None) -> int:
    """How many HTTP requests (to *path*, when given) the Phorge has served so far, once it has
    served every request sent before: a request an earlier test gave up on can still be waiting
    for a ``php -S`` worker on a busy machine, and is served later (its router logs each one)."""
    log = phorge.root / "requests.log"

    def served() -> list[str]:
        return log.read_text(errors="replace").splitlines() if log.exists() else []

    lines, deadline = served(), time.monotonic() + 10
    while time.monotonic() < deadline:
        time.sleep(0.2)
        again = served()
        if again == lines:
            break
        lines = again
    return sum(1 for line in lines if path is None or line.split(" ", 1)[-1] == path)


def tag(title: str) -> str:
    """*title* made unique to this test (the Phorge is shared by the session)."""
    return f"{title} {uuid.uuid4().hex[:8]}"


def utc_now() -> datetime:
    return datetime.now(UTC)


def next_second() -> datetime:
    """Wait until the wall clock enters a new second; that second (Phorge dates are whole seconds)."""
    now = time.time()
    time.sleep(1 - now % 1 + 0.01)
    return datetime.fromtimestamp(int(time.time()), UTC)


def iso(when: datetime, plus: timedelta = timedelta(0)) -> str:
    return format_utc(when + plus)
