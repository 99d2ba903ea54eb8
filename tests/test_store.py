"""The store: opening, migrating, refusing bad files, and the actionables tables."""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from incidentkit.errors import StoreError
from incidentkit.model.actionable import (
    Actionable,
    ActionableQuery,
    ActionableStatus,
    ActionableType,
    StatusChange,
    TaskStatus,
)
from incidentkit.model.incident import IncidentRecord
from incidentkit.model.people import PagedPerson
from incidentkit.model.scorecard import Answer
from incidentkit.store import Store

NOW = datetime(2024, 6, 10, 12, 0, tzinfo=UTC)
SCHEMA_DOC = Path(__file__).resolve().parent.parent / "docs" / "schema.md"


@pytest.fixture
def store(store: Store) -> Store:
    store.save_incident(IncidentRecord(slug="inc-a", title="A", start="2024-05-01T00:00:00Z", severity="1"))
    store.save_incident(IncidentRecord(slug="inc-b", title="B", start="2024-05-20T00:00:00Z"))
    return store


def _actionable(**values: object) -> Actionable:
    base = dict(incident="inc-a", title="Do it", created_at=NOW, recorded_at=NOW, updated_at=NOW)
    base.update(values)
    return Actionable(**base)  # type: ignore[arg-type]


def _first(a: Actionable) -> StatusChange:
    return StatusChange(
        incident=a.incident, task=a.task, new_status=a.status, new_task_status=a.task_status,
        changed_at=NOW, changed_at_from="observed", observed_at=NOW, source="manual",
    )


def _add(store: Store, **values: object) -> Actionable:
    a = _actionable(**values)
    return store.add_actionable(a, _first(a))


def test_fresh_database_has_the_actionables_schema(store: Store) -> None:
    assert store.db["actionables"].columns_dict == {
        "id": int, "incident": str, "task": str, "task_phid": str, "title": str, "owner": str, "owner_phid": str,
        "status": str, "task_status": str, "priority": str, "priority_value": int, "type": str, "due": str,
        "projects": str, "project_phids": str, "missing": int, "origin": str, "raw_text": str, "locked": str,
        "created_at": str, "resolved_at": str, "recorded_at": str, "updated_at": str, "synced_at": str,
        "task_modified_at": str,
    }
    assert set(store.db["status_history"].columns_dict) == {
        "id", "actionable_id", "incident", "task", "old_status", "new_status", "old_task_status", "new_task_status",
        "changed_at", "changed_at_from", "observed_at", "source", "note",
    }
    assert set(store.db["task_statuses"].columns_dict) == {"value", "name", "closed", "special", "state", "fetched_at"}
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_every_table_and_column_is_documented(store: Store) -> None:
    doc = SCHEMA_DOC.read_text(encoding="utf-8")
    for table in store.db.table_names():
        if table.startswith(("_sqlite", "sqlite_")) or table.endswith(("_fts", "_fts_config", "_fts_data", "_fts_idx", "_fts_docsize")):
            continue
        heading = re.search(rf"^### `{re.escape(table)}`$", doc, re.MULTILINE)
        assert heading, f"table {table} is not documented in docs/schema.md"
        section = doc[heading.end() :].split("\n### ", 1)[0]
        for column in store.db[table].columns_dict:
            assert f"| `{column}` |" in section, f"column {table}.{column} is not documented"


def test_reopening_does_not_migrate_twice(tmp_path: Path) -> None:
    path = tmp_path / "ik.db"
    Store.open(path).close()
    with Store.open(path) as again:
        names = [r[0] for r in again.db.execute("SELECT name FROM _sqlite_migrations ORDER BY id")]
    assert len(names) == len(set(names)) and "m002_actionables" in names


def test_a_newer_schema_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "ik.db"
    with Store.open(path) as first:
        first.db.execute(
            "INSERT INTO _sqlite_migrations (migration_set, name, applied_at) VALUES ('incidentkit', 'm999_future', 'x')"
        )
        count = first.db.execute("SELECT count(*) FROM _sqlite_migrations").fetchone()[0]
    with pytest.raises(StoreError) as caught:
        Store.open(path)
    assert "newer incidentkit" in caught.value.message and "\n" not in caught.value.message
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM _sqlite_migrations").fetchone()[0] == count


def test_a_corrupt_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ik.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError) as caught:
        Store.open(path)
    assert "is not an incidentkit database" in caught.value.message and "move this one away" in (caught.value.hint or "")
    assert path.read_bytes() == b"this is not sqlite" * 100


def test_actionable_round_trip(store: Store) -> None:
    a = _actionable(
        task="T12", task_phid="PHID-TASK-x", owner="alice", owner_phid="PHID-USER-a", status=ActionableStatus.IN_PROGRESS,
        task_status="stalled", priority="High", priority_value=80, type=ActionableType.PREVENT, due=date(2024, 7, 1),
        projects=("SRE",), project_phids=("PHID-PROJ-1",), missing=True, raw_text="* {{Phabricator|T12}}",
        locked=("owner",), resolved_at=None, synced_at=NOW, task_modified_at=NOW,
    )
    saved = store.add_actionable(a, _first(a))
    assert saved.id is not None
    assert saved == replace(a, id=saved.id)
    assert [c.new_status for c in store.status_history(saved.id)] == [ActionableStatus.IN_PROGRESS]


def test_the_same_task_or_idea_cannot_be_tracked_twice(store: Store) -> None:
    _add(store, task="T1")
    _add(store, title="An idea")
    with pytest.raises(StoreError, match="already tracked"):
        _add(store, task="T1", title="Other title")
    with pytest.raises(StoreError, match="already tracked"):
        _add(store, title="An idea")
    _add(store, incident="inc-b", task="T1")  # another incident may track the same task
    _add(store, task="T2", title="An idea")  # a task may share an idea's title
    assert len(store.query_actionables(ActionableQuery(statuses=()), today=NOW.date())) == 4


def test_status_history_is_append_only(store: Store) -> None:
    _add(store, task="T1")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        store.db.execute("UPDATE status_history SET new_status = 'done'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        store.db.execute("DELETE FROM status_history")


def test_a_failed_batch_update_writes_nothing(store: Store) -> None:
    one, two = _add(store, task="T1"), _add(store, task="T2")
    changed = replace(one, status=ActionableStatus.DONE)
    change = replace(_first(changed), actionable_id=one.id, old_status=ActionableStatus.OPEN)
    clash = replace(two, task="T1")  # violates (incident, task) uniqueness
    with pytest.raises(StoreError):
        store.update_actionables([(changed, change), (clash, None)])
    assert store.require_actionable(one.id or 0).status is ActionableStatus.OPEN
    assert len(store.status_history(one.id)) == 1


def test_transaction_rolls_back_on_error(store: Store) -> None:
    one = _add(store, task="T1")
    with pytest.raises(RuntimeError), store.transaction():
        store.update_actionable(replace(one, title="changed"))
        raise RuntimeError("boom")
    assert store.require_actionable(one.id or 0).title == "Do it"


def test_unknown_actionable_is_a_one_line_error(store: Store) -> None:
    with pytest.raises(StoreError, match=r"unknown actionable #99"):
        store.require_actionable(99)


def test_a_bad_value_in_the_table_is_a_store_error(store: Store) -> None:
    one = _add(store, task="T1")
    store.db.execute("UPDATE actionables SET status = 'weird' WHERE id = ?", [one.id])
    with pytest.raises(StoreError, match="cannot read"):
        store.require_actionable(one.id or 0)


def test_query_filters_and_order(store: Store) -> None:
    _add(store, task="T3", title="late", owner="alice", due=date(2024, 6, 1), type=ActionableType.DETECT,
         projects=("SRE-OnFIRE (Pending Review & Scorecard)",))
    _add(store, task="T1", title="soon", owner="Bob", due=date(2024, 6, 20),
         projects=("Sustainability (Incident Followup)",))
    _add(store, title="idea", due=None)
    _add(store, incident="inc-b", task="T2", title="closed", owner="alice", status=ActionableStatus.DONE, due=date(2024, 5, 1),
         resolved_at=datetime(2024, 6, 2, tzinfo=UTC))
    today = NOW.date()

    def titles(**q: object) -> list[str]:
        return [a.title for a in store.query_actionables(ActionableQuery(**q), today=today)]  # type: ignore[arg-type]

    assert titles() == ["late", "soon", "idea"]  # open ones, by due date, undated last
    assert titles(statuses=()) == ["closed", "late", "soon", "idea"]
    assert titles(owner="bob") == ["soon"]
    assert titles(owner="none") == ["idea"]
    assert titles(overdue=True) == ["late"]
    assert titles(due_before=date(2024, 6, 15), statuses=()) == ["closed", "late"]
    assert titles(project="sre-onfire") == ["late"]
    assert titles(project="sustainability_incident_followup") == ["soon"]
    assert titles(project="100%") == []
    assert titles(types=(ActionableType.DETECT,)) == ["late"]
    assert titles(incident="inc-b", statuses=()) == ["closed"]
    assert titles(sort="task", statuses=()) == ["soon", "closed", "late", "idea"]
    assert titles(sort="owner") == ["late", "soon", "idea"]
    assert titles(limit=1) == ["late"]
    assert store.actionable_counts(ActionableQuery(statuses=()), today=today, month_start="2024-06-01T00:00:00Z") == (3, 1, 1)


def test_task_statuses_cache_is_replaced(store: Store) -> None:
    assert store.task_statuses() == [] and store.task_statuses_fetched_at() is None
    store.save_task_statuses([TaskStatus(value="open", name="Open", closed=False, special="default")], fetched_at=NOW)
    store.save_task_statuses(
        [TaskStatus(value="open", name="Open", closed=False), TaskStatus(value="resolved", name="Resolved", closed=True)],
        fetched_at=NOW,
    )
    assert [s.value for s in store.task_statuses()] == ["open", "resolved"]
    assert store.task_statuses_fetched_at() == NOW
    assert store.db.execute("SELECT state FROM task_statuses WHERE value = 'resolved'").fetchone()[0] == "done"


class _Writer(threading.Thread):
    """Another connection that takes the write lock, writes, holds it for *hold* seconds, commits."""

    def __init__(self, path: Path, hold: float) -> None:
        super().__init__()
        self.path, self.hold = path, hold
        self.locked = threading.Event()

    def run(self) -> None:
        conn = sqlite3.connect(str(self.path), isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("UPDATE incidents SET title = title || '!'")
            self.locked.set()
            time.sleep(self.hold)
            conn.execute("COMMIT")
        finally:
            conn.close()


def test_maintenance_waits_for_a_writer_and_never_fails(tmp_path: Path) -> None:
    path = tmp_path / "busy.db"
    with Store.open(path) as store:
        store.save_incident(IncidentRecord(slug="inc-a", title="A", start="2024-05-01T00:00:00Z"))
        _add(store, task="T1")
        store.query_actionables(ActionableQuery(), today=NOW.date())  # gives PRAGMA optimize work to do
        writer = _Writer(path, hold=0.3)
        writer.start()
        assert writer.locked.wait(5)
        begin = time.monotonic()
        assert store.optimize() is True  # waited for the writer's commit instead of failing
        assert time.monotonic() - begin >= 0.2
        writer.join()
        assert not store.db.conn.in_transaction
        assert [r.title for r in store.list_incidents()] == ["A!"]


def test_maintenance_gives_up_quietly_past_the_busy_timeout(tmp_path: Path) -> None:
    path = tmp_path / "busy.db"
    with Store.open(path) as store:
        store.db.execute("PRAGMA busy_timeout = 100")
        writer = _Writer(path, hold=1.0)
        writer.start()
        assert writer.locked.wait(5)
        assert store.optimize() is False
        assert not store.db.conn.in_transaction
        writer.join()
        store.save_incident(IncidentRecord(slug="after", title="A", start="2024-05-01T00:00:00Z"))
        assert store.optimize() is True


def test_the_statuses_cache_keeps_each_status_whole() -> None:
    with Store.open(None) as store:
        statuses = [TaskStatus(value="open", name="Open", closed=False, special="default"),
                    TaskStatus(value="dup", name="Duplicate", closed=True, special="duplicate")]  # fmt: skip
        store.save_task_statuses(statuses, fetched_at=NOW)
        assert store.task_statuses() == statuses


def test_pages_read_back_as_they_were_saved_in_time_order(store: Store) -> None:
    berlin = datetime(2024, 5, 1, 20, 5, tzinfo=timezone(timedelta(hours=2)))
    pages = [
        PagedPerson(page="2", person="bob", team="dba", paged_at=datetime(2024, 5, 1, 18, 5, tzinfo=UTC), in_hours=False,
                    local_time=berlin, hours="Europe/Berlin Mon-Fri 09:00-17:00", manual=True),
        PagedPerson(page="1", person="", team="sre", paged_at=datetime(2024, 5, 1, 18, 0, tzinfo=UTC)),
        PagedPerson(page="1", person="alice", team="sre", paged_at=datetime(2024, 5, 1, 18, 0, tzinfo=UTC), in_hours=True),
    ]  # fmt: skip
    store.save_pages("inc-a", pages)
    assert store.get_pages("inc-a") == [pages[1], pages[2], pages[0]]


def test_scorecard_answers_refuse_bad_input_and_keep_a_revision_only_for_imports(store: Store) -> None:
    with pytest.raises(StoreError, match=r"^unknown scorecard answer source 'wiki'$") as source:
        store.save_scorecard_answers("inc-a", {}, reviewer=None, source="wiki")
    assert source.value.hint == "use local or import"
    with pytest.raises(StoreError, match=r"^bad scorecard answer 'maybe' for few_paged$") as answer:
        store.save_scorecard_answers("inc-a", {"few_paged": ("maybe", "")}, reviewer=None)
    assert answer.value.hint == "answers are yes, no or empty"
    store.save_scorecard_answers("inc-a", {"z_last": ("yes", ""), "a_first": ("no", "n")}, reviewer="me", revision=7)
    stored = store.get_scorecard_answers("inc-a")
    assert list(stored) == ["a_first", "z_last"] and stored["a_first"].revision is None
    store.save_scorecard_answers("inc-b", {"a_first": ("no", "")}, reviewer=None, source="import", revision=7)
    assert store.get_scorecard_answers("inc-b")["a_first"].revision == 7


def test_scorecard_notes_read_back_trimmed_and_an_absent_note_as_empty(store: Store) -> None:
    store.save_scorecard_answers(
        "inc-a", {"blank": ("yes", ""), "missing": (None, None), "spaced": ("no", "  why  ")}, reviewer="me"
    )
    stored = store.get_scorecard_answers("inc-a")
    assert {key: (answer.answer, answer.note) for key, answer in stored.items()} == {
        "blank": (Answer.YES, ""),
        "missing": (None, ""),
        "spaced": (Answer.NO, "why"),
    }
    assert [(answer.key, answer.note) for answer in store.list_scorecard_answers()] == [
        ("blank", ""), ("missing", ""), ("spaced", "why")
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "expected"),
    [(None, ()), ("", ()), ("[]", ()), ('["T1", "T22"]', ("T1", "T22")), ('["only"]', ("only",))],
    ids=["null", "empty", "empty-list", "two", "one"],
)
def test_stored_json_lists_read_back_as_tuples(text: str | None, expected: tuple[str, ...]) -> None:
    from incidentkit.store._base import json_tuple

    assert json_tuple(text) == expected


def test_stored_times_read_back_as_aware_utc() -> None:
    from incidentkit.store._base import utc_or_none

    assert utc_or_none(None) is None and utc_or_none("") is None
    assert utc_or_none("2024-05-01T12:00:30Z") == datetime(2024, 5, 1, 12, 0, 30, tzinfo=UTC)


def test_the_default_clock_is_the_aware_utc_now() -> None:
    with Store.open(None) as store:
        before = datetime.now(UTC)
        now = store.clock()
        after = datetime.now(UTC)
    assert now.utcoffset() == timedelta(0)
    assert before <= now <= after
