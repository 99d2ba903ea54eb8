"""A small in-memory Phorge that answers Conduit like the real one, and its pytest fixtures.

The real Phorge runs in the suite (``tests/servers/phorge.py``); this fake stays for what a real
server cannot do on demand (fault injection: 429, HTML 500, garbage, slow answers) and for
benchmarks, and must answer as Phorge does. Two tests hold it to that:
``tests/test_conduit.py`` seeds it with the state behind the captures in
``tests/fixtures/phabricator/captures/`` and replays the captured requests against it, and
``tests/test_phorge_fake_parity.py`` runs the same calls against the session's real Phorge and the
fake and compares the whole answers (hashtags derived and matched as Phorge normalises them, owners
as PHIDs only, unknown hashtags refused on edit, "Merge Duplicates In", private tasks, wrong paths).
Always HTTP 200 with the ``{result, error_code, error_info}`` envelope and ``Content-Type:
application/json``, PHP's ``\\/`` escaping, string cursors, ``[]`` for empty PHP arrays where the real
server sends them (``columns.boards``, ``phid.lookup``), the real error codes and messages (bad
tokens quoted back in ``error_info``), priority as the default order; outside ``/api/<method>``,
Phorge's one-line plain-text answer.

Fixtures (registered through ``tests/conftest.py``'s ``pytest_plugins``):

* ``conduit_server`` (session): one :class:`ConduitFake` served on 127.0.0.1 for the whole run.
* ``conduit`` (function): the same server, :meth:`ConduitFake.reset` before the test. Use this one.

Fixture API: ``.url`` (site root), ``.token`` (admin's token), ``.token_for(user)``, ``.add_task(...)``,
``.set_status(id, status, at=...)``, ``.set_priority``, ``.set_owner``, ``.add_comment``, ``.edit``,
``.merge(duplicate, into=...)``, ``.make_private(id, owner)``, ``.add_user``, ``.add_project(name,
slug=None, hashtags=())`` (the slug derived from the name as Phorge derives it),
``.set_clock(epoch)``, ``.task_phids`` / ``.txn_phids`` (the PHIDs new tasks and transactions take, to replay a captured server), ``.fail_next("html500" | "429" | "html200" | "garbage", times=, method=)``,
``.slow_next(seconds, times=, method=)``, ``.calls`` (requests received), ``.requests``
(``(method, params)`` without the token), ``.reset()``. Call the helpers in time order (``at=``):
transaction ids follow insertion order, as on the real server, and newest-first paging relies on
it. Not modelled: the PHP-bracket "flat" encoding beyond ``api.token``, project edits and project
transactions, ``conduit.query``. The bench starts it without pytest:
``fake = ConduitFake(); fake.start(); ...; fake.stop()``.
"""

from __future__ import annotations

import json
import random
import re
import string
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest
from werkzeug.wrappers import Request, Response

from tests.servers._common import LoopbackFake

__all__ = ["ConduitFake", "FakeTask", "FAULTS", "normalize_project_slug"]

FAULTS = ("html500", "429", "html200", "garbage")

# The users, projects and columns of the captured server (same PHIDs, so captures replay as-is).
_USERS = (
    (
        1,
        "admin",
        "Admin Operator",
        "PHID-USER-h674ugvw3lwmlnr4lnuo",
        ("admin", "verified", "approved", "activated"),
        1795397538,
        1795397540,
    ),
    (
        2,
        "alice",
        "Alice Oncall",
        "PHID-USER-bcqen4pkyl7s6vy2w2yl",
        ("verified", "approved", "activated"),
        1795397538,
        1795397635,
    ),
    (
        3,
        "bob",
        "Bob Responder",
        "PHID-USER-6qe6hc323mxicelnk5cn",
        ("verified", "approved", "activated"),
        1795397538,
        1795397635,
    ),
)
_STATUSES = (
    {"name": "Open", "value": "open", "closed": False, "special": "default"},
    {"name": "Resolved", "value": "resolved", "closed": True, "special": "closed"},
    {"name": "Wontfix", "value": "wontfix", "closed": True},
    {"name": "Invalid", "value": "invalid", "closed": True},
    {"name": "Duplicate", "value": "duplicate", "closed": True, "special": "duplicate"},
    {"name": "Spite", "value": "spite", "closed": True},
)
_PRIORITIES = (
    {"name": "Unbreak Now!", "keywords": ["unbreak"], "short": "Unbreak!", "color": "pink", "value": 100},
    {"name": "Needs Triage", "keywords": ["triage"], "short": "Triage", "color": "violet", "value": 90},
    {"name": "High", "keywords": ["high"], "short": "High", "color": "red", "value": 80},
    {"name": "Normal", "keywords": ["normal"], "short": "Normal", "color": "orange", "value": 50},
    {"name": "Low", "keywords": ["low"], "short": "Low", "color": "yellow", "value": 25},
    {"name": "Wishlist", "keywords": ["wish", "wishlist"], "short": "Wish", "color": "sky", "value": 0},
)
DEFAULT_PRIORITY = 90

_PARAMS = {
    "maniphest.search": ("queryKey", "constraints", "attachments", "order", "before", "after", "limit"),
    "user.search": ("queryKey", "constraints", "attachments", "order", "before", "after", "limit"),
    "project.search": ("queryKey", "constraints", "attachments", "order", "before", "after", "limit"),
    "transaction.search": ("objectIdentifier", "objectType", "constraints", "before", "after", "limit"),
    "maniphest.edit": ("transactions", "objectIdentifier"),
    "maniphest.status.search": (),
    "maniphest.priority.search": (),
    "phid.lookup": ("names",),
    "phid.query": ("phids",),
    "user.whoami": (),
    "conduit.ping": (),
}
_TASK_CONSTRAINTS = {
    "ids",
    "phids",
    "query",
    "assigned",
    "authorPHIDs",
    "statuses",
    "priorities",
    "subtypes",
    "columnPHIDs",
    "hasParents",
    "hasSubtasks",
    "parentIDs",
    "subtaskIDs",
    "createdStart",
    "createdEnd",
    "modifiedStart",
    "modifiedEnd",
    "closedStart",
    "closedEnd",
    "closerPHIDs",
    "projects",
    "subscribers",
}
_TASK_ATTACHMENTS = ("projects", "subscribers", "columns")
_TASK_ORDERS = {
    "priority": "priority",
    "order-priority": "priority",
    "updated": "updated",
    "order-modified": "updated",
    "outdated": "outdated",
    "newest": "newest",
    "created": "newest",
    "order-created": "newest",
    "oldest": "oldest",
    "closed": "closed",
    "title": "title",
    "order-title": "title",
    "relevance": "priority",
}
_EDIT_TYPES = (
    "parent",
    "column",
    "space",
    "title",
    "owner",
    "status",
    "priority",
    "description",
    "parents.add",
    "parents.remove",
    "parents.set",
    "subtasks.add",
    "subtasks.remove",
    "subtasks.set",
    "commits.add",
    "commits.remove",
    "commits.set",
    "view",
    "edit",
    "projects.add",
    "projects.remove",
    "projects.set",
    "subscribers.add",
    "subscribers.remove",
    "subscribers.set",
    "subtype",
    "comment",
    "mfa",
)
_HTML_500 = (
    '<!DOCTYPE html><html lang="en"><head><meta charset="UTF-8" /><title>Unhandled Exception '
    '(&quot;TypeError&quot;)</title></head><body><h1>Unhandled Exception ("TypeError")</h1>'
    "<p>PhabricatorObjectQuery::withNames(): Argument #1 ($names) must be of type array</p></body></html>"
)
_HTML_LOGIN = "<!DOCTYPE html><html><head><title>Login</title></head><body>Log in to continue.</body></html>"


_API_PATH = re.compile(r"/api/[A-Za-z0-9_.]+")
_WRONG_PATH = (
    'ERROR: You are making a Conduit API request to "{path}", but the correct HTTP request path to use in '
    'order to access a Conduit method is "/api/<method>" (for example, "/api/conduit.ping"). Check your '
    "configuration."
)


def _wrong_path(request: Request) -> Response:
    """Phorge's answer outside ``/api/<method>``: one plain-text line for a Conduit client (the
    ``__conduit__`` form field), else the login page; HTTP 200 either way."""
    if "__conduit__" in request.values:
        return Response(
            _WRONG_PATH.format(path=request.path), status=200, content_type="text/plain; charset=utf-8"
        )
    return Response(_HTML_LOGIN, status=200, content_type="text/html; charset=UTF-8")


class _Failure(Exception):
    """A Conduit error: becomes ``{"result": null, "error_code": code, "error_info": info}``."""

    def __init__(self, code: str, info: str) -> None:
        super().__init__(info)
        self.code = code
        self.info = info


class _Throwable(_Failure):
    """An uncaught PHP error: an envelope with the class name, or HTML 500 without ``__conduit__``."""


@dataclass
class FakeUser:
    id: int
    username: str
    real_name: str
    phid: str
    roles: tuple[str, ...]
    created: int
    modified: int


@dataclass
class FakeProject:
    id: int
    name: str
    slugs: list[str]
    phid: str
    members: list[str] = field(default_factory=list)
    columns: list[dict[str, Any]] = field(default_factory=list)  # [{"id", "phid", "name"}], first is default
    icon: dict[str, str] = field(
        default_factory=lambda: {"key": "project", "name": "Project", "icon": "fa-briefcase"}
    )
    color: dict[str, str] = field(default_factory=lambda: {"key": "blue", "name": "Blue"})
    description: str = ""
    created: int = 1795397635
    modified: int = 1795397635


@dataclass
class FakeTask:
    id: int
    phid: str
    title: str
    author: str
    created: int
    modified: int
    description: str = ""
    owner: str | None = None
    status: str = "open"
    priority: int = DEFAULT_PRIORITY
    closed: int | None = None
    closer: str | None = None
    projects: list[str] = field(default_factory=list)
    subscribers: list[str] = field(default_factory=list)
    boards: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # project PHID -> its columns
    parents: list[int] = field(default_factory=list)
    viewer: str | None = None  # the one user PHID allowed to see it (view/edit policy), None = users

    @property
    def monogram(self) -> str:
        return f"T{self.id}"


def _epoch(value: datetime | int | float | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return int(value.timestamp())
    return int(value)


class ConduitFake(LoopbackFake):
    """State plus Conduit semantics, served over HTTP by pytest-httpserver."""

    def __init__(self, *, php_escaping: bool = True, seed: int = 4) -> None:
        self.php_escaping = php_escaping
        self._seed = seed
        self._lock = threading.RLock()
        self._id_filter: tuple[Any, frozenset[Any]] | None = None
        self.reset()

    # --- lifecycle ------------------------------------------------------------------------------

    def reset(self) -> None:
        """Back to the captured server's users and projects, no tasks, no faults, counters at zero."""
        with self._lock:
            self._generation = getattr(self, "_generation", 0) + 1
            self._random = random.Random(self._seed)
            self.users: dict[str, FakeUser] = {}
            self.projects: dict[str, FakeProject] = {}
            self.tasks: dict[int, FakeTask] = {}
            # PHIDs the next new tasks and transactions take, in order (else random): to replay a capture
            self.task_phids: list[str] = []
            self.txn_phids: list[str] = []
            self.transactions: list[dict[str, Any]] = []
            self._txn_by_object: dict[str, list[dict[str, Any]]] = {}
            self.statuses = [dict(s) for s in _STATUSES]
            self.priorities = [dict(p, keywords=list(p["keywords"])) for p in _PRIORITIES]
            self.tokens: dict[str, str] = {}
            self._next_txn = 1
            self._next_comment = 1
            self._next_column = 4
            self.clock: Callable[[], int] | None = None
            self.calls = 0
            self.requests: list[tuple[str, dict[str, Any]]] = []
            self._faults: list[tuple[str, float, str | None]] = []
            for uid, name, real, phid, roles, created, modified in _USERS:
                self._put_user(FakeUser(uid, name, real, phid, roles, created, modified))
            self.projects["PHID-PROJ-6xycd6zxjatbtujcjg7x"] = FakeProject(
                1,
                "Incident Response",
                ["incident_response", "ir", "incidents"],
                "PHID-PROJ-6xycd6zxjatbtujcjg7x",
                members=sorted(u.phid for u in self.users.values()),
                columns=[
                    {"id": 1, "phid": "PHID-PCOL-o3ezs5xojdcqotdrap5k", "name": "Backlog"},
                    {"id": 2, "phid": "PHID-PCOL-j6okencvipn2q4sd6cmh", "name": "Investigating"},
                    {"id": 3, "phid": "PHID-PCOL-j2zfxr54waaklrl4ndkf", "name": "Mitigated"},
                ],
                icon={"key": "bugs", "name": "Bugs", "icon": "fa-bug"},
                color={"key": "red", "name": "Red"},
                description="Active production incidents and follow-ups.",
            )
            self.projects["PHID-PROJ-qtuv2vrim6nixtrlrlyt"] = FakeProject(
                2,
                "Database",
                ["database"],
                "PHID-PROJ-qtuv2vrim6nixtrlrlyt",
                members=["PHID-USER-bcqen4pkyl7s6vy2w2yl"],
                icon={"key": "infrastructure", "name": "Infrastructure", "icon": "fa-cloud"},
                description="MariaDB fleet.",
            )
            if self._server is not None:
                self._server.clear_log()

    # --- test-facing helpers --------------------------------------------------------------------

    @property
    def token(self) -> str:
        return self.token_for("admin")

    def token_for(self, username: str) -> str:
        user = self._user(username)
        return next(token for token, phid in self.tokens.items() if phid == user.phid)

    def set_clock(self, when: datetime | int | None) -> None:
        """Pin "now" (epoch seconds) for edits made through Conduit; None follows the real clock."""
        fixed = _epoch(when)
        self.clock = None if fixed is None else (lambda: fixed)

    def now(self) -> int:
        return self.clock() if self.clock else int(time.time())

    def fail_next(self, kind: str, *, times: int = 1, method: str | None = None) -> None:
        """Answer the next *times* requests (to *method*, or any) with a fault from :data:`FAULTS`."""
        if kind not in FAULTS:
            raise ValueError(f"unknown fault {kind!r}; use one of {FAULTS}")
        with self._lock:
            self._faults.extend([(kind, 0.0, method)] * times)

    def slow_next(self, seconds: float, *, times: int = 1, method: str | None = None) -> None:
        """Delay the next *times* answers by *seconds* (then answer normally)."""
        with self._lock:
            self._faults.extend([("slow", seconds, method)] * times)

    def add_user(self, username: str, real_name: str = "") -> str:
        with self._lock:
            uid = max((u.id for u in self.users.values()), default=0) + 1
            user = FakeUser(
                uid,
                username,
                real_name or username.title(),
                self._phid("USER", 20),
                ("verified", "approved", "activated"),
                self.now(),
                self.now(),
            )
            self._put_user(user)
            return user.phid

    def add_project(
        self, name: str, slug: str | None = None, *, hashtags: Sequence[str] = (), columns: Sequence[str] = ()
    ) -> str:
        """A project with hashtag *slug* (default: derived from the name as Phorge derives it) and
        further *hashtags*; *columns* makes a workboard."""
        with self._lock:
            pid = max((p.id for p in self.projects.values()), default=0) + 1
            primary = slug or normalize_project_slug(name)
            cols = []
            for column in columns:
                cols.append({"id": self._next_column, "phid": self._phid("PCOL", 20), "name": column})
                self._next_column += 1
            project = FakeProject(
                pid,
                name,
                list(dict.fromkeys([primary, *hashtags])),
                self._phid("PROJ", 20),
                columns=cols,
                created=self.now(),
                modified=self.now(),
            )
            self.projects[project.phid] = project
            return project.phid

    def add_task(
        self,
        title: str,
        *,
        author: str = "admin",
        owner: str | None = None,
        status: str = "open",
        priority: str | int = "triage",
        projects: Iterable[str] = (),
        subscribers: Iterable[str] = (),
        parent: int | None = None,
        description: str = "",
        created: datetime | int | None = None,
    ) -> FakeTask:
        """Create a task the way ``maniphest.edit`` would (same transactions), at *created*."""
        txns: list[dict[str, Any]] = [{"type": "title", "value": title}]
        if description:
            txns.append({"type": "description", "value": description})
        txns.append({"type": "priority", "value": self._priority_keyword(priority)})
        if owner:
            txns.append({"type": "owner", "value": self._user(owner).phid})
        if projects:
            txns.append({"type": "projects.add", "value": list(projects)})
        if subscribers:
            txns.append({"type": "subscribers.add", "value": list(subscribers)})
        if parent is not None:
            txns.append({"type": "parent", "value": self.tasks[parent].phid})
        at = _epoch(created)
        task, _ = self.edit(None, txns, actor=author, at=at)
        if status != "open":
            self.set_status(task.id, status, actor=author, at=at)
        return task

    def set_status(
        self,
        task_id: int,
        status: str,
        *,
        at: datetime | int | None = None,
        actor: str = "admin",
        comment: str | None = None,
    ) -> list[dict[str, Any]]:
        txns: list[dict[str, Any]] = [{"type": "status", "value": status}]
        if comment:
            txns.append({"type": "comment", "value": comment})
        return self.edit(task_id, txns, actor=actor, at=at)[1]

    def set_priority(
        self, task_id: int, priority: str | int, *, at: datetime | int | None = None, actor: str = "admin"
    ) -> list[dict[str, Any]]:
        return self.edit(
            task_id, [{"type": "priority", "value": self._priority_keyword(priority)}], actor=actor, at=at
        )[1]

    def set_owner(
        self, task_id: int, owner: str | None, *, at: datetime | int | None = None, actor: str = "admin"
    ) -> list[dict[str, Any]]:
        phid = None if owner is None else self._user(owner).phid
        return self.edit(task_id, [{"type": "owner", "value": phid}], actor=actor, at=at)[1]

    def add_comment(
        self, task_id: int, text: str, *, at: datetime | int | None = None, actor: str = "admin"
    ) -> list[dict[str, Any]]:
        return self.edit(task_id, [{"type": "comment", "value": text}], actor=actor, at=at)[1]

    def merge(
        self, duplicate_id: int, into: int, *, at: datetime | int | None = None, actor: str = "admin"
    ) -> None:
        """"Merge Duplicates In" as Phorge's web UI does it (``maniphest.edit`` cannot).

        The target gets an edge, a ``mergedfrom`` ``{old: null, new: {dup: dup}}`` and the
        duplicate's author as subscriber; the duplicate an edge and a ``mergedinto`` ``{old: null,
        new: target}``, and the special duplicate status with no ``status`` transaction (closed by
        *actor* if it was open; its owner stays as it was).
        """
        with self._lock:
            when = _epoch(at)
            now = self.now() if when is None else when
            merger = self._user(actor).phid
            target, duplicate = self.tasks[into], self.tasks[duplicate_id]
            group = self._token_chars(32)
            self._new_txn(target, None, {}, merger, now, group, None)
            self._new_txn(
                target, "mergedfrom", {"old": None, "new": {duplicate.phid: duplicate.phid}}, merger, now, group, None
            )
            if duplicate.author not in target.subscribers:
                self._new_txn(
                    target,
                    "subscribers",
                    {"operations": [{"operation": "add", "phid": duplicate.author}]},
                    merger,
                    now,
                    group,
                    None,
                )
                target.subscribers = sorted({*target.subscribers, duplicate.author})
            target.modified = now
            group = self._token_chars(32)
            self._new_txn(duplicate, None, {}, merger, now, group, None)
            self._new_txn(duplicate, "mergedinto", {"old": None, "new": target.phid}, merger, now, group, None)
            special = next((st["value"] for st in self.statuses if st.get("special") == "duplicate"), "duplicate")
            if self._is_open(duplicate.status):
                duplicate.closed, duplicate.closer = now, merger
            duplicate.status = special
            duplicate.modified = now

    def make_private(self, task_id: int, owner: str = "alice") -> None:
        """Let only *owner* see and edit the task (its view and edit policies), as Phorge does it:
        to every other token, the admin's included, the task does not exist."""
        with self._lock:
            self.tasks[task_id].viewer = self._user(owner).phid

    def edit(
        self,
        task_id: int | None,
        transactions: Sequence[Mapping[str, Any]],
        *,
        actor: str = "admin",
        at: datetime | int | None = None,
    ) -> tuple[FakeTask, list[dict[str, Any]]]:
        """Apply ``maniphest.edit`` transactions as *actor* at *at*; returns the task and new records."""
        with self._lock:
            task = None if task_id is None else self.tasks[task_id]
            when = _epoch(at)
            return self._edit(
                task,
                [dict(t) for t in transactions],
                self._user(actor).phid,
                self.now() if when is None else when,
            )

    # --- HTTP -----------------------------------------------------------------------------------

    def respond(self, request: Request) -> Response:
        if not _API_PATH.fullmatch(request.path):
            with self._lock:
                self.calls += 1
            return _wrong_path(request)
        method = request.path[len("/api/") :]
        with self._lock:
            self.calls += 1
            generation = self._generation
            fault = next((f for f in self._faults if f[2] in (None, method)), None)
            if fault is not None:
                self._faults.remove(fault)
        if fault is not None:
            kind, seconds, _ = fault
            if kind == "slow":
                time.sleep(seconds)
                if generation != self._generation:
                    # The client gave up and the fake was reset for the next test meanwhile: this late
                    # request must not land in the next test's state or request log.
                    return Response("reset while the request slept\n", status=503, content_type="text/plain")
            elif kind == "html500":
                return Response(_HTML_500, status=500, content_type="text/html; charset=UTF-8")
            elif kind == "429":
                return Response("TOO MANY REQUESTS\n", status=429, content_type="text/plain; charset=UTF-8")
            elif kind == "html200":
                return Response(_HTML_LOGIN, status=200, content_type="text/html; charset=UTF-8")
            else:
                return Response('for(;;);{"result":', status=200, content_type="application/json")
        with self._lock:
            try:
                envelope = {"result": self._dispatch(method, request), "error_code": None, "error_info": None}
            except _Throwable as exc:
                if "__conduit__" not in request.values:
                    return Response(_HTML_500, status=500, content_type="text/html; charset=UTF-8")
                envelope = {"result": None, "error_code": exc.code, "error_info": exc.info}
            except _Failure as exc:
                envelope = {"result": None, "error_code": exc.code, "error_info": exc.info}
        return self._json(envelope)

    def _json(self, envelope: Mapping[str, Any]) -> Response:
        body = json.dumps(envelope, separators=(",", ":"), ensure_ascii=True)
        if self.php_escaping:
            body = body.replace("/", "\\/")
        return Response(
            body,
            status=200,
            content_type="application/json",
            headers={
                "Cache-Control": "no-store",
                "X-Conduit-Capabilities": "gzip",
                "Expires": "Sat, 01 Jan 2000 00:00:00 GMT",
            },
        )

    def _dispatch(self, method: str, request: Request) -> Any:
        content_type = request.headers.get("Content-Type", "")
        if content_type == "application/json":
            raise _Failure(
                "ERR-CONDUIT-CORE",
                "Use form-encoded data to submit parameters to Conduit endpoints. Sending a JSON-encoded body "
                "and setting 'Content-Type': 'application/json' is not currently supported.",
            )
        if method not in _PARAMS:
            raise _Failure("ERR-CONDUIT-CALL", f'Conduit API method "{method}" does not exist.')
        if content_type.startswith("application/json"):
            raise _Failure(
                "ERR-CONDUIT-CALL",
                f"API Method \"{method}\" does not define these parameters: '{request.get_data(as_text=True)}'.",
            )
        fields = request.values
        raw = fields.get("params")
        if raw is not None:
            try:
                params = json.loads(raw)
            except ValueError:
                params = None
            if not isinstance(params, dict):
                raise _Failure(
                    "ERR-CONDUIT-CORE", f"Invalid parameter information was passed to method '{method}'."
                )
            meta = params.pop("__conduit__", None)
            token = meta.get("token") if isinstance(meta, dict) else None
        else:
            params = {}
            token = fields.get("api.token")
        viewer = self._authenticate(token)
        undeclared = [key for key in params if key not in _PARAMS[method]]
        if undeclared:
            listed = "', '".join(undeclared)
            raise _Failure(
                "ERR-CONDUIT-CALL", f"API Method \"{method}\" does not define these parameters: '{listed}'."
            )
        self.requests.append((method, json.loads(json.dumps(params))))
        handler = getattr(self, "_m_" + method.replace(".", "_"))
        return handler(params, viewer)

    def _authenticate(self, token: Any) -> FakeUser:
        if token is None or token == "":
            raise _Failure("ERR-INVALID-SESSION", "Session key is not present.")
        token = str(token)
        if len(token) != 32:
            raise _Failure(
                "ERR-INVALID-AUTH",
                f'API token "{token}" has the wrong length. API tokens should be 32 characters long.',
            )
        phid = self.tokens.get(token)
        if phid is None:
            raise _Failure("ERR-INVALID-AUTH", f'API token "{token}" is not valid.')
        return self.users[phid]

    # --- methods --------------------------------------------------------------------------------

    def _m_conduit_ping(self, params: dict[str, Any], viewer: FakeUser) -> Any:
        return "fake-phorge"

    def _m_user_whoami(self, params: dict[str, Any], viewer: FakeUser) -> Any:
        return {
            "phid": viewer.phid,
            "userName": viewer.username,
            "realName": viewer.real_name,
            "image": f"{self.url}/res/avatar.png",
            "uri": f"{self.url}/p/{viewer.username}/",
            "roles": list(viewer.roles),
            "primaryEmail": f"{viewer.username}@example.test",
        }

    def _m_maniphest_status_search(self, params: dict[str, Any], viewer: FakeUser) -> Any:
        return {"data": [dict(s) for s in self.statuses]}

    def _m_maniphest_priority_search(self, params: dict[str, Any], viewer: FakeUser) -> Any:
        return {"data": [dict(p) for p in self.priorities]}

    def _m_maniphest_search(self, params: dict[str, Any], viewer: FakeUser) -> Any:
        limit = _page_limit(params)
        constraints = _map_param(params, "constraints", "ERR-INVALID-CONSTRAINTS-FORMAT")
        attachments = _map_param(params, "attachments", "ERR-INVALID-ATTACHMENTS-FORMAT")
        if any(key not in _TASK_CONSTRAINTS for key in constraints):
            raise _Failure("ERR-INVALID-CONSTRAINT", 'Parameter "constraints" includes an invalid key.')
        if any(key not in _TASK_ATTACHMENTS for key in attachments):
            raise _Failure("ERR-INVALID-ATTACHMENT", 'Parameter "attachments" includes an invalid key.')
        call = next((v for v in _str_list("projects", constraints.get("projects", [])) if "(" in v), None)
        if call is not None:  # the projects datasource reads "name (...)" as a function
            raise _Failure(
                "ERR-CONDUIT-CORE",
                'This datasource ("PhabricatorProjectLogicalDatasource") can not evaluate the function '
                f'"{call.split("(")[0].strip()}(...)".',
            )
        query_key = params.get("queryKey")
        visible = [t for t in self.tasks.values() if _sees(viewer, t)]
        tasks = self._builtin_query(visible, query_key, viewer)
        for key, value in constraints.items():
            tasks = [t for t in tasks if self._task_matches(t, key, value)]
        order = params.get("order")
        sort_key = _task_order(order)
        tasks.sort(key=sort_key)
        page, cursor = _paginate(tasks, sort_key, lambda cid: self._cursor_task(cid), params, limit)
        selected = [key for key in _TASK_ATTACHMENTS if key in attachments]
        return {
            "data": [self._task_item(t, selected, viewer) for t in page],
            "maps": {},
            "query": {"queryKey": query_key},
            "cursor": {**cursor, "order": order},
        }

    def _m_transaction_search(self, params: dict[str, Any], viewer: FakeUser) -> Any:
        identifier, object_type = params.get("objectIdentifier"), params.get("objectType")
        if identifier is None and object_type is None:
            raise _Failure(
                "ERR-INVALID-PARAMETER",
                'Must specify either parameter "objectType" or parameter "objectIdentifier".',
            )
        if identifier is not None and object_type is not None:
            raise _Failure(
                "ERR-INVALID-PARAMETERS",
                'Must not specify both parameter "objectType" and parameter "objectIdentifier".',
            )
        if identifier is not None:
            task = self._task_by_identifier(identifier)
            if task is not None and _sees(viewer, task):
                records = list(self._txn_by_object.get(task.phid, []))
            elif identifier in self.projects or identifier in self.users:
                records = []
            else:
                raise _Failure("ERR-INVALID-OBJECT-PHID", 'Specified "objectIdentifier" does not exist.')
        elif object_type == "TASK":
            hidden = {t.phid for t in self.tasks.values() if not _sees(viewer, t)}
            records = [r for r in self.transactions if r["objectPHID"] not in hidden]
        elif object_type in ("PROJ", "USER"):
            records = []
        else:
            raise _Failure(
                "ERR-INVALID-PARAMETER", f'Specified "objectType" ("{object_type}") is not supported.'
            )
        constraints = _map_param(params, "constraints", "ERR-INVALID-CONSTRAINTS-FORMAT")
        for key, value in constraints.items():
            if key not in ("phids", "authorPHIDs"):
                raise _Failure(
                    "ERR-INVALID-CONSTRAINTS-FORMAT",
                    f'Constraint "{key}" is not a valid constraint for "transaction.search".',
                )
            if not isinstance(value, list) or not value:
                raise _Failure(
                    "ERR-INVALID-CONSTRAINTS-FORMAT",
                    f'Constraint "{key}" to "transaction.search" requires nonempty list.',
                )
            attribute = "phid" if key == "phids" else "authorPHID"
            records = [r for r in records if r[attribute] in value]
        raw_limit = params.get("limit", 100)
        try:
            limit = min(1000, max(1, int(raw_limit)))
        except (TypeError, ValueError):
            limit = 100
        records.sort(key=lambda r: -r["id"])
        page, cursor = _paginate(
            records, lambda r: -r["id"], self._cursor_txn, params, limit, echo_limit=raw_limit
        )
        return {"data": [json.loads(json.dumps(r)) for r in page], "cursor": cursor}

    def _m_user_search(self, params: dict[str, Any], viewer: FakeUser) -> Any:
        limit = _page_limit(params)
        constraints = _map_param(params, "constraints", "ERR-INVALID-CONSTRAINTS-FORMAT")
        attachments = _map_param(params, "attachments", "ERR-INVALID-ATTACHMENTS-FORMAT")
        known = {
            "ids",
            "phids",
            "usernames",
            "nameLike",
            "isAdmin",
            "isDisabled",
            "isBot",
            "isMailingList",
            "needsApproval",
            "mfa",
            "createdStart",
            "createdEnd",
            "query",
        }
        if any(key not in known for key in constraints):
            raise _Failure("ERR-INVALID-CONSTRAINT", 'Parameter "constraints" includes an invalid key.')
        if any(key != "availability" for key in attachments):
            raise _Failure("ERR-INVALID-ATTACHMENT", 'Parameter "attachments" includes an invalid key.')
        users = list(self.users.values())
        for key, value in constraints.items():
            if key == "ids":
                users = [u for u in users if u.id in _int_list(key, value)]
            elif key == "phids":
                users = [u for u in users if u.phid in _str_list(key, value)]
            elif key == "usernames":
                names = {n.lower() for n in _str_list(key, value)}
                users = [u for u in users if u.username.lower() in names]
            elif key == "nameLike":
                users = [u for u in users if str(value).lower() in u.username.lower()]
            elif key == "isAdmin":
                users = [u for u in users if ("admin" in u.roles) == bool(value)]
        users.sort(key=lambda u: -u.id)
        page, cursor = _paginate(
            users, lambda u: -u.id, lambda cid: self._cursor_by_id(cid, users, "User"), params, limit
        )
        data = []
        for user in page:
            item_attachments: dict[str, Any] = {}
            if "availability" in attachments:
                item_attachments["availability"] = {
                    "value": "available",
                    "until": None,
                    "name": "Available",
                    "color": "green",
                    "eventPHID": None,
                }
            data.append(
                {
                    "id": user.id,
                    "type": "USER",
                    "phid": user.phid,
                    "fields": {
                        "username": user.username,
                        "realName": user.real_name,
                        "roles": list(user.roles),
                        "dateCreated": user.created,
                        "dateModified": user.modified,
                        "policy": {"view": "public", "edit": "no-one"},
                    },
                    "attachments": item_attachments,
                }
            )
        return {
            "data": data,
            "maps": {},
            "query": {"queryKey": params.get("queryKey")},
            "cursor": {**cursor, "order": params.get("order")},
        }

    def _m_project_search(self, params: dict[str, Any], viewer: FakeUser) -> Any:
        limit = _page_limit(params)
        constraints = _map_param(params, "constraints", "ERR-INVALID-CONSTRAINTS-FORMAT")
        attachments = _map_param(params, "attachments", "ERR-INVALID-ATTACHMENTS-FORMAT")
        known = {
            "ids",
            "phids",
            "name",
            "slugs",
            "members",
            "watchers",
            "status",
            "isMilestone",
            "isRoot",
            "minDepth",
            "maxDepth",
            "subtypes",
            "icons",
            "colors",
            "parents",
            "ancestors",
            "query",
        }
        if any(key not in known for key in constraints):
            raise _Failure("ERR-INVALID-CONSTRAINT", 'Parameter "constraints" includes an invalid key.')
        if any(key not in ("members", "watchers", "ancestors") for key in attachments):
            raise _Failure("ERR-INVALID-ATTACHMENT", 'Parameter "attachments" includes an invalid key.')
        projects = list(self.projects.values())
        slug_map: dict[str, Any] = {}
        for key, value in constraints.items():
            if key == "ids":
                projects = [p for p in projects if p.id in _int_list(key, value)]
            elif key == "phids":
                projects = [p for p in projects if p.phid in _str_list(key, value)]
            elif key == "slugs":
                # each as sent and as normalised; slugMap is keyed by what was sent
                # as Phorge does: each as sent and as normalised; slugMap keyed by what was sent,
                # first those that are a project's primary hashtag, then the others
                sent = {text: normalize_project_slug(text) for text in _str_list(key, value)}
                wanted = set(sent) | set(sent.values())
                projects = [p for p in projects if wanted & set(p.slugs)]
                primary = {p.slugs[0]: p for p in projects}
                extra = {slug: p for p in projects for slug in p.slugs[1:]}
                for hashtags in (primary, extra):
                    for text, normal in sent.items():
                        match = text if text in hashtags else normal if normal in hashtags else None
                        if match is not None and text not in slug_map and normal != "_":
                            slug_map[text] = {"slug": match, "projectPHID": hashtags[match].phid}
            elif key == "name":
                tokens = _longest(_tokens(str(value)), 5)
                projects = [p for p in projects if all(_prefixes(t, self._name_tokens(p)) for t in tokens)]
            elif key == "members":
                members = {self._user_phid(m) for m in _str_list(key, value)}
                projects = [p for p in projects if members <= set(p.members)]
        projects.sort(key=lambda p: -p.id)
        page, cursor = _paginate(
            projects, lambda p: -p.id, lambda cid: self._cursor_by_id(cid, projects, "Project"), params, limit
        )
        data = []
        for project in page:
            item_attachments: dict[str, Any] = {}
            if "members" in attachments:
                item_attachments["members"] = {"members": [{"phid": m} for m in sorted(project.members)]}
            if "watchers" in attachments:
                item_attachments["watchers"] = {"watchers": []}
            if "ancestors" in attachments:
                item_attachments["ancestors"] = {"ancestors": []}
            data.append(
                {
                    "id": project.id,
                    "type": "PROJ",
                    "phid": project.phid,
                    "fields": {
                        "name": project.name,
                        "slug": project.slugs[0],
                        "subtype": "default",
                        "milestone": None,
                        "depth": 0,
                        "parent": None,
                        "icon": dict(project.icon),
                        "color": dict(project.color),
                        "status": "active",
                        "spacePHID": None,
                        "dateCreated": project.created,
                        "dateModified": project.modified,
                        "policy": {"view": "users", "edit": "users", "join": "users"},
                        "description": project.description,
                    },
                    "attachments": item_attachments,
                }
            )
        return {
            "data": data,
            "maps": {"slugMap": slug_map},
            "query": {"queryKey": params.get("queryKey")},
            "cursor": {**cursor, "order": params.get("order")},
        }

    def _m_phid_lookup(self, params: dict[str, Any], viewer: FakeUser) -> Any:
        names = params.get("names")
        if isinstance(names, str):
            raise _Throwable(
                "TypeError",
                "PhabricatorObjectQuery::withNames(): Argument #1 ($names) must be of type array, string given, "
                "called in \\/srv/phorge/src/applications/phid/conduit/PHIDLookupConduitAPIMethod.php on line 42",
            )
        if not names:
            raise _Failure("ERR-INVALID-PARAMETER", "Must pass names.")
        found = {}
        for name in names:
            handle = self._handle_for_name(str(name), viewer)
            if handle is not None:
                found[name] = handle
        return found or []

    def _m_phid_query(self, params: dict[str, Any], viewer: FakeUser) -> Any:
        found = {}
        for phid in params.get("phids") or []:
            handle = self._handle_for_name(str(phid), viewer)
            if handle is not None:
                found[phid] = handle
        return found or []

    def _m_maniphest_edit(self, params: dict[str, Any], viewer: FakeUser) -> Any:
        transactions = params.get("transactions")
        if not isinstance(transactions, list):
            raise _Failure("ERR-CONDUIT-CORE", 'Parameter "transactions" is not a list of transactions.')
        identifier = params.get("objectIdentifier")
        task = None
        if identifier is not None:
            task = self._task_by_identifier(identifier)
            if task is None or not _sees(viewer, task):
                kind = "Monogram" if re.match(r"^T\d+$", str(identifier)) else "Identifier"
                raise _Failure("ERR-CONDUIT-CORE", f'{kind} "{identifier}" does not identify a valid object.')
        task, records = self._edit(task, transactions, viewer.phid, self.now())
        return {
            "object": {"id": task.id, "phid": task.phid},
            "transactions": [{"phid": r["phid"]} for r in records],
        }

    # --- editing --------------------------------------------------------------------------------

    def _edit(
        self, task: FakeTask | None, transactions: list[Any], actor: str, now: int
    ) -> tuple[FakeTask, list[dict[str, Any]]]:
        for index, txn in enumerate(transactions):
            prefix = f'Parameter "transactions" must contain a list of transaction descriptions, but item with key "{index}"'
            if not isinstance(txn, dict):
                raise _Failure("ERR-CONDUIT-CORE", f"{prefix} is not a dictionary.")
            for required in ("type", "value"):
                if required not in txn:
                    raise _Failure(
                        "ERR-CONDUIT-CORE",
                        f'{prefix} is missing a "{required}" field. Each transaction must have a {required} field.',
                    )
            if txn["type"] not in _EDIT_TYPES:
                raise _Failure(
                    "ERR-CONDUIT-CORE",
                    f'Transaction with key "{index}" has invalid type "{txn["type"]}". This type is not recognized. '
                    f"Valid types are: {', '.join(_EDIT_TYPES)}.",
                )
        errors = self._validate(task, transactions)
        if errors:
            raise _Failure("ERR-CONDUIT-CORE", "Validation errors:\n" + "\n".join(f"  - {e}" for e in errors))
        group = self._token_chars(32)
        records: list[dict[str, Any]] = []
        creating = task is None
        if task is None:
            task = FakeTask(
                id=max(self.tasks, default=0) + 1,
                phid=self.task_phids.pop(0) if self.task_phids else self._phid("TASK", 20),
                title="",
                author=actor,
                created=now,
                modified=now,
            )
            self.tasks[task.id] = task
        target = task

        def emit(kind: str | None, fields: Any = None, comment: str | None = None) -> None:
            records.append(
                self._new_txn(target, kind, {} if fields is None else fields, actor, now, group, comment)
            )

        subscribers_add: list[str] = [actor] if creating else []
        subscribers_remove: list[str] = []
        comments: list[str] = []
        if creating:
            emit("create")
        for txn in transactions:
            kind, value = txn["type"], txn["value"]
            if kind == "title" and value != task.title:
                emit("title", {"old": task.title, "new": value})
                task.title = value
            elif kind == "description" and value != task.description:
                emit("description", {"old": task.description, "new": value})
                task.description = value
            elif kind == "priority":
                new = self._priority_value(value)
                if new != task.priority:
                    emit(
                        "priority", {"old": self._priority_ref(task.priority), "new": self._priority_ref(new)}
                    )
                    task.priority = new
            elif kind == "owner":
                new_owner = None if value is None else str(value)
                if new_owner != task.owner:
                    if task.owner is not None:
                        subscribers_add.append(task.owner)
                    emit("owner", {"old": task.owner, "new": new_owner})
                    task.owner = new_owner
            elif kind == "status" and value != task.status:
                was_open = self._is_open(task.status)
                if not creating:
                    emit("status", {"old": task.status, "new": value})
                task.status = value
                if was_open and not self._is_open(value):
                    task.closed, task.closer = now, actor
                    if task.owner is None:
                        emit("owner", {"old": None, "new": actor})
                        task.owner = actor
                elif not was_open and self._is_open(value):
                    task.closed = task.closer = None
            elif kind in ("projects.add", "projects.remove", "projects.set"):
                self._edit_projects(task, kind, [self._project_phid(p) for p in value], emit)
            elif kind == "subscribers.add":
                subscribers_add.extend(self._user_phid(u) for u in value)
            elif kind == "subscribers.remove":
                subscribers_remove.extend(self._user_phid(u) for u in value)
            elif kind == "parent" or kind == "parents.add":
                for phid in [value] if kind == "parent" else value:
                    parent = self._task_by_identifier(phid)
                    if parent is not None and parent.id not in task.parents:
                        task.parents.append(parent.id)
                        emit(None)
            elif kind == "column":
                self._move_column(task, value if isinstance(value, list) else [value], emit)
            elif kind == "comment":
                comments.append(str(value))
        if comments and actor not in task.subscribers:
            subscribers_add.append(actor)
        added = [p for p in dict.fromkeys(subscribers_add) if p not in task.subscribers]
        removed = [p for p in dict.fromkeys(subscribers_remove) if p in task.subscribers and p not in added]
        if added or removed:
            emit(
                "subscribers",
                {
                    "operations": [{"operation": "add", "phid": p} for p in added]
                    + [{"operation": "remove", "phid": p} for p in removed]
                },
            )
            task.subscribers = sorted((set(task.subscribers) | set(added)) - set(removed))
        for text in comments:
            emit("comment", comment=text)
        if records:
            task.modified = now
        return task, records

    def _validate(self, task: FakeTask | None, transactions: list[dict[str, Any]]) -> list[str]:
        errors = []
        if task is None and not any(t["type"] == "title" and str(t["value"]).strip() for t in transactions):
            errors.append("Tasks must have a title.")
        for txn in transactions:
            kind, value = txn["type"], txn["value"]
            if kind == "priority" and self._priority_value(value) is None:
                keywords = ", ".join(p["keywords"][0] for p in self.priorities)
                errors.append(
                    f'Task priority "{value}" is not a valid task priority. Use a priority keyword to choose a task priority: {keywords}.'
                )
            elif kind == "owner" and value is not None and value not in self.users:  # a PHID, never a name
                errors.append(f'User "{value}" is not a valid user.')
            elif kind in ("subscribers.add", "subscribers.remove", "subscribers.set"):
                errors.extend(f'User "{u}" is not a valid user.' for u in value if self._user_phid(u) is None)
            elif kind.startswith("projects.") and isinstance(value, list):
                unknown = next((p for p in value if self._project_phid(p) is None), None)
                if unknown is not None:  # Phorge fails before validating, on the first one
                    raise _Failure(
                        "ERR-CONDUIT-CORE",
                        "Edge transactions must have destination PHIDs as in edge lists "
                        f'(found key "{unknown}" on transaction of type "41").',
                    )
            elif kind in ("parent", "parents.add"):
                missing = [
                    p for p in ([value] if kind == "parent" else value) if self._task_by_identifier(p) is None
                ]
                errors.extend(f'Task "{p}" is not a valid task.' for p in missing)
            elif kind == "status" and not (isinstance(value, str) and value):
                errors.append("Status is required.")
        return errors

    def _edit_projects(
        self, task: FakeTask, kind: str, phids: list[str | None], emit: Callable[..., None]
    ) -> None:
        wanted = [p for p in phids if p is not None]
        if kind == "projects.add":
            added, removed = [p for p in wanted if p not in task.projects], []
        elif kind == "projects.remove":
            added, removed = [], [p for p in wanted if p in task.projects]
        else:
            added = [p for p in wanted if p not in task.projects]
            removed = [p for p in task.projects if p not in wanted]
        if not added and not removed:
            return
        emit(
            "projects",
            {
                "operations": [{"operation": "add", "phid": p} for p in added]
                + [{"operation": "remove", "phid": p} for p in removed]
            },
        )
        task.projects = sorted(
            (set(task.projects) | set(added)) - set(removed), key=lambda p: -self.projects[p].id
        )
        for phid in added:
            project = self.projects[phid]
            if project.columns and phid not in task.boards:
                task.boards[phid] = [dict(project.columns[0])]
        for phid in removed:
            task.boards.pop(phid, None)

    def _move_column(self, task: FakeTask, columns: list[Any], emit: Callable[..., None]) -> None:
        moves = []
        for column_phid in columns:
            column_phid = column_phid.get("columnPHID") if isinstance(column_phid, dict) else column_phid
            board = next(
                (p for p in self.projects.values() if any(c["phid"] == column_phid for c in p.columns)), None
            )
            if board is None:
                continue
            column = next(c for c in board.columns if c["phid"] == column_phid)
            previous = task.boards.get(board.phid, [])
            moves.append(
                {
                    "columnPHID": column_phid,
                    "beforePHIDs": [],
                    "afterPHIDs": [],
                    "boardPHID": board.phid,
                    "fromColumnPHIDs": {c["phid"]: c["phid"] for c in previous},
                }
            )
            task.boards[board.phid] = [dict(column)]
            if board.phid not in task.projects:
                task.projects = sorted([*task.projects, board.phid], key=lambda p: -self.projects[p].id)
        if moves:
            emit("core:columns", {"old": None, "new": moves})

    def _new_txn(
        self,
        task: FakeTask,
        kind: str | None,
        fields: Any,
        actor: str,
        now: int,
        group: str,
        comment: str | None,
    ) -> dict[str, Any]:
        comments = []
        if comment is not None:
            comments.append(
                {
                    "id": self._next_comment,
                    "phid": self._phid("XCMT", 20),
                    "version": 1,
                    "authorPHID": actor,
                    "dateCreated": now,
                    "dateModified": now,
                    "removed": False,
                    "content": {"raw": comment},
                }
            )
            self._next_comment += 1
        record = {
            "id": self._next_txn,
            "phid": self.txn_phids.pop(0) if self.txn_phids else "PHID-XACT-TASK-" + self._token_chars(15),
            "type": kind,
            "authorPHID": actor,
            "objectPHID": task.phid,
            "dateCreated": now,
            "dateModified": now,
            "groupID": group,
            "comments": comments,
            "fields": fields,
        }
        self._next_txn += 1
        self._store_txn(record)
        return record

    def _store_txn(self, record: dict[str, Any]) -> None:
        self.transactions.append(record)
        self._txn_by_object.setdefault(record["objectPHID"], []).append(record)

    # --- lookups and rendering ------------------------------------------------------------------

    def _put_user(self, user: FakeUser) -> None:
        self.users[user.phid] = user
        self.tokens["api-" + (user.username + "0" * 28)[:28].lower()] = user.phid

    def _user(self, name_or_phid: str) -> FakeUser:
        phid = self._user_phid(name_or_phid)
        if phid is None:
            raise KeyError(f"no fake user {name_or_phid!r}")
        return self.users[phid]

    def _user_phid(self, value: Any) -> str | None:
        if value in self.users:
            return str(value)
        return next((u.phid for u in self.users.values() if u.username == value), None)

    def _project_phid(self, value: Any) -> str | None:
        """A project PHID, or a hashtag as entered or as Phorge normalises it (``#`` not allowed)."""
        if value in self.projects:
            return str(value)
        text = str(value)
        wanted = {text, normalize_project_slug(text)} if not text.startswith("#") else set()
        return next((p.phid for p in self.projects.values() if wanted & set(p.slugs)), None)

    def _name_tokens(self, project: FakeProject) -> list[str]:
        """The tokens Phorge indexes a project's name search by (its hashtags and name)."""
        return _tokens(" ".join([*project.slugs, project.name]))

    def _task_by_identifier(self, identifier: Any) -> FakeTask | None:
        if isinstance(identifier, int) and not isinstance(identifier, bool):
            return self.tasks.get(identifier)
        text = str(identifier)
        match = re.match(r"^T(\d+)$", text)
        if match:
            return self.tasks.get(int(match.group(1)))
        if text.isdigit():
            return self.tasks.get(int(text))
        return next((t for t in self.tasks.values() if t.phid == text), None)

    def _is_open(self, status: str) -> bool:
        return any(s["value"] == status and not s["closed"] for s in self.statuses)

    def _priority_value(self, value: Any) -> int | None:
        for priority in self.priorities:
            if value in priority["keywords"]:
                return int(priority["value"])
        return None

    def _priority_keyword(self, priority: str | int) -> str:
        if isinstance(priority, int):
            return next(p["keywords"][0] for p in self.priorities if p["value"] == priority)
        return priority

    def _priority_ref(self, value: int) -> dict[str, Any]:
        entry = next((p for p in self.priorities if p["value"] == value), None)
        return {"value": value, "name": entry["name"] if entry else f'Unknown Priority ("{value}")'}

    def _builtin_query(self, tasks: list[FakeTask], query_key: Any, viewer: FakeUser) -> list[FakeTask]:
        if query_key is None or query_key == "all":
            return tasks
        if query_key == "open":
            return [t for t in tasks if self._is_open(t.status)]
        if query_key == "assigned":
            return [t for t in tasks if t.owner == viewer.phid and self._is_open(t.status)]
        if query_key == "authored":
            return [t for t in tasks if t.author == viewer.phid]
        if query_key == "subscribed":
            return [t for t in tasks if viewer.phid in t.subscribers]
        raise _Failure("ERR-BAD-QUERYKEY", 'Invalid query for parameter "queryKey".')

    def _task_matches(self, task: FakeTask, key: str, value: Any) -> bool:
        if key in ("ids", "phids"):
            # parsed once per request (like the server's SQL IN), not once per task
            if self._id_filter is None or self._id_filter[0] is not value:
                parsed = _int_list(key, value) if key == "ids" else _str_list(key, value)
                self._id_filter = (value, frozenset(parsed))
            return (task.id if key == "ids" else task.phid) in self._id_filter[1]
        if key == "statuses":
            wanted = _str_list(key, value)
            configured = {s["value"]: s["closed"] for s in self.statuses}
            # open()/closed() expand to the configured statuses: an unconfigured one matches neither
            return (
                task.status in wanted
                or ("open()" in wanted and configured.get(task.status) is False)
                or ("closed()" in wanted and configured.get(task.status) is True)
            )
        if key == "priorities":
            return task.priority in _int_list(key, value)
        if key == "projects":
            wanted = [self._project_phid(p) for p in _str_list(key, value)]
            return all(p is not None and p in task.projects for p in wanted)
        if key in ("assigned", "authorPHIDs", "closerPHIDs", "subscribers"):
            people = {self._user_phid(u) for u in _str_list(key, value)}
            attribute = {
                "assigned": [task.owner],
                "authorPHIDs": [task.author],
                "closerPHIDs": [task.closer],
                "subscribers": task.subscribers,
            }[key]
            return bool(people & set(attribute))
        if key in ("createdStart", "createdEnd", "modifiedStart", "modifiedEnd", "closedStart", "closedEnd"):
            bound = _epoch_value(key, value)
            attribute_value = {"created": task.created, "modified": task.modified, "closed": task.closed}[
                key[:-5] if key.endswith("Start") else key[:-3]
            ]
            if attribute_value is None:
                return False
            return attribute_value >= bound if key.endswith("Start") else attribute_value <= bound
        if key == "parentIDs":
            return bool(set(task.parents) & set(_int_list(key, value)))
        if key == "subtaskIDs":
            ids = set(_int_list(key, value))
            return any(task.id in self.tasks[i].parents for i in ids if i in self.tasks)
        if key == "hasParents":
            return any(self._is_open(self.tasks[p].status) for p in task.parents if p in self.tasks) == bool(
                value
            )
        if key == "hasSubtasks":
            return any(task.id in t.parents and self._is_open(t.status) for t in self.tasks.values()) == bool(
                value
            )
        if key == "columnPHIDs":
            wanted = set(_str_list(key, value))
            return any(c["phid"] in wanted for cols in task.boards.values() for c in cols)
        if key == "query":
            return str(value).lower() in (task.title + " " + task.description).lower()
        if key == "subtypes":
            return "default" in _str_list(key, value)
        return True

    def _cursor_task(self, cursor: Any) -> FakeTask:
        if not re.match(r"^\d+$", str(cursor)):
            raise _Failure("ERR-CONDUIT-CORE", "Task IDs must be integer numbers.")
        task = self.tasks.get(int(cursor))
        if task is None:
            raise _Failure(
                "ERR-CONDUIT-CORE",
                f'Cursor "{cursor}" does not identify a valid object in query "ManiphestTaskQuery".',
            )
        return task

    def _cursor_txn(self, cursor: Any) -> dict[str, Any]:
        record = next((r for r in self.transactions if str(r["id"]) == str(cursor)), None)
        if record is None:
            raise _Failure(
                "ERR-CONDUIT-CORE",
                f'Cursor "{cursor}" does not identify a valid object in query "PhabricatorApplicationTransactionQuery".',
            )
        return record

    @staticmethod
    def _cursor_by_id(cursor: Any, items: list[Any], kind: str) -> Any:
        found = next((i for i in items if str(i.id) == str(cursor)), None)
        if found is None:
            raise _Failure("ERR-CONDUIT-CORE", f'Cursor "{cursor}" does not identify a valid {kind}.')
        return found

    def _task_item(self, task: FakeTask, attachments: list[str], viewer: FakeUser) -> dict[str, Any]:
        status = next((s for s in self.statuses if s["value"] == task.status), None)
        priority = next((p for p in self.priorities if p["value"] == task.priority), None)
        item_attachments: dict[str, Any] = {}
        if "projects" in attachments:
            item_attachments["projects"] = {"projectPHIDs": list(task.projects)}
        if "subscribers" in attachments:
            item_attachments["subscribers"] = {
                "subscriberPHIDs": list(task.subscribers)[:10],
                "subscriberCount": len(task.subscribers),
                "viewerIsSubscribed": viewer.phid in task.subscribers or viewer.phid == task.owner,
            }
        if "columns" in attachments:
            boards = {board: {"columns": [dict(c) for c in cols]} for board, cols in task.boards.items()}
            item_attachments["columns"] = {"boards": boards or []}
        return {
            "id": task.id,
            "type": "TASK",
            "phid": task.phid,
            "fields": {
                "name": task.title,
                "description": {"raw": task.description},
                "authorPHID": task.author,
                "ownerPHID": task.owner,
                "status": {
                    "value": task.status,
                    "name": status["name"] if status else "Unknown Status",
                    "color": None,
                },
                "priority": {
                    "value": task.priority,
                    "name": priority["name"] if priority else self._priority_ref(task.priority)["name"],
                    "color": priority["color"] if priority else "black",
                },
                "points": None,
                "subtype": "default",
                "closerPHID": task.closer,
                "dateClosed": task.closed,
                "groupByProjectPHID": None,
                "spacePHID": None,
                "dateCreated": task.created,
                "dateModified": task.modified,
                "policy": {"view": "users", "interact": "users", "edit": "users"},
            },
            "attachments": item_attachments,
        }

    def _handle_for_name(self, name: str, viewer: FakeUser) -> dict[str, Any] | None:
        task = self._task_by_identifier(name) if re.match(r"^(T\d+|PHID-TASK-.+)$", name) else None
        if task is not None and not _sees(viewer, task):
            return None
        if task is not None:
            return {
                "phid": task.phid,
                "uri": f"{self.url}/{task.monogram}",
                "typeName": "Maniphest Task",
                "type": "TASK",
                "name": task.monogram,
                "fullName": f"{task.monogram}: {task.title}",
                "status": "open" if self._is_open(task.status) else "closed",
            }
        phid = (
            self._project_phid(name[1:])
            if name.startswith("#")
            else (name if name in self.projects else None)
        )
        if phid is not None:
            project = self.projects[phid]
            return {
                "phid": phid,
                "uri": f"{self.url}/tag/{project.slugs[0]}/",
                "typeName": "Project",
                "type": "PROJ",
                "name": project.name,
                "fullName": project.name,
                "status": "open",
            }
        phid = self._user_phid(name[1:]) if name.startswith("@") else (name if name in self.users else None)
        if phid is not None:
            user = self.users[phid]
            return {
                "phid": phid,
                "uri": f"{self.url}/p/{user.username}/",
                "typeName": "User",
                "type": "USER",
                "name": user.username,
                "fullName": f"{user.username} ({user.real_name})",
                "status": "open",
            }
        return None

    def _phid(self, kind: str, length: int) -> str:
        return f"PHID-{kind}-{self._token_chars(length)}"

    def _token_chars(self, length: int) -> str:
        return "".join(self._random.choice(string.ascii_lowercase + string.digits) for _ in range(length))


# --- Phorge's own rules ------------------------------------------------------------------------------


def normalize_project_slug(text: str) -> str:
    """``PhabricatorSlug::normalizeProjectSlug``: what Phorge makes of a project name or hashtag.

    Lowercase; each run of spaces, control characters and ``#%&+=?\\<>{}[]'"`~!@$^*,:;(|)`` one
    ``_``; ``_`` trimmed at both ends; ``-`` and ``.`` kept ("SRE-OnFIRE (Pending Review &
    Scorecard)" -> ``sre-onfire_pending_review_scorecard``).
    """
    slug = re.sub(r"/+", "/", text.replace("/", " ")).strip("/").lower()
    slug = re.sub(r"[\x00-\x19#%&+=? \\<>{}\[\]'\"`~!@$^*,:;(|)]+", "_", slug)
    slug = re.sub(r"_+", "_", slug)
    slug = slug if slug == "_" else slug.strip("_")
    return {".": "dot", "..": "dotdot"}.get(slug, slug)


def _tokens(text: str) -> list[str]:
    """``PhabricatorTypeaheadDatasource::tokenizeString``."""
    return [t for t in dict.fromkeys(re.split(r"[\s\[\]()-]+", text.lower().strip())) if t]


def _longest(tokens: list[str], count: int) -> list[str]:
    """Phorge searches project names by the *count* longest tokens only."""
    return sorted(tokens, key=len, reverse=True)[:count]


def _prefixes(token: str, tokens: list[str]) -> bool:
    return any(t.startswith(token) for t in tokens)


def _sees(viewer: FakeUser, task: FakeTask) -> bool:
    return task.viewer is None or task.viewer == viewer.phid


# --- parameter helpers (PHP type checks with the real messages) --------------------------------------


def _page_limit(params: Mapping[str, Any]) -> int:
    raw = params.get("limit", 100)
    try:
        limit = int(raw)
    except (TypeError, ValueError):
        limit = None
    if limit is None or isinstance(raw, bool) or limit > 100:
        raise _Failure(
            "ERR-INVALID-PAGE-SIZE",
            f"Maximum page size for Conduit API method calls is 100, but this call specified {raw}.",
        )
    if limit < 1:
        raise _Failure(
            "ERR-INVALID-PAGE-SIZE",
            f"Minimum page size for Conduit API method calls is 1, but this call specified {raw}.",
        )
    return limit


def _map_param(params: Mapping[str, Any], key: str, code: str) -> dict[str, Any]:
    value = params.get(key)
    if value is None or value == []:
        return {}
    if not isinstance(value, dict):
        raise _Failure(code, f'Parameter "{key}" must be a map, if provided.')
    return value


def _int_list(key: str, value: Any) -> list[int]:
    if not isinstance(value, list):
        raise _Failure(
            "ERR-CONDUIT-CORE", f'Error while reading "{key}": Expected a list, but value is not a list.'
        )
    for index, item in enumerate(value):
        if not isinstance(item, int) or isinstance(item, bool):
            raise _Failure(
                "ERR-CONDUIT-CORE",
                f'Error while reading "{key}": Expected a list of integers, but item with index "{index}" is not an integer.',
            )
    return value


def _str_list(key: str, value: Any) -> list[str]:
    if not isinstance(value, list):
        raise _Failure(
            "ERR-CONDUIT-CORE", f'Error while reading "{key}": Expected a list, but value is not a list.'
        )
    return [str(v) for v in value]


def _epoch_value(key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise _Failure(
            "ERR-CONDUIT-CORE",
            f'Error while reading "{key}": Expected epoch timestamp as integer, got something else.',
        )
    return value


def _task_order(order: Any) -> Callable[[FakeTask], tuple[Any, ...]]:
    """Sort key (ascending = output order) for a builtin order name or a column vector."""
    if order is None:
        order = "priority"
    if isinstance(order, list):
        columns = {
            "id": lambda t: t.id,
            "priority": lambda t: t.priority,
            "updated": lambda t: t.modified,
            "created": lambda t: t.created,
            "title": lambda t: t.title,
        }
        parts = []
        for column in order:
            name = str(column).lstrip("-")
            if name not in columns:
                raise _Failure("ERR-CONDUIT-CORE", f'Order vector component "{name}" is not a valid column.')
            parts.append((columns[name], str(column).startswith("-")))

        def vector_key(task: FakeTask) -> tuple[Any, ...]:
            return tuple(_Desc(fn(task)) if not ascending else fn(task) for fn, ascending in parts)

        return vector_key
    name = _TASK_ORDERS.get(str(order))
    if name is None:
        raise _Failure(
            "ERR-CONDUIT-CORE",
            f'Query "ManiphestTaskQuery" does not support a builtin order "{order}". Supported orders are: '
            "priority, order-priority, updated, order-modified, outdated, newest, created, order-created, "
            "oldest, closed, title, order-title, relevance.",
        )
    keys: dict[str, Callable[[FakeTask], tuple[Any, ...]]] = {
        "priority": lambda t: (-t.priority, -t.id),
        "updated": lambda t: (-t.modified, -t.id),
        "outdated": lambda t: (t.modified, t.id),
        "newest": lambda t: (-t.id,),
        "oldest": lambda t: (t.id,),
        "closed": lambda t: (-(t.closed or 0), -t.id),
        "title": lambda t: (t.title, t.id),
    }
    return keys[name]


class _Desc:
    """Reverses the ordering of one sort-key component."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __lt__(self, other: _Desc) -> bool:
        return bool(other.value < self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Desc) and other.value == self.value

    __hash__ = None  # type: ignore[assignment]


def _paginate(
    items: list[Any],
    sort_key: Callable[[Any], Any],
    load_cursor: Callable[[Any], Any],
    params: Mapping[str, Any],
    limit: int,
    *,
    echo_limit: Any = None,
) -> tuple[list[Any], dict[str, Any]]:
    """One page of sorted *items* after/before a cursor, with the real server's cursor values."""
    after, before = params.get("after"), params.get("before")

    def ident(item: Any) -> str:
        return str(item["id"] if isinstance(item, dict) else item.id)

    if after is not None:
        anchor = sort_key(load_cursor(after))
        rest = [i for i in items if anchor < sort_key(i)]
        page = rest[:limit]
        next_after = ident(page[-1]) if len(rest) > limit else None
        prev_before = ident(page[0]) if page else None
    elif before is not None:
        anchor = sort_key(load_cursor(before))
        prior = [i for i in items if sort_key(i) < anchor]
        page = prior[-limit:]
        prev_before = ident(page[0]) if len(prior) > limit else None
        next_after = ident(page[-1]) if page else None
    else:
        page = items[:limit]
        next_after = ident(page[-1]) if len(items) > limit else None
        prev_before = None
    shown_limit = params.get("limit", 100) if echo_limit is None else echo_limit
    return page, {"limit": shown_limit, "after": next_after, "before": prev_before}


@pytest.fixture(scope="session")
def conduit_server() -> Iterator[ConduitFake]:
    """One Conduit fake for the whole test session (call ``reset()`` or use ``conduit``)."""
    fake = ConduitFake().start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def conduit(conduit_server: ConduitFake) -> ConduitFake:
    """The session's Conduit fake, reset to the captured users/projects and no tasks."""
    conduit_server.reset()
    return conduit_server
