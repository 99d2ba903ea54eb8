"""Helpers shared by the real-server fixtures in ``tests/servers/`` (and the bench scripts).

* :func:`free_port`: a free TCP port on 127.0.0.1;
* :func:`wait_for_url` / :func:`wait_for_port`: wait until a server answers, with a timeout and an
  error that says what did not answer, whether its process died, and the tail of its log;
* :func:`stop_processes`: stop what a fixture started, by PID: SIGTERM, wait, then SIGKILL, each
  process's own process group included when it leads one (``start_new_session=True``);
* :func:`in_ci` / :func:`skip_or_fail`: a server that cannot be built locally skips its tests,
  but under CI that is a failure;
* :class:`LoopbackFake`: the start and stop of a fake served on 127.0.0.1 by pytest-httpserver.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Self

import pytest
import requests
from pytest_httpserver import HTTPServer
from werkzeug.wrappers import Request, Response

__all__ = [
    "free_port",
    "in_ci",
    "skip_or_fail",
    "wait_for_url",
    "wait_for_port",
    "stop_processes",
    "child_pids",
    "group_pids",
    "log_tail",
    "LoopbackFake",
    "Stalled",
]

Stalled = Callable[[str], Callable[[Request], Response]]  # the ``stalled`` fixture (tests/conftest.py)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def in_ci() -> bool:
    """True under CI: any non-empty ``CI`` other than ``false`` or ``0`` (case-insensitive)."""
    value = os.environ.get("CI", "").strip().lower()
    return value not in ("", "false", "0")


def skip_or_fail(message: str) -> None:
    """Skip the requesting test with *message*; under CI (:func:`in_ci`) fail instead."""
    if in_ci():
        pytest.fail(message + "; CI must not skip the real-server tests", pytrace=False)
    pytest.skip(message)


def log_tail(log: Path | None, chars: int = 2000) -> str:
    """The last *chars* characters of *log* (empty when there is none)."""
    if log is None:
        return ""
    try:
        return log.read_text(errors="replace")[-chars:]
    except OSError:
        return ""


def _died(process: subprocess.Popen[bytes] | None, what: str, log: Path | None) -> None:
    if process is not None and process.poll() is not None:
        raise RuntimeError(f"{what} exited with {process.returncode}:\n{log_tail(log)}")


def wait_for_url(
    url: str,
    *,
    timeout: float,
    process: subprocess.Popen[bytes] | None = None,
    log: Path | None = None,
    what: str = "server",
    ready: Callable[[requests.Response], bool] = lambda response: response.ok,
    request_timeout: float = 5.0,
    interval: float = 0.05,
) -> requests.Response:
    """GET *url* until *ready* accepts the answer; return that answer.

    Raises RuntimeError when *process* exits first or nothing ready answers within *timeout*
    seconds; the message names *what*, the URL and ends with the tail of *log*.
    """
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        _died(process, what, log)
        try:
            response = requests.get(url, timeout=request_timeout)
            if ready(response):
                return response
            last = f"HTTP {response.status_code}"
        except requests.RequestException as exc:  # refused, reset, read timeout while starting
            last = type(exc).__name__
        time.sleep(interval)
    _died(process, what, log)
    raise RuntimeError(
        f"{what} at {url} not ready after {timeout:.0f} s (last: {last}); log:\n{log_tail(log)}"
    )


def wait_for_port(
    port: int,
    *,
    timeout: float,
    host: str = "127.0.0.1",
    process: subprocess.Popen[bytes] | None = None,
    log: Path | None = None,
    what: str = "server",
    interval: float = 0.05,
) -> None:
    """Wait until a TCP connection to *host*:*port* succeeds (same errors as :func:`wait_for_url`)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _died(process, what, log)
        try:
            with socket.create_connection((host, port), timeout=1):
                return
        except OSError:
            time.sleep(interval)
    _died(process, what, log)
    raise RuntimeError(f"{what} on {host}:{port} not listening after {timeout:.0f} s; log:\n{log_tail(log)}")


def _proc_stats() -> Iterator[tuple[int, list[str]]]:
    """``(pid, [state, ppid, pgrp, session, ...])`` for every process in /proc (none without /proc)."""
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid pgrp ...": comm may hold spaces or ")", so split after the last ")"
        yield int(entry.name), stat[stat.rfind(")") + 2 :].split()


def child_pids(pid: int) -> list[int]:
    """PIDs whose parent is *pid* right now."""
    return [child for child, fields in _proc_stats() if len(fields) > 1 and int(fields[1]) == pid]


def group_pids(pgid: int) -> list[int]:
    """Live (not zombie) PIDs in process group *pgid* (its leader may be gone: the group lives on)."""
    return [
        member
        for member, fields in _proc_stats()
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] != "Z"
    ]


def _alive(pid: int, process: subprocess.Popen[bytes] | None) -> bool:
    if process is not None:
        return process.poll() is None  # also reaps our own child
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is dead; whoever is its parent will reap it
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat[stat.rfind(")") + 2 :].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def stop_processes(
    processes: Iterable[int | subprocess.Popen[bytes]], *, timeout: float = 10.0, groups: bool = True
) -> None:
    """Stop every process in *processes* (PIDs or Popen objects): SIGTERM, wait, then SIGKILL.

    With *groups*, the members of a process group that a listed process leads (or led: started
    with ``start_new_session=True``) are stopped too, so children that outlive their parent
    (``php -S`` workers) go with it; the test runner's own group is never touched. Popen objects
    are reaped. Waits at most *timeout* seconds after SIGTERM and again after SIGKILL.
    """
    targets: dict[int, subprocess.Popen[bytes] | None] = {}
    for item in processes:
        if isinstance(item, subprocess.Popen):
            targets[item.pid] = item
        else:
            targets.setdefault(int(item), None)
    if groups:
        own_group = os.getpgrp()
        for leader in list(targets):
            if leader != own_group:
                for member in group_pids(leader):
                    targets.setdefault(member, None)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        alive = [pid for pid, process in targets.items() if _alive(pid, process)]
        if not alive:
            return
        for pid in alive:
            try:
                os.kill(pid, sig)
            except (ProcessLookupError, PermissionError):
                pass
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and any(_alive(pid, targets[pid]) for pid in alive):
            time.sleep(0.02)


class LoopbackFake:
    """A fake served on 127.0.0.1 by a threaded pytest-httpserver: every request goes to :meth:`respond`."""

    url = ""
    _server: HTTPServer | None = None

    def respond(self, request: Request) -> Response:
        raise NotImplementedError

    def start(self, host: str = "127.0.0.1", port: int = 0) -> Self:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log lines in test output
        server = HTTPServer(host=host, port=port, threaded=True)
        server.expect_request(re.compile(r".*")).respond_with_handler(self.respond)
        server.start()
        self._server = server
        self.url = f"http://{host}:{server.port}"
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
