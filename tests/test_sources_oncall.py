"""The oncall source: pages, acknowledgements and resolutions from Splunk On-Call, against the documented API's fake."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from incidentkit.cli import app
from incidentkit.clients.budget import budget
from incidentkit.config import OncallSettings
from incidentkit.errors import SourceError
from incidentkit.model.event import EventKind
from incidentkit.model.source import Export, Query
from incidentkit.model.window import Window
from incidentkit.sources import all_specs
from incidentkit.sources.oncall import OncallSource, parse_oncall
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
