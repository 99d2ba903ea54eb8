"""Plain HTTP for the JSON APIs (Prometheus/Thanos, Alertmanager), and what every client shares.

* :func:`make_session`: a requests session with incidentkit's User-Agent (:data:`USER_AGENT`, also
  sent by the Conduit and MediaWiki clients), optional credentials, and the
  :class:`~incidentkit.clients.budget.BudgetAdapter` that keeps every request within the pull's
  deadline and size cap;
* :func:`redact`: the one scrubber of messages that come from a remote — the value of every
  configured secret (as given, URL-, HTML- and JSON-escaped), credentials in URLs and lone
  surrogates never leave a client;
* :func:`loads`: JSON decoding that replaces lone surrogates (``"\\ud800"``) and counts them;
* :func:`get_json`: GET with the timeout and the budget, decoded, every transport or HTTP failure
  turned into a :class:`SourceError` whose hint names the config key to check. It returns a
  :class:`JsonAnswer`: the decoded value *and* the raw text, because the raw text is what an
  :class:`~incidentkit.sources.Export` saves (with escapes of lone surrogates already rewritten
  as U+FFFD, and counted). A throttle — a 429 or 503, or a 403 that says when to come back (the
  way Splunk On-Call and others throttle) — with ``Retry-After`` is retried once when the wait
  fits within the deadline.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple
from urllib.parse import quote, quote_plus

import requests

from ..errors import SourceError
from ..util import replace_surrogate_escapes, replace_surrogates, version
from .budget import MAX_RETRY_AFTER, BudgetAdapter, OverBudget, wait

__all__ = [
    "USER_AGENT",
    "REDACTED",
    "Session",
    "make_session",
    "mount_budget",
    "get_json",
    "JsonAnswer",
    "loads",
    "mask_url",
    "redact",
    "retry_after",
]

USER_AGENT = f"incidentkit/{version()} (incident report tool; https://wikitech.wikimedia.org/wiki/Incident_status)"
REDACTED = "<redacted>"
MIN_SECRET = 4  # shorter values would blank ordinary words; no real password or token is this short
_MAX_DETAIL = 200

Session = requests.Session
Params = Mapping[str, str] | Sequence[tuple[str, str]]

_URL_CREDENTIALS = re.compile(r"//([^/@:\s]+):([^/@\s]+)@")
_AUTH_HEADER = re.compile(r"(?i)\b(Basic|Bearer|Token)(\s+)[A-Za-z0-9+/=._~-]{8,}")  # an echoed Authorization value
_LONE_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_THROTTLES = (403, 429, 503)  # statuses that mean "come back later" when they carry Retry-After
_THROTTLE_HINT = "the server is rate limiting incidentkit; try again later"


def mount_budget(session: requests.Session) -> requests.Session:
    """Route every request of *session* through the budget (deadline and size cap)."""
    adapter = BudgetAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def make_session(*, user: str = "", password: str | None = None, token: str | None = None) -> requests.Session:
    """A session with incidentkit's User-Agent, JSON accepted, the budget, and optional credentials.

    *user* and *password* send HTTP basic auth; *token* sends ``Authorization: Bearer``.
    """
    session = mount_budget(requests.Session())
    session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
    if token:
        session.headers["Authorization"] = f"Bearer {token}"
    elif user and password:
        session.auth = (user, password)
    return session


def mask_url(url: str) -> str:
    """*url* with any ``user:password@`` credentials masked, fit for messages and saved metadata."""
    return _URL_CREDENTIALS.sub(r"//\1:****@", url)


def _forms(secret: str) -> set[str]:
    """The ways a secret can be echoed back: as given, URL-encoded, HTML-escaped, inside JSON."""
    return {secret, quote(secret, safe=""), quote_plus(secret), html.escape(secret), json.dumps(secret)[1:-1]}


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """*text* fit to show: every form of every secret in *secrets* replaced by ``<redacted>``, so
    are echoed ``Authorization`` values (``Basic dXNlcjpwdw==`` carries a password too), and
    ``user:password@`` in URLs masked; lone surrogates replaced by U+FFFD."""
    text, _ = replace_surrogates(text)
    forms = sorted({form for s in secrets if s and len(s) >= MIN_SECRET for form in _forms(s)}, key=len, reverse=True)
    for form in forms:
        text = text.replace(form, REDACTED)
    return mask_url(_AUTH_HEADER.sub(rf"\1\2{REDACTED}", text))


def loads(text: str) -> tuple[Any, int]:
    """Decode JSON; lone surrogates in its strings become U+FFFD. Returns (value, how many were replaced).

    Raises ValueError when *text* is not JSON.
    """
    value = json.loads(text)
    if not _LONE_SURROGATE_ESCAPE.search(text):  # only a \\uD800-\\uDFFF escape can make one
        return value, 0
    return replace_surrogates(value)


class JsonAnswer(NamedTuple):
    """What :func:`get_json` read: the decoded value, the text to save, lone surrogates replaced."""

    value: Any
    text: str
    replaced: int


def retry_after(response: requests.Response) -> float | None:
    """The seconds a ``Retry-After`` header asks for (None when absent or an HTTP date)."""
    value = response.headers.get("Retry-After", "").strip()
    try:
        seconds = float(value)
    except ValueError:
        return None
    return max(0.0, seconds) if seconds == seconds else None


def _throttled(response: requests.Response) -> float | None:
    """The wait a throttle answer asks for (see :data:`_THROTTLES`); None for any other answer."""
    return retry_after(response) if response.status_code in _THROTTLES else None


def _error_detail(response: requests.Response, secrets: Iterable[str | None]) -> str:
    """The server's own error message when the body says one (Prometheus/Alertmanager JSON or text)."""
    text = response.content[:4096].decode("utf-8", errors="replace").strip()
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    if isinstance(body, Mapping) and body.get("error"):
        text = str(body["error"])
    return " ".join(redact(text, secrets).split())[:_MAX_DETAIL]


def _status_hint(status: int, setting: str) -> str:
    if status in (401, 403):
        return f"the server refused access; check {setting} and its credentials (user, password_env, token_env)"
    if status == 404:
        return f"{setting} should be the server's base URL (e.g. http://host:9090), not an API path"
    if status == 429:
        return _THROTTLE_HINT
    if status in (502, 503, 504):
        return "the server is overloaded or restarting; try again, or narrow the window"
    return f"check {setting}"


def _get(
    session: requests.Session, url: str, params: Params | None, *, source: str, timeout: float, setting: str
) -> requests.Response:
    shown = mask_url(url)
    try:
        return session.get(url, params=params, timeout=timeout)
    except OverBudget as exc:
        raise SourceError(f"{source}: {shown} {exc.reason}", hint=exc.hint) from exc
    except requests.Timeout as exc:
        raise SourceError(
            f"{source}: {shown} did not answer within {timeout:g} s",
            hint=f"raise the timeout in {setting.split()[0]} or narrow the window",
        ) from exc
    except requests.TooManyRedirects as exc:
        raise SourceError(
            f"{source}: {shown} redirects in a loop", hint=f"{setting} should point at the API server itself"
        ) from exc
    except requests.ConnectionError as exc:
        raise SourceError(
            f"{source}: cannot connect to {shown}",
            hint=f"is the server up and reachable? check {setting}",
        ) from exc
    except requests.RequestException as exc:
        raise SourceError(
            f"{source}: request to {shown} failed: {type(exc).__name__}", hint=f"check {setting}"
        ) from exc


def get_json(
    session: requests.Session,
    url: str,
    params: Params | None = None,
    *,
    source: str,
    timeout: float,
    setting: str,
    secrets: Iterable[str | None] = (),
) -> JsonAnswer:
    """GET *url* and return its decoded JSON and raw text (see :class:`JsonAnswer`).

    *source* names the source in messages; *setting* is the config section to point hints at
    (e.g. ``[prometheus] url``); nothing in *secrets* appears in a message.

    Raises:
        SourceError: the server cannot be reached, times out, overruns the budget, answers with
            an HTTP error or with a body that is not UTF-8 JSON.
    """
    shown = mask_url(url)
    secrets = tuple(secrets)
    response = _get(session, url, params, source=source, timeout=timeout, setting=setting)
    delay = _throttled(response)
    if delay is not None and delay <= MAX_RETRY_AFTER:
        try:
            wait(delay, f"HTTP {response.status_code}")
        except OverBudget as exc:
            raise SourceError(f"{source}: {shown} {exc.reason}", hint=_THROTTLE_HINT) from exc
        response = _get(session, url, params, source=source, timeout=timeout, setting=setting)
        delay = _throttled(response)
    if response.status_code >= 400:
        detail = _error_detail(response, secrets)
        asked = f" (it asked to wait {delay:g} s)" if delay is not None else ""
        raise SourceError(
            f"{source}: HTTP {response.status_code} from {shown}{asked}" + (f": {detail}" if detail else ""),
            hint=_status_hint(429 if delay is not None else response.status_code, setting),
        )
    try:
        text, replaced = replace_surrogate_escapes(response.content.decode("utf-8"))
        return JsonAnswer(json.loads(text), text, replaced)
    except ValueError as exc:
        raise SourceError(
            f"{source}: {shown} did not return JSON",
            hint=f"{setting} should point at the API server itself, not a login page or proxy",
        ) from exc
