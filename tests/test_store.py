"""The store: opening, migrating, refusing bad files, and the actionables tables."""

from __future__ import annotations

import os
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
from incidentkit.model.event import Event, EventKind
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
    assert store.db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL: the disk is waited for at checkpoints


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


def test_a_failed_nested_write_is_undone_and_the_outer_one_goes_on(store: Store) -> None:
    one, two = _add(store, task="T1"), _add(store, task="T2")
    with store.transaction():
        store.update_actionable(replace(one, title="kept"))
        with pytest.raises(RuntimeError), store.transaction():
            store.update_actionable(replace(two, title="undone"))
            raise RuntimeError("boom")
    assert [store.require_actionable(a.id or 0).title for a in (one, two)] == ["kept", "Do it"]


def _statements(store: Store) -> list[str]:
    seen: list[str] = []
    store.conn.set_trace_callback(seen.append)
    return seen


def test_a_unit_is_undone_whole_and_its_nested_writes_take_no_savepoints(store: Store) -> None:
    one, two = _add(store, task="T1"), _add(store, task="T2")
    seen = _statements(store)
    with store.transaction():
        store.update_actionable(replace(one, title="kept"))
        with pytest.raises(RuntimeError), store.transaction(unit=True):
            store.update_actionable(replace(one, title="undone"))
            store.update_actionable(replace(two, title="undone too"))
            raise RuntimeError("boom")
    assert [store.require_actionable(a.id or 0).title for a in (one, two)] == ["kept", "Do it"]
    savepoints = [sql for sql in seen if sql.startswith("SAVEPOINT")]
    assert len(savepoints) == 2  # the first update's, and the unit's own: none inside the unit
    seen.clear()
    with store.transaction():  # the unit is over: nested writes are savepoints again
        store.update_actionable(replace(one, title="again"))
    assert len([sql for sql in seen if sql.startswith("SAVEPOINT")]) == 1


def test_a_transaction_inside_one_the_caller_began_is_a_savepoint(store: Store) -> None:
    one, two = _add(store, task="T1"), _add(store, task="T2")
    store.conn.execute("BEGIN")
    store.update_actionable(replace(one, title="kept"))
    with pytest.raises(RuntimeError), store.transaction():
        store.update_actionable(replace(two, title="undone"))
        raise RuntimeError("boom")
    store.conn.execute("COMMIT")
    assert [store.require_actionable(a.id or 0).title for a in (one, two)] == ["kept", "Do it"]


def test_a_unit_on_its_own_is_one_transaction(store: Store) -> None:
    one = _add(store, task="T1")
    seen = _statements(store)
    with store.transaction(unit=True):
        store.update_actionable(replace(one, title="changed"))
    assert [sql for sql in seen if sql.split()[0] in ("BEGIN", "SAVEPOINT", "COMMIT")] == ["BEGIN IMMEDIATE", "COMMIT"]
    assert store.require_actionable(one.id or 0).title == "changed"


def test_a_new_actionable_is_written_without_reading_it_back(store: Store) -> None:
    seen = _statements(store)
    with store.transaction(unit=True):  # as an import stores a page
        _add(store, task="T1")
    assert [sql.split(" (")[0] for sql in seen[1:-1]] == ["INSERT INTO actionables", "INSERT INTO status_history"]


def test_a_new_actionable_is_returned_as_it_reads_back(store: Store) -> None:
    later = NOW.replace(microsecond=250)  # stored as whole seconds
    a = _actionable(task="T5", created_at=later, recorded_at=later, locked=("owner", "due"), projects=("SRE",))
    saved = store.add_actionable(a, _first(a))
    assert saved == store.require_actionable(saved.id or 0)
    assert (saved.created_at, saved.recorded_at, saved.locked) == (NOW, NOW, ("due", "owner"))


def test_saving_an_incident_as_the_caller_just_read_it_reads_nothing(store: Store) -> None:
    sent: list[str] = []
    store.db.conn.set_trace_callback(sent.append)
    new = store.save_incident(IncidentRecord(slug="inc-c", title="C"), stored=None)
    again = store.save_incident(IncidentRecord(slug="inc-c", title="C"), stored=new)  # nothing changes: no write
    renamed = store.save_incident(IncidentRecord(slug="inc-c", title="C2"), stored=again)
    store.db.conn.set_trace_callback(None)
    assert [statement.split()[0] for statement in sent] == ["BEGIN", "INSERT", "COMMIT", "BEGIN", "INSERT", "COMMIT"]
    assert again == new and store.require_incident("inc-c") == renamed
    assert (renamed.title, renamed.created_at) == ("C2", new.created_at)


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


def _record_everything(store: Store, slug: str, n: int) -> None:
    """n rows of *slug* in each table that holds rows of an incident (n + 1 history rows: two statuses)."""
    for i in range(n):
        added = _add(store, incident=slug, task=f"T{100 + i}", title=f"Do {slug} {i}")
        if i == 0:
            done = replace(added, status=ActionableStatus.DONE)
            store.update_actionable(done, [replace(_first(added), new_status=ActionableStatus.DONE)])
    keys = [f"{slug}:{i}" for i in range(n)]
    store.save_scorecard_answers(slug, {f"q{i}": ("yes", "") for i in range(n)}, reviewer=None)
    store.save_events(slug, [Event(time=NOW, source="sal", kind=EventKind.LOG, key=key, text="x") for key in keys])
    store.hide_rows(slug, keys)
    for _ in range(n):
        store.add_manual_row(slug, time=NOW, text="by hand")
    for moment in ("detected", "resolved")[:n]:
        store.set_key_moment(slug, moment, time=NOW)
    store.mark_rows_seen(slug, keys)
    store.save_pages(slug, [PagedPerson(page=str(i), person="alice", team="sre", paged_at=NOW) for i in range(n)])
    for i in range(n):
        store.save_imported_page(f"Incidents/{slug}/{i}", slug, "digest", {})


def test_removing_an_incident_removes_every_row_recorded_about_it_and_only_those(store: Store) -> None:
    _record_everything(store, "inc-a", 2)
    _record_everything(store, "inc-b", 1)
    footprint_a = {
        "incidents": 1, "actionables": 2, "status_history": 3, "scorecard_answers": 2, "timeline_events": 2,
        "timeline_overrides": 2, "timeline_manual_rows": 2, "timeline_moments": 2, "timeline_seen": 2,
        "timeline_drafts": 1, "pages": 2, "imported_pages": 2,
    }  # fmt: skip
    footprint_b = {name: 2 if name == "status_history" else 1 for name in footprint_a}
    assert store.incident_footprint("inc-a") == footprint_a
    assert store.incident_footprint("inc-b") == footprint_b
    assert store.remove_incident("inc-a") == footprint_a
    assert store.get_incident("inc-a") is None and store.incident_footprint("inc-a") == {}
    for table in footprint_a:
        column = "slug" if table == "incidents" else "incident"
        assert store.db[table].count_where(f"{column} = ?", ["inc-a"]) == 0, table
    assert store.incident_footprint("inc-b") == footprint_b
    assert store.db["incident_removals"].count == 0  # the removal's marker goes with it
    with pytest.raises(StoreError, match=r"^unknown incident 'inc-a'$"):
        store.remove_incident("inc-a")


def test_a_publication_is_recorded_on_the_incident_without_locking_it(store: Store) -> None:
    record = store.record_publication(
        "inc-b", wiki="https://wikitech.example", page="Incidents/B", revision=42, page_timestamp="2024-06-10T12:00:00Z"
    )
    assert (record.wiki, record.page, record.revision, record.page_timestamp, record.locked) == (
        "https://wikitech.example", "Incidents/B", 42, "2024-06-10T12:00:00Z", ()
    )  # fmt: skip
    assert store.find_incident_by_page("Incidents/B") == record and store.get_incident("inc-b") == record
    assert store.find_incident_by_page("Incidents/A") is None


class _Clock:
    """A clock the test moves: each read is one minute after the one before."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now


def _saved(store: Store, **values: object) -> tuple[IncidentRecord, bool]:
    """Save the incident with *values* over the base record; returns it and whether it was written."""
    base: dict[str, object] = dict(slug="inc-c", title="C", start="2024-05-01T00:00:00Z", end="2024-05-01T02:00:00Z",
                                   page="Incidents/C", revision=3, metadata={"impact": "some"})  # fmt: skip
    respect = bool(values.pop("respect_locked", False))
    before = store.get_incident("inc-c")
    record = store.save_incident(IncidentRecord(**{**base, **values}), respect_locked=respect)  # type: ignore[arg-type]
    return record, before is None or record.updated_at != before.updated_at


def test_saving_an_incident_writes_only_what_changes_and_keeps_what_is_locked(tmp_path: Path) -> None:
    with Store.open(tmp_path / "ik.db", clock=_Clock()) as store:
        assert _saved(store)[1]
        assert _saved(store) == (store.get_incident("inc-c"), False)  # the same again: nothing written
        record, written = _saved(store, page=None, revision=None)  # a draft that knows no page keeps it
        assert not written and (record.page, record.revision) == ("Incidents/C", 3)
        record, written = _saved(store, page="Incidents/C2")
        assert written and record.page == "Incidents/C2"
        record, written = _saved(store, page="Incidents/C2", end=None)  # None clears a field not kept
        assert written and record.end is None
        same = {"page": "Incidents/C2", "end": None, "metadata": {"impact": "more"}}
        record, written = _saved(store, **same)
        assert written and record.metadata == {"impact": "more"}
        store.set_incident_fields("inc-c", lock=True, title="Set by hand", metadata={"impact": "by hand"})
        record, written = _saved(store, **same, respect_locked=True)  # only locked fields differ
        assert not written and (record.title, record.metadata) == ("Set by hand", {"impact": "by hand"})
        record, written = _saved(store, **same, status="final", respect_locked=True)
        assert written and (record.title, record.status, record.metadata) == ("Set by hand", "final", {"impact": "by hand"})
        assert store.get_incident("inc-c") == record  # returned as written
        record, written = _saved(store, **{**same, "page": None}, status="closed", revision=None, respect_locked=True)
        assert written and (record.status, record.page, record.revision) == ("closed", "Incidents/C2", 3)
        assert store.get_incident("inc-c") == record
        record, written = _saved(store, **same, status="closed")  # without respect_locked: overwritten
        assert written and (record.title, record.metadata) == ("C", {"impact": "more"})
        assert record.locked == ("metadata", "title")
        record, written = _saved(store, **same, status="closed", locked=("start",))  # only a new lock
        assert written and record.locked == ("metadata", "start", "title")
        record = store.save_incident(IncidentRecord(slug="inc-c", title="Again"))  # by default: overwritten
        assert record.title == "Again"


def test_an_incident_keeps_the_origin_it_was_first_recorded_from(store: Store) -> None:
    store.save_incident(IncidentRecord(slug="inc-i", title="Imported", origin="import"))
    record = store.save_incident(IncidentRecord(slug="inc-i", title="Drafted again", origin="draft"))
    assert (record.title, record.origin) == ("Drafted again", "import")


def test_incident_metadata_is_stored_as_one_text_for_the_same_fields(store: Store) -> None:
    for slug, metadata in (("inc-x", {"b": "1", "a": "2"}), ("inc-y", {"a": "2", "b": "1"})):
        store.save_incident(IncidentRecord(slug=slug, title=slug, metadata=metadata))
    saved = store.db.execute("SELECT DISTINCT metadata FROM incidents WHERE slug IN ('inc-x', 'inc-y')").fetchall()
    assert len(saved) == 1
    stored = []
    for metadata in ({"b": "1", "a": "2"}, {"a": "2", "b": "1"}):
        assert store.set_incident_fields("inc-b", metadata=metadata).metadata == {"a": "2", "b": "1"}
        stored.append(store.db.execute("SELECT metadata FROM incidents WHERE slug = 'inc-b'").fetchone()[0])
    assert stored[0] == stored[1]


def test_an_incident_row_without_metadata_or_locks_reads_as_empty(store: Store) -> None:
    store.db.execute("UPDATE incidents SET metadata = NULL, locked = NULL WHERE slug = 'inc-b'")
    record = store.get_incident("inc-b")
    assert record is not None and (record.metadata, record.locked) == ({}, ())


def test_incidents_are_listed_newest_first_then_by_slug(store: Store) -> None:
    for slug, start in (("inc-e", "2024-05-20T00:00:00Z"), ("inc-d", "2024-06-01T00:00:00Z")):
        store.save_incident(IncidentRecord(slug=slug, title=slug, start=start))
    assert [r.slug for r in store.list_incidents()] == ["inc-d", "inc-b", "inc-e", "inc-a"]


def test_open_and_overdue_actionables_by_incident(store: Store) -> None:
    _add(store, task="T1", due=date(2024, 6, 1))  # overdue on 2024-06-10
    _add(store, task="T2", due=date(2024, 6, 10))  # due today: not overdue
    _add(store, task="T3", due=None)
    _add(store, task="T4", due=date(2024, 5, 1), status=ActionableStatus.DONE)
    _add(store, incident="inc-b", task="T5", due=date(2024, 7, 1), status=ActionableStatus.IN_PROGRESS)
    assert store.incident_actionable_counts(date(2024, 6, 10)) == {"inc-a": (3, 1), "inc-b": (1, 0)}


def test_an_unknown_incident_says_how_to_find_the_right_one(store: Store) -> None:
    with pytest.raises(StoreError, match=r"^unknown incident 'nope'$") as refused:
        store.require_incident("nope")
    assert refused.value.hint == (
        "`incidentkit incidents list` lists the incidents in the store; draft or import it first"
    )


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


def test_an_unreadable_actionable_row_names_its_id_and_how_to_fix_it(store: Store) -> None:
    one = _add(store, task="T1")
    store.db.execute("UPDATE actionables SET type = 'weird' WHERE id = ?", [one.id])
    with pytest.raises(StoreError) as caught:
        store.require_actionable(one.id or 0)
    assert caught.value.message.startswith(f"actionable #{one.id} holds a value incidentkit cannot read: ")
    assert caught.value.hint == "fix the row in an SQLite tool, or re-import / re-sync it"


def test_times_read_back_each_from_its_own_column_and_unset_ones_unset(store: Store) -> None:
    later = NOW + timedelta(days=1)
    first = _add(store, task="T1", recorded_at=NOW, updated_at=later, synced_at=later)
    second = _add(store, task="T2", recorded_at=later, updated_at=NOW, synced_at=None)
    assert (first.recorded_at, first.updated_at, first.synced_at) == (NOW, later, later)
    assert (second.recorded_at, second.updated_at, second.synced_at) == (later, NOW, None)


def test_more_filters_of_actionables(store: Store) -> None:
    _add(store, task="T1", title="underscore", projects=("SRE_Tools",))
    _add(store, task="T2", title="parens", projects=("A(B)C",))
    _add(store, task="T3", title="hash", projects=("C#Team",))
    _add(store, task="T4", title="accented", projects=("résilience",))
    _add(store, task="T5", title="percent", projects=("50% rollout",), type=ActionableType.DETECT)
    _add(store, task="T6", title="hundred", projects=("Q100 goals",), type=ActionableType.MITIGATE, missing=True)
    _add(store, task="T7", title="backslash", projects=("ops\\team",), missing=True)
    _add(store, task="T8", title="quoted", projects=('The "quoted" team',), status=ActionableStatus.DONE)
    _add(store, task="T9", title="two", projects=("sre", "tools"), status=ActionableStatus.DONE)
    today = NOW.date()

    def titles(**q: object) -> list[str]:
        return [a.title for a in store.query_actionables(ActionableQuery(**q), today=today)]  # type: ignore[arg-type]

    assert titles(project="sretools") == ["underscore"]
    assert titles(project="abc") == ["parens"]
    assert titles(project="cteam") == ["hash"]
    assert titles(project="Résilience") == ["accented"]  # the name, not its JSON escape; lower-cased by Python
    assert titles(project='"quoted"', statuses=()) == ["quoted"]
    assert titles(project="50%") == ["percent"]  # a literal percent sign
    assert titles(project="100%") == []  # not "100 then anything"
    assert titles(project="ops\\team") == ["backslash"]
    assert titles(project="sretools", statuses=()) == ["underscore"]  # each name on its own, not the list's text
    store.db.execute("UPDATE actionables SET projects = 'not json' WHERE task = 'T9'")  # edited by hand
    assert titles(project="tools", statuses=()) == ["underscore"]
    assert titles(types=(ActionableType.DETECT, ActionableType.MITIGATE)) == ["percent", "hundred"]
    assert titles(missing=True) == ["hundred", "backslash"]
    assert titles(missing=False) == ["underscore", "parens", "hash", "accented", "percent"]
    assert titles(sort="no-such-order") == titles(sort="id") == [
        "underscore", "parens", "hash", "accented", "percent", "hundred", "backslash",
    ]  # fmt: skip


def test_tasks_tracked_and_missing_by_incident(store: Store) -> None:
    _add(store, task="T10", missing=True)
    _add(store, task="T9", missing=True)
    _add(store, task="T11")
    _add(store, incident="inc-b", task="T9", missing=True)
    _add(store, incident="inc-b", task="T12")
    _add(store, title="an idea")
    assert store.missing_tasks() == ["T9", "T10"]  # by number, each once
    assert store.missing_tasks(incident="inc-b") == ["T9"]
    assert sorted(store.tracked_tasks()) == ["T10", "T11", "T12", "T9"]
    assert sorted(store.tracked_tasks(incident="inc-b")) == ["T12", "T9"]
    assert [(a.incident, a.task) for a in store.actionables_for_tasks(["T9", "T12"])] == [
        ("inc-a", "T9"), ("inc-b", "T9"), ("inc-b", "T12"),
    ]  # fmt: skip
    assert [(a.incident, a.task) for a in store.actionables_for_tasks(["T9", "T11"], incident="inc-a")] == [
        ("inc-a", "T9"), ("inc-a", "T11"),
    ]  # fmt: skip


def test_tracking_twice_says_what_and_where(store: Store) -> None:
    _add(store, task="T1")
    _add(store, title="An idea")
    hint = "`incidentkit actionables list --incident SLUG --status all` shows it"
    with pytest.raises(StoreError) as by_task:
        _add(store, task="T1", title="Other title")
    with pytest.raises(StoreError) as by_title:
        _add(store, title="An idea")
    assert by_task.value.message.startswith("T1 is already tracked for incident inc-a (")
    assert by_title.value.message.startswith("'An idea' is already tracked for incident inc-a (")
    assert by_task.value.hint == by_title.value.hint == hint


def test_ids_out_of_sqlite_range_are_unknown(store: Store) -> None:
    one = _add(store, task="T1")
    assert [store.get_actionable(i) for i in (0, -1, 2**63, 2**64)] == [None] * 4
    assert store.get_actionable(one.id or 0) == one
    when = "2024-06-10T12:00:00Z"
    store.db.conn.execute(  # the largest id SQLite gives
        "INSERT INTO actionables (id, incident, title, created_at, recorded_at, updated_at) VALUES (?, 'inc-a', 'Far', ?, ?, ?)",
        [2**63 - 1, when, when, when],
    )
    assert store.require_actionable(2**63 - 1).title == "Far"
    with pytest.raises(StoreError) as caught:
        store.require_actionable(2**63)
    assert caught.value.message == f"unknown actionable #{2**63}"
    assert caught.value.hint == "`incidentkit actionables list --status all` shows the ids"


def test_updates_refuse_an_unsaved_actionable_and_a_clash_with_a_hint(store: Store) -> None:
    one, two = _add(store, task="T1"), _add(store, task="T2")
    with pytest.raises(StoreError) as unsaved:
        store.update_actionables([(_actionable(task="T3"), None)])
    assert unsaved.value.message == "cannot update an actionable that was never saved"
    with pytest.raises(StoreError) as clash:
        store.update_actionable(replace(two, task="T1"))
    assert clash.value.message.startswith("cannot update actionables: UNIQUE constraint failed")
    assert clash.value.hint == "another actionable already has that task"
    assert store.require_actionable(two.id or 0).task == "T2" and one.task == "T1"


def test_the_status_history_reads_back_every_field(store: Store) -> None:
    one = _add(store, task="T1")
    change = StatusChange(
        actionable_id=one.id, incident="inc-a", task="T1", old_status=ActionableStatus.OPEN,
        new_status=ActionableStatus.DONE, old_task_status="open", new_task_status="resolved",
        changed_at=datetime(2024, 6, 9, 8, 0, tzinfo=UTC), changed_at_from="task-closed",
        observed_at=datetime(2024, 6, 10, 9, 30, tzinfo=UTC), source="sync", note="closed upstream",
    )  # fmt: skip
    store.update_actionable(replace(one, status=ActionableStatus.DONE), [change])
    other = _add(store, incident="inc-b", task="T7")
    history = store.status_history(one.id)
    assert len(history) == 2 and history[0].new_status is ActionableStatus.OPEN
    assert history[1] == replace(change, id=history[1].id)
    assert history[1].id is not None and history[1].id > (history[0].id or 0)
    assert [(c.actionable_id, c.incident, c.task) for c in store.status_history()] == [
        (one.id, "inc-a", "T1"), (one.id, "inc-a", "T1"), (other.id, "inc-b", "T7"),
    ]  # fmt: skip


def test_figures_of_actionables_filter_by_incident_and_overdue(store: Store) -> None:
    _add(store, task="T1", owner="alice", due=date(2024, 6, 1), created_at=datetime(2024, 6, 7, 12, tzinfo=UTC))
    _add(store, task="T2", owner="alice", due=date(2024, 7, 1), created_at=NOW)
    _add(store, task="T3", status=ActionableStatus.DONE, created_at=datetime(2024, 5, 1, tzinfo=UTC),
         resolved_at=datetime(2024, 5, 3, tzinfo=UTC))  # fmt: skip
    _add(store, incident="inc-b", task="T4", status=ActionableStatus.DONE, created_at=datetime(2024, 4, 1, tzinfo=UTC),
         resolved_at=datetime(2024, 6, 1, tzinfo=UTC))  # fmt: skip
    today = NOW.date()
    inc_a, overdue = ActionableQuery(incident="inc-a", statuses=()), ActionableQuery(overdue=True)
    assert store.actionable_months(inc_a) == ({"2024-05": 1, "2024-06": 2}, {"2024-05": 1})
    assert store.days_to_close(inc_a) == [2.0]
    assert sorted(store.open_ages(ActionableQuery(), today=today)) == [0.0, 3.0]
    assert store.open_ages(overdue, today=today) == [3.0]
    assert store.open_by_owner(overdue, today=today) == [("alice", 1, 1)]
    assert store.actionable_counts(overdue, today=today, month_start="2024-06-01T00:00:00Z") == (1, 1, 0)
    # the history figures read overdue as of the first day there is: nothing was due before it
    assert store.actionable_months(overdue) == ({}, {}) and store.days_to_close(overdue) == []


def test_a_read_only_store_skips_maintenance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "ik.db"
    Store.open(path).close()
    real = os.access
    monkeypatch.setattr("incidentkit.store._base.os.access", lambda p, mode: False if mode == os.W_OK else real(p, mode))
    with Store.open(path) as store:
        assert store.readonly is True and store.optimize() is False
