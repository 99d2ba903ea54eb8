"""The Phabricator source: pull against the Conduit fake, parse saved exports (pure)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from incidentkit.clients import conduit as conduit_client
from incidentkit.clients.conduit import ConduitClient
from incidentkit.config import ActionablesSettings, PhabricatorSettings, Settings
from incidentkit.errors import SourceError
from incidentkit.model.actionable import FollowUp
from incidentkit.model.event import EventKind
from incidentkit.model.source import REPLACED_CHARACTERS, Export, Query
from incidentkit.model.window import Window
from incidentkit.sources import all_specs
from incidentkit.sources.exports import load_export, save_export
from incidentkit.sources.phabricator import PhabricatorSource, _user_phids, parse
from incidentkit.timeline.merge import merge_events
from tests.servers import conduit_fake
from tests.servers.conduit_fake import ConduitFake

FIXTURES = Path(__file__).parent / "fixtures" / "phabricator"
START = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)
WINDOW = Window(START, START + timedelta(hours=1))
QUERY = Query(WINDOW, ("T4",))
SAVED_URL = "https://phabricator.example.org"


def at(minutes: float) -> int:
    return int((START + timedelta(minutes=minutes)).timestamp())


def build_incident(fake: ConduitFake) -> None:
    """The scenario behind ``tests/fixtures/phabricator/export/`` (window 14:00-15:00Z on 2026-11-20).

    Built in time order: like the real server's, the fake's transaction ids follow insertion order.
    """
    fake.set_clock(at(-60 * 24 * 100))
    # named as at Wikimedia; the fake derives the hashtags as Phorge does
    error = fake.add_project("Wikimedia-production-error")
    followup = fake.add_project("Sustainability (Incident Followup)")
    fake.add_project("SRE-OnFIRE (Pending Review & Scorecard)")
    old = fake.add_task("Old DBQueryError", projects=[error], created=at(-60 * 24 * 50))  # T1
    fake.set_status(old.id, "resolved", at=at(-60 * 24 * 49))
    fake.add_task("Untouched error", projects=[error], created=at(-60 * 24 * 45))  # T2
    fake.add_task("Follow-up from last week", projects=[followup], created=at(-60 * 24 * 7))  # T3
    incident = fake.add_task(  # T4
        "Checkout API down", author="alice", projects=["incident_response"], priority="high", created=at(2)
    )
    error_task = fake.add_task("DBQueryError on checkout", projects=[error], created=at(3))  # T5
    fake.set_priority(incident.id, "unbreak", at=at(5), actor="bob")
    fake.set_owner(incident.id, "bob", at=at(6), actor="bob")
    fake.add_comment(
        incident.id, "Rolled back 2026.11.20-1.\nWatching error rates.", at=at(10), actor="alice"
    )
    sub = fake.add_task("Drain eqiad checkout pool", parent=incident.id, created=at(20), owner="alice")  # T6
    fake.set_status(old.id, "open", at=at(30), actor="bob", comment="Back again during the outage")
    fake.set_status(error_task.id, "resolved", at=at(40), actor="bob")
    fake.set_status(sub.id, "declined", at=at(45), actor="alice")
    fake.set_status(incident.id, "resolved", at=at(50), actor="bob", comment="Recovered.")
    fake.add_task("Write the incident report", author="bob", projects=[followup], created=at(55))  # T7
    fake.add_task(  # T8
        "Alert on checkout 5xx", author="alice", projects=[followup], parent=incident.id, created=at(60 * 19)
    )


def settings_for(fake: ConduitFake, **overrides: object) -> Settings:
    return Settings(phabricator=PhabricatorSettings(url=fake.url, **overrides))  # type: ignore[arg-type]


def pull(fake: ConduitFake, query: Query = QUERY, **overrides: object) -> tuple[Export, ConduitClient]:
    client = ConduitClient(fake.url, fake.token, backoff=0)
    return PhabricatorSource(settings_for(fake, **overrides), client).pull(query), client


def texts(export: Export, query: Query = QUERY) -> list[tuple[str, str, str | None]]:
    return [(e.time.strftime("%d %H:%M"), e.text, e.actor) for e in parse(export, query).events]


EXPECTED = [
    ("01 14:00", "T1 created: Old DBQueryError", "admin"),
    ("20 14:02", "T4 created: Checkout API down", "alice"),
    ("20 14:03", "T5 created: DBQueryError on checkout", "admin"),
    ("20 14:05", "T4 priority raised to Unbreak Now!", "bob"),
    ("20 14:06", "T4 claimed by bob", "bob"),
    ("20 14:20", "T6 created: Drain eqiad checkout pool", "admin"),
    ("20 14:30", "T1 status changed Resolved → Open", "bob"),
    ("20 14:40", "T5 status changed Open → Resolved", "bob"),
    ("20 14:45", "T6 status changed Open → Declined", "alice"),
    ("20 14:50", "T4 status changed Open → Resolved", "bob"),
    ("20 14:55", "T7 created: Write the incident report", "bob"),
    ("21 09:00", "T8 created: Alert on checkout 5xx", "alice"),
]


def test_pull_and_parse_round_trip(conduit: ConduitFake, tmp_path: Path) -> None:
    build_incident(conduit)
    export, client = pull(conduit)
    events = parse(export, QUERY).events
    assert [(e.time.strftime("%d %H:%M"), e.text, e.actor) for e in events] == EXPECTED
    assert export.meta["transactions"] == "type-scan"
    # statuses, priorities; the three configured projects resolved at once; the incident task, its
    # subtasks, its parents; one search per project; one transaction scan; users; project names
    assert client.calls == export.meta["calls"] == 2 + 1 + 3 + 3 + 1 + 2
    saved = save_export(export, tmp_path)
    assert parse(load_export("phabricator", saved), QUERY) == parse(export, QUERY)


def test_saved_export_parses_offline() -> None:
    export = load_export("phabricator", FIXTURES / "export")
    result = parse(export, QUERY)
    assert texts(export) == EXPECTED
    assert result.lines_read == 6 + 30  # T1 T4 T5 T6 T7 T8, and their 30 transactions in the window
    assert result.source == "phabricator" and result.problems == () and result.notes == ()
    by_key = {e.key: e for e in result.events}
    created = by_key["phabricator:T4:created"]
    assert created.url == f"{SAVED_URL}/T4" and created.tasks == ("T4",) and created.source == "phabricator"
    assert dict(created.data) == {
        "task": "T4",
        "title": "Checkout API down",
        "status": "resolved",
        "status_name": "Resolved",
        "closed": True,
        "priority": "Unbreak Now!",
        "projects": ["Incident Response"],
        "owner": "bob",
        "followup": False,
        "incident_task": True,
        "closed_at": at(50),
    }
    followups = sorted(
        e.data["task"] for e in result.events if e.kind is EventKind.TASK_CREATED and e.data["followup"]
    )
    assert followups == ["T6", "T7", "T8"]  # T6 is an untagged subtask of T4, filed during the incident
    assert [(f.task, f.parent) for f in result.followups] == [("T6", "T4"), ("T7", None), ("T8", None)]
    declined = next(e for e in result.events if e.text.startswith("T6 status"))
    assert declined.data["closed"] is True and declined.data["new"] == "declined"
    assert declined.key.startswith("phabricator:T6:txn:PHID-XACT-TASK-")
    assert {e.kind for e in result.events} == {
        EventKind.TASK_CREATED,
        EventKind.TASK_STATUS,
        EventKind.TASK_PRIORITY,
        EventKind.TASK_OWNER,
    }


def test_the_saved_export_is_what_a_pull_saves_today(conduit: ConduitFake, tmp_path: Path) -> None:
    build_incident(conduit)
    export, _ = pull(conduit)
    saved = save_export(
        Export(export.source, export.files, {**export.meta, "url": SAVED_URL, "calls": 12}), tmp_path
    )
    for path in sorted(saved.iterdir()):
        assert path.read_text() == (FIXTURES / "export" / path.name).read_text(), path.name


def test_comments_are_events_only_when_configured(conduit: ConduitFake) -> None:
    build_incident(conduit)
    export, _ = pull(conduit, comments=True)
    comments = [e for e in parse(export, QUERY).events if e.kind is EventKind.TASK_COMMENT]
    assert [(e.text, e.actor) for e in comments] == [
        ("T4 comment by alice: Rolled back 2026.11.20-1.", "alice"),
        ("T1 comment by bob: Back again during the outage", "bob"),
        ("T4 comment by bob: Recovered.", "bob"),
    ]
    assert comments[0].data["comment"] == "Rolled back 2026.11.20-1.\nWatching error rates."


def test_real_captured_phorge_data_parses() -> None:
    """One JSON file built from the real captures (tasks 029/099, transactions 053-056/100/130...)."""
    window = Window(datetime(2026, 11, 23, 1, 33, tzinfo=UTC), datetime(2026, 11, 23, 1, 35, tzinfo=UTC))
    export = load_export("phabricator", FIXTURES / "captured-phorge.json")
    result = parse(export, Query(window, ("T1", "T99")))
    assert result.problems == () and result.lines_read == 6 + 55
    changes = [(e.text, e.actor) for e in result.events if e.kind is not EventKind.TASK_CREATED]
    assert changes == [
        ("T1 status changed Open → Resolved", "admin"),
        ("T4 status changed Open → Wontfix", "admin"),  # closing the unowned T4 made admin owner: no event
        ("T3 status changed Open → Resolved", "admin"),
        ("T5 status changed Open → Invalid", "admin"),
        ("T2 priority raised to Unbreak Now!", "admin"),  # T1 was created at Unbreak Now!: no event
        ("T3 assigned to bob", "admin"),
        ("T3 status changed Resolved → Open", "admin"),
        ("T6 status changed Open → Declined", "admin"),  # "declined" is not configured there
    ]
    created = {e.data["task"]: e.data for e in result.events if e.kind is EventKind.TASK_CREATED}
    assert created["T1"]["incident_task"] is True and created["T2"]["incident_task"] is False
    assert created["T6"]["status_name"] == "Declined" and created["T6"]["closed"] is True
    assert created["T4"]["owner"] == "admin" and created["T4"]["priority"] == "Low"
    assert sorted(t for t, data in created.items() if data["followup"]) == ["T1", "T2", "T3"]
    assert all(e.url == f"http://127.0.0.1:8099/{e.tasks[0]}" for e in result.events)


def test_priorities_and_statuses_come_from_the_data() -> None:
    export = load_export("phabricator", FIXTURES / "captured-phorge.json")
    data = json.loads(export.files[0][1])
    data["priorities"] = [{"name": "Emergency", "value": 120}, *data["priorities"]]
    data["statuses"] = [{"name": "Won't Do", "value": "wontfix", "closed": True}]
    window = Window(datetime(2026, 11, 23, tzinfo=UTC), datetime(2026, 11, 24, tzinfo=UTC))
    result = parse(Export("phabricator", (("x.json", json.dumps(data)),)), Query(window))
    texts_ = [e.text for e in result.events]
    assert not any("priority raised" in t for t in texts_)  # 100 is no longer the top priority
    assert "T4 status changed Open → Won't Do" in texts_


@pytest.mark.parametrize(
    ("change", "where", "reason"),
    [
        (lambda d: d["tasks"].append({"id": "x"}), "record 7", "no task id"),
        (lambda d: d["tasks"].append("junk"), "record 7", "not an object"),
        (
            lambda d: d["tasks"].append({"id": 9, "phid": "PHID-TASK-x", "fields": {"name": "n"}}),
            "record 7",
            "no title or creation time",
        ),
        (
            lambda d: d["transactions"].append(
                {"phid": "PHID-XACT-TASK-x", "objectPHID": "PHID-TASK-nope", "dateCreated": 1}
            ),
            "record 56",
            "not in tasks.json",
        ),
        (
            lambda d: d["transactions"].append({"phid": "PHID-XACT-TASK-y"}),
            "record 56",
            "no phid or objectPHID",
        ),
        (
            lambda d: d["transactions"].append({"phid": "p", "objectPHID": "o", "dateCreated": "soon"}),
            "record 56",
            "no creation time",
        ),
        (
            lambda d: d["transactions"].append({"phid": "p", "objectPHID": "o", "dateCreated": 10**30}),
            "record 56",
            "no creation time",
        ),
        (lambda d: d.update(users={"oops": 1}), "users", "expected a list of records"),
    ],
)
def test_malformed_records_are_problems_not_crashes(change, where: str, reason: str) -> None:  # type: ignore[no-untyped-def]
    data = json.loads((FIXTURES / "captured-phorge.json").read_text())
    change(data)
    result = parse(Export("phabricator", (("bad.json", json.dumps(data)),)), QUERY)
    assert len(result.problems) == 1
    assert where in result.problems[0].where and reason in result.problems[0].reason
    assert len([e for e in result.events if e.kind is EventKind.TASK_CREATED]) == 6


def test_transactions_of_an_unreadable_task_are_counted_once() -> None:
    data = json.loads((FIXTURES / "captured-phorge.json").read_text())
    data["tasks"][0]["fields"]["dateCreated"] = -(10**20)  # T2
    result = parse(Export("phabricator", (("bad.json", json.dumps(data)),)), QUERY)
    assert [(p.where, p.reason) for p in result.problems] == [
        ("tasks.json record 1", "no title or creation time"),
        ("transactions.json", "12 transactions of tasks that could not be read were skipped"),
    ]
    assert not any("T2" in e.tasks for e in result.events)


@pytest.mark.parametrize(
    "files",
    [
        (("tasks.json", "{not json"),),
        (("a.txt", "1"), ("b.txt", "2")),
        (("one.json", "[]"),),
        (("one.json", '"just a string"'),),
    ],
)
def test_unusable_exports_give_problems(files: tuple[tuple[str, str], ...]) -> None:
    result = parse(Export("phabricator", files), QUERY)
    assert result.events == ()
    assert len(result.problems) == (0 if files == (("one.json", "[]"),) else 1)


def test_single_file_with_envelopes_and_a_plain_folder(tmp_path: Path) -> None:
    data = json.loads((FIXTURES / "captured-phorge.json").read_text())
    folder = tmp_path / "plain"
    folder.mkdir()
    for name in ("tasks", "transactions", "users"):
        (folder / f"{name}.json").write_text(json.dumps({"result": {"data": data[name]}, "error_code": None}))
    result = parse(load_export("phabricator", folder), QUERY)
    assert result.problems == () and len(result.events) == 6 + 8
    assert all(e.url is None for e in result.events)  # no meta, no site url


def test_budgeted_scan_falls_back_to_per_task_on_a_busy_instance(conduit: ConduitFake) -> None:
    build_incident(conduit)
    busy = conduit.add_task("Somebody else's very busy task", created=at(60 * 20))
    for second in range(5200):
        conduit.add_comment(busy.id, "noise", at=at(60 * 20) + second)
    export, client = pull(conduit)
    assert export.meta["transactions"] == "type-scan+per-task"
    # 11 calls besides transactions; the scan may spend one call per candidate task (T1 T4 T5 T6 T7)
    # without reaching the window, then each candidate is fetched on its own
    assert client.calls == export.meta["calls"] == 11 + 5 + 5
    assert texts(export) == EXPECTED


def test_window_with_no_candidates_needs_no_transaction_calls(conduit: ConduitFake) -> None:
    conduit.add_task("Outside", created=at(-600))
    export, client = pull(conduit, Query(WINDOW))
    assert export.meta["transactions"] == "none"
    assert json.loads(export.text("transactions.json") or "") == []
    assert parse(export, Query(WINDOW)).events == ()


def test_missing_incident_task_bad_ids_and_unknown_projects_are_notes(conduit: ConduitFake) -> None:
    export, _ = pull(conduit, Query(WINDOW, ("T404", "nonsense")), projects=["no-such-project"])
    result = parse(export, QUERY)
    assert result.problems == ()  # what the pull could not do is no unreadable line
    assert result.notes == (
        "no Phabricator project 'no-such-project' ([phabricator] projects): tasks tagged with it were not searched",
        "no Phabricator project 'Sustainability (Incident Followup)' ([phabricator] followup_projects): "
        "tasks tagged with it were not searched",
        "no Phabricator project 'SRE-OnFIRE (Pending Review & Scorecard)' ([phabricator] followup_projects): "
        "tasks tagged with it were not searched",
        "ignored 'nonsense': not a Phabricator task id",
        "the incident task T404 is not visible to this token (private, or it does not exist)",
    )


def test_an_older_export_with_warnings_gives_notes() -> None:
    export = load_export("phabricator", FIXTURES / "export")
    older = Export(export.source, export.files, {**export.meta, "warnings": ["Phabricator project #x was not found"]})
    result = parse(older, QUERY)
    assert result.notes == ("Phabricator project #x was not found",) and result.problems == ()


def test_pull_errors_are_source_errors(conduit: ConduitFake, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SourceError) as unconfigured:
        PhabricatorSource(Settings()).pull(QUERY)
    assert "not configured" in unconfigured.value.message
    assert unconfigured.value.hint == "set url in the [phabricator] section or INCIDENTKIT_PHABRICATOR_URL"
    with pytest.raises(SourceError) as no_token:
        PhabricatorSource(settings_for(conduit, token_env="PHAB_TEST_TOKEN")).pull(QUERY)
    assert "PHAB_TEST_TOKEN" in no_token.value.message
    monkeypatch.setenv("PHAB_TEST_TOKEN", "api-" + "w" * 28)
    with pytest.raises(SourceError) as bad_token:
        PhabricatorSource(settings_for(conduit, token_env="PHAB_TEST_TOKEN", retries=0)).pull(QUERY)
    assert "ERR-INVALID-AUTH" in bad_token.value.message and "w" * 28 not in str(bad_token.value)
    conduit.fail_next("html500", times=10)
    monkeypatch.setenv("PHAB_TEST_TOKEN", conduit.token)
    with pytest.raises(SourceError) as down:
        PhabricatorSource(settings_for(conduit, token_env="PHAB_TEST_TOKEN", retries=1)).pull(QUERY)
    assert "HTTP 500" in down.value.message


def test_registered_as_a_source(conduit: ConduitFake, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = all_specs()["phabricator"]
    assert spec.parse is parse
    monkeypatch.setenv("INCIDENTKIT_PHABRICATOR_TOKEN", conduit.token)
    source = spec.factory(settings_for(conduit))
    assert source.name == "phabricator"
    assert isinstance(source.pull(Query(WINDOW)), Export)


def test_merges_read_as_one_row_from_either_side(conduit: ConduitFake) -> None:
    build_incident(conduit)
    conduit.set_clock(at(30))
    report = conduit.add_task("Checkout broken for me", author="bob", created=at(8))  # T9
    other = conduit.add_task("Checkout down (again)", created=at(9))  # T10
    conduit.merge(report.id, into=4, at=at(12), actor="alice")  # into the incident task: its mergedfrom
    conduit.merge(4, into=other.id, at=at(58), actor="bob")  # the incident task itself: its mergedinto
    events = {e.text: e for e in parse(pull(conduit)[0], QUERY).events}
    first = events["T9 merged into T4 as a duplicate"]
    assert (first.actor, first.tasks, first.time) == ("alice", ("T9", "T4"), START + timedelta(minutes=12))
    assert events["T4 merged into T10 as a duplicate"].actor == "bob"
    assert sum("merged into" in text for text in events) == 2  # each merge once, though both sides were pulled
    assert "T9 created: Checkout broken for me" in events  # the merged task was fetched to name it


def test_a_merge_into_a_task_the_token_cannot_see(conduit: ConduitFake) -> None:
    build_incident(conduit)
    hidden = conduit.add_task("Security: checkout token", author="alice", created=at(-600))
    conduit.make_private(hidden.id, owner="alice")
    conduit.merge(4, into=hidden.id, at=at(58), actor="alice")
    texts_ = [e.text for e in parse(pull(conduit)[0], QUERY).events]
    assert "T4 merged into another task as a duplicate" in texts_
    assert not any("Security" in t for t in texts_)


def test_many_comments_fold_into_one_row(conduit: ConduitFake) -> None:
    conduit.set_clock(at(-60))
    task = conduit.add_task("Chatty incident", created=at(1))
    for n in range(1000):
        conduit.add_comment(task.id, f"ping {n}", at=at(2) + n)
    export, _ = pull(conduit, Query(WINDOW, (task.monogram,)), comments=True)
    events = parse(export, Query(WINDOW, (task.monogram,))).events
    assert [e.text for e in events] == [
        "T1 created: Chatty incident",
        "T1 comment by admin: ping 0",
        "T1 comment by admin: ping 1",
        "T1 comment by admin: ping 2",
        "T1 … and 997 more comments",
    ]
    assert events[-1].time == START + timedelta(minutes=2, seconds=3)  # where the folded ones begin
    assert events[-1].data["until"] == "2026-11-20T14:18:39Z"  # 14:02 + 999 s


def test_the_folded_comments_row_follows_the_comments_shown_in_the_same_second(conduit: ConduitFake) -> None:
    conduit.set_clock(at(-60))
    task = conduit.add_task("Chatty incident", created=at(1))
    conduit.edit(task.id, [{"type": "comment", "value": f"ping {n}"} for n in range(5)], at=at(2))
    query = Query(WINDOW, (task.monogram,))
    events = merge_events([parse(pull(conduit, query, comments=True)[0], query).events], WINDOW)
    texts_ = [e.text for e in events]
    assert texts_[0] == "T1 created: Chatty incident" and texts_[-1] == "T1 … and 2 more comments"
    # the first three comments of the edit are shown (in the same second, in key order)
    assert sorted(texts_[1:-1]) == [f"T1 comment by admin: ping {n}" for n in range(3)]


# --- hand-written exports: every field of what parse makes, from records written out here ----------

HAND_URL = "https://phab.example.org"
ALICE, BOB, CAROL = "PHID-USER-alice", "PHID-USER-bob", "PHID-USER-carol"
HAND_USERS = [
    {"phid": ALICE, "fields": {"username": "alice"}},
    {"phid": BOB, "fields": {"username": "bob"}},
    {"phid": CAROL, "fields": {"username": "carol"}},
]
HAND_STATUSES = [
    {"value": "open", "name": "Open", "closed": False},
    {"value": "stalled", "closed": False},  # no name: the value is shown as it is
    {"value": "resolved", "name": "Resolved", "closed": True},
]
HAND_PRIORITIES = [{"value": 100, "name": "Unbreak Now!"}, {"value": 80, "name": "High"}, {"value": 50}]


def hand_task(number: int, created: int, **fields: object) -> dict[str, object]:
    """A ``maniphest.search`` item: open, High, by alice, untagged, unless *fields* say otherwise."""
    projects = fields.pop("projects", [])
    return {
        "id": number,
        "phid": f"PHID-TASK-{number}",
        "fields": {
            "name": f"Task {number}",
            "dateCreated": created,
            "status": {"value": "open", "name": "Open"},
            "priority": {"value": 80, "name": "High"},
            "authorPHID": ALICE,
            "ownerPHID": None,
            "dateClosed": None,
            **fields,
        },
        "attachments": {"projects": {"projectPHIDs": projects}},
    }


def hand_txn(number: int, task: int, when: int, kind: str, **extra: object) -> dict[str, object]:
    return {
        "id": number,
        "phid": f"PHID-XACT-TASK-{number}",
        "type": kind,
        "authorPHID": extra.pop("author", BOB),
        "objectPHID": f"PHID-TASK-{task}",
        "dateCreated": when,
        "groupID": extra.pop("group", f"group-{number}"),
        "comments": extra.pop("comments", []),
        "fields": extra.pop("fields", {}),
        **extra,
    }


def hand_export(tasks: list, transactions: list = (), **sections: object) -> Export:  # type: ignore[assignment,type-arg]
    meta = sections.pop("meta", {"url": HAND_URL, "comments": True})
    data = {
        "tasks": tasks,
        "transactions": list(transactions),
        "users": sections.pop("users", HAND_USERS),
        "projects": sections.pop("projects", []),
        "statuses": sections.pop("statuses", HAND_STATUSES),
        "priorities": sections.pop("priorities", HAND_PRIORITIES),
    }
    return Export("phabricator", (("hand.json", json.dumps(data)),), meta)  # type: ignore[arg-type]


def only_change(transaction: dict, **sections: object) -> object:  # type: ignore[type-arg]
    """The one event a transaction on T1 (created before the window) makes, or None."""
    result = parse(hand_export([hand_task(1, at(-600))], [transaction], **sections), QUERY)
    assert result.problems == ()
    changes = [e for e in result.events if e.kind is not EventKind.TASK_CREATED]
    assert len(changes) <= 1
    return changes[0] if changes else None


def test_a_status_change_in_full() -> None:
    reopened = only_change(hand_txn(7, 1, at(5), "status", fields={"old": "resolved", "new": "open"}))
    assert reopened.time == START + timedelta(minutes=5)
    assert (reopened.source, reopened.kind, reopened.key) == ("phabricator", EventKind.TASK_STATUS, "phabricator:T1:txn:PHID-XACT-TASK-7")
    assert (reopened.text, reopened.actor, reopened.url, reopened.tasks) == (
        "T1 status changed Resolved → Open", "bob", "https://phab.example.org/T1", ("T1",)
    )
    assert reopened.raw == '{"old": "resolved", "new": "open"}'
    assert dict(reopened.data) == {
        "task": "T1", "old": "resolved", "new": "open", "old_name": "Resolved", "new_name": "Open",
        "closed": False, "was_closed": True,
    }
    stalled = only_change(hand_txn(7, 1, at(5), "status", fields={"new": "stalled"}))
    assert stalled.text == "T1 status changed none → stalled"  # no old status; a status with no name
    assert dict(stalled.data) == {
        "task": "T1", "old": None, "new": "stalled", "old_name": "none", "new_name": "stalled",
        "closed": False, "was_closed": False,
    }
    closed = only_change(hand_txn(7, 1, at(5), "status", fields={"old": "open", "new": "resolved"}))
    assert (closed.data["closed"], closed.data["was_closed"]) == (True, False)
    # Phorge sends "fields": [] for a transaction with no fields; a status without a new value is no news
    assert only_change(hand_txn(7, 1, at(5), "status", fields=[])) is None
    assert only_change(hand_txn(7, 1, at(5), "status", fields={"old": "open", "new": None})) is None


@pytest.mark.parametrize(
    ("old", "new", "priorities", "expected"),
    [
        ({"value": 80, "name": "High"}, {"value": 100, "name": "Unbreak Now!"}, HAND_PRIORITIES,
         ("T1 priority raised to Unbreak Now!", {"old": "High", "new": "Unbreak Now!", "value": 100})),
        # the name the transaction reports wins over the instance's list (renamed since)
        ({"value": 80, "name": "High"}, {"value": 100, "name": "Drop everything"}, HAND_PRIORITIES,
         ("T1 priority raised to Drop everything", {"old": "High", "new": "Drop everything", "value": 100})),
        # no name (or not a string) in the transaction: the instance's name for the value
        (None, {"value": 100}, HAND_PRIORITIES,
         ("T1 priority raised to Unbreak Now!", {"old": None, "new": "Unbreak Now!", "value": 100})),
        (None, {"value": 100, "name": 5}, HAND_PRIORITIES,
         ("T1 priority raised to Unbreak Now!", {"old": None, "new": "Unbreak Now!", "value": 100})),
        # no priorities in the export: Conduit's value for "unbreak", shown as a number
        ({"value": 80}, {"value": 100}, [],
         ("T1 priority raised to 100", {"old": None, "new": "100", "value": 100})),
        # not the top priority, already at the top, or not a priority object: no news
        ({"value": 50}, {"value": 80, "name": "High"}, HAND_PRIORITIES, None),
        ({"value": 100, "name": "Unbreak Now!"}, {"value": 100, "name": "Unbreak Now!"}, HAND_PRIORITIES, None),
        ({"value": 80}, 100, HAND_PRIORITIES, None),
    ],
    ids=["named", "renamed", "unnamed", "name-not-text", "no-priorities", "not-top", "already-top", "bare-value"],
)
def test_priority_changes(old: object, new: object, priorities: list, expected: object) -> None:  # type: ignore[type-arg]
    fields = {"new": new} if old is None else {"old": old, "new": new}
    event = only_change(hand_txn(7, 1, at(5), "priority", fields=fields), priorities=priorities)
    if expected is None:
        assert event is None
        return
    text, data = expected  # type: ignore[misc]
    assert event.text == text and event.kind is EventKind.TASK_PRIORITY
    assert dict(event.data) == {"task": "T1", **data}
    assert event.raw == json.dumps(fields)


def test_owner_changes() -> None:
    assigned = only_change(hand_txn(7, 1, at(5), "owner", fields={"old": None, "new": CAROL}))
    assert (assigned.text, assigned.actor, assigned.kind) == ("T1 assigned to carol", "bob", EventKind.TASK_OWNER)
    assert dict(assigned.data) == {"task": "T1", "owner": "carol", "claimed": False}
    claimed = only_change(hand_txn(7, 1, at(5), "owner", author=CAROL, fields={"old": BOB, "new": CAROL}))
    assert claimed.text == "T1 claimed by carol" and dict(claimed.data) == {"task": "T1", "owner": "carol", "claimed": True}
    unknown = only_change(hand_txn(7, 1, at(5), "owner", fields={"new": "PHID-USER-gone"}))
    assert unknown.text == "T1 assigned to PHID-USER-gone"
    assert only_change(hand_txn(7, 1, at(5), "owner", fields={"old": BOB, "new": None})) is None  # unassigned


def test_closing_makes_the_closer_owner_only_of_an_unowned_task() -> None:
    def close(old_owner: str | None) -> list[str]:
        txns = [
            hand_txn(8, 1, at(5), "owner", author=CAROL, group="g", fields={"old": old_owner, "new": CAROL}),
            hand_txn(7, 1, at(5), "status", author=CAROL, group="g", fields={"old": "open", "new": "resolved"}),
        ]
        return [e.text for e in parse(hand_export([hand_task(1, at(-600))], txns), QUERY).events]

    assert close(None) == ["T1 created: Task 1", "T1 status changed Open → Resolved"]
    assert close(BOB) == ["T1 created: Task 1", "T1 status changed Open → Resolved", "T1 claimed by carol"]


@pytest.mark.parametrize(
    ("comments", "expected"),
    [
        ([{"authorPHID": BOB, "content": {"raw": "  Rolled back.\nWatching.  "}}],
         ("T1 comment by bob: Rolled back.", "Rolled back.", "  Rolled back.\nWatching.  ")),
        ([{"content": {"raw": "x" * 160}}], ("T1 comment by bob: " + "x" * 160, "x" * 160, "x" * 160)),
        ([{"content": {"raw": "y" * 161}}], ("T1 comment by bob: " + "y" * 159 + "…", "y" * 159 + "…", "y" * 161)),
        ([{"content": {"raw": "removed"}, "removed": True}], None),
        ([{"content": {"raw": " \n "}}], None),
        ([{"content": "not an object"}], None),
        ([], None),
        (None, None),
    ],
    ids=["multiline", "160-chars", "161-chars", "removed", "blank", "content-not-object", "empty", "none"],
)
def test_comments(comments: object, expected: object) -> None:
    event = only_change(hand_txn(7, 1, at(5), "comment", comments=comments))
    if expected is None:
        assert event is None
        return
    text, preview, body = expected  # type: ignore[misc]
    assert (event.text, event.kind, event.actor) == (text, EventKind.TASK_COMMENT, "bob")
    assert event.raw == body
    assert dict(event.data) == {"task": "T1", "comment": body, "preview": preview}


def test_comments_by_unknown_users_and_comments_turned_off() -> None:
    anonymous = only_change(hand_txn(7, 1, at(5), "comment", author="PHID-USER-gone", comments=[{"content": {"raw": "hi"}}]))
    assert anonymous.text == "T1 comment by someone: hi" and anonymous.actor is None
    txn = hand_txn(7, 1, at(5), "comment", comments=[{"content": {"raw": "hi"}}])
    assert only_change(txn, meta={"url": HAND_URL}) is None
    assert only_change(hand_txn(7, 1, at(5), "subscribers", fields={"old": [], "new": [BOB]})) is None


def created_data(item: dict, **sections: object) -> dict:  # type: ignore[type-arg]
    result = parse(hand_export([item], **sections), QUERY)
    assert result.problems == ()
    (event,) = result.events
    return dict(event.data)


@pytest.mark.parametrize(
    ("fields", "priority"),
    [
        ({"priority": {"value": 80, "name": "Needs Triage"}}, "Needs Triage"),  # the name the task reports
        ({"priority": {"value": 80}}, "High"),  # else the instance's name for the value
        ({"priority": {"value": 50}}, "50"),  # a priority the instance lists without a name
        ({"priority": {"value": 7}}, ""),  # a value the instance does not list
        ({"priority": 80}, ""),
        ({"priority": None}, ""),
        ({"priority": {"value": [80]}}, ""),
    ],
    ids=["reported", "listed", "listed-no-name", "unknown", "bare-value", "none", "value-not-number"],
)
def test_task_priority_names(fields: dict, priority: str) -> None:  # type: ignore[type-arg]
    assert created_data(hand_task(1, at(-600), **fields))["priority"] == priority


def test_a_created_task_in_full() -> None:
    item = hand_task(
        1, at(-600), status="stalled", authorPHID=CAROL, ownerPHID=BOB, dateClosed="soon", projects=["PHID-PROJ-a"]
    )
    export = hand_export([item], meta={"url": HAND_URL + "/"})  # a trailing slash is not doubled
    (event,) = parse(export, QUERY).events
    elsewhere = hand_export([item], meta={"url": "https://example.org/PHABX/"})
    assert parse(elsewhere, QUERY).events[0].url == "https://example.org/PHABX/T1"
    assert (event.time, event.key, event.text, event.actor) == (
        START - timedelta(minutes=600), "phabricator:T1:created", "T1 created: Task 1", "carol"
    )
    assert (event.url, event.raw, event.tasks) == ("https://phab.example.org/T1", "Task 1", ("T1",))
    assert dict(event.data) == {
        "task": "T1", "title": "Task 1", "status": "stalled", "status_name": "stalled", "closed": False,
        "priority": "High", "projects": ["PHID-PROJ-a"], "owner": "bob", "followup": False,
        "incident_task": False,
    }  # a dateClosed that is no epoch is left out; an unknown project shows its PHID


@pytest.mark.parametrize(
    ("status", "statuses", "name", "closed"),
    [
        # without the instance's statuses, only the usual open ones count as open
        ({"value": "in_review", "name": "In Review"}, [], "In Review", True),  # the name the task reports
        ({"value": "in_review", "name": "Unknown Status"}, [], "In Review", True),  # Phorge's placeholder
        ({"value": "needs-info"}, [], "Needs Info", True),
        ("open", [], "Open", False),  # a bare status value
        ("wontfix", [], "Wontfix", True),
        ({"value": "progress", "name": "In Progress"}, [], "In Progress", False),
        ({"value": "custom", "name": "Custom"}, HAND_STATUSES, "Custom", True),  # unknown to the server: closed
    ],
    ids=["reported", "placeholder", "dashes", "bare", "fallback-closed", "fallback-open", "unknown-closed"],
)
def test_task_status_names(status: object, statuses: list, name: str, closed: bool) -> None:  # type: ignore[type-arg]
    data = created_data(hand_task(1, at(-600), status=status), statuses=statuses)
    assert (data["status_name"], data["closed"]) == (name, closed)


def test_a_task_closed_at_a_time_counts_as_closed_without_statuses() -> None:
    data = created_data(hand_task(1, at(-600), status="weird", dateClosed=at(-500)), statuses=[])
    assert data["closed"] is True and data["closed_at"] == at(-500)
    assert created_data(hand_task(1, at(-600), status="open", dateClosed=at(-500)), statuses=[])["closed"] is True


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ("junk", "not an object"),
        ({"id": 0, "phid": "PHID-TASK-0", "fields": {"name": "n", "dateCreated": 1, "status": "open"}}, "no task id"),
        ({"id": True, "phid": "PHID-TASK-0", "fields": {"name": "n", "dateCreated": 1, "status": "open"}}, "no task id"),
        ({"id": 3, "fields": {"name": "n", "dateCreated": 1, "status": "open"}}, "no phid or fields"),
        ({"id": 3, "phid": "PHID-TASK-3", "fields": None}, "no phid or fields"),
        ({"id": 3, "phid": "PHID-TASK-3", "fields": {"name": "n", "dateCreated": True, "status": "open"}},
         "no title or creation time"),
        ({"id": 3, "phid": "PHID-TASK-3", "fields": {"name": "n", "dateCreated": 1, "status": {"name": "Open"}}},
         "no status"),
    ],
    ids=["not-object", "id-zero", "id-bool", "no-phid", "no-fields", "bool-time", "no-status"],
)
def test_unreadable_tasks_say_why(record: object, reason: str) -> None:
    result = parse(hand_export([hand_task(1, at(-600)), record]), QUERY)
    assert [(p.where, p.reason, p.text) for p in result.problems] == [
        ("tasks.json record 2", reason, json.dumps(record, ensure_ascii=False))
    ]
    assert [e.text for e in result.events] == ["T1 created: Task 1"]


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        (["a list"], "not an object"),
        ({"phid": "PHID-XACT-TASK-9", "objectPHID": 5, "dateCreated": 1}, "no phid or objectPHID"),
        ({"phid": "PHID-XACT-TASK-9", "objectPHID": "PHID-TASK-1", "dateCreated": "x"}, "no creation time"),
        ({"phid": "PHID-XACT-TASK-9", "objectPHID": "PHID-TASK-1", "dateCreated": 1, "fields": "x"},
         "fields is not an object"),
        ({"phid": "PHID-XACT-TASK-9", "objectPHID": "PHID-TASK-2", "dateCreated": 1},
         "transaction of a task that is not in tasks.json"),
    ],
    ids=["not-object", "object-not-text", "bad-time", "fields-text", "unknown-task"],
)
def test_unreadable_transactions_say_why(record: object, reason: str) -> None:
    good = hand_txn(7, 1, at(5), "status", fields={"old": "open", "new": "resolved"})
    result = parse(hand_export([hand_task(1, at(-600))], [record, good]), QUERY)
    assert [(p.where, p.reason, p.text) for p in result.problems] == [
        ("transactions.json record 1", reason, json.dumps(record, ensure_ascii=False))
    ]
    assert [e.text for e in result.events] == ["T1 created: Task 1", "T1 status changed Open → Resolved"]


def test_excerpts_of_long_records_are_cut_at_200_characters() -> None:
    def excerpt(title: str) -> str:
        record = {"id": "x", "title": title}
        return parse(hand_export([record]), QUERY).problems[0].text

    fits = "é" * (200 - len('{"id": "x", "title": ""}'))
    assert excerpt(fits) == '{"id": "x", "title": "' + fits + '"}'  # 200 characters, not escaped
    whole = '{"id": "x", "title": "' + fits + 'é"}'  # 201 characters
    assert excerpt(fits + "é") == whole[:199] + "…"


def test_malformed_users_projects_statuses_and_priorities_are_skipped() -> None:
    users = ["junk", {"phid": CAROL}, {"fields": {"username": "nobody"}}, {"phid": 5, "fields": {"username": "x"}},
             {"phid": BOB, "fields": {"username": 7}}, *HAND_USERS[:1]]
    projects = ["junk", {"fields": {"name": "no phid"}}, {"phid": "PHID-PROJ-a"}, {"phid": "PHID-PROJ-b", "fields": {}}]
    statuses = ["junk", {"name": "no value"}, *HAND_STATUSES]
    priorities = ["junk", {"value": "80", "name": "text value"}, *HAND_PRIORITIES]
    item = hand_task(1, at(-600), ownerPHID=BOB, priority={"value": 80}, projects=["PHID-PROJ-a", "PHID-PROJ-b"])
    txn = hand_txn(7, 1, at(5), "status", author=ALICE, fields={"old": "open", "new": "stalled"})
    result = parse(hand_export([item], [txn], users=users, projects=projects, statuses=statuses, priorities=priorities), QUERY)
    assert result.problems == ()
    created, changed = result.events
    assert created.actor == "alice" and created.data["owner"] is None  # bob's record has no username
    assert created.data["projects"] == ["PHID-PROJ-a", "PHID-PROJ-b"]  # no project name: the PHID
    assert created.data["priority"] == "High"
    assert changed.text == "T1 status changed Open → stalled" and changed.actor == "alice"


FOLLOWUP_PROJECTS = [
    {"phid": "PHID-PROJ-slug", "fields": {"name": "Renamed board", "slug": "incident_followup"}},
    {"phid": "PHID-PROJ-name", "fields": {"name": "Incident Followup", "slug": None}},
    {"phid": "PHID-PROJ-other", "fields": {"name": "Other", "slug": "other"}},
    {"phid": "PHID-PROJ-nameless", "fields": {"slug": "nameless"}},
    {"phid": "PHID-PROJ-noslug", "fields": {"name": "Board"}},
]


@pytest.mark.parametrize(
    ("projects", "meta", "followup"),
    [
        (["PHID-PROJ-slug"], {"followup_projects": ["Incident-Followup"]}, True),  # by hashtag
        (["PHID-PROJ-name"], {"followup_projects": ["#incident_followup"]}, True),  # by name
        (["PHID-PROJ-other"], {"followup_projects": ["Incident-Followup"]}, False),
        (["PHID-PROJ-other"], {"followup_projects": ["x"], "followup_project_phids": ["PHID-PROJ-other"]}, True),
        (["PHID-PROJ-nameless"], {"followup_projects": ["", "Nameless"]}, True),
        (["PHID-PROJ-unknown"], {"followup_projects": [""]}, False),  # an empty name matches nothing
        (["PHID-PROJ-other"], {"followup_projects": ["other"], "followup_project_phids": [5]}, True),
        (["PHID-PROJ-noslug"], {"followup_projects": ["xxxx"]}, False),  # no hashtag is no name either
    ],
    ids=["slug", "name", "untagged", "phid", "slug-only", "empty-name", "junk-phids", "no-slug"],
)
def test_followup_projects_by_name_hashtag_or_phid(projects: list, meta: dict, followup: bool) -> None:  # type: ignore[type-arg]
    item = hand_task(2, at(10), projects=projects)
    data = created_data(item, projects=FOLLOWUP_PROJECTS, meta={"url": HAND_URL, **meta})
    assert data["followup"] is followup


def test_default_followup_projects_when_the_export_names_none() -> None:
    projects = [{"phid": "PHID-PROJ-s", "fields": {"name": "Sustainability (Incident Followup)"}}]
    assert created_data(hand_task(2, at(10), projects=["PHID-PROJ-s"]), projects=projects, meta={})["followup"] is True


def test_followups_in_full() -> None:
    tagged = hand_task(
        2, at(0), projects=["PHID-PROJ-name"], ownerPHID=BOB, status={"value": "resolved", "name": "Resolved"},
        dateClosed=at(40),
    )
    subtask = hand_task(3, at(20), status="open", dateClosed=at(30))  # reopened: no longer closed
    before = hand_task(4, at(-1), projects=["PHID-PROJ-name"])  # filed before the window
    incident = hand_task(5, at(1), projects=["PHID-PROJ-name"])  # the incident task itself
    meta = {"url": HAND_URL, "followup_projects": ["Incident Followup"], "subtasks": {"T3": "T5", "T9": 4}}
    export = hand_export([tagged, subtask, before, incident], projects=FOLLOWUP_PROJECTS, meta=meta)
    result = parse(export, Query(WINDOW, ("T5",)))
    assert result.followups == (
        FollowUp(title="Task 2", task="T2", status="Resolved", owner="bob", url=f"{HAND_URL}/T2",
                 closed_at=START + timedelta(minutes=40)),
        FollowUp(title="Task 3", task="T3", status="Open", url=f"{HAND_URL}/T3", parent="T5"),
    )
    created = {e.data["task"]: e.data for e in result.events}
    assert "subtask_of" not in created["T2"] and created["T3"]["subtask_of"] == "T5"
    assert created["T5"]["incident_task"] is True and created["T5"]["followup"] is True
    assert created["T4"]["followup"] is False


def test_a_followup_filed_at_the_window_start_counts() -> None:
    item = hand_task(2, at(0), projects=["PHID-PROJ-name"])
    assert created_data(item, projects=FOLLOWUP_PROJECTS, meta={"followup_projects": ["Incident Followup"]})["followup"]


def hand_merge(kind: str, task: int, new: object) -> dict:  # type: ignore[type-arg]
    return hand_txn(7, task, at(12), kind, author=ALICE, fields={"old": None, "new": new})


@pytest.mark.parametrize(
    ("txn", "tasks", "expected"),
    [
        # "Merge Duplicates In" on the duplicate T2: its mergedinto names the target
        (hand_merge("mergedinto", 2, "PHID-TASK-1"), [1, 2],
         ("T2 merged into T1 as a duplicate", ("T2", "T1"), "T2", {"task": "T2", "merged_into": "T1", "duplicate": "T2"},
          "PHID-TASK-2:PHID-TASK-1")),
        # the same merge from the target's side: its mergedfrom names the duplicates ({dup: dup} as PHP writes a set)
        (hand_merge("mergedfrom", 1, {"PHID-TASK-2": "PHID-TASK-2"}), [1, 2],
         ("T2 merged into T1 as a duplicate", ("T2", "T1"), "T2", {"task": "T2", "merged_into": "T1", "duplicate": "T2"},
          "PHID-TASK-2:PHID-TASK-1")),
        (hand_merge("mergedfrom", 1, ["PHID-TASK-3"]), [1],
         ("another task merged into T1 as a duplicate", ("T1",), "T1",
          {"task": "T1", "merged_into": "T1", "duplicate": None}, "PHID-TASK-3:PHID-TASK-1")),
        (hand_merge("mergedinto", 2, "PHID-TASK-3"), [2],
         ("T2 merged into another task as a duplicate", ("T2",), "T2",
          {"task": "T2", "merged_into": None, "duplicate": "T2"}, "PHID-TASK-2:PHID-TASK-3")),
    ],
    ids=["into", "from", "from-unseen", "into-unseen"],
)
def test_merges_in_full(txn: dict, tasks: list, expected: tuple) -> None:  # type: ignore[type-arg]
    text, task_ids, url_task, data, pair = expected
    result = parse(hand_export([hand_task(n, at(-600)) for n in tasks], [txn]), QUERY)
    (merge,) = [e for e in result.events if e.kind is not EventKind.TASK_CREATED]
    assert (merge.text, merge.tasks, merge.url, merge.actor) == (text, task_ids, f"{HAND_URL}/{url_task}", "alice")
    assert (merge.source, merge.kind, merge.key) == ("phabricator", EventKind.TASK_STATUS, f"phabricator:merge:{pair}")
    assert merge.time == START + timedelta(minutes=12)
    assert dict(merge.data) == {**data, "closed": True}
    assert merge.raw == json.dumps(txn["fields"])


def test_merges_naming_no_task_make_no_row() -> None:
    txns = [
        hand_txn(7, 1, at(12), "mergedfrom", fields={"new": "PHID-TASK-2"}),  # neither a set nor a list
        hand_txn(8, 1, at(13), "mergedfrom", fields={"new": ["PHID-USER-x", 5]}),
        hand_txn(9, 1, at(14), "mergedinto", fields=[]),
        hand_txn(10, 1, at(15), "mergedfrom", fields={"new": None}),
    ]
    result = parse(hand_export([hand_task(1, at(-600)), hand_task(2, at(-600))], txns), QUERY)
    assert result.problems == () and [e.text for e in result.events] == ["T1 created: Task 1", "T2 created: Task 2"]


@pytest.mark.parametrize(
    ("tasks", "transactions", "named"),
    [
        ([hand_task(1, 0, authorPHID=ALICE, ownerPHID=BOB, closerPHID=CAROL)], [], {ALICE, BOB, CAROL}),
        ([hand_task(1, 0, authorPHID="PHID-APPS-herald", ownerPHID=None)], [], set()),  # users only
        (["junk", {"fields": "x"}], [], set()),
        ([], [hand_txn(1, 1, 0, "status", author=ALICE, fields={"old": BOB, "new": CAROL})], {ALICE}),
        ([], [hand_txn(1, 1, 0, "owner", author=ALICE, fields={"old": BOB, "new": CAROL})], {ALICE, BOB, CAROL}),
        ([], [hand_txn(1, 1, 0, "owner", author=ALICE, fields=[])], {ALICE}),
        ([], [hand_txn(1, 1, 0, "comment", author=ALICE, comments=[{"authorPHID": BOB}, "junk"])], {ALICE, BOB}),
        ([], [hand_txn(1, 1, 0, "comment", author=ALICE, comments=None)], {ALICE}),
    ],
    ids=["task-people", "not-users", "junk-tasks", "other-fields", "owner-change", "owner-no-fields",
         "comment-authors", "no-comments"],
)
def test_the_users_a_pull_looks_up(tasks: list, transactions: list, named: set) -> None:  # type: ignore[type-arg]
    assert _user_phids(tasks, transactions) == named


def test_check_names_the_user_and_what_each_project_resolved_to(
    conduit: ConduitFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    errors = conduit.add_project("Production Errors", "prod-errors")
    followup = conduit.add_project("Incident Followup", "followup")
    review = conduit.add_project("Pending Review", "review")
    settings = Settings(
        phabricator=PhabricatorSettings(url=conduit.url, projects=[" #Prod-Errors "], followup_projects=["followup"]),
        actionables=ActionablesSettings(tags=[review]),
    )
    monkeypatch.setenv("INCIDENTKIT_PHABRICATOR_TOKEN", conduit.token)
    expected = "\n".join([
        f"answered as admin at {conduit.url}",
        f"[phabricator] projects '#Prod-Errors' → Production Errors (#prod-errors, {errors})",
        f"[phabricator] followup_projects 'followup' → Incident Followup (#followup, {followup})",
        f"[actionables] tags '{review}' → Pending Review (#review, {review})",
    ])
    assert PhabricatorSource(settings).check() == expected
    monkeypatch.delenv("INCIDENTKIT_PHABRICATOR_TOKEN")
    client = ConduitClient(conduit.url, conduit.token, backoff=0)
    assert PhabricatorSource(settings, client).check() == expected  # the client given, no token needed


def test_check_names_every_project_that_does_not_exist(conduit: ConduitFake) -> None:
    conduit.add_project("Incident Followup", "followup")
    settings = Settings(
        phabricator=PhabricatorSettings(url=conduit.url, projects=["nope"], followup_projects=["followup"]),
        actionables=ActionablesSettings(tags=["gone"]),
    )
    with pytest.raises(SourceError) as missing:
        PhabricatorSource(settings, ConduitClient(conduit.url, conduit.token, backoff=0)).check()
    assert missing.value.message == "Phabricator has no project 'nope' ([phabricator] projects), 'gone' ([actionables] tags)"
    assert missing.value.hint == "name each project by its name, one of its hashtags or its PHID, or take it off the list"


def test_saved_pulls_keep_text_as_it_is(conduit: ConduitFake) -> None:
    conduit.set_clock(at(-60))
    conduit.add_task("Café down ☕", created=at(1))
    export, _ = pull(conduit, Query(WINDOW, ("T1",)))
    assert '"name": "Café down ☕"' in (export.text("tasks.json") or "")


def test_a_change_at_the_first_second_of_the_window_is_pulled(conduit: ConduitFake) -> None:
    conduit.set_clock(at(-600))
    task = conduit.add_task("Older task", created=at(-600))
    conduit.set_status(task.id, "resolved", at=at(0), actor="bob")
    export, _ = pull(conduit, Query(WINDOW, ("T1",)))
    assert texts(export, Query(WINDOW, ("T1",))) == [
        ("20 04:00", "T1 created: Older task", "admin"), ("20 14:00", "T1 status changed Open → Resolved", "bob")
    ]


def test_each_task_once_whatever_comes_after_a_repeated_record() -> None:
    tasks = [hand_task(1, at(-600)), hand_task(1, at(-600)), hand_task(2, at(-600))]
    assert [e.text for e in parse(hand_export(tasks), QUERY).events] == ["T1 created: Task 1", "T2 created: Task 2"]


def test_the_folded_comments_row_in_full() -> None:
    def comment(number: int, task: int, second: int) -> dict:  # type: ignore[type-arg]
        return hand_txn(number, task, at(5) + second, "comment", comments=[{"content": {"raw": f"c{number}"}}])

    txns = [comment(n, 1, n) for n in range(1, 4)] + [comment(n, 2, n) for n in range(4, 9)]
    result = parse(hand_export([hand_task(1, at(-600)), hand_task(2, at(-600))], txns), QUERY)
    assert [e.text for e in result.events][2:] == [
        "T1 comment by bob: c1", "T1 comment by bob: c2", "T1 comment by bob: c3",  # three: none folded
        "T2 comment by bob: c4", "T2 comment by bob: c5", "T2 comment by bob: c6", "T2 … and 2 more comments",
    ]
    folded = result.events[-1]
    assert (folded.key, folded.actor, folded.raw, folded.time) == (
        "phabricator:T2:~more-comments", None, "", START + timedelta(minutes=5, seconds=7)
    )
    assert dict(folded.data) == {"task": "T2", "folded": 2, "until": "2026-11-20T14:05:08Z"}


NOT_A_LIST = "expected a list of records"


@pytest.mark.parametrize(
    ("files", "problem"),
    [
        ((("tasks.json", "{" + "x" * 300),), ("tasks.json", "not JSON: ", "{" + "x" * 199)),
        ((("users.json", '{"not": "a list"}'),), ("users.json", NOT_A_LIST, '{"not": "a list"}')),
        ((("a.txt", "1"), ("b.txt", "2")), ("phabricator export", "no tasks.json or transactions.json in the export", "")),
        ((("one.json", "{" + "y" * 300),), ("one.json", "not JSON: ", "{" + "y" * 199)),
        ((("one.json", '{"tasks": 5}'),), ("one.json tasks", NOT_A_LIST, "5")),
        ((("one.json", '"text"'),), ("one.json", NOT_A_LIST, '"text"')),
    ],
    ids=["section-not-json", "section-not-list", "no-sections", "one-file-not-json", "one-file-bad-section",
         "one-file-text"],
)
def test_unusable_files_are_problems_with_their_place_and_text(files: tuple, problem: tuple) -> None:  # type: ignore[type-arg]
    where, reason, text = problem
    (found,) = parse(Export("phabricator", files), QUERY).problems
    assert (found.where, found.text) == (where, text)
    assert found.reason.startswith(reason) if reason == "not JSON: " else found.reason == reason


def test_one_file_holding_a_bare_list_of_tasks() -> None:
    result = parse(Export("phabricator", (("tasks-only.json", json.dumps([hand_task(1, at(-600))])),)), QUERY)
    assert [e.text for e in result.events] == ["T1 created: Task 1"] and result.problems == ()


def test_an_older_server_without_a_transaction_scan_is_read_task_by_task(
    conduit: ConduitFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_incident(conduit)
    # before objectType, transaction.search refused the parameter as Phorge refuses unknown ones
    older = tuple(p for p in conduit_fake._PARAMS["transaction.search"] if p != "objectType")
    monkeypatch.setitem(conduit_fake._PARAMS, "transaction.search", older)
    export, client = pull(conduit)
    assert export.meta["transactions"] == "per-task"
    assert client.calls == export.meta["calls"] == 11 + 1 + 5  # the refused scan, then each candidate
    assert texts(export) == EXPECTED


def test_a_second_pull_with_the_same_client_counts_its_own_calls(conduit: ConduitFake) -> None:
    build_incident(conduit)
    client = ConduitClient(conduit.url, conduit.token, backoff=0)
    source = PhabricatorSource(settings_for(conduit), client)
    first, second = source.pull(QUERY), source.pull(QUERY)
    # the client keeps what the configured projects resolved to: the second pull does not ask again
    assert (first.meta["calls"], second.meta["calls"], client.calls) == (12, 11, 23)


def test_the_last_second_of_the_window_is_in_it_and_the_end_is_not(conduit: ConduitFake) -> None:
    conduit.set_clock(at(-600))
    errors = conduit.add_project("Production Errors", "prod-errors")
    last = conduit.add_task("Filed in the last second", projects=[errors], created=at(60) - 1)
    conduit.set_status(last.id, "resolved", at=at(60) - 1, actor="bob")
    conduit.add_task("Filed at the end", projects=[errors], created=at(60))
    query = Query(WINDOW)
    export, _ = pull(conduit, query, projects=["prod-errors"], followup_projects=[])
    assert texts(export, query) == [
        ("20 14:59", "T1 created: Filed in the last second", "admin"),
        ("20 14:59", "T1 status changed Open → Resolved", "bob"),
    ]


def test_a_claim_in_the_same_edit_as_a_reopening_is_news() -> None:
    txns = [
        hand_txn(8, 1, at(5), "owner", author=CAROL, group="g", fields={"old": None, "new": CAROL}),
        hand_txn(7, 1, at(5), "status", author=CAROL, group="g", fields={"old": "resolved", "new": "open"}),
    ]
    result = parse(hand_export([hand_task(1, at(-600))], txns), QUERY)
    assert [e.text for e in result.events] == [
        "T1 created: Task 1", "T1 status changed Resolved → Open", "T1 claimed by carol"
    ]


def test_the_edit_that_created_a_task_folds_into_its_creation_whatever_comes_first() -> None:
    txns = [
        hand_txn(9, 2, at(-5), "status", fields={"old": "resolved", "new": "open"}, group=None),  # no group
        hand_txn(8, 1, at(5), "create", group="g"),
        hand_txn(7, 1, at(5), "status", group="g", fields={"old": None, "new": "open"}),
        hand_txn(6, 1, at(5), "owner", group="g", fields={"old": None, "new": CAROL}),
    ]
    result = parse(hand_export([hand_task(1, at(5)), hand_task(2, at(-600))], txns), QUERY)
    assert result.problems == ()
    assert [e.text for e in result.events] == [
        "T2 created: Task 2", "T2 status changed Resolved → Open", "T1 created: Task 1"
    ]


def test_an_author_that_is_no_phid_is_nobody() -> None:
    txn = hand_txn(7, 1, at(5), "status", author=["PHID-USER-bob"], fields={"old": "open", "new": "resolved"})
    assert only_change(txn).actor is None


def test_lone_surrogates_in_answers_are_counted_per_pull(conduit: ConduitFake) -> None:
    conduit.set_clock(at(-60))
    conduit.add_task("Broken \ud800 title", created=at(1))
    client = ConduitClient(conduit.url, conduit.token, backoff=0)
    source = PhabricatorSource(settings_for(conduit), client)
    first, second = source.pull(Query(WINDOW, ("T1",))), source.pull(Query(WINDOW, ("T1",)))
    # the task's title, and the title its creation set; the second pull counts its own
    assert first.meta[REPLACED_CHARACTERS] == second.meta[REPLACED_CHARACTERS] == 2 and client.replaced == 4
    assert REPLACED_CHARACTERS not in source.pull(QUERY).meta  # T4 does not exist: nothing read carried one
    assert "\ufffd" in (second.text("tasks.json") or "") and "\ufffd" in (second.text("transactions.json") or "")


def test_merged_tasks_already_pulled_are_not_fetched_again(conduit: ConduitFake) -> None:
    build_incident(conduit)
    conduit.set_clock(at(30))
    conduit.merge(5, into=4, at=at(12), actor="alice")  # both pulled already
    export, client = pull(conduit)
    ids = [item["id"] for item in json.loads(export.text("tasks.json") or "")]
    assert sorted(ids) == [1, 4, 5, 6, 7, 8] and client.calls == 12  # no call for the merge partners


def test_a_busy_instance_scans_back_part_way_then_fetches_only_the_older_candidates(conduit: ConduitFake) -> None:
    conduit.set_clock(at(-600))
    errors = conduit.add_project("Production Errors", "prod-errors")
    early = conduit.add_task("Early error", projects=[errors], created=at(1))  # T1
    conduit.set_status(early.id, "resolved", at=at(2), actor="bob")
    busy = conduit.add_task("Somebody else's very busy task", created=at(5))  # T2, not searched
    for n in range(5200):  # two per second, 14:10 to 14:53:20
        conduit.add_comment(busy.id, "noise", at=at(10) + n // 2)
    late = conduit.add_task("Late error", projects=[errors], created=at(58))  # T3
    conduit.set_status(late.id, "resolved", at=at(59), actor="alice")
    query = Query(WINDOW)
    export, client = pull(conduit, query, projects=["prod-errors"], followup_projects=[])
    assert export.meta["transactions"] == "type-scan+per-task"
    # statuses, priorities, the project, its search; two scan pages (one per candidate) reach back to
    # about 14:37, after T1 was created but before T3: T1 alone is fetched on its own; users, projects
    assert client.calls == export.meta["calls"] == 2 + 1 + 1 + 2 + 1 + 1 + 1
    pulled = {item["phid"]: item["id"] for item in json.loads(export.text("tasks.json") or "")}
    kept = {txn["objectPHID"] for txn in json.loads(export.text("transactions.json") or "")}
    assert sorted(pulled.values()) == [1, 3] and kept == set(pulled)  # none of the noise on T2 is kept
    assert texts(export, query) == [
        ("20 14:01", "T1 created: Early error", "admin"),
        ("20 14:02", "T1 status changed Open → Resolved", "bob"),
        ("20 14:58", "T3 created: Late error", "admin"),
        ("20 14:59", "T3 status changed Open → Resolved", "alice"),
    ]


def test_check_when_the_server_does_not_say_who_the_token_is(conduit: ConduitFake, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conduit, "_m_user_whoami", lambda params, viewer: None, raising=False)
    settings = Settings(
        phabricator=PhabricatorSettings(url=conduit.url, projects=[], followup_projects=[]),
        actionables=ActionablesSettings(tags=[]),
    )
    client = ConduitClient(conduit.url, conduit.token, backoff=0)
    assert PhabricatorSource(settings, client).check() == f"answered as an unknown user at {conduit.url}"


def test_malformed_records_in_conduit_answers_are_pulled_and_reported(
    conduit: ConduitFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server answering records of the wrong shape: the pull keeps going, parse names each one."""
    build_incident(conduit)
    tasks, transactions = conduit._m_maniphest_search, conduit._m_transaction_search

    def odd_tasks(params: dict, viewer: object) -> object:  # type: ignore[type-arg]
        answer = tasks(params, viewer)
        constraints = params.get("constraints") or {}
        if "parentIDs" in constraints:  # one malformed subtask of the incident task, once
            answer["data"] += ["junk", {"id": 99, "phid": "PHID-TASK-odd", "fields": None, "attachments": "x"}]
        return answer

    def odd_transactions(params: dict, viewer: object) -> object:  # type: ignore[type-arg]
        answer = transactions(params, viewer)
        in_window = [txn for txn in answer["data"] if txn["dateCreated"] < at(60)]
        if in_window:
            del in_window[0]["id"]  # the newest one in the window
        return answer

    monkeypatch.setattr(conduit, "_m_maniphest_search", odd_tasks, raising=False)
    monkeypatch.setattr(conduit, "_m_transaction_search", odd_transactions, raising=False)
    export, _ = pull(conduit)
    result = parse(export, QUERY)
    assert [(e.time.strftime("%d %H:%M"), e.text, e.actor) for e in result.events] == EXPECTED
    assert sorted((p.where.split(" record ")[0], p.reason) for p in result.problems) == [
        ("tasks.json", "no phid or fields"),
        ("tasks.json", "not an object"),
    ]
    saved = json.loads(export.text("transactions.json") or "")
    ids = [txn.get("id") for txn in saved]
    assert ids[-1] is None and ids[:-1] == sorted(ids[:-1], reverse=True)  # newest first, the one without an id last


def test_a_transaction_without_a_creation_time_is_reported_not_lost(conduit: ConduitFake) -> None:
    """The scan passes it on instead of taking it for the oldest of all (which ended the scan and
    dropped it unseen): parse names it, and every other event is there."""
    build_incident(conduit)
    resolved = next(t for t in conduit.transactions if t["dateCreated"] == at(40))
    del resolved["dateCreated"]
    export, _ = pull(conduit)
    assert export.meta["transactions"] == "type-scan"
    result = parse(export, QUERY)
    assert [(e.time.strftime("%d %H:%M"), e.text, e.actor) for e in result.events] == [
        row for row in EXPECTED if row[1] != "T5 status changed Open → Resolved"
    ]
    assert [(p.where.split(" record ")[0], p.reason) for p in result.problems] == [
        ("transactions.json", "no creation time")
    ]


def test_a_scan_page_ending_on_a_transaction_without_a_time_reaches_back_to_the_last_one_with_a_time(
    conduit: ConduitFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    """How far a part-way scan reached is told by its transactions with a time: a page ending on one
    without does not count as reaching back to the epoch (which would skip the older candidates)."""
    conduit.set_clock(at(-600))
    errors = conduit.add_project("Production Errors", "prod-errors")
    early = conduit.add_task("Early error", projects=[errors], created=at(1))  # T1: older than the scan reaches
    conduit.set_status(early.id, "resolved", at=at(2), actor="bob")
    busy = conduit.add_task("Somebody else's very busy task", created=at(5))
    for n in range(5200):
        conduit.add_comment(busy.id, "noise", at=at(10) + n // 2)
    late = conduit.add_task("Late error", projects=[errors], created=at(58))  # T3
    conduit.set_status(late.id, "resolved", at=at(59), actor="alice")
    scan = conduit._m_transaction_search

    def last_without_a_time(params: dict, viewer: object) -> object:  # type: ignore[type-arg]
        answer = scan(params, viewer)
        if params.get("objectType") and answer["data"]:
            answer["data"][-1] = {k: v for k, v in answer["data"][-1].items() if k != "dateCreated"}
        return answer

    monkeypatch.setattr(conduit, "_m_transaction_search", last_without_a_time, raising=False)
    export, _ = pull(conduit, Query(WINDOW), projects=["prod-errors"], followup_projects=[])
    assert export.meta["transactions"] == "type-scan+per-task"
    assert [(e.time.strftime("%d %H:%M"), e.text) for e in parse(export, Query(WINDOW)).events] == [
        ("20 14:01", "T1 created: Early error"),
        ("20 14:02", "T1 status changed Open → Resolved"),
        ("20 14:58", "T3 created: Late error"),
        ("20 14:59", "T3 status changed Open → Resolved"),
    ]


def small_scan_pages(conduit: ConduitFake, monkeypatch: pytest.MonkeyPatch, size: int) -> ConduitFake:
    """*size* transactions per scan page, so a test places the scan's page boundary exactly."""
    monkeypatch.setattr(conduit_client, "TRANSACTION_PAGE_MAX", size)
    conduit.set_clock(at(-600))
    return conduit


def test_a_task_created_in_the_second_the_scan_stopped_is_fetched_on_its_own(
    conduit: ConduitFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The scan's last page ends inside the second T2 was created, its creation on the next page
    (older ids): the scan did not see all of that second, so T2's transactions are fetched."""
    small_scan_pages(conduit, monkeypatch, 4)
    errors = conduit.add_project("Production Errors", "prod-errors")
    busy = conduit.add_task("Somebody else's very busy task", created=at(5))  # T1, 3 transactions
    conduit.add_task("Early error", projects=[errors], created=at(20))  # T2, 4 transactions at 14:20:00
    for second in range(4):  # 14:20:00 to 14:20:03, newer ids than T2's creation
        conduit.add_comment(busy.id, "noise", at=at(20) + second)
    conduit.add_task("Late error", projects=[errors], created=at(58))  # T3, 4 transactions
    export, client = pull(conduit, Query(WINDOW), projects=["prod-errors"], followup_projects=[])
    # newest first, 4 a page, one page per candidate: T3's four, then the four comments down to 14:20:00
    assert export.meta["transactions"] == "type-scan+per-task"
    # statuses, priorities, the project, its search; two scan pages; T2 on its own; users, projects
    assert client.calls == export.meta["calls"] == 2 + 1 + 1 + 2 + 1 + 1 + 1
    assert texts(export, Query(WINDOW)) == [
        ("20 14:20", "T2 created: Early error", "admin"),
        ("20 14:58", "T3 created: Late error", "admin"),
    ]


def test_a_task_created_after_the_scans_oldest_second_is_not_fetched_again(
    conduit: ConduitFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The scan reaches back to its last page's last transaction (14:20:00); T2, created a second
    later with all its transactions on that page, needs no call of its own."""
    small_scan_pages(conduit, monkeypatch, 5)
    errors = conduit.add_project("Production Errors", "prod-errors")
    busy = conduit.add_task("Somebody else's very busy task", created=at(5))  # T1
    conduit.add_comment(busy.id, "noise", at=at(20))  # 14:20:00
    conduit.add_task("Early error", projects=[errors], created=at(20) + 1)  # T2, 4 transactions at 14:20:01
    conduit.add_comment(busy.id, "noise", at=at(20) + 2)
    conduit.add_task("Late error", projects=[errors], created=at(58))  # T3, 4 transactions
    export, client = pull(conduit, Query(WINDOW), projects=["prod-errors"], followup_projects=[])
    # pages of 5, newest first: T3's four and the 14:20:02 comment; T2's four and the 14:20:00 comment
    assert export.meta["transactions"] == "type-scan+per-task"
    # statuses, priorities, the project, its search; two scan pages; users, projects
    assert client.calls == export.meta["calls"] == 2 + 1 + 1 + 2 + 1 + 1
    assert texts(export, Query(WINDOW)) == [
        ("20 14:20", "T2 created: Early error", "admin"),
        ("20 14:58", "T3 created: Late error", "admin"),
    ]
