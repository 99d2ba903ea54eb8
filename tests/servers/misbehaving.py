"""A misbehaving HTTP server for the fault drills (pytest plugin) and the benchmarks.

It speaks just enough of every live source's API to be taken for the real thing — MediaWiki's
``api.php`` (the SAL), Conduit (Phabricator), Prometheus ``query_range``, Alertmanager v2 and
Splunk On-Call's reporting API and team list (``oncall``) — each under its own path prefix, and
misbehaves on demand, per source (:meth:`Misbehaving.behave`):

* ``hang``: accepts the request and never answers; ``trickle``: answers 200 and then one byte of
  valid-looking JSON every :data:`TRICKLE_SECONDS`, for ever; ``trickle_headers``: the same with
  the headers, which no read timeout catches;
* ``retry_after``: HTTP 429 with ``Retry-After: 3600`` (``retry_after_403``: a 403, the way Splunk
  On-Call throttles); ``retry_soon`` (``retry_soon_403``): the first request of the source gets a
  429 (403) with ``Retry-After: 0.2``, the next ones normal answers;
* ``html_500``: an HTML error page;
* ``garbage``: 200 with bytes that are not JSON (nor UTF-8); ``truncated``: the normal answer cut
  in half; ``wrong_shape``: a JSON object of the wrong shape; ``json_list``: a JSON list;
* ``redirect_loop``: 302 to itself (307 for a POST); ``huge``: a 50 MB body (``huge_declared``: with its
  ``Content-Length``);
* ``endless``: paging that never ends without progress (wiki ``continue``, Conduit cursors, an
  on-call ``total`` that the same incidents never reach);
  ``broken_continuation`` (wiki): the continuation answer lacks its keys;
* ``lone_surrogates``: the normal answer with ``\\ud800`` escapes in titles, names, labels and
  comments;
* ``echo_secrets``: failures that quote back what was sent (the bot password in a refused login,
  the Conduit token, the ``Authorization`` header, the on-call ``X-VO-Api-Key``).

``refuse`` needs no server: :func:`refused_url` is an address nothing listens on. With no
misbehaviour set every source answers normally, with a few events in the window
:data:`WINDOW_START`..:data:`WINDOW_END` (2023-02-14 18:00–19:45 UTC). :meth:`Misbehaving.config_env`
points incidentkit's sources at the server.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.servers._common import free_port

__all__ = [
    "Misbehaving",
    "misbehaving",
    "running_misbehaving",
    "refused_url",
    "CASES",
    "SOURCES",
    "WINDOW_START",
    "WINDOW_END",
    "TOKEN",
    "PASSWORD",
    "BEARER",
    "ONCALL_KEY",
]

SOURCES = ("sal", "phabricator", "prometheus", "alertmanager", "oncall")
CASES = (
    "refuse", "hang", "trickle", "retry_after", "retry_after_403", "html_500", "garbage", "truncated", "wrong_shape",
    "json_list", "redirect_loop", "huge", "huge_declared", "endless", "broken_continuation", "lone_surrogates",
)  # fmt: skip
PAGING_CASES = {"endless": ("sal", "phabricator", "oncall"), "broken_continuation": ("sal",)}  # the others page not
WINDOW_START = datetime(2023, 2, 14, 18, 0, tzinfo=UTC)
WINDOW_END = datetime(2023, 2, 14, 19, 45, tzinfo=UTC)
TRICKLE_SECONDS = 0.2
HUGE_BYTES = 50 * 1024 * 1024
TOKEN = "api-" + "s3cr3tt0k3n" * 2 + "abcdef"  # 32 characters, token-shaped
PASSWORD = "wiki-b0t-passw0rd-9f8e7d6c5b4a3"  # a bot password with nothing token-shaped about it
BEARER = "prom-bearer-7c1d9e8a2b4f"
ONCALL_KEY = "vo-key-0c4e2a9d7b1f3e5a"  # a Splunk On-Call API key
ONCALL_ID = "drill-api-id"
_SURROGATE = "\\ud800"  # as JSON escapes it: a lone half of a surrogate pair
_MULTIPART_FIELD = re.compile(r'Content-Disposition: form-data; name="([^"]+)"\r\n\r\n(.*?)\r\n--', re.DOTALL)

SAL_PAGE = """== 2023-02-14 ==
* 19:31 urbanecm@deploy1002: Finished scap: Backport for [[gerrit:888020|DiscussionTools fix]] (duration: 11m 02s)
* 18:52 taavi: fatals are back to the usual level
* 18:16 urbanecm@deploy1002: Started scap: Backport for [[gerrit:887912|Enable the reply tool]]
== 2023-02-13 ==
* 23:59 somebody: end of the day before
"""


def _epoch(when: datetime) -> int:
    return int(when.timestamp())


def refused_url() -> str:
    """An address on 127.0.0.1 where nothing listens (connections are refused)."""
    return f"http://127.0.0.1:{free_port()}"


class Misbehaving:
    """The running server: its base ``url``, the misbehaviour per source, what it was sent."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.modes: dict[str, str] = {}
        self.actions: dict[str, str] = {}  # source -> the one wiki action that misbehaves (others answer normally)
        self.requests: list[tuple[str, str]] = []  # (source, path) of every request
        self.limited: set[str] = set()  # sources whose first request got the short 429
        self.release = threading.Event()  # set to let hanging requests go

    def behave(self, source: str, case: str | None, *, action: str | None = None) -> None:
        """Make *source* misbehave as *case* (None: answer normally); with *action*, only its
        requests of that wiki ``action`` (e.g. ``upload``: the login and the tokens work)."""
        self.actions.pop(source, None)
        if case is None:
            self.modes.pop(source, None)
            return
        self.modes[source] = case
        if action is not None:
            self.actions[source] = action

    def reset(self) -> None:
        self.modes.clear()
        self.actions.clear()
        self.requests.clear()
        self.limited.clear()

    def base(self, source: str) -> str:
        return f"{self.url}/{source}"

    def config_env(
        self,
        monkeypatch: pytest.MonkeyPatch,
        sources: tuple[str, ...] = SOURCES,
        *,
        timeout: float = 1.0,
        urls: dict[str, str] | None = None,
    ) -> None:
        """Configure incidentkit (INCIDENTKIT_* variables) to read *sources* from this server.

        *timeout* is ``[draft] source_timeout``; *urls* overrides a source's address (e.g. a
        refused one). Secrets: the wiki logs in with :data:`PASSWORD`, Conduit uses :data:`TOKEN`,
        Prometheus and Alertmanager send :data:`BEARER`, Splunk On-Call :data:`ONCALL_KEY`.
        """
        urls = urls or {}
        monkeypatch.setenv("INCIDENTKIT_DRAFT_SOURCE_TIMEOUT", str(timeout))
        if "sal" in sources:
            monkeypatch.setenv("INCIDENTKIT_WIKIS_OPS_URL", urls.get("sal", self.base("sal") + "/"))
            monkeypatch.setenv("INCIDENTKIT_WIKIS_OPS_USER", "Reporter@incidentkit")
            monkeypatch.setenv("INCIDENTKIT_WIKIS_OPS_PASSWORD_ENV", "DRILL_WIKI_PASSWORD")
            monkeypatch.setenv("DRILL_WIKI_PASSWORD", PASSWORD)
        if "phabricator" in sources:
            monkeypatch.setenv("INCIDENTKIT_PHABRICATOR_URL", urls.get("phabricator", self.base("phabricator")))
            monkeypatch.setenv("INCIDENTKIT_PHABRICATOR_TOKEN_ENV", "DRILL_CONDUIT_TOKEN")
            monkeypatch.setenv("DRILL_CONDUIT_TOKEN", TOKEN)
            monkeypatch.setenv("INCIDENTKIT_PHABRICATOR_RETRIES", "1")
        for name in ("prometheus", "alertmanager"):
            if name in sources:
                monkeypatch.setenv(f"INCIDENTKIT_{name.upper()}_URL", urls.get(name, self.base(name)))
                monkeypatch.setenv(f"INCIDENTKIT_{name.upper()}_TOKEN_ENV", "DRILL_BEARER")
        monkeypatch.setenv("DRILL_BEARER", BEARER)
        if "oncall" in sources:
            monkeypatch.setenv("INCIDENTKIT_ONCALL_URL", urls.get("oncall", self.base("oncall")))
            monkeypatch.setenv("INCIDENTKIT_ONCALL_API_ID", ONCALL_ID)
            monkeypatch.setenv("INCIDENTKIT_ONCALL_KEY_ENV", "DRILL_ONCALL_KEY")
            monkeypatch.setenv("DRILL_ONCALL_KEY", ONCALL_KEY)


# --- the normal answers --------------------------------------------------------------------------


def _wiki(params: dict[str, str], mode: str | None) -> dict[str, Any] | None:
    """The api.php answer to *params*; None for a misbehaviour that is not an answer."""
    weird = _SURROGATE if mode == "lone_surrogates" else ""
    action = params.get("action")
    if action == "upload":
        if mode == "wrong_shape":
            return {"error": "not an object", "upload": ["nor", "this"]}
        if mode == "lone_surrogates":
            return {"error": {"code": "verification-error", "info": f"File contents are suspicious{_SURROGATE}"}}
        return {"upload": {"result": "Success", "filename": params.get("filename", "")}}
    if mode == "wrong_shape":
        return {"batchcomplete": True, "query": {"tokens": "none", "pages": {}}}
    if action == "login":
        if mode == "echo_secrets":
            reason = f"Incorrect password {params.get('lgpassword')!s} for {params.get('lgname')}"
            return {"login": {"result": "Failed", "reason": reason}}
        return {"login": {"result": "Success", "lguserid": 2, "lgusername": "Reporter"}}
    meta = params.get("meta", "")
    # the edit token, asked alone or along with pages (a logged-in read fetches it for the next save)
    csrf = {"tokens": {"csrftoken": "c5rf+\\"}} if meta == "tokens" else {}
    if csrf and "titles" not in params:
        return {"batchcomplete": True, "query": csrf}
    if "siteinfo" in meta:
        query: dict[str, Any] = {
            "general": {"generator": "MediaWiki 1.39.17"},
            "namespaces": {"0": {"id": 0, "name": "", "canonical": ""}, "14": {"id": 14, "name": "Category", "canonical": "Category"}},
            "namespacealiases": [],
        }
        if "tokens" in meta:
            query["tokens"] = {"logintoken": "0123abcd+\\"}
        return {"batchcomplete": True, "query": query}
    if params.get("list") == "allpages":
        return {"batchcomplete": True, "query": {"allpages": []}}
    if "titles" in params:
        titles = [t for t in params["titles"].split("\x1f") if t]
        if mode == "endless":
            return {"continue": {"rvcontinue": f"{time.monotonic_ns()}", "continue": "||"}, "query": {"pages": []}}
        if mode == "broken_continuation":
            if "rvcontinue" in params:
                return {"continue": {"rvcontinue": "2", "continue": "||"}, "query": {"pages": "gone"}}
            return {"continue": {"rvcontinue": "1", "continue": "||"}, "query": {"pages": [{"title": titles[0], "ns": 0, "revisions": []}]}}
        text = SAL_PAGE.replace("fatals are back", "fatals are back" + weird)
        pages = [
            {
                "pageid": 1, "ns": 0, "title": title,
                "revisions": [{"revid": 7, "parentid": 6, "timestamp": "2023-02-15T00:00:00Z", "slots": {"main": {"content": text}}}],
            }
            for title in titles
        ]  # fmt: skip
        return {"batchcomplete": True, "query": {"pages": pages, **csrf}}
    return {"error": {"code": "badvalue", "info": "not modelled by the drill server"}}


def _conduit(method: str, form: dict[str, str], mode: str | None, page: int) -> dict[str, Any]:
    weird = _SURROGATE if mode == "lone_surrogates" else ""
    if mode == "echo_secrets":
        return {"result": None, "error_code": "ERR-INVALID-AUTH", "error_info": f"API token \"{TOKEN}\" is not valid; you sent {form.get('params')}"}
    start = _epoch(WINDOW_START)
    if method == "maniphest.status.search":
        data: Any = [
            {"name": "Open", "value": "open", "closed": False, "special": "default"},
            {"name": "Resolved", "value": "resolved", "closed": True, "special": "closed"},
        ]
    elif method == "maniphest.priority.search":
        data = [{"name": "Unbreak Now!", "value": 100}, {"name": "High", "value": 80}]
    elif method == "phid.lookup":
        return {"result": [], "error_code": None, "error_info": None}
    elif method == "maniphest.search":
        params = json.loads(form.get("params", "{}"))
        wanted = (params.get("constraints") or {}).get("ids") or []
        data = [
            {
                "id": 1, "type": "TASK", "phid": "PHID-TASK-1",
                "fields": {
                    "name": f"Fatals after the backport{weird}", "authorPHID": "PHID-USER-1", "ownerPHID": "PHID-USER-1",
                    "status": {"value": "open", "name": "Open", "color": None}, "priority": {"value": 100, "name": "Unbreak Now!"},
                    "dateCreated": start + 600, "dateModified": start + 900, "dateClosed": None,
                },
                "attachments": {"projects": {"projectPHIDs": []}},
            }
        ] if 1 in wanted else []  # fmt: skip
        if mode == "endless":
            return {"result": {"data": data or [{"id": 9, "phid": "PHID-TASK-9"}], "cursor": {"after": str(page + 1)}}, "error_code": None, "error_info": None}
    elif method == "user.search":
        data = [{"id": 1, "type": "USER", "phid": "PHID-USER-1", "fields": {"username": f"urbanecm{weird}", "realName": "U"}}]
    else:
        data = []
    if mode == "wrong_shape":
        return {"result": {"data": "nothing here"}, "error_code": None, "error_info": None}
    return {"result": {"data": data, "cursor": {"after": None}}, "error_code": None, "error_info": None}


def _prometheus(params: dict[str, str], mode: str | None) -> dict[str, Any]:
    weird = _SURROGATE if mode == "lone_surrogates" else ""
    if mode == "wrong_shape":
        return {"status": "success", "data": {"resultType": "vector", "result": {}}}
    if params.get("query", "").startswith("ALERTS_FOR_STATE"):
        return {"status": "success", "data": {"resultType": "matrix", "result": []}}
    first = _epoch(WINDOW_START) + 30 * 60
    values = [[first + 60 * i, "1"] for i in range(10)]
    metric = {
        "__name__": "ALERTS", "alertname": "PHPFPMTooBusy", "alertstate": "firing", "severity": "page",
        "instance": f"mw1001{weird}",
    }  # fmt: skip
    return {"status": "success", "data": {"resultType": "matrix", "result": [{"metric": metric, "values": values}]}}


def _alertmanager(path: str, mode: str | None) -> Any:
    weird = _SURROGATE if mode == "lone_surrogates" else ""
    if mode == "wrong_shape":
        return {"alerts": "none today"}
    if path.endswith("/status"):
        return {"versionInfo": {"version": "0.25.0"}, "cluster": {"status": "ready"}}
    if path.endswith("/silences"):
        return [
            {
                "id": "s1", "status": {"state": "expired"}, "createdBy": f"taavi{weird}",
                "comment": f"silencing during the backport T329510{weird}",
                "startsAt": "2023-02-14T18:40:00.000Z", "endsAt": "2023-02-14T19:10:00.000Z",
                "updatedAt": "2023-02-14T18:40:00.000Z",
                "matchers": [{"name": "alertname", "value": "PHPFPMTooBusy", "isRegex": False, "isEqual": True}],
            }
        ]  # fmt: skip
    return [
        {
            "labels": {"alertname": "PHPFPMTooBusy", "severity": "page", "instance": "mw1001"},
            "annotations": {"summary": f"Not enough idle workers{weird}"},
            "startsAt": "2023-02-14T18:30:00.000Z", "endsAt": "2023-02-14T20:30:00.000Z",
            "fingerprint": "abc", "status": {"state": "active", "silencedBy": [], "inhibitedBy": []},
            "receivers": [{"name": "irc"}], "updatedAt": "2023-02-14T18:30:00.000Z",
        }
    ]  # fmt: skip


def _oncall(path: str, params: dict[str, str], mode: str | None) -> Any:
    """Splunk On-Call: the public team list, and one page of the reporting API (as ``paging.md`` documents it)."""
    weird = _SURROGATE if mode == "lone_surrogates" else ""
    if path.endswith("/api-public/v1/team"):
        return [{"name": "SRE", "slug": "team-sre", "memberCount": 42, "version": 3, "isDefaultTeam": False}]
    if not path.endswith("/api-reporting/v2/incidents"):
        return None
    if mode == "wrong_shape":
        return {"offset": 0, "limit": 100, "total": 1, "incidents": "none today"}
    alert = "a4711"
    incident = {
        "incidentNumber": "4711", "currentPhase": "resolved", "alertCount": 1, "entityId": "am-group-4711",
        "entityDisplayName": f"[1x] PHPFPMTooBusy mw1001{weird}", "entityType": "service", "routingKey": "sre-batphone",
        "startTime": "2023-02-14T18:31:00Z", "pagedTeams": ["team-sre"], "pagedUsers": [f"taavi{weird}", "urbanecm"],
        "pagedPolicies": [{"policy": {"name": f"SRE Business Hours{weird}", "slug": "pol-sre-bh"}, "team": {"name": "SRE", "slug": "team-sre"}}],
        "transitions": [
            {"name": "triggered", "at": "2023-02-14T18:31:00Z", "alertId": alert},
            {"name": "acknowledged", "at": "2023-02-14T18:33:00Z", "by": f"taavi{weird}", "message": f"looking{weird}", "manually": True, "alertId": alert},
            {"name": "resolved", "at": "2023-02-14T19:10:00Z", "by": "urbanecm", "manually": True, "alertId": alert},
        ],
    }  # fmt: skip
    offset = int(params.get("offset") or 0)
    if mode == "endless":  # the same incident on every page, a total it never reaches
        return {"offset": offset, "limit": 100, "total": 10**6, "incidents": [incident]}
    return {"offset": offset, "limit": 100, "total": 1, "incidents": [incident] if offset == 0 else []}


# --- the server ------------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        return

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def _form(self) -> dict[str, str]:
        parts = urlsplit(self.path)
        params = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            body = self.rfile.read(length).decode("utf-8", errors="replace")
            if "multipart/form-data" in self.headers.get("Content-Type", ""):  # an upload: its plain fields
                params.update(dict(_MULTIPART_FIELD.findall(body)))
            else:
                params.update({k: v[-1] for k, v in parse_qs(body, keep_blank_values=True).items()})
        return params

    def _answer(self) -> None:
        owner = self.server.owner
        path = urlsplit(self.path).path
        source = path.strip("/").split("/", 1)[0]
        params = self._form()
        owner.requests.append((source, path))
        mode = owner.modes.get(source)
        if source in owner.actions and params.get("action") != owner.actions[source]:
            mode = None
        if mode == "echo_secrets" and source in ("prometheus", "alertmanager"):
            self._send(401, f"unauthorized: {self.headers.get('Authorization')}".encode(), "text/plain")
            return
        if mode == "echo_secrets" and source == "oncall":
            sent = f"{self.headers.get('X-VO-Api-Id')}/{self.headers.get('X-VO-Api-Key')}"
            self._send(400, json.dumps({"error": f"bad request with credentials {sent}"}).encode(), "application/json")
            return
        if source == "oncall" and not (self.headers.get("X-VO-Api-Id") and self.headers.get("X-VO-Api-Key")):
            self._send(401, b'{"error": "Missing authentication parameters"}', "application/json")
            return
        if mode in ("retry_soon", "retry_soon_403") and source not in owner.limited:
            owner.limited.add(source)
            status = 403 if mode == "retry_soon_403" else 429
            self._send(status, b'{"error": "a moment"}', "application/json", {"Retry-After": "0.2"})
            return
        if mode in _MISBEHAVIOURS:
            _MISBEHAVIOURS[mode](self)
            return
        body = self._normal(source, path, params, mode)
        if body is None:
            self._send(404, b"not found", "text/plain")
            return
        text = json.dumps(body)
        if mode == "lone_surrogates":  # json.dumps writes "\\ud800"; make it the escape a server sends
            text = text.replace("\\\\ud800", "\\ud800")
        if mode == "truncated":
            text = text[: len(text) // 2]
        self._send(200, text.encode(), "application/json")

    def _normal(self, source: str, path: str, params: dict[str, str], mode: str | None) -> Any:
        if source == "sal" and path.endswith("api.php"):
            return _wiki(params, mode)
        if source == "phabricator" and "/api/" in path:
            page = int(json.loads(params.get("params", "{}")).get("after") or 0)
            return _conduit(path.rsplit("/", 1)[-1], params, mode, page)
        if source == "prometheus" and path.endswith("/api/v1/query_range"):
            return _prometheus(params, mode)
        if source == "alertmanager" and "/api/v2/" in path:
            return _alertmanager(path, mode)
        if source == "oncall":
            return _oncall(path, params, mode)
        return None

    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _stream(self, pieces: Iterator[bytes], declared: int | None = None) -> None:
        """200 with a body written piece by piece, closing the connection at the end."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if declared is not None:
            self.send_header("Content-Length", str(declared))
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        try:
            for piece in pieces:
                self.wfile.write(piece)
                self.wfile.flush()
        except OSError:
            return  # the client hung up, as it should


def _hang(handler: _Handler) -> None:
    handler.server.owner.release.wait(60)
    handler.close_connection = True


def _trickle(handler: _Handler) -> None:
    release = handler.server.owner.release

    def pieces() -> Iterator[bytes]:
        yield b'{"result": "'
        while not release.wait(TRICKLE_SECONDS):
            yield b"a"

    handler._stream(pieces())


def _trickle_headers(handler: _Handler) -> None:
    release = handler.server.owner.release
    try:
        handler.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
        while not release.wait(TRICKLE_SECONDS):
            handler.wfile.write(b"a")
            handler.wfile.flush()
    except OSError:
        pass
    handler.close_connection = True


def _huge(declared: bool) -> Any:
    def answer(handler: _Handler) -> None:
        piece = b"a" * (1024 * 1024)
        count = HUGE_BYTES // len(piece)
        head = b'{"result": "'

        def pieces() -> Iterator[bytes]:
            yield head
            for _ in range(count):
                yield piece

        handler._stream(pieces(), declared=len(head) + count * len(piece) if declared else None)

    return answer


_MISBEHAVIOURS = {
    "hang": _hang,
    "trickle": _trickle,
    "trickle_headers": _trickle_headers,
    "retry_after": lambda h: h._send(429, b'{"error": "slow down"}', "application/json", {"Retry-After": "3600"}),
    "retry_after_403": lambda h: h._send(403, b'{"error": "rate limit reached"}', "application/json", {"Retry-After": "3600"}),
    "html_500": lambda h: h._send(
        500, b"<!DOCTYPE html><html><head><title>Internal Server Error</title></head><body>oops</body></html>", "text/html"
    ),
    "garbage": lambda h: h._send(200, b"\xff\xfe\x00\x01 this is not JSON \x80\x81", "application/json"),
    "json_list": lambda h: h._send(200, b"[1, 2, 3]", "application/json"),
    # a POST is redirected with 307, which keeps it a POST: an upload or a Conduit call loops as itself
    "redirect_loop": lambda h: h._send(307 if h.command == "POST" else 302, b"", "text/plain", {"Location": h.path}),
    "huge": _huge(declared=False),
    "huge_declared": _huge(declared=True),
}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: Misbehaving


def running_misbehaving() -> tuple[Misbehaving, _Server]:
    """Start the server on a free port (a daemon thread); stop it with ``server.shutdown()``."""
    port = free_port()
    server = _Server(("127.0.0.1", port), _Handler)
    owner = Misbehaving(f"http://127.0.0.1:{port}")
    server.owner = owner
    threading.Thread(target=server.serve_forever, name="misbehaving-server", daemon=True).start()
    return owner, server


@pytest.fixture(scope="session")
def misbehaving_server() -> Iterator[Misbehaving]:
    owner, server = running_misbehaving()
    try:
        yield owner
    finally:
        owner.release.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def misbehaving(misbehaving_server: Misbehaving) -> Iterator[Misbehaving]:
    """The session's misbehaving server, every source answering normally at the start of the test;
    hanging and trickling requests are released at its end."""
    misbehaving_server.reset()
    misbehaving_server.release.clear()
    yield misbehaving_server
    misbehaving_server.release.set()
    misbehaving_server.reset()
