"""The wiki client: all I/O with a MediaWiki (the only module that imports mwclient).

Owns connecting to a configured wiki (``[wikis.NAME]``: ``url`` is the scheme, host and script path
of api.php), logging in with a bot password read from the env var named by ``password_env``
(anonymous reading otherwise), batched reads (50 titles per API request, continuation followed),
prefix and category listings, conflict-safe saves, file uploads and rendering wikitext with the
wiki's own parser. Region splicing and report parsing live elsewhere; this module only talks.

Connecting is lazy: :func:`connect_wiki` does no I/O, the first call does. Which error class a
failure raises follows the operation, so callers need not translate:

* reading (:meth:`~MwclientWiki.read`, ``read_many``, ``list_prefix``, ``list_category``,
  ``check``) raises :class:`~incidentkit.errors.SourceError` — the wiki is a draft source there;
* writing (:meth:`~MwclientWiki.save`, ``render_html``) raises
  :class:`~incidentkit.errors.PublishError`, and :class:`~incidentkit.errors.ConflictError` when
  somebody else changed (or created, or deleted) the page since it was read.

A missing page is not an error: ``read`` returns None and callers decide. Every request runs
within the budget (:mod:`incidentkit.clients.budget`: the pull's deadline and the answer size
cap; retries and ``Retry-After`` waits included), continuation that makes no progress is an
error, and an answer of an unexpected shape (a list, missing keys, not JSON) is an error of the
operation's class, never a traceback. Lone surrogates in answers are replaced (``replaced``
counts them). The password, and every other configured secret, never appears in a message, a
``repr`` or an attribute, even when the wiki echoes it.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar
from urllib.parse import quote, urlsplit

import mwclient
import mwclient.errors
import mwclient.sleep
import requests

from ..config import Settings, WikiSettings, read_secret, secret_values
from ..errors import ConfigError, ConflictError, IncidentKitError, PublishError, SourceError
from ..util import chunks
from .budget import MAX_RETRY_AFTER, OverBudget, wait
from .http import USER_AGENT, loads, mount_budget, redact, retry_after

__all__ = [
    "PageText",
    "WikiClient",
    "MwclientWiki",
    "connect_wiki",
    "split_wiki_url",
    "html_errors",
    "BATCH_SIZE",
]

BATCH_SIZE = 50  # titles per read request (the API's limit for clients without apihighlimits)
URL_HINT = "url must be the scheme, host and script path of api.php, e.g. https://wikitech.wikimedia.org/w/"
RIGHTS_HINT = "check the bot's rights: the grants of its bot password and the groups of its user"
MAX_RETRIES = 2  # retries after a 5xx, a 429 or a dropped connection once connected
RETRY_SECONDS = 2
MAX_IDLE_CONTINUATIONS = 3  # answers in a row that bring nothing new before continuation is refused
_RETRIED_CODES = {"internal_api_error_DBConnectionError", "internal_api_error_DBQueryError"}
_R = TypeVar("_R")
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_ERROR_ELEMENT = re.compile(r"<(\w+)[^>]*\bclass=\"(?:[^\"]*\s)?error(?:\s[^\"]*)?\"[^>]*>(.*?)</\1>", re.S)

# API error codes that mean "you may not write this page"; anything else is reported by its code.
_REFUSED = {
    "protectedpage",
    "cascadeprotected",
    "protectedtitle",
    "protectednamespace",
    "protectednamespace-interface",
    "permissiondenied",
    "writeapidenied",
    "noedit",
    "noedit-anon",
    "cantcreate",
    "cantcreate-anon",
    "blocked",
    "autoblocked",
    "mwoauth-invalid-authorization",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class PageText:
    """One revision of a page as stored on the wiki."""

    title: str  # the wiki's canonical title ("Incidents/2026-11-20 Example")
    text: str  # the wikitext, exactly as stored
    revid: int
    timestamp: datetime  # when the revision was saved, aware UTC

    def __post_init__(self) -> None:
        if self.timestamp.utcoffset() is None:
            raise ValueError("PageText.timestamp must be timezone-aware")


class WikiClient(Protocol):
    """The boundary to a MediaWiki; :class:`MwclientWiki` is the real one, tests may fake it."""

    name: str
    url: str
    request_count: int

    def check(self) -> str: ...
    def read(self, title: str) -> PageText | None: ...
    def read_many(self, titles: Iterable[str]) -> dict[str, PageText | None]: ...
    def list_prefix(self, prefix: str) -> list[str]: ...
    def list_category(self, name: str) -> list[str]: ...
    def save(self, title: str, text: str, *, summary: str, base: PageText | None) -> PageText: ...
    def render_html(self, text: str, title: str) -> str: ...
    def upload(self, filename: str, data: bytes, *, comment: str, text: str) -> bool: ...


def page_url(wiki_url: str, title: str) -> str:
    """The address readers open for page *title* of the wiki whose api.php lives at *wiki_url*."""
    base = wiki_url.rsplit("/", 1)[0] if wiki_url.endswith(".php") else wiki_url.rstrip("/")
    return f"{base}/index.php?title={quote(title.replace(' ', '_'), safe='/:')}"


def split_wiki_url(url: str, *, name: str = "wiki") -> tuple[str, str, str]:
    """Split a wiki ``url`` into (scheme, host[:port], script path ending in "/").

    "https://wikitech.wikimedia.org/w/" -> ("https", "wikitech.wikimedia.org", "/w/"); a trailing
    "api.php" is dropped. Raises ConfigError (naming ``wikis.<name>.url``) for anything else.
    """
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ConfigError(f"config key wikis.{name}.url must be a http(s) URL, got {url!r}", hint=URL_HINT)
    if "@" in parts.netloc:
        raise ConfigError(f"config key wikis.{name}.url must not contain credentials", hint=URL_HINT)
    path = parts.path or "/"
    if path.endswith("api.php"):
        path = path[: -len("api.php")]
    if not path.endswith("/"):
        path += "/"
    return parts.scheme, parts.netloc, path


def connect_wiki(settings: Settings, name: str | None = None) -> MwclientWiki:
    """A client for the wiki *name* (default: the first configured). No I/O happens yet.

    Raises ConfigError when no such wiki is configured or its url is unusable.
    """
    wiki_name, wiki = settings.wiki(name)
    return MwclientWiki(wiki_name, wiki, secrets=secret_values(settings))


def html_errors(html: str) -> list[str]:
    """The error messages a MediaWiki parser output shows (elements of class "error"), in order.

    Parser functions, Cite and templates report problems inline as e.g.
    ``<strong class="error">...</strong>`` or ``<span class="error mw-ext-cite-error">``.
    """
    return [re.sub(r"<[^>]+>", "", match.group(2)).strip() for match in _ERROR_ELEMENT.finditer(html)]


def _parse_timestamp(value: str) -> datetime:
    return datetime.strptime(value, TIMESTAMP_FORMAT).replace(tzinfo=UTC)


def _format_timestamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime(TIMESTAMP_FORMAT)


def _scrubbed(method: Callable[..., _R]) -> Callable[..., _R]:
    """The client boundary: no error leaving *method* shows a configured secret."""

    @functools.wraps(method)
    def wrapper(self: MwclientWiki, *args: Any, **kwargs: Any) -> _R:
        try:
            return method(self, *args, **kwargs)
        except IncidentKitError as exc:
            exc.message = redact(exc.message, self._secrets)
            exc.hint = redact(exc.hint, self._secrets) if exc.hint else exc.hint
            exc.args = (exc.message,)
            raise

    return wrapper


class _Sleeper(mwclient.sleep.Sleeper):
    """mwclient's pause before a retry (5xx, dropped connection, maxlag), kept within the budget."""

    def sleep(self, min_time: float = 0) -> None:
        self.retries += 1
        if self.retries > self.max_retries:
            raise mwclient.errors.MaximumRetriesExceeded(self, self.args)
        wait(max(self.retry_timeout * self.retries, min_time), "the wiki kept failing")


class _Sleepers(mwclient.sleep.Sleepers):
    def make(self, args: Any = None) -> _Sleeper:
        return _Sleeper(args, self.max_retries, self.retry_timeout, self.callback)


class MwclientWiki:
    """A MediaWiki reached through mwclient, configured by one ``[wikis.NAME]`` section.

    ``request_count`` counts every HTTP request sent to the wiki (retries included); ``replaced``
    counts the lone surrogates replaced in its answers. ``list_limit`` is the page size of
    listings ("max": 500, or 5000 with apihighlimits). *secrets* (every configured secret's value)
    are scrubbed from every message.
    """

    list_limit: int | str = "max"

    def __init__(self, name: str, wiki: WikiSettings, *, secrets: Sequence[str] = ()) -> None:
        self.name = name
        self.url = wiki.url
        self.user = wiki.user
        self.password_env = wiki.password_env
        self.timeout = wiki.timeout
        self.scheme, self.host, self.path = split_wiki_url(wiki.url, name=name)
        self.request_count = 0
        self.replaced = 0
        self.logged_in = False
        self._secrets = tuple(secrets)
        self._site: mwclient.Site | None = None
        self._generator = ""
        self._namespaces: dict[str, int] = {}  # lower-cased names, canonical names and aliases -> id
        self._namespace_names: dict[int, str] = {}
        self._csrf = ""  # the edit token of this login, fetched with the first read or on the first save

    def __repr__(self) -> str:
        return f"<MwclientWiki {self.name} {self.url} user={self.user or '(anonymous)'}>"

    # --- connecting ------------------------------------------------------------------------

    def _count(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self.request_count += 1

    def _password(self) -> str | None:
        password = read_secret(self.password_env) if self.user else None
        if password and password not in self._secrets:
            self._secrets += (password,)
        return password

    def _connect(self, error: type[IncidentKitError]) -> mwclient.Site:
        """The connected (and, with a password, logged-in) site; the first call does the I/O."""
        if self._site is not None:
            return self._site
        site = mwclient.Site(
            self.host,
            path=self.path,
            scheme=self.scheme,
            clients_useragent=USER_AGENT,
            do_init=False,
            max_retries=MAX_RETRIES,
            retry_timeout=RETRY_SECONDS,
            connection_options={"timeout": self.timeout},
        )
        site.sleepers = _Sleepers(MAX_RETRIES, RETRY_SECONDS)
        mount_budget(site.connection)
        site.connection.hooks["response"].append(self._count)
        password = self._password()
        meta = "siteinfo|tokens" if password else "siteinfo"
        # One request: site info, namespaces and (to log in) a login token. No retries, so an
        # unreachable wiki fails at once.
        try:
            info = self._call(
                site, error, "query", "GET", retry=False, meta=meta, type="login",
                siprop="general|namespaces|namespacealiases",
            )  # fmt: skip
            with self._shape(error, "its site information"):
                self._read_siteinfo(info["query"])
                token = str(info["query"]["tokens"]["logintoken"]) if password else ""
            if password:
                self._login(site, error, password, token)
        except _APIFailure as failure:
            raise error(
                f"wiki {self.name} at {self.url} refused to connect: {failure.info} ({failure.code})",
                hint=URL_HINT,
            ) from failure
        self._site = site
        return site

    def _read_siteinfo(self, query: dict[str, Any]) -> None:
        self._generator = str(query["general"].get("generator", "MediaWiki"))
        for ns in query["namespaces"].values():
            self._namespace_names[int(ns["id"])] = str(ns["name"])
            for label in (ns["name"], ns.get("canonical", "")):
                if label:
                    self._namespaces[str(label).lower()] = int(ns["id"])
        for alias in query.get("namespacealiases", []):
            self._namespaces[str(alias["alias"]).lower()] = int(alias["id"])

    def _login(self, site: mwclient.Site, error: type[IncidentKitError], password: str, token: str) -> None:
        result = self._call(
            site, error, "login", "POST", lgname=self.user, lgpassword=password, lgtoken=token
        )
        with self._shape(error, "the login"):
            login = result.get("login", {})
            result_code = login.get("result")
            reason = login.get("reason")
        if result_code != "Success":
            if isinstance(reason, dict):  # newer wikis: {"code": ..., "text": ...}
                reason = reason.get("text") or reason.get("code")
            raise error(
                f"login to wiki {self.name} refused for user {self.user}: {reason or result_code or 'no reason given'}",
                hint=f"check the bot password in ${self.password_env} (it may have been changed or revoked) and "
                f"the user name in wikis.{self.name}.user (bot passwords log in as User@appid)",
            )
        self.logged_in = True

    def _relogin(self, site: mwclient.Site) -> None:
        """Log in again in the same session: the wiki ended the login (expired, or the bot password
        was changed or revoked since)."""
        self.logged_in = False
        self._csrf = ""
        password = self._password()
        if not password:
            raise PublishError(
                f"wiki {self.name} ended the login of {self.user} and ${self.password_env} is no longer set",
                hint=f"put the bot password of {self.user} in ${self.password_env}",
            )
        try:
            info = self._call(site, PublishError, "query", "GET", meta="tokens", type="login")
            with self._shape(PublishError, "the login token"):
                token = str(info["query"]["tokens"]["logintoken"])
            self._login(site, PublishError, password, token)
        except _APIFailure as failure:
            raise PublishError(
                f"wiki {self.name} refused to log {self.user} in again: {failure.info} ({failure.code})",
                hint=RIGHTS_HINT,
            ) from failure

    # --- one request ------------------------------------------------------------------------

    @contextmanager
    def _shape(self, error: type[IncidentKitError], what: str) -> Iterator[None]:
        """Reading an answer: a missing key or a value of the wrong type becomes *error*."""
        try:
            yield
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            detail = f"{type(exc).__name__}: {exc}"[:80]
            raise error(
                f"wiki {self.name} answered {what} in an unexpected shape ({detail})",
                hint="the server does not answer like a MediaWiki API; " + URL_HINT,
            ) from exc

    def _pause(self, error: type[IncidentKitError], seconds: float, why: str) -> None:
        try:
            wait(seconds, why)
        except OverBudget as exc:
            raise error(f"wiki {self.name} at {self.url}: {exc.reason}", hint=exc.hint) from exc

    def _send(
        self,
        site: mwclient.Site,
        error: type[IncidentKitError],
        method: str,
        data: dict[str, Any],
        retry: bool,
        files: Mapping[str, Any] | None = None,
    ) -> str:
        """The raw answer to one API request (*files*: a multipart upload). mwclient retries 5xx answers
        and dropped connections (within the budget); a 429 is retried here after its Retry-After, if that fits."""
        for attempt in range(MAX_RETRIES + 1):
            try:
                return str(site.raw_call("api", data, files=files, retry_on_error=retry, http_method=method))
            except OverBudget as exc:
                raise error(f"wiki {self.name} at {self.url} {exc.reason}", hint=exc.hint) from exc
            except requests.exceptions.TooManyRedirects as exc:
                raise error(f"wiki {self.name} at {self.url} redirects in a loop", hint=URL_HINT) from exc
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
                raise error(
                    f"wiki {self.name} at {self.url} is unreachable: {_reason(exc)}",
                    hint=f"check the network and wikis.{self.name}.url (timeout {self.timeout:g}s)",
                ) from exc
            except mwclient.errors.MaximumRetriesExceeded as exc:
                raise error(
                    f"wiki {self.name} at {self.url} is unreachable: it kept failing after {MAX_RETRIES} retries",
                    hint="try again later",
                ) from exc
            except requests.exceptions.HTTPError as exc:
                status = exc.response.status_code if exc.response is not None else 0
                delay = retry_after(exc.response) if status == 429 and exc.response is not None else None
                if delay is None or delay > MAX_RETRY_AFTER or attempt == MAX_RETRIES:
                    hint = "the wiki is rate limiting incidentkit; try again later" if status == 429 else URL_HINT
                    asked = f"; it asked to wait {delay:g} s" if delay is not None else ""
                    raise error(f"wiki {self.name} at {self.url} answered HTTP {status or 'error'}{asked}", hint=hint) from exc
                self._pause(error, delay, "rate limited (HTTP 429)")
            except requests.exceptions.RequestException as exc:
                raise error(
                    f"wiki {self.name} at {self.url}: the request failed ({type(exc).__name__})", hint=URL_HINT
                ) from exc
            except (TypeError, ValueError) as exc:  # mwclient reading a malformed maxlag answer
                raise error(f"{self.url} (wiki {self.name}) does not answer like a MediaWiki API", hint=URL_HINT) from exc
        raise AssertionError("the last attempt returns or raises above")

    def _call(
        self,
        site: mwclient.Site,
        error: type[IncidentKitError],
        action: str,
        method: str,
        *,
        retry: bool = True,
        files: Mapping[str, Any] | None = None,
        **params: Any,
    ) -> dict[str, Any]:
        """One API request (formatversion=2), every failure translated into *error*; an API error
        code becomes :class:`_APIFailure` (database hiccups are retried first). *files* are sent
        as a multipart upload."""
        params.setdefault("formatversion", 2)
        token = params.pop("token", None)
        data = {**params, "action": action, "format": "json"}
        if token is not None:
            data["token"] = token  # last, so that a truncated request cannot carry a valid token
        for attempt in range(MAX_RETRIES + 1):
            info = self._decode(self._send(site, error, method, data, retry, files), error)
            failure = info.get("error")
            if failure is None:
                return info
            code, detail = (
                (str(failure.get("code") or "unknown"), str(failure.get("info") or ""))
                if isinstance(failure, dict)
                else ("unknown", str(failure))
            )
            if code in _RETRIED_CODES and retry and attempt < MAX_RETRIES:
                self._pause(error, RETRY_SECONDS * (attempt + 1), "the wiki's database failed")
                continue
            if code == "readapidenied":
                raise error(
                    f"wiki {self.name} does not let {self.user or 'anonymous users'} read it",
                    hint=f"set wikis.{self.name}.user and the bot password in ${self.password_env}",
                )
            raise _APIFailure(redact(code, self._secrets), redact(detail, self._secrets))
        raise AssertionError("the last attempt returns or raises above")

    def _decode(self, text: str, error: type[IncidentKitError]) -> dict[str, Any]:
        try:
            info, replaced = loads(text)
        except ValueError as exc:
            raise error(
                f"{self.url} (wiki {self.name}) does not answer like a MediaWiki API (the answer is not JSON)",
                hint=URL_HINT,
            ) from exc
        if not isinstance(info, dict):
            raise error(
                f"{self.url} (wiki {self.name}) does not answer like a MediaWiki API (a JSON {type(info).__name__})",
                hint=URL_HINT,
            )
        self.replaced += replaced
        return info

    def _api(self, error: type[IncidentKitError], action: str, method: str, **params: Any) -> dict[str, Any]:
        """Connect if needed, then one API request; an API error code becomes *error*."""
        site = self._connect(error)
        try:
            return self._call(site, error, action, method, **params)
        except _APIFailure as failure:
            raise error(
                f"wiki {self.name} refused {action}: {failure.info} ({failure.code})", hint=RIGHTS_HINT
            ) from failure

    @_scrubbed
    def check(self) -> str:
        """Connect (and log in); describe it, e.g. "MediaWiki 1.39.17 at URL, logged in as USER"."""
        self._connect(SourceError)
        who = f"logged in as {self.user}" if self.logged_in else "anonymous"
        return f"{self._generator} at {self.url}, {who}"

    # --- reading ---------------------------------------------------------------------------

    @_scrubbed
    def read(self, title: str) -> PageText | None:
        """The current revision of *title*, or None when the page does not exist."""
        return self.read_many([title])[title]

    @_scrubbed
    def read_many(self, titles: Iterable[str]) -> dict[str, PageText | None]:
        """The current revisions of *titles* (None for missing pages), keyed by the given titles.

        Sends one request per 50 titles (plus continuations when the contents exceed the wiki's
        result size limit). Raises SourceError, also for an invalid title.
        """
        wanted = list(dict.fromkeys(titles))
        result: dict[str, PageText | None] = {}
        for batch in chunks(wanted, BATCH_SIZE):
            pages, aliases = self._query_batch(batch)
            with self._shape(SourceError, "the pages"):
                for title in batch:
                    canonical = aliases.get(title, title)
                    page = pages.get(canonical)
                    if page is None:
                        raise SourceError(f"wiki {self.name} did not return page {title!r}")
                    result[title] = self._page_text(title, page)
        return result

    def _query_batch(self, batch: Sequence[str]) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
        """Pages (by canonical title) and requested -> canonical titles for one batch of titles."""
        pages: dict[str, dict[str, Any]] = {}
        aliases: dict[str, str] = {}
        params: dict[str, Any] = {
            # U+001F as the separator lets titles contain "|" (the API then reports them invalid).
            "titles": "\x1f" + "\x1f".join(batch),
            "prop": "revisions",
            "rvprop": "content|ids|timestamp",
            "rvslots": "main",
        }
        self._connect(SourceError)
        if self.logged_in and not self._csrf:
            # Logged in, a read usually comes before a save (publish): the edit token comes with it,
            # saving the save a request.
            params["meta"] = "tokens"

        def take(info: dict[str, Any]) -> int:
            query = info.get("query", {})  # a continuation may carry no query at all
            if "tokens" in query:
                self._csrf = str(query["tokens"]["csrftoken"])
            new = 0
            for item in query.get("normalized", []):
                aliases[str(item["from"])] = str(item["to"])
            for page in query.get("pages", []):
                title = str(page["title"])
                known = pages.get(title)
                if known is None:
                    pages[title] = dict(page)
                    new += 1
                elif page.get("revisions") and not known.get("revisions"):
                    known["revisions"] = page["revisions"]
                    new += 1
            return new

        self._query_pages(params, take, "the pages")
        for title, canonical in list(aliases.items()):
            aliases[title] = aliases.get(canonical, canonical)
        return pages, aliases

    def _query_pages(self, params: dict[str, Any], take: Callable[[dict[str, Any]], int], what: str) -> None:
        """Send a query and follow ``continue``; ``take(answer)`` uses each answer and returns how many
        new things it brought. A continuation seen before, or several in a row that bring nothing
        new, is an error: a wiki that keeps answering ``continue`` would otherwise loop for ever."""
        extra: dict[str, Any] = {}
        seen: set[str] = set()
        idle = 0
        while True:
            info = self._api(SourceError, "query", "POST" if "titles" in params else "GET", **params, **extra)
            with self._shape(SourceError, what):
                new = take(info)
                follow = info.get("continue")
                if follow is None:
                    return
                if not isinstance(follow, dict):
                    raise TypeError(f"continue is a {type(follow).__name__}")
                key = json.dumps(follow, sort_keys=True, default=str)
            idle = 0 if new else idle + 1
            if key in seen or idle >= MAX_IDLE_CONTINUATIONS:
                raise SourceError(
                    f"wiki {self.name} keeps answering 'continue' for {what} without new results",
                    hint="the wiki's API is misbehaving; try later, or draft from a saved page with --input sal=FILE",
                )
            seen.add(key)
            extra = follow

    def _page_text(self, title: str, page: dict[str, Any]) -> PageText | None:
        if page.get("invalid"):
            reason = page.get("invalidreason", "invalid title")
            raise SourceError(f"{title!r} is not a valid page title on wiki {self.name}: {reason}")
        if page.get("missing") or page.get("special"):
            return None
        revisions = page.get("revisions")
        if not revisions:
            raise SourceError(f"wiki {self.name} returned no revision for page {page['title']!r}")
        revision = revisions[0]
        main = revision.get("slots", {}).get("main", {})
        if "content" not in main:
            raise SourceError(
                f"the text of {page['title']!r} revision {revision.get('revid')} on wiki {self.name} is hidden",
                hint=RIGHTS_HINT,
            )
        return PageText(
            title=str(page["title"]),
            text=str(main["content"]),
            revid=int(revision["revid"]),
            timestamp=_parse_timestamp(revision["timestamp"]),
        )

    def _resolve_namespace(self, title: str) -> tuple[int, str]:
        """(namespace id, rest) for a title or prefix: "Template:Foo" -> (10, "Foo")."""
        if title.startswith(":"):
            return 0, title[1:]
        head, colon, rest = title.partition(":")
        if colon:
            ns = self._namespaces.get(head.strip().replace("_", " ").lower())
            if ns is not None:
                return ns, rest.lstrip(" _")
        return 0, title

    def _titles(self, params: dict[str, Any], key: str, what: str) -> list[str]:
        """Every title a ``list=`` query returns under ``query.<key>``, across continuations."""
        titles: list[str] = []
        known: set[str] = set()

        def take(info: dict[str, Any]) -> int:
            found = [str(page["title"]) for page in info["query"][key]]
            new = [title for title in found if title not in known]
            titles.extend(new)
            known.update(new)
            return len(new)

        self._query_pages(params, take, what)
        return titles

    @_scrubbed
    def list_prefix(self, prefix: str) -> list[str]:
        """Titles of all pages starting with *prefix* ("Incidents/", "Template:IR"), in wiki order.

        The namespace is resolved from the prefix (names, canonical names and aliases); redirects
        are included. Raises SourceError.
        """
        self._connect(SourceError)
        ns, rest = self._resolve_namespace(prefix)
        params = {"list": "allpages", "apnamespace": ns, "apprefix": rest, "aplimit": self.list_limit}
        return self._titles(params, "allpages", f"the pages starting with {prefix!r}")

    @_scrubbed
    def list_category(self, name: str) -> list[str]:
        """Titles of the pages (not subcategories or files) in category *name* ("Category:" optional)."""
        self._connect(SourceError)
        ns, rest = self._resolve_namespace(name)
        category = rest if ns == 14 else name
        params = {
            "list": "categorymembers",
            "cmtitle": f"{self._namespace_names.get(14, 'Category')}:{category}",
            "cmtype": "page",
            "cmprop": "title",
            "cmlimit": self.list_limit,
        }
        return self._titles(params, "categorymembers", f"the pages in category {name!r}")

    # --- writing ---------------------------------------------------------------------------

    @_scrubbed
    def save(self, title: str, text: str, *, summary: str, base: PageText | None) -> PageText:
        """Save *text* as the new revision of *title* and return that revision as stored.

        With *base* (the revision the text was derived from) a concurrent edit by someone else
        that MediaWiki cannot merge, or a deletion since then, raises ConflictError. Without
        *base* the page is only created: an existing page raises ConflictError, never clobbered.
        Saving the same text again changes nothing and returns the current revision.
        Raises PublishError (with a hint) for every other refusal.
        """
        site = self._connect(PublishError)
        if not self.logged_in:
            raise PublishError(
                f"cannot save {title!r} to wiki {self.name} without logging in",
                hint=f"set wikis.{self.name}.user and put its bot password in ${self.password_env}",
            )
        params: dict[str, Any] = {"title": title, "text": text, "summary": summary, "assert": "user"}
        if base is None:
            params["createonly"] = 1
        else:
            # baserevid, not basetimestamp: MediaWiki compares base timestamps to the second and
            # waves through edits by the same user since then, so a colleague's edit in the same
            # second as the base (or our own edit from another run) would be silently overwritten.
            # With baserevid alone any newer revision makes MediaWiki three-way merge or refuse.
            params.update(baserevid=base.revid, starttimestamp=_format_timestamp(base.timestamp), nocreate=1)
        edit = self._edit(site, title, base, params)
        if edit.get("result") != "Success":
            details = ", ".join(sorted(str(k) for k in edit if k not in ("result", "title")))
            raise PublishError(
                f"wiki {self.name} did not save {title!r}: {edit.get('result', 'no result')} ({details})",
                hint="an extension (captcha, spam or abuse filter) refused the edit; " + RIGHTS_HINT,
            )
        with self._shape(PublishError, "the edit"):
            which = {"titles": title} if edit.get("nochange") else {"revids": int(edit["newrevid"])}
        saved = self._read_for_save(site, **which)
        if saved is None:
            raise PublishError(f"wiki {self.name} saved {title!r} but cannot read it back")
        return saved

    def _edit(
        self, site: mwclient.Site, title: str, base: PageText | None, params: dict[str, Any]
    ) -> dict[str, Any]:
        """Send the edit (no automatic retry: it might apply twice). A stale token is renewed, and
        a login the wiki ended is redone, once each: the wiki refused those edits unapplied."""
        renewed = relogged = False
        while True:
            if not self._csrf:
                tokens = self._call(site, PublishError, "query", "GET", meta="tokens")
                with self._shape(PublishError, "the edit token"):
                    self._csrf = str(tokens["query"]["tokens"]["csrftoken"])
            try:
                result = self._call(
                    site, PublishError, "edit", "POST", retry=False, token=self._csrf, **params
                )
            except _APIFailure as failure:
                if failure.code == "badtoken" and not renewed:
                    renewed, self._csrf = True, ""
                    continue
                if failure.code in ("assertuserfailed", "assertbotfailed") and not relogged:
                    relogged = True
                    self._relogin(site)
                    continue
                raise self._edit_error(title, base, failure) from failure
            with self._shape(PublishError, "the edit"):
                edit = result.get("edit", {})
                if not isinstance(edit, dict):
                    raise TypeError(f"edit is a {type(edit).__name__}")
                return dict(edit)

    def _edit_error(self, title: str, base: PageText | None, failure: _APIFailure) -> PublishError:
        where = f"{title!r} on wiki {self.name}"
        nothing = "; nothing was saved"
        if failure.code == "editconflict":
            revid = base.revid if base else "?"
            return ConflictError(
                f"edit conflict: {where} was changed by someone else since revision {revid} was read{nothing}",
                hint="read the page again and redo the change on top of the other edit (publish again)",
            )
        if failure.code == "articleexists":
            return ConflictError(
                f"page {where} already exists; refusing to overwrite it blindly{nothing}",
                hint="read the page first and save with it as the base, or choose another title",
            )
        if failure.code in ("missingtitle", "pagedeleted"):
            return ConflictError(
                f"page {where} was deleted since it was read{nothing}",
                hint="check the page's deletion log; publish again to create it anew",
            )
        if failure.code in _REFUSED:
            return PublishError(
                f"wiki {self.name} refused to save {title!r}: {failure.info} ({failure.code})",
                hint=RIGHTS_HINT,
            )
        if failure.code in ("assertuserfailed", "assertbotfailed"):
            return PublishError(
                f"wiki {self.name} ended the login of {self.user} again right after it logged in anew, "
                f"while saving {title!r}{nothing}",
                hint="the wiki does not keep the login session (check its session and cookie settings), "
                "or the bot password lacks the grants to edit; " + RIGHTS_HINT,
            )
        return PublishError(
            f"wiki {self.name} refused to save {title!r}: {failure.info} ({failure.code})",
            hint="see the API error code in the MediaWiki API documentation",
        )

    def _read_for_save(self, site: mwclient.Site, **which: Any) -> PageText | None:
        """One revision (by ``revids`` or current by ``titles``) for save; errors are PublishError."""
        params = {"prop": "revisions", "rvprop": "content|ids|timestamp", "rvslots": "main", **which}
        try:
            info = self._call(site, PublishError, "query", "GET", **params)
        except _APIFailure as failure:
            raise PublishError(
                f"wiki {self.name} refused to read back: {failure.info} ({failure.code})"
            ) from failure
        with self._shape(PublishError, "the saved revision"):
            pages = info.get("query", {}).get("pages", [])
            if not pages:
                return None
            try:
                return self._page_text(str(pages[0].get("title", "")), pages[0])
            except SourceError as exc:
                raise PublishError(exc.message, hint=exc.hint) from exc

    @_scrubbed
    def upload(self, filename: str, data: bytes, *, comment: str, text: str) -> bool:
        """Upload *data* as ``File:filename`` (a new version when the file exists; *text* is the file
        page of a new file). False when it is identical to the current version, True when uploaded.

        Raises PublishError when the wiki refuses: uploads disabled, no upload right, file type not
        allowed, or any other API error (its code is in the message).
        """
        site = self._connect(PublishError)
        if not self.logged_in:
            raise PublishError(
                f"cannot upload {filename!r} to wiki {self.name} without logging in",
                hint=f"set wikis.{self.name}.user and put its bot password in ${self.password_env}",
            )
        for attempt in (1, 2):
            try:
                if not self._csrf or attempt == 2:
                    tokens = self._call(site, PublishError, "query", "GET", meta="tokens")
                    with self._shape(PublishError, "the edit token"):
                        self._csrf = str(tokens["query"]["tokens"]["csrftoken"])
                # not retried: a second upload of a request that reached the wiki is a second version
                info = self._call(
                    site, PublishError, "upload", "POST", retry=False, files={"file": (filename, data)},
                    filename=filename, comment=comment, text=text, ignorewarnings=1, token=self._csrf,
                )  # fmt: skip
            except _APIFailure as failure:
                if failure.code == "fileexists-no-change":
                    return False
                if failure.code == "badtoken" and attempt == 1:
                    continue
                raise PublishError(
                    f"wiki {self.name} refused to upload {filename!r}: {failure.info} ({failure.code})",
                    hint="enable uploads ($wgEnableUploads, the file type in $wgFileExtensions) and the bot's upload grant",
                ) from failure
            with self._shape(PublishError, "the upload"):
                result = info.get("upload") or {}
                outcome = result.get("result")
            if outcome != "Success":
                raise PublishError(f"wiki {self.name} did not upload {filename!r}: {str(outcome or 'no result')[:80]}")
            return True
        raise AssertionError("a second badtoken raises above")

    @_scrubbed
    def render_html(self, text: str, title: str) -> str:
        """The HTML the wiki's own parser makes of *text* as page *title*. Raises PublishError."""
        info = self._api(
            PublishError, "parse", "POST", text=text, title=title, contentmodel="wikitext",
            prop="text", disablelimitreport=1,
        )  # fmt: skip
        with self._shape(PublishError, "the parse"):
            return str(info["parse"]["text"])


class _APIFailure(Exception):
    """An API error code inside this module, before it becomes a SourceError or PublishError."""

    def __init__(self, code: str, info: str) -> None:
        super().__init__(f"{code}: {info}")
        self.code = code
        self.info = info


def _reason(exc: Exception) -> str:
    """A short reason for a connection failure ("connection refused", "timed out")."""
    text = str(exc).lower()
    if isinstance(exc, requests.exceptions.Timeout) or "timed out" in text:
        return "timed out"
    if "refused" in text:
        return "connection refused"
    if "name or service not known" in text or "nodename nor servname" in text or "failed to resolve" in text:
        return "host name not found"
    return type(exc).__name__
