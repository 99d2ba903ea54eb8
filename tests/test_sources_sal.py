"""The SAL parser on real SAL text of every era, and the classification of deploy-tool lines."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from incidentkit.model.event import EventKind
from incidentkit.model.source import Export, Query
from incidentkit.model.window import Window
from incidentkit.sources.sal import classify, parse, parse_page

SAL = Path(__file__).parent / "fixtures" / "sal"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def page(name: str) -> str:
    text = (SAL / name).read_text(encoding="utf-8")
    return text.split("\n---\n", 1)[1] if name.endswith(".md.txt") else text


def test_miraheze_page_parses_every_entry() -> None:
    entries, problems, read = parse_page(page("miraheze-2016.md.txt"), "Tech:Server admin log/2016")
    # the fixture's header says: 130 bullet entries in 38 day sections
    assert len(entries) == 130
    assert problems == []
    assert read == 130
    assert len({e.time.date() for e in entries}) == 38
    # hand-edited quirks: single-digit hour, nick with "|", double space after the colon
    eight = [e for e in entries if e.time == utc(2016, 12, 26, 8, 0)]
    assert eight and eight[0].nick == "Reception123"
    assert any(e.nick == "Reception|away" and e.message.startswith("sudo") for e in entries)


def test_quoted_real_entries_from_every_era() -> None:
    window = Window(utc(2010, 11, 30), utc(2010, 12, 1))
    entries, problems, _ = parse_page(page("quoted-2010-archive17.wiki"), "Server Admin Log/Archive 17", window=window)
    assert problems == [] and entries[0].time == utc(2010, 11, 30, 11, 29)

    export = Export("sal", (("Server Admin Log", page("quoted-2016-morebots.wiki")),))
    result = parse(export, Query(Window(utc(2016, 9, 22), utc(2016, 9, 24))))
    by_minute = {e.time: e for e in result.events}
    relayed = by_minute[utc(2016, 9, 23, 9, 58)]
    assert relayed.actor == "hashar@tin"  # morebots relay: the user@host is inside the message
    assert relayed.kind is EventKind.SYNC
    assert relayed.started == utc(2016, 9, 23, 9, 57, 18)
    assert relayed.tasks == ("T146461",)
    human = by_minute[utc(2016, 9, 23, 10, 0)]
    assert human.actor == "Amir1"  # a pasted shell prompt is not attribution
    assert human.kind is EventKind.LOG

    export = Export("sal", (("Server Admin Log", page("quoted-stashbot-2024.wiki")),))
    result = parse(export, Query(Window(utc(2024, 1, 1), utc(2024, 12, 12))))
    assert result.problems == ()
    backport = next(e for e in result.events if e.time == utc(2024, 12, 11, 14, 41))
    assert backport.kind is EventKind.BACKPORT
    assert "[[gerrit:1101577|Add Atieno's public key]]" in backport.text  # {{!}} undone
    assert backport.data["duration_s"] == 8 * 60 + 47
    deploy = next(e for e in result.events if e.time == utc(2024, 1, 1, 17, 11))
    assert deploy.kind is EventKind.DEPLOY and deploy.data["repo"] == "airflow-dags/analytics"
    assert deploy.actor == "joal@deploy2002"


@pytest.mark.parametrize(
    ("message", "kind", "fields"),
    [
        ("Started scap: Watchlist filters T172030", EventKind.SYNC, {"phase": "start"}),
        ("Finished scap: Watchlist filters: … T172030 (duration: 21m 23s)", EventKind.SYNC, {"duration_s": 1283}),
        ("Finished scap sync-world: x (duration: 120m 05s)", EventKind.SYNC, {"duration_s": 7205, "action": "sync-world"}),
        ("Synchronized wmf-config/CommonSettings.php: (no message) (duration: 00m 17s)", EventKind.SYNC, {"target": "wmf-config/CommonSettings.php"}),
        ("rebuilt wikiversions.php and synchronized wikiversions files: all wikis to 1.28.0-wmf.20", EventKind.TRAIN, {"version": "1.28.0-wmf.20"}),
        ("rebuilt and synchronized wikiversions files: group1 to 1.43.0-wmf.20  refs T123", EventKind.TRAIN, {"group": "group1"}),
        ("Started deploy [librenms/librenms@5fea59c]: (no justification provided)", EventKind.DEPLOY, {"sha": "5fea59c", "phase": "start"}),
        ("Starting deploy of [ores/deploy]: fix", EventKind.DEPLOY, {"repo": "ores/deploy"}),
        ("Started restart [citoid/deploy@abc1234]: restart", EventKind.DEPLOY, {"action": "restart"}),
        ("START - Cookbook sre.hosts.reboot-single for host1", EventKind.COOKBOOK, {"phase": "start"}),
        ("END (PASS) - Cookbook sre.hosts.reboot-single (exit_code=0) for host1", EventKind.COOKBOOK, {"status": "PASS", "exit_code": 0}),
        ("DONE (FAIL) - Cookbook sre.k8s.pool (exit_code=99)", EventKind.COOKBOOK, {"status": "FAIL"}),
        ("dbctl commit (dc=all): 'Depool db1173', diff saved to https://phabricator.wikimedia.org/P1 and previous config saved to /var/x.json", EventKind.DBCTL, {"dc": "all"}),
        ("conftool action : set/pooled=no; selector: name=cp3050.esams.wmnet", EventKind.CONFTOOL, {"action": "set/pooled=no"}),
        ("scap aborted: Backport for [[gerrit:1|x]] (duration: 01m 02s)", EventKind.ABORT, {"duration_s": 62}),
        ("Finished scap sync-world: Backport for [[gerrit:1101577|Add key]] (duration: 08m 47s)", EventKind.BACKPORT, {}),
        ("depooled mw1300 for reimage", EventKind.LOG, {}),
    ],
)
def test_classify_deploy_tool_lines(message: str, kind: EventKind, fields: dict[str, object]) -> None:
    got_kind, data = classify(message)
    assert got_kind is kind
    for key, value in fields.items():
        assert data[key] == value


def test_window_crossing_midnight_reads_both_days_and_derived_start() -> None:
    text = """== 2023-03-02 ==
* 00:07 bob@deploy1002: Finished scap: late sync (duration: 17m 00s)
* 00:05 alice: still watching

== 2023-03-01 ==
* 23:59 alice: starting the maintenance
* 22:00 alice: unrelated, before the window
"""
    result = parse(Export("sal", (("SAL", text),)), Query(Window(utc(2023, 3, 1, 23, 30), utc(2023, 3, 2, 0, 6))))
    times = sorted(e.time for e in result.events)
    assert utc(2023, 3, 1, 23, 59) in times and utc(2023, 3, 2, 0, 5) in times
    late = next(e for e in result.events if e.actor == "bob@deploy1002")  # finished after, started inside
    assert late.started == utc(2023, 3, 1, 23, 50)
    assert all(e.time != utc(2023, 3, 1, 22, 0) for e in result.events)


def test_malformed_lines_are_counted_with_line_numbers_and_never_crash() -> None:
    text = """intro text is ignored
== 2023-02-14 ==
* 18:16 alice: fine
* around 18:35 someone pasted text
* 25:61 bob: impossible time
** a sub-bullet continues the previous entry
* {{SAL entry|1=18:40 carol: wrapped {{!}} piped}}
"""
    result = parse(Export("sal", (("SAL", text),)), Query(Window(utc(2023, 2, 14), utc(2023, 2, 15))))
    assert [p.where for p in result.problems] == ["SAL:4", "SAL:5"]
    assert result.lines_read == 4
    texts = {e.actor: e.text for e in result.events}
    assert texts["alice"] == "fine a sub-bullet continues the previous entry"
    assert texts["carol"] == "wrapped | piped"


def test_same_line_in_two_projects_is_one_event_and_keys_are_stable() -> None:
    text = "== 2023-02-14 ==\n* 18:16 alice: deploying #releng thing\n"
    export = Export("sal", (("Server Admin Log", text), ("Release Engineering/SAL", text)))
    query = Query(Window(utc(2023, 2, 14), utc(2023, 2, 15)))
    from incidentkit.timeline.merge import merge_events

    first = merge_events([parse(export, query).events])
    again = merge_events([parse(export, query).events])
    assert len(first) == 1
    assert [e.key for e in first] == [e.key for e in again]
