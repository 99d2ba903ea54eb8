"""The store's schema steps and its transactions: apply, refuse a newer file untouched, savepoints."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlite_utils import Database

from incidentkit.errors import StoreError
from incidentkit.model.incident import IncidentRecord
from incidentkit.store import Store, migrations


def test_a_new_database_gets_every_step_once(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    Store.open(path).close()
    db = Database(path)
    applied = [row["name"] for row in db["_sqlite_migrations"].rows_where(order_by="rowid")]
    assert applied == migrations.STEPS
    assert migrations.pending(db) == [] and migrations.newer_steps(db) == []
    assert {"incidents", "actionables", "status_history", "task_statuses", "scorecard_answers"} <= set(db.table_names())
    Store.open(path).close()  # reopening applies nothing again
    assert Database(path)["_sqlite_migrations"].count == len(migrations.STEPS)


def test_a_database_from_a_newer_incidentkit_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "newer.db"
    Store.open(path).close()
    db = Database(sqlite3.connect(path, isolation_level=None))
    db.execute("PRAGMA journal_mode = DELETE")  # as a newer version might leave it
    db["_sqlite_migrations"].insert(
        {"migration_set": "incidentkit", "name": "m999_from_the_future", "applied_at": "2030-01-01"}
    )
    db.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match="newer incidentkit .*m999_from_the_future"):
        Store.open(path)
    assert path.read_bytes() == before  # not even the journal mode changed
    assert not (tmp_path / "newer.db-wal").exists()


def test_steps_are_append_only_functions_with_stable_names() -> None:
    assert migrations.STEPS == sorted(migrations.STEPS)  # mNNN_ names, appended in order
    assert len(set(migrations.STEPS)) == len(migrations.STEPS)


def test_nested_transactions_are_savepoints(tmp_path: Path) -> None:
    with Store.open(tmp_path / "t.db") as store:
        with store.transaction():
            store.save_incident(IncidentRecord(slug="outer", title="Outer"))
            with pytest.raises(RuntimeError), store.transaction():
                store.save_incident(IncidentRecord(slug="inner", title="Inner"))
                raise RuntimeError("inner failure the caller catches")
            store.save_incident(IncidentRecord(slug="after", title="After"))
        assert sorted(r.slug for r in store.list_incidents()) == ["after", "outer"]


def test_a_failed_outer_transaction_undoes_its_inner_ones(tmp_path: Path) -> None:
    with Store.open(tmp_path / "t.db") as store:
        with pytest.raises(RuntimeError), store.transaction():
            with store.transaction():
                store.save_incident(IncidentRecord(slug="inner", title="Inner"))
            raise RuntimeError("outer failure")
        assert store.list_incidents() == []


def test_the_store_stamps_times_with_its_clock(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    fixed = datetime(2024, 5, 1, 12, 0, 30, tzinfo=UTC)
    with Store.open(tmp_path / "t.db", clock=lambda: fixed) as store:
        record = store.save_incident(IncidentRecord(slug="a", title="A"))
    assert record.created_at == record.updated_at == "2024-05-01T12:00:30Z"
