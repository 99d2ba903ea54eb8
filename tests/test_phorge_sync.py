"""``actionables sync`` and drafts against the real Phorge, for what Phorge does differently from the
fake: whole-second dates, ``dateClosed`` set only on open → closed, statuses it accepts on edit but
does not list, tokens revoked midway, tasks with a thousand comments."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from incidentkit.config import Settings
from incidentkit.errors import SourceError
from incidentkit.model.actionable import FollowUp, SyncChange
from incidentkit.model.incident import IncidentRecord
from incidentkit.services.actionables import record_proposed
from incidentkit.services.sync import sync_actionables
from incidentkit.store import Store
from tests.helpers import home_store, run
from tests.phorge_support import client_for, configure, iso, next_second, tag, utc_now
from tests.servers.phorge import Phorge

pytestmark = pytest.mark.integration

FOLLOWUP = "Sustainability (Incident Followup)"


def _track(store: Store, tasks: Sequence[dict], slug: str = "inc") -> None:
    store.save_incident(IncidentRecord(slug=slug, title="Checkout down", start=utc_now().isoformat()))
    followups = [FollowUp(title=f"task {t['id']}", task=t["monogram"]) for t in tasks]
    record_proposed(store, slug, followups, Settings(), now=utc_now())


def test_statuses_are_discovered_once_per_sync(store: Store, phorge: Phorge) -> None:
    tasks = [phorge.create_task(tag(f"odd status {n}")) for n in range(5)]
    for task in tasks:  # Phorge accepts a status it does not list; the task then reads "Unknown Status"
        phorge.set_status(task["id"], "wontfix")
    _track(store, tasks)
    client = client_for(phorge)
    first = sync_actionables(store, client, now=datetime.now(UTC), batch_size=2)  # 3 batches
    assert first.checked == 5
    assert client.count("maniphest.status.search") == 1 and client.count("maniphest.search") == 3
    assert {a.task_status for a in store.incident_actionables("inc")} == {"wontfix"}
    assert {str(a.status) for a in store.incident_actionables("inc")} == {"wont-do"}  # closed, by its name

    again = client_for(phorge)  # the cached list is fresh, but the tasks carry a status it lacks
    sync_actionables(store, again, now=datetime.now(UTC) + timedelta(minutes=1), batch_size=2)
    assert again.count("maniphest.status.search") == 1


def test_an_interrupted_sync_has_reported_every_batch_it_saved(store: Store, phorge: Phorge) -> None:
    tasks = [phorge.create_task(tag(f"batch task {n}")) for n in range(6)]
    _track(store, tasks)
    sync_actionables(store, client_for(phorge), now=utc_now())
    for task in tasks:
        phorge.close(task["id"], "resolved")
    token = phorge.new_token("admin")
    reported: list[str] = []

    def print_then_revoke(changes: Sequence[SyncChange]) -> None:
        reported.extend(change.line() for change in changes)
        phorge.revoke_token(token)  # the token dies after the first batch is saved

    with pytest.raises(SourceError, match="ERR-INVALID-AUTH"):
        sync_actionables(store, client_for(phorge, token=token), now=utc_now(), batch_size=2, on_batch=print_then_revoke)
    saved = sorted(a.task or "" for a in store.incident_actionables("inc") if str(a.status) == "done")
    assert len(saved) == 2 and sorted(line.split()[0] for line in reported) == saved
    rest = sync_actionables(store, client_for(phorge), now=utc_now(), batch_size=2)
    shown = sorted([*reported, *(change.line() for change in rest.changes)])
    assert [line.split()[0] for line in shown] == sorted(t["monogram"] for t in tasks)  # each once
    assert all("open [open] -> done [resolved]" in line for line in shown)


def test_a_change_between_closed_statuses_is_timed_by_its_transaction(store: Store, phorge: Phorge) -> None:
    title = tag("checkout flapping")
    busy = phorge.create_task(title)
    for start in range(0, 1000, 250):  # a thousand comments: one page of transactions is 1000
        phorge.edit_task(busy["id"], [{"type": "comment", "value": f"seen again {n}"} for n in range(start, start + 250)])
    next_second()  # comments in the close's second would be read too (times are whole seconds)
    phorge.close(busy["id"], "resolved")
    _track(store, [busy])
    sync_actionables(store, client_for(phorge), now=utc_now())
    resolved = store.incident_actionables("inc")[0].resolved_at
    next_second()
    phorge.close(busy["id"], "declined")
    client = client_for(phorge)
    report = sync_actionables(store, client, now=utc_now())
    assert [c.line() for c in report.changes] == [f"{busy['monogram']} (inc): done [resolved] -> wont-do [declined] {title}"]
    declined = [
        x["dateCreated"]
        for x in phorge.result("transaction.search", {"objectIdentifier": busy["monogram"]})["data"]
        if x["type"] == "status" and x["fields"]["new"] == "declined"
    ]
    last = store.status_history()[-1]
    assert (last.changed_at, last.changed_at_from) == (datetime.fromtimestamp(declined[0], UTC), "transaction")
    assert last.changed_at > resolved  # not the first close, which Phorge's dateClosed still says
    assert store.incident_actionables("inc")[0].resolved_at == resolved  # closed since then
    assert client.count("transaction.search") == 1  # it stopped at the last sync, 1000 comments back


def test_a_draft_records_when_a_followup_was_closed(
    incidentkit_home: Path, monkeypatch: pytest.MonkeyPatch, phorge: Phorge
) -> None:
    start = next_second()
    done = phorge.create_task(tag("Alert on checkout latency"), projects=[FOLLOWUP])
    phorge.close(done["id"], "resolved")
    closed = phorge.result("maniphest.search", {"constraints": {"ids": [done["id"]]}})["data"][0]["fields"]["dateClosed"]
    next_second()
    configure(incidentkit_home, monkeypatch, phorge)
    monkeypatch.setenv("INCIDENTKIT_NOW", iso(utc_now(), timedelta(hours=2)))  # the draft is written later
    result = run("draft", "--from", iso(start), "--to", iso(utc_now()), "--title", "Checkout slow")
    assert result.exit_code == 0, result.output
    with home_store() as store:
        (tracked,) = store.actionables_for_tasks([done["monogram"]])
    assert str(tracked.status) == "done"
    assert tracked.resolved_at == datetime.fromtimestamp(closed, UTC)  # not the draft's clock
