"""The Phabricator source: pull against the Conduit fake, parse saved exports (pure)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from incidentkit.clients.conduit import ConduitClient
from incidentkit.config import PhabricatorSettings, Settings
from incidentkit.errors import SourceError
from incidentkit.model.event import EventKind
from incidentkit.model.source import Export, Query
from incidentkit.model.window import Window
from incidentkit.sources import all_specs
from incidentkit.sources.exports import load_export, save_export
from incidentkit.sources.phabricator import PhabricatorSource, parse
from incidentkit.timeline.merge import merge_events
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
    assert result.problems == () and result.notes == ()
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
