"""What each SQLite failure becomes (incidentkit.store._base.store_error): message and hint by
SQLite's error name, for a database file and one in memory. Texts written out by hand."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from incidentkit.store._base import is_busy, store_error

PATH = Path("/srv/ik.db")
READ_ONLY_HINT = (
    "read commands still work on it; to change it, make the file and its folder writable, "
    "or point --db / [store] path at a writable copy"
)


def failure(name: str | None, text: str = "boom") -> sqlite3.OperationalError:
    error = sqlite3.OperationalError(text)
    if name is not None:
        error.sqlite_errorname = name  # type: ignore[attr-defined]
    return error


@pytest.mark.parametrize(
    ("name", "message", "hint"),
    [
        ("SQLITE_FULL", "cannot write the database '/srv/ik.db': the disk is full",
         "free some space on its disk and run the command again; the unfinished change was rolled back"),
        ("SQLITE_IOERR_WRITE", "cannot write the database '/srv/ik.db': the disk refused it (boom)",
         "the disk may be full, over a quota or a file size limit, or failing; fix that and run the command again "
         "(the unfinished change was rolled back)"),
        ("SQLITE_READONLY_DBMOVED", "cannot write the database '/srv/ik.db': it is read-only", READ_ONLY_HINT),
        ("SQLITE_BUSY", "cannot write the database '/srv/ik.db': another program holds its lock",
         "another incidentkit (or sqlite3) is writing to it; run the command again when it is done"),
        ("SQLITE_LOCKED_SHAREDCACHE", "cannot write the database '/srv/ik.db': another program holds its lock",
         "another incidentkit (or sqlite3) is writing to it; run the command again when it is done"),
        ("SQLITE_NOTADB", "cannot write the database '/srv/ik.db': it is not an incidentkit database, or it is "
         "damaged (boom)", "point --db / [store] path at the right file; or move this one away: `incidentkit import` "
         "and `incidentkit actionables sync` rebuild the index in a new file"),
        ("SQLITE_CORRUPT_INDEX", "cannot write the database '/srv/ik.db': it is not an incidentkit database, or it is "
         "damaged (boom)", "point --db / [store] path at the right file; or move this one away: `incidentkit import` "
         "and `incidentkit actionables sync` rebuild the index in a new file"),
        ("SQLITE_CANTOPEN", "cannot open the database '/srv/ik.db'",
         "check that its folder exists and that you may read (and to change it, write) there"),
        ("SQLITE_ERROR", "cannot write the database '/srv/ik.db': boom", "run the command again with --debug and report it"),
        (None, "cannot write the database '/srv/ik.db': boom", "run the command again with --debug and report it"),
        ("sqlite_full", "cannot write the database '/srv/ik.db': boom", "run the command again with --debug and report it"),
    ],
)  # fmt: skip
def test_each_sqlite_failure_has_its_message_and_hint(name: str | None, message: str, hint: str) -> None:
    error = store_error(failure(name), PATH)
    assert (error.message, error.hint) == (message, hint)


def test_the_work_and_a_database_in_memory_are_named() -> None:
    assert store_error(failure("SQLITE_FULL"), None, "maintain").message == (
        "cannot maintain the database (in memory): the disk is full"
    )
    assert store_error(failure("SQLITE_READONLY"), PATH, "save").message == "cannot save the database '/srv/ik.db': it is read-only"
    assert store_error(failure("SQLITE_READONLY"), PATH, "save").hint == READ_ONLY_HINT


@pytest.mark.parametrize(
    ("name", "busy"),
    [("SQLITE_BUSY", True), ("SQLITE_BUSY_SNAPSHOT", True), ("SQLITE_LOCKED", True), ("SQLITE_LOCKED_VTAB", True),
     ("SQLITE_FULL", False), ("sqlite_busy", False), (None, False)],
)  # fmt: skip
def test_is_busy_by_sqlite_error_name(name: str | None, busy: bool) -> None:
    assert is_busy(failure(name)) is busy
    assert is_busy(None) is False


# --- a database incidentkit may not write, in this process (os.access says so) ---------------------


def _not_writable(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    real = os.access
    monkeypatch.setattr("incidentkit.store._base.os.access", lambda p, mode: False if mode == os.W_OK else real(p, mode))


def test_a_file_that_may_not_be_written_is_opened_read_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from incidentkit.errors import StoreError
    from incidentkit.model.incident import IncidentRecord
    from incidentkit.store import Store

    path = tmp_path / "ik.db"
    with Store.open(path) as store:
        store.save_incident(IncidentRecord(slug="inc-a", title="A", start="2024-05-01T00:00:00Z"))
    _not_writable(monkeypatch)
    with Store.open(path, busy_timeout=0.25) as store:
        assert store.readonly is True
        assert [r.slug for r in store.list_incidents()] == ["inc-a"]
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            store.db.execute("DELETE FROM incidents")  # SQLite itself refuses: the connection is read-only
        with pytest.raises(StoreError) as refused:
            store.save_incident(IncidentRecord(slug="inc-b", title="B", start="2024-05-02T00:00:00Z"))
        assert refused.value.message == f"cannot write the database {str(path)!r}: it is read-only"
        assert refused.value.hint == READ_ONLY_HINT


def test_a_read_only_database_of_an_older_incidentkit_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from incidentkit.errors import StoreError
    from incidentkit.store import Store

    path = tmp_path / "ik.db"
    Store.open(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("DELETE FROM _sqlite_migrations WHERE name = (SELECT max(name) FROM _sqlite_migrations)")
    _not_writable(monkeypatch)
    with pytest.raises(StoreError) as refused:
        Store.open(path)
    assert refused.value.message == f"the database {str(path)!r} is read-only and was written by an older incidentkit"
    assert refused.value.hint == "make it writable once so that incidentkit can upgrade it, or point --db at a writable copy"


@pytest.mark.parametrize(
    ("name", "read_only"),
    [("SQLITE_READONLY", True), ("SQLITE_READONLY_DIRECTORY", True), ("SQLITE_CANTOPEN", True),
     ("SQLITE_CANTOPEN_ISDIR", True), ("SQLITE_BUSY", False), ("SQLITE_IOERR", False), ("sqlite_readonly", False),
     ("sqlite_cantopen", False), (None, False)],
)  # fmt: skip
def test_a_read_only_refusal_by_sqlite_error_name(name: str | None, read_only: bool) -> None:
    from incidentkit.store._base import _read_only_error

    assert _read_only_error(failure(name)) is read_only


def _filled_store(path: Path) -> None:
    from incidentkit.model.incident import IncidentRecord
    from incidentkit.store import Store

    with Store.open(path) as store:
        store.save_incident(IncidentRecord(slug="inc-a", title="A", start="2024-05-01T00:00:00Z"))


def test_a_read_only_database_without_its_shared_memory_file_is_read_immutable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from incidentkit.store import Store

    path = tmp_path / "ik.db"
    _filled_store(path)
    # a WAL file and a shared-memory file that cannot be created (as in a folder we may not write):
    # SQLite cannot open it read-only, only as immutable
    (tmp_path / "ik.db-wal").write_bytes(b"")
    (tmp_path / "ik.db-shm").symlink_to(tmp_path / "missing" / "shm")
    with pytest.raises(sqlite3.OperationalError, match="unable to open"):
        sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True).execute("SELECT 1 FROM incidents")
    _not_writable(monkeypatch)
    with Store.open(path, busy_timeout=0.25) as store:
        assert store.readonly is True
        assert [r.slug for r in store.list_incidents()] == ["inc-a"]


def test_a_read_only_database_of_a_newer_incidentkit_is_refused_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from incidentkit.errors import StoreError
    from incidentkit.store import Store

    path = tmp_path / "ik.db"
    _filled_store(path)
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO _sqlite_migrations (migration_set, name, applied_at) VALUES ('incidentkit', 'm999_future', '2030')"
        )
    _not_writable(monkeypatch)
    with pytest.raises(StoreError) as refused:
        Store.open(path)
    assert refused.value.message == (
        f"the database {str(path)!r} was written by a newer incidentkit (schema step m999_future); it was left untouched"
    )


def test_a_read_only_database_locked_by_another_program_waits_only_the_busy_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    from incidentkit.errors import StoreError
    from incidentkit.store import Store

    path = tmp_path / "ik.db"
    _filled_store(path)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA locking_mode = EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        _not_writable(monkeypatch)
        started = time.monotonic()
        with pytest.raises(StoreError) as refused:
            Store.open(path, busy_timeout=0.25)
        waited = time.monotonic() - started
    finally:
        holder.close()
    assert refused.value.message == f"cannot open the database {str(path)!r}: another program holds its lock"
    assert waited < 3  # not sqlite3's default of 5 s


# --- opening: what each refusal says, the connection it sets up ---------------------------------------

NEWER_HINT = "upgrade incidentkit, or point --db / [store] path / INCIDENTKIT_HOME at another database"


def test_a_writable_database_of_a_newer_incidentkit_is_refused_by_name(tmp_path: Path) -> None:
    from incidentkit.errors import StoreError
    from incidentkit.store import Store

    path = tmp_path / "ik.db"
    _filled_store(path)
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO _sqlite_migrations (migration_set, name, applied_at) VALUES ('incidentkit', 'm999_future', '2030')"
        )
    conn.close()
    with pytest.raises(StoreError) as refused:
        Store.open(path)
    assert refused.value.message == (
        f"the database {str(path)!r} was written by a newer incidentkit (schema step m999_future); it was left untouched"
    )
    assert refused.value.hint == NEWER_HINT


def test_another_programs_database_is_refused_by_name(tmp_path: Path) -> None:
    from incidentkit.errors import StoreError
    from incidentkit.store import Store

    path = tmp_path / "photos.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE photos (id INTEGER PRIMARY KEY)")
    conn.close()
    with pytest.raises(StoreError) as refused:
        Store.open(path)
    assert refused.value.message == (
        f"{str(path)!r} is an SQLite database of another program (it holds no incidentkit schema); it was left untouched"
    )
    assert refused.value.hint == "point --db / [store] path at an incidentkit database, or at a new file"


def test_a_path_with_a_nul_character_is_refused(tmp_path: Path) -> None:
    from incidentkit.errors import StoreError
    from incidentkit.store import Store

    path = f"{tmp_path}/ik\x00.db"
    with pytest.raises(StoreError) as refused:
        Store.open(path)
    assert refused.value.message == f"the database path {path!r} holds a NUL character"
    assert refused.value.hint == "check --db / [store] path"


def test_a_missing_database_is_not_created_for_reading(tmp_path: Path) -> None:
    from incidentkit.errors import StoreError
    from incidentkit.store import Store

    with pytest.raises(StoreError) as refused:
        Store.open(tmp_path / "none.db", create=False)
    assert refused.value.message == f"there is no database at {str(tmp_path / 'none.db')!r}"
    assert refused.value.hint == (
        "commands that record incidents create it: `incidentkit draft` or `incidentkit import`; "
        "check --db, [store] path and INCIDENTKIT_HOME if it should exist"
    )
    assert not (tmp_path / "none.db").exists()


def test_a_folder_that_cannot_be_made_is_an_error_naming_the_path(tmp_path: Path) -> None:
    from incidentkit.errors import StoreError
    from incidentkit.store import Store

    (tmp_path / "plain").write_text("a file, not a folder")
    path = tmp_path / "plain" / "ik.db"
    with pytest.raises(StoreError) as refused:
        Store.open(path)
    assert refused.value.message == f"cannot open the database {str(path)!r}: File exists"
    assert refused.value.hint == "check --db / [store] path: its folder must exist or be creatable"


def test_the_folders_of_a_new_database_are_made(tmp_path: Path) -> None:
    from incidentkit.store import Store

    path = tmp_path / "a" / "b" / "ik.db"
    with Store.open(path) as store:
        assert not store.readonly and path.is_file()


@pytest.mark.parametrize(("busy_timeout", "milliseconds"), [(None, 10_000), (0.25, 250)], ids=["default", "given"])
def test_the_busy_timeout_is_set_on_the_connection(tmp_path: Path, busy_timeout: float | None, milliseconds: int) -> None:
    from incidentkit.store import Store

    with Store.open(tmp_path / "ik.db", busy_timeout=busy_timeout) as store:
        assert store.conn.execute("PRAGMA busy_timeout").fetchone()[0] == milliseconds
        assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert store.conn.execute("PRAGMA recursive_triggers").fetchone()[0] == 1


def test_a_database_in_memory_keeps_its_clock_and_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import UTC, datetime

    from incidentkit.store import Store

    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    with Store.open(None, clock=lambda: datetime(2024, 5, 1, 12, 30, tzinfo=UTC)) as store:
        assert store.now_text() == "2024-05-01T12:30:00Z"
        assert store.path is None and not store.readonly
        assert store.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert store.conn.execute("PRAGMA recursive_triggers").fetchone()[0] == 1
    assert list((tmp_path / "cwd").iterdir()) == []  # not a file named ":memory:"


def test_a_writable_file_whose_shared_memory_file_cannot_be_made_is_read_immutable(tmp_path: Path) -> None:
    from incidentkit.store import Store

    path = tmp_path / "ik.db"
    _filled_store(path)
    # os.access says the file may be written, but SQLite cannot make the WAL's shared-memory file
    (tmp_path / "ik.db-wal").write_bytes(b"")
    (tmp_path / "ik.db-shm").symlink_to(tmp_path / "missing" / "shm")
    with Store.open(path, busy_timeout=0.25) as store:
        assert store.readonly is True
        assert [r.slug for r in store.list_incidents()] == ["inc-a"]


def test_a_lock_held_while_the_database_is_switched_to_wal_is_an_error_not_a_read_only_store(tmp_path: Path) -> None:
    from incidentkit.errors import StoreError
    from incidentkit.store import Store

    path = tmp_path / "ik.db"
    _filled_store(path)
    with sqlite3.connect(path, isolation_level=None) as conn:
        conn.execute("PRAGMA journal_mode = DELETE")  # as another tool may leave it
    conn.close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another program is writing: reading works, the switch to WAL waits
    try:
        with pytest.raises(StoreError) as refused:
            Store.open(path, busy_timeout=0.2)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert refused.value.message == f"cannot open the database {str(path)!r}: another program holds its lock"
