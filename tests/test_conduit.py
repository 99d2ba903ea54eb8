"""The Conduit client (incidentkit.clients.conduit) and the Conduit fake it is tested against.

The fake is first checked against the real captures in ``tests/fixtures/phabricator/captures/``
(copied from a real Phorge): starting empty, every captured request is replayed in capture order,
the edits that built the captured state included (new tasks and transactions take the captured
PHIDs, the clock the server's), comparing the whole envelope (key order, types, ``[]`` vs ``{}``,
string cursors, error codes and messages). Only the captures in ``NOT_REPLAYED`` are left out.
"""

from __future__ import annotations

import dataclasses
import json
import socket
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from incidentkit.clients.budget import DEADLINE_HINT, OverBudget, budget
from incidentkit.clients.conduit import WRONG_PATH, ConduitClient, ConduitError, project_key, scrub, task_view
from incidentkit.clients.http import USER_AGENT
from incidentkit.config import load_settings
from incidentkit.errors import ConfigError, InputError, SourceError
from incidentkit.model.tasks import parse_task
from incidentkit.model.time import to_epoch
from tests.servers.conduit_fake import ConduitFake

CAPTURES = Path(__file__).parent / "fixtures" / "phabricator" / "captures"
CAPTURED_BASE = "http://127.0.0.1:8099"

# Captures the fake cannot answer, and why; every other capture is replayed and compared.
NOT_REPLAYED = {
    "001": "user.whoami carries instance-specific avatar URIs",
    "003": "project.edit is not modelled; the fake starts with the projects it created",
    "004": "project.edit is not modelled; the fake starts with the projects it created",
    "043": "fulltext search: the captured server had not built its search index (see 117)",
    "061": "project transactions are not modelled",
    "094": "project.edit is not modelled",
    "115": "project.column.search is not modelled",
    "116": "fulltext search: the captured server had not built its search index (see 117)",
    **{
        seq: "PHP-bracket flat encoding is not modelled: incidentkit sends params=<json>"
        for seq in ("062", "063", "065", "066", "067", "122", "123", "124", "125", "126")
    },
}
SHAPE_ONLY = {"002", "121"}  # conduit.ping answers with the server's host name


def _load(name: str) -> Any:
    return json.loads((CAPTURES / name).read_text(encoding="utf-8"))


def _captures() -> list[dict[str, Any]]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(CAPTURES.glob("*.meta.json"))]


def _captured_result(meta: dict[str, Any]) -> dict[str, Any]:
    """The captured answer's ``result`` object (empty for errors and HTML pages)."""
    try:
        result = _load(meta["response_file"]).get("result")
    except (ValueError, AttributeError):
        return {}
    return result if isinstance(result, dict) else {}


def _transaction_times() -> dict[str, int]:
    """Transaction PHID -> the server's dateCreated, from every captured transaction.search."""
    return {
        record["phid"]: record["dateCreated"]
        for meta in _captures()
        if meta["conduit_method"] == "transaction.search"
        for record in _captured_result(meta).get("data") or []
    }


def _server_time(meta: dict[str, Any], stamps: dict[str, int]) -> datetime:
    """When the server handled a request: an edit's own transactions say it to the second (the
    capture time is when the answer arrived, sometimes the next second); else the capture time."""
    made = [stamps[t["phid"]] for t in _captured_result(meta).get("transactions") or [] if t["phid"] in stamps]
    if made:
        return datetime.fromtimestamp(made[0], UTC)
    return datetime.fromisoformat(meta["captured_at_utc"].replace("Z", "+00:00"))


def _masked(value: Any) -> Any:
    """Replace what the fake must generate itself (comment PHIDs, group ids)."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key == "groupID" and isinstance(item, str):
                out[key] = "<group>"
            elif key == "phid" and isinstance(item, str) and item.startswith("PHID-XCMT-"):
                out[key] = "<phid>"
            else:
                out[key] = _masked(item)
        return out
    if isinstance(value, list):
        return [_masked(item) for item in value]
    return value


def _shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shape(item) for item in value[:1]]
    return type(value).__name__


def _replay(fake: ConduitFake, meta: dict[str, Any]) -> requests.Response:
    def tokens(text: str) -> str:
        return text.replace("api-<redacted:admin>", fake.token_for("admin")).replace(
            "api-<redacted:alice>", fake.token_for("alice")
        )

    url = meta["url"].replace(CAPTURED_BASE, fake.url)
    if meta["http_method"] == "GET":
        return requests.get(url, timeout=10)
    if meta.get("request_body_sent") is not None:
        return requests.post(
            url,
            data=tokens(meta["request_body_sent"]).encode(),
            headers={"Content-Type": meta["request_content_type"]},
            timeout=10,
        )
    return requests.post(url, data=[(k, tokens(v)) for k, v in meta["form_fields_sent"]], timeout=10)


def test_fake_replays_every_real_capture_from_empty(conduit: ConduitFake) -> None:
    captures = _captures()
    stamps = _transaction_times()
    # the captured server's tasks and transactions get the same PHIDs, so later requests naming them work
    conduit.task_phids = [t["phid"] for t in sorted(_load("029-maniphest.search-all-attachments.json")["result"]["data"], key=lambda t: t["id"])]
    mismatches: list[str] = []
    compared = 0
    skipped = []
    for meta in captures:
        seq = meta["response_file"][:3]
        conduit.set_clock(_server_time(meta, stamps))
        if meta["conduit_method"] == "maniphest.edit":
            conduit.txn_phids = [t["phid"] for t in _captured_result(meta).get("transactions") or []]
        if seq in NOT_REPLAYED:
            skipped.append(seq)
            if meta["conduit_method"] == "maniphest.edit":  # 066: keep the state in step with the server
                params = meta["params_sent"]
                conduit.edit(int(params["objectIdentifier"][1:]), params["transactions"])
            continue
        response = _replay(conduit, meta)
        expected_text = (CAPTURES / meta["response_file"]).read_text(encoding="utf-8")
        compared += 1
        label = meta["response_file"]
        if response.status_code != meta["http_status"]:
            mismatches.append(f"{label}: HTTP {response.status_code}, captured {meta['http_status']}")
            continue
        if meta["http_status"] != 200:
            if "text/html" not in response.headers["Content-Type"]:
                mismatches.append(f"{label}: expected an HTML error page")
            continue
        if response.headers["Content-Type"] != "application/json":
            mismatches.append(f"{label}: Content-Type {response.headers['Content-Type']}")
        expected = json.loads(
            expected_text.replace(CAPTURED_BASE.replace("/", "\\/"), conduit.url.replace("/", "\\/"))
        )
        actual = response.json()
        if seq in SHAPE_ONLY:
            expected, actual = _shape(expected), _shape(actual)
        elif meta["response_file"].startswith("085"):  # the server echoes the request body, token and all
            expected["error_info"] = actual["error_info"] = None
        if json.dumps(_masked(actual)) != json.dumps(_masked(expected)):
            mismatches.append(
                f"{label}:\n  fake:     {json.dumps(_masked(actual))[:600]}\n  captured: {json.dumps(_masked(expected))[:600]}"
            )
        if "\\/" in expected_text and "\\/" not in response.text:
            mismatches.append(f"{label}: PHP-style \\/ escaping missing")
    assert not mismatches, "\n".join(mismatches)
    assert sorted(skipped) == sorted(NOT_REPLAYED)  # every listed capture exists
    assert compared == len(captures) - len(NOT_REPLAYED) == 113


def test_fake_keeps_the_real_error_envelope_for_tokens(conduit: ConduitFake) -> None:
    response = requests.post(
        f"{conduit.url}/api/maniphest.search",
        data={"params": json.dumps({"__conduit__": {"token": "api-" + "z" * 28}}), "__conduit__": "1"},
        timeout=10,
    )
    assert response.status_code == 200
    assert response.json() == {
        "result": None,
        "error_code": "ERR-INVALID-AUTH",
        "error_info": 'API token "api-zzzzzzzzzzzzzzzzzzzzzzzzzzzz" is not valid.',
    }


# --- the client -------------------------------------------------------------------------------------


@pytest.fixture
def client(conduit: ConduitFake) -> ConduitClient:
    return ConduitClient(conduit.url, conduit.token, timeout=5, retries=2, backoff=0)


def test_call_sends_form_encoded_params_with_the_token_inside(
    conduit: ConduitFake, client: ConduitClient
) -> None:
    seen: list[Any] = []
    session = requests.Session()
    original = session.post

    def spy(url: str, **kwargs: Any) -> requests.Response:
        seen.append((url, kwargs["data"]))
        return original(url, **kwargs)

    session.post = spy  # type: ignore[method-assign]
    spied = ConduitClient(conduit.url, conduit.token, session=session)
    assert spied.call("conduit.ping") == "fake-phorge"
    url, form = seen[0]
    assert url == f"{conduit.url}/api/conduit.ping"
    assert form["output"] == "json" and form["__conduit__"] == "1"
    assert json.loads(form["params"]) == {"__conduit__": {"token": conduit.token}}


def test_search_pages_through_string_cursors(conduit: ConduitFake, client: ConduitClient) -> None:
    for number in range(250):
        conduit.add_task(f"task {number}", created=1_700_000_000 + number)
    before = conduit.calls
    items = list(client.search("maniphest.search", order="oldest"))
    assert [item["id"] for item in items] == list(range(1, 251))
    assert conduit.calls - before == 3 == client.calls
    cursors = [params.get("after") for method, params in conduit.requests[-3:]]
    assert cursors == [None, "100", "200"]


def test_search_with_a_smaller_page_and_constraints(conduit: ConduitFake, client: ConduitClient) -> None:
    project = conduit.add_project("Errors", "errors")
    for number in range(7):
        conduit.add_task(
            f"t{number}", projects=[project] if number % 2 else [], created=1_700_000_000 + number
        )
    items = list(
        client.search("maniphest.search", {"projects": [project]}, attachments=["projects"], limit=2)
    )
    assert sorted(item["id"] for item in items) == [2, 4, 6]
    assert client.calls == 2
    assert all(item["attachments"]["projects"]["projectPHIDs"] == [project] for item in items)


def test_transactions_page_at_1000_and_stop_at_since(conduit: ConduitFake, client: ConduitClient) -> None:
    task = conduit.add_task("busy", created=1_700_000_000)
    for minute in range(1, 1500):
        conduit.add_comment(task.id, f"c{minute}", at=1_700_000_000 + 60 * minute)
    everything = client.transactions("T1")
    assert len(everything) == 1499 + 3  # the comments, plus create, title and subscribers
    assert client.calls == 2
    recent = client.transactions(task.phid, since=1_700_000_000 + 60 * 1400)
    assert len(recent) == 100 and client.calls == 3


def test_statuses_priorities_and_names_in_batches(conduit: ConduitFake, client: ConduitClient) -> None:
    phids = [conduit.add_user(f"user{n}") for n in range(230)]
    names = client.user_names([*phids, *phids[:10], "PHID-USER-nosuchuser000000000"])
    assert len(names) == 230 and names[phids[0]] == "user0"
    assert client.calls == 3  # 231 distinct PHIDs, 100 per call
    assert [s["value"] for s in client.statuses()][:2] == ["open", "resolved"]
    assert client.priorities()[0]["name"] == "Unbreak Now!"
    assert client.project_names(["PHID-PROJ-6xycd6zxjatbtujcjg7x"]) == {
        "PHID-PROJ-6xycd6zxjatbtujcjg7x": "Incident Response"
    }
    assert client.user_names([]) == {} and client.calls == 6


def test_tasks_by_ids_batches_and_accepts_monograms(conduit: ConduitFake, client: ConduitClient) -> None:
    for number in range(120):
        conduit.add_task(f"t{number}", created=1_700_000_000 + number)
    found = client.tasks_by_ids(["T1", 2, "T120", *range(3, 110)])
    assert len(found) == 110 and client.calls == 2


def test_shapes_are_normalised(conduit: ConduitFake, client: ConduitClient) -> None:
    conduit.add_task("no board", created=1_700_000_000)
    (item,) = client.search("maniphest.search", attachments=["columns"])
    assert item["attachments"]["columns"]["boards"] == {}
    raw = requests.post(
        f"{conduit.url}/api/maniphest.search",
        data={
            "params": json.dumps({"attachments": {"columns": True}, "__conduit__": {"token": conduit.token}})
        },
        timeout=10,
    ).json()
    assert raw["result"]["data"][0]["attachments"]["columns"]["boards"] == []  # what the server sends
    assert client.call("phid.lookup", {"names": ["T999", "#nope"]}) == []  # nothing found: PHP's empty array
    assert client.call("phid.lookup", {"names": ["T1"]})["T1"]["type"] == "TASK"


@pytest.mark.parametrize(
    ("method", "params", "code", "hint_word"),
    [
        ("maniphest.nosuchmethod", {}, "ERR-CONDUIT-CALL", "method"),
        ("maniphest.search", {"limit": 101}, "ERR-INVALID-PAGE-SIZE", "refused"),
        ("maniphest.search", {"constraints": {"bogus": [1]}}, "ERR-INVALID-CONSTRAINT", "refused"),
        ("maniphest.search", {"attachments": {"bogus": True}}, "ERR-INVALID-ATTACHMENT", "refused"),
        ("maniphest.search", {"queryKey": "bogus"}, "ERR-BAD-QUERYKEY", "refused"),
        ("maniphest.search", {"order": "bogus"}, "ERR-CONDUIT-CORE", "refused"),
        ("transaction.search", {"objectIdentifier": "T999"}, "ERR-INVALID-OBJECT-PHID", "refused"),
        ("transaction.search", {}, "ERR-INVALID-PARAMETER", "refused"),
        ("phid.lookup", {"names": "T1"}, "TypeError", "refused"),
        (
            "maniphest.edit",
            {"transactions": [{"type": "description", "value": "x"}]},
            "ERR-CONDUIT-CORE",
            "refused",
        ),
    ],
)
def test_every_error_code_is_an_error(
    client: ConduitClient,
    conduit: ConduitFake,
    method: str,
    params: dict[str, Any],
    code: str,
    hint_word: str,
) -> None:
    with pytest.raises(ConduitError) as raised:
        client.call(method, params)
    assert raised.value.code == code
    assert raised.value.method == method
    assert isinstance(raised.value, SourceError)
    assert code in raised.value.message and hint_word in (raised.value.hint or "")
    assert client.calls == 1  # a Conduit error is an answer: never retried


def test_validation_errors_read_as_one_line(client: ConduitClient) -> None:
    with pytest.raises(ConduitError) as raised:
        client.edit_task([{"type": "description", "value": "no title"}])
    assert raised.value.message.endswith("ERR-CONDUIT-CORE: Validation errors: - Tasks must have a title.")
    assert "\n" not in raised.value.message


@pytest.mark.parametrize(
    "token",
    [
        "api-" + "q" * 28,  # token-shaped: quoted back verbatim by the server
        "cli-" + "r" * 28,
        "not-a-token",  # wrong length: also quoted back
    ],
)
def test_bad_token_errors_never_show_the_token(conduit: ConduitFake, token: str) -> None:
    bad = ConduitClient(conduit.url, token, retries=0, token_env="PHAB_TOKEN")
    with pytest.raises(ConduitError) as raised:
        bad.call("maniphest.search", {})
    error = raised.value
    assert error.code == "ERR-INVALID-AUTH"
    assert token not in str(error) and token not in (error.hint or "") and token not in repr(bad)
    assert "<redacted>" in error.message
    assert "token_env" in (error.hint or "") and "PHAB_TOKEN" in (error.hint or "")


def test_missing_token_is_invalid_session(conduit: ConduitFake) -> None:
    with pytest.raises(ConduitError) as raised:
        ConduitClient(conduit.url, "").call("conduit.ping")
    assert raised.value.code == "ERR-INVALID-SESSION"
    assert "token_env" in (raised.value.hint or "")


def test_scrub_removes_tokens_echoed_in_a_request_body() -> None:
    echoed = _load("085-err-json-body-charset.json")["error_info"]
    assert "api-REDACTEDREDACTEDREDACTEDxxxx" in echoed
    assert "api-REDACTED" not in scrub(echoed)
    assert scrub('API token "short" is not valid.') == 'API token "<redacted>" is not valid.'
    assert "sekrit-value" not in scrub("the body was sekrit-value", "sekrit-value")
    assert len(scrub("x" * 5000)) <= 300


def test_html_500_is_retried_for_reads(conduit: ConduitFake, client: ConduitClient) -> None:
    conduit.fail_next("html500")
    assert client.call("conduit.ping") == "fake-phorge"
    assert conduit.calls == 2 == client.calls


def test_html_500_fails_with_a_short_message_when_retries_run_out(conduit: ConduitFake) -> None:
    conduit.fail_next("html500", times=3)
    once = ConduitClient(conduit.url, conduit.token, retries=2, backoff=0)
    with pytest.raises(ConduitError) as raised:
        once.call("maniphest.search", {})
    assert "HTTP 500 with an HTML page" in raised.value.message and "after 3 attempts" in raised.value.message
    assert "<html" not in raised.value.message and raised.value.code is None
    assert once.calls == 3


@pytest.mark.parametrize("kind", ["html200", "garbage"])
def test_a_non_conduit_200_body_is_an_error(conduit: ConduitFake, kind: str) -> None:
    conduit.fail_next(kind)
    with pytest.raises(ConduitError) as raised:
        ConduitClient(conduit.url, conduit.token, retries=0).call("maniphest.search", {})
    assert "not a Conduit JSON envelope" in raised.value.message
    assert "[phabricator] url" in (raised.value.hint or "")


def test_429_then_success_is_retried_even_for_edits(conduit: ConduitFake, client: ConduitClient) -> None:
    conduit.fail_next("429", times=2)
    assert len(list(client.search("maniphest.search"))) == 0
    assert client.calls == 3
    conduit.fail_next("429", method="maniphest.edit")
    result = client.edit_task([{"type": "title", "value": "created after a 429"}])
    assert result["object"]["id"] == 1 and len(conduit.tasks) == 1


def test_429_that_never_clears_says_rate_limited(conduit: ConduitFake) -> None:
    conduit.fail_next("429", times=5)
    with pytest.raises(ConduitError) as raised:
        ConduitClient(conduit.url, conduit.token, retries=1, backoff=0).call("conduit.ping")
    assert "rate limited (HTTP 429)" in raised.value.message


def test_edits_are_never_retried_once_sent(conduit: ConduitFake, client: ConduitClient) -> None:
    conduit.fail_next("html500", method="maniphest.edit")
    with pytest.raises(ConduitError):
        client.edit_task([{"type": "title", "value": "maybe created"}])
    assert client.calls == 1


def test_slow_server_times_out(conduit: ConduitFake) -> None:
    conduit.slow_next(1.0)
    impatient = ConduitClient(conduit.url, conduit.token, timeout=0.2, retries=0)
    with pytest.raises(ConduitError) as raised:
        impatient.call("maniphest.search", {})
    assert "within 0.2s" in raised.value.message and "timeout" in (raised.value.hint or "")


def test_slow_once_then_fine_is_retried(conduit: ConduitFake) -> None:
    conduit.slow_next(1.0)
    patient = ConduitClient(conduit.url, conduit.token, timeout=0.3, retries=1, backoff=0)
    assert patient.call("conduit.ping") == "fake-phorge"
    assert patient.calls == 2


def test_a_request_the_client_gave_up_on_leaves_no_trace_after_a_reset(conduit: ConduitFake) -> None:
    """The fake is shared by the session: a slow answer that outlives its test must not land in the next."""
    conduit.slow_next(0.6)
    with pytest.raises(ConduitError):
        ConduitClient(conduit.url, conduit.token, timeout=0.1, retries=0).call("conduit.ping")
    conduit.reset()
    time.sleep(0.8)
    assert conduit.requests == []


def test_connection_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sleeps: list[float] = []
    monkeypatch.setattr("incidentkit.clients.budget.time.sleep", sleeps.append)
    dead = ConduitClient(f"http://127.0.0.1:{port}", "api-" + "a" * 28, retries=2, backoff=0.5)
    with pytest.raises(ConduitError) as raised:
        dead.edit_task([{"type": "title", "value": "x"}])  # refused before sending: safe to retry
    assert "cannot connect to 127.0.0.1" in raised.value.message
    assert dead.calls == 3 and sleeps == [0.5, 1.0]


def test_from_settings_reads_the_token_from_the_named_env_var(
    monkeypatch: pytest.MonkeyPatch, conduit: ConduitFake
) -> None:
    monkeypatch.setenv("INCIDENTKIT_PHABRICATOR_URL", conduit.url + "/")
    monkeypatch.setenv("INCIDENTKIT_PHABRICATOR_TOKEN_ENV", "MY_PHAB_TOKEN")
    settings = load_settings()
    with pytest.raises(ConfigError) as raised:
        ConduitClient.from_settings(settings)
    assert "MY_PHAB_TOKEN" in raised.value.message
    monkeypatch.setenv("MY_PHAB_TOKEN", conduit.token)
    client = ConduitClient.from_settings(settings)
    assert client.url == conduit.url and client.call("conduit.ping") == "fake-phorge"
    assert conduit.token not in repr(client)


@pytest.mark.parametrize("url", ["", "phabricator.example.org", "ftp://x"])
def test_bad_urls_are_config_errors(url: str) -> None:
    with pytest.raises(ConfigError):
        ConduitClient(url, "api-" + "a" * 28)


def test_small_helpers() -> None:
    assert parse_task(12) == parse_task("T12") == parse_task("12") == "T12"
    with pytest.raises(InputError):
        parse_task("X12")
    assert to_epoch(datetime(2026, 11, 23, 1, 33, 55, 900000, tzinfo=UTC)) == 1795397635


# --- names as people write them -----------------------------------------------------------------------


def test_projects_resolve_by_name_any_hashtag_or_phid(conduit: ConduitFake, client: ConduitClient) -> None:
    followup = conduit.add_project("Sustainability (Incident Followup)")  # hashtag sustainability_incident_followup
    onfire = conduit.add_project("SRE-OnFIRE (Pending Review & Scorecard)", hashtags=["sre-onfire"])
    refs = [
        "Sustainability (Incident Followup)",
        "sustainability-incident-followup",  # a guess at the hashtag with the wrong separators
        "#SRE-OnFIRE",  # another hashtag, any case
        "sre_onfire_pending_review_scorecard",  # neither spelling Phorge knows: found by its name
        "PHID-PROJ-6xycd6zxjatbtujcjg7x",
        "no-such-project",
    ]
    found = client.resolve_projects(refs)
    assert {ref: project.phid for ref, project in found.items()} == {
        refs[0]: followup, refs[1]: followup, refs[2]: onfire, refs[3]: onfire,
        refs[4]: "PHID-PROJ-6xycd6zxjatbtujcjg7x",
    }  # fmt: skip
    assert found[refs[2]].describe() == f"SRE-OnFIRE (Pending Review & Scorecard) (#sre-onfire_pending_review_scorecard, {onfire})"
    # PHIDs in one call, every hashtag spelling in one, a name search for each still unknown
    assert [method for method, _ in conduit.requests] == ["project.search"] * 4
    assert client.resolve_projects(refs) == found and client.calls == 4  # cached for the client's life


def test_usernames_resolve_in_batches_and_once(conduit: ConduitFake, client: ConduitClient) -> None:
    names = [f"sre{n}" for n in range(150)]
    phids = {name: conduit.add_user(name) for name in names}
    found = client.user_phids(["Alice", "@bob", "nobody", *names, "PHID-USER-given"])
    assert found == {
        "Alice": conduit._user("alice").phid, "@bob": conduit._user("bob").phid, **phids,
        "PHID-USER-given": "PHID-USER-given",
    }  # fmt: skip
    assert [len(p["constraints"]["usernames"]) for m, p in conduit.requests if m == "user.search"] == [100, 53]
    assert client.user_phids(["alice", "nobody"]) == {"alice": conduit._user("alice").phid}
    assert client.calls == 2  # known and unknown names are both remembered


@pytest.mark.parametrize("path", ["phab", "w/api.php"])
def test_a_wrong_path_is_one_call_with_phorges_answer(conduit: ConduitFake, path: str) -> None:
    misconfigured = ConduitClient(f"{conduit.url}/{path}", conduit.token, retries=3, backoff=0)
    with pytest.raises(ConduitError) as raised:
        misconfigured.call("maniphest.search")
    assert raised.value.code == WRONG_PATH and misconfigured.calls == 1
    assert raised.value.message.startswith(
        f'Phabricator maniphest.search failed: ERROR: You are making a Conduit API request to "/{path}/api/maniphest.search"'
    )
    assert raised.value.hint == f"set [phabricator] url to the site root, e.g. {conduit.url}/"


def test_transactions_are_read_only_as_far_as_needed(conduit: ConduitFake, client: ConduitClient) -> None:
    task = conduit.add_task("busy", created=1_700_000_000)
    for n in range(1500):
        conduit.add_comment(task.id, f"c{n}", at=1_700_000_001 + n)
    newest = next(client.iter_transactions(task.monogram))
    assert newest["comments"][0]["content"]["raw"] == "c1499" and client.calls == 1
    assert len(client.transactions(task.monogram)) == 1500 + 3 and client.calls == 3  # + create, title, subscribers


# --- answers the fake does not give: canned wire replies --------------------------------------------


def _answer(status: int, body: str | bytes, content_type: str = "application/json", **headers: str) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = body.encode() if isinstance(body, str) else body
    response.headers["Content-Type"] = content_type
    response.headers.update(headers)
    return response


def _envelope(result: Any = None, code: Any = None, info: Any = None) -> requests.Response:
    return _answer(200, json.dumps({"result": result, "error_code": code, "error_info": info}))


def _canned(
    answers: list[requests.Response], sleeps: list[float] | None = None, **options: Any
) -> tuple[ConduitClient, list[dict[str, Any]]]:
    """A client whose requests get *answers* in order; returns it and the params each request sent."""
    client = ConduitClient("https://phab.example.org/", "api-" + "k" * 28, backoff=0.5, **options)
    sent: list[dict[str, Any]] = []

    def post(url: str, **kwargs: Any) -> requests.Response:
        params = json.loads(kwargs["data"]["params"])
        params.pop("__conduit__")
        sent.append({"url": url, **params})
        return answers.pop(0)

    client.session.post = post  # type: ignore[method-assign]
    return client, sent


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    slept: list[float] = []
    monkeypatch.setattr("incidentkit.clients.budget.time.sleep", slept.append)
    return slept


# --- task_view: the fields actionables read, from a real maniphest.search capture ---------------------

_CAPTURED_TASKS = {item["id"]: item for item in _load("029-maniphest.search-all-attachments.json")["result"]["data"]}


def _utc(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


@pytest.mark.parametrize(
    ("task_id", "expected"),
    [
        (
            1,
            dict(
                id=1, phid="PHID-TASK-vwp63auz6g5h5xq2ti3k", title="Database primary failover during peak traffic",
                owner_phid="PHID-USER-bcqen4pkyl7s6vy2w2yl", status_value="resolved", status_name="Resolved",
                closed_at=_utc(1795397645), priority="Unbreak Now!", priority_value=100,
                project_phids=("PHID-PROJ-qtuv2vrim6nixtrlrlyt", "PHID-PROJ-6xycd6zxjatbtujcjg7x"),
                created_at=_utc(1795397635), modified_at=_utc(1795397645),
            ),
        ),
        (
            6,
            dict(
                id=6, phid="PHID-TASK-w2nijhjsgjbzujerxoa5", title="Document runbook for TLS cert rotation",
                owner_phid=None, status_value="open", status_name="Open", closed_at=None, priority="Wishlist",
                priority_value=0, project_phids=(), created_at=_utc(1795397641), modified_at=_utc(1795397641),
            ),
        ),
    ],
)  # fmt: skip
def test_task_view_reads_a_captured_item(task_id: int, expected: dict[str, Any]) -> None:
    view = task_view(_CAPTURED_TASKS[task_id])
    assert {name: getattr(view, name) for name in expected} == expected


def test_task_view_tolerates_missing_optional_fields() -> None:
    item = {"id": "7", "phid": "PHID-TASK-x", "fields": {"status": {"value": "open"}, "dateCreated": 1700000000}}
    view = task_view(item)
    assert (view.id, view.title, view.status_name, view.owner_phid) == (7, "", "", None)
    assert (view.priority, view.priority_value, view.project_phids) == (None, None, ())
    assert view.modified_at == view.created_at == _utc(1700000000) and view.closed_at is None
    with_projects = {**item, "attachments": {"projects": {"projectPHIDs": ["PHID-PROJ-a", "PHID-PROJ-b"]}}}
    assert task_view(with_projects).project_phids == ("PHID-PROJ-a", "PHID-PROJ-b")


@pytest.mark.parametrize(
    "broken",
    [
        {"id": 8, "phid": "PHID-TASK-x"},  # no fields
        {"id": 8, "phid": "PHID-TASK-x", "fields": {"dateCreated": 1700000000}},  # no status
        {"id": 8, "phid": "PHID-TASK-x", "fields": {"status": {}, "dateCreated": 1700000000}},  # no status value
        {"id": 8, "phid": "PHID-TASK-x", "fields": {"status": {"value": "open"}}},  # never created
        {"id": 8, "phid": "PHID-TASK-x", "fields": {"status": {"value": "open"}, "dateModified": 1700000000}},
        {"id": 8, "fields": {"status": {"value": "open"}, "dateCreated": 1700000000}},  # no PHID
        {"id": "eight", "phid": "PHID-TASK-x", "fields": {"status": {"value": "open"}, "dateCreated": 1}},
        {"id": 8, "phid": "PHID-TASK-x", "fields": {"status": "open", "dateCreated": 1700000000}},
    ],
    ids=["no-fields", "no-status", "no-status-value", "no-created", "modified-only", "no-phid", "bad-id", "status-string"],
)
def test_task_view_refuses_a_malformed_item(broken: dict[str, Any]) -> None:
    with pytest.raises(SourceError) as raised:
        task_view(broken)
    expected_id = str(broken["id"])
    assert raised.value.message == f"phabricator: unexpected maniphest.search item {expected_id}"
    assert raised.value.hint == "the Conduit API answered in an unexpected shape; check [phabricator] url"


def test_task_view_names_an_item_without_id_and_cuts_a_long_one() -> None:
    with pytest.raises(SourceError) as raised:
        task_view({"fields": {}})
    assert raised.value.message.endswith("item ?")
    with pytest.raises(SourceError) as raised:
        task_view({"id": "x" * 50})
    assert raised.value.message.endswith("item " + "x" * 20)


# --- creating and editing tasks ------------------------------------------------------------------------


def _edits(conduit: ConduitFake) -> list[dict[str, Any]]:
    return [params for method, params in conduit.requests if method == "maniphest.edit"]


def test_create_task_sends_one_edit_with_every_field(conduit: ConduitFake, client: ConduitClient) -> None:
    parent = conduit.add_task("incident", created=1_700_000_000)
    owner = conduit._user("alice").phid
    project = "PHID-PROJ-6xycd6zxjatbtujcjg7x"
    number, phid = client.create_task(
        title="Follow up", description="see [[https://wiki | report]]", project_phids=[project],
        parent_phid=parent.phid, owner_phid=owner,
    )  # fmt: skip
    assert (number, phid) == (2, conduit.tasks[2].phid) and client.calls == 1
    assert _edits(conduit)[-1]["transactions"] == [
        {"type": "title", "value": "Follow up"},
        {"type": "description", "value": "see [[https://wiki | report]]"},
        {"type": "projects.add", "value": [project]},
        {"type": "parent", "value": parent.phid},
        {"type": "owner", "value": owner},
    ]
    assert "objectIdentifier" not in _edits(conduit)[-1]
    created = conduit.tasks[2]
    assert (created.title, created.description) == ("Follow up", "see [[https://wiki | report]]")


def test_create_task_leaves_out_what_is_not_given(conduit: ConduitFake, client: ConduitClient) -> None:
    assert client.create_task(title="Bare", description="") == (1, conduit.tasks[1].phid)
    assert _edits(conduit)[-1]["transactions"] == [
        {"type": "title", "value": "Bare"},
        {"type": "description", "value": ""},
    ]


@pytest.mark.parametrize("task", ["T1", 1, "1"], ids=["monogram", "number", "digits"])
def test_edit_task_names_the_task_by_monogram(conduit: ConduitFake, client: ConduitClient, task: Any) -> None:
    conduit.add_task("old title", created=1_700_000_000)
    result = client.edit_task([{"type": "title", "value": "new title"}], task)
    assert result["object"] == {"id": 1, "phid": conduit.tasks[1].phid}
    assert _edits(conduit)[-1]["objectIdentifier"] == "T1" and conduit.tasks[1].title == "new title"


def test_edit_task_passes_a_phid_through(conduit: ConduitFake, client: ConduitClient) -> None:
    task = conduit.add_task("old title", created=1_700_000_000)
    client.edit_task([{"type": "title", "value": "renamed"}], task.phid)
    assert _edits(conduit)[-1]["objectIdentifier"] == task.phid and conduit.tasks[1].title == "renamed"


@pytest.mark.parametrize(
    "result",
    [[], {"object": None}, {"object": [1]}, "ok"],
    ids=["empty-list", "null-object", "list-object", "string"],
)
def test_edit_task_refuses_an_answer_of_the_wrong_shape(result: Any) -> None:
    client, _ = _canned([_envelope(result)])
    with pytest.raises(ConduitError) as raised:
        client.edit_task([{"type": "title", "value": "x"}])
    assert raised.value.message == "Phabricator maniphest.edit returned an unexpected shape"
    assert raised.value.hint == "check the task on Phabricator before retrying"
    assert raised.value.method == "maniphest.edit"


@pytest.mark.parametrize(
    "created",
    [{}, {"id": "new"}, {"phid": "PHID-TASK-x"}, {"id": None, "phid": "PHID-TASK-x"}],
    ids=["nothing", "bad-id", "no-id", "null-id"],
)
def test_create_task_refuses_an_answer_without_the_new_id(created: dict[str, Any]) -> None:
    client, sent = _canned([_envelope({"object": created, "transactions": []})])
    with pytest.raises(ConduitError) as raised:
        client.create_task(title="x", description="y")
    assert raised.value.message == "Phabricator maniphest.edit answered without the new task's id"
    assert raised.value.hint == "check Phabricator for a new task before retrying"
    assert raised.value.method == "maniphest.edit" and len(sent) == 1


# --- the envelope and the HTTP answer --------------------------------------------------------------


@pytest.mark.parametrize("code", ["", 0, False, "ERR-X"], ids=["empty-string", "zero", "false", "named"])
def test_any_error_code_but_null_is_an_error(code: Any) -> None:
    client, sent = _canned([_envelope({"data": []}, code, "went wrong")], retries=3)
    with pytest.raises(ConduitError) as raised:
        client.call("maniphest.search")
    assert raised.value.message == f"Phabricator maniphest.search failed: {code}: went wrong"
    assert raised.value.code == str(code) and len(sent) == 1
    assert raised.value.hint == "Phabricator refused the request; see the message above"


def test_an_error_without_info_says_so() -> None:
    client, _ = _canned([_envelope(None, "ERR-CONDUIT-CORE", None)])
    with pytest.raises(ConduitError) as raised:
        client.call("maniphest.search")
    assert raised.value.message == "Phabricator maniphest.search failed: ERR-CONDUIT-CORE: no details"


def test_an_auth_error_hint_names_the_env_var_only_when_known() -> None:
    client, _ = _canned([_envelope(None, "ERR-INVALID-AUTH", "bad")])
    with pytest.raises(ConduitError) as raised:
        client.call("maniphest.search")
    assert raised.value.hint == (
        "check the env var named by [phabricator] token_env: it must hold a valid Conduit API token (api-...)"
    )
    named, _ = _canned([_envelope(None, "ERR-OAUTH-ACCESS", "no")], token_env="PHAB")
    with pytest.raises(ConduitError) as raised:
        named.call("maniphest.search")
    assert raised.value.hint == "the token may not call this method; use a standard Conduit API token"


def test_a_null_result_is_a_result() -> None:
    client, _ = _canned([_envelope(None)])
    assert client.call("conduit.ping") is None


@pytest.mark.parametrize(
    "body",
    ['{"result": {"data": []}}', '{"error_code": null, "error_info": null}', '[{"result": 1, "error_code": null}]'],
    ids=["no-error-code", "no-result", "a-list"],
)
def test_a_partial_envelope_is_not_an_answer(body: str) -> None:
    client, sent = _canned([_answer(200, body)], retries=0)
    with pytest.raises(ConduitError) as raised:
        client.call("maniphest.search")
    assert raised.value.message == (
        "Phabricator maniphest.search failed: the answer is not a Conduit JSON envelope with a non-JSON body"
    )
    assert len(sent) == 1
    assert raised.value.hint == "check [phabricator] url: it must be the site root of a Phabricator/Phorge server"


def test_lone_surrogates_are_counted_only_in_answers_used() -> None:
    body = '{"result": {"name": "a\\ud800b\\udc00"}, "error_code": null, "error_info": null}'
    client, _ = _canned([_answer(200, body), _answer(200, body)])
    assert client.call("conduit.ping") == {"name": "a\ufffdb\ufffd"}
    assert client.replaced == 2
    client.call("conduit.ping")
    assert client.replaced == 4


@pytest.mark.parametrize(
    ("status", "body", "content_type", "described"),
    [
        (404, "", "text/plain", ""),
        (404, "   \n", "text/plain", ""),
        (403, "nope", "text/plain", " with a non-JSON body"),
        (404, "<html><head><TITLE>Not &amp; Found</TITLE></head></html>", "text/plain", " with an HTML page (Not & Found)"),
        (404, "  <!DOCTYPE html><p>gone</p>", "text/plain", " with an HTML page"),
        (404, "<p>gone</p><title>t</title>", "TEXT/HTML", " with an HTML page (t)"),
        (404, "<p>x</p>", "text/html", " with an HTML page"),
        (404, "<title>" + "w" * 100 + "</title>", "text/html", " with an HTML page (" + "w" * 80 + ")"),
    ],
    ids=["empty", "blank", "text", "html-title", "doctype", "html-type", "no-title", "long-title"],
)
def test_other_http_statuses_fail_at_once_with_a_short_description(
    status: int, body: str, content_type: str, described: str
) -> None:
    client, sent = _canned([_answer(status, body, content_type)], retries=3)
    with pytest.raises(ConduitError) as raised:
        client.call("maniphest.search")
    assert raised.value.message == f"Phabricator maniphest.search failed: HTTP {status}{described}"
    assert raised.value.hint == "check [phabricator] url: it must be the site root of a Phabricator/Phorge server"
    assert raised.value.code is None and len(sent) == 1 and raised.value.method == "maniphest.search"


def test_an_answer_without_a_content_type_is_described_by_its_body() -> None:
    response = _answer(404, "<html><title>gone</title></html>")
    del response.headers["Content-Type"]
    client, _ = _canned([response])
    with pytest.raises(ConduitError) as raised:
        client.call("maniphest.search")
    assert raised.value.message == "Phabricator maniphest.search failed: HTTP 404 with an HTML page (gone)"


def test_a_body_that_is_not_an_envelope_is_never_retried_for_edits(sleeps: list[float]) -> None:
    client, sent = _canned([_answer(200, "garbage", "text/plain"), _envelope({"object": {"id": 1}})], retries=3)
    with pytest.raises(ConduitError):
        client.edit_task([{"type": "title", "value": "x"}])
    assert len(sent) == 1 and sleeps == []


def test_transactions_and_tasks_are_asked_for_by_identifier() -> None:
    client, sent = _canned([_page([]), _page([])])
    assert client.transactions(5) == [] and sent[0]["objectIdentifier"] == "T5"
    assert client.tasks_by_phids(["PHID-TASK-b", "PHID-TASK-a", "PHID-TASK-b"]) == []
    assert sent[1] == {
        "url": "https://phab.example.org/api/maniphest.search",
        "constraints": {"phids": ["PHID-TASK-a", "PHID-TASK-b"]},
        "attachments": {"projects": True},
        "limit": 100,
    }
    assert ConduitError("x").method == ""


def test_an_html_title_past_64k_is_not_read() -> None:
    page = "<html>" + " " * (65537 - 6 - 16) + "<title>x</title>"  # its last character is the 65537th
    client, _ = _canned([_answer(404, page, "text/html")])
    with pytest.raises(ConduitError) as raised:
        client.call("maniphest.search")
    assert raised.value.message.endswith("HTTP 404 with an HTML page")


def test_a_5xx_is_retried_with_backoff_for_reads(sleeps: list[float]) -> None:
    client, sent = _canned([_answer(502, ""), _answer(503, "busy", "text/plain"), _answer(500, "")], retries=2)
    with pytest.raises(ConduitError) as raised:
        client.call("maniphest.search")
    assert raised.value.message == "Phabricator maniphest.search failed: HTTP 500 (after 3 attempts)"
    assert raised.value.hint == (
        "the Phabricator server is failing; try later or draft offline with --input phabricator=PATH"
    )
    assert len(sent) == 3 and sleeps == [0.5, 1.0]


def test_a_499_is_not_a_server_failure() -> None:
    client, sent = _canned([_answer(499, "")], retries=2)
    with pytest.raises(ConduitError) as raised:
        client.call("maniphest.search")
    assert raised.value.message == "Phabricator maniphest.search failed: HTTP 499" and len(sent) == 1


def test_retry_after_is_honoured_and_reported(sleeps: list[float]) -> None:
    client, sent = _canned(
        [_answer(429, "slow down", "text/plain", **{"Retry-After": "7"}), _envelope("pong")], retries=1
    )
    assert client.call("maniphest.edit") == "pong" and sleeps == [7.0] and len(sent) == 2
    client, sent = _canned([_answer(429, "", "text/plain", **{"Retry-After": "2"})] * 2, retries=1)
    with pytest.raises(ConduitError) as raised:
        client.call("maniphest.search")
    assert raised.value.message == (
        "Phabricator maniphest.search failed: rate limited (HTTP 429) (after 2 attempts); the server asked to wait 2 s"
    )
    assert raised.value.hint == "Phabricator is rate limiting this client; wait a little and retry"


def test_a_retry_after_past_a_minute_fails_at_once(sleeps: list[float]) -> None:
    client, sent = _canned([_answer(429, "", "text/plain", **{"Retry-After": "61"})], retries=3)
    with pytest.raises(ConduitError) as raised:
        client.call("maniphest.search")
    assert raised.value.message == (
        "Phabricator maniphest.search failed: rate limited (HTTP 429); the server asked to wait 61 s"
    )
    assert len(sent) == 1 and sleeps == []
    client, sent = _canned([_answer(429, "", "text/plain", **{"Retry-After": "60"}), _envelope(1)], retries=3)
    assert client.call("maniphest.search") == 1 and sleeps == [60.0]


def test_a_read_that_is_not_a_search_is_retried_too(sleeps: list[float]) -> None:
    for method in ("phid.query", "phid.lookup", "user.whoami", "conduit.ping", "project.search"):
        client, sent = _canned([_answer(500, ""), _envelope("ok")], retries=1)
        assert client.call(method) == "ok" and len(sent) == 2
    client, sent = _canned([_answer(500, ""), _envelope("ok")], retries=1)
    with pytest.raises(ConduitError) as raised:
        client.call("maniphest.searchable")  # not a read by its suffix
    assert raised.value.message == "Phabricator maniphest.searchable failed: HTTP 500" and len(sent) == 1


def test_retries_below_zero_mean_one_attempt(sleeps: list[float]) -> None:
    client, sent = _canned([_answer(500, ""), _envelope("ok")], retries=-2)
    assert client.retries == 0
    with pytest.raises(ConduitError):
        client.call("maniphest.search")
    assert len(sent) == 1


def test_a_wrong_path_answer_needs_status_200_and_the_exact_prefix() -> None:
    wrong = 'ERROR: You are making a Conduit API request to "/x/api/conduit.ping", but the correct'
    client, _ = _canned([_answer(404, wrong, "text/plain")], retries=0)
    with pytest.raises(ConduitError) as raised:
        client.call("conduit.ping")
    assert raised.value.code is None and raised.value.message.endswith("HTTP 404 with a non-JSON body")
    client, _ = _canned([_answer(200, " " + wrong, "text/plain")], retries=0)
    with pytest.raises(ConduitError) as raised:
        client.call("conduit.ping")
    assert raised.value.code is None
    client, _ = _canned([_answer(200, wrong, "text/plain")], retries=0)
    with pytest.raises(ConduitError) as raised:
        client.call("conduit.ping")
    assert raised.value.code == WRONG_PATH and raised.value.method == "conduit.ping"
    assert raised.value.hint == "set [phabricator] url to the site root, e.g. https://phab.example.org/"


# --- paging a broken server -------------------------------------------------------------------------


def _page(ids: list[int], after: Any = None, **extra: Any) -> requests.Response:
    return _envelope({"data": [{"id": n, "phid": f"PHID-TASK-{n}"} for n in ids], "cursor": {"after": after}, **extra})


def test_paging_sends_each_cursor_once_in_order() -> None:
    client, sent = _canned([_page([1, 2], "2"), _page([3], 3), _page([4])])
    items = list(client.search("maniphest.search", {"statuses": ["open"]}, order=["id"], limit=2))
    assert [item["id"] for item in items] == [1, 2, 3, 4]
    assert [request.get("after") for request in sent] == [None, "2", "3"]
    assert sent[0] == {
        "url": "https://phab.example.org/api/maniphest.search",
        "constraints": {"statuses": ["open"]},
        "order": ["id"],
        "limit": 2,
    }


def test_search_sends_only_what_is_given() -> None:
    client, sent = _canned([_page([]), _page([]), _page([])])
    list(client.search("maniphest.search"))
    assert sent[0] == {"url": "https://phab.example.org/api/maniphest.search", "limit": 100}
    list(client.search("maniphest.search", {}, attachments={"projects": True, "columns": False}, order="newest"))
    assert sent[1] == {
        "url": "https://phab.example.org/api/maniphest.search",
        "attachments": {"projects": True, "columns": False},
        "order": "newest",
        "limit": 100,
    }
    list(client.search("transaction.search", params={"objectIdentifier": "T1"}, attachments=[]))
    assert sent[2] == {"url": "https://phab.example.org/api/transaction.search", "objectIdentifier": "T1", "limit": 100}


def test_an_empty_page_with_a_cursor_ends_paging() -> None:
    client, sent = _canned([_page([1], "1"), _page([], "1")])
    assert [item["id"] for item in client.search("maniphest.search")] == [1] and len(sent) == 2


def test_a_cursor_without_after_ends_paging() -> None:
    client, sent = _canned([_envelope({"data": [{"id": 1}], "cursor": {"limit": 100}})])
    assert len(list(client.search("maniphest.search"))) == 1 and len(sent) == 1
    client, sent = _canned([_envelope({"data": [{"id": 1}], "cursor": ["after", "5"]})])
    assert len(list(client.search("maniphest.search"))) == 1 and len(sent) == 1


def test_a_repeated_cursor_is_an_error() -> None:
    client, sent = _canned([_page([1], "a"), _page([2], "b"), _page([3], "a")])
    with pytest.raises(ConduitError) as raised:
        list(client.search("maniphest.search"))
    assert raised.value.message == "Phabricator maniphest.search repeated the page cursor 'a'"
    assert raised.value.method == "maniphest.search"
    assert raised.value.hint == "the server's paging is broken; report it to the Phabricator admins"
    assert len(sent) == 3


def test_a_page_of_items_already_seen_is_an_error() -> None:
    client, sent = _canned([_page([1, 2], "x"), _page([2, 1], "y")])
    with pytest.raises(ConduitError) as raised:
        list(client.search("maniphest.search"))
    assert raised.value.message == "Phabricator maniphest.search returned the same items again on the next page"
    assert raised.value.hint == "the server's paging is broken; report it to the Phabricator admins"
    overlapping, sent = _canned([_page([1, 2], "x"), _page([2, 3])])
    assert [item["id"] for item in overlapping.search("maniphest.search")] == [1, 2, 2, 3]
    returning, sent = _canned([_page([1], "x"), _page([2], "y"), _page([1], "z")])  # page 1's item, two pages on
    with pytest.raises(ConduitError) as raised:
        list(returning.search("maniphest.search"))
    assert raised.value.method == "maniphest.search" and len(sent) == 3


def test_items_are_told_apart_by_phid_else_id() -> None:
    first = _envelope({"data": [{"id": 1, "phid": "PHID-A"}], "cursor": {"after": "1"}})
    same_id = _envelope({"data": [{"id": 1, "phid": "PHID-B"}], "cursor": {"after": None}})
    client, _ = _canned([first, same_id])
    assert len(list(client.search("maniphest.search"))) == 2
    client, _ = _canned([
        _envelope({"data": [{"id": 1}], "cursor": {"after": "1"}}),
        _envelope({"data": [{"id": 1}], "cursor": {"after": "2"}}),
    ])  # fmt: skip
    with pytest.raises(ConduitError) as raised:
        list(client.search("maniphest.search"))
    assert raised.value.message.endswith("returned the same items again on the next page")
    anonymous = _envelope({"data": [{"name": "x"}, "odd"], "cursor": {"after": "1"}})
    client, sent = _canned([anonymous, _envelope({"data": [{"name": "y"}, "odd"], "cursor": {"after": None}})])
    assert len(list(client.search("maniphest.search"))) == 4 and len(sent) == 2  # what cannot be told apart never repeats


@pytest.mark.parametrize(
    "result", [None, [], {"data": {}}, {"items": []}, "x"], ids=["null", "list", "data-map", "no-data", "string"]
)
def test_a_page_without_a_data_list_is_an_error(result: Any) -> None:
    client, _ = _canned([_envelope(result)])
    with pytest.raises(ConduitError) as raised:
        list(client.search("maniphest.search"))
    assert raised.value.message == "Phabricator maniphest.search returned a result without a data list"
    assert raised.value.hint == "the server answered in an unexpected shape; check [phabricator] url"
    assert raised.value.method == "maniphest.search"


def test_php_empty_arrays_become_maps() -> None:
    data = [
        {"id": 1, "fields": [], "attachments": []},
        {"id": 2, "fields": {"a": 1}, "attachments": {"columns": {"boards": []}, "projects": []}},
        {"id": 3, "attachments": {"columns": {"boards": {"x": 1}}}},
        {"id": 4, "attachments": {"columns": []}},
        "not-a-record",
    ]
    client, _ = _canned([_envelope({"data": data, "cursor": {"after": None}})])
    assert list(client.search("maniphest.search")) == [
        {"id": 1, "fields": {}, "attachments": {}},
        {"id": 2, "fields": {"a": 1}, "attachments": {"columns": {"boards": {}}, "projects": []}},
        {"id": 3, "attachments": {"columns": {"boards": {"x": 1}}}},
        {"id": 4, "attachments": {"columns": []}},
        "not-a-record",
    ]


def test_transaction_pages_stop_at_since() -> None:
    def txns(*created: int, after: Any = None) -> requests.Response:
        data = [{"phid": f"PHID-XACT-{c}", "dateCreated": c} for c in created]
        return _envelope({"data": data, "cursor": {"after": after}})

    client, sent = _canned([txns(50, 40, after="2"), txns(30, 20, after="4"), txns(10)])
    assert list(client.transaction_pages(since=30)) == [
        ([{"phid": "PHID-XACT-50", "dateCreated": 50}, {"phid": "PHID-XACT-40", "dateCreated": 40}], False),
        ([{"phid": "PHID-XACT-30", "dateCreated": 30}], True),
    ]
    assert len(sent) == 2 and sent[0]["objectType"] == "TASK" and sent[0]["limit"] == 1000
    client, sent = _canned([txns(50, 40, after="2"), txns(30)])
    assert [len(items) for items, _ in client.transaction_pages("PROJ")] == [2, 1]
    assert sent[0]["objectType"] == "PROJ"
    client, sent = _canned([txns(50, after="2"), txns(40)])
    assert list(client.transaction_pages(since=40))[-1] == ([{"phid": "PHID-XACT-40", "dateCreated": 40}], True)
    # a transaction without a creation time is passed on (its parser reports it) and does not end the scan
    undated = {"phid": "PHID-XACT-x"}
    page = _envelope({"data": [{"dateCreated": 50}, undated, {"dateCreated": 40}], "cursor": {"after": "3"}})
    client, sent = _canned([page, txns(30, 20)])
    assert list(client.transaction_pages(since=30)) == [
        ([{"dateCreated": 50}, undated, {"dateCreated": 40}], False),
        ([{"phid": "PHID-XACT-30", "dateCreated": 30}], True),
    ]
    assert len(sent) == 2
    odd = ["odd", {"dateCreated": "5"}, {"dateCreated": None}, {"dateCreated": 5}, {"dateCreated": 60}]
    client, _ = _canned([_envelope({"data": odd, "cursor": {"after": None}})])
    assert list(client.transaction_pages(since=10)) == [(odd[:3] + odd[4:], True)]


def test_transactions_since_keep_the_boundary(conduit: ConduitFake, client: ConduitClient) -> None:
    task = conduit.add_task("busy", created=1_700_000_000)
    for n in range(5):
        conduit.add_comment(task.id, f"c{n}", at=1_700_000_100 + n)
    kept = client.transactions("T1", since=1_700_000_102)
    assert [t["comments"][0]["content"]["raw"] for t in kept] == ["c4", "c3", "c2"]
    assert [t["type"] for t in client.transactions(1, since=1_700_000_000)].count("comment") == 5
    assert client.transactions(task.phid, since=1_800_000_000) == []
    undated = next(t for t in conduit.transactions if t["comments"] and t["comments"][0]["content"]["raw"] == "c3")
    del undated["dateCreated"]  # passed on (its parser reports it), and paging goes on past it
    kept = client.transactions("T1", since=1_700_000_102)
    assert [t["comments"][0]["content"]["raw"] for t in kept] == ["c4", "c3", "c2"]
    assert "dateCreated" not in kept[1]


# --- configuration, small helpers and failures before an answer ------------------------------------


@pytest.mark.parametrize(
    ("url", "site"),
    [
        ("https://phab.example.org", "https://phab.example.org"),
        ("https://phab.example.org/", "https://phab.example.org"),
        ("https://phab.example.org/api", "https://phab.example.org"),
        ("https://phab.example.org/api/", "https://phab.example.org"),
        ("http://example.org/phab/api", "http://example.org/phab"),
        ("https://example.org/apiary", "https://example.org/apiary"),
        ("https://example.org/X/", "https://example.org/X"),
    ],
    ids=["root", "slash", "api", "api-slash", "sub-path", "api-prefix", "upper-case"],
)
def test_the_site_root_is_kept_without_api(url: str, site: str) -> None:
    client = ConduitClient(url, "t")
    assert client.url == site
    assert client.session.headers["User-Agent"] == USER_AGENT


def test_client_defaults_and_repr() -> None:
    client = ConduitClient("https://phab.example.org", "api-" + "s" * 28)
    assert (client.timeout, client.retries, client.backoff, client.token_env) == (30.0, 3, 0.5, None)
    assert (client.calls, client.replaced) == (0, 0)
    assert repr(client) == "ConduitClient('https://phab.example.org', token=<redacted>)"
    with ConduitClient("https://phab.example.org", "t") as entered:
        assert isinstance(entered, ConduitClient)


@pytest.mark.parametrize("url", ["", "https://", "mailto:x@y"], ids=["empty", "no-host", "mailto"])
def test_bad_urls_say_what_to_set(url: str) -> None:
    with pytest.raises(ConfigError) as raised:
        ConduitClient(url, "t")
    if url:
        assert raised.value.message == f"[phabricator] url must be an http(s) URL, got {url!r}"
        assert raised.value.hint == "use the site root, e.g. https://phabricator.wikimedia.org"
    else:
        assert raised.value.message == "no Phabricator url is configured"
        assert raised.value.hint == "set url in the [phabricator] section"


def test_from_settings_passes_the_section_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INCIDENTKIT_PHABRICATOR_URL", "https://phab.example.org/api")
    monkeypatch.setenv("INCIDENTKIT_PHABRICATOR_TOKEN_ENV", "MY_TOKEN")
    monkeypatch.setenv("INCIDENTKIT_PHABRICATOR_TIMEOUT", "7")
    monkeypatch.setenv("INCIDENTKIT_PHABRICATOR_RETRIES", "1")
    monkeypatch.setenv("MY_TOKEN", "api-" + "m" * 28)
    monkeypatch.setenv("INCIDENTKIT_PROMETHEUS_TOKEN_ENV", "MY_PROM_TOKEN")
    monkeypatch.setenv("MY_PROM_TOKEN", "prometheus-bearer-value")
    session = requests.Session()
    client = ConduitClient.from_settings(load_settings(), session=session)
    assert (client.url, client.timeout, client.retries, client.token_env) == ("https://phab.example.org", 7.0, 1, "MY_TOKEN")
    assert client.session is session
    sent: list[Any] = []
    client.session.post = lambda url, **kw: sent.append(kw) or _envelope(None, "ERR-X", "prometheus-bearer-value")  # type: ignore[method-assign]
    with pytest.raises(ConduitError) as raised:
        client.call("conduit.ping")
    assert raised.value.message == "Phabricator conduit.ping failed: ERR-X: <redacted>" and sent[0]["timeout"] == 7.0


def test_from_settings_without_a_url() -> None:
    settings = load_settings()
    settings = dataclasses.replace(settings, phabricator=dataclasses.replace(settings.phabricator, url=""))
    with pytest.raises(ConfigError) as raised:
        ConduitClient.from_settings(settings)
    assert raised.value.message == "no Phabricator url is configured"
    assert raised.value.hint == "set url in the [phabricator] section or INCIDENTKIT_PHABRICATOR_URL"


def test_from_settings_without_a_token_says_how_to_set_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INCIDENTKIT_PHABRICATOR_URL", "https://phab.example.org")
    monkeypatch.setenv("INCIDENTKIT_PHABRICATOR_TOKEN_ENV", "NO_SUCH_TOKEN_VAR")
    monkeypatch.delenv("NO_SUCH_TOKEN_VAR", raising=False)
    with pytest.raises(ConfigError) as raised:
        ConduitClient.from_settings(load_settings())
    assert raised.value.message == "no Conduit token: environment variable NO_SUCH_TOKEN_VAR is not set"
    assert raised.value.hint == (
        "export NO_SUCH_TOKEN_VAR=<your Conduit API token> (named by [phabricator] token_env)"
    )


def test_other_configured_secrets_are_scrubbed_from_errors() -> None:
    client, _ = _canned([_envelope(None, "ERR-X", "wiki password hunter22-secret leaked")], secrets=("hunter22-secret",))
    with pytest.raises(ConduitError) as raised:
        client.call("conduit.ping")
    assert raised.value.message == "Phabricator conduit.ping failed: ERR-X: wiki password <redacted> leaked"
    assert raised.value.args == (raised.value.message,)


def test_a_secret_in_a_hint_is_scrubbed_too() -> None:
    client, _ = _canned([_envelope(None, "ERR-INVALID-AUTH", "x")], token_env="api-" + "k" * 28)
    with pytest.raises(ConduitError) as raised:
        client.call("conduit.ping")
    assert "k" * 28 not in (raised.value.hint or "") and "(<redacted>)" in (raised.value.hint or "")


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Sustainability (Incident Followup)", "sustainability_incident_followup"),
        ("#sustainability-incident-followup", "sustainability_incident_followup"),
        ("__SRE--OnFIRE__", "sre_onfire"),
        ("Straße", "strasse"),
        ("a&b", "a_b"),
        ("  ", ""),
        ("été 2024", "été_2024"),
    ],
    ids=["name", "hashtag", "underscores", "casefold", "ampersand", "blank", "accents"],
)
def test_project_key(text: str, key: str) -> None:
    assert project_key(text) == key


def test_scrub_keeps_short_text_and_cuts_long_text_to_300() -> None:
    assert scrub("a  b\n\tc") == "a b c"
    assert scrub("x" * 300) == "x" * 300
    assert scrub("x" * 301) == "x" * 299 + "…"
    assert scrub("key cli-" + "A1" * 14 + " and clr-" + "b" * 28) == "key <redacted> and <redacted>"
    assert scrub("api-" + "a" * 27) == "api-" + "a" * 27  # too short for a token
    assert scrub("xapi-" + "a" * 28) == "xapi-" + "a" * 28  # not a word of its own
    assert scrub('api token "abc"') == 'api token "abc"'  # the server's message is case-exact


# --- resolving names, answer by answer -------------------------------------------------------------------


def _project(phid: str, name: str, slug: Any = None) -> dict[str, Any]:
    return {"phid": phid, "fields": {"name": name, "slug": slug}}


def _projects_answer(records: list[Any], slug_map: Any = None) -> requests.Response:
    maps = {"slugMap": slug_map} if slug_map is not None else {}
    return _envelope({"data": records, "maps": maps, "cursor": {"after": None}})


def test_hashtags_are_sent_in_every_spelling_once() -> None:
    client, sent = _canned([_projects_answer([])] * 4)
    assert client.resolve_projects([" #a-b_c ", "a-b_c", "", "  ", "Xray", "a-b_c"]) == {}
    assert sent[0]["constraints"] == {"slugs": ["a-b_c", "a_b_c", "a-b-c", "Xray"]}
    assert sent[0]["limit"] == 100
    assert [s["constraints"] for s in sent[1:]] == [{"name": "a b c"}, {"name": "a b c"}, {"name": "xray"}]


def test_a_hashtag_found_names_the_project_it_maps_to() -> None:
    records = [_project("PHID-PROJ-1", "Alpha", "alpha"), _project("PHID-PROJ-2", "Beta", "")]
    slug_map = {"alpha": {"projectPHID": "PHID-PROJ-1"}, "b_eta": {"projectPHID": "PHID-PROJ-2"},
                "gone": {"projectPHID": "PHID-PROJ-9"}, "odd": "PHID-PROJ-1"}  # fmt: skip
    client, sent = _canned([_projects_answer(records, slug_map), _projects_answer([]), _projects_answer([])])
    found = client.resolve_projects(["alpha", "b-eta", "gone", "odd"])
    assert {ref: (p.phid, p.name, p.slug) for ref, p in found.items()} == {
        "alpha": ("PHID-PROJ-1", "Alpha", "alpha"),
        "b-eta": ("PHID-PROJ-2", "Beta", None),
    }
    assert found["b-eta"].describe() == "Beta (PHID-PROJ-2)"
    assert len(sent) == 3  # a name search for "gone" and "odd" each


@pytest.mark.parametrize("result", [[], "x", None], ids=["list", "string", "null"])
def test_a_hashtag_search_of_the_wrong_shape_is_an_error(result: Any) -> None:
    client, _ = _canned([_envelope(result)])
    with pytest.raises(ConduitError) as raised:
        client.resolve_projects(["alpha"])
    assert raised.value.message == "Phabricator project.search returned an unexpected shape"
    assert raised.value.hint == "check [phabricator] url" and raised.value.method == "project.search"


def test_a_hashtag_answer_without_maps_finds_nothing() -> None:
    for maps in ([], {"slugMap": []}, {}):
        answer = _envelope({"data": [_project("PHID-PROJ-1", "Alpha", "alpha")], "maps": maps})
        client, sent = _canned([answer, _projects_answer([])])
        assert client.resolve_projects(["zzz"]) == {} and len(sent) == 2


def test_a_name_search_takes_only_one_exact_match() -> None:
    one = _projects_answer([_project("PHID-PROJ-1", "Data Eng", "data-eng"), _project("PHID-PROJ-2", "Data Engineering")])
    client, _ = _canned([_projects_answer([]), one])
    assert client.resolve_projects(["DATA ENG"])["DATA ENG"].phid == "PHID-PROJ-1"
    by_slug = _projects_answer([_project("PHID-PROJ-3", "Something else", "data_eng")])
    client, _ = _canned([_projects_answer([]), by_slug])
    assert client.resolve_projects(["data-eng"])["data-eng"].phid == "PHID-PROJ-3"
    two = _projects_answer([_project("PHID-PROJ-1", "Data Eng"), _project("PHID-PROJ-2", "data-eng")])
    client, _ = _canned([_projects_answer([]), two])
    assert client.resolve_projects(["data eng"]) == {}
    client, _ = _canned([_projects_answer([]), _envelope([])])
    assert client.resolve_projects(["data eng"]) == {}


def test_a_reference_of_punctuation_only_costs_no_name_search() -> None:
    client, sent = _canned([_projects_answer([])])
    assert client.resolve_projects(["#--"]) == {} and len(sent) == 1
    assert sent[0]["constraints"] == {"slugs": ["--", "__"]}


def test_records_without_a_name_or_phid_are_no_projects() -> None:
    records = [
        {"phid": "PHID-PROJ-1", "fields": {"name": None}},
        {"phid": 5, "fields": {"name": "x"}},
        {"phid": "PHID-PROJ-3", "fields": []},
        "junk",
        _project("PHID-PROJ-4", "x", 7),
    ]
    client, _ = _canned([_projects_answer(records, {"x": {"projectPHID": "PHID-PROJ-4"}})])
    assert {ref: (p.phid, p.slug) for ref, p in client.resolve_projects(["x"]).items()} == {"x": ("PHID-PROJ-4", None)}


def test_project_phids_are_looked_up_once_and_unknown_ones_left_out() -> None:
    client, sent = _canned([_projects_answer([_project("PHID-PROJ-1", "Alpha")])])
    found = client.resolve_projects(["PHID-PROJ-1", "PHID-PROJ-2", "PHID-PROJ-1"])
    assert list(found) == ["PHID-PROJ-1"] and found["PHID-PROJ-1"].name == "Alpha"
    assert sent[0]["constraints"] == {"phids": ["PHID-PROJ-1", "PHID-PROJ-2"]}
    assert client.resolve_projects(["PHID-PROJ-2", "PHID-PROJ-1"]) == found and len(sent) == 1


def test_usernames_ignore_blanks_at_signs_and_case() -> None:
    users = {"data": [
        {"phid": "PHID-USER-a", "fields": {"username": "Alice"}},
        {"phid": "PHID-USER-x", "fields": {"username": None}},
        {"phid": "PHID-USER-y", "fields": []},
    ], "cursor": {"after": None}}  # fmt: skip
    users["data"].append({"phid": "PHID-USER-z", "fields": {"username": "Xena"}})
    client, sent = _canned([_envelope(users)])
    assert client.user_phids([" @ALICE ", "", "  ", "alice", "bob", "@Xena"]) == {
        "@ALICE": "PHID-USER-a", "alice": "PHID-USER-a", "@Xena": "PHID-USER-z",
    }  # fmt: skip
    assert sent[0]["constraints"] == {"usernames": ["alice", "bob", "xena"]} and len(sent) == 1


def test_statuses_and_priorities_need_a_data_list() -> None:
    statuses = {"data": [{"value": "open"}, "junk", {"value": "resolved"}]}
    client, sent = _canned([_envelope(statuses), _envelope({"data": [{"name": "High"}]})])
    assert client.statuses() == [{"value": "open"}, {"value": "resolved"}]
    assert client.priorities() == [{"name": "High"}]
    assert [s["url"].rsplit("/", 1)[1] for s in sent] == ["maniphest.status.search", "maniphest.priority.search"]
    for method in ("statuses", "priorities"):
        client, _ = _canned([_envelope({"data": {}})])
        with pytest.raises(ConduitError) as raised:
            getattr(client, method)()
        name = {"statuses": "maniphest.status.search", "priorities": "maniphest.priority.search"}[method]
        assert raised.value.message == f"Phabricator {name} returned a result without a data list"
        assert raised.value.hint == "check [phabricator] url" and raised.value.method == name


def test_names_by_phid_skip_records_without_the_field() -> None:
    records = {"data": [
        {"phid": "PHID-USER-a", "fields": {"username": "alice"}},
        {"phid": "PHID-USER-b", "fields": {"username": 3}},
        {"phid": None, "fields": {"username": "carol"}},
        {"phid": "PHID-USER-d", "fields": None},
    ], "cursor": {"after": None}}  # fmt: skip
    client, sent = _canned([_envelope(records)])
    assert client.user_names(["PHID-USER-d", "PHID-USER-a", "", "PHID-USER-a", None]) == {"PHID-USER-a": "alice"}  # type: ignore[list-item]
    assert sent[0]["constraints"] == {"phids": ["PHID-USER-a", "PHID-USER-d"]}
    projects = {"data": [{"phid": "PHID-PROJ-a", "fields": {"name": "Alpha"}}], "cursor": {"after": None}}
    client, sent = _canned([_envelope(projects)])
    assert client.project_names(["PHID-PROJ-a"]) == {"PHID-PROJ-a": "Alpha"}
    assert sent[0]["url"].endswith("/api/project.search")


# --- failures before any answer ----------------------------------------------------------------------


def _failing(*errors: BaseException, **options: Any) -> tuple[ConduitClient, list[str]]:
    client = ConduitClient("https://phab.example.org", "t", backoff=0.25, **options)
    urls: list[str] = []
    queue = list(errors)

    def post(url: str, **kwargs: Any) -> requests.Response:
        urls.append(url)
        if queue:
            raise queue.pop(0)
        return _envelope("ok")

    client.session.post = post  # type: ignore[method-assign]
    return client, urls


def test_a_connection_that_breaks_is_retried_only_for_reads(sleeps: list[float]) -> None:
    client, urls = _failing(requests.ConnectionError("reset by peer"), retries=2)
    assert client.call("maniphest.search") == "ok" and len(urls) == 2 and sleeps == [0.25]
    client, urls = _failing(requests.ConnectionError(), retries=2)
    with pytest.raises(ConduitError) as raised:
        client.call("maniphest.edit")
    assert raised.value.message == "Phabricator maniphest.edit failed: connection to phab.example.org broke"
    assert raised.value.hint == "check [phabricator] url and that the server is up" and len(urls) == 1
    assert isinstance(raised.value.__cause__, requests.ConnectionError) and raised.value.method == "maniphest.edit"


def test_a_connect_timeout_is_safe_to_retry_even_for_edits(sleeps: list[float]) -> None:
    client, urls = _failing(requests.ConnectTimeout(), requests.ConnectTimeout(), requests.ConnectTimeout(), retries=2, timeout=4)
    with pytest.raises(ConduitError) as raised:
        client.call("maniphest.edit")
    assert raised.value.message == (
        "Phabricator maniphest.edit failed: connecting to phab.example.org timed out after 4s (after 3 attempts)"
    )
    assert raised.value.hint == "check [phabricator] url and the network"
    assert len(urls) == 3 and sleeps == [0.25, 0.5]


def test_a_read_timeout_is_not_retried_for_edits(sleeps: list[float]) -> None:
    client, urls = _failing(requests.ReadTimeout(), timeout=2.5)
    with pytest.raises(ConduitError) as raised:
        client.call("maniphest.edit")
    assert raised.value.message == "Phabricator maniphest.edit failed: no answer from phab.example.org within 2.5s"
    assert raised.value.hint == "the server is slow or down; raise [phabricator] timeout or try later"
    assert len(urls) == 1 and sleeps == []


def test_a_redirect_loop_and_other_request_errors_fail_at_once() -> None:
    client, urls = _failing(requests.TooManyRedirects(), retries=3)
    with pytest.raises(ConduitError) as raised:
        client.call("maniphest.search")
    assert raised.value.message == "Phabricator maniphest.search failed: phab.example.org redirects in a loop"
    assert raised.value.method == "maniphest.search"
    assert raised.value.hint == "check [phabricator] url: it must be the site root of a Phabricator/Phorge server"
    assert len(urls) == 1
    client, urls = _failing(requests.exceptions.InvalidURL("bad"), retries=3)
    with pytest.raises(ConduitError) as raised:
        client.call("maniphest.search")
    assert raised.value.message == "Phabricator maniphest.search failed: InvalidURL"
    assert raised.value.hint == "check [phabricator] url" and raised.value.method == "maniphest.search"
    assert len(urls) == 1


def test_a_request_over_budget_fails_at_once() -> None:
    client, urls = _failing(OverBudget("did not finish within 5 s", kind="deadline"), retries=3)
    with pytest.raises(ConduitError) as raised:
        client.call("maniphest.search")
    assert raised.value.message == "Phabricator maniphest.search failed: phab.example.org did not finish within 5 s"
    assert raised.value.hint == DEADLINE_HINT and len(urls) == 1 and raised.value.method == "maniphest.search"


def test_a_retry_that_would_pass_the_deadline_is_not_waited_for(sleeps: list[float]) -> None:
    client, urls = _failing(requests.ConnectionError(), retries=3)
    client.backoff = 30
    with budget(5), pytest.raises(ConduitError) as raised:
        client.call("maniphest.search")
    assert raised.value.message.startswith("Phabricator maniphest.search failed: connection to phab.example.org broke: asked to wait 30 s")
    assert raised.value.hint == DEADLINE_HINT and len(urls) == 1 and sleeps == []
    assert raised.value.method == "maniphest.search"


def test_the_form_is_compact_json_with_the_token_inside() -> None:
    client = ConduitClient("https://phab.example.org", "plain-secret-token")
    forms: list[Any] = []
    client.session.post = lambda url, **kw: forms.append(kw["data"]) or _envelope(None, "ERR-X", "plain-secret-token is wrong")  # type: ignore[method-assign]
    with pytest.raises(ConduitError) as raised:
        client.call("maniphest.search", {"limit": 1})
    assert forms == [
        {"params": '{"limit":1,"__conduit__":{"token":"plain-secret-token"}}', "output": "json", "__conduit__": "1"}
    ]
    assert raised.value.message == "Phabricator maniphest.search failed: ERR-X: <redacted> is wrong"


def test_invalid_utf8_in_an_answer_is_replaced() -> None:
    client, _ = _canned([_answer(200, b'{"result": "caf\xe9", "error_code": null, "error_info": null}')])
    assert client.call("conduit.ping") == "caf\ufffd"


def test_references_that_are_not_text_or_name_no_hashtag_are_skipped() -> None:
    client, sent = _canned([_projects_answer([]), _projects_answer([_project("PHID-PROJ-1", "Other")])])
    assert client.resolve_projects([None, "xxxx"]) == {}  # type: ignore[list-item]
    assert [s["constraints"] for s in sent] == [{"slugs": ["xxxx"]}, {"name": "xxxx"}]
