"""The helpers the real-server fixtures share (tests/servers/_common.py)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.servers._common import (
    free_port,
    group_pids,
    in_ci,
    skip_or_fail,
    stop_processes,
    wait_for_port,
    wait_for_url,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, False),
        ("", False),
        ("false", False),
        ("FALSE", False),
        ("False", False),
        ("0", False),
        ("true", True),
        ("TRUE", True),
        ("1", True),
        ("yes", True),
        ("github-actions", True),
    ],
)
def test_in_ci_counts_any_value_but_false_and_zero(
    monkeypatch: pytest.MonkeyPatch, value: str | None, expected: bool
) -> None:
    if value is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", value)
    assert in_ci() is expected


def test_skip_or_fail_skips_locally_and_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "0")
    with pytest.raises(pytest.skip.Exception, match="no server here"):
        skip_or_fail("no server here")
    monkeypatch.setenv("CI", "1")
    with pytest.raises(pytest.fail.Exception, match="no server here; CI must not skip"):
        skip_or_fail("no server here")


def test_free_port_is_bindable() -> None:
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_wait_for_url_times_out_with_a_clear_error(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    log.write_text("listening soon\n")
    url = f"http://127.0.0.1:{free_port()}/ready"
    with pytest.raises(
        RuntimeError, match=r"(?s)thing at http://127\.0\.0\.1:\d+/ready not ready after 0 s.*listening soon"
    ):
        wait_for_url(url, timeout=0.3, log=log, what="thing")


def test_wait_for_url_reports_a_dead_process(tmp_path: Path) -> None:
    process = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    process.wait()
    with pytest.raises(RuntimeError, match="thing exited with 3"):
        wait_for_url(f"http://127.0.0.1:{free_port()}/", timeout=5, process=process, what="thing")


def test_wait_for_port_sees_a_listener() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        wait_for_port(sock.getsockname()[1], timeout=2)
    with pytest.raises(RuntimeError, match="not listening"):
        wait_for_port(free_port(), timeout=0.2)


# A parent in its own session that forks a child ignoring SIGTERM's default (like a php -S worker
# that outlives its parent), then prints the child's pid.
_TREE = """
import os, signal, sys, time
child = os.fork()
if child == 0:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    time.sleep(60)
    os._exit(0)
print(child, flush=True)
time.sleep(60)
"""


def test_stop_processes_takes_the_group_along_even_after_its_leader_died() -> None:
    parent = subprocess.Popen([sys.executable, "-c", _TREE], stdout=subprocess.PIPE, start_new_session=True)
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    parent.kill()
    parent.wait()
    assert child in group_pids(parent.pid)  # orphaned, still in the group
    begin = time.monotonic()
    stop_processes([parent], timeout=1)
    assert time.monotonic() - begin < 5
    assert child not in group_pids(parent.pid)


def test_stop_processes_escalates_to_kill_for_a_listed_pid() -> None:
    stubborn = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print(1, flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
    )
    assert stubborn.stdout is not None
    stubborn.stdout.readline()  # SIGTERM is ignored from here on
    stop_processes([stubborn], timeout=0.5)
    assert stubborn.poll() is not None


ROOT = Path(__file__).resolve().parent.parent
# Session fixtures in tests/servers/ that serve in-process fakes (fault injection), not real servers.
_FAKES = {"conduit_server", "oncall_server", "misbehaving_server"}
_NEEDS_EACH = """
import pytest

@pytest.mark.parametrize("name", {names!r})
def test_needs(request, name):
    request.getfixturevalue(name)
"""


def _real_server_fixtures() -> list[str]:
    names = []
    for module in sorted((ROOT / "tests" / "servers").glob("*.py")):
        names += re.findall(r'@pytest\.fixture\(scope="session"\)\ndef (\w+)', module.read_text())
    return sorted(set(names) - _FAKES)


def _run_without_servers(tmp_path: Path, ci: str) -> subprocess.CompletedProcess[str]:
    """Run a test needing each real-server fixture where no server can start (nothing on PATH)."""
    (tmp_path / "test_needs.py").write_text(_NEEDS_EACH.format(names=_real_server_fixtures()))
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    empty = tmp_path / "bin"
    empty.mkdir(exist_ok=True)
    plugins = [arg for module in ("mediawiki", "prometheus", "phorge") for arg in ("-p", f"tests.servers.{module}")]
    env = {**os.environ, "PATH": str(empty), "PYTHONPATH": str(ROOT), "CI": ci, "MW_ROOT": str(tmp_path / "none")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:randomly", "-p", "no:cacheprovider", *plugins,
         "-c", str(tmp_path / "pytest.ini"), str(tmp_path / "test_needs.py")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_every_real_server_fixture_is_known_here() -> None:
    assert _real_server_fixtures() == ["alertmanager_server", "mediawiki", "phorge", "prometheus_server"]


@pytest.mark.parametrize("ci", ["1", "true", "yes"])
def test_under_ci_a_missing_real_server_fails_every_fixture(tmp_path: Path, ci: str) -> None:
    done = _run_without_servers(tmp_path, ci)
    assert done.returncode == 1, done.stdout[-3000:]
    assert re.search(r"\b4 failed\b", done.stdout) and "skipped" not in done.stdout, done.stdout[-3000:]
    assert done.stdout.count("CI must not skip the real-server tests") >= 4, done.stdout[-3000:]


@pytest.mark.parametrize("ci", ["", "0", "false"])
def test_outside_ci_a_missing_real_server_skips(tmp_path: Path, ci: str) -> None:
    done = _run_without_servers(tmp_path, ci)
    assert done.returncode == 0, done.stdout[-3000:]
    assert re.search(r"\b4 skipped\b", done.stdout) and "error" not in done.stdout, done.stdout[-3000:]


def test_ci_runs_the_suite_in_random_order() -> None:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert any(dep.startswith("pytest-randomly") for dep in project["project"]["optional-dependencies"]["test"])
    assert "randomly" not in project["tool"]["pytest"]["ini_options"].get("addopts", "")
    assert "exec bash scripts/test" in (ROOT / ".ci" / "run").read_text()
    assert "randomly" not in (ROOT / "scripts" / "test").read_text()
