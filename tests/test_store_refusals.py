"""The store refuses without touching, and each failure of the disk says what it is.

A newer incidentkit's file and another program's SQLite file are refused byte for byte untouched;
a read-only database serves the read commands and refuses the writes with its own error; a full
disk (SQLite's own "full", and a file size limit set with ``RLIMIT_FSIZE`` in a subprocess), a
read-only file and a database locked by another program each get their own message and hint,
and none leaves the database changed. Read-only files need a user the permissions apply to: as
root, the commands run without the capabilities that let root write anywhere (``CAP_DAC_*``).
"""

from __future__ import annotations

import ctypes
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from incidentkit.errors import StoreError
from incidentkit.model.actionable import Actionable, StatusChange
from incidentkit.model.incident import IncidentRecord
from incidentkit.store import Store
from tests.helpers import json_lines, run

NOW = datetime(2024, 6, 10, 12, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parent.parent
PR_CAPBSET_DROP = 24
CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 1, 2


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _filled(path: Path) -> Path:
    """A database at *path* holding one incident and one actionable, closed cleanly."""
    with Store.open(path) as store:
        store.save_incident(IncidentRecord(slug="inc-a", title="A", start="2024-05-01T00:00:00Z"))
        actionable = Actionable(incident="inc-a", title="Alert on lag", created_at=NOW, recorded_at=NOW, updated_at=NOW)
        store.add_actionable(
            actionable,
            StatusChange(
                incident="inc-a", task=None, new_status=actionable.status, new_task_status=None, changed_at=NOW,
                changed_at_from="observed", observed_at=NOW, source="manual",
            ),
        )  # fmt: skip
    return path


def _count(path: Path) -> int:
    with sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True) as conn:
        return int(conn.execute("SELECT count(*) FROM actionables").fetchone()[0])


def test_a_newer_schema_file_is_refused_byte_for_byte(tmp_path: Path) -> None:
    folder = tmp_path / "db"
    path = _filled(folder / "ik.db")
    with sqlite3.connect(path, isolation_level=None) as conn:  # what a newer incidentkit left behind
        conn.execute("INSERT INTO _sqlite_migrations (migration_set, name, applied_at) VALUES ('incidentkit', 'm999_future', 'x')")
        conn.execute("PRAGMA journal_mode = DELETE")
    before, stamp = _files(folder), path.stat().st_mtime_ns
    assert before["ik.db"][18:20] == b"\x01\x01"  # the header's rollback-journal mode
    with pytest.raises(StoreError) as caught:
        Store.open(path)
    assert "newer incidentkit" in caught.value.message and "left untouched" in caught.value.message
    assert "upgrade incidentkit" in (caught.value.hint or "")
    assert _files(folder) == before and path.stat().st_mtime_ns == stamp  # no WAL switch, no -wal/-shm


def test_another_programs_database_is_refused_untouched(tmp_path: Path) -> None:
    folder = tmp_path / "db"
    folder.mkdir()
    path = folder / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE photos (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("INSERT INTO photos (name) VALUES ('cat')")
    conn.close()
    before = _files(folder)
    with pytest.raises(StoreError, match="another program") as caught:
        Store.open(path)
    assert "--db" in (caught.value.hint or "")
    assert _files(folder) == before


def test_an_empty_file_becomes_a_new_database(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    path.touch()
    with Store.open(path) as store:
        assert "actionables" in store.db.table_names() and not store.readonly


def test_a_full_disk_is_its_own_error_and_changes_nothing(tmp_path: Path) -> None:
    path = _filled(tmp_path / "ik.db")
    with Store.open(path) as store:
        pages = store.db.execute("PRAGMA page_count").fetchone()[0]
        store.db.execute(f"PRAGMA max_page_count = {pages}")  # SQLite's own SQLITE_FULL
        with pytest.raises(StoreError) as caught:
            store.save_incident(IncidentRecord(slug="inc-big", title="x" * 200_000, start="2024-05-01T00:00:00Z"))
    assert "the disk is full" in caught.value.message
    assert "free some space" in (caught.value.hint or "") and "not an incidentkit" not in (caught.value.hint or "")
    with Store.open(path) as store:
        assert store.get_incident("inc-big") is None and _count(path) == 1


_FSIZE_WRITER = """
import resource, sys
from incidentkit.errors import StoreError
from incidentkit.model.incident import IncidentRecord
from incidentkit.store import Store
store = Store.open(sys.argv[1])
limit = 64 * 1024
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))  # SIGXFSZ is ignored by Python: writes fail with EFBIG
try:
    store.save_incident(IncidentRecord(slug="inc-big", title="x" * 400_000, start="2024-05-01T00:00:00Z"))
except StoreError as exc:
    print(exc.message)
    print(exc.hint)
"""


@pytest.mark.slow  # a child process
def test_a_file_size_limit_is_a_disk_error_and_changes_nothing(tmp_path: Path) -> None:
    path = _filled(tmp_path / "ik.db")
    result = subprocess.run(
        [sys.executable, "-c", _FSIZE_WRITER, str(path)], capture_output=True, text=True, cwd=ROOT, timeout=60, check=False
    )
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    message, hint = result.stdout.splitlines()[:2]
    assert "the disk refused it" in message
    assert "file size limit" in hint and "not an incidentkit" not in hint
    with Store.open(path) as store:
        assert store.get_incident("inc-big") is None and _count(path) == 1


def test_a_locked_database_is_its_own_error(tmp_path: Path) -> None:
    path = _filled(tmp_path / "ik.db")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another program is writing
    try:
        with Store.open(path, busy_timeout=0.2) as store:
            assert [i.slug for i in store.list_incidents()] == ["inc-a"]  # WAL: reading goes on
            with pytest.raises(StoreError) as caught:
                store.save_incident(IncidentRecord(slug="inc-b", title="B", start="2024-05-02T00:00:00Z"))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert "another program holds its lock" in caught.value.message
    assert "run the command again" in (caught.value.hint or "")


def test_a_locked_database_through_the_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _filled(tmp_path / "ik.db")
    monkeypatch.setattr("incidentkit.store._base.BUSY_TIMEOUT_MS", 200)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        result = run("--db", str(path), "actionables", "add", "inc-a", "Another one")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "another program holds its lock" in result.stderr
    assert _count(path) == 1


def _without_root_powers() -> None:
    """In the child, before exec: as root, drop the capabilities that bypass file permissions."""
    if os.geteuid() == 0:
        libc = ctypes.CDLL(None, use_errno=True)
        for capability in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
            if libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
                raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``incidentkit ARGS`` in a fresh process, to which file permissions apply."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("INCIDENTKIT_")}
    env.update(INCIDENTKIT_HOME=str(home), INCIDENTKIT_NOW="2024-06-10T12:00:00Z", PYTHONDONTWRITEBYTECODE="1")
    return subprocess.run(
        [sys.executable, "-c", "from incidentkit.cli import main; main()", *args],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=120, check=False, preexec_fn=_without_root_powers,
    )  # fmt: skip


@pytest.fixture
def data_folder(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "data"
    folder.mkdir()
    yield folder
    for child in (folder, *folder.iterdir()):
        child.chmod(0o755 if child.is_dir() else 0o644)  # so that pytest can clean up


@pytest.mark.slow  # a child process
@pytest.mark.parametrize("folder_writable", [False, True], ids=["read-only-folder", "read-only-file"])
def test_a_read_only_database_serves_reads_and_refuses_writes(
    incidentkit_home: Path, data_folder: Path, folder_writable: bool
) -> None:
    path = _filled(data_folder / "ik.db")
    path.chmod(0o444)
    data_folder.chmod(0o755 if folder_writable else 0o555)
    before = path.read_bytes()

    listed = _cli(incidentkit_home, "--db", str(path), "actionables", "list", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    assert [a["title"] for a in json_lines(listed.stdout)] == ["Alert on lag"]
    stats = _cli(incidentkit_home, "--db", str(path), "actionables", "stats", "--format", "json")
    assert stats.returncode == 0, stats.stderr

    added = _cli(incidentkit_home, "--db", str(path), "actionables", "add", "inc-a", "Another one")
    assert added.returncode == 1 and "Traceback" not in added.stderr
    assert "is read-only" in added.stderr and "read commands still work" in added.stderr
    assert "not an incidentkit" not in added.stderr
    assert path.read_bytes() == before


def test_maintenance_is_skipped_while_another_program_holds_the_lock(tmp_path: Path) -> None:
    """A planner refresh that meets another writer's lock is put off, not a failed command (two
    syncs at once hit this); any other failure of it is still an error."""
    path = _filled(tmp_path / "ik.db")
    with Store.open(path) as store:

        connection = store.conn

        class Refusing:  # the store's connection, on which the planner refresh meets the failure *name*
            def __getattr__(self, attribute: str) -> Any:
                return getattr(connection, attribute)

            def execute(self, sql: str, *args: Any) -> Any:
                if sql.startswith("PRAGMA optimize"):
                    error = sqlite3.OperationalError("database is locked")
                    error.sqlite_errorname = name  # type: ignore[attr-defined]
                    raise error
                return connection.execute(sql, *args)

        store.conn = Refusing()  # type: ignore[assignment]
        name = "SQLITE_BUSY"
        store.optimize()
        name = "SQLITE_IOERR_WRITE"
        with pytest.raises(StoreError, match="cannot maintain the database .* the disk refused it"):
            store.optimize()
        store.conn = connection  # closed as the store leaves the block
