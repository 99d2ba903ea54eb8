"""The store's schema steps and its transactions: apply, refuse a newer file untouched, savepoints."""

from __future__ import annotations

import importlib.abc
import sqlite3
import sys
import types
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


def test_step_registers_the_function_under_its_name_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(migrations, "STEPS", [])
    monkeypatch.setattr(migrations, "_FUNCTIONS", [])

    def m900_first(db: Database) -> None: ...

    def m901_second(db: Database) -> None: ...

    assert migrations.step(m900_first) is m900_first
    assert migrations.step(m901_second) is m901_second
    assert migrations.STEPS == ["m900_first", "m901_second"]
    assert migrations._FUNCTIONS == [m900_first, m901_second]


def _fresh_sqlite_utils(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Forget sqlite-utils (so database() imports it again) and refuse, recording it, any numpy import
    that reaches the import system. Returns the list of refused names."""
    for name in [name for name in sys.modules if name == "sqlite_utils" or name.startswith("sqlite_utils.")]:
        monkeypatch.delitem(sys.modules, name)
    asked: list[str] = []

    class RefuseNumpy(importlib.abc.MetaPathFinder):
        def find_spec(self, name: str, path: object, target: object = None) -> None:
            if name.partition(".")[0] == "numpy":
                asked.append(name)
                raise ImportError(f"no {name} in this test")
            return None

    monkeypatch.setattr(sys, "meta_path", [RefuseNumpy(), *sys.meta_path])
    return asked


def test_database_loads_sqlite_utils_without_importing_numpy(monkeypatch: pytest.MonkeyPatch) -> None:
    asked = _fresh_sqlite_utils(monkeypatch)
    monkeypatch.delitem(sys.modules, "numpy", raising=False)
    db = migrations.database(sqlite3.connect(":memory:"))
    assert asked == []  # sqlite-utils' numpy import failed before reaching the import system
    assert "numpy" not in sys.modules  # and the stand-in that refused it is gone
    assert "sqlite_utils" in sys.modules
    db["t"].insert({"a": 1})
    assert list(db["t"].rows) == [{"a": 1}]


def test_database_leaves_a_numpy_loaded_before_in_place(monkeypatch: pytest.MonkeyPatch) -> None:
    asked = _fresh_sqlite_utils(monkeypatch)
    loaded = types.ModuleType("numpy")  # stands in for a numpy something else imported
    monkeypatch.setitem(sys.modules, "numpy", loaded)
    migrations.database(sqlite3.connect(":memory:"))
    assert sys.modules["numpy"] is loaded
    assert sys.modules["sqlite_utils.db"].np is loaded  # sqlite-utils was given it, not hidden from it
    assert asked == []


def test_the_features_move_into_one_tree_by_key_with_each_documents_list_beside_it(monkeypatch: pytest.MonkeyPatch) -> None:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    before = migrations.STEPS.index("m016_features_by_key")
    monkeypatch.setattr(migrations, "STEPS", migrations.STEPS[:before])
    monkeypatch.setattr(migrations, "_FUNCTIONS", migrations._FUNCTIONS[:before])
    migrations.apply(conn)  # as the step before it left a store
    conn.execute("INSERT INTO incidents (slug, title, created_at, updated_at) VALUES ('a', 'A', 'x', 'x'), ('b', 'B', 'x', 'x'), ('c', 'C', 'x', 'x')")
    conn.execute("INSERT INTO search_documents (id, slug, indexed_at) VALUES (1, 'a', 'x'), (2, 'b', 'x'), (3, 'c', 'x')")
    rows = [(1, "term:wdq", 0.1 + 0.2), (1, "alert:Down", 1.0), (2, "term:wdq", 1 / 3), (2, "title:maps", 1.0)]
    conn.executemany("INSERT INTO search_features (doc, feature, weight) VALUES (?, ?, ?)", rows)
    monkeypatch.undo()
    migrations.apply(conn)
    # by feature, then document: the order candidates are looked up in, weights exactly as they were
    assert conn.execute("SELECT feature, doc, weight FROM search_features").fetchall() == sorted((f, d, w) for d, f, w in rows)
    lists = dict(conn.execute("SELECT doc, features FROM search_compared"))
    assert lists == {1: '["alert:Down","term:wdq"]', 2: '["term:wdq","title:maps"]'}  # none for a document without any
    store = Store(conn)
    assert store.features_of("a") == {"alert:Down": 1.0, "term:wdq": 0.1 + 0.2} and store.features_of("c") == {}
    conn.execute("DELETE FROM incidents WHERE slug = 'a'")  # its document, its list and its features go
    assert conn.execute("SELECT doc, feature FROM search_features").fetchall() == [(2, "term:wdq"), (2, "title:maps")]
    assert dict(conn.execute("SELECT doc, features FROM search_compared")) == {2: lists[2]}
