"""Actionables: status mapping, due dates, recording from drafts and imports, set, views, stats."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from incidentkit.clients.conduit import ConduitClient
from incidentkit.config import ActionablesSettings, Settings, WikiSettings
from incidentkit.errors import ConfigError, InputError, SourceError, StoreError
from incidentkit.model.actionable import (
    Actionable,
    ActionableQuery,
    ActionableStatus,
    ActionableType,
    FollowUp,
    StatusChange,
    Summary,
    SyncChange,
    SyncResult,
    TaskStatus,
    UpsertResult,
    map_task_status,
    parse_due,
    sla_due,
    status_choice,
    status_from_hint,
)
from incidentkit.model.incident import IncidentRecord
from incidentkit.model.tasks import parse_task
from incidentkit.services.actionables import (
    add_actionable,
    create_task,
    record_proposed,
    set_fields,
    upsert_imported,
)
from incidentkit.services.reporting import (
    actionable_stats,
    list_actionables,
    open_actionables_for_dashboard,
    summarize,
)
from incidentkit.services.sync import sync_actionables
from incidentkit.store import Store
from tests.servers.conduit_fake import ConduitFake

NOW = datetime(2024, 6, 10, 12, 0, tzinfo=UTC)
SETTINGS = Settings()


def _statuses(fixtures: Path, name: str) -> dict[str, TaskStatus]:
    data = json.loads((fixtures / "actionables" / name).read_text())["result"]["data"]
    return {d["value"]: TaskStatus(value=d["value"], name=d["name"], closed=d["closed"], special=d.get("special")) for d in data}


@pytest.fixture
def store(store: Store) -> Store:
    store.save_incident(IncidentRecord(slug="inc-a", title="DNS outage", start="2024-05-01T12:00:00Z", severity="SEV-1"))
    store.save_incident(IncidentRecord(slug="inc-b", title="Cache stampede", start="2024-06-01T08:00:00Z"))
    return store


def _latest_history_matches(store: Store) -> None:
    """The invariant: the newest history row of every actionable matches it."""
    latest = {}
    for change in store.status_history():
        latest[change.actionable_id] = change
    for a in store.query_actionables(ActionableQuery(statuses=()), today=NOW.date()):
        assert (latest[a.id].new_status, latest[a.id].new_task_status) == (a.status, a.task_status), a


# --- status mapping ----------------------------------------------------------------------------


def test_phorge_default_statuses_map_from_the_discovered_data(fixtures: Path) -> None:
    states = {k: s.state for k, s in _statuses(fixtures, "phorge-statuses.json").items()}
    assert states == {
        "open": ActionableStatus.OPEN, "resolved": ActionableStatus.DONE, "wontfix": ActionableStatus.WONT_DO, "invalid": ActionableStatus.WONT_DO,
        "duplicate": ActionableStatus.WONT_DO, "spite": ActionableStatus.WONT_DO,
    }


def test_wikimedia_statuses_map_from_the_discovered_data(fixtures: Path) -> None:
    states = {k: s.state for k, s in _statuses(fixtures, "wikimedia-statuses.json").items()}
    assert states == {
        "open": ActionableStatus.OPEN, "stalled": ActionableStatus.IN_PROGRESS, "resolved": ActionableStatus.DONE, "invalid": ActionableStatus.WONT_DO,
        "duplicate": ActionableStatus.WONT_DO, "declined": ActionableStatus.WONT_DO,
    }


def test_mapping_follows_the_instance_not_a_key_list() -> None:
    # A custom instance: "fixed" is closed (done), "doing" is open work, "closed" is special.
    custom = {
        "fixed": TaskStatus(value="fixed", name="Fixed", closed=True),
        "doing": TaskStatus(value="doing", name="Doing", closed=False),
        "shipped": TaskStatus(value="shipped", name="Declined?", closed=True, special="closed"),
        "declined": TaskStatus(value="declined", name="Declined", closed=False),  # not closed here
    }
    assert map_task_status("fixed", custom, closed=False) is ActionableStatus.DONE
    assert map_task_status("doing", custom, closed=False) is ActionableStatus.IN_PROGRESS
    assert map_task_status("shipped", custom, closed=True) is ActionableStatus.DONE  # special wins over the name
    assert map_task_status("declined", custom, closed=True) is ActionableStatus.OPEN  # the instance says open


def test_an_unconfigured_status_is_classified_from_the_task() -> None:
    # maniphest.edit accepts unconfigured keys; the task then reads "Unknown ActionableStatus" (capture 099).
    assert map_task_status("declined", {}, closed=True, name="Unknown ActionableStatus") is ActionableStatus.WONT_DO
    assert map_task_status("needsinfo", {}, closed=False, name="Unknown ActionableStatus") is ActionableStatus.OPEN
    assert map_task_status("whatever", {}, closed=True) is ActionableStatus.DONE


@pytest.mark.parametrize(
    ("text", "state"),
    [
        ("Open", ActionableStatus.OPEN), ("Resolved", ActionableStatus.DONE), ("Closed, Declined", ActionableStatus.WONT_DO),
        ("Open, Stalled", ActionableStatus.IN_PROGRESS), ("not-done", ActionableStatus.OPEN), ("unresolved", ActionableStatus.OPEN),
        ("dropped", ActionableStatus.WONT_DO), ("won't do", ActionableStatus.WONT_DO), ("in progress", ActionableStatus.IN_PROGRESS),
        ("done", ActionableStatus.DONE), ("unknown", None), ("", None), (None, None),
    ],
)
def test_status_hints(text: str | None, state: ActionableStatus | None) -> None:
    assert status_from_hint(text, {}) is state


def test_a_hint_uses_the_instance_names_first(fixtures: Path) -> None:
    statuses = _statuses(fixtures, "phorge-statuses.json")
    assert status_from_hint("Spite", statuses) is ActionableStatus.WONT_DO
    assert status_from_hint("wontfix", statuses) is ActionableStatus.WONT_DO


# --- input and due dates -----------------------------------------------------------------------


def test_parse_task() -> None:
    assert [parse_task(t) for t in ("T123", "t7", " 42 ")] == ["T123", "T7", "T42"]
    with pytest.raises(InputError, match="not a Phabricator task"):
        parse_task("D123")


def test_parse_due() -> None:
    assert parse_due("2024-07-01", now=NOW) == date(2024, 7, 1)
    assert parse_due("+14d", now=NOW) == date(2024, 6, 24)
    assert parse_due("30 days", now=NOW) == date(2024, 7, 10)
    with pytest.raises(InputError):
        parse_due("soonish maybe", now=NOW)


@pytest.mark.parametrize(
    ("severity", "days"), [("1", 15), ("SEV-1", 15), ("sev2", 30), ("3", 60), ("UBN", 45), (None, 45), ("SEV-9", 45)]
)
def test_sla_due_by_severity(severity: str | None, days: int) -> None:
    assert sla_due({"1": 15, "2": 30, "3": 60}, 45, severity, date(2024, 1, 1)).toordinal() - date(2024, 1, 1).toordinal() == days


# --- add / set ---------------------------------------------------------------------------------


def test_add_idea_gets_the_sla_due_date_and_locks_given_fields(store: Store) -> None:
    a, created = add_actionable(store, "inc-a", "Alert on  resolver errors", settings=SETTINGS, now=NOW,
                                    owner="alice", type=ActionableType.DETECT)
    assert created and a.task is None and a.title == "Alert on resolver errors"
    assert a.due == date(2024, 5, 16)  # incident start + 15 days (SEV-1)
    assert set(a.locked) == {"title", "owner", "type"}
    again, created_again = add_actionable(store, "inc-a", "Alert on resolver errors", settings=SETTINGS, now=NOW)
    assert again.id == a.id and not created_again


def test_add_to_an_unknown_incident_writes_nothing(store: Store) -> None:
    with pytest.raises(StoreError, match="unknown incident 'nope'"):
        add_actionable(store, "nope", "x", settings=SETTINGS, now=NOW)
    assert store.query_actionables(ActionableQuery(statuses=()), today=NOW.date()) == []


def test_set_locks_fields_and_records_status_history(store: Store) -> None:
    a, _ = add_actionable(store, "inc-b", "Rate limit purges", settings=SETTINGS, now=NOW, task="T9")
    after = set_fields(store, a.id or 0, now=NOW, owner="bob", due=date(2024, 8, 1), status="wont-do")
    assert (after.owner, after.due, after.status) == ("bob", date(2024, 8, 1), ActionableStatus.WONT_DO)
    assert {"owner", "due", "status"} <= set(after.locked) and after.resolved_at == NOW
    reopened = set_fields(store, a.id or 0, now=NOW, status="open", unlock=["owner"])
    assert reopened.resolved_at is None and "owner" not in reopened.locked
    assert [c.new_status for c in store.status_history(a.id)] == [ActionableStatus.OPEN, ActionableStatus.WONT_DO, ActionableStatus.OPEN]
    assert {c.source for c in store.status_history(a.id)} == {"manual"}


def test_set_an_unknown_status_writes_nothing(store: Store, fixtures: Path) -> None:
    a, _ = add_actionable(store, "inc-b", "Rate limit purges", settings=SETTINGS, now=NOW)
    with pytest.raises(InputError, match="unknown status 'spite'"):
        set_fields(store, a.id or 0, now=NOW, status="spite", owner="carol")
    assert store.require_actionable(a.id or 0) == a
    store.save_task_statuses(_statuses(fixtures, "phorge-statuses.json").values(), fetched_at=NOW)
    assert set_fields(store, a.id or 0, now=NOW, status="Spite").status is ActionableStatus.WONT_DO
    with pytest.raises(InputError, match="cannot unlock"):
        set_fields(store, a.id or 0, now=NOW, unlock=["missing"])


# --- draft and import --------------------------------------------------------------------------


def test_record_proposed_is_idempotent(store: Store) -> None:
    proposed = [
        FollowUp(title="Add resolver alert", task="T10", status="Open", owner="alice"),
        FollowUp(title="Write runbook", task="T11", status="Resolved"),
        FollowUp(title="Consider anycast"),
    ]
    assert record_proposed(store, "inc-a", proposed, SETTINGS, now=NOW) == UpsertResult(3, 0, 0)
    assert record_proposed(store, "inc-a", proposed, SETTINGS, now=NOW) == UpsertResult(0, 0, 3)
    rows = {a.title: a for a in store.incident_actionables("inc-a")}
    assert rows["Write runbook"].status is ActionableStatus.DONE and rows["Write runbook"].resolved_at == NOW
    assert rows["Add resolver alert"].owner == "alice" and rows["Add resolver alert"].origin == "draft"
    assert len(store.status_history()) == 3
    _latest_history_matches(store)


def test_import_never_overwrites_locked_fields_or_synced_status(store: Store) -> None:
    upsert_imported(store, "inc-a", [FollowUp(title="Alert", task="T10", status="open")], settings=SETTINGS, now=NOW)
    a = store.find_actionable("inc-a", task="T10")
    assert a is not None
    set_fields(store, a.id or 0, now=NOW, owner="alice")
    result = upsert_imported(
        store, "inc-a", [FollowUp(title="Alert!", task="T10", status="done", owner="mallory", raw_text="* T10 done")],
        settings=SETTINGS, now=NOW,
    )
    after = store.require_actionable(a.id or 0)
    assert result.updated == 1
    assert (after.owner, after.status, after.title, after.raw_text) == ("alice", ActionableStatus.DONE, "Alert!", "* T10 done")
    # Once sync has seen the task, page text is only a hint and changes nothing but raw_text.
    store.update_actionable(replace(after, synced_at=NOW, task_status="open", status=ActionableStatus.OPEN),
                            [StatusChange(actionable_id=after.id, incident="inc-a", task="T10", old_status=ActionableStatus.DONE,
                                              new_status=ActionableStatus.OPEN, new_task_status="open", changed_at=NOW,
                                              changed_at_from="observed", observed_at=NOW, source="sync")])
    upsert_imported(store, "inc-a", [FollowUp(title="Other", task="T10", status="done")], settings=SETTINGS, now=NOW)
    final = store.require_actionable(a.id or 0)
    assert (final.status, final.title, final.owner) == (ActionableStatus.OPEN, "Alert!", "alice")
    _latest_history_matches(store)


def test_import_links_a_task_to_a_known_idea_and_dates_it_from_the_incident(store: Store) -> None:
    upsert_imported(store, "inc-a", [FollowUp(title="Anycast DNS")], now=NOW)
    idea = store.find_actionable("inc-a", title="Anycast DNS")
    assert idea is not None and idea.created_at == datetime(2024, 5, 1, 12, tzinfo=UTC)
    upsert_imported(store, "inc-a", [FollowUp(title="Anycast DNS", task="T77")], now=NOW)
    assert store.require_actionable(idea.id or 0).task == "T77"
    assert len(store.incident_actionables("inc-a")) == 1


def test_import_accepts_report_page_actionables(store: Store) -> None:
    from incidentkit.services.importing import imported_items
    from incidentkit.wikitext.reports import ItemStatus, PageActionable, Report

    item = PageActionable(text="Fix the cache", raw="* <s>{{PhabT|T5}} Fix the cache</s>", tasks=("T5",), status=ItemStatus.DROPPED)
    report = Report(page="Incidents/x", name="x", date=None, status=None, actionables=(item,))
    assert upsert_imported(store, "inc-b", imported_items(report), now=NOW).added == 1
    a = store.find_actionable("inc-b", task="T5")
    assert a is not None and a.status is ActionableStatus.WONT_DO and a.raw_text == item.raw and a.origin == "import"


# --- views -------------------------------------------------------------------------------------


def _seed(store: Store) -> None:
    record_proposed(store, "inc-a", [
        FollowUp(title="late one", task="T1", owner="alice"),
        FollowUp(title="closed one", task="T2", owner="alice", status="resolved"),
    ], SETTINGS, now=datetime(2024, 5, 2, tzinfo=UTC))
    record_proposed(store, "inc-b", [FollowUp(title="fresh one", task="T3")], SETTINGS, now=NOW)


def test_list_and_summary(store: Store) -> None:
    _seed(store)
    rows = list_actionables(store, ActionableQuery(), now=NOW)
    assert [a.task for a in rows] == ["T1", "T3"]
    assert [a.is_overdue(NOW.date()) for a in rows] == [True, False]
    assert summarize(store, ActionableQuery(owner="alice"), now=NOW) == Summary(1, 1, 0)
    assert summarize(store, ActionableQuery(), now=datetime(2024, 5, 20, tzinfo=UTC)).done_this_month == 1
    with pytest.raises(InputError, match="cannot sort"):
        list_actionables(store, ActionableQuery(sort="colour"), now=NOW)
    with pytest.raises(StoreError, match="unknown incident"):
        list_actionables(store, ActionableQuery(incident="inc-z"), now=NOW)


def test_stats(store: Store) -> None:
    _seed(store)
    a = store.find_actionable("inc-a", task="T1")
    assert a is not None
    set_fields(store, a.id or 0, now=datetime(2024, 6, 6, tzinfo=UTC), status="done")
    stats = actionable_stats(store, now=NOW, months=3)
    assert [(m.month, m.opened, m.closed, m.open_at_end) for m in stats.months] == [
        ("2024-04", 0, 0, 0), ("2024-05", 2, 1, 1), ("2024-06", 1, 1, 1),
    ]
    assert stats.closed == 2 and stats.median_days_to_close == 17.5  # (0 + 35) / 2
    assert [(o.owner, o.open, o.overdue) for o in stats.by_owner] == [(None, 1, 0)]


def test_dashboard_groups_open_work(store: Store) -> None:
    _seed(store)
    board = open_actionables_for_dashboard(store, NOW)
    assert (board.open, board.overdue) == (2, 1)
    assert [(g.label, g.overdue, len(g.items)) for g in board.by_owner] == [("alice", 1, 1), ("(unassigned)", 0, 1)]
    assert [g.key for g in board.by_incident] == ["inc-b", "inc-a"]
    late = board.by_owner[0].items[0]
    assert late.incident_title == "DNS outage" and late.days_overdue == 25  # due 2024-05-16


# --- sync, add and create against the Conduit fake --------------------------------------------

MAY_1 = int(datetime(2024, 5, 1, 13, tzinfo=UTC).timestamp())
MAY_29 = int(datetime(2024, 5, 29, 9, tzinfo=UTC).timestamp())
MAY_30 = int(datetime(2024, 5, 30, 17, tzinfo=UTC).timestamp())
IR_PROJECT = "PHID-PROJ-6xycd6zxjatbtujcjg7x"  # the fake's "Incident Response" (#ir)


def _client(conduit: ConduitFake, cls: type[ConduitClient] | None = None) -> ConduitClient:
    return (cls or ConduitClient)(conduit.url, conduit.token, retries=0)


def _histories(store: Store) -> dict[int, list[StatusChange]]:
    grouped: dict[int, list[StatusChange]] = {}
    for change in store.status_history():
        grouped.setdefault(change.actionable_id or 0, []).append(change)
    return grouped


def _no_repeated_history(store: Store) -> None:
    for rows in _histories(store).values():
        states = [(c.new_status, c.new_task_status, c.note) for c in rows]
        assert all(a != b for a, b in zip(states, states[1:], strict=False)), states


def test_round_trip_draft_to_sync_to_list(store: Store, conduit: ConduitFake) -> None:
    conduit.add_task("DNS outage", created=MAY_1)  # T1, the incident task
    conduit.add_task("Alert on resolver errors", owner="alice", projects=[IR_PROJECT], created=MAY_1)  # T2
    conduit.add_task("Write the resolver runbook", owner="bob", created=MAY_1)  # T3
    conduit.add_task("Anycast the resolvers", created=MAY_1)  # T4
    proposed = [
        FollowUp(title="Alert on resolver errors", task="T2", status="Open"),
        FollowUp(title="Write the resolver runbook", task="T3", status="Open"),
        FollowUp(title="Anycast the resolvers", task="T4", status="Open"),
        FollowUp(title="Deleted later", task="T404", status="Open"),
        FollowUp(title="Try a second resolver vendor"),
    ]
    record_proposed(store, "inc-a", proposed, SETTINGS, now=datetime(2024, 5, 2, tzinfo=UTC))
    client = _client(conduit)

    first = sync_actionables(store, client, now=datetime(2024, 5, 3, tzinfo=UTC))
    assert first.checked == 4 and first.missing == ("T404",)
    assert [c.line() for c in first.changes] == ["T404 (inc-a): task missing (deleted or not visible)"]
    t2 = store.find_actionable("inc-a", task="T2")
    assert t2 is not None and (t2.owner, t2.projects, t2.task_status) == ("alice", ("Incident Response",), "open")
    assert t2.created_at == datetime(2024, 5, 1, 13, tzinfo=UTC)  # the task's creation, not the draft's

    conduit.set_status(2, "resolved", at=MAY_29)
    conduit.set_status(3, "wontfix", at=MAY_29)
    conduit.set_owner(4, "bob", at=MAY_29)
    second = sync_actionables(store, client, now=datetime(2024, 6, 10, tzinfo=UTC))
    assert sorted(c.line() for c in second.changes) == [
        "T2 (inc-a): open [open] -> done [resolved] Alert on resolver errors",
        "T3 (inc-a): open [open] -> wont-do [wontfix] Write the resolver runbook",
    ]
    t2 = store.find_actionable("inc-a", task="T2")
    assert t2 is not None and t2.resolved_at == datetime.fromtimestamp(MAY_29, UTC)
    last = store.status_history(t2.id)[-1]
    assert (last.changed_at, last.changed_at_from, last.source) == (t2.resolved_at, "task-closed", "sync")

    rows = list_actionables(store, ActionableQuery(), now=NOW)
    assert [(a.task, a.owner, a.is_overdue(NOW.date())) for a in rows] == [
        ("T4", "bob", True), ("T404", None, True), (None, None, True),  # due 2024-05-16 (SEV-1: 15 days)
    ]
    assert summarize(store, ActionableQuery(), now=NOW) == Summary(3, 3, 0)  # T2 was done in May
    assert summarize(store, ActionableQuery(), now=datetime(2024, 5, 31, tzinfo=UTC)) == Summary(3, 3, 1)

    conduit.set_status(2, "open", at=MAY_30)  # reopened: the time comes from transaction.search
    third = sync_actionables(store, client, now=datetime(2024, 6, 11, tzinfo=UTC))
    assert [c.line() for c in third.changes] == ["T2 (inc-a): done [resolved] -> open [open] Alert on resolver errors"]
    last = store.status_history(t2.id)[-1]
    assert (last.changed_at, last.changed_at_from) == (datetime.fromtimestamp(MAY_30, UTC), "transaction")
    assert store.require_actionable(t2.id or 0).resolved_at is None
    _latest_history_matches(store)
    _no_repeated_history(store)


def test_sync_maps_a_wikimedia_like_instance(store: Store, conduit: ConduitFake, fixtures: Path) -> None:
    conduit.statuses = json.loads((fixtures / "actionables" / "wikimedia-statuses.json").read_text())["result"]["data"]
    for title in ("stalled one", "declined one"):
        conduit.add_task(title, created=MAY_1)
    record_proposed(store, "inc-b", [FollowUp(title="a", task="T1"), FollowUp(title="b", task="T2")], SETTINGS, now=NOW)
    conduit.set_status(1, "stalled", at=MAY_29)
    conduit.set_status(2, "declined", at=MAY_29)
    sync_actionables(store, _client(conduit), now=NOW)
    states = {a.task: (a.status, a.task_status) for a in store.incident_actionables("inc-b")}
    assert states == {"T1": (ActionableStatus.IN_PROGRESS, "stalled"), "T2": (ActionableStatus.WONT_DO, "declined")}
    assert {s.value for s in store.task_statuses()} == {"open", "stalled", "resolved", "invalid", "duplicate", "declined"}


def test_first_sync_replaces_a_hinted_close_time_with_the_real_one(store: Store, conduit: ConduitFake) -> None:
    conduit.add_task("Done already", created=MAY_1)
    conduit.set_status(1, "resolved", at=MAY_29)
    record_proposed(store, "inc-b", [FollowUp(title="x", task="T1", status="Resolved")], SETTINGS, now=NOW)
    assert store.find_actionable("inc-b", task="T1").resolved_at == NOW  # type: ignore[union-attr]
    sync_actionables(store, _client(conduit), now=NOW)
    assert store.find_actionable("inc-b", task="T1").resolved_at == datetime.fromtimestamp(MAY_29, UTC)  # type: ignore[union-attr]


def test_sync_keeps_locked_fields(store: Store, conduit: ConduitFake) -> None:
    conduit.add_task("Original title", owner="alice", created=MAY_1)
    a, _ = add_actionable(store, "inc-b", "My own words", settings=SETTINGS, now=NOW, task="T1", owner="carol")
    set_fields(store, a.id or 0, now=NOW, status="wont-do")
    conduit.set_status(1, "resolved", at=MAY_29)
    sync_actionables(store, _client(conduit), now=NOW)
    after = store.require_actionable(a.id or 0)
    assert (after.title, after.owner, after.status, after.task_status) == ("My own words", "carol", ActionableStatus.WONT_DO, "resolved")
    _latest_history_matches(store)


def test_unlocking_a_field_lets_the_next_sync_set_it(store: Store, conduit: ConduitFake) -> None:
    conduit.add_task("Task", owner="alice", created=MAY_1)
    a, _ = add_actionable(store, "inc-b", "Task", settings=SETTINGS, now=NOW, task="T1", owner="carol")
    client = _client(conduit)
    sync_actionables(store, client, now=NOW)
    assert store.require_actionable(a.id or 0).owner == "carol"
    set_fields(store, a.id or 0, now=NOW, unlock=["owner"])
    sync_actionables(store, client, now=NOW)  # the task itself did not change
    assert store.require_actionable(a.id or 0).owner == "alice"


def test_a_changed_status_list_remaps_unchanged_tasks(store: Store, conduit: ConduitFake) -> None:
    conduit.add_task("Task", created=MAY_1)
    conduit.set_status(1, "spite", at=MAY_29)
    record_proposed(store, "inc-b", [FollowUp(title="Task", task="T1")], SETTINGS, now=NOW)
    client = _client(conduit)
    sync_actionables(store, client, now=NOW)
    assert store.find_actionable("inc-b", task="T1").status is ActionableStatus.WONT_DO  # type: ignore[union-attr]
    conduit.statuses = [dict(s, special="closed") if s["value"] == "spite" else s for s in conduit.statuses]
    sync_actionables(store, client, now=datetime(2024, 6, 12, tzinfo=UTC))  # cache expired: rediscovered
    assert store.find_actionable("inc-b", task="T1").status is ActionableStatus.DONE  # type: ignore[union-attr]
    _latest_history_matches(store)


def test_sync_batches_100_ids_per_call_and_caches_statuses(store: Store, conduit: ConduitFake) -> None:
    for n in range(1, 251):
        conduit.add_task(f"task {n}", owner="alice", created=MAY_1)
    record_proposed(store, "inc-a", [FollowUp(title=f"task {n}", task=f"T{n}") for n in range(1, 251)], SETTINGS, now=NOW)
    client = _client(conduit)
    first = sync_actionables(store, client, now=NOW)
    searches = [params for method, params in conduit.requests if method == "maniphest.search"]
    assert [len(p["constraints"]["ids"]) for p in searches] == [100, 100, 50]
    assert first.calls == 5  # statuses, 3 searches, one user.search for alice
    conduit.requests.clear()
    again = sync_actionables(store, client, now=NOW)
    assert again.calls == 3 and again.changes == ()
    assert {method for method, _ in conduit.requests} == {"maniphest.search"}


def test_sync_reports_a_vanished_task_and_its_return(store: Store, conduit: ConduitFake) -> None:
    conduit.add_task("Comes and goes", created=MAY_1)
    record_proposed(store, "inc-b", [FollowUp(title="x", task="T1")], SETTINGS, now=NOW)
    client = _client(conduit)
    sync_actionables(store, client, now=NOW)
    hidden = conduit.tasks.pop(1)
    gone = sync_actionables(store, client, now=NOW)
    assert gone.missing == ("T1",) and [c.note for c in gone.changes] == ["task missing (deleted or not visible)"]
    assert sync_actionables(store, client, now=NOW).changes == ()  # reported once, kept
    conduit.tasks[1] = hidden
    back = sync_actionables(store, client, now=NOW)
    assert back.missing == () and [c.note for c in back.changes] == ["task visible again"]
    assert len(store.incident_actionables("inc-b")) == 1
    _latest_history_matches(store)


def test_sync_bad_input_writes_nothing(store: Store, conduit: ConduitFake) -> None:
    conduit.add_task("one", created=MAY_1)
    record_proposed(store, "inc-b", [FollowUp(title="one", task="T1")], SETTINGS, now=NOW)
    before = store.status_history()
    with pytest.raises(InputError, match="task T2 is not tracked"):
        sync_actionables(store, _client(conduit), now=NOW, tasks=["T2"])
    with pytest.raises(StoreError, match="unknown incident"):
        sync_actionables(store, _client(conduit), now=NOW, incident="inc-z")
    assert store.status_history() == before and conduit.calls == 0


class _FailingClient(ConduitClient):
    """Raises from inside the Conduit layer on its second task batch."""

    batches = 0  # per client: each test makes its own

    def tasks_by_ids(self, ids, attachments=("projects",)):  # type: ignore[no-untyped-def]
        self.batches += 1
        if self.batches == 2:
            raise SourceError("Phabricator maniphest.search failed: connection broke")
        return super().tasks_by_ids(ids, attachments)


def test_an_interrupted_sync_leaves_the_database_consistent(store: Store, conduit: ConduitFake) -> None:
    for n in range(1, 7):
        conduit.add_task(f"task {n}", created=MAY_1)
        conduit.set_status(n, "resolved", at=MAY_29)
    record_proposed(store, "inc-a", [FollowUp(title=f"t{n}", task=f"T{n}") for n in range(1, 7)], SETTINGS, now=NOW)
    with pytest.raises(SourceError):
        sync_actionables(store, _client(conduit, _FailingClient), now=NOW, batch_size=2)
    synced = sorted(a.task or "" for a in store.incident_actionables("inc-a") if a.synced_at)
    assert synced == ["T1", "T2"]  # the first batch is in, the second not at all
    _latest_history_matches(store)
    report = sync_actionables(store, _client(conduit), now=NOW, batch_size=2)
    assert sorted(c.actionable.task or "" for c in report.changes) == ["T3", "T4", "T5", "T6"]
    assert all(a.status is ActionableStatus.DONE for a in store.incident_actionables("inc-a"))
    _latest_history_matches(store)
    _no_repeated_history(store)


def test_two_syncs_at_once_do_not_duplicate_history(tmp_path: Path, conduit: ConduitFake) -> None:
    path = tmp_path / "shared.db"
    with Store.open(path) as setup:
        setup.save_incident(IncidentRecord(slug="inc", title="I", start="2024-05-01T00:00:00Z"))
        for n in range(1, 5):
            conduit.add_task(f"task {n}", created=MAY_1)
        record_proposed(setup, "inc", [FollowUp(title=f"t{n}", task=f"T{n}") for n in range(1, 5)], SETTINGS, now=NOW)
        sync_actionables(setup, _client(conduit), now=NOW)
    for n in range(1, 5):
        conduit.set_status(n, "resolved", at=MAY_29)
    barrier = threading.Barrier(2, timeout=10)

    class Racing(ConduitClient):
        def tasks_by_ids(self, ids, attachments=("projects",)):  # type: ignore[no-untyped-def]
            found = super().tasks_by_ids(ids, attachments)
            barrier.wait()  # both syncs hold the same answer before either writes
            return found

    reports: list[SyncResult] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with Store.open(path) as own:
                reports.append(sync_actionables(own, _client(conduit, Racing), now=NOW))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(len(r.changes) for r in reports) == [0, 4]  # one sync recorded the changes, once
    with Store.open(path) as check:
        assert sum(1 for c in check.status_history() if c.new_status is ActionableStatus.DONE) == 4
        _latest_history_matches(check)
        _no_repeated_history(check)


# Many rounds of two syncs racing on one database, each against its own fake Phorge, in a child
# process; prints one line per failed sync and then "rounds N".
_RACES = """
import sys, tempfile, threading
from datetime import UTC, datetime
from pathlib import Path
from incidentkit.clients.conduit import ConduitClient
from incidentkit.config import Settings
from incidentkit.model.actionable import FollowUp
from incidentkit.model.incident import IncidentRecord
from incidentkit.services.actionables import record_proposed
from incidentkit.services.sync import sync_actionables
from incidentkit.store import Store
from tests.servers.conduit_fake import ConduitFake

rounds, base = int(sys.argv[1]), Path(sys.argv[2])
now = datetime(2024, 6, 10, 12, tzinfo=UTC)
fake = ConduitFake().start()
for round_ in range(rounds):
    fake.reset()
    path = base / f"race-{round_}.db"
    with Store.open(path) as setup:
        setup.save_incident(IncidentRecord(slug="inc", title="I", start="2024-05-01T00:00:00Z"))
        for n in range(1, 5):
            fake.add_task(f"task {n}", created=datetime(2024, 5, 1, tzinfo=UTC))
        record_proposed(setup, "inc", [FollowUp(title=f"t{n}", task=f"T{n}") for n in range(1, 5)], Settings(), now=now)
        sync_actionables(setup, ConduitClient(fake.url, fake.token, retries=0), now=now)
    for n in range(1, 5):
        fake.set_status(n, "resolved", at=datetime(2024, 5, 29, tzinfo=UTC))
    barrier = threading.Barrier(2, timeout=10)

    class Racing(ConduitClient):
        def tasks_by_ids(self, ids, attachments=("projects",)):
            found = super().tasks_by_ids(ids, attachments)
            barrier.wait()
            return found

    def run():
        try:
            with Store.open(path) as own:
                sync_actionables(own, Racing(fake.url, fake.token, retries=0), now=now)
        except BaseException as exc:
            print(f"round {round_}: {type(exc).__name__}: {exc}", flush=True)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
fake.stop()
print(f"rounds {rounds}")
"""


@pytest.mark.slow
def test_racing_syncs_never_fail_after_committing(tmp_path: Path) -> None:
    # A race lost one round in twenty needs many rounds to show: 60 miss it with p < 5%.
    script = tmp_path / "races.py"
    script.write_text(_RACES)
    done = subprocess.run(
        [sys.executable, str(script), "60", str(tmp_path)],
        cwd=Path(__file__).resolve().parent.parent, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert (done.returncode, done.stdout) == (0, "rounds 60\n"), done.stderr[-2000:]


_KILLER = """
import os, signal, sys
from datetime import datetime, timezone
from incidentkit.services import sync as actionables
from incidentkit.clients.conduit import ConduitClient
from incidentkit.store import Store

path, url, token = sys.argv[1:4]
original = Store._insert_history
seen = []

def dying(self, rows):
    original(self, rows)
    seen.append(1)
    if len(seen) == 2:  # inside the second batch's transaction, after its writes, before COMMIT
        os.kill(os.getpid(), signal.SIGKILL)

Store._insert_history = dying
store = Store.open(path)
actionables.sync_actionables(store, ConduitClient(url, token, retries=0),
                             now=datetime(2024, 6, 10, 12, tzinfo=timezone.utc), batch_size=2)
"""


@pytest.mark.slow
def test_killing_a_sync_midway_loses_nothing(tmp_path: Path, conduit: ConduitFake) -> None:
    path = tmp_path / "killed.db"
    with Store.open(path) as setup:
        setup.save_incident(IncidentRecord(slug="inc", title="I", start="2024-05-01T00:00:00Z"))
        for n in range(1, 7):
            conduit.add_task(f"task {n}", created=MAY_1)
            conduit.set_status(n, "resolved", at=MAY_29)
        record_proposed(setup, "inc", [FollowUp(title=f"t{n}", task=f"T{n}") for n in range(1, 7)], SETTINGS, now=NOW)
    script = tmp_path / "killer.py"
    script.write_text(_KILLER)
    done = subprocess.run([sys.executable, str(script), str(path), conduit.url, conduit.token], timeout=60, check=False)
    assert done.returncode == -signal.SIGKILL
    with Store.open(path) as after:
        assert after.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert sorted(a.task or "" for a in after.incident_actionables("inc") if a.synced_at) == ["T1", "T2"]
        _latest_history_matches(after)
        sync_actionables(after, _client(conduit), now=NOW)
        assert all(a.status is ActionableStatus.DONE for a in after.incident_actionables("inc"))
        _latest_history_matches(after)
        _no_repeated_history(after)


def test_add_checks_the_task_on_the_server(store: Store, conduit: ConduitFake) -> None:
    conduit.add_task("Real task", owner="bob", status="resolved", created=MAY_1)
    with pytest.raises(InputError, match="unknown task T9"):
        add_actionable(store, "inc-b", "ghost", settings=SETTINGS, now=NOW, task="T9", client=_client(conduit))
    assert store.incident_actionables("inc-b") == []
    a, created = add_actionable(store, "inc-b", "Real task", settings=SETTINGS, now=NOW, task="t1", client=_client(conduit))
    assert created and (a.task, a.owner, a.status, a.task_status) == ("T1", "bob", ActionableStatus.DONE, "resolved")
    assert a.synced_at == NOW and a.resolved_at is not None


def test_create_task_links_a_new_task(store: Store, conduit: ConduitFake) -> None:
    conduit.add_task("The incident task", created=MAY_1)
    store.save_incident(IncidentRecord(slug="inc-c", title="Queue backlog", start="2024-06-01T00:00:00Z", task="T1",
                                       wiki="wikitech", page="Incidents/2024-06-01 Queue backlog"))
    idea, _ = add_actionable(store, "inc-c", "Alert on queue age", settings=SETTINGS, now=NOW, owner="alice")
    settings = Settings(
        actionables=ActionablesSettings(tags=["#ir"]),
        wikis={"wikitech": WikiSettings(url="https://wikitech.example.org/w/api.php")},
    )
    linked = create_task(store, idea.id or 0, client=_client(conduit), settings=settings, now=NOW)
    task = conduit.tasks[2]
    assert linked.task == "T2" and linked.task_phid == task.phid and linked.task_status == "open"
    assert task.title == "Alert on queue age" and task.projects == [IR_PROJECT] and task.parents == [1]
    assert "https://wikitech.example.org/w/index.php?title=Incidents/2024-06-01_Queue_backlog" in task.description
    assert store.status_history(idea.id)[-1].note == "created T2"
    with pytest.raises(InputError, match="already linked to T2"):
        create_task(store, idea.id or 0, client=_client(conduit), settings=settings, now=NOW)


def test_create_task_with_an_unknown_tag_creates_nothing(store: Store, conduit: ConduitFake) -> None:
    idea, _ = add_actionable(store, "inc-b", "Alert on queue age", settings=SETTINGS, now=NOW)
    settings = Settings(actionables=ActionablesSettings(tags=["no-such-project"]))
    with pytest.raises(ConfigError, match=r"no project 'no-such-project' \(\[actionables\] tags\)"):
        create_task(store, idea.id or 0, client=_client(conduit), settings=settings, now=NOW)
    assert conduit.tasks == {} and store.require_actionable(idea.id or 0) == idea


def test_past_the_lookup_budget_changes_are_timed_by_the_task(store: Store, conduit: ConduitFake) -> None:
    for title in ("declined later", "closed again"):
        conduit.add_task(title, created=MAY_1)
        conduit.set_status(conduit.tasks[len(conduit.tasks)].id, "resolved", at=MAY_29)
    record_proposed(store, "inc-b", [FollowUp(title="a", task="T1"), FollowUp(title="b", task="T2")], SETTINGS, now=NOW)
    sync_actionables(store, _client(conduit), now=NOW)
    conduit.set_status(1, "wontfix", at=MAY_30)  # closed -> closed: the close date stays MAY_29
    conduit.set_status(2, "open", at=MAY_30)
    conduit.set_status(2, "resolved", at=MAY_30 + 60)
    report = sync_actionables(store, _client(conduit), now=NOW, transaction_lookups=0)
    assert sorted(c.line() for c in report.changes) == [
        "T1 (inc-b): done [resolved] -> wont-do [wontfix] declined later",
        "T2 (inc-b): closed again at 2024-05-30T17:01:00Z (reopened since the last sync)",
    ]
    last = _histories(store)[1][-1]
    assert (last.changed_at, last.changed_at_from) == (datetime.fromtimestamp(MAY_30, UTC), "task-modified")
    assert len(_histories(store)[2]) == 2  # no transactions read: no made-up reopen row
    assert store.find_actionable("inc-b", task="T2").resolved_at == datetime.fromtimestamp(MAY_30 + 60, UTC)  # type: ignore[union-attr]
    _latest_history_matches(store)


def test_unlocking_a_hand_set_status_is_no_reopen(store: Store, conduit: ConduitFake) -> None:
    conduit.add_task("Done on Phabricator", created=MAY_1)
    conduit.set_status(1, "resolved", at=MAY_29)
    record_proposed(store, "inc-b", [FollowUp(title="x", task="T1")], SETTINGS, now=NOW)
    a = store.find_actionable("inc-b", task="T1")
    assert a is not None
    sync_actionables(store, _client(conduit), now=NOW)
    set_fields(store, a.id or 0, now=NOW, status="open")
    set_fields(store, a.id or 0, now=NOW + timedelta(days=1), status="done")  # resolved_at: the hand-set time
    set_fields(store, a.id or 0, now=NOW + timedelta(days=2), unlock=["status"])
    report = sync_actionables(store, _client(conduit), now=NOW + timedelta(days=3))
    assert report.changes == ()  # nothing to say: it was never reopened
    assert store.require_actionable(a.id or 0).resolved_at == datetime.fromtimestamp(MAY_29, UTC)


# --- status words, SLA keys, records: hand-written tables ------------------------------------------


@pytest.mark.parametrize(
    ("text", "state"),
    [("In Progress", "in-progress"), ("in_progress", "in-progress"), ("Won't do", "wont-do"), ("won't-do", "wont-do"),
     (" DONE ", "done"), ("open", "open")],
)  # fmt: skip
def test_our_own_states_in_the_ways_people_write_them(text: str, state: str) -> None:
    assert status_choice(text, {}) == ActionableStatus(state)


def test_instance_statuses_are_named_by_key_or_by_name_in_any_case() -> None:
    statuses = {
        "hold": TaskStatus(value="hold", name="Parked", closed=False),
        "dup": TaskStatus(value="dup", name="Copy", closed=True, special="duplicate"),
    }
    assert status_choice("HOLD", statuses) is ActionableStatus.OPEN  # the key
    assert status_choice("parked", statuses) is ActionableStatus.OPEN  # the name
    assert status_choice("Copy", statuses) is ActionableStatus.WONT_DO  # special: duplicate
    with pytest.raises(InputError, match=r"^unknown status 'later'$") as refused:
        status_choice("later", statuses)
    assert refused.value.hint == "use one of: open, in-progress, done, wont-do, hold, dup"
    with pytest.raises(InputError) as unsynced:
        status_choice("later", {})
    assert unsynced.value.hint == (
        "use one of: open, in-progress, done, wont-do (run `incidentkit actionables sync` to discover the instance's statuses)"
    )


def test_an_unlisted_status_key_is_classified_from_its_name() -> None:
    assert map_task_status("x", {}, closed=True, name="Declined") is ActionableStatus.WONT_DO
    assert map_task_status("x", {}, closed=True) is ActionableStatus.DONE


def test_sla_severity_keys_match_case_insensitively_then_by_number() -> None:
    table = {"Sev-High": 3, "2": 30}
    base = date(2024, 6, 1)
    assert sla_due(table, 90, "sev-high ", base) == date(2024, 6, 4)
    assert sla_due(table, 90, "SEV-2", base) == date(2024, 7, 1)
    assert sla_due(table, 90, "critical", base) == date(2024, 8, 30)


def test_parse_due_names_what_it_could_not_read() -> None:
    with pytest.raises(InputError, match=r"^cannot read the due date 'whenever' as a time$"):
        parse_due("whenever", now=NOW)
    with pytest.raises(InputError, match=r"^cannot read --due 'whenever' as a time$"):
        parse_due("whenever", now=NOW, option="--due")


def test_due_today_is_not_overdue_and_the_record_form() -> None:
    a = Actionable(
        id=7, incident="inc-a", task="T5", title="Alert on lag", owner="alice", status=ActionableStatus.IN_PROGRESS,
        task_status="progress", type=ActionableType.DETECT, priority="high", due=NOW.date(), projects=("SRE",),
        missing=True, created_at=NOW, resolved_at=NOW + timedelta(days=1), locked=("owner",),
    )  # fmt: skip
    assert not a.is_overdue(NOW.date()) and a.is_overdue(NOW.date() + timedelta(days=1))
    assert json.loads(json.dumps(a.to_record(NOW.date()))) == {
        "id": 7, "incident": "inc-a", "task": "T5", "title": "Alert on lag", "owner": "alice", "status": "in-progress",
        "task_status": "progress", "type": "detect", "priority": "high", "due": "2024-06-10", "overdue": False,
        "projects": ["SRE"], "missing": True, "origin": "manual", "created_at": "2024-06-10T12:00:00Z",
        "resolved_at": "2024-06-11T12:00:00Z", "locked": ["owner"],
    }  # fmt: skip
    bare = Actionable(incident="inc-a", title="Idea", created_at=NOW).to_record(NOW.date())
    assert (bare["due"], bare["resolved_at"], bare["task"]) == (None, None, None)


def test_a_sync_change_line_without_a_previous_state() -> None:
    a = Actionable(incident="inc-a", task="T5", title="Alert on lag", status=ActionableStatus.DONE, task_status="resolved", created_at=NOW)
    assert SyncChange(actionable=a, old_status=None, old_task_status=None).line() == "T5 (inc-a): - [?] -> done [resolved] Alert on lag"
