"""``incidentkit actionables``: add, create, sync, list, stats, set, history through the CLI."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from incidentkit.cli import app
from incidentkit.model.actionable import FollowUp
from incidentkit.model.incident import IncidentRecord
from incidentkit.store import Store
from tests.helpers import json_lines
from tests.servers.conduit_fake import ConduitFake

MAY_1 = int(datetime(2024, 5, 1, 13, tzinfo=UTC).timestamp())
MAY_29 = int(datetime(2024, 5, 29, 9, tzinfo=UTC).timestamp())


@pytest.fixture
def home(incidentkit_home: Path, conduit: ConduitFake, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A user dir whose config points at the Conduit fake, a pinned clock and two incidents."""
    (incidentkit_home / "config.toml").write_text(
        f'[phabricator]\nurl = "{conduit.url}"\nretries = 0\n\n[actionables]\ntags = ["ir"]\n', encoding="utf-8"
    )
    monkeypatch.setenv("INCIDENTKIT_PHABRICATOR_TOKEN", conduit.token)
    monkeypatch.setenv("INCIDENTKIT_NOW", "2024-06-10T12:00:00Z")
    with Store.open(incidentkit_home / "incidentkit.db") as store:
        store.save_incident(IncidentRecord(slug="inc-a", title="DNS outage", start="2024-05-01T12:00:00Z", severity="1"))
        store.save_incident(IncidentRecord(slug="inc-b", title="Cache stampede", start="2024-06-05T08:00:00Z", severity="2"))
    return incidentkit_home


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["actionables", *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def _db(home: Path) -> Store:
    return Store.open(home / "incidentkit.db")


def test_add_then_list_as_json_csv_and_markdown(home: Path, conduit: ConduitFake) -> None:
    conduit.add_task("Alert on resolver errors", owner="alice", created=MAY_1)
    code, out, _ = run("add", "inc-a", "Alert on resolver errors", "--task", "T1", "--type", "detect")
    assert code == 0 and out.startswith("#1 added: T1 Alert on resolver errors (open, due 2024-05-16)")
    code, out, _ = run("add", "inc-b", "Rate-limit purges", "--owner", "bob", "--due", "+30d")
    assert code == 0 and "due 2024-07-10" in out

    code, out, err = run("list")
    records = json_lines(out)
    assert [(r["task"], r["owner"], r["overdue"], r["type"]) for r in records] == [
        ("T1", "alice", True, "detect"), (None, "bob", False, "other"),
    ]
    assert err.strip() == "2 open, 1 overdue, 0 done this month"
    code, out, _ = run("list", "--format", "csv", "--owner", "bob")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["title"] for r in rows] == ["Rate-limit purges"] and rows[0]["due"] == "2024-07-10"
    code, out, _ = run("list", "--format", "markdown", "--overdue")
    assert out.splitlines()[0].startswith("| id | incident | task | title |") and len(out.splitlines()) == 3


def test_fail_if_overdue_exits_non_zero(home: Path) -> None:
    run("add", "inc-b", "Not late yet")
    assert run("list", "--fail-if-overdue")[0] == 0
    run("add", "inc-a", "Late already")
    code, _, err = run("list", "--fail-if-overdue", "--format", "csv")
    assert code == 1 and "1 actionable is overdue" in err


def test_sync_prints_only_changes(home: Path, conduit: ConduitFake) -> None:
    for title in ("one", "two"):
        conduit.add_task(title, created=MAY_1)
    run("add", "inc-a", "one", "--task", "T1")
    run("add", "inc-a", "two", "--task", "T2")
    code, out, _ = run("sync")
    assert code == 0 and out == ""
    conduit.set_status(2, "resolved", at=MAY_29)
    code, out, _ = run("sync")
    assert code == 0 and out.splitlines() == ["T2 (inc-a): open [open] -> done [resolved] two"]
    assert run("sync")[1] == ""
    code, out, _ = run("list", "--status", "done")
    assert [r["task"] for r in json_lines(out)] == ["T2"]
    code, out, _ = run("history", "2", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["status"], r["from"], r["source"]) for r in rows] == [
        ("- -> open", "observed", "manual"), ("open -> done", "task-closed", "sync"),
    ]


def test_create_task_for_an_idea(home: Path, conduit: ConduitFake) -> None:
    run("add", "inc-b", "Warm the cache before deploys")
    code, out, _ = run("create", "1")
    assert code == 0 and out.strip() == "#1 -> T1 Warm the cache before deploys"
    assert conduit.tasks[1].projects == ["PHID-PROJ-6xycd6zxjatbtujcjg7x"]
    code, _, err = run("create", "1")
    assert code == 2 and "Error: actionable #1 is already linked to T1" in err


def test_set_locks_fields_and_rejects_unknown_statuses(home: Path) -> None:
    run("add", "inc-a", "Idea")
    code, out, _ = run("set", "1", "--owner", "carol", "--type", "prevent", "--status", "wont-do")
    assert code == 0 and "wont-do, owner carol, prevent" in out and "locked: owner, status, title, type" in out
    with _db(home) as store:
        before = (store.require_actionable(1), store.status_history(1))
    code, _, err = run("set", "1", "--status", "frobnicated", "--owner", "dave")
    assert code == 2 and err.splitlines()[0] == "Error: unknown status 'frobnicated'"
    with _db(home) as store:
        assert (store.require_actionable(1), store.status_history(1)) == before


def test_stats_formats(home: Path) -> None:
    with _db(home) as store:
        from incidentkit.config import Settings
        from incidentkit.services.actionables import record_proposed, set_fields

        record_proposed(store, "inc-a", [FollowUp(title="a", task="T1"), FollowUp(title="b", task="T2")],
                        Settings(), now=datetime(2024, 5, 2, tzinfo=UTC))
        set_fields(store, 2, now=datetime(2024, 5, 12, tzinfo=UTC), status="done")
    code, out, _ = run("stats", "--months", "2")
    data = json.loads(out)
    assert data["months"] == [
        {"month": "2024-05", "opened": 2, "closed": 1, "open_at_end": 1},
        {"month": "2024-06", "opened": 0, "closed": 0, "open_at_end": 1},
    ]
    assert (data["median_days_to_close"], data["overdue"]) == (10.0, 1)
    assert data["by_owner"] == [{"owner": "(unassigned)", "open": 1, "overdue": 1}]
    code, out, err = run("stats", "--months", "1", "--format", "markdown")
    assert "| 2024-06 | 0 | 0 | 1 |" in out and "| (unassigned) | 1 | 1 |" in out
    assert "median time to close 10 days" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("add", "inc-z", "text"), "Error: unknown incident 'inc-z'"),
        (("add", "inc-a", "text", "--task", "T77"), "Error: unknown task T77"),
        (("add", "inc-a", "text", "--task", "D77"), "Error: 'D77' is not a Phabricator task id"),
        (("sync", "T5"), "Error: task T5 is not tracked"),
        (("list", "--incident", "inc-z"), "Error: unknown incident 'inc-z'"),
        (("set", "9", "--owner", "x"), "Error: unknown actionable #9"),
        (("create", "9"), "Error: unknown actionable #9"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(home: Path, args: tuple[str, ...], message: str) -> None:
    code, out, err = run(*args)
    assert code != 0 and out == "" and err.splitlines()[0].startswith(message)
    assert "Traceback" not in err
    with _db(home) as store:
        assert store.db.execute("SELECT count(*) FROM actionables").fetchone()[0] == 0


def test_a_corrupt_or_newer_database_is_refused(home: Path) -> None:
    db = home / "incidentkit.db"
    with _db(home) as store:
        store.db.execute(
            "INSERT INTO _sqlite_migrations (migration_set, name, applied_at) VALUES ('incidentkit', 'm999_later', 'x')"
        )
    code, _, err = run("list")
    assert code == 1 and err.startswith("Error: the database") and "newer incidentkit" in err
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    db.write_bytes(b"garbage" * 1000)
    code, _, err = run("add", "inc-a", "x")
    assert code == 1 and err.startswith("Error: cannot open the database") and db.read_bytes() == b"garbage" * 1000


def test_a_sync_that_fails_midway_has_printed_what_it_saved(
    home: Path, conduit: ConduitFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    """101 tasks are two batches; the server breaks after the first is saved (cron mails stdout)."""
    from incidentkit.services import sync as syncing

    for n in range(1, 102):
        conduit.add_task(f"task {n}", created=MAY_1)
    with _db(home) as store:
        from incidentkit.config import Settings
        from incidentkit.services.actionables import record_proposed

        record_proposed(store, "inc-a", [FollowUp(title=f"t{n}", task=f"T{n}") for n in range(1, 102)], Settings(),
                        now=datetime(2024, 5, 2, tzinfo=UTC))
    assert run("sync")[0] == 0
    for n in range(1, 102):
        conduit.set_status(n, "resolved", at=MAY_29)
    real = syncing._sync_batch

    def break_after_saving(*args, **kwargs):  # type: ignore[no-untyped-def]
        saved = real(*args, **kwargs)
        conduit.fail_next("html500")  # the config says retries = 0
        return saved

    monkeypatch.setattr(syncing, "_sync_batch", break_after_saving)
    code, out, err = run("sync")
    assert code == 1 and "HTTP 500" in err
    assert out.splitlines() == [f"T{n} (inc-a): open [open] -> done [resolved] task {n}" for n in range(1, 101)]
    monkeypatch.setattr(syncing, "_sync_batch", real)
    code, out, _ = run("sync")
    assert code == 0 and out.splitlines() == ["T101 (inc-a): open [open] -> done [resolved] task 101"]
