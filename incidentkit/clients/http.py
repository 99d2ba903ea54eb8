"""Plain HTTP for the JSON APIs (Prometheus/Thanos, Alertmanager), and what every client shares.

A session carries incidentkit's User-Agent (:data:`USER_AGENT`, also sent by the Conduit and
MediaWiki clients); :func:`get_json` adds the timeout, decodes
JSON, and turns every transport or HTTP failure into a :class:`SourceError` with a hint that
names the config key to check. It returns the decoded value *and* the raw text, because the raw
text is what an :class:`~incidentkit.sources.Export` saves.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import requests

from ..errors import SourceError
from ..util import version

__all__ = ["USER_AGENT", "Session", "make_session", "get_json", "mask_url"]

USER_AGENT = f"incidentkit/{version()} (incident report tool; https://wikitech.wikimedia.org/wiki/Incident_status)"

Session = requests.Session
Params = Mapping[str, str] | Sequence[tuple[str, str]]


def make_session() -> requests.Session:
    """A requests session with incidentkit's User-Agent and JSON accepted."""
    session = requests.Session()
    session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
    return session


def mask_url(url: str) -> str:
    """*url* with any ``user:password@`` credentials masked, fit for messages and saved metadata."""
    return re.sub(r"//([^/@:]+):([^/@]+)@", r"//\1:****@", url)


def _error_detail(response: requests.Response) -> str:
    """The server's own error message when the body says one (Prometheus/Alertmanager JSON or text)."""
    text = response.text.strip()
    try:
        body = json.loads(text)
    except ValueError:
        return text[:200]
    if isinstance(body, Mapping) and body.get("error"):
        return str(body["error"])[:300]
    return text[:200]


def get_json(
    session: requests.Session,
    url: str,
    params: Params | None = None,
    *,
    source: str,
    timeout: float,
    setting: str,
) -> tuple[Any, str]:
    """GET *url* and return ``(decoded JSON, raw text)``.

    *source* names the source in messages; *setting* is the config section to point hints at
    (e.g. ``[prometheus] url``).

    Raises:
        SourceError: the server cannot be reached, times out, answers with an HTTP error or
            with a body that is not JSON.
    """
    shown = mask_url(url)
    try:
        response = session.get(url, params=params, timeout=timeout)
    except requests.Timeout as exc:
        raise SourceError(
            f"{source}: {shown} did not answer within {timeout:g} s",
            hint=f"raise the timeout in {setting.split()[0]} or narrow the window",
        ) from exc
    except requests.ConnectionError as exc:
        raise SourceError(
            f"{source}: cannot connect to {shown}",
            hint=f"is the server up and reachable? check {setting}",
        ) from exc
    except requests.RequestException as exc:
        raise SourceError(f"{source}: request to {shown} failed: {exc}", hint=f"check {setting}") from exc
    if response.status_code >= 400:
        detail = _error_detail(response)
        hint = f"check {setting}"
        if response.status_code in (401, 403):
            hint = f"the server refused access; check {setting} and any proxy credentials"
        elif response.status_code == 404:
            hint = f"{setting} should be the server's base URL (e.g. http://host:9090), not an API path"
        elif response.status_code in (502, 503, 504):
            hint = "the server is overloaded or restarting; try again, or narrow the window"
        raise SourceError(f"{source}: HTTP {response.status_code} from {shown}: {detail}", hint=hint)
    text = response.text
    try:
        return json.loads(text), text
    except ValueError as exc:
        raise SourceError(
            f"{source}: {shown} did not return JSON",
            hint=f"{setting} should point at the API server itself, not a login page or proxy",
        ) from exc
