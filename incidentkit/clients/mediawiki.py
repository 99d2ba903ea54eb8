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

A missing page is not an error: ``read`` returns None and callers decide. The password never
appears in a message, a ``repr`` or an attribute.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import quote, urlsplit

import mwclient
import mwclient.errors
import requests

from ..config import Settings, WikiSettings, read_secret
from ..errors import ConfigError, ConflictError, IncidentKitError, PublishError, SourceError
from ..util import chunks
from .http import USER_AGENT

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
MAX_RETRIES = 2  # retries after a 5xx or a dropped connection once connected (sleeps 2 s, then 4 s)
RETRY_SECONDS = 2
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
    return MwclientWiki(wiki_name, wiki)


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


class MwclientWiki:
    """A MediaWiki reached through mwclient, configured by one ``[wikis.NAME]`` section.

    ``request_count`` counts every HTTP request sent to the wiki (retries included).
    ``list_limit`` is the page size of listings ("max": 500, or 5000 with apihighlimits).
    """

    list_limit: int | str = "max"

    def __init__(self, name: str, wiki: WikiSettings) -> None:
        self.name = name
        self.url = wiki.url
        self.user = wiki.user
        self.password_env = wiki.password_env
        self.timeout = wiki.timeout
        self.scheme, self.host, self.path = split_wiki_url(wiki.url, name=name)
        self.request_count = 0
        self.logged_in = False
        self._site: mwclient.Site | None = None
        self._generator = ""
        self._namespaces: dict[str, int] = {}  # lower-cased names, canonical names and aliases -> id
        self._namespace_names: dict[int, str] = {}
        self._csrf = ""  # the edit token of this login, fetched on the first save

    def __repr__(self) -> str:
        return f"<MwclientWiki {self.name} {self.url} user={self.user or '(anonymous)'}>"

    # --- connecting ------------------------------------------------------------------------

    def _count(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self.request_count += 1

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
        site.connection.hooks["response"].append(self._count)
        password = read_secret(self.password_env) if self.user else None
        meta = "siteinfo|tokens" if password else "siteinfo"
        # One request: site info, namespaces and (to log in) a login token. No retries, so an
        # unreachable wiki fails at once.
        try:
            info = self._call(
                site, error, "query", "GET", retry=False, meta=meta, type="login",
                siprop="general|namespaces|namespacealiases",
            )  # fmt: skip
            query = info["query"]
            if password:
                self._login(site, error, password, query["tokens"]["logintoken"])
        except _APIFailure as failure:
            raise error(
                f"wiki {self.name} at {self.url} refused to connect: {failure.info} ({failure.code})",
                hint=URL_HINT,
            ) from failure
        self._generator = query["general"].get("generator", "MediaWiki")
        for ns in query["namespaces"].values():
            self._namespace_names[int(ns["id"])] = ns["name"]
            for label in (ns["name"], ns.get("canonical", "")):
                if label:
                    self._namespaces[label.lower()] = int(ns["id"])
        for alias in query.get("namespacealiases", []):
            self._namespaces[alias["alias"].lower()] = int(alias["id"])
        self._site = site
        return site

    def _login(self, site: mwclient.Site, error: type[IncidentKitError], password: str, token: str) -> None:
        result = self._call(
            site, error, "login", "POST", lgname=self.user, lgpassword=password, lgtoken=token
        )
        login = result.get("login", {})
        if login.get("result") != "Success":
            reason = login.get("reason") or login.get("result") or "no reason given"
            raise error(
                f"login to wiki {self.name} refused for user {self.user}: {reason}",
                hint=f"check the bot password in ${self.password_env} and the user name in wikis.{self.name}.user "
                "(bot passwords log in as User@appid)",
            )
        self.logged_in = True

    def _call(
        self,
        site: mwclient.Site,
        error: type[IncidentKitError],
        action: str,
        method: str,
        *,
        retry: bool = True,
        **params: Any,
    ) -> dict[str, Any]:
        """One API request (formatversion=2), every failure translated into *error*."""
        params.setdefault("formatversion", 2)
        try:
            while True:
                info = site.raw_api(action, method, retry_on_error=retry, **params) or {}
                if site.handle_api_result(info):
                    return dict(info)
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
            status = exc.response.status_code if exc.response is not None else "error"
            raise error(f"wiki {self.name} at {self.url} answered HTTP {status}", hint=URL_HINT) from exc
        except (mwclient.errors.InvalidResponse, mwclient.errors.APIDisabledError) as exc:
            raise error(
                f"{self.url} (wiki {self.name}) does not answer like a MediaWiki API", hint=URL_HINT
            ) from exc
        except mwclient.errors.APIError as exc:
            if exc.code == "readapidenied":
                raise error(
                    f"wiki {self.name} does not let {self.user or 'anonymous users'} read it",
                    hint=f"set wikis.{self.name}.user and the bot password in ${self.password_env}",
                ) from exc
            raise _APIFailure(exc.code or "unknown", exc.info or "") from exc

    def _api(self, error: type[IncidentKitError], action: str, method: str, **params: Any) -> dict[str, Any]:
        """Connect if needed, then one API request; an API error code becomes *error*."""
        site = self._connect(error)
        try:
            return self._call(site, error, action, method, **params)
        except _APIFailure as failure:
            raise error(
                f"wiki {self.name} refused {action}: {failure.info} ({failure.code})", hint=RIGHTS_HINT
            ) from failure

    def check(self) -> str:
        """Connect (and log in); describe it, e.g. "MediaWiki 1.39.17 at URL, logged in as USER"."""
        self._connect(SourceError)
        who = f"logged in as {self.user}" if self.logged_in else "anonymous"
        return f"{self._generator} at {self.url}, {who}"

    # --- reading ---------------------------------------------------------------------------

    def read(self, title: str) -> PageText | None:
        """The current revision of *title*, or None when the page does not exist."""
        return self.read_many([title])[title]

    def read_many(self, titles: Iterable[str]) -> dict[str, PageText | None]:
        """The current revisions of *titles* (None for missing pages), keyed by the given titles.

        Sends one request per 50 titles (plus continuations when the contents exceed the wiki's
        result size limit). Raises SourceError, also for an invalid title.
        """
        wanted = list(dict.fromkeys(titles))
        result: dict[str, PageText | None] = {}
        for batch in chunks(wanted, BATCH_SIZE):
            pages, aliases = self._query_batch(batch)
            for title in batch:
                canonical = aliases.get(title, title)
                page = pages.get(canonical)
                if page is None:
                    raise SourceError(f"wiki {self.name} did not return page {title!r}")
                result[title] = self._page_text(title, page)
        return result

    def _query_batch(self, batch: list[str]) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
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
        for info in self._query_pages(params):
            query = info.get("query", {})
            for item in query.get("normalized", []):
                aliases[item["from"]] = item["to"]
            for page in query.get("pages", []):
                known = pages.setdefault(page["title"], page)
                if "revisions" in page:
                    known["revisions"] = page["revisions"]
        for title, canonical in list(aliases.items()):
            aliases[title] = aliases.get(canonical, canonical)
        return pages, aliases

    def _query_pages(self, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Every response of a query, following ``continue``."""
        extra: dict[str, Any] = {}
        while True:
            info = self._api(SourceError, "query", "POST" if "titles" in params else "GET", **params, **extra)
            yield info
            if "continue" not in info:
                return
            extra = dict(info["continue"])

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
            title=page["title"],
            text=main["content"],
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

    def list_prefix(self, prefix: str) -> list[str]:
        """Titles of all pages starting with *prefix* ("Incidents/", "Template:IR"), in wiki order.

        The namespace is resolved from the prefix (names, canonical names and aliases); redirects
        are included. Raises SourceError.
        """
        self._connect(SourceError)
        ns, rest = self._resolve_namespace(prefix)
        params = {"list": "allpages", "apnamespace": ns, "apprefix": rest, "aplimit": self.list_limit}
        return [page["title"] for info in self._query_pages(params) for page in info["query"]["allpages"]]

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
        return [
            page["title"] for info in self._query_pages(params) for page in info["query"]["categorymembers"]
        ]

    # --- writing ---------------------------------------------------------------------------

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
            details = ", ".join(sorted(k for k in edit if k not in ("result", "title")))
            raise PublishError(
                f"wiki {self.name} did not save {title!r}: {edit.get('result', 'no result')} ({details})",
                hint="an extension (captcha, spam or abuse filter) refused the edit; " + RIGHTS_HINT,
            )
        if edit.get("nochange"):
            saved = self._read_for_save(site, titles=title)
        else:
            saved = self._read_for_save(site, revids=edit["newrevid"])
        if saved is None:
            raise PublishError(f"wiki {self.name} saved {title!r} but cannot read it back")
        return saved

    def _edit(
        self, site: mwclient.Site, title: str, base: PageText | None, params: dict[str, Any]
    ) -> dict[str, Any]:
        """Send the edit (no automatic retry: it might apply twice); a stale token is renewed once."""
        for attempt in (1, 2):
            if not self._csrf or attempt == 2:
                tokens = self._call(site, PublishError, "query", "GET", meta="tokens")
                self._csrf = tokens["query"]["tokens"]["csrftoken"]
            try:
                result = self._call(
                    site, PublishError, "edit", "POST", retry=False, token=self._csrf, **params
                )
            except _APIFailure as failure:
                if failure.code == "badtoken" and attempt == 1:
                    continue
                raise self._edit_error(title, base, failure) from failure
            return dict(result.get("edit", {}))
        raise AssertionError("a second badtoken raises above")

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
                f"wiki {self.name} forgot the login of {self.user} while saving {title!r}{nothing}",
                hint="run the command again",
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
        pages = info.get("query", {}).get("pages", [])
        if not pages:
            return None
        try:
            return self._page_text(pages[0].get("title", ""), pages[0])
        except SourceError as exc:
            raise PublishError(exc.message, hint=exc.hint) from exc

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
            if not self._csrf or attempt == 2:
                tokens = self._call(site, PublishError, "query", "GET", meta="tokens")
                self._csrf = tokens["query"]["tokens"]["csrftoken"]
            params = {
                "action": "upload", "format": "json", "formatversion": 2, "filename": filename, "comment": comment,
                "text": text, "ignorewarnings": 1, "token": self._csrf,
            }  # fmt: skip
            try:
                raw = site.raw_call("api", params, files={"file": (filename, data)}, retry_on_error=False)
                info = json.loads(raw)
            except (requests.exceptions.RequestException, ValueError) as exc:
                raise PublishError(f"wiki {self.name} did not answer the upload of {filename!r}: {type(exc).__name__}") from exc
            error = info.get("error") if isinstance(info, dict) else None
            if error:
                code = str(error.get("code", "unknown"))
                if code == "fileexists-no-change":
                    return False
                if code == "badtoken" and attempt == 1:
                    continue
                raise PublishError(
                    f"wiki {self.name} refused to upload {filename!r}: {error.get('info', '')} ({code})",
                    hint="enable uploads ($wgEnableUploads, the file type in $wgFileExtensions) and the bot's upload grant",
                )
            result = info.get("upload", {}) if isinstance(info, dict) else {}
            if result.get("result") != "Success":
                raise PublishError(f"wiki {self.name} did not upload {filename!r}: {result.get('result', 'no result')}")
            return True
        raise AssertionError("a second badtoken raises above")

    def render_html(self, text: str, title: str) -> str:
        """The HTML the wiki's own parser makes of *text* as page *title*. Raises PublishError."""
        info = self._api(
            PublishError, "parse", "POST", text=text, title=title, contentmodel="wikitext",
            prop="text", disablelimitreport=1,
        )  # fmt: skip
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
