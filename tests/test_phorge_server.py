"""The real-Phorge fixture answers, and answers as real Phorge does (tests/servers/phorge.py).

These assertions are what real Phorge (the pinned commit) says; the project's Conduit code and
the Conduit fake are to be checked against them.
"""

from __future__ import annotations

import json
import time

import pytest
import requests

from tests.servers.phorge import STATUSES, Phorge

pytestmark = pytest.mark.integration

DERIVED_SLUGS = {
    "Sustainability (Incident Followup)": "sustainability_incident_followup",
    "SRE-OnFIRE (Pending Review & Scorecard)": "sre-onfire_pending_review_scorecard",
    "Wikimedia-production-error": "wikimedia-production-error",
}


def test_ping_answers_json_envelope(phorge: Phorge) -> None:
    response = phorge.post("conduit.ping")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert body["error_code"] is None and body["error_info"] is None
    assert isinstance(body["result"], str) and body["result"]  # the server's host name


def test_startup_was_measured(phorge: Phorge) -> None:
    assert 0 < phorge.startup_seconds < 60
    assert {"unpack", "mariadb", "storage upgrade", "users", "projects"} <= set(phorge.timings)
    assert len(phorge.pids) >= 4  # mariadbd, php -S and its two workers


@pytest.mark.parametrize("user", ["admin", "alice", "bob"])
def test_each_token_is_its_user(phorge: Phorge, user: str) -> None:
    assert phorge.tokens[user].startswith("api-") and len(phorge.tokens[user]) == 32
    me = phorge.result("user.whoami", user=user)
    assert me["userName"] == user
    assert me["phid"] == phorge.users[user]
    assert ("admin" in me["roles"]) == (user == "admin")
    assert {"verified", "approved", "activated"} <= set(me["roles"])


def test_projects_get_the_slugs_phorge_derives(phorge: Phorge) -> None:
    assert {name: info["slug"] for name, info in phorge.projects.items()} == DERIVED_SLUGS
    found = phorge.result("project.search", {"constraints": {"slugs": list(DERIVED_SLUGS.values())}})
    assert {item["fields"]["name"]: item["fields"]["slug"] for item in found["data"]} == DERIVED_SLUGS
    assert found["maps"]["slugMap"] == {
        slug: {"slug": slug, "projectPHID": phorge.projects[name]["phid"]}
        for name, slug in DERIVED_SLUGS.items()
    }


def test_hyphenated_slug_guess_finds_nothing(phorge: Phorge) -> None:
    """Phorge keeps "_" where the name had " (" / ")": a hyphen-for-space guess is just unknown."""
    found = phorge.result("project.search", {"constraints": {"slugs": ["sustainability-incident-followup"]}})
    assert found["data"] == [] and found["maps"] == {"slugMap": {}}
    task = phorge.create_task("hyphen guess", projects=["Sustainability (Incident Followup)"])
    by_guess = phorge.result(
        "maniphest.search", {"constraints": {"projects": ["sustainability-incident-followup"]}}
    )
    assert by_guess["data"] == []  # no error either
    by_slug = phorge.result(
        "maniphest.search", {"constraints": {"projects": ["sustainability_incident_followup"]}}
    )
    assert task["id"] in [item["id"] for item in by_slug["data"]]


def test_custom_statuses_are_served(phorge: Phorge) -> None:
    statuses = phorge.result("maniphest.status.search")["data"]
    assert [s["value"] for s in statuses] == list(STATUSES)
    by_value = {s["value"]: s for s in statuses}
    assert by_value["progress"] == {"name": "In Progress", "value": "progress", "closed": False}
    assert by_value["duplicate"] == {
        "name": "Duplicate",
        "value": "duplicate",
        "closed": True,
        "special": "duplicate",
    }
    assert by_value["declined"]["closed"] is True and by_value["stalled"]["closed"] is False


def test_task_helpers_set_what_they_say(phorge: Phorge) -> None:
    parent = phorge.create_task(
        "incident follow-up parent", owner="alice", priority="high", projects=["Wikimedia-production-error"]
    )
    child = phorge.create_task(
        "child", parent=parent["id"], status="progress", subscribers=["bob"], user="bob"
    )
    data = phorge.result(
        "maniphest.search",
        {
            "constraints": {"ids": [parent["id"], child["id"]]},
            "attachments": {"projects": True, "subscribers": True},
        },
    )["data"]
    tasks = {item["id"]: item for item in data}
    assert tasks[parent["id"]]["fields"]["ownerPHID"] == phorge.users["alice"]
    assert tasks[parent["id"]]["fields"]["priority"]["name"] == "High"
    assert tasks[parent["id"]]["attachments"]["projects"]["projectPHIDs"] == [
        phorge.projects["Wikimedia-production-error"]["phid"]
    ]
    assert tasks[child["id"]]["fields"]["status"] == {
        "value": "progress",
        "name": "In Progress",
        "color": None,
    }
    assert tasks[child["id"]]["fields"]["authorPHID"] == phorge.users["bob"]
    assert phorge.users["bob"] in tasks[child["id"]]["attachments"]["subscribers"]["subscriberPHIDs"]
    children = phorge.result("maniphest.search", {"constraints": {"parentIDs": [parent["id"]]}})["data"]
    assert [item["id"] for item in children] == [child["id"]]
    phorge.comment(child["id"], "looking into it", user="alice")
    phorge.close(child["id"])
    phorge.reopen(child["id"], status="stalled")
    kinds = [
        x["type"]
        for x in phorge.result("transaction.search", {"objectIdentifier": child["monogram"]})["data"]
    ]
    # newest first; closing the unowned task claimed it (owner after status in the same edit)
    assert kinds[:4] == ["status", "owner", "status", "comment"]


def test_resolved_then_declined_keeps_the_first_close_date(phorge: Phorge) -> None:
    task = phorge.create_task("closed twice")
    phorge.close(task["id"], "resolved")
    closed = phorge.result("maniphest.search", {"constraints": {"ids": [task["id"]]}})["data"][0]["fields"]
    time.sleep(1.1)  # dates are whole seconds
    phorge.close(task["id"], "declined")
    again = phorge.result("maniphest.search", {"constraints": {"ids": [task["id"]]}})["data"][0]["fields"]
    assert again["status"]["value"] == "declined"
    assert again["dateClosed"] == closed["dateClosed"]  # set on open -> closed only
    assert again["dateModified"] > closed["dateClosed"]
    changes = [
        x["fields"]
        for x in phorge.result("transaction.search", {"objectIdentifier": task["monogram"]})["data"]
        if x["type"] == "status"
    ]
    assert changes == [{"old": "resolved", "new": "declined"}, {"old": "open", "new": "resolved"}]


def test_merge_writes_mergedinto_and_mergedfrom(phorge: Phorge) -> None:
    target = phorge.create_task("the real one")
    duplicate = phorge.create_task("the same thing again", user="bob")
    phorge.merge(duplicate["id"], into=target["id"], user="alice")
    dup_xactions = phorge.result("transaction.search", {"objectIdentifier": duplicate["monogram"]})["data"]
    merged = [x for x in dup_xactions if x["type"] == "mergedinto"]
    assert len(merged) == 1
    assert merged[0]["fields"] == {"old": None, "new": target["phid"]}
    assert merged[0]["authorPHID"] == phorge.users["alice"]
    assert "status" not in [x["type"] for x in dup_xactions]  # the status change rides on mergedinto
    fields = phorge.result("maniphest.search", {"constraints": {"ids": [duplicate["id"]]}})["data"][0][
        "fields"
    ]
    assert fields["status"]["value"] == "duplicate"
    assert fields["closerPHID"] == phorge.users["alice"] and fields["dateClosed"] is not None
    target_xactions = phorge.result("transaction.search", {"objectIdentifier": target["monogram"]})["data"]
    merged_from = [x for x in target_xactions if x["type"] == "mergedfrom"]
    assert merged_from[0]["fields"] == {"old": None, "new": {duplicate["phid"]: duplicate["phid"]}}


def test_private_task_is_invisible_to_other_tokens(phorge: Phorge) -> None:
    task = phorge.create_task("security issue", user="alice")
    phorge.make_private(task["id"], owner="alice")
    assert [
        t["id"]
        for t in phorge.result("maniphest.search", {"constraints": {"ids": [task["id"]]}}, "alice")["data"]
    ] == [task["id"]]
    for other in ("bob", "admin"):  # administrators get no bypass
        assert phorge.result("maniphest.search", {"constraints": {"ids": [task["id"]]}}, other)["data"] == []
        answer = phorge.call("transaction.search", {"objectIdentifier": task["monogram"]}, other)
        assert (answer["error_code"], answer["error_info"]) == (
            "ERR-INVALID-OBJECT-PHID",
            'Specified "objectIdentifier" does not exist.',
        )
        answer = phorge.call(
            "maniphest.edit",
            {"objectIdentifier": task["monogram"], "transactions": [{"type": "comment", "value": "x"}]},
            other,
        )
        assert (answer["error_code"], answer["error_info"]) == (
            "ERR-CONDUIT-CORE",
            f'Monogram "{task["monogram"]}" does not identify a valid object.',
        )
        assert phorge.result("phid.lookup", {"names": [task["monogram"]]}, other) == []


def test_owner_must_be_a_phid(phorge: Phorge) -> None:
    task = phorge.create_task("who owns this")
    answer = phorge.call(
        "maniphest.edit",
        {"objectIdentifier": task["monogram"], "transactions": [{"type": "owner", "value": "alice"}]},
    )
    assert answer["result"] is None
    assert (answer["error_code"], answer["error_info"]) == (
        "ERR-CONDUIT-CORE",
        'Validation errors:\n  - User "alice" is not a valid user.',
    )
    answer = phorge.call(
        "maniphest.edit",
        {
            "objectIdentifier": task["monogram"],
            "transactions": [{"type": "owner", "value": phorge.users["alice"]}],
        },
    )
    assert answer["error_code"] is None and answer["result"]["object"]["id"] == task["id"]


def test_projects_add_takes_a_known_slug_but_not_a_guess(phorge: Phorge) -> None:
    task = phorge.create_task("tagging by slug")
    answer = phorge.call(
        "maniphest.edit",
        {
            "objectIdentifier": task["monogram"],
            "transactions": [{"type": "projects.add", "value": ["sustainability_incident_followup"]}],
        },
    )
    assert answer["error_code"] is None
    tagged = phorge.result(
        "maniphest.search", {"constraints": {"ids": [task["id"]]}, "attachments": {"projects": True}}
    )["data"][0]["attachments"]["projects"]["projectPHIDs"]
    assert tagged == [phorge.projects["Sustainability (Incident Followup)"]["phid"]]
    for guess in ("sustainability-incident-followup", "#sustainability_incident_followup"):
        answer = phorge.call(
            "maniphest.edit",
            {
                "objectIdentifier": task["monogram"],
                "transactions": [{"type": "projects.add", "value": [guess]}],
            },
        )
        assert (answer["result"], answer["error_code"], answer["error_info"]) == (
            None,
            "ERR-CONDUIT-CORE",
            f'Edge transactions must have destination PHIDs as in edge lists (found key "{guess}" on transaction of type "41").',
        )


def test_bad_and_revoked_tokens(phorge: Phorge) -> None:
    bad = phorge.bad_token()
    answer = phorge.call("user.whoami", token=bad)
    assert (answer["result"], answer["error_code"], answer["error_info"]) == (
        None,
        "ERR-INVALID-AUTH",
        f'API token "{bad}" is not valid.',
    )
    answer = phorge.call("user.whoami", token="api-short")
    assert (
        answer["error_info"]
        == 'API token "api-short" has the wrong length. API tokens should be 32 characters long.'
    )
    answer = phorge.call("user.whoami", user=None)
    assert (answer["error_code"], answer["error_info"]) == (
        "ERR-INVALID-SESSION",
        "Session key is not present.",
    )
    token = phorge.new_token("bob")
    assert phorge.result("user.whoami", user="bob")["userName"] == "bob"
    assert phorge.call("user.whoami", token=token)["result"]["userName"] == "bob"
    phorge.revoke_token(token)
    answer = phorge.call("user.whoami", token=token)
    assert (answer["error_code"], answer["error_info"]) == (
        "ERR-INVALID-AUTH",
        f'API token "{token}" was previously valid, but has expired.',
    )


@pytest.mark.parametrize("path", ["conduit.ping", "api/conduit.ping/", "api/api/conduit.ping", "w/api.php"])
def test_wrong_api_path_answers_plain_text(phorge: Phorge, path: str) -> None:
    params = json.dumps({"__conduit__": {"token": phorge.tokens["admin"]}})
    response = requests.post(
        phorge.url + path, data={"params": params, "output": "json", "__conduit__": "1"}, timeout=30
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert response.text == (
        f'ERROR: You are making a Conduit API request to "/{path}", but the correct HTTP request path to use in '
        'order to access a Conduit method is "/api/<method>" (for example, "/api/conduit.ping"). Check your configuration.'
    )
    # without the __conduit__ form field the same mistake gets the HTML login page, still HTTP 200
    response = requests.post(phorge.url + path, data={"params": params, "output": "json"}, timeout=30)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/html")
