"""``incidentkit draft --task`` against the real Phorge: one incident built through Conduit as people
would (and "Merge Duplicates In" as the web UI does it), drafted with the default configuration.

Covers every terminal status (resolved, declined, invalid, duplicate by merge), a reopen, Unbreak
Now!, a claim, comments (folded past the first few), a subtask filed during the incident, follow-ups
tagged with the projects Phorge named from Wikimedia's project names, and an incident task the
token cannot see.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.helpers import run
from tests.phorge_support import configure, iso, next_second, tag
from tests.servers.phorge import Phorge

pytestmark = pytest.mark.integration

FOLLOWUP = "Sustainability (Incident Followup)"
ONFIRE = "SRE-OnFIRE (Pending Review & Scorecard)"
ERROR = "Wikimedia-production-error"


@dataclass(frozen=True)
class Incident:
    start: datetime
    end: datetime
    tasks: dict[str, str]  # role -> monogram
    titles: dict[str, str]  # role -> title


@pytest.fixture(scope="module")
def incident(phorge: Phorge) -> Incident:
    """The incident, in time order (each step in a second of its own where order matters)."""
    titles = {
        role: tag(text)
        for role, text in {
            "incident": "Checkout API down",
            "error": "DBQueryError on checkout",
            "declined": "Checkout 404s",
            "invalid": "Checkout slow for one user",
            "report": "Checkout broken for me",
            "subtask": "Drain the eqiad checkout pool",
            "followup": "Alert on checkout 5xx",
            "onfire": "Review the checkout incident",
            "private": "Checkout security follow-up",
            "old": "Checkout test flaky",
        }.items()
    }
    made = {}
    made["old"] = phorge.create_task(titles["old"], projects=[FOLLOWUP])  # filed before the incident
    start = next_second()
    made["incident"] = phorge.create_task(titles["incident"], user="alice", priority="high")
    made["error"] = phorge.create_task(titles["error"], projects=[ERROR], user="bob")
    made["declined"] = phorge.create_task(titles["declined"], projects=[ERROR])
    made["invalid"] = phorge.create_task(titles["invalid"], projects=[ERROR])
    made["private"] = phorge.create_task(titles["private"], user="alice")
    phorge.make_private(made["private"]["id"], owner="alice")
    next_second()
    incident_task = made["incident"]["id"]
    phorge.edit_task(incident_task, [{"type": "priority", "value": "unbreak"}], user="bob")
    phorge.edit_task(incident_task, [{"type": "owner", "value": phorge.users["bob"]}], user="bob")
    phorge.edit_task(
        incident_task,
        [{"type": "comment", "value": f"update {n}: still looking"} for n in range(1, 6)],
        user="alice",
    )
    made["report"] = phorge.create_task(titles["report"], user="bob")
    made["subtask"] = phorge.create_task(titles["subtask"], parent=incident_task, user="alice")
    next_second()
    phorge.close(made["error"]["id"], "resolved")
    phorge.close(made["declined"]["id"], "declined")
    phorge.close(made["invalid"]["id"], "invalid")
    phorge.merge(made["report"]["id"], into=incident_task, user="alice")
    next_second()
    phorge.reopen(made["error"]["id"], user="bob")
    made["followup"] = phorge.create_task(titles["followup"], projects=[FOLLOWUP], user="alice")
    made["onfire"] = phorge.create_task(titles["onfire"], projects=[ONFIRE])
    next_second()
    phorge.close(incident_task, "resolved", user="bob", comment="Recovered.")
    end = next_second()
    return Incident(start, end, {role: task["monogram"] for role, task in made.items()}, titles)


def _draft_and_notes(
    home: Path, monkeypatch: pytest.MonkeyPatch, phorge: Phorge, incident: Incident, *extra: str, **config: object
) -> tuple[str, str]:
    """The page of a --no-store draft of *incident*, and what the draft said on stderr."""
    configure(home, monkeypatch, phorge, phabricator={"comments": True, **config})
    monkeypatch.setenv("INCIDENTKIT_NOW", iso(incident.end, timedelta(minutes=5)))
    result = run(
        "draft", "--from", iso(incident.start), "--to", iso(incident.end, timedelta(seconds=1)),
        "--title", "Checkout down", "--task", incident.tasks["incident"], "--no-store", *extra,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert phorge.tokens["admin"] not in result.output
    return result.stdout, result.stderr


def _draft(
    home: Path, monkeypatch: pytest.MonkeyPatch, phorge: Phorge, incident: Incident, *extra: str, **config: object
) -> str:
    return _draft_and_notes(home, monkeypatch, phorge, incident, *extra, **config)[0]


def _region(page: str, name: str) -> str:
    return page[page.index(f"begin {name}") : page.index(f"end {name}")]


def _link(monogram: str) -> str:
    return f"[[phab:{monogram}|{monogram}]]"


def test_the_timeline_has_every_change_that_matters(
    incidentkit_home: Path, monkeypatch: pytest.MonkeyPatch, phorge: Phorge, incident: Incident
) -> None:
    page = _draft(incidentkit_home, monkeypatch, phorge, incident)
    timeline = _region(page, "timeline")
    t = {role: _link(mono) for role, mono in incident.tasks.items()}
    expected = [
        f"alice: opened {t['incident']} – {incident.titles['incident']}",
        f"bob: opened {t['error']} – {incident.titles['error']}",
        f"bob: raised the priority of {t['incident']} to Unbreak Now!",
        f"bob: claimed {t['incident']}",
        f"alice: commented on {t['incident']}: update 1: still looking",
        f"alice: commented on {t['incident']}: update 3: still looking",
        f"{t['incident']} … and 3 more comments",  # the 4th and 5th, and "Recovered."
        f"alice: opened {t['subtask']} – {incident.titles['subtask']}",
        f"admin: closed {t['error']} as Resolved",
        f"admin: closed {t['declined']} as Declined",
        f"admin: closed {t['invalid']} as Invalid",
        f"alice: {t['report']} merged into {t['incident']} as a duplicate",
        f"bob: reopened {t['error']}",
        f"bob: closed {t['incident']} as Resolved",
    ]
    positions = []
    for text in expected:
        assert text in timeline, text
        positions.append(timeline.index(text))
    # in time order where the steps were a second apart
    order = [0, 2, 8, 12, 13]
    assert [positions[i] for i in order] == sorted(positions[i] for i in order)
    assert "update 4" not in timeline and "Recovered." not in timeline  # folded
    # closing an unowned task makes the closer its owner: not a claim worth a row
    assert f"admin: claimed {t['error']}" not in timeline and f"assigned {t['error']} to admin" not in timeline
    assert incident.titles["private"] not in page, page
    assert t["old"] not in timeline


def test_followups_are_the_tagged_tasks_and_subtasks_filed_during_the_incident(
    incidentkit_home: Path, monkeypatch: pytest.MonkeyPatch, phorge: Phorge, incident: Incident
) -> None:
    page = _draft(incidentkit_home, monkeypatch, phorge, incident)
    actionables = _region(page, "actionables")
    t = incident.tasks
    assert f"{_link(t['followup'])} {incident.titles['followup']} (Open)" in actionables
    assert f"{_link(t['onfire'])} {incident.titles['onfire']} (Open)" in actionables
    assert (
        f"{_link(t['subtask'])} {incident.titles['subtask']} (Open) (subtask of {_link(t['incident'])})"
        in actionables
    )
    for role in ("old", "error", "incident", "report"):  # filed before, or not follow-up work
        assert f"* {_link(t[role])}" not in actionables, role


def test_a_private_incident_task_is_a_note_saying_so(
    incidentkit_home: Path, monkeypatch: pytest.MonkeyPatch, phorge: Phorge, incident: Incident
) -> None:
    page, stderr = _draft_and_notes(incidentkit_home, monkeypatch, phorge, incident, "--task", incident.tasks["private"])
    note = f"the incident task {incident.tasks['private']} is not visible to this token (private, or it does not exist)"
    assert note in stderr and note not in page  # a note for the owner, not for the page's readers
    assert "could not be read" not in stderr + page
    assert f"closed {_link(incident.tasks['incident'])} as Resolved" in page


def test_the_owner_of_a_private_task_sees_it(
    incidentkit_home: Path, monkeypatch: pytest.MonkeyPatch, phorge: Phorge, incident: Incident
) -> None:
    configure(incidentkit_home, monkeypatch, phorge, user="alice")
    monkeypatch.setenv("INCIDENTKIT_NOW", iso(incident.end, timedelta(minutes=5)))
    result = run(
        "draft", "--from", iso(incident.start), "--to", iso(incident.end, timedelta(seconds=1)),
        "--title", "Checkout down", "--task", incident.tasks["private"], "--no-store",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"opened {_link(incident.tasks['private'])} – {incident.titles['private']}" in result.stdout
    assert "not visible to this token" not in result.output


def test_a_configured_project_that_does_not_exist_is_a_note(
    incidentkit_home: Path, monkeypatch: pytest.MonkeyPatch, phorge: Phorge, incident: Incident
) -> None:
    page, stderr = _draft_and_notes(
        incidentkit_home, monkeypatch, phorge, incident, followup_projects=["sustainability-incident-followup", "sre-onfire"]
    )
    assert (
        "no Phabricator project 'sre-onfire' ([phabricator] followup_projects): tasks tagged with it were not searched"
        in stderr
    )
    assert "sre-onfire" not in page and "could not be read" not in stderr + page
    actionables = _region(page, "actionables")
    # the hyphenated guess at Phorge's derived hashtag still finds the project
    assert f"{_link(incident.tasks['followup'])} {incident.titles['followup']} (Open)" in actionables
    assert f"* {_link(incident.tasks['onfire'])}" not in actionables  # SRE-OnFIRE is not configured here
