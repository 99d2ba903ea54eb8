"""A Splunk On-Call (VictorOps) API fake built from the documented API, and its pytest fixtures.

Splunk On-Call is a hosted service with no local build, so the tests fake it. The fake answers as
``tests/fixtures/oncall/paging.md`` (a copy of the project's paging reference) documents, and
``tests/test_oncall_fake.py`` checks its answers against that document's shapes:

* ``GET /api-reporting/v2/incidents``: ``{"offset", "limit", "total", "incidents": [...]}`` with the
  incident fields of §3.1 (``incidentNumber`` a string, ``pagedTeams`` slugs, ``pagedPolicies``
  ``[{policy: {name, slug}, team: {name, slug}}]``, ``transitions[{name, at, by?, message?,
  manually?, alertId?, alertUrl?}]``, ISO 8601 ``Z`` times); ``offset``/``limit`` (default 20, more
  than 100 is a 400), ``startedAfter``/``startedBefore`` on the start time only, ``currentPhase``
  defaulting to ``resolved`` alone (the documented pitfall), ``routingKey``, ``entityId``,
  ``host``, ``service``, ``incidentNumber`` (lists and ranges: ``4,5,20:50``).
* ``GET /api-public/v1/team``: a top-level array of ``{name, slug, memberCount, isDefaultTeam, ...}``.
* Auth: ``X-VO-Api-Id`` and ``X-VO-Api-Key`` on every call; 401 when either is missing, 403 when
  they are wrong. Error bodies are ``{"error": "..."}`` (the service documents no error schema;
  this is the go-victorops client's form).
* Throttling: :meth:`OncallFake.throttle` answers 429 (with ``Retry-After``) or 403 once a number
  of reporting calls is spent; :meth:`OncallFake.fail_next` answers ``503`` with Klaxon's plain-text
  ``no healthy upstream``, ``html200`` (a login page), ``401`` (the headers lost on the way, as
  behind a proxy that drops them), ``other-json`` (another API's array: a wrong base URL) or
  ``same-page`` (broken paging: the first page again) or ``no-total`` (a page without its total).

Fixtures (registered through ``tests/conftest.py``): ``oncall_server`` (session) and ``oncall``
(function, :meth:`OncallFake.reset` first). API: ``.url``, ``.api_id``, ``.key``,
``.add_incident(...)``, ``.add_team(...)``, ``.throttle(after, status=, retry_after=)``,
``.fail_next(kind, times=)``, ``.requests`` (path and query of each call, no credentials).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from werkzeug.wrappers import Request, Response

from tests.servers._common import LoopbackFake

__all__ = ["OncallFake", "Policy"]

Policy = tuple[str, str, str, str]  # (policy name, policy slug, team name, team slug)
SRE: Policy = ("SRE Business Hours", "pol-sre-bh", "SRE", "team-sre")

_TEAMS = [
    {"name": "SRE", "slug": "team-sre", "memberCount": 42, "version": 3, "isDefaultTeam": False},
    {"name": "WMCS", "slug": "team-wmcs", "memberCount": 9, "version": 1, "isDefaultTeam": False},
]
_LOGIN_PAGE = "<!DOCTYPE html><html><head><title>Splunk On-Call - Login</title></head><body>Log in</body></html>"


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _numbers(spec: str) -> set[int]:
    """``4,5,20:50`` -> the incident numbers it names."""
    found: set[int] = set()
    for part in spec.split(","):
        first, _, last = part.partition(":")
        found.update(range(int(first), int(last or first) + 1))
    return found


class _BadRequest(Exception):
    pass


class OncallFake(LoopbackFake):
    """Incidents and teams, served over HTTP by pytest-httpserver."""

    api_id = "wikimedia-test"
    key = "vo-test-key-6f1d2c"

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        """No incidents, the default teams, no faults, no throttle, no calls."""
        with self._lock:
            self.incidents: list[dict[str, Any]] = []
            self.teams = [dict(t) for t in _TEAMS]
            self.requests: list[tuple[str, dict[str, str]]] = []
            self._faults: list[str] = []
            self._throttle: tuple[int, int, str | None] | None = None
            self.reporting_calls = 0

    # --- state ------------------------------------------------------------------------------------

    def add_incident(
        self,
        number: int,
        start: datetime,
        entity: str,
        *,
        users: Sequence[str] = (),
        policies: Sequence[Policy] = (SRE,),
        routing_key: str = "sre-batphone",
        transitions: Sequence[tuple[str, datetime, str | None]] = (),
        host: str | None = None,
        alert_count: int = 1,
    ) -> dict[str, Any]:
        """An incident in the reporting API's shape; *transitions* are ``(name, at, by)`` after the trigger."""
        alert_id = f"{number:08d}-0656-4fc9-b01f-2cb1962a32f6"
        alert_url = f"https://api.victorops.com/api-public/v1/alerts/{alert_id}"
        moves: list[dict[str, Any]] = [{"name": "triggered", "at": _iso(start), "alertId": alert_id, "alertUrl": alert_url}]
        for name, at, by in transitions:
            move: dict[str, Any] = {"name": name, "at": _iso(at), "alertId": alert_id, "alertUrl": alert_url}
            if by is not None:
                move["by"] = by
                move["manually"] = True
            else:
                move["manually"] = False
            moves.append(move)
        names = [m["name"] for m in moves]
        phase = "resolved" if "resolved" in names else "acknowledged" if "acknowledged" in names else "triggered"
        incident = {
            "incidentNumber": str(number),
            "currentPhase": phase,
            "alertCount": alert_count,
            "entityId": f"{number:08d}-entity",
            "entityDisplayName": entity,
            "entityState": "critical" if phase != "resolved" else "ok",
            "entityType": "service",
            "service": entity,
            "host": host or "",
            "routingKey": routing_key,
            "startTime": _iso(start),
            "lastAlertTime": _iso(max(start, *(at for _, at, _ in transitions)) if transitions else start),
            "lastAlertId": alert_id,
            "pagedTeams": list(dict.fromkeys(p[3] for p in policies)),
            "pagedUsers": list(users),
            "pagedPolicies": [
                {"policy": {"name": p[0], "slug": p[1]}, "team": {"name": p[2], "slug": p[3]}} for p in policies
            ],
            "transitions": moves,
        }
        with self._lock:
            self.incidents.append(incident)
        return incident

    def add_team(self, name: str, slug: str, members: int = 1) -> None:
        with self._lock:
            self.teams.append({"name": name, "slug": slug, "memberCount": members, "version": 1, "isDefaultTeam": False})

    def throttle(self, after: int, *, status: int = 429, retry_after: str | None = "60") -> None:
        """Answer *status* to every reporting call after the first *after* ones."""
        with self._lock:
            self._throttle = (after, status, retry_after)

    def fail_next(self, kind: str, *, times: int = 1, after: int = 0) -> None:
        """The *times* calls after the next *after* fail: ``503`` (plain text), ``html200`` (a login page),
        ``401``, ``other-json``, ``same-page`` (a reporting page from offset 0 whatever the offset asked) or
        ``no-total``."""
        with self._lock:
            self._faults.extend([None] * after + [kind] * times)

    # --- HTTP -------------------------------------------------------------------------------------

    def respond(self, request: Request) -> Response:
        with self._lock:
            self.requests.append((request.path, dict(request.args)))
            fault = self._faults.pop(0) if self._faults else None
        if fault == "503":
            return Response("no healthy upstream", status=503, content_type="text/plain")
        if fault == "html200":
            return Response(_LOGIN_PAGE, status=200, content_type="text/html; charset=UTF-8")
        if fault == "401":
            return self._error(401, "Missing authentication parameters")
        if fault == "other-json":
            return self._json([{"id": 1, "name": "not a team"}])
        api_id, key = request.headers.get("X-VO-Api-Id"), request.headers.get("X-VO-Api-Key")
        if not api_id or not key:
            return self._error(401, "Missing authentication parameters")
        if (api_id, key) != (self.api_id, self.key):
            return self._error(403, "Authentication failed")
        try:
            if request.path == "/api-reporting/v2/incidents":
                return self._reporting(request, fault)
            if request.path == "/api-public/v1/team":
                with self._lock:
                    teams = [
                        {**t, "_selfUrl": f"/api-public/v1/team/{t['slug']}", "_membersUrl": f"/api-public/v1/team/{t['slug']}/members"}
                        for t in self.teams
                    ]
                return self._json(teams)
        except _BadRequest as exc:
            return self._error(400, str(exc))
        return self._error(404, f"Not found: {request.path}")

    def _reporting(self, request: Request, fault: str | None = None) -> Response:
        with self._lock:
            self.reporting_calls += 1
            if self._throttle is not None and self.reporting_calls > self._throttle[0]:
                _, status, retry_after = self._throttle
                headers = {"Retry-After": retry_after} if retry_after else {}
                return self._error(status, "Rate limit reached", headers)
            incidents = list(self.incidents)
        args = request.args
        try:
            offset = 0 if fault == "same-page" else int(args.get("offset", "0"))
            limit = int(args.get("limit", "20"))
        except ValueError as exc:
            raise _BadRequest("offset and limit must be integers") from exc
        if offset < 0 or not 1 <= limit <= 100:
            raise _BadRequest("limit must be between 1 and 100")
        phases = {p.strip().lower() for p in args.get("currentPhase", "resolved").split(",") if p.strip()}
        try:
            after = _parse(args["startedAfter"]) if "startedAfter" in args else None
            before = _parse(args["startedBefore"]) if "startedBefore" in args else None
            numbers = _numbers(args["incidentNumber"]) if "incidentNumber" in args else None
        except ValueError as exc:
            raise _BadRequest(f"bad argument: {exc}") from exc
        lists = {name: set(args[name].split(",")) for name in ("host", "service") if name in args}

        def wanted(incident: dict[str, Any]) -> bool:
            start = _parse(incident["startTime"])
            return (
                incident["currentPhase"] in phases
                and (after is None or start >= after)
                and (before is None or start <= before)
                and args.get("routingKey", incident["routingKey"]) == incident["routingKey"]
                and args.get("entityId", incident["entityId"]) == incident["entityId"]
                and (numbers is None or int(incident["incidentNumber"]) in numbers)
                and all(incident[name] in values for name, values in lists.items())
            )

        found = sorted((i for i in incidents if wanted(i)), key=lambda i: int(i["incidentNumber"]))
        page = {"offset": offset, "limit": limit, "total": len(found), "incidents": found[offset : offset + limit]}
        return self._json({k: v for k, v in page.items() if not (fault == "no-total" and k == "total")})

    @staticmethod
    def _json(body: Any) -> Response:
        return Response(json.dumps(body), status=200, content_type="application/json")

    @staticmethod
    def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
        return Response(json.dumps({"error": message}), status=status, content_type="application/json", headers=headers)


@pytest.fixture(scope="session")
def oncall_server() -> Iterator[OncallFake]:
    """One Splunk On-Call fake for the whole test session (use ``oncall``)."""
    fake = OncallFake().start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def oncall(oncall_server: OncallFake) -> OncallFake:
    """The session's Splunk On-Call fake, reset: no incidents, no faults."""
    oncall_server.reset()
    return oncall_server
