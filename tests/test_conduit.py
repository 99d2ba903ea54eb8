"""The Conduit client (incidentkit.clients.conduit) and the Conduit fake it is tested against.

The fake is first checked against the real captures in ``tests/fixtures/phabricator/captures/``
(copied from a real Phorge): starting empty, every captured request is replayed in capture order,
the edits that built the captured state included (new tasks and transactions take the captured
PHIDs, the clock the server's), comparing the whole envelope (key order, types, ``[]`` vs ``{}``,
string cursors, error codes and messages). Only the captures in ``NOT_REPLAYED`` are left out.
"""

from __future__ import annotations

import json
import socket
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from incidentkit.clients.conduit import WRONG_PATH, ConduitClient, ConduitError, scrub
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
