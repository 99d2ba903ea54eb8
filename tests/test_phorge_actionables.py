"""``incidentkit actionables add / create / sync / set / history`` against the real Phorge, with real
changes made through Conduit between syncs (and a merge made as the web UI makes it)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from incidentkit.model.incident import IncidentRecord
from tests.helpers import home_store, run
from tests.phorge_support import configure, next_second, tag, utc_now
from tests.servers.phorge import Phorge

pytestmark = pytest.mark.integration

FOLLOWUP = "Sustainability (Incident Followup)"


@pytest.fixture
def incident(incidentkit_home: Path, monkeypatch: pytest.MonkeyPatch, phorge: Phorge) -> dict[str, Any]:
    """The incident "inc", recorded in the store, with its incident task on Phorge; config points there."""
    configure(incidentkit_home, monkeypatch, phorge)
    task = phorge.create_task(tag("Checkout API down"), user="alice")
    with home_store() as store:
        store.save_incident(
            IncidentRecord(slug="inc", title="Checkout down", start=utc_now().isoformat(), severity="2", task=task["monogram"])
        )
    return task


def _history(actionable: int) -> list[dict[str, str]]:
    result = run("actionables", "history", str(actionable), "--format", "csv")
    assert result.exit_code == 0, result.output
    return list(csv.DictReader(io.StringIO(result.stdout)))


def _status_times(phorge: Phorge, task: str) -> list[tuple[str, str]]:
    """(new status, time) of every status or merge transaction of *task*, oldest first, as Phorge says."""
    found = []
    for x in phorge.result("transaction.search", {"objectIdentifier": task})["data"]:
        when = datetime.fromtimestamp(x["dateCreated"], UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if x["type"] == "status":
            found.append((x["fields"]["new"], when))
        elif x["type"] == "mergedinto":
            found.append(("duplicate", when))
    return found[::-1]


def _task(phorge: Phorge, monogram: str, **attachments: bool) -> dict[str, Any]:
    return phorge.result(
        "maniphest.search", {"constraints": {"ids": [int(monogram[1:])]}, "attachments": attachments}
    )["data"][0]


def _newest_task_id(phorge: Phorge) -> int:
    return int(phorge.result("maniphest.search", {"order": "newest", "limit": 1})["data"][0]["id"])


def _sync() -> list[str]:
    result = run("actionables", "sync")
    assert result.exit_code == 0, result.output
    return result.stdout.splitlines()


def test_add_create_sync_set_and_history(phorge: Phorge, incident: dict[str, Any]) -> None:
    alert = phorge.create_task(tag("Alert on checkout 5xx"), owner="alice")
    result = run("actionables", "add", "inc", "Alert on checkout 5xx", "--task", alert["monogram"])
    assert result.exit_code == 0 and result.stdout.startswith(f"#1 added: {alert['monogram']} ")
    result = run("actionables", "add", "inc", "Write the checkout runbook", "--owner", "bob")
    assert result.exit_code == 0, result.output

    result = run("actionables", "create", "2")
    assert result.exit_code == 0, result.output
    runbook = result.stdout.split()[2]  # "#2 -> T12 Write the checkout runbook"
    filed = _task(phorge, runbook, projects=True)
    assert filed["fields"]["name"] == "Write the checkout runbook"
    assert filed["fields"]["ownerPHID"] == phorge.users["bob"]  # the username became bob's PHID
    assert filed["attachments"]["projects"]["projectPHIDs"] == [phorge.projects[FOLLOWUP]["phid"]]
    parents = phorge.result("maniphest.search", {"constraints": {"subtaskIDs": [int(runbook[1:])]}})["data"]
    assert [p["id"] for p in parents] == [incident["id"]]
    assert _sync() == []  # nothing changed on Phorge yet

    phorge.close(alert["id"], "resolved")
    next_second()
    phorge.close(alert["id"], "declined")  # closed -> closed: Phorge keeps the first close date
    phorge.set_status(runbook, "progress", user="bob")
    assert sorted(_sync()) == [
        f"{alert['monogram']} (inc): open [open] -> wont-do [declined] Alert on checkout 5xx",
        f"{runbook} (inc): open [open] -> in-progress [progress] Write the checkout runbook",
    ]
    (resolved, resolved_at), (declined, declined_at) = _status_times(phorge, alert["monogram"])
    assert (resolved, declined) == ("resolved", "declined") and resolved_at < declined_at
    rows = _history(1)
    assert [(r["changed_at"], r["from"], r["status"], r["task_status"]) for r in rows[1:]] == [
        (resolved_at, "transaction", "open -> done", "open -> resolved"),  # the state it passed through
        (declined_at, "transaction", "done -> wont-do", "resolved -> declined"),
    ]

    result = run("actionables", "set", "2", "--status", "done")
    assert result.exit_code == 0 and "(locked: owner, status, title)" in result.stdout
    phorge.reopen(runbook, user="bob")
    # the task moved; the status set by hand stays
    assert _sync() == [f"{runbook} (inc): done [progress] -> done [open] Write the checkout runbook"]
    with home_store() as store:
        locked = store.require_actionable(2)
    assert (str(locked.status), locked.task_status) == ("done", "open")
    assert [r["source"] for r in _history(2)] == ["manual", "create", "sync", "manual", "sync"]


def test_reopened_and_closed_again_between_syncs(phorge: Phorge, incident: dict[str, Any]) -> None:
    task = phorge.create_task(tag("Rate-limit checkout retries"))
    phorge.close(task["id"], "resolved")
    assert run("actionables", "add", "inc", "Rate-limit retries", "--task", task["monogram"]).exit_code == 0
    first_close = _status_times(phorge, task["monogram"])[-1][1]
    with home_store() as store:
        assert store.require_actionable(1).resolved_at == datetime.fromisoformat(first_close)
    next_second()
    phorge.reopen(task["id"])
    next_second()
    phorge.close(task["id"], "resolved")
    lines = _sync()
    assert lines == [f"{task['monogram']} (inc): status went resolved → open → resolved since the last sync"]
    (_, reopened_at), (_, closed_again_at) = _status_times(phorge, task["monogram"])[-2:]
    rows = _history(1)
    assert [(r["changed_at"], r["status"]) for r in rows[1:]] == [
        (reopened_at, "done -> open"),
        (closed_again_at, "open -> done"),
    ]
    with home_store() as store:
        assert store.require_actionable(1).resolved_at == datetime.fromisoformat(closed_again_at)


def test_a_merged_duplicate_and_a_task_made_private(phorge: Phorge, incident: dict[str, Any]) -> None:
    duplicate = phorge.create_task(tag("Checkout errors again"))
    secret = phorge.create_task(tag("Checkout token leak"), user="alice")
    assert run("actionables", "add", "inc", "Checkout errors", "--task", duplicate["monogram"]).exit_code == 0
    assert run("actionables", "add", "inc", "Token leak", "--task", secret["monogram"]).exit_code == 0
    phorge.close(duplicate["id"], "resolved")
    next_second()
    phorge.merge(duplicate["id"], into=incident["id"], user="alice")  # no status transaction: mergedinto
    phorge.make_private(secret["id"], owner="alice")
    assert sorted(_sync()) == sorted(
        [
            f"{duplicate['monogram']} (inc): open [open] -> wont-do [duplicate] Checkout errors",
            f"{secret['monogram']} (inc): task missing (deleted or not visible)",
        ]
    )
    times = _status_times(phorge, duplicate["monogram"])
    assert [(r["changed_at"], r["task_status"]) for r in _history(1)[1:]] == [
        (times[0][1], "open -> resolved"),
        (times[1][1], "resolved -> duplicate"),  # timed by the merge, not by the first close
    ]
    assert _sync() == []  # a missing task is reported once


def test_create_resolves_the_owner_and_refuses_an_unknown_one(phorge: Phorge, incident: dict[str, Any]) -> None:
    assert run("actionables", "add", "inc", "Page on checkout 5xx", "--owner", "Alice").exit_code == 0
    assert run("actionables", "add", "inc", "Fix the checkout cache", "--owner", "nobody-here").exit_code == 0
    newest = _newest_task_id(phorge)
    result = run("actionables", "create", "2")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.splitlines()[0] == (
        "Error: Phabricator has no user 'nobody-here' (the owner of actionable #2)"
    )
    assert _newest_task_id(phorge) == newest  # nothing was filed
    result = run("actionables", "create", "1")
    assert result.exit_code == 0, result.output
    filed = _task(phorge, result.stdout.split()[2])
    assert filed["fields"]["ownerPHID"] == phorge.users["alice"]  # usernames are case-insensitive


@pytest.mark.parametrize(
    "tags",
    [
        ["sustainability-incident-followup"],  # the hyphenated guess at Phorge's derived hashtag
        ["#Sustainability_Incident_Followup", "wikimedia production error"],
        [FOLLOWUP, "PHID"],  # a name and a PHID
    ],
)
def test_create_takes_tags_by_name_hashtag_or_phid(
    incidentkit_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    phorge: Phorge,
    incident: dict[str, Any],
    tags: list[str],
) -> None:
    error_phid = phorge.projects["Wikimedia-production-error"]["phid"]
    tags = [error_phid if t == "PHID" else t for t in tags]
    configure(incidentkit_home, monkeypatch, phorge, actionables={"tags": tags})
    assert run("actionables", "add", "inc", "Tag me").exit_code == 0
    result = run("actionables", "create", "1")
    assert result.exit_code == 0, result.output
    projects = _task(phorge, result.stdout.split()[2], projects=True)["attachments"]["projects"]["projectPHIDs"]
    expected = {phorge.projects[FOLLOWUP]["phid"]} | ({error_phid} if len(tags) > 1 else set())
    assert set(projects) == expected


def test_create_with_an_unknown_tag_files_nothing(
    incidentkit_home: Path, monkeypatch: pytest.MonkeyPatch, phorge: Phorge, incident: dict[str, Any]
) -> None:
    configure(incidentkit_home, monkeypatch, phorge, actionables={"tags": [FOLLOWUP, "sre-onfire"]})
    assert run("actionables", "add", "inc", "Tag me").exit_code == 0
    newest = _newest_task_id(phorge)
    result = run("actionables", "create", "1")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == "Error: Phabricator has no project 'sre-onfire' ([actionables] tags)"
    assert _newest_task_id(phorge) == newest
