"""A throwaway real Phorge (the Phabricator fork) for the tests (pytest plugin) and the benchmarks.

Owns starting and stopping one Phorge from the pinned sources in ``shared/vendor/phorge/``
(Phorge + Arcanist, see that README): unpacked into a temp dir, its own MariaDB (private datadir,
127.0.0.1, a free port; never the system service), ``php -S`` with two workers and a router doing
the ``__path__`` rewrite, ``bin/storage upgrade --force``, then accounts and API tokens made with
Phorge's own classes (``phorge_php/fixture.php``) and Wikimedia-named projects made over Conduit so
that Phorge derives their slugs. Task statuses are Wikimedia-like (:data:`STATUSES`, set as
``maniphest.statuses`` in ``conf/local/local.json``); priorities are Phorge's defaults.

The session fixture ``phorge`` starts it once; the bench uses :func:`running_phorge` directly::

    with running_phorge(Path(tempfile.mkdtemp()) / "phorge") as phorge:
        phorge.call("conduit.ping")

The fixture talks Conduit with plain ``requests`` (:meth:`Phorge.call`: ``params`` JSON with the
token in ``__conduit__``, ``output=json``, ``__conduit__=1``, as real clients do), so tests set
state up without incidentkit's own client.

Where the sources come from: ``INCIDENTKIT_TEST_PHORGE`` (a tarball, or a directory holding
``phorge/`` and ``arcanist/``), else ``../shared/vendor/phorge/*.tar.gz`` beside the repository.
Without sources or the Debian packages (:data:`INSTALL_HINT`) the fixture skips its tests with a
message saying how to get them, except in CI (``_common.in_ci``), where that is a failure.
Every process it started (MariaDB, ``php -S`` and its workers) is stopped by PID at the end.
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.servers._common import (
    child_pids,
    free_port,
    skip_or_fail,
    stop_processes,
    wait_for_url,
)

__all__ = [
    "Phorge",
    "ConduitError",
    "phorge",
    "running_phorge",
    "find_phorge_source",
    "missing_phorge",
    "PINNED",
    "STATUSES",
    "PROJECTS",
    "USERS",
]

REPO_ROOT = Path(__file__).resolve().parents[2]
PHP_DIR = Path(__file__).with_name("phorge_php")
ENV_SOURCE = "INCIDENTKIT_TEST_PHORGE"
PINNED = {  # the commits of shared/vendor/phorge's tarball (its VERSIONS file)
    "phorge": "07c1a51310cff4d17ab727ee80fca6418cd17124",
    "arcanist": "3b6004a3ccbddf6c5225a38b7eb76ae26ad79704",
}
GET_PHORGE = (
    f"put the Phorge tarball at ../shared/vendor/phorge/ beside the repository, or set {ENV_SOURCE} "
    "to a tarball or to a directory holding phorge/ and arcanist/ side by side, checked out from the "
    f"phorgeit/phorge repository at {PINNED['phorge']} and the phorgeit/arcanist repository at "
    f"{PINNED['arcanist']} (the commits pinned in VERSIONS)"
)
INSTALL_HINT = (
    "apt-get install -y --no-install-recommends php-cli php-mysql php-curl php-mbstring "
    "mariadb-server mariadb-client (scripts/test does it)"
)
START_TIMEOUT = 60.0

# Accounts: username -> (real name, administrator?). Same names as the Conduit fake's.
USERS: dict[str, tuple[str, bool]] = {
    "admin": ("Admin Operator", True),
    "alice": ("Alice Oncall", False),
    "bob": ("Bob Responder", False),
}

# Projects named as at Wikimedia; Phorge derives the slugs (recorded in Phorge.projects).
PROJECTS = (
    "Sustainability (Incident Followup)",
    "SRE-OnFIRE (Pending Review & Scorecard)",
    "Wikimedia-production-error",
)

# maniphest.statuses like Wikimedia's: the values, names, closed flags and specials of puppet's
# modules/phabricator/data/fixed_settings.yaml (shared/reference/source-apis.md 1.7: open, stalled,
# resolved, invalid, duplicate, declined) plus "progress" ("In Progress"); no wontfix or spite.
# Icons, prefixes and suffixes are Phorge-default-like, not Wikimedia's. Written into local.json
# before the server starts; Phorge serves them in this order (maniphest.status.search).
STATUSES: dict[str, dict[str, Any]] = {
    "open": {
        "name": "Open",
        "special": "default",
        "prefixes": ["open", "opens", "reopen", "reopens"],
    },
    "progress": {
        "name": "In Progress",
        "name.full": "Open, In Progress",
        "closed": False,
        "transaction.icon": "fa-spinner",
    },
    "stalled": {
        "name": "Stalled",
        "name.full": "Open, Stalled",
        "closed": False,
        "transaction.icon": "fa-pause",
    },
    "resolved": {
        "name": "Resolved",
        "name.full": "Closed, Resolved",
        "closed": True,
        "special": "closed",
        "transaction.icon": "fa-check-circle",
        "prefixes": ["closed", "closes", "close", "fix", "fixes", "fixed", "resolve", "resolves", "resolved"],
        "suffixes": ["as resolved", "as fixed"],
        "keywords": ["closed", "fixed", "resolved"],
    },
    "declined": {
        "name": "Declined",
        "name.full": "Closed, Declined",
        "closed": True,
        "transaction.icon": "fa-thumbs-o-down",
        "prefixes": ["decline", "declines", "declined"],
        "suffixes": ["as declined"],
    },
    "invalid": {
        "name": "Invalid",
        "name.full": "Closed, Invalid",
        "closed": True,
        "claim": False,
        "transaction.icon": "fa-minus-circle",
        "prefixes": ["invalidate", "invalidates", "invalidated"],
        "suffixes": ["as invalid"],
    },
    "duplicate": {
        "name": "Duplicate",
        "name.full": "Closed, Duplicate",
        "closed": True,
        "special": "duplicate",
        "claim": False,
        "transaction.icon": "fa-files-o",
    },
}

# mariadbd flags from the vendor README: loopback only, no binlog, no fsync per commit.
MARIADB_FLAGS = (
    "--skip-name-resolve",
    "--sql-mode=STRICT_ALL_TABLES",
    "--max-allowed-packet=64M",
    "--ft-min-word-len=3",
    "--ft-stopword-file=",
    "--innodb-flush-log-at-trx-commit=0",
    "--skip-log-bin",
)


class ConduitError(AssertionError):
    """A Conduit call answered with an error_code."""

    def __init__(self, method: str, code: str, info: str | None) -> None:
        super().__init__(f"{method}: {code}: {info}")
        self.method, self.code, self.info = method, code, info


def find_phorge_source() -> Path | None:
    """The tarball or source directory to use (see the module docstring), or None."""
    configured = os.environ.get(ENV_SOURCE, "").strip()
    if configured:
        return Path(configured).expanduser()
    tarballs = sorted((REPO_ROOT.parent / "shared" / "vendor" / "phorge").glob("*.tar.gz"))
    return tarballs[-1] if tarballs else None


def missing_phorge(source: Path | None = None) -> str | None:
    """Why a Phorge cannot be started here (None when it can)."""
    source = source if source is not None else find_phorge_source()
    if source is None:
        return f"no Phorge sources: {GET_PHORGE}"
    if not source.exists():
        return f"{ENV_SOURCE}={source} does not exist: {GET_PHORGE}"
    if source.is_dir() and not (
        (source / "phorge" / "bin" / "storage").exists() and (source / "arcanist").is_dir()
    ):
        return f"{source} holds no phorge/ and arcanist/: {GET_PHORGE}"
    absent = [
        b
        for b in ("php", "mariadbd", "mariadb", "mariadb-install-db", "tar", "cp")
        if shutil.which(b) is None
    ]
    if absent:
        return f"{', '.join(absent)} not installed (install with: {INSTALL_HINT})"
    modules = (
        subprocess.run(["php", "-m"], capture_output=True, text=True, check=False).stdout.lower().split()
    )
    lacking = [m for m in ("mysqli", "curl", "mbstring") if m not in modules]
    if lacking:
        return f"php lacks the modules {', '.join(lacking)} (install with: {INSTALL_HINT})"
    return None


@dataclass
class Phorge:
    """A running throwaway Phorge: where it is, who may call it, and helpers to set state up."""

    url: str  # site root, "http://127.0.0.1:PORT/"
    root: Path  # the site: phorge/, arcanist/, MariaDB's datadir, logs (on tmpfs when possible)
    logs: Path  # where the logs are left after the stop (the directory given to running_phorge)
    tokens: dict[str, str]  # username -> Conduit API token ("api-...")
    users: dict[str, str]  # username -> user PHID
    projects: dict[str, dict[str, Any]]  # project name -> {"phid", "id", "slug", "slugs"}
    statuses: dict[str, dict[str, Any]]  # the maniphest.statuses set (STATUSES)
    versions: dict[str, str]  # "phorge"/"arcanist" -> commit, from VERSIONS when there is one
    startup_seconds: float = 0.0  # from nothing to ready
    timings: dict[str, float] = field(default_factory=dict)  # seconds per startup step
    pids: list[int] = field(default_factory=list)  # everything it started, stopped at the end
    php_env: dict[str, str] = field(default_factory=dict, repr=False)
    _session: requests.Session = field(default_factory=requests.Session, repr=False)

    # --- Conduit ---------------------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        return self.url + "api/"

    def post(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        user: str | None = "admin",
        *,
        token: str | None = None,
    ) -> requests.Response:
        """POST one Conduit call as real clients do; the raw HTTP answer. *token* overrides *user*."""
        params = dict(params or {})
        secret = token if token is not None else (self.tokens[user] if user else None)
        if secret is not None:
            params["__conduit__"] = {"token": secret}
        data = {"params": json.dumps(params), "output": "json", "__conduit__": "1"}
        return self._session.post(self.api_url + method, data=data, timeout=60)

    def call(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        user: str | None = "admin",
        *,
        token: str | None = None,
    ) -> dict[str, Any]:
        """One Conduit call; the whole envelope ``{result, error_code, error_info}`` (errors included)."""
        response = self.post(method, params, user, token=token)
        response.raise_for_status()
        return response.json()

    def result(self, method: str, params: dict[str, Any] | None = None, user: str = "admin") -> Any:
        """One Conduit call's ``result``; an error_code raises :class:`ConduitError`."""
        answer = self.call(method, params, user)
        if answer.get("error_code"):
            raise ConduitError(method, answer["error_code"], answer.get("error_info"))
        return answer["result"]

    # --- names -> PHIDs ----------------------------------------------------------------------------

    def project_phid(self, project: str) -> str:
        """A project's PHID from its name, a slug Phorge knows for it, or a PHID."""
        if project.startswith("PHID-"):
            return project
        if project in self.projects:
            return str(self.projects[project]["phid"])
        for info in self.projects.values():
            if project.lstrip("#") in info["slugs"]:
                return str(info["phid"])
        raise KeyError(f"no fixture project {project!r}")

    def user_phid(self, user: str) -> str:
        return user if user.startswith("PHID-") else self.users[user]

    def task_phid(self, task: int | str) -> str:
        """A task's PHID from ``12``, ``"T12"`` or a PHID (as the admin sees it)."""
        if isinstance(task, str) and task.startswith("PHID-"):
            return task
        task_id = int(str(task).lstrip("T"))
        found = self.result("maniphest.search", {"constraints": {"ids": [task_id]}})["data"]
        if not found:
            raise KeyError(f"T{task_id} not visible to admin")
        return str(found[0]["phid"])

    # --- tasks ---------------------------------------------------------------------------------------

    def edit_task(
        self, task: int | str | None, transactions: list[dict[str, Any]], user: str = "admin"
    ) -> dict:
        """``maniphest.edit`` with raw *transactions*; *task* None creates one. Returns the result."""
        params: dict[str, Any] = {"transactions": transactions}
        if task is not None:
            params["objectIdentifier"] = task if isinstance(task, str) else f"T{task}"
        return self.result("maniphest.edit", params, user)

    def create_task(
        self,
        title: str,
        *,
        description: str | None = None,
        owner: str | None = None,
        projects: Iterable[str] = (),
        parent: int | str | None = None,
        status: str | None = None,
        priority: str | None = None,
        subscribers: Iterable[str] = (),
        user: str = "admin",
    ) -> dict[str, Any]:
        """Create a task as *user*; returns ``{"id", "phid", "monogram"}``.

        *owner*/*subscribers* are usernames or PHIDs, *projects* names, slugs or PHIDs, *parent*
        an id, monogram or PHID, *priority* a keyword ("high"), *status* a status value.
        """
        xactions: list[dict[str, Any]] = [{"type": "title", "value": title}]
        if description is not None:
            xactions.append({"type": "description", "value": description})
        if owner is not None:
            xactions.append({"type": "owner", "value": self.user_phid(owner)})
        if projects:
            xactions.append({"type": "projects.add", "value": [self.project_phid(p) for p in projects]})
        if subscribers:
            xactions.append({"type": "subscribers.add", "value": [self.user_phid(u) for u in subscribers]})
        if parent is not None:
            xactions.append({"type": "parent", "value": self.task_phid(parent)})
        if priority is not None:
            xactions.append({"type": "priority", "value": priority})
        if status is not None:
            xactions.append({"type": "status", "value": status})
        obj = self.edit_task(None, xactions, user)["object"]
        return {"id": int(obj["id"]), "phid": obj["phid"], "monogram": f"T{obj['id']}"}

    def comment(self, task: int | str, text: str, user: str = "admin") -> dict:
        return self.edit_task(task, [{"type": "comment", "value": text}], user)

    def set_status(
        self, task: int | str, status: str, user: str = "admin", comment: str | None = None
    ) -> dict:
        xactions: list[dict[str, Any]] = [{"type": "status", "value": status}]
        if comment is not None:
            xactions.append({"type": "comment", "value": comment})
        return self.edit_task(task, xactions, user)

    def close(
        self, task: int | str, status: str = "resolved", user: str = "admin", comment: str | None = None
    ) -> dict:
        return self.set_status(task, status, user, comment)

    def reopen(
        self, task: int | str, status: str = "open", user: str = "admin", comment: str | None = None
    ) -> dict:
        return self.set_status(task, status, user, comment)

    def merge(self, duplicate: int | str, into: int | str, user: str = "admin") -> dict[str, str]:
        """Merge *duplicate* into *into* as the web UI's "Merge Duplicates In" does.

        ``maniphest.edit`` cannot: the target gets an edge and a ``mergedfrom`` transaction, the
        duplicate a ``mergedinto`` one and the special duplicate status (Phorge's classes, through
        ``phorge_php/fixture.php``). Returns ``{"target", "duplicate"}`` PHIDs.
        """
        return self.php("merge", _monogram(into), _monogram(duplicate), user)

    def make_private(self, task: int | str, owner: str = "alice") -> dict:
        """Set *task*'s view and edit policies to the user *owner* alone (as *owner*).

        Every other token, the admin's included, then gets no result for it (Phorge has no
        policy bypass for administrators).
        """
        phid = self.user_phid(owner)
        return self.edit_task(task, [{"type": "view", "value": phid}, {"type": "edit", "value": phid}], owner)

    # --- tokens ------------------------------------------------------------------------------------

    def new_token(self, user: str) -> str:
        """A further standard API token for *user* (not stored in :attr:`tokens`)."""
        return str(self.php("token", user)["token"])

    def revoke_token(self, token: str) -> None:
        """Expire *token* as the web UI's "Revoke" does; calls with it then get ERR-INVALID-AUTH."""
        self.php("revoke", token)

    @staticmethod
    def bad_token() -> str:
        """A well-formed token (``api-`` + 28 characters) that the server does not know."""
        return "api-" + secrets.token_hex(14)

    # --- server-side helpers -----------------------------------------------------------------------

    def php(self, command: str, *args: str) -> dict[str, Any]:
        """Run ``phorge_php/fixture.php COMMAND ARGS`` (Phorge's own classes); its JSON output."""
        return _fixture_php(self.root, self.php_env, command, *args)

    def set_config(self, values: dict[str, Any]) -> None:
        """Merge *values* into ``conf/local/local.json`` (read by every request: no restart)."""
        _merge_local_json(self.root / "phorge", values)


def _monogram(task: int | str) -> str:
    text = str(task)
    return text if text.startswith(("T", "PHID-")) else f"T{text}"


def _fixture_php(root: Path, env: dict[str, str], command: str, *args: str) -> dict[str, Any]:
    result = subprocess.run(
        ["php", str(PHP_DIR / "fixture.php"), str(root / "phorge"), command, *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"fixture.php {command} failed (exit {result.returncode}):\n{result.stderr[-3000:]}"
        )
    return json.loads(result.stdout)


def _merge_local_json(phorge_dir: Path, values: dict[str, Any]) -> None:
    """Merge *values* into ``conf/local/local.json``, keeping what is already there.

    Key order is kept: Phorge serves ``maniphest.statuses`` in the order of the config.
    """
    path = phorge_dir / "conf" / "local" / "local.json"
    current = json.loads(path.read_text()) if path.exists() and path.read_text().strip() else {}
    current.update(values)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(current, indent=2) + "\n")
    tmp.replace(path)


def _run(args: list[str], log: Path, env: dict[str, str] | None = None, cwd: Path | None = None) -> None:
    with log.open("ab") as out:
        out.write(("$ " + " ".join(args) + "\n").encode())
        out.flush()
        result = subprocess.run(
            args,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=cwd,
            timeout=300,
        )
    if result.returncode != 0:
        text = log.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"{args[0]} failed (exit {result.returncode}); see {log}:\n{text}")


def _unpack(source: Path, root: Path) -> None:
    """Put ``phorge/`` and ``arcanist/`` into *root* (a copy: the source is never written to)."""
    if source.is_dir():
        names = [name for name in ("phorge", "arcanist", "VERSIONS") if (source / name).exists()]
        _run(["cp", "-a", *[str(source / name) for name in names], str(root)], root / "unpack.log")
    else:
        _run(["tar", "-xzf", str(source), "-C", str(root)], root / "unpack.log")
    if not (root / "phorge" / "bin" / "storage").exists():
        raise RuntimeError(f"{source} did not give phorge/bin/storage; {GET_PHORGE}")


def _versions(root: Path) -> dict[str, str]:
    path = root / "VERSIONS"
    if not path.exists():
        return {}
    pairs = (line.split(None, 1) for line in path.read_text().splitlines() if line.strip())
    return {name: commit.strip() for name, commit in pairs}


class _Steps:
    """Named startup steps, timed, some on threads (their errors re-raised when joined)."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}
        self._threads: dict[str, tuple[threading.Thread, list[BaseException]]] = {}

    def run(self, name: str, func: Callable[[], Any]) -> Any:
        begin = time.monotonic()
        try:
            return func()
        finally:
            self.timings[name] = round(time.monotonic() - begin, 3)

    def start(self, name: str, func: Callable[[], Any]) -> None:
        errors: list[BaseException] = []

        def target() -> None:
            try:
                self.run(name, func)
            except BaseException as exc:  # noqa: BLE001 - handed to join()
                errors.append(exc)

        thread = threading.Thread(target=target, name=f"phorge-{name}", daemon=True)
        thread.start()
        self._threads[name] = (thread, errors)

    def join(self, *names: str) -> None:
        for name in names:
            thread, errors = self._threads.pop(name)
            thread.join()
            if errors:
                raise errors[0]


def _memory_dir() -> Path | None:
    """A fresh directory on /dev/shm (tmpfs) when there is one with 1 GiB free, else None.

    Unpacking ~2,500 files and MariaDB's ~500 tables on this machine's disk can take 5-10 s once
    writeback throttling starts; on tmpfs the same takes a fraction of a second.
    """
    shm = Path("/dev/shm")
    try:
        stats = os.statvfs(shm)
    except OSError:
        return None
    if not os.access(shm, os.W_OK) or stats.f_bavail * stats.f_frsize < 1 << 30:
        return None
    return Path(tempfile.mkdtemp(prefix="incidentkit-phorge-", dir=shm))


@contextmanager
def running_phorge(root: Path, source: Path | None = None, *, in_memory: bool = True) -> Iterator[Phorge]:
    """Set up a fresh Phorge, serve it, stop everything on exit.

    *root* (created; must not exist) gets the logs. With *in_memory* (and a usable /dev/shm) the
    site itself (sources, MariaDB's datadir) lives in a tmpfs directory that is removed on exit,
    after its logs are copied into *root*; otherwise everything is in *root*.
    """
    source = source if source is not None else find_phorge_source()
    reason = missing_phorge(source)
    if reason is not None or source is None:
        raise RuntimeError(f"cannot start Phorge: {reason}")
    began = time.monotonic()
    root.mkdir(parents=True)
    memory = _memory_dir() if in_memory else None
    site = memory or root
    user = _username()
    # MariaDB's socket path must stay short (sun_path is 108 bytes)
    sockdir = Path(tempfile.mkdtemp(prefix="phorge-db-")) if len(str(site)) > 60 else site
    socket_path = sockdir / "mariadb.sock"
    datadir = site / "mariadb"
    db_port, web_port = free_port(), free_port()
    db_password = secrets.token_hex(12)
    url = f"http://127.0.0.1:{web_port}/"
    php_env = {k: v for k, v in os.environ.items() if k != "PHP_CLI_SERVER_WORKERS"}
    started: list[subprocess.Popen[bytes]] = []
    extra_pids: list[int] = []
    steps = _Steps()
    mariadb_log = site / "mariadb.log"

    def start_mariadb() -> None:
        _run(
            [
                "mariadb-install-db", "--no-defaults", f"--datadir={datadir}", f"--user={user}",
                "--auth-root-authentication-method=normal", "--skip-test-db",
            ],
            site / "mariadb-install.log",
        )  # fmt: skip
        with mariadb_log.open("wb") as out:
            process = subprocess.Popen(
                [
                    "mariadbd", "--no-defaults", f"--user={user}", f"--datadir={datadir}",
                    f"--socket={socket_path}", f"--pid-file={site / 'mariadb.pid'}",
                    "--bind-address=127.0.0.1", f"--port={db_port}", *MARIADB_FLAGS,
                ],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
        started.append(process)
        client = ["mariadb", "--no-defaults", "-uroot", f"--socket={socket_path}"]
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"mariadbd exited with {process.returncode}:\n{mariadb_log.read_text()[-3000:]}"
                )
            if subprocess.run([*client, "-e", "select 1"], capture_output=True, check=False).returncode == 0:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"mariadbd not ready after {START_TIMEOUT:.0f} s:\n{mariadb_log.read_text()[-3000:]}"
                )
            time.sleep(0.05)
        sql = (
            f"CREATE USER 'phorge'@'127.0.0.1' IDENTIFIED BY '{db_password}'; "
            "GRANT ALL PRIVILEGES ON *.* TO 'phorge'@'127.0.0.1' WITH GRANT OPTION;"
        )
        _run([*client, "-e", sql], site / "mariadb-client.log")

    def unpack_and_configure() -> None:
        _unpack(source, site)
        for sub in ("files", "repos"):
            (site / sub).mkdir()
        _merge_local_json(
            site / "phorge",
            {
                "mysql.host": "127.0.0.1",
                "mysql.port": str(db_port),
                "mysql.user": "phorge",
                "mysql.pass": db_password,
                "phabricator.base-uri": url,
                "phabricator.timezone": "UTC",
                "storage.local-disk.path": str(site / "files"),
                "repository.default-local-path": str(site / "repos"),
                "pygments.enabled": False,
                "log.access.path": None,
                "maniphest.statuses": STATUSES,
            },
        )

    def serve() -> None:
        web_log = site / "php-server.log"
        (site / "router.php").write_text((PHP_DIR / "router.php").read_text())
        with web_log.open("wb") as out:
            process = subprocess.Popen(
                [
                    "php",
                    "-S",
                    f"127.0.0.1:{web_port}",
                    "-t",
                    str(site / "phorge" / "webroot"),
                    str(site / "router.php"),
                ],
                cwd=site,
                env={**php_env, "PHP_CLI_SERVER_WORKERS": "2"},
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        started.append(process)
        # the workers outlive a killed parent and keep the port: record them too (they fork at start)
        deadline = time.monotonic() + 10
        while len(child_pids(process.pid)) < 2 and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.01)
        extra_pids.extend(child_pids(process.pid))

    def upgrade_schema() -> None:
        storage = site / "phorge" / "bin" / "storage"
        _run([str(storage), "upgrade", "--force"], site / "storage-upgrade.log", env=php_env)

    accounts: dict[str, dict[str, str]] = {}

    def create_users() -> None:
        accounts.update(_fixture_php(site, php_env, "users", json.dumps(_user_specs())))

    def first_request() -> None:
        # with two workers the setup checks' request to the same server does not stall this one
        wait_for_url(
            url + "api/conduit.ping",
            timeout=START_TIMEOUT,
            process=started[-1],
            log=site / "php-server.log",
            what="Phorge (php -S)",
        )

    phorge: Phorge | None = None
    try:
        steps.start("mariadb", start_mariadb)  # install-db + start + wait + user, beside the unpacking
        steps.run("unpack", unpack_and_configure)
        steps.start("php -S", serve)  # serves nothing useful until the schema exists; no request yet
        steps.join("mariadb")
        steps.run("storage upgrade", upgrade_schema)
        steps.start("users", create_users)  # beside the first request
        steps.join("php -S")
        steps.run("first request", first_request)
        steps.join("users")
        phorge = Phorge(
            url=url,
            root=site,
            logs=root,
            tokens={name: info["token"] for name, info in accounts.items()},
            users={name: info["phid"] for name, info in accounts.items()},
            projects={},
            statuses=STATUSES,
            versions=_versions(site),
            php_env=php_env,
        )
        steps.run("projects", lambda: _create_projects(phorge))
        phorge.startup_seconds = round(time.monotonic() - began, 3)
        phorge.timings = steps.timings
        phorge.pids = [p.pid for p in started] + extra_pids
        yield phorge
    finally:
        # also whatever a failed start left (threads joined first, so nothing starts after this)
        for name in list(steps._threads):
            try:
                steps.join(name)
            except BaseException:  # noqa: BLE001 - the start's own error is already on its way
                pass
        stop_processes([*started, *extra_pids])
        if sockdir is not site:
            shutil.rmtree(sockdir, ignore_errors=True)
        if memory is not None:
            for log in memory.glob("*.log"):
                shutil.copy2(log, root / log.name)
            shutil.rmtree(memory, ignore_errors=True)
        if phorge is not None:
            phorge._session.close()


def _user_specs() -> dict[str, dict[str, Any]]:
    return {name: {"realName": real, "admin": admin} for name, (real, admin) in USERS.items()}


def _create_projects(phorge: Phorge) -> None:
    """Create :data:`PROJECTS` by name only, so Phorge derives the slugs; record what it made."""
    for name in PROJECTS:
        phorge.result("project.edit", {"transactions": [{"type": "name", "value": name}]})
    primary = {
        item["phid"]: item["fields"]["slug"]
        for item in phorge.result("project.search", {"constraints": {"isRoot": True}})["data"]
    }
    hashtags = phorge.result("project.query", {})["data"]  # the one method that lists every hashtag
    for info in hashtags.values():
        phorge.projects[info["name"]] = {
            "phid": info["phid"],
            "id": int(info["id"]),
            "slug": primary.get(info["phid"]),
            "slugs": list(info["slugs"]),
        }


def _username() -> str:
    return pwd.getpwuid(os.getuid()).pw_name


_STARTED: list[Phorge] = []


@pytest.fixture(scope="session")
def phorge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Phorge]:
    """A real Phorge on 127.0.0.1 for the whole test session (see the module docstring)."""
    source = find_phorge_source()
    reason = missing_phorge(source)
    if reason is not None:
        skip_or_fail(f"real Phorge unavailable: {reason}")
    with running_phorge(tmp_path_factory.mktemp("phorge") / "site", source) as server:
        _STARTED.append(server)
        yield server


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say how long the Phorge fixture took from nothing to ready, when it ran."""
    for server in _STARTED:
        steps = ", ".join(f"{name} {seconds:.2f}" for name, seconds in server.timings.items())
        terminalreporter.write_line(
            f"phorge fixture: ready in {server.startup_seconds:.2f} s ({steps}; some steps overlap)"
        )
