"""The ``oncall`` source: pages from Splunk On-Call (formerly VictorOps): who was paged, who acknowledged, who resolved.

``pull`` asks the reporting API (``GET /api-reporting/v2/incidents``, headers ``X-VO-Api-Id`` and
``X-VO-Api-Key``) for the incidents that *started* from ``padding_hours`` before the window to its
end, in all three phases (the API's default is resolved incidents only), 100 a page, following
``offset`` until ``total`` (a page that brings only incidents already read is broken paging, an
error; at most :data:`MAX_PAGES` pages are read). Nothing is filtered server-side: a manual page's routing key cannot be
seen, so a routing-key filter there would drop it. The reporting API allows about one call a
minute; a throttle (429, or a 403 after the same credentials worked) is reported as such, never as
bad credentials (a 403 that says when to come back is a throttle even on the first call). The
key never leaves the request headers.

``parse`` is pure and tolerant (every field is optional, unknown keys are ignored, phases are
matched case-insensitively, ``UNACKED/ACKED`` included). It keeps the incidents whose routing key
or paged teams/policies match ``[oncall] routing_keys``/``teams`` (kept in the export's meta), and
manual pages always (Klaxon's ``Manual #page by <user> (<email>): <summary>``, whose email is not
repeated, or ``monitorType = manual``). Each incident gives:

* a ``page`` event at its ``triggered`` transition (else its start): ``X paged <policy>: N people (names)``,
  where X is the alert name (the first word of an Alertmanager ``[2x] AlertName ...`` display name) or
  the manual page; with teams but no users, who was reached is unknown, and it says so;
* a ``page-ack`` event per acknowledgement (``X acknowledged by alice``);
* a ``page-resolved`` event (``X resolved by bob``, or ``X auto-resolved`` when no person did it);
* a ``page-note`` event for any other transition, verbatim (Klaxon's ``escalator_sysuser`` reroutes
  unacknowledged pages to the batphone).

``data`` carries ``incident`` (the number), ``alertname``, ``entity``, ``users``, ``teams``,
``policies``, ``routing_key``, ``manual``, ``by``, and ``human`` (a person did it).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from ..clients.http import JsonAnswer, get_json, make_session, mask_url, retry_after
from ..config import OncallSettings, Settings, read_secret, secret_values
from ..errors import SourceError
from ..model.event import Event, EventKind
from ..model.people import is_bot, team_key
from ..model.source import REPLACED_CHARACTERS, Export, Problem, Query, SourceResult
from ..model.time import format_utc, parse_utc
from . import SourceSpec, register

__all__ = ["OncallSource", "parse_oncall", "REPORTING_PATH", "PHASES", "PAGE_LIMIT"]

NAME = "oncall"
REPORTING_PATH = "/api-reporting/v2/incidents"
TEAMS_PATH = "/api-public/v1/team"
PHASES = "triggered,acknowledged,resolved"
PAGE_LIMIT = 100  # the documented maximum
MAX_PAGES = 50
MAX_LISTED = 8
AUTO_ESCALATOR = "escalator_sysuser"

_PHASES = {"unacked": "triggered", "triggered": "triggered", "acked": "acknowledged", "acknowledged": "acknowledged", "resolved": "resolved"}
_MANUAL = re.compile(r"^Manual #?page by (?P<who>[^\s:()]+)(?:\s*\([^)]*\))?\s*:?\s*(?P<summary>.*)$", re.IGNORECASE | re.DOTALL)
_COUNT = re.compile(r"^\[\d+x\]\s*")
_ALERTNAME = re.compile(r"^[A-Z][A-Za-z0-9_]*[a-z][A-Za-z0-9_]*$")  # a Prometheus alert name: FrontendUnavailable
MAX_LABEL = 80


class OncallSource:
    """Reads pages from the Splunk On-Call reporting API at ``[oncall] url``."""

    name = NAME

    def __init__(self, settings: OncallSettings, *, secrets: tuple[str, ...] = ()) -> None:
        self.settings = settings
        self.secrets = secrets  # every configured secret: none may show in an error
        self.session = make_session()
        self.session.hooks["response"].append(self._seen)
        self._status: tuple[int, float | None] | None = None  # of the last answer: its status, the wait it asked for

    def _seen(self, response: Any, *args: Any, **kwargs: Any) -> None:
        self._status = (response.status_code, retry_after(response))

    def _login(self) -> str:
        """Put the API id and key on the session; the base URL. Raises SourceError when either is missing."""
        settings = self.settings
        if not settings.url:
            raise SourceError(
                "oncall: no url is configured",
                hint="set url = \"https://api.victorops.com\" in [oncall], or give --input oncall=FILE",
            )
        if not settings.api_id:
            raise SourceError("oncall: no api_id is configured", hint="set api_id in [oncall] (Splunk On-Call: Integrations > API)")
        key = read_secret(settings.key_env)
        if not key:
            raise SourceError(
                f"oncall: the API key is not set (${settings.key_env} is empty)",
                hint=f"export {settings.key_env}=<a read-only API key>, or point [oncall] key_env at the variable that holds it",
            )
        self.session.headers.update({"X-VO-Api-Id": settings.api_id, "X-VO-Api-Key": key})
        return settings.url.rstrip("/")

    def _get(self, url: str, params: list[tuple[str, str]] | None, *, worked_before: bool) -> JsonAnswer:
        self._status = None
        try:
            return get_json(
                self.session, url, params, source=NAME, timeout=self.settings.timeout, setting="[oncall] url",
                secrets=(*self.secrets, read_secret(self.settings.key_env)),
            )
        except SourceError as exc:
            raise self._explain(exc, worked_before) from exc

    def _explain(self, exc: SourceError, worked_before: bool) -> SourceError:
        """Auth errors and throttling in the words of the paging system (a 403 can be either)."""
        if self._status is None:
            return exc
        status, wait_for = self._status
        env = self.settings.key_env
        if status == 401:
            return SourceError(
                "oncall: Splunk On-Call says the API credentials are missing (HTTP 401)",
                hint=f"set [oncall] api_id and put the API key in ${env}",
            )
        if status == 429 or (status == 403 and (worked_before or wait_for is not None)):
            wait = f", retry after {wait_for:g} s" if wait_for is not None else ""
            return SourceError(
                f"oncall: the Splunk On-Call reporting API's rate limit was reached (HTTP {status}{wait})",
                hint="it allows about one call a minute: wait and pull again (pull --save keeps a pull for replay), or narrow the window",
            )
        if status == 403:
            return SourceError(
                "oncall: Splunk On-Call refused the API id or key (HTTP 403)",
                hint=f"check [oncall] api_id and ${env} (a read-only key is enough); a 403 is also the reporting "
                "API's rate limit (about one call a minute): if the credentials are right, wait a minute and pull again",
            )
        return exc

    def pull(self, query: Query) -> Export:
        """Fetch the reporting API's incidents that can touch the window. Raises SourceError."""
        base = self._login()
        settings = self.settings
        start = query.window.start - timedelta(hours=settings.padding_hours)
        url = base + REPORTING_PATH
        files: list[tuple[str, str]] = []
        seen: set[str] = set()  # incident numbers read: a page of only these is no progress
        offset = replaced = 0
        truncated = True
        for page in range(1, MAX_PAGES + 1):
            params = [
                ("startedAfter", format_utc(start)),
                ("startedBefore", format_utc(query.window.end)),
                ("currentPhase", PHASES),
                ("offset", str(offset)),
                ("limit", str(PAGE_LIMIT)),
            ]
            body, text, found = self._get(url, params, worked_before=bool(files))
            replaced += found
            incidents = body.get("incidents") if isinstance(body, dict) else None
            if not isinstance(incidents, list):
                raise SourceError(
                    f"oncall: {mask_url(url)} did not answer with an incident list",
                    hint="[oncall] url should be the API's base URL, e.g. https://api.victorops.com",
                )
            numbers = {_number(i) for i in incidents if isinstance(i, Mapping)} - {""}
            if files and numbers and numbers <= seen:
                raise SourceError(
                    f"oncall: {mask_url(url)} answered the same incidents again at offset {offset} (of a total of {body.get('total')})",
                    hint="the reporting API's paging is broken; try again later, or narrow the window",
                )
            seen |= numbers
            files.append((f"incidents-{page:03d}.json", text))
            offset += len(incidents)
            total = body.get("total")
            if not incidents or not isinstance(total, int) or offset >= total:
                truncated = False
                break
        meta = {
            "url": mask_url(base),
            "started_after": format_utc(start),
            "started_before": format_utc(query.window.end),
            "phases": PHASES,
            "routing_keys": list(settings.routing_keys),
            "teams": list(settings.teams),
            "truncated": truncated,
        }
        if replaced:  # lone surrogates in the answers (counted as problems)
            meta[REPLACED_CHARACTERS] = replaced
        return Export(NAME, tuple(files), meta)

    def check(self) -> str:
        """For ``sources check``: the public team list answers (it does not spend the reporting API's one call a minute)."""
        base = self._login()
        body = self._get(base + TEAMS_PATH, None, worked_before=False).value
        if not isinstance(body, list) or not all(isinstance(team, Mapping) and "slug" in team for team in body):
            raise SourceError(f"oncall: {mask_url(base)} did not answer with a team list", hint="check [oncall] url")
        return f"answered: {len(body)} team(s) visible to this API id"


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return parse_utc(value)
    except ValueError:
        return None


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _number(incident: Mapping[str, Any]) -> str:
    """The incident's number (its entity id when it has none); "" when it has neither."""
    return _text(str(incident.get("incidentNumber") or "")) or _text(incident.get("entityId"))


def _listed(names: list[str]) -> str:
    return ", ".join(names[:MAX_LISTED]) + (", …" if len(names) > MAX_LISTED else "")


class _Page:
    """One reporting-API incident read tolerantly: what was paged, and how it is named in rows."""

    def __init__(self, incident: Mapping[str, Any], number: str) -> None:
        self.number = number
        self.entity = next(
            (_text(incident.get(k)) for k in ("entityDisplayName", "service", "monitorName") if _text(incident.get(k))),
            "unknown alert",
        )
        manual = _MANUAL.match(self.entity)
        monitor = _text(incident.get("monitorName"))
        self.manual = manual is not None or _text(incident.get("monitorType")).lower() == "manual"
        self.by = manual.group("who") if manual else (monitor.removeprefix("vouser-") if monitor.startswith("vouser-") else None)
        if manual is not None:
            summary = " ".join(manual.group("summary").split())
            self.label = f"Manual page by {self.by}" + (f" ({summary})" if summary else "")
            self.alertname = None
        else:
            words = _COUNT.sub("", self.entity).replace("#page", " ").split()
            self.alertname = words[0] if words and _ALERTNAME.match(words[0]) else None
            whole = " ".join(words) or self.entity
            self.label = self.alertname or (whole if len(whole) <= MAX_LABEL else whole[: MAX_LABEL - 1].rstrip() + "…")
        self.users = [u.strip() for u in incident.get("pagedUsers") or () if isinstance(u, str) and u.strip()]
        slugs: dict[str, str] = {}
        self.policies: list[str] = []
        for entry in incident.get("pagedPolicies") or ():
            policy = entry.get("policy") if isinstance(entry, Mapping) else None
            team = entry.get("team") if isinstance(entry, Mapping) else None
            if isinstance(policy, Mapping) and _text(policy.get("name")):
                self.policies.append(_text(policy.get("name")))
            if isinstance(team, Mapping) and _text(team.get("slug")):
                slugs[_text(team.get("slug"))] = _text(team.get("name")) or _text(team.get("slug"))
        team_slugs = [t for t in incident.get("pagedTeams") or () if isinstance(t, str) and t]
        self.team_slugs = list(dict.fromkeys([*team_slugs, *slugs]))
        self.teams = list(dict.fromkeys(slugs.get(slug, slug) for slug in self.team_slugs))
        self.routing_key = _text(incident.get("routingKey"))
        self.phase = _PHASES.get(_text(incident.get("currentPhase")).lower(), _text(incident.get("currentPhase")).lower())

    def keys(self) -> set[str]:
        """Every name the page's teams go by (names, slugs, policies, routing key), as team keys."""
        return {team_key(n) for n in (*self.teams, *self.team_slugs, *self.policies, self.routing_key) if n}

    def paged_text(self) -> str:
        targets = ", ".join(self.policies or self.teams)
        if not self.users:
            return f"{self.label} paged {targets or 'nobody named'} (who was reached is unknown)"
        people = f"{len(self.users)} {'person' if len(self.users) == 1 else 'people'} ({_listed(self.users)})"
        return f"{self.label} paged {targets}: {people}" if targets else f"{self.label} paged {people}"

    def data(self, **extra: Any) -> dict[str, Any]:
        common = {
            "incident": self.number,
            "entity": self.entity,
            "alertname": self.alertname,
            "manual": self.manual,
            "routing_key": self.routing_key or None,
        }
        return {k: v for k, v in {**common, **extra}.items() if v is not None}


def _wanted(page: _Page, routing_keys: set[str], teams: set[str]) -> bool:
    if page.manual or not (routing_keys or teams):
        return True
    return bool(page.routing_key and team_key(page.routing_key) in routing_keys) or bool(page.keys() & teams)


def _transition_event(page: _Page, transition: Mapping[str, Any], when: datetime, key: str) -> Event:
    name = _PHASES.get(_text(transition.get("name")).lower(), _text(transition.get("name")) or "changed")
    by = _text(transition.get("by")) or None
    message = " ".join(_text(transition.get("message")).split())
    human = by is not None and not is_bot(by)
    if name == "acknowledged":
        kind, text = EventKind.PAGE_ACK, f"{page.label} acknowledged" + (f" by {by}" if by else "")
    elif name == "resolved":
        kind = EventKind.PAGE_RESOLVED
        text = f"{page.label} resolved by {by}" if human else f"{page.label} auto-resolved (its alert recovered)"
    else:
        kind = EventKind.PAGE_NOTE
        who = "the Klaxon auto-escalator" if by == AUTO_ESCALATOR else by
        text = f"{page.label} {name}" + (f" by {who}" if who else "")
    if message:
        text += f": {message}"
    data = page.data(transition=name, by=by, message=message or None, manually=transition.get("manually"), human=human)
    return Event(time=when, source=NAME, kind=kind, key=key, text=text, raw=json.dumps(dict(transition), sort_keys=True), data=data)


def _page_events(incident: Mapping[str, Any], page: _Page, where: str) -> tuple[list[Event], list[Problem]]:
    transitions = [t for t in incident.get("transitions") or () if isinstance(t, Mapping)]
    timed = sorted(((_when(t.get("at")), i, t) for i, t in enumerate(transitions)), key=lambda x: (x[0] is None, x[0] or datetime.min, x[1]))
    problems = [Problem(where, f"transition {t.get('name')!r} has no readable time", json.dumps(dict(t))[:120]) for w, _, t in timed if w is None]
    triggered = next((w for w, _, t in timed if w is not None and _text(t.get("name")).lower() in ("triggered", "unacked")), None)
    paged_at = triggered or _when(incident.get("startTime"))
    if paged_at is None:
        return [], [*problems, Problem(where, "page has neither a start time nor a triggered transition")]
    events = [
        Event(
            time=paged_at,
            source=NAME,
            kind=EventKind.PAGE,
            key=f"{NAME}:{page.number}:triggered",
            text=page.paged_text(),
            url=_text(incident.get("incidentLink")) or None,
            raw=json.dumps({k: v for k, v in incident.items() if k != "transitions"}, sort_keys=True),
            data=page.data(
                users=page.users,
                teams=page.teams,
                team_slugs=page.team_slugs,
                policies=page.policies,
                by=page.by,
                human=page.manual,
                phase=page.phase,
                alert_count=incident.get("alertCount"),
            ),
        )
    ]
    seen: set[str] = set()
    for when, _, transition in timed:
        name = _text(transition.get("name")).lower()
        if when is None or (name in ("triggered", "unacked") and when == triggered):
            continue
        key = f"{NAME}:{page.number}:{name or 'changed'}:{int(when.timestamp())}"
        while key in seen:
            key += "+"
        seen.add(key)
        events.append(_transition_event(page, transition, when, key))
    return events, problems


def parse_oncall(export: Export, query: Query) -> SourceResult:
    """Page, acknowledgement and resolution events from saved reporting-API answers. Pure; bad records are problems."""
    meta = export.meta or {}
    routing_keys = {team_key(k) for k in meta.get("routing_keys") or () if isinstance(k, str)}
    teams = {team_key(t) for t in meta.get("teams") or () if isinstance(t, str)}
    events: list[Event] = []
    problems: list[Problem] = []
    notes: list[str] = []
    seen: set[str] = set()
    read = left_out = 0
    for name, text in export.files:
        try:
            body = json.loads(text)
        except ValueError as exc:
            problems.append(Problem(name, f"not JSON: {exc}", text[:120]))
            continue
        incidents = body.get("incidents") if isinstance(body, dict) else body
        if not isinstance(incidents, list):
            problems.append(Problem(name, "not a list of on-call incidents", text[:120]))
            continue
        for position, incident in enumerate(incidents, 1):
            read += 1
            where = f"{name} incident {position}"
            if not isinstance(incident, Mapping):
                problems.append(Problem(where, "incident is not an object", json.dumps(incident)[:120]))
                continue
            number = _number(incident)
            if not number:
                problems.append(Problem(where, "incident has no incidentNumber", json.dumps(incident)[:120]))
                continue
            if number in seen:  # the same incident on two pages (new ones arrived while paging)
                continue
            seen.add(number)
            page = _Page(incident, number)
            if not _wanted(page, routing_keys, teams):
                left_out += 1
                continue
            found, bad = _page_events(incident, page, where)
            events.extend(e for e in found if e.within(query.window))
            problems.extend(bad)
            if page.phase == "triggered" and found and found[0].within(query.window):
                notes.append(f"page #{number} ({page.label}) was still unacknowledged when pulled")
    if left_out:
        notes.append(
            f"{left_out} page{'' if left_out == 1 else 's'} of other routing keys or teams left out ([oncall] routing_keys / teams)"
        )
    if meta.get("truncated"):
        notes.append(f"more than {MAX_PAGES * PAGE_LIMIT} on-call incidents in the window: only the first were read")
    return SourceResult(NAME, tuple(events), tuple(problems), read, tuple(notes))


def _factory(settings: Settings) -> OncallSource:
    return OncallSource(settings.oncall, secrets=secret_values(settings))


SPEC = register(
    SourceSpec(
        name=NAME,
        help=(
            "Pages from Splunk On-Call (VictorOps) through its reporting API: who was paged (users, teams, "
            "escalation policies), acknowledgements and resolutions with their time and person, manual (Klaxon) pages. "
            "Config: [oncall] url, api_id, key_env (the variable holding the API key), routing_keys, teams, people, "
            "team_routes. --input oncall=FILE|DIR reads saved reporting-API JSON."
        ),
        factory=_factory,
        parse=parse_oncall,
        configured=lambda settings: bool(settings.oncall.url),
    )
)
