"""The oncall source: pages, acknowledgements and resolutions from Splunk On-Call, against the documented API's fake."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from typer.testing import CliRunner

from incidentkit.cli import app
from incidentkit.clients.budget import budget
from incidentkit.config import OncallSettings, Settings
from incidentkit.errors import SourceError
from incidentkit.model.event import EventKind
from incidentkit.model.source import REPLACED_CHARACTERS, Export, Query
from incidentkit.model.window import Window
from incidentkit.sources import all_specs
from incidentkit.sources import oncall as oncall_source
from incidentkit.sources.oncall import OncallSource, parse_oncall
from tests.servers._common import free_port
from tests.servers.oncall_fake import OncallFake

FIXTURE = Path(__file__).parent / "fixtures" / "oncall" / "reporting-incidents.json"
WINDOW = Window(datetime(2023, 2, 14, 18, 0, tzinfo=UTC), datetime(2023, 2, 14, 19, 45, tzinfo=UTC))
T0 = datetime(2023, 2, 14, 18, 37, 44, tzinfo=UTC)
KEY_ENV = "TEST_ONCALL_KEY"


def parse(meta: dict | None = None, window: Window = WINDOW):
    return parse_oncall(Export("oncall", (("incidents-001.json", FIXTURE.read_text()),), meta or {}), Query(window))


def rows(result) -> list[tuple[str, EventKind, str]]:
    return [(e.time.strftime("%H:%M:%S"), e.kind, e.text) for e in sorted(result.events, key=lambda e: (e.time, e.key))]


def test_every_page_transition_becomes_a_row() -> None:
    result = parse()
    assert rows(result) == [
        ("18:35:30", EventKind.PAGE, "alert1001/MediaWiki exceptions and fatals per minute for appserver is CRITICAL paged 1 person (jdoe)"),
        ("18:36:00", EventKind.PAGE_ACK, "alert1001/MediaWiki exceptions and fatals per minute for appserver is CRITICAL acknowledged by jdoe"),
        ("18:37:44", EventKind.PAGE, "FrontendUnavailable paged SRE Business Hours: 2 people (cwhite, jdoe)"),
        ("18:38:05", EventKind.PAGE_ACK, "FrontendUnavailable acknowledged by cwhite: looking"),
        ("18:40:00", EventKind.PAGE, "Manual page by taavi (enwiki logged-in page views are broken) paged SRE Batphone: "
                                     "5 people (cwhite, jdoe, akosiaris, volans, marostegui)"),
        ("18:41:10", EventKind.PAGE_ACK, "Manual page by taavi (enwiki logged-in page views are broken) acknowledged by jdoe"),
        ("18:45:00", EventKind.PAGE, "PHPFPMTooBusy paged SRE Business Hours (who was reached is unknown)"),
        ("18:45:15", EventKind.PAGE_NOTE, "PHPFPMTooBusy rerouted by the Klaxon auto-escalator"),
        ("18:52:41", EventKind.PAGE_RESOLVED, "FrontendUnavailable auto-resolved (its alert recovered)"),
        ("19:00:00", EventKind.PAGE_RESOLVED, "Manual page by taavi (enwiki logged-in page views are broken) resolved by taavi"),
        ("19:10:00", EventKind.PAGE, "ToolforgeKubernetesDown paged WMCS: 1 person (arturo)"),
        ("19:20:00", EventKind.PAGE_RESOLVED, "ToolforgeKubernetesDown auto-resolved (its alert recovered)"),
    ]  # fmt: skip
    assert "taavi@example.org" not in json.dumps([e.text for e in result.events])
    assert result.lines_read == 6  # the repeat of 101 on the next page is read once
    assert [(p.where, p.reason) for p in result.problems] == [
        ("incidents-001.json incident 4", "transition 'acknowledged' has no readable time")
    ]
    assert result.notes == ("page #104 (PHPFPMTooBusy) was still unacknowledged when pulled",)


def test_page_events_carry_who_and_what_for_the_people_facts() -> None:
    events = {(e.data["incident"], e.kind): e for e in parse().events}
    page = events[("101", EventKind.PAGE)]
    assert page.data["users"] == ["cwhite", "jdoe"]
    assert page.data["teams"] == ["SRE"] and page.data["team_slugs"] == ["team-sre"]
    assert page.data["policies"] == ["SRE Business Hours"]
    assert page.data["alertname"] == "FrontendUnavailable" and page.data["routing_key"] == "sre-batphone"
    assert page.data["human"] is False and page.actor is None
    manual = events[("102", EventKind.PAGE)]
    assert manual.data["manual"] is True and manual.data["by"] == "taavi" and manual.data["human"] is True
    assert "alertname" not in manual.data
    ack = events[("101", EventKind.PAGE_ACK)]
    assert (ack.data["by"], ack.data["human"], ack.key) == ("cwhite", True, "oncall:101:acknowledged:1676399885")
    assert events[("101", EventKind.PAGE_RESOLVED)].data["human"] is False
    assert events[("102", EventKind.PAGE_RESOLVED)].data["human"] is True
    assert events[("104", EventKind.PAGE_NOTE)].data["human"] is False  # escalator_sysuser is no person


def test_routing_keys_and_teams_filter_but_manual_pages_are_kept() -> None:
    by_key = parse({"routing_keys": ["sre-batphone"]})
    assert {e.data["incident"] for e in by_key.events} == {"101", "102", "104", "105"}
    assert by_key.notes[-1] == "1 page of other routing keys or teams left out ([oncall] routing_keys / teams)"
    by_team = parse({"teams": ["WMCS"]})
    assert {e.data["incident"] for e in by_team.events} == {"102", "103"}  # 102 is a manual page
    by_slug = parse({"teams": ["team-wmcs"]})
    assert {e.data["incident"] for e in by_slug.events} == {"102", "103"}


def test_only_what_happened_in_the_window_is_kept() -> None:
    late = Window(datetime(2023, 2, 14, 18, 50, tzinfo=UTC), datetime(2023, 2, 14, 19, 5, tzinfo=UTC))
    assert [(t, k) for t, k, _ in rows(parse(window=late))] == [
        ("18:52:41", EventKind.PAGE_RESOLVED),
        ("19:00:00", EventKind.PAGE_RESOLVED),
    ]  # the pages started before the window; their resolutions are in it


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("<html>login</html>", "not JSON"),
        ('{"error": "Authentication failed"}', "not a list of on-call incidents"),
        ('{"incidents": ["x", {"startTime": "2023-02-14T18:40:00Z"}]}', "incident is not an object"),
    ],
)
def test_unreadable_answers_are_problems_not_crashes(text: str, reason: str) -> None:
    result = parse_oncall(Export("oncall", (("incidents-001.json", text),)), Query(WINDOW))
    assert result.events == ()
    assert result.problems[0].reason.startswith(reason)


def settings(fake: OncallFake, **changes: object) -> OncallSettings:
    return OncallSettings(url=fake.url, api_id=fake.api_id, key_env=KEY_ENV, **changes)  # type: ignore[arg-type]


@pytest.fixture
def key(oncall: OncallFake, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(KEY_ENV, oncall.key)
    return oncall.key


def test_pull_asks_for_every_phase_from_the_padded_window_and_reads_every_page(oncall: OncallFake, key: str) -> None:
    for number in range(1, 231):
        oncall.add_incident(number, T0 - timedelta(hours=5) + timedelta(minutes=number), "ProbeDown", users=["jdoe"])
    oncall.add_incident(999, T0 - timedelta(hours=7), "TooEarly", users=["jdoe"])
    export = OncallSource(settings(oncall)).pull(Query(WINDOW))
    assert [path for path, _ in oncall.requests] == ["/api-reporting/v2/incidents"] * 3
    first = oncall.requests[0][1]
    assert first == {
        "startedAfter": "2023-02-14T12:00:00Z",  # six hours of padding: pages acknowledged in the window
        "startedBefore": "2023-02-14T19:45:00Z",
        "currentPhase": "triggered,acknowledged,resolved",
        "offset": "0",
        "limit": "100",
    }
    assert [params["offset"] for _, params in oncall.requests] == ["0", "100", "200"]
    assert [name for name, _ in export.files] == ["incidents-001.json", "incidents-002.json", "incidents-003.json"]
    assert export.meta["truncated"] is False and export.meta["url"] == oncall.url
    result = parse_oncall(export, Query(WINDOW))
    assert result.lines_read == 230
    assert key not in json.dumps(export.meta) and all(key not in text for _, text in export.files)


def test_a_missing_key_is_said_before_any_call(oncall: OncallFake, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    with pytest.raises(SourceError, match=r"the API key is not set \(\$TEST_ONCALL_KEY is empty\)") as caught:
        OncallSource(settings(oncall)).pull(Query(WINDOW))
    assert KEY_ENV in (caught.value.hint or "")
    assert oncall.requests == []
    with pytest.raises(SourceError, match="no api_id"):
        OncallSource(OncallSettings(url=oncall.url, key_env=KEY_ENV)).pull(Query(WINDOW))


def test_wrong_credentials_say_so_and_mention_the_rate_limit(oncall: OncallFake, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "not-the-key-5e2a")
    with pytest.raises(SourceError) as caught:
        OncallSource(settings(oncall)).pull(Query(WINDOW))
    assert caught.value.message == "oncall: Splunk On-Call refused the API id or key (HTTP 403)"
    assert "[oncall] api_id" in caught.value.hint and "one call a minute" in caught.value.hint
    assert "not-the-key-5e2a" not in caught.value.message + caught.value.hint


@pytest.mark.parametrize(("status", "retry"), [(429, "60"), (403, None)])
def test_a_throttle_after_a_successful_call_is_a_rate_limit(oncall: OncallFake, key: str, status: int, retry: str | None) -> None:
    for number in range(1, 151):
        oncall.add_incident(number, T0 + timedelta(seconds=number), "ProbeDown", users=["jdoe"])
    oncall.throttle(1, status=status, retry_after=retry)
    # within a draft's budget, as pull_source runs it: a one-minute wait does not fit in ten seconds
    with pytest.raises(SourceError) as caught, budget(10):
        OncallSource(settings(oncall)).pull(Query(WINDOW))
    wait = ", retry after 60 s" if retry else ""
    assert caught.value.message == f"oncall: the Splunk On-Call reporting API's rate limit was reached (HTTP {status}{wait})"
    assert "one call a minute" in caught.value.hint


def test_a_throttle_on_the_first_call_is_a_rate_limit_too_when_it_says_429(oncall: OncallFake, key: str) -> None:
    oncall.throttle(0, status=429, retry_after=None)
    with pytest.raises(SourceError, match=r"rate limit was reached \(HTTP 429\)$"):
        OncallSource(settings(oncall)).pull(Query(WINDOW))


@pytest.mark.parametrize(("fault", "message"), [("503", "HTTP 503"), ("html200", "did not return JSON")])
def test_upstream_failures_are_source_errors(oncall: OncallFake, key: str, fault: str, message: str) -> None:
    oncall.fail_next(fault)
    with pytest.raises(SourceError, match=message):
        OncallSource(settings(oncall)).pull(Query(WINDOW))


def test_check_uses_the_team_list_not_the_reporting_api(oncall: OncallFake, key: str) -> None:
    assert OncallSource(settings(oncall)).check() == "answered: 2 team(s) visible to this API id"
    assert [path for path, _ in oncall.requests] == ["/api-public/v1/team"]


def test_the_source_is_registered_and_configured_by_its_url() -> None:
    spec = all_specs()["oncall"]
    for word in ("Splunk On-Call", "[oncall]", "key_env", "--input oncall="):
        assert word in spec.help


def test_pull_save_and_replay_give_the_same_draft(oncall: OncallFake, key: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    oncall.add_incident(4711, T0, "[2x] FrontendUnavailable cache_text sre", users=["cwhite", "jdoe"],
                        transitions=[("acknowledged", T0 + timedelta(seconds=21), "cwhite")])  # fmt: skip
    monkeypatch.setenv("INCIDENTKIT_ONCALL_URL", oncall.url)
    monkeypatch.setenv("INCIDENTKIT_ONCALL_API_ID", oncall.api_id)
    monkeypatch.setenv("INCIDENTKIT_ONCALL_KEY_ENV", KEY_ENV)
    monkeypatch.setenv("INCIDENTKIT_NOW", "2023-02-15T09:00:00Z")
    window = ["--from", "2023-02-14 18:00", "--to", "2023-02-14 19:45", "--title", "Pages"]
    runner = CliRunner()
    saved = tmp_path / "pull"
    pulled = runner.invoke(app, ["pull", "--save", str(saved), *window])
    assert pulled.exit_code == 0, pulled.output
    assert (saved / "oncall" / "_export.json").exists()
    assert key not in "".join(p.read_text() for p in saved.rglob("*") if p.is_file())
    direct = runner.invoke(app, ["draft", "--no-store", *window])
    replayed = runner.invoke(app, ["draft", "--replay", str(saved), "--no-store"])
    assert direct.exit_code == 0 and replayed.exit_code == 0, replayed.output
    assert replayed.stdout == direct.stdout
    assert "FrontendUnavailable paged SRE Business Hours: 2 people (cwhite, jdoe)" in direct.stdout
    assert "FrontendUnavailable acknowledged by cwhite" in direct.stdout
    from_file = runner.invoke(app, ["draft", "--no-store", "--input", f"oncall={saved / 'oncall'}", *window])
    assert "FrontendUnavailable acknowledged by cwhite" in from_file.stdout


def test_lost_credentials_say_which_settings_to_check(oncall: OncallFake, key: str) -> None:
    oncall.fail_next("401")
    with pytest.raises(SourceError) as caught:
        OncallSource(settings(oncall)).pull(Query(WINDOW))
    assert caught.value.message == "oncall: Splunk On-Call says the API credentials are missing (HTTP 401)"
    assert caught.value.hint == f"set [oncall] api_id and put the API key in ${KEY_ENV}"


def test_the_hints_of_refusals_and_throttles(oncall: OncallFake, key: str, monkeypatch: pytest.MonkeyPatch) -> None:
    oncall.throttle(0, status=429, retry_after=None)
    with pytest.raises(SourceError) as throttled:
        OncallSource(settings(oncall)).pull(Query(WINDOW))
    assert throttled.value.hint == (
        "it allows about one call a minute: wait and pull again (pull --save keeps a pull for replay), or narrow the window"
    )
    monkeypatch.setenv(KEY_ENV, "not-the-key")
    with pytest.raises(SourceError) as refused:
        OncallSource(settings(oncall)).check()  # the team list: a 403 on a first call is the credentials
    assert refused.value.message == "oncall: Splunk On-Call refused the API id or key (HTTP 403)"
    assert refused.value.hint == (
        f"check [oncall] api_id and ${KEY_ENV} (a read-only key is enough); a 403 is also the reporting API's rate limit "
        "(about one call a minute): if the credentials are right, wait a minute and pull again"
    )


def test_check_refuses_an_answer_that_is_no_team_list(oncall: OncallFake, key: str) -> None:
    oncall.fail_next("other-json")
    with pytest.raises(SourceError) as caught:
        OncallSource(settings(oncall)).check()
    assert caught.value.message == f"oncall: {oncall.url} did not answer with a team list"
    assert caught.value.hint == "check [oncall] url"


def test_pull_stops_at_the_page_limit_and_says_so(oncall: OncallFake, key: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(oncall_source, "MAX_PAGES", 2)
    for number in range(1, 251):
        oncall.add_incident(number, T0 + timedelta(seconds=number), "ProbeDown", users=["jdoe"])
    export = OncallSource(settings(oncall)).pull(Query(WINDOW))
    assert [name for name, _ in export.files] == ["incidents-001.json", "incidents-002.json"]
    assert export.meta["truncated"] is True
    assert parse_oncall(export, Query(WINDOW)).notes[-1] == "more than 200 on-call incidents in the window: only the first were read"


HAND_WRITTEN = {
    "incidents": [
        {
            "incidentNumber": 201, "startTime": "2023-02-14T18:10:00Z", "entityDisplayName": "[3x] HighLatency #page eqiad",
            "routingKey": "sre", "pagedUsers": ["a", "b", "c", "d", "e", "f", "g", "h", "i", " ", 7],
            "pagedPolicies": [{"policy": {"name": "SRE Batphone"}, "team": {"name": "SRE", "slug": "team-sre"}}, "junk"],
            "currentPhase": "ACKED", "alertCount": 3, "incidentLink": "https://portal.example/incident/201",
            "transitions": [
                {"name": "UNACKED", "at": "2023-02-14T18:10:05Z"},
                {"name": "ACKED", "at": "2023-02-14T18:11:00Z", "by": "alice", "message": "  on   it "},
                {"name": "acked", "at": "2023-02-14T18:11:00Z", "by": "bob"},
            ],
        },
        {
            "incidentNumber": "202", "startTime": "2023-02-14T18:20:00Z", "monitorType": "MANUAL", "monitorName": "vouser-jdoe",
            "entityDisplayName": "database is on fire and the replicas are lagging behind by more than ten minutes in eqiad and codfw",
            "pagedTeams": ["team-dba", ""], "transitions": [{"name": "resolved", "at": "2023-02-14T18:30:00Z", "by": "jdoe"}],
        },
        {"incidentNumber": "203", "entityDisplayName": "NoStart", "transitions": [{"name": "acknowledged", "at": "garbage"}]},
        {"incidentNumber": "", "entityId": " "},
        {
            "entityId": "abc-1", "startTime": "2023-02-14T18:40:00Z", "service": "svc name", "pagedUsers": ["x"], "currentPhase": "UNACKED",
            "transitions": [
                {"name": "triggered", "at": "2023-02-14T18:40:00Z"},
                {"name": "rerouted", "at": "2023-02-14T18:41:00Z", "by": "escalator_sysuser"},
                {"at": "2023-02-14T18:42:00Z", "message": "by hand", "manually": True},
                {"name": "resolved", "at": "2023-02-14T18:43:00Z"},
            ],
        },
    ]
}  # fmt: skip


def test_every_rule_of_a_hand_written_answer() -> None:
    result = parse_oncall(Export("oncall", (("incidents-001.json", json.dumps(HAND_WRITTEN)),)), Query(WINDOW))
    long_name = "database is on fire and the replicas are lagging behind by more than ten minute…"
    assert [(e.time.strftime("%H:%M:%S"), e.kind, e.key, e.text) for e in result.events] == [
        ("18:10:05", EventKind.PAGE, "oncall:201:triggered", "HighLatency paged SRE Batphone: 9 people (a, b, c, d, e, f, g, h, …)"),
        ("18:11:00", EventKind.PAGE_ACK, "oncall:201:acked:1676398260", "HighLatency acknowledged by alice: on it"),
        ("18:11:00", EventKind.PAGE_ACK, "oncall:201:acked:1676398260+", "HighLatency acknowledged by bob"),
        ("18:20:00", EventKind.PAGE, "oncall:202:triggered", f"{long_name} paged team-dba (who was reached is unknown)"),
        ("18:30:00", EventKind.PAGE_RESOLVED, "oncall:202:resolved:1676399400", f"{long_name} resolved by jdoe"),
        ("18:40:00", EventKind.PAGE, "oncall:abc-1:triggered", "svc name paged 1 person (x)"),
        ("18:41:00", EventKind.PAGE_NOTE, "oncall:abc-1:rerouted:1676400060", "svc name rerouted by the Klaxon auto-escalator"),
        ("18:42:00", EventKind.PAGE_NOTE, "oncall:abc-1:changed:1676400120", "svc name changed: by hand"),
        ("18:43:00", EventKind.PAGE_RESOLVED, "oncall:abc-1:resolved:1676400180", "svc name auto-resolved (its alert recovered)"),
    ]  # fmt: skip
    page, ack = result.events[0], result.events[1]
    assert page.url == "https://portal.example/incident/201" and page.actor is None
    assert page.data == {
        "incident": "201", "entity": "[3x] HighLatency #page eqiad", "alertname": "HighLatency", "manual": False,
        "routing_key": "sre", "users": ["a", "b", "c", "d", "e", "f", "g", "h", "i"], "teams": ["SRE"], "team_slugs": ["team-sre"],
        "policies": ["SRE Batphone"], "human": False, "phase": "acknowledged", "alert_count": 3,
    }  # fmt: skip
    assert json.loads(page.raw)["incidentNumber"] == 201 and "transitions" not in json.loads(page.raw)
    assert ack.data == {
        "incident": "201", "entity": "[3x] HighLatency #page eqiad", "alertname": "HighLatency", "manual": False,
        "routing_key": "sre", "transition": "acknowledged", "by": "alice", "message": "on it", "human": True,
    }  # fmt: skip
    assert ack.raw == '{"at": "2023-02-14T18:11:00Z", "by": "alice", "message": "  on   it ", "name": "ACKED"}'
    dba = result.events[3].data
    assert (dba["manual"], dba["by"], dba["human"], dba["phase"], "alertname" in dba, "routing_key" in dba) == (True, "jdoe", True, "", False, False)
    assert result.events[7].data["manually"] is True and result.events[8].data["human"] is False
    assert [(p.where, p.reason) for p in result.problems] == [
        ("incidents-001.json incident 3", "transition 'acknowledged' has no readable time"),
        ("incidents-001.json incident 3", "page has neither a start time nor a triggered transition"),
        ("incidents-001.json incident 4", "incident has no incidentNumber"),
    ]
    assert result.notes == ("page #abc-1 (svc name) was still unacknowledged when pulled",)
    assert result.lines_read == 5


def test_an_answer_that_is_no_incident_list_says_what_to_check(oncall: OncallFake, key: str) -> None:
    oncall.fail_next("other-json")
    with pytest.raises(SourceError) as caught:
        OncallSource(settings(oncall)).pull(Query(WINDOW))
    assert caught.value.message == f"oncall: {oncall.url}/api-reporting/v2/incidents did not answer with an incident list"
    assert caught.value.hint == "[oncall] url should be the API's base URL, e.g. https://api.victorops.com"


def test_a_page_of_incidents_already_read_is_broken_paging(oncall: OncallFake, key: str) -> None:
    for number in range(1, 151):
        oncall.add_incident(number, T0 + timedelta(seconds=number), "ProbeDown", users=["jdoe"])
    oncall.fail_next("same-page", after=1)
    with pytest.raises(SourceError) as caught:
        OncallSource(settings(oncall)).pull(Query(WINDOW))
    assert caught.value.message == (
        f"oncall: {oncall.url}/api-reporting/v2/incidents answered the same incidents again at offset 100 (of a total of 150)"
    )
    assert caught.value.hint == "the reporting API's paging is broken; try again later, or narrow the window"


def test_lone_surrogates_are_counted_on_every_page(oncall: OncallFake, key: str) -> None:
    for number in range(1, 151):
        oncall.add_incident(number, T0 + timedelta(seconds=number), "Probe\ud800Down" if number in (1, 120) else "ProbeDown", users=["jdoe"])
    export = OncallSource(settings(oncall)).pull(Query(WINDOW))
    # each of the two incidents (one a page) names its alert twice: entityDisplayName and service
    assert len(export.files) == 2 and export.meta[REPLACED_CHARACTERS] == 4


def test_missing_settings_are_said_with_what_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    cases = [
        (OncallSettings(), "oncall: no url is configured",
         'set url = "https://api.victorops.com" in [oncall], or give --input oncall=FILE'),
        (OncallSettings(url="http://127.0.0.1:9"), "oncall: no api_id is configured",
         "set api_id in [oncall] (Splunk On-Call: Integrations > API)"),
        (OncallSettings(url="http://127.0.0.1:9", api_id="wikimedia", key_env=KEY_ENV),
         f"oncall: the API key is not set (${KEY_ENV} is empty)",
         f"export {KEY_ENV}=<a read-only API key>, or point [oncall] key_env at the variable that holds it"),
    ]  # fmt: skip
    for oncall_settings, message, hint in cases:
        with pytest.raises(SourceError) as caught:
            OncallSource(oncall_settings).check()
        assert (caught.value.message, caught.value.hint) == (message, hint)


def test_the_registered_factory_reads_the_oncall_settings() -> None:
    source = all_specs()["oncall"].factory(Settings(oncall=OncallSettings(url="http://127.0.0.1:9", api_id="wikimedia")))
    assert (source.settings.url, source.settings.api_id) == ("http://127.0.0.1:9", "wikimedia")


def test_a_repeat_of_any_earlier_page_is_broken_paging(oncall: OncallFake, key: str) -> None:
    for number in range(1, 251):
        oncall.add_incident(number, T0 + timedelta(seconds=number), "ProbeDown", users=["jdoe"])
    oncall.fail_next("same-page", after=2)
    with pytest.raises(SourceError, match=r"answered the same incidents again at offset 200 \(of a total of 250\)$"):
        OncallSource(settings(oncall)).pull(Query(WINDOW))


def test_a_page_without_its_total_is_the_last(oncall: OncallFake, key: str) -> None:
    for number in range(1, 151):
        oncall.add_incident(number, T0 + timedelta(seconds=number), "ProbeDown", users=["jdoe"])
    oncall.fail_next("no-total")
    export = OncallSource(settings(oncall)).pull(Query(WINDOW))
    assert len(export.files) == 1 and export.meta["truncated"] is False


def test_the_pull_keeps_its_query_and_filters_for_the_parse(oncall: OncallFake, key: str) -> None:
    oncall.fail_next("503")
    with pytest.raises(SourceError) as caught:
        OncallSource(settings(oncall)).pull(Query(WINDOW))
    assert caught.value.message.startswith("oncall: ")
    export = OncallSource(settings(oncall, routing_keys=("sre-batphone",), teams=("SRE",))).pull(Query(WINDOW))
    assert export.meta == {
        "url": oncall.url,
        "started_after": "2023-02-14T12:00:00Z",
        "started_before": "2023-02-14T19:45:00Z",
        "phases": "triggered,acknowledged,resolved",
        "routing_keys": ["sre-batphone"],
        "teams": ["SRE"],
        "truncated": False,
    }


def test_the_registered_factory_knows_the_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "s3cret-oncall-key")
    config = Settings(oncall=OncallSettings(url="http://127.0.0.1:9", api_id="wikimedia", key_env=KEY_ENV))
    assert "s3cret-oncall-key" in all_specs()["oncall"].factory(config).secrets


def test_a_base_url_with_a_slash_and_a_server_that_is_down(oncall: OncallFake, key: str) -> None:
    export = OncallSource(OncallSettings(url=oncall.url + "/", api_id=oncall.api_id, key_env=KEY_ENV)).pull(Query(WINDOW))
    assert export.meta["url"] == oncall.url and [path for path, _ in oncall.requests] == ["/api-reporting/v2/incidents"]
    down = OncallSettings(url="http://127.0.0.1:9", api_id="wikimedia", key_env=KEY_ENV)
    with pytest.raises(SourceError) as caught:
        OncallSource(down).pull(Query(WINDOW))
    assert caught.value.message.startswith("oncall: ") and caught.value.hint == "is the server up and reachable? check [oncall] url"


def test_an_acknowledgement_by_nobody_named() -> None:
    incident = {"incidentNumber": "301", "startTime": "2023-02-14T18:10:00Z", "entityDisplayName": "ProbeDown",
                "transitions": [{"name": "acknowledged", "at": "2023-02-14T18:11:00Z"}]}  # fmt: skip
    result = parse_oncall(Export("oncall", (("incidents-001.json", json.dumps([incident])),)), Query(WINDOW))
    assert [e.text for e in result.events] == ["ProbeDown paged nobody named (who was reached is unknown)", "ProbeDown acknowledged"]


@pytest.mark.parametrize(
    ("incident", "label"),
    [
        ({"monitorName": "ProbeMonitor"}, "ProbeMonitor"),  # no display name nor service: the monitor's
        ({}, "unknown alert"),
        ({"entityDisplayName": "Manual page by taavi: "}, "Manual page by taavi"),
        ({"entityDisplayName": "x" * 80}, "x" * 80),  # exactly the longest label
        ({"entityDisplayName": "x" * 78 + " yy"}, "x" * 78 + "…"),  # cut, without the space before the ellipsis
    ],
)
def test_the_label_of_a_page(incident: dict, label: str) -> None:
    incident = {"incidentNumber": "401", "startTime": "2023-02-14T18:10:00Z", **incident}
    result = parse_oncall(Export("oncall", (("incidents-001.json", json.dumps([incident])),)), Query(WINDOW))
    assert result.events[0].text == f"{label} paged nobody named (who was reached is unknown)"


@pytest.mark.parametrize(("count", "listed"), [(8, "a0, a1, a2, a3, a4, a5, a6, a7"), (9, "a0, a1, a2, a3, a4, a5, a6, a7, …")])
def test_up_to_eight_people_are_named(count: int, listed: str) -> None:
    incident = {"incidentNumber": "402", "startTime": "2023-02-14T18:10:00Z", "entityDisplayName": "ProbeDown",
                "pagedUsers": [f"a{n}" for n in range(count)]}  # fmt: skip
    result = parse_oncall(Export("oncall", (("incidents-001.json", json.dumps([incident])),)), Query(WINDOW))
    assert result.events[0].text == f"ProbeDown paged {count} people ({listed})"


def _parse_files(*files: tuple[str, str], meta: dict | None = None):
    return parse_oncall(Export("oncall", files, meta or {}), Query(WINDOW))


def test_each_unreadable_record_is_a_problem_with_its_place_and_text_and_reading_goes_on() -> None:
    not_json = "<html>" + "x" * 200
    no_list = '{"error": "' + "y" * 200 + '"}'
    not_object = "s" * 200
    no_number = {"startTime": "2023-02-14T18:10:00Z", "entityDisplayName": "z" * 200}
    untimed = {"name": "acknowledged", "at": "soon", "message": "m" * 200}
    good = {"incidentNumber": "501", "startTime": "2023-02-14T18:10:00Z", "entityDisplayName": "ProbeDown",
            "transitions": [untimed]}  # fmt: skip
    result = _parse_files(
        ("a.json", not_json),
        ("b.json", no_list),
        ("c.json", json.dumps([not_object, no_number, good])),
        ("d.json", json.dumps([{**good, "incidentNumber": "502"}])),
    )
    assert result.source == "oncall"
    assert [(p.where, p.reason.split(":")[0], p.text) for p in result.problems] == [
        ("a.json", "not JSON", not_json[:120]),
        ("b.json", "not a list of on-call incidents", no_list[:120]),
        ("c.json incident 1", "incident is not an object", ('"' + "s" * 200)[:120]),
        ("c.json incident 2", "incident has no incidentNumber", json.dumps(no_number)[:120]),
        ("c.json incident 3", "transition 'acknowledged' has no readable time", json.dumps(untimed)[:120]),
        ("d.json incident 1", "transition 'acknowledged' has no readable time", json.dumps(untimed)[:120]),
    ]
    assert len(not_json[:120]) == len(json.dumps(untimed)[:120]) == 120  # every quote was cut
    assert [(e.source, e.data["incident"]) for e in result.events] == [("oncall", "501"), ("oncall", "502")]
    assert result.lines_read == 4


def test_transitions_are_read_in_time_order_and_one_at_the_moment_of_the_page_is_kept() -> None:
    incident = {
        "incidentNumber": "601", "startTime": "2023-02-14T18:10:00Z", "entityDisplayName": "ProbeDown",
        "transitions": [  # listed out of order, as nothing in the API promises an order
            {"name": "resolved", "at": "2023-02-14T18:30:00Z", "by": "bob"},
            {"name": "acknowledged", "at": "2023-02-14T18:12:00Z", "by": "alice"},
            {"name": "triggered", "at": "2023-02-14T18:12:00Z"},
        ],
    }  # fmt: skip
    result = _parse_files(("incidents-001.json", json.dumps([incident])))
    assert [(e.time.strftime("%H:%M"), e.kind, e.text, e.source) for e in result.events] == [
        ("18:12", EventKind.PAGE, "ProbeDown paged nobody named (who was reached is unknown)", "oncall"),
        ("18:12", EventKind.PAGE_ACK, "ProbeDown acknowledged by alice", "oncall"),  # in the second it was paged
        ("18:30", EventKind.PAGE_RESOLVED, "ProbeDown resolved by bob", "oncall"),
    ]  # fmt: skip


def test_the_raw_record_of_a_page_and_of_a_transition_is_kept_with_sorted_keys() -> None:
    incident = {"startTime": "2023-02-14T18:10:00Z", "incidentNumber": "602", "entityDisplayName": "ProbeDown",
                "transitions": [{"name": "acknowledged", "at": "2023-02-14T18:11:00Z", "by": "alice"}]}  # fmt: skip
    page, ack = _parse_files(("incidents-001.json", json.dumps([incident]))).events
    assert page.raw == '{"entityDisplayName": "ProbeDown", "incidentNumber": "602", "startTime": "2023-02-14T18:10:00Z"}'
    assert ack.raw == '{"at": "2023-02-14T18:11:00Z", "by": "alice", "name": "acknowledged"}'


def test_pages_left_out_by_the_filter_are_counted() -> None:
    incidents = [
        {"incidentNumber": str(n), "startTime": "2023-02-14T18:10:00Z", "entityDisplayName": "ProbeDown", "routingKey": key}
        for n, key in ((701, "wmcs"), (702, "wmcs"), (703, "sre"))
    ]
    files = (("incidents-001.json", json.dumps(incidents)),)
    assert _parse_files(*files, meta={"routing_keys": ["sre"]}).notes == (
        "2 pages of other routing keys or teams left out ([oncall] routing_keys / teams)",
    )
    assert _parse_files(*files, meta={"routing_keys": ["sre", "wmcs"]}).notes == ()


def test_what_a_page_names_its_teams_policies_and_phase() -> None:
    incident = {
        "incidentNumber": "801", "startTime": "2023-02-14T18:10:00Z", "entityDisplayName": "ProbeDown",
        "currentPhase": "Snoozed", "pagedUsers": ["jdoe"],
        "pagedPolicies": [
            {"policy": {"name": "Primary"}, "team": {"slug": "team-unnamed"}},  # a team without a name
            {"policy": {"name": "Secondary"}, "team": {"name": "SRE", "slug": "team-sre"}},
        ],
    }  # fmt: skip
    (page,) = _parse_files(("incidents-001.json", json.dumps([incident]))).events
    assert page.text == "ProbeDown paged Primary, Secondary: 1 person (jdoe)"
    assert page.data["teams"] == ["team-unnamed", "SRE"] and page.data["team_slugs"] == ["team-unnamed", "team-sre"]
    assert page.data["phase"] == "snoozed"  # an unknown phase, as given but in lower case


def test_the_base_url_is_trimmed_of_its_slashes_only(key: str) -> None:
    down = OncallSettings(url=f"http://127.0.0.1:{free_port()}/proxyX//", api_id="wikimedia", key_env=KEY_ENV)
    with pytest.raises(SourceError) as caught:
        OncallSource(down).pull(Query(WINDOW))
    assert "/proxyX/api-reporting/v2/incidents" in caught.value.message


def test_an_incident_on_two_pages_is_read_once_and_the_next_still_read() -> None:
    incidents = [{"incidentNumber": n, "startTime": "2023-02-14T18:10:00Z", "entityDisplayName": "ProbeDown"}
                 for n in ("901", "901", "902")]  # fmt: skip
    result = _parse_files(("incidents-001.json", json.dumps(incidents)))
    assert [e.data["incident"] for e in result.events] == ["901", "902"] and result.lines_read == 3


def test_a_silent_server_times_out_after_the_configured_time(key: str) -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts connections, never answers
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        config = OncallSettings(url=url, api_id="wikimedia", key_env=KEY_ENV, timeout=0.3)
        with budget(10), pytest.raises(SourceError) as caught:
            OncallSource(config).pull(Query(WINDOW))
    assert caught.value.message == f"oncall: {url}/api-reporting/v2/incidents did not answer within 0.3 s"


class _JsonAnswers(BaseHTTPRequestHandler):
    """A reporting API answering every GET with :meth:`answer`'s (status, JSON document)."""

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        return

    def answer(self) -> tuple[int, object]:
        raise NotImplementedError

    def do_GET(self) -> None:
        status, document = self.answer()
        body = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@contextmanager
def _oncall_at(handler: type[_JsonAnswers]) -> Iterator[OncallSource]:
    """An Oncall source pointed at a loopback server answering with *handler*."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield OncallSource(
            OncallSettings(url=f"http://127.0.0.1:{server.server_address[1]}", api_id="wikimedia", key_env=KEY_ENV)
        )
    finally:
        server.shutdown()
        server.server_close()


class _EchoKey(_JsonAnswers):
    """A broken server whose error message quotes the API key it was sent."""

    def answer(self) -> tuple[int, object]:
        return 500, {"error": f"backend failed for key {self.headers['X-VO-Api-Key']}"}


def test_an_error_that_quotes_the_key_does_not_show_it(key: str) -> None:
    with _oncall_at(_EchoKey) as source, pytest.raises(SourceError) as caught:
        source.pull(Query(WINDOW))
    assert caught.value.message.startswith("oncall: HTTP 500 from ") and "backend failed for key" in caught.value.message
    assert key not in caught.value.message + (caught.value.hint or "")


class _NumberlessPages(_JsonAnswers):
    """A reporting API whose later pages hold only incidents without a number (nor an entity id)."""

    def answer(self) -> tuple[int, object]:
        offset = int(parse_qs(urlsplit(self.path).query)["offset"][0])
        incident = {"startTime": "2023-02-14T18:10:00Z", "entityDisplayName": f"Numberless {offset}"}
        if offset == 0:
            incident = {**incident, "incidentNumber": "1"}
        return 200, {"offset": offset, "limit": 100, "total": 3, "incidents": [incident]}


def test_pages_of_incidents_without_a_number_are_not_taken_for_repeats(key: str) -> None:
    with _oncall_at(_NumberlessPages) as source:
        export = source.pull(Query(WINDOW))
    assert [name for name, _ in export.files] == ["incidents-001.json", "incidents-002.json", "incidents-003.json"]
    result = parse_oncall(export, Query(WINDOW))
    assert [p.reason for p in result.problems] == ["incident has no incidentNumber"] * 2
