"""The budget every HTTP request honours: a total deadline and a cap on the size of one answer.

A source pull runs inside :func:`budget` (``[draft] source_timeout`` seconds, ``[draft]
max_response_mb``); every request any client sends in it goes through :class:`BudgetAdapter`,
which

* caps the connect and read timeouts at the time left, and refuses to start once it is gone;
* reads the body itself, a piece at a time as it arrives, so that a server trickling one byte
  every few seconds (which never trips a per-read timeout) is cut off at the deadline, and an
  answer larger than the cap is dropped as soon as it passes the cap (or at once, when its
  ``Content-Length`` says so) instead of being held in memory whole;
* decodes JSON bodies that name no charset as UTF-8, never by guessing over megabytes.

Waiting before a retry (``Retry-After``, backoff) goes through :func:`wait`, which refuses a wait
that would end past the deadline. A request stopped by the budget raises :class:`OverBudget`.
Outside any :func:`budget` block there is no deadline and the default size cap applies.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import DecodeError, ProtocolError, ReadTimeoutError

__all__ = [
    "DEFAULT_MAX_BYTES",
    "MAX_RETRY_AFTER",
    "DEADLINE_HINT",
    "SIZE_HINT",
    "Budget",
    "OverBudget",
    "BudgetAdapter",
    "budget",
    "current_budget",
    "wait",
]

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
MAX_RETRY_AFTER = 60.0  # the longest Retry-After any client waits for, deadline or not; a longer one fails at once
DEADLINE_HINT = "the server is slow or stuck; raise [draft] source_timeout, narrow the window, or try later"
SIZE_HINT = "raise [draft] max_response_mb if the answer is legitimate, or narrow the window"
_PIECE = 64 * 1024


@dataclass(frozen=True, slots=True)
class Budget:
    """How long the work in hand may still take, and how large one answer may be."""

    seconds: float | None = None  # the whole allowance, for messages
    deadline: float | None = None  # on the time.monotonic() clock
    max_bytes: int = DEFAULT_MAX_BYTES

    def remaining(self) -> float | None:
        """Seconds left (never negative), or None without a deadline."""
        return None if self.deadline is None else max(0.0, self.deadline - time.monotonic())

    def expired(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

    def check(self) -> None:
        """Raise :class:`OverBudget` once the deadline has passed."""
        if self.expired():
            raise OverBudget(f"did not finish within {self.seconds:g} s", kind="deadline")

    def cap(self, timeout: Any) -> Any:
        """*timeout* (seconds or a (connect, read) pair) shortened to the time left."""
        left = self.remaining()
        if left is None:
            return timeout
        self.check()
        if isinstance(timeout, tuple):
            return tuple(left if t is None else min(t, left) for t in timeout)
        return left if timeout is None else min(timeout, left)


class OverBudget(requests.RequestException):
    """A request stopped because the deadline passed (``kind="deadline"``) or the answer was too large
    (``kind="size"``). ``reason`` reads after the server's name: "did not finish within 60 s"."""

    def __init__(self, reason: str, *, kind: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind

    @property
    def hint(self) -> str:
        return SIZE_HINT if self.kind == "size" else DEADLINE_HINT


_UNLIMITED = Budget()  # frozen: safe to share as the default
_CURRENT: ContextVar[Budget] = ContextVar("incidentkit_budget", default=_UNLIMITED)


def current_budget() -> Budget:
    """The budget of the work in hand (no deadline and the default size cap outside :func:`budget`)."""
    return _CURRENT.get()


@contextmanager
def budget(seconds: float | None, max_bytes: int = DEFAULT_MAX_BYTES) -> Iterator[Budget]:
    """Run the block with a deadline *seconds* from now (None: none) and an answer size cap."""
    deadline = None if seconds is None else time.monotonic() + seconds
    token = _CURRENT.set(Budget(seconds, deadline, max_bytes))
    try:
        yield _CURRENT.get()
    finally:
        _CURRENT.reset(token)


def wait(seconds: float, why: str) -> None:
    """Sleep *seconds* before a retry, unless that would end past the deadline (then OverBudget).

    *why* completes "…asked to wait N s" in the message, e.g. "rate limited (HTTP 429)".
    """
    current = current_budget()
    left = current.remaining()
    if left is not None and seconds >= left:
        raise OverBudget(
            f"{why}: asked to wait {seconds:g} s, past the {current.seconds:g} s deadline", kind="deadline"
        )
    time.sleep(max(0.0, seconds))


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):g} MB"


class BudgetAdapter(HTTPAdapter):
    """An HTTP adapter that keeps every request within :func:`current_budget` (see the module docstring)."""

    def send(  # type: ignore[override]
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        current = current_budget()
        try:
            response = super().send(
                request, stream=True, timeout=current.cap(timeout), verify=verify, cert=cert, proxies=proxies
            )
        except requests.Timeout:
            current.check()  # a timeout cut short by the deadline is the deadline's
            raise
        if response.encoding is None and "json" in response.headers.get("Content-Type", "").lower():
            response.encoding = "utf-8"
        if not stream:
            _read_body(response, current)
        return response


def _read_body(response: requests.Response, current: Budget) -> None:
    """Read the whole body into ``response._content`` within the budget, or close it and raise."""
    limit = current.max_bytes
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        response.close()
        raise OverBudget(f"answered {_mb(int(declared))}, more than the {_mb(limit)} limit", kind="size")
    body = bytearray()
    try:
        while True:
            current.check()
            piece = response.raw.read1(_PIECE, decode_content=True)
            if not piece:
                break
            body += piece
            if len(body) > limit:
                raise OverBudget(f"answered more than the {_mb(limit)} limit", kind="size")
    except OverBudget:
        response.close()
        raise
    except ReadTimeoutError as exc:
        response.close()
        current.check()
        raise requests.exceptions.ReadTimeout(exc, request=response.request) from exc
    except ProtocolError as exc:
        response.close()
        raise requests.exceptions.ChunkedEncodingError(exc, request=response.request) from exc
    except DecodeError as exc:
        response.close()
        raise requests.exceptions.ContentDecodingError(exc, request=response.request) from exc
    response._content = bytes(body)
    response._content_consumed = True
    response.raw.release_conn()
