"""The one Conduit client (the Phabricator / Phorge API), shared by every feature that talks to it.

Used by the Phabricator timeline source and by actionables sync/create. It owns the wire format
(form-encoded ``params=<json>`` with the token inside ``__conduit__``, plus ``output=json`` and
``__conduit__=1`` so that even server crashes come back as a JSON envelope), the error envelope,
retries, cursor paging and the ``[]``-versus-``{}`` quirks of PHP's JSON encoder.

Rules it enforces:

* Any non-null ``error_code`` is an error (including PHP class names such as ``TypeError``); the HTTP
  status is never trusted on its own. HTTP 429, 5xx, HTML or non-JSON bodies and timeouts are errors too.
* Retries (exponential backoff) only where safe: read methods (``*.search``, ``*.query``,
  ``*.lookup``, ...) on any transient failure; every other method (``maniphest.edit``...) only when
  the request provably was not processed (HTTP 429 from the rate limiter, connection refused).
* Every call runs within the budget (:mod:`incidentkit.clients.budget`): the pull's deadline
  covers connecting, reading, retries and their backoff; ``Retry-After`` is honoured only when
  the wait fits before the deadline (and is at most a minute); answers are size-capped.
* Paging stops with an error when the cursor repeats or a page brings no new item.
* The token, and every other configured secret, never appears in an error: messages are scrubbed
  of them and of anything token-shaped (servers quote bad tokens back, and even whole request
  bodies). Lone surrogates in answers are replaced (``replaced`` counts them).
* Names are resolved in batches of 100 PHIDs per call, never one call per PHID.
* Configured project references (a name, any hashtag, or a PHID) and usernames resolve to PHIDs
  the way people write them: projects by :func:`project_key` (case, ``-``/``_`` and punctuation do
  not matter), usernames case-insensitively. Answers are cached for the client's lifetime (one run).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from ..config import Settings, read_secret, secret_values
from ..errors import ConfigError, SourceError
from ..model.actionable import TaskView
from ..model.tasks import parse_task, task_number
from ..model.time import from_epoch
from ..util import chunks
from .budget import MAX_RETRY_AFTER, OverBudget, wait
from .http import USER_AGENT, loads, mount_budget, redact, retry_after

__all__ = [
    "ConduitClient",
    "ConduitError",
    "Project",
    "project_key",
    "SEARCH_PAGE_MAX",
    "TRANSACTION_PAGE_MAX",
    "BATCH_SIZE",
    "is_read_method",
    "task_view",
    "remarkup_link",
    "scrub",
]

SEARCH_PAGE_MAX = 100  # *.search rejects larger pages with ERR-INVALID-PAGE-SIZE
TRANSACTION_PAGE_MAX = 1000  # transaction.search silently clamps to 1..1000
BATCH_SIZE = 100  # PHIDs / ids per batched lookup

_READ_SUFFIXES = (".search", ".query", ".lookup", ".whoami", ".ping")
_TOKEN_SHAPED = re.compile(r"\b(?:api|cli|clr)-[A-Za-z0-9]{28}\b")
_QUOTED_TOKEN = re.compile(r'(API token )"[^"]*"')
_HTML_TITLE = re.compile(r"<title>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_MAX_INFO = 300
# Phorge's answer to a POST that reached it outside /api/<method> (plain text, HTTP 200)
_WRONG_PATH_PREFIX = "ERROR: You are making a Conduit API request to "
WRONG_PATH = "ERR-WRONG-API-PATH"  # ConduitError.code for that answer (Phorge sends none)

_HINTS = {
    "ERR-INVALID-AUTH": "check the env var named by [phabricator] token_env: it must hold a valid Conduit API token (api-...)",
    "ERR-INVALID-SESSION": "check the env var named by [phabricator] token_env: no token reached the server",
    "ERR-OAUTH-ACCESS": "the token may not call this method; use a standard Conduit API token",
    "ERR-CONDUIT-CALL": "the server does not know this method or parameter; check [phabricator] url and the server version",
}


class ConduitError(SourceError):
    """A Conduit call failed. ``code`` is the server's ``error_code`` when it sent one."""

    def __init__(
        self, message: str, hint: str | None = None, *, method: str = "", code: str | None = None
    ) -> None:
        super().__init__(message, hint)
        self.method = method
        self.code = code


@dataclass(frozen=True, slots=True)
class Project:
    """A Phabricator project that a configured reference resolved to."""

    phid: str
    name: str
    slug: str | None  # the primary hashtag

    def describe(self) -> str:
        """``Name (#slug, PHID-PROJ-…)`` for messages."""
        tag = f"#{self.slug}, " if self.slug else ""
        return f"{self.name} ({tag}{self.phid})"


def project_key(text: str) -> str:
    """How a project name or hashtag is compared: case-folded, every run of characters other than
    letters and digits (spaces, ``-``, ``_``, ``#``, brackets, ``&``…) as one ``_``, none at the ends.

    "Sustainability (Incident Followup)", ``#sustainability-incident-followup`` and
    ``sustainability_incident_followup`` have the same key.
    """
    return re.sub(r"[\W_]+", "_", text.casefold()).strip("_")


class _Transient(Exception):
    """One attempt failed in a way a retry may fix; ``unsent`` when the server never processed it."""

    def __init__(self, message: str, hint: str, *, unsent: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.unsent = unsent
        self.retry_after = retry_after


def is_read_method(method: str) -> bool:
    """True for methods that change nothing and may be retried freely."""
    return method.endswith(_READ_SUFFIXES)


def scrub(text: str, token: str | None = None, secrets: Iterable[str] = ()) -> str:
    """*text* without the token, the other *secrets*, token-shaped strings or quoted tokens, on one short line."""
    text = redact(text, (token, *secrets))
    text = _TOKEN_SHAPED.sub("<redacted>", text)
    text = _QUOTED_TOKEN.sub(r'\1"<redacted>"', text)
    text = " ".join(text.split())
    return text if len(text) <= _MAX_INFO else text[: _MAX_INFO - 1] + "…"


def _unique(values: Iterable[Any]) -> list[str]:
    return sorted({v for v in values if isinstance(v, str) and v})


def _normalise(item: Any) -> Any:
    """Give PHP's empty arrays their intended shape: ``fields``/``attachments``/``boards`` are maps."""
    if not isinstance(item, dict):
        return item
    item = dict(item)
    for key in ("fields", "attachments"):
        if item.get(key) == []:
            item[key] = {}
    attachments = item.get("attachments")
    if isinstance(attachments, dict) and isinstance(attachments.get("columns"), dict):
        columns = attachments["columns"]
        if columns.get("boards") == []:
            item["attachments"] = {**attachments, "columns": {**columns, "boards": {}}}
    return item


class ConduitClient:
    """A Conduit endpoint plus a token: ``call`` one method, ``search`` through pages, batch helpers.

    ``url`` is the site root (``https://phabricator.example.org``); ``/api/<method>`` is appended.
    ``calls`` counts HTTP requests sent (retries included), for benchmarks.
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        timeout: float = 30.0,
        retries: int = 3,
        session: requests.Session | None = None,
        backoff: float = 0.5,
        token_env: str | None = None,
        secrets: Sequence[str] = (),
    ) -> None:
        if not url:
            raise ConfigError("no Phabricator url is configured", hint="set url in the [phabricator] section")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(
                f"[phabricator] url must be an http(s) URL, got {url!r}",
                hint="use the site root, e.g. https://phabricator.wikimedia.org",
            )
        base = url.rstrip("/")
        self.url = base[: -len("/api")] if base.endswith("/api") else base
        self._token = token
        self.timeout = timeout
        self.retries = max(0, retries)
        self.backoff = backoff
        self.token_env = token_env
        self.session = mount_budget(session or requests.Session())
        # a new Session already carries requests' own User-Agent, so setdefault would keep that one
        self.session.headers["User-Agent"] = USER_AGENT
        self.calls = 0
        self._projects: dict[str, Project | None] = {}  # reference as configured -> project (None: unknown)
        self._user_phids: dict[str, str | None] = {}  # case-folded username -> PHID (None: unknown)
        self.replaced = 0  # lone surrogates replaced in answers
        self._secrets = tuple(secrets)

    @classmethod
    def from_settings(cls, settings: Settings, *, session: requests.Session | None = None) -> ConduitClient:
        """The client for ``[phabricator]``; raises ConfigError when the url or token is missing."""
        phab = settings.phabricator
        if not phab.url:
            raise ConfigError(
                "no Phabricator url is configured",
                hint="set url in the [phabricator] section or INCIDENTKIT_PHABRICATOR_URL",
            )
        token = read_secret(phab.token_env)
        if not token:
            raise ConfigError(
                f"no Conduit token: environment variable {phab.token_env} is not set",
                hint=f"export {phab.token_env}=<your Conduit API token> (named by [phabricator] token_env)",
            )
        return cls(
            phab.url,
            token,
            timeout=phab.timeout,
            retries=phab.retries,
            session=session,
            token_env=phab.token_env,
            secrets=secret_values(settings),
        )

    def __repr__(self) -> str:
        return f"ConduitClient({self.url!r}, token=<redacted>)"

    def __enter__(self) -> ConduitClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.session.close()

    # --- one call -------------------------------------------------------------------------------

    def call(self, method: str, params: Mapping[str, Any] | None = None) -> Any:
        """Call *method* and return its ``result``; raises ConduitError (a SourceError)."""
        payload = dict(params or {})
        payload["__conduit__"] = {"token": self._token}
        form = {"params": json.dumps(payload, separators=(",", ":")), "output": "json", "__conduit__": "1"}
        try:
            return self._call(method, form)
        except ConduitError as exc:  # the client boundary: no message leaves with a secret in it
            exc.message = self._scrub(exc.message)
            exc.hint = self._scrub(exc.hint) if exc.hint else exc.hint
            exc.args = (exc.message,)
            raise

    def _scrub(self, text: str) -> str:
        return scrub(text, self._token, self._secrets)

    def _call(self, method: str, form: Mapping[str, str]) -> Any:
        read = is_read_method(method)
        attempt = 0
        while True:
            try:
                return self._attempt(method, form)
            except _Transient as failure:
                tries = f" (after {attempt + 1} attempts)" if attempt else ""
                asked = failure.retry_after
                if not (read or failure.unsent) or attempt >= self.retries or (asked or 0) > MAX_RETRY_AFTER:
                    if asked is not None:
                        tries += f"; the server asked to wait {asked:g} s"
                    raise ConduitError(
                        f"Phabricator {method} failed: {failure.message}{tries}", failure.hint, method=method
                    ) from failure.__cause__
                try:
                    wait(asked if asked is not None else self.backoff * 2**attempt, failure.message)
                except OverBudget as exc:
                    raise ConduitError(f"Phabricator {method} failed: {exc.reason}", exc.hint, method=method) from exc
                attempt += 1

    def _attempt(self, method: str, form: Mapping[str, str]) -> Any:
        endpoint = f"{self.url}/api/{method}"
        host = urlsplit(self.url).hostname or self.url
        self.calls += 1
        try:
            response = self.session.post(endpoint, data=form, timeout=self.timeout)
        except OverBudget as exc:
            raise ConduitError(f"Phabricator {method} failed: {host} {exc.reason}", exc.hint, method=method) from exc
        except requests.ConnectTimeout as exc:
            raise _Transient(
                f"connecting to {host} timed out after {self.timeout:g}s",
                "check [phabricator] url and the network",
                unsent=True,
            ) from exc
        except requests.Timeout as exc:
            raise _Transient(
                f"no answer from {host} within {self.timeout:g}s",
                "the server is slow or down; raise [phabricator] timeout or try later",
                unsent=False,
            ) from exc
        except requests.ConnectionError as exc:
            reason = getattr(exc.args[0], "reason", None) if exc.args else None
            unsent = isinstance(reason, (NewConnectionError, ConnectTimeoutError))
            raise _Transient(
                f"cannot connect to {host}" if unsent else f"connection to {host} broke",
                "check [phabricator] url and that the server is up",
                unsent=unsent,
            ) from exc
        except requests.TooManyRedirects as exc:
            raise ConduitError(
                f"Phabricator {method} failed: {host} redirects in a loop",
                "check [phabricator] url: it must be the site root of a Phabricator/Phorge server",
                method=method,
            ) from exc
        except requests.RequestException as exc:
            raise ConduitError(
                f"Phabricator {method} failed: {type(exc).__name__}",
                "check [phabricator] url",
                method=method,
            ) from exc
        return self._result(method, response)

    def _result(self, method: str, response: requests.Response) -> Any:
        status = response.status_code
        text = response.content.decode("utf-8", errors="replace")
        try:
            envelope, replaced = loads(text)
        except ValueError:
            envelope, replaced = None, 0
        if isinstance(envelope, dict) and "result" in envelope and "error_code" in envelope:
            self.replaced += replaced
            code = envelope["error_code"]
            if code is None:
                return envelope["result"]
            info = envelope.get("error_info")
            detail = self._scrub(str(info)) if info is not None else "no details"
            hint = _HINTS.get(str(code), "")
            if hint and self.token_env and "token_env" in hint:
                hint += f" ({self.token_env})"
            raise ConduitError(
                f"Phabricator {method} failed: {self._scrub(str(code))}: {detail}",
                hint or "Phabricator refused the request; see the message above",
                method=method,
                code=str(code),
            )
        if status == 429:
            raise _Transient(
                "rate limited (HTTP 429)",
                "Phabricator is rate limiting this client; wait a little and retry",
                unsent=True,
                retry_after=retry_after(response),
            )
        _raise_for_wrong_path(method, status, text, self.url, self._scrub)
        described = _describe_body(text, response.headers.get("Content-Type", ""), self._scrub)
        if status >= 500:
            raise _Transient(
                f"HTTP {status}{described}",
                "the Phabricator server is failing; try later or draft offline with --input phabricator=PATH",
                unsent=False,
            )
        if status != 200:
            raise ConduitError(
                f"Phabricator {method} failed: HTTP {status}{described}",
                "check [phabricator] url: it must be the site root of a Phabricator/Phorge server",
                method=method,
            )
        raise _Transient(
            f"the answer is not a Conduit JSON envelope{described}",
            "check [phabricator] url: it must be the site root of a Phabricator/Phorge server",
            unsent=False,
        )

    # --- paging ---------------------------------------------------------------------------------

    def search(
        self,
        method: str,
        constraints: Mapping[str, Any] | None = None,
        attachments: Iterable[str] | Mapping[str, bool] | None = None,
        order: str | Sequence[str] | None = None,
        limit: int = SEARCH_PAGE_MAX,
        *,
        params: Mapping[str, Any] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Yield every item of a ``*.search`` (or ``transaction.search``) across all pages.

        Pages follow ``cursor.after`` (a string id) until it is null. *params* adds other top-level
        parameters (``objectIdentifier``, ``queryKey``...). Items are normalised (``[]`` → ``{}``).
        """
        base: dict[str, Any] = dict(params or {})
        if constraints:
            base["constraints"] = dict(constraints)
        if attachments:
            base["attachments"] = (
                dict(attachments) if isinstance(attachments, Mapping) else {key: True for key in attachments}
            )
        if order is not None:
            base["order"] = order if isinstance(order, str) else list(order)
        base["limit"] = limit
        for data, _last in self._pages(method, base):
            yield from data

    def _pages(self, method: str, params: Mapping[str, Any]) -> Iterator[tuple[list[Any], bool]]:
        """``(normalised items, is_last_page)`` per call, following ``cursor.after``.

        A cursor seen before, or a page holding only items already seen, is an error: a broken
        server would otherwise page for ever (until the deadline).
        """
        after: str | None = None
        seen: set[str] = set()
        known: set[str] = set()
        while True:
            page = dict(params)
            if after is not None:
                page["after"] = after
            result = self.call(method, page)
            if not (isinstance(result, dict) and isinstance(result.get("data"), list)):
                raise ConduitError(
                    f"Phabricator {method} returned a result without a data list",
                    "the server answered in an unexpected shape; check [phabricator] url",
                    method=method,
                )
            data = [_normalise(item) for item in result["data"]]
            cursor = result.get("cursor")
            following = cursor.get("after") if isinstance(cursor, dict) else None
            last = following is None or not data
            identities = {_identity(item) for item in data} - {""}
            if after is not None and identities and identities <= known:
                raise ConduitError(
                    f"Phabricator {method} returned the same items again on the next page",
                    "the server's paging is broken; report it to the Phabricator admins",
                    method=method,
                )
            known |= identities
            yield data, last
            if last:
                return
            after = str(following)
            if after in seen:
                raise ConduitError(
                    f"Phabricator {method} repeated the page cursor {after!r}",
                    "the server's paging is broken; report it to the Phabricator admins",
                    method=method,
                )
            seen.add(after)

    # --- batch helpers --------------------------------------------------------------------------

    def statuses(self) -> list[dict[str, Any]]:
        """The instance's task statuses (``maniphest.status.search``): name, value, closed..."""
        return _data_list(self.call("maniphest.status.search", {}), "maniphest.status.search")

    def priorities(self) -> list[dict[str, Any]]:
        """The instance's task priorities (``maniphest.priority.search``), highest first."""
        return _data_list(self.call("maniphest.priority.search", {}), "maniphest.priority.search")

    def users(self, phids: Iterable[str]) -> list[dict[str, Any]]:
        """``user.search`` records for *phids*, 100 per call."""
        return self._by_phids("user.search", phids)

    def projects(self, phids: Iterable[str]) -> list[dict[str, Any]]:
        """``project.search`` records for *phids*, 100 per call."""
        return self._by_phids("project.search", phids)

    def user_names(self, phids: Iterable[str]) -> dict[str, str]:
        """PHID → username for *phids* (unknown PHIDs are left out), 100 per call."""
        return _field_map(self.users(phids), "username")

    def project_names(self, phids: Iterable[str]) -> dict[str, str]:
        """PHID → project name for *phids* (unknown PHIDs are left out), 100 per call."""
        return _field_map(self.projects(phids), "name")

    def tasks_by_ids(
        self, ids: Iterable[int | str], attachments: Iterable[str] = ("projects",)
    ) -> list[dict[str, Any]]:
        """``maniphest.search`` records for task ids (``123`` or ``"T123"``), 100 per call."""
        numbers = sorted({task_number(parse_task(task)) for task in ids})
        found: list[dict[str, Any]] = []
        for chunk in chunks(numbers, BATCH_SIZE):
            found.extend(
                self.search("maniphest.search", {"ids": list(chunk)}, attachments=tuple(attachments))
            )
        return found

    def tasks_by_phids(
        self, phids: Iterable[str], attachments: Iterable[str] = ("projects",)
    ) -> list[dict[str, Any]]:
        """``maniphest.search`` records for task PHIDs, 100 per call (invisible ones left out)."""
        found: list[dict[str, Any]] = []
        for chunk in chunks(_unique(phids), BATCH_SIZE):
            found.extend(
                self.search("maniphest.search", {"phids": list(chunk)}, attachments=tuple(attachments))
            )
        return found

    def iter_transactions(self, task: str | int) -> Iterator[dict[str, Any]]:
        """Transactions of one object (``"T123"``, ``123`` or a PHID), newest first.

        Pages (1000 transactions each) are fetched only as the caller reads on: a caller that
        stops at the first transaction it needs costs one call.
        """
        identifier = task if isinstance(task, str) and task.startswith("PHID-") else parse_task(task)
        return self.search(
            "transaction.search", limit=TRANSACTION_PAGE_MAX, params={"objectIdentifier": identifier}
        )

    def transactions(self, task: str | int, since: int | None = None) -> list[dict[str, Any]]:
        """Transactions of one object (``"T123"``, ``123`` or a PHID), newest first.

        With *since* (epoch seconds), paging stops at the first older transaction and older ones
        are left out; one without a creation time is kept (its caller's parser reports it).
        """
        found: list[dict[str, Any]] = []
        for item in self.iter_transactions(task):
            if since is not None and _before(item, since):
                break
            found.append(item)
        return found

    def transaction_pages(
        self, object_type: str = "TASK", since: int | None = None
    ) -> Iterator[tuple[list[dict[str, Any]], bool]]:
        """Transactions on every object of one type (``"TASK"``), newest first, 1000 per call.

        Yields ``(items, is_last)`` per call, so a caller can stop on a call budget; the page that
        reaches a transaction older than *since* (epoch seconds) is the last one, without those older
        items (one without a creation time is kept, as by :meth:`transactions`). One scan covers all tasks at once, which beats one call per task when many changed.
        """
        pages = self._pages("transaction.search", {"objectType": object_type, "limit": TRANSACTION_PAGE_MAX})
        for data, last in pages:
            items = [item for item in data if since is None or not _before(item, since)]
            reached = len(items) < len(data)
            yield items, last or reached
            if last or reached:
                return

    def edit_task(
        self, transactions: Sequence[Mapping[str, Any]], task: str | int | None = None
    ) -> dict[str, Any]:
        """``maniphest.edit``: create a task (no *task*) or edit one; returns ``{object, transactions}``.

        Never retried once sent (an edit is not idempotent).
        """
        params: dict[str, Any] = {"transactions": [dict(t) for t in transactions]}
        if task is not None:
            params["objectIdentifier"] = (
                task if isinstance(task, str) and task.startswith("PHID-") else parse_task(task)
            )
        result = self.call("maniphest.edit", params)
        if not isinstance(result, dict) or not isinstance(result.get("object"), dict):
            raise ConduitError(
                "Phabricator maniphest.edit returned an unexpected shape",
                "check the task on Phabricator before retrying",
                method="maniphest.edit",
            )
        return result

    def create_task(
        self,
        *,
        title: str,
        description: str,
        project_phids: Sequence[str] = (),
        parent_phid: str | None = None,
        owner_phid: str | None = None,
    ) -> tuple[int, str]:
        """Create a task with ``maniphest.edit``; returns its id and PHID. Never retried once sent."""
        transactions: list[dict[str, Any]] = [
            {"type": "title", "value": title},
            {"type": "description", "value": description},
        ]
        if project_phids:
            transactions.append({"type": "projects.add", "value": list(project_phids)})
        if parent_phid:
            transactions.append({"type": "parent", "value": parent_phid})
        if owner_phid:
            transactions.append({"type": "owner", "value": owner_phid})
        result = self.edit_task(transactions)
        try:
            return int(result["object"]["id"]), str(result["object"]["phid"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ConduitError(
                "Phabricator maniphest.edit answered without the new task's id",
                "check Phabricator for a new task before retrying",
                method="maniphest.edit",
            ) from exc

    def resolve_projects(self, refs: Iterable[str]) -> dict[str, Project]:
        """The project each reference names: a PHID, a name or any hashtag (``#`` optional).

        Compared as :func:`project_key` compares them: ``sustainability-incident-followup`` finds
        the project Phorge gave the hashtag ``sustainability_incident_followup``. Costs one
        ``project.search`` for PHIDs, one for every other reference's hashtag spellings, and one
        name search per reference still unknown after that. Unknown references are left out.
        """
        wanted = list(dict.fromkeys(ref.strip() for ref in refs if ref and ref.strip()))
        todo = [ref for ref in wanted if ref not in self._projects]
        phids = [ref for ref in todo if ref.startswith("PHID-")]
        if phids:
            by_phid = {p.phid: p for p in _projects(self._by_phids("project.search", phids))}
            self._projects.update({ref: by_phid.get(ref) for ref in phids})
        names = [ref for ref in todo if not ref.startswith("PHID-")]
        if names:
            spellings = {ref: _hashtag_spellings(ref) for ref in names}
            found = self._projects_by_hashtags([s for group in spellings.values() for s in group])
            for ref, group in spellings.items():
                self._projects[ref] = next((found[s] for s in group if s in found), None)
            for ref in names:
                if self._projects[ref] is None:
                    self._projects[ref] = self._project_named(ref)
        return {ref: project for ref in wanted if (project := self._projects.get(ref)) is not None}

    def _projects_by_hashtags(self, hashtags: Sequence[str]) -> dict[str, Project]:
        """``project.search`` by hashtag: hashtag as sent -> project (Phorge normalises what it is sent)."""
        found: dict[str, Project] = {}
        for chunk in chunks(list(dict.fromkeys(hashtags)), SEARCH_PAGE_MAX):
            answer = self.call("project.search", {"constraints": {"slugs": list(chunk)}, "limit": SEARCH_PAGE_MAX})
            if not isinstance(answer, dict):
                raise ConduitError(
                    "Phabricator project.search returned an unexpected shape",
                    "check [phabricator] url",
                    method="project.search",
                )
            records = {p.phid: p for p in _projects(answer.get("data") or [])}
            maps = answer.get("maps") if isinstance(answer.get("maps"), dict) else {}
            slug_map = maps.get("slugMap") if isinstance(maps.get("slugMap"), dict) else {}
            for sent, entry in slug_map.items():
                phid = entry.get("projectPHID") if isinstance(entry, dict) else None
                if phid in records:
                    found[sent] = records[phid]
        return found

    def _project_named(self, ref: str) -> Project | None:
        """The one project whose name or primary hashtag has *ref*'s key (a name search), else None."""
        key = project_key(ref)
        words = " ".join(key.split("_"))
        if not words:
            return None
        answer = self.call("project.search", {"constraints": {"name": words}, "limit": SEARCH_PAGE_MAX})
        candidates = _projects(answer.get("data") or [] if isinstance(answer, dict) else [])
        matches = [p for p in candidates if key in (project_key(p.name), project_key(p.slug or ""))]
        return matches[0] if len(matches) == 1 else None

    def user_phids(self, usernames: Iterable[str]) -> dict[str, str]:
        """Username (``alice`` or ``@alice``, any case) -> user PHID with ``user.search``, 100 per call.

        Unknown usernames are left out; PHIDs given instead of usernames are kept as they are.
        Answers are cached for the client's lifetime.
        """
        wanted = list(dict.fromkeys(name.strip() for name in usernames if name and name.strip()))
        todo = sorted(
            {_username(n) for n in wanted if not n.startswith("PHID-")} - set(self._user_phids)
        )
        for chunk in chunks(todo, BATCH_SIZE):
            self._user_phids.update(dict.fromkeys(chunk))
            for record in self.search("user.search", {"usernames": list(chunk)}):
                fields = record.get("fields")
                if isinstance(fields, dict) and isinstance(fields.get("username"), str):
                    self._user_phids[fields["username"].casefold()] = str(record.get("phid"))
        resolved = {name: name for name in wanted if name.startswith("PHID-")}
        for name in wanted:
            phid = self._user_phids.get(_username(name))
            if phid:
                resolved[name] = phid
        return resolved

    def _by_phids(self, method: str, phids: Iterable[str]) -> list[dict[str, Any]]:
        wanted = _unique(phids)
        found: list[dict[str, Any]] = []
        for chunk in chunks(wanted, BATCH_SIZE):
            found.extend(self.search(method, {"phids": list(chunk)}))
        return found


def _identity(item: Any) -> str:
    """What tells one search result from another: its PHID, else its id."""
    if not isinstance(item, dict):
        return ""
    return str(item.get("phid") or item.get("id") or "")


def _before(item: Any, since: int) -> bool:
    """Whether *item* was created before *since* (epoch seconds). One without a creation time is
    not: it goes to the caller, whose parser reports it, instead of ending the scan unseen."""
    value = item.get("dateCreated") if isinstance(item, dict) else None
    return isinstance(value, int) and value < since


def _data_list(result: Any, method: str) -> list[dict[str, Any]]:
    if isinstance(result, dict) and isinstance(result.get("data"), list):
        return [item for item in result["data"] if isinstance(item, dict)]
    raise ConduitError(
        f"Phabricator {method} returned a result without a data list",
        "check [phabricator] url",
        method=method,
    )


def _field_map(records: Iterable[Mapping[str, Any]], field: str) -> dict[str, str]:
    names: dict[str, str] = {}
    for record in records:
        fields = record.get("fields")
        if (
            isinstance(record.get("phid"), str)
            and isinstance(fields, dict)
            and isinstance(fields.get(field), str)
        ):
            names[record["phid"]] = fields[field]
    return names


def _projects(records: Iterable[Any]) -> list[Project]:
    found = []
    for record in records:
        fields = record.get("fields") if isinstance(record, dict) else None
        if isinstance(fields, dict) and isinstance(record.get("phid"), str) and isinstance(fields.get("name"), str):
            slug = fields.get("slug")
            found.append(Project(record["phid"], fields["name"], slug if isinstance(slug, str) and slug else None))
    return found


def _hashtag_spellings(ref: str) -> list[str]:
    """*ref* as sent, and with every ``-`` as ``_`` and the reverse (Phorge keeps both characters)."""
    text = ref.strip().lstrip("#")
    return list(dict.fromkeys(s for s in (text, text.replace("-", "_"), text.replace("_", "-")) if s))


def _username(name: str) -> str:
    return name.strip().lstrip("@").casefold()


def _raise_for_wrong_path(method: str, status: int, text: str, url: str, scrubbed: Callable[[str], str]) -> None:
    """Phorge's own one-line answer to a request outside ``/api/<method>``: a configuration error."""
    if status == 200 and text.startswith(_WRONG_PATH_PREFIX):
        parts = urlsplit(url)
        raise ConduitError(
            f"Phabricator {method} failed: {scrubbed(text)}",
            f"set [phabricator] url to the site root, e.g. {parts.scheme}://{parts.netloc}/",
            method=method,
            code=WRONG_PATH,
        )


def _describe_body(text: str, content_type: str, scrubbed: Callable[[str], str]) -> str:
    """A short, scrubbed description of a non-Conduit body (an HTML page's title, never the page)."""
    if "html" in content_type.lower() or text.lstrip()[:15].lower().startswith(("<!doctype", "<html")):
        title = _HTML_TITLE.search(text[:65536])
        if title:
            return f" with an HTML page ({scrubbed(html.unescape(title.group(1)))[:80]})"
        return " with an HTML page"
    return "" if not text.strip() else " with a non-JSON body"


def task_view(item: Mapping[str, Any]) -> TaskView:
    """The fields actionables use from one ``maniphest.search`` item; SourceError if it is malformed."""
    try:
        fields = item["fields"]
        status = fields["status"]
        priority = fields.get("priority") or {}
        attachments = item.get("attachments") or {}
        projects = (attachments.get("projects") or {}).get("projectPHIDs") or []
        created = from_epoch(fields.get("dateCreated"))
        modified = from_epoch(fields.get("dateModified")) or created
        if created is None or modified is None:
            raise KeyError("dateCreated")
        return TaskView(
            id=int(item["id"]),
            phid=str(item["phid"]),
            title=str(fields.get("name") or ""),
            owner_phid=fields.get("ownerPHID"),
            status_value=str(status["value"]),
            status_name=str(status.get("name") or ""),
            closed_at=from_epoch(fields.get("dateClosed")),
            priority=priority.get("name"),
            priority_value=priority.get("value"),
            project_phids=tuple(str(p) for p in projects),
            created_at=created,
            modified_at=modified,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise SourceError(
            f"phabricator: unexpected maniphest.search item {str(item.get('id', '?'))[:20]}",
            hint="the Conduit API answered in an unexpected shape; check [phabricator] url",
        ) from exc


def remarkup_link(url: str, label: str) -> str:
    """A Remarkup link, ``[[URL | label]]``, as task descriptions write them."""
    return f"[[{url} | {label}]]"
