"""The Splunk On-Call fake answers in the shapes the paging reference documents (tests/fixtures/oncall/paging.md).

The reference is read, not retyped: its §3.1 response example and field table, its §3.3 team list
and its §2 error statuses are parsed from the document and the fake's answers compared with them.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.servers.oncall_fake import OncallFake

REFERENCE = (Path(__file__).parent / "fixtures" / "oncall" / "paging.md").read_text(encoding="utf-8")
T0 = datetime(2023, 2, 14, 18, 37, 44, tzinfo=UTC)
ISO_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z$")


def section(heading: str) -> str:
    start = REFERENCE.index(heading)
    body = REFERENCE.index("\n", start)
    following = re.search(r"^#{2,3} ", REFERENCE[body:], re.MULTILINE)
    return REFERENCE[start : body + following.start()] if following else REFERENCE[start:]


def table_rows(text: str) -> dict[str, str]:
    """``| `field`, `other` | type | notes |`` rows: each backquoted name in the first cell -> the row."""
    rows: dict[str, str] = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| `") and len(cells) >= 2:
            for name in re.findall(r"`([^`]+)`", cells[0]):
                rows[name] = line
    return rows


def braces(text: str) -> set[str]:
    """The field names of a compact shape such as ``{name, at, by?}`` (nesting flattened)."""
    return {w.rstrip("?") for w in re.findall(r"[A-Za-z_][\w]*\??", text)}


def shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


DOC = section("### 3.1")
EXAMPLE = json.loads(re.search(r"```json\n(.*?)```", DOC, re.DOTALL).group(1))
FIELDS = table_rows(DOC)
DOCUMENTED = {name.removesuffix("[]") for name in FIELDS} | set(EXAMPLE["incidents"][0])


def reporting(fake: OncallFake, **params: str) -> requests.Response:
    headers = {"X-VO-Api-Id": fake.api_id, "X-VO-Api-Key": fake.key}
    return requests.get(fake.url + "/api-reporting/v2/incidents", params=params, headers=headers, timeout=10)


def add_three(fake: OncallFake) -> None:
    fake.add_incident(4711, T0, "[2x] FrontendUnavailable cache_text sre", users=["cwhite", "jdoe"],
                      transitions=[("acknowledged", T0 + timedelta(seconds=21), "cwhite"), ("resolved", T0 + timedelta(minutes=15), None)])  # fmt: skip
    fake.add_incident(4712, T0 + timedelta(minutes=3), "PHPFPMTooBusy appserver eqiad sre", users=["cwhite"],
                      transitions=[("acknowledged", T0 + timedelta(minutes=4), "cwhite")])  # fmt: skip
    fake.add_incident(4713, T0 + timedelta(minutes=5), "ProbeDown", users=["jdoe"])


def test_the_reference_example_is_what_the_documentation_says() -> None:
    # guards the parsing below: the reference's own example and table are read as intended
    assert set(EXAMPLE) == {"offset", "limit", "total", "incidents"}
    assert {"incidentNumber", "pagedUsers", "pagedPolicies", "transitions", "routingKey"} <= DOCUMENTED
    assert braces(FIELDS["transitions[]"].split("|")[2]) == {"name", "at", "by", "message", "manually", "alertId", "alertUrl"}


def test_reporting_answer_has_the_documented_envelope_and_incident_shape(oncall: OncallFake) -> None:
    add_three(oncall)
    body = reporting(oncall, currentPhase="triggered,acknowledged,resolved").json()
    assert set(body) == set(EXAMPLE)
    assert all(isinstance(body[k], int) for k in ("offset", "limit", "total"))
    example = EXAMPLE["incidents"][0]
    for incident in body["incidents"]:
        assert set(incident) <= DOCUMENTED, set(incident) - DOCUMENTED
        assert set(example) <= set(incident)  # at least what the real-looking fixture carries
        for key in example:
            if key != "transitions":
                assert shape(incident[key]) == shape(example[key]) or incident[key] == [], key
        assert re.fullmatch(r"\d+", incident["incidentNumber"])  # a string of digits, not an int
        assert all(t.startswith("team-") for t in incident["pagedTeams"])  # slugs, not names
        assert ISO_Z.match(incident["startTime"]) and ISO_Z.match(incident["lastAlertTime"])
        allowed = braces(FIELDS["transitions[]"].split("|")[2])
        for transition in incident["transitions"]:
            assert set(transition) <= allowed and {"name", "at"} <= set(transition)
            assert ISO_Z.match(transition["at"])
            assert transition["name"] in ("triggered", "acknowledged", "resolved")  # reporting spells phases lower case


def test_reporting_defaults_to_resolved_incidents_only(oncall: OncallFake) -> None:
    add_three(oncall)  # one resolved, one acknowledged, one still triggered
    assert "defaults to `resolved` only" in DOC
    assert [i["incidentNumber"] for i in reporting(oncall).json()["incidents"]] == ["4711"]
    everything = reporting(oncall, currentPhase="triggered,acknowledged,resolved").json()
    assert [i["incidentNumber"] for i in everything["incidents"]] == ["4711", "4712", "4713"]


def test_reporting_pages_with_offset_and_limit_up_to_the_documented_maximum(oncall: OncallFake) -> None:
    for number in range(1, 251):
        oncall.add_incident(number, T0 + timedelta(seconds=number), "ProbeDown", users=["jdoe"])
    maximum = int(re.search(r"\*\*max (\d+)\*\*", DOC).group(1))
    assert maximum == 100
    sizes = []
    offset = 0
    while True:
        body = reporting(oncall, currentPhase="triggered", offset=str(offset), limit=str(maximum)).json()
        sizes.append(len(body["incidents"]))
        offset += len(body["incidents"])
        if not body["incidents"] or offset >= body["total"]:
            break
    assert sizes == [100, 100, 50] and body["total"] == 250
    default = reporting(oncall, currentPhase="triggered").json()
    assert default["limit"] == 20 and len(default["incidents"]) == 20  # "limit (default 20, max 100)"
    assert reporting(oncall, currentPhase="triggered", limit=str(maximum + 1)).status_code == 400


def test_reporting_filters_on_start_time_and_the_documented_parameters(oncall: OncallFake) -> None:
    add_three(oncall)
    oncall.add_incident(4714, T0, "ToolforgeDown", routing_key="wmcs", host="tools-k8s-control-1")
    phases = "triggered,acknowledged,resolved"

    def numbers(**params: str) -> list[str]:
        return [i["incidentNumber"] for i in reporting(oncall, currentPhase=phases, **params).json()["incidents"]]

    assert numbers(startedAfter="2023-02-14T18:39:00Z") == ["4712", "4713"]  # 4711 was acked later: still out
    assert numbers(startedBefore="2023-02-14T18:38:00Z") == ["4711", "4714"]
    assert numbers(routingKey="wmcs") == ["4714"]
    assert numbers(host="tools-k8s-control-1") == ["4714"]
    assert numbers(incidentNumber="4711,4713:4714") == ["4711", "4713", "4714"]


def test_team_list_has_the_documented_fields(oncall: OncallFake) -> None:
    teams_doc = table_rows(section("### 3.3"))["GET /api-public/v1/team"]
    documented = braces(re.search(r"`\{([^`]*)\}`", teams_doc).group(1)) - {"…"}
    headers = {"X-VO-Api-Id": oncall.api_id, "X-VO-Api-Key": oncall.key}
    body = requests.get(oncall.url + "/api-public/v1/team", headers=headers, timeout=10).json()
    assert isinstance(body, list) and body  # "top-level array"
    for team in body:
        assert documented <= set(team)


@pytest.mark.parametrize(
    ("headers", "status"),
    [({}, 401), ({"X-VO-Api-Id": "wikimedia-test"}, 401), ({"X-VO-Api-Id": "wikimedia-test", "X-VO-Api-Key": "wrong"}, 403)],
)
def test_auth_errors_use_the_documented_statuses(oncall: OncallFake, headers: dict[str, str], status: int) -> None:
    documented = {int(n) for n in re.findall(r"\*\*(\d{3})\*\*", section("## 2."))}
    assert {400, 401, 403, 404, 500} <= documented
    response = requests.get(oncall.url + "/api-reporting/v2/incidents", headers=headers, timeout=10)
    assert response.status_code == status and status in documented
    assert set(response.json()) == {"error"}  # never a success payload


def test_throttles_and_upstream_failures(oncall: OncallFake) -> None:
    rate_limits = section("## 2.")
    assert "429" in rate_limits and "Retry-After" in rate_limits and "no healthy upstream" in rate_limits
    oncall.throttle(1, status=429, retry_after="60")
    assert reporting(oncall).status_code == 200
    throttled = reporting(oncall)
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "60"
    oncall.reset()
    oncall.fail_next("503")
    down = reporting(oncall)
    assert (down.status_code, down.text) == (503, "no healthy upstream")
    assert reporting(oncall).status_code == 200
