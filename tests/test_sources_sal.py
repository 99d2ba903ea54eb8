"""The SAL parser on real SAL text of every era, and the classification of deploy-tool lines."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incidentkit.model.event import EventKind
from incidentkit.model.source import Export, Query
from incidentkit.model.window import Window
from incidentkit.sources import sal
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


# --- the cost of a draft follows its window -------------------------------------------------


class Spy:
    """Records what reaches a function (or a compiled pattern's ``match``) and passes it through."""

    def __init__(self, target: Callable[..., Any]) -> None:
        self.target, self.seen = target, []

    def __call__(self, text: str, *args: Any) -> Any:
        self.seen.append(text)
        return self.target(text, *args)

    def match(self, text: str, *args: Any) -> Any:
        return self(text, *args)


@pytest.fixture
def spies(monkeypatch: pytest.MonkeyPatch) -> dict[str, Spy]:
    """What the parser shape-checks (ENTRY), classifies, and hands to mwparserfromhell."""
    found = {
        "entry": Spy(sal.ENTRY.match),
        "classify": Spy(sal.classify),
        "mwparserfromhell": Spy(sal.mwparserfromhell.parse),
    }
    monkeypatch.setattr(sal, "ENTRY", found["entry"])
    monkeypatch.setattr(sal, "classify", found["classify"])
    monkeypatch.setattr(sal.mwparserfromhell, "parse", found["mwparserfromhell"])
    return found


THREE_DAYS = """== 2023-03-03 ==
* 10:00 alice@deploy1002: Synchronized x.php: AFTER short (duration: 00m 05s)
* {{SAL entry|1=09:00 bob: AFTER odd template}} tail
* AFTER not an entry
== 2023-03-02 ==
* 12:00 carol: inside one
* {{SAL entry|1=11:00 dave: inside template}} tail
* inside not an entry
** inside continuation
== 2023-03-01 ==
* 23:00 erin: BEFORE one
* {{SAL entry|1=22:00 frank: BEFORE odd template}} tail
* BEFORE not an entry
"""


def test_days_outside_the_window_are_counted_but_never_parsed(spies: dict[str, Spy]) -> None:
    # the window ends an hour before the next day: its 5-second sync cannot have started inside
    result = parse(Export("sal", (("SAL", THREE_DAYS),)), Query(Window(utc(2023, 3, 2), utc(2023, 3, 2, 23))))
    assert [e.text for e in result.events] == ["inside one", "inside template inside continuation"]
    # every bullet of every day counts as a line read (the sub-bullet continues an entry)
    assert result.lines_read == 9
    assert [(p.where, p.text) for p in result.problems] == [("SAL:8", "* inside not an entry")]
    looked_at = [text for spy in spies.values() for text in spy.seen]
    assert looked_at and not [text for text in looked_at if "AFTER" in text or "BEFORE" in text]
    assert spies["classify"].seen == ["inside one", "inside template inside continuation"]
    assert spies["mwparserfromhell"].seen == ["{{SAL entry|1=11:00 dave: inside template}} tail"]


def test_a_day_outside_the_window_with_continuations_is_checked_only_as_counting_needs(spies: dict[str, Spy]) -> None:
    text = """== 2023-03-01 ==
* 23:00 erin: BEFORE first
* 22:00 frank: BEFORE second
** a sub-bullet: it continues frank's entry, so it is not a line of its own
a wrapped line: it continues it too
22:30 grace: an entry without its bullet
== 2023-02-28 ==
* BEFORE not an entry
** so this sub-bullet continues nothing: a line of its own
== 2023-02-27 ==
BEFORE text that is no entry
more such text, a line of its own too (no entry above it)
== 2023-02-26 ==
* 10:00 x: BEFORE a
** BEFORE a sub-bullet
* 09:00 y: BEFORE b
== 2023-03-02 ==
* 12:00 carol: inside
"""
    result = parse(Export("sal", (("SAL", text),)), Query(Window(utc(2023, 3, 2), utc(2023, 3, 3))))
    assert [e.text for e in result.events] == ["inside"]
    assert result.lines_read == 3 + 2 + 2 + 2 + 1  # erin, frank, grace; two; two; x, y; carol
    assert result.problems == ()
    assert spies["classify"].seen == ["inside"]
    # whether the lines that are not bullets continue an entry needs one entry above them: erin's
    assert not [seen for seen in spies["entry"].seen if "frank" in seen]


def test_problems_of_the_window_keep_their_line_numbers_and_other_days_are_only_counted() -> None:
    text = """== 2023-02-15 ==
* around 09:00 pasted on the day after
* 10:00 alice: fine
== 2023-02-14 ==
* 18:16 alice: fine
* around 18:35 someone pasted text
* 25:61 bob: impossible time
== 2023-02-31 ==
* 10:00 x: under a date that does not exist
== 2023-02-13 ==
* 99:00 carol: impossible, the day before
"""
    result = parse(Export("sal", (("SAL", text),)), Query(Window(utc(2023, 2, 14, 18), utc(2023, 2, 14, 19))))
    assert [(p.where, p.reason) for p in result.problems] == [
        ("SAL:6", "no 'HH:MM nick: message' entry"),
        ("SAL:7", "impossible time 25:61"),
        ("SAL:8", "date heading without a usable year or date"),
    ]
    assert result.lines_read == 6  # two a day, the 31st's line aside (no such day)
    assert [e.raw for e in result.events] == ["SAL:5"]


def test_an_entry_after_the_window_is_read_when_its_duration_reaches_back(spies: dict[str, Spy]) -> None:
    text = """== 2023-03-03 ==
* 00:20 carol@deploy1002: Finished scap: AFTER too late (duration: 800m 00s)
== 2023-03-02 ==
* 00:20 bob@deploy1002: Finished scap: long sync (duration: 741m 00s)
* 00:10 bob@deploy1002: Synchronized x.php: short one (duration: 00m 30s)
* not an entry, on a day after the window
== 2023-03-01 ==
* 10:30 alice: inside
"""
    window = Query(Window(utc(2023, 3, 1, 10), utc(2023, 3, 1, 12)))
    result = parse(Export("sal", (("SAL", text),)), window)
    assert [(e.text, e.started) for e in result.events] == [
        ("Finished scap: long sync (duration: 741m 00s)", utc(2023, 3, 1, 11, 59)),  # 1 minute inside
        ("inside", None),
    ]
    assert result.problems == ()  # the day after is read for its durations, not reported on
    assert not [seen for spy in spies.values() for seen in spy.seen if "AFTER" in seen]


@pytest.mark.parametrize(
    "entry",
    [
        "* 00:30 dave@deploy1002: Finished scap: split sync (duration:\n** 800m 00s)",
        "* 00:30 dave@deploy1002: Finished scap: escaped sync (dura<nowiki>tion</nowiki>: 800m 00s)",
    ],
)
def test_a_duration_that_shows_only_once_the_entry_is_read_still_counts(entry: str) -> None:
    text = f"== 2023-03-02 ==\n{entry}\n== 2023-03-01 ==\n* 10:30 alice: inside\n"
    result = parse(Export("sal", (("SAL", text),)), Query(Window(utc(2023, 3, 1, 10), utc(2023, 3, 1, 12))))
    assert [(e.actor, e.started) for e in result.events] == [("dave@deploy1002", utc(2023, 3, 1, 11, 10)), ("alice", None)]


def test_line_numbers_are_those_of_the_page_whatever_its_line_breaks() -> None:
    lines = [
        "== 2023-02-14 ==",
        "* 18:16 alice: fine",
        "<!--a comment",
        "== 2023-02-13 ==",
        "-->",
        "* around 18:35 pasted",
        "* 25:61 bob: impossible",
        "* 18:40 carol: ok",
    ]
    window = Query(Window(utc(2023, 2, 14), utc(2023, 2, 15)))
    for breaks in (["\r\n"] * 7, ["\r"] * 7, ["\n", "\u2028", "\x0c", "\n", "\x85", "\x0b", "\x1e"]):
        text = "".join(line + end for line, end in zip(lines, [*breaks, ""], strict=True))
        result = parse(Export("sal", (("SAL", text),)), window)
        assert [p.where for p in result.problems] == ["SAL:6", "SAL:7"]
        assert [e.raw for e in result.events] == ["SAL:2", "SAL:8"]


def test_a_continuation_belongs_to_its_own_day() -> None:
    """A sub-bullet right under a day heading continues nothing: the entry above it is another day's."""
    text = """== 2023-03-02 ==
* 00:05 bob@deploy1002: Synchronized x.php: fix (duration: 00m 30s)
== 2023-03-01 ==
** a sub-bullet with no entry above it in its day
* 23:59 alice: last of the day
"""
    result = parse(Export("sal", (("SAL", text),)), Query(Window(utc(2023, 3, 1), utc(2023, 3, 3))))
    assert [e.text for e in result.events] == ["Synchronized x.php: fix (duration: 00m 30s)", "last of the day"]
    assert result.events[0].kind is EventKind.SYNC
    assert [(p.where, p.text) for p in result.problems] == [("SAL:4", "** a sub-bullet with no entry above it in its day")]
    assert result.lines_read == 3


# stashbot writes every "|" as {{!}} and lone braces as <nowiki>{</nowiki>: what else a line may hold
TEMPLATE_PIECES = [
    "a", "Z", " ", "12:30", "alice@deploy1002", ":", "=", "==", "[", "]", "[[", "]]", "[[gerrit:1", "{{!}}",
    "<nowiki>{</nowiki>", "<nowiki>}</nowiki>", "'", "''", "'''", "http://x.org/a", "[http://x.org b]", "&amp;",
    "&", "#", "*", "~~~~", "__TOC__", "(duration: 01m 02s)", "T123", "-", "/", "\\", '"', "é", ";", "!", "!!",
    "\t", "ISBN 123", "RFC 1", "__",
]  # fmt: skip


@given(
    prefix=st.sampled_from(["{{safesubst:SAL entry|1=", "{{SAL entry|1=", "{{subst:SAL entry|1="]),
    pieces=st.lists(st.sampled_from(TEMPLATE_PIECES), max_size=14),
)
def test_stashbot_template_lines_are_unwrapped_as_mwparserfromhell_reads_them(prefix: str, pieces: list[str]) -> None:
    body = prefix + "".join(pieces) + "}}"
    assert sal.SAL_TEMPLATE.fullmatch(body)  # the shortcut, not mwparserfromhell
    assert sal._unwrap_template(body) == sal._template_value(body) == "".join(pieces)


WIDE = Window(utc(2023, 3, 1), utc(2023, 3, 10))


@settings(max_examples=60, deadline=None)
@given(start=st.integers(0, 9 * 1440), minutes=st.integers(1, 3 * 1440))
def test_a_window_gets_what_reading_every_day_gets(start: int, minutes: int) -> None:
    """Skipping days changes nothing inside the window: same events, same keys, same line count."""
    export = Export("sal", (("Server Admin Log/2023", page("constructed-quirks.wiki")),))
    window = Window(WIDE.start + timedelta(minutes=start), WIDE.start + timedelta(minutes=start + minutes))
    everything = parse(export, Query(WIDE))
    result = parse(export, Query(window))
    assert result.events == tuple(e for e in everything.events if window.touches(e.time, e.started))
    assert result.lines_read == everything.lines_read


# --- each deploy tool's fields, each relay, each event field: written out by hand ---------------------

DBCTL = "dbctl commit (dc=all): 'Depool db1173', diff saved to https://phabricator.wikimedia.org/P1 and previous config saved to /var/x.json"


@pytest.mark.parametrize(
    ("message", "kind", "data"),
    [
        ("Started scap: Watchlist filters", EventKind.SYNC, {"tool": "scap", "action": "scap", "phase": "start"}),
        ("Started scap sync-world: x", EventKind.SYNC, {"tool": "scap", "action": "sync-world", "phase": "start"}),
        ("Finished scap: done (duration: 21m 23s)", EventKind.SYNC,
         {"tool": "scap", "action": "scap", "phase": "finish", "duration_s": 1283}),
        ("Synchronized wmf-config/X.php: why (duration: 00m 17s)", EventKind.SYNC,
         {"tool": "scap", "action": "sync-file", "target": "wmf-config/X.php", "duration_s": 17}),
        ("Synchronized x.php: Backport for [[gerrit:1|x]] (duration: 00m 10s)", EventKind.BACKPORT,
         {"tool": "scap", "action": "sync-file", "target": "x.php", "duration_s": 10}),
        ("Finished scap: group0 to 1.41.0-wmf.1 (duration: 10m 00s)", EventKind.TRAIN,
         {"tool": "scap", "action": "scap", "phase": "finish", "duration_s": 600, "group": "group0", "version": "1.41.0-wmf.1"}),
        ("rebuilt and synchronized wikiversions files: group1 to 1.43.0-wmf.20  refs T123", EventKind.TRAIN,
         {"tool": "wikiversions", "group": "group1", "version": "1.43.0-wmf.20"}),
        ("rebuilt wikiversions.php and synchronized wikiversions files: testwikis to 1.28.0-wmf.2", EventKind.TRAIN,
         {"tool": "wikiversions", "group": "testwikis", "version": "1.28.0-wmf.2"}),
        ("rebuilt and synchronized wikiversions files: revert", EventKind.TRAIN, {"tool": "wikiversions"}),
        ("Started deploy [librenms/librenms@5fea59c]: why", EventKind.DEPLOY,
         {"tool": "scap3", "action": "deploy", "repo": "librenms/librenms", "sha": "5fea59c", "phase": "start"}),
        ("Finished deploy [ores/deploy@UNKNOWN]: done (duration: 02m 03s)", EventKind.DEPLOY,
         {"tool": "scap3", "action": "deploy", "repo": "ores/deploy", "sha": "UNKNOWN", "phase": "finish", "duration_s": 123}),
        ("Starting deploy of [ores/deploy]: fix", EventKind.DEPLOY,
         {"tool": "scap3", "action": "deploy", "repo": "ores/deploy", "sha": None, "phase": "start"}),
        ("Finished setup [x/y@abcdef0]: ok", EventKind.DEPLOY,
         {"tool": "scap3", "action": "setup", "repo": "x/y", "sha": "abcdef0", "phase": "finish"}),
        ("END (PASS) - Cookbook sre.hosts.reboot-single (exit_code=0) for host1", EventKind.COOKBOOK,
         {"tool": "cookbook", "cookbook": "sre.hosts.reboot-single", "phase": "finish", "status": "PASS", "exit_code": 0}),
        ("start - cookbook sre.hosts.downtime", EventKind.COOKBOOK,
         {"tool": "cookbook", "cookbook": "sre.hosts.downtime", "phase": "start", "status": None, "exit_code": None}),
        ("DONE (ERROR) - Cookbook sre.k8s.pool (exit_code=-1)", EventKind.COOKBOOK,
         {"tool": "cookbook", "cookbook": "sre.k8s.pool", "phase": "finish", "status": "ERROR", "exit_code": -1}),
        (DBCTL, EventKind.DBCTL, {"tool": "dbctl", "dc": "all", "failed": False, "diff": "https://phabricator.wikimedia.org/P1"}),
        ("FAILED " + DBCTL, EventKind.DBCTL, {"tool": "dbctl", "dc": "all", "failed": True, "diff": "https://phabricator.wikimedia.org/P1"}),
        ("conftool action : set/pooled=no; selector: name=cp3050 (tags: ['dc=esams'])", EventKind.CONFTOOL,
         {"tool": "conftool", "action": "set/pooled=no", "selector": "name=cp3050"}),
        ("bob: Backport for [[gerrit:1|x]] synced to the testservers: mwdebug1001", EventKind.BACKPORT,
         {"tool": "scap", "action": "backport", "phase": "testservers"}),
        ("scap failed: oops (duration: 01m 02s)", EventKind.ABORT, {"tool": "abort", "duration_s": 62}),
        ("Locking from deployment [ops/mediawiki-config]: train", EventKind.LOG, {"tool": "lock", "target": "ops/mediawiki-config"}),
        ("Unlocked for deployment []: done", EventKind.LOG, {"tool": "lock", "target": ""}),
        ("synchronized php-1.5/x.php 'a fix'", EventKind.SYNC, {"tool": "scap", "action": "sync", "target": "php-1.5/x.php"}),
        ("reverted the config change", EventKind.LOG, {"revert": True}),
        ("Rolled back the train", EventKind.LOG, {"revert": True}),
        ("a revertible change", EventKind.LOG, {}),
    ],
    ids=["scap-start", "scap-start-sub", "scap-finish", "sync-file", "sync-backport", "scap-train", "wikiversions",
         "wikiversions-php", "wikiversions-no-group", "scap3-start", "scap3-unknown", "scap3-of", "scap3-setup",
         "cookbook-end", "cookbook-lower", "cookbook-error", "dbctl", "dbctl-failed", "conftool", "testservers", "abort",
         "lock", "unlock", "old-sync", "reverted", "rolled-back", "revertible"],
)  # fmt: skip
def test_each_deploy_tool_line_with_all_its_fields(message: str, kind: EventKind, data: dict[str, object]) -> None:
    assert classify(message) == (kind, data)


def one_day(*lines: str, page: str = "SAL") -> Export:
    return Export("sal", ((page, "== 2023-02-14 ==\n" + "\n".join(lines) + "\n"),))


DAY = Query(Window(utc(2023, 2, 14), utc(2023, 2, 15)))


@pytest.mark.parametrize(
    ("line", "actor", "host", "text"),
    [
        ("* 10:00 alice@deploy1002: hello", "alice@deploy1002", "deploy1002", "hello"),
        ("* 10:00 logmsgbot: hashar@tin Synchronized x: y", "hashar@tin", "tin", "Synchronized x: y"),
        ("* 10:00 logmsgbot_cloud: bd808@cloudcontrol1005 restarted nova", "bd808@cloudcontrol1005", "cloudcontrol1005", "restarted nova"),
        ("* 10:00 LogMsgBot: ana@mwmaint1002 ran a script", "ana@mwmaint1002", "mwmaint1002", "ran a script"),
        ("* 10:00 wm-bot: ana@x1 a", "ana@x1", "x1", "a"),
        ("* 10:00 wm-bot2: ana@x2 b", "ana@x2", "x2", "b"),
        ("* 10:00 logmsgbot: wmbot~bob@host1 rest", "bob@host1", "host1", "rest"),
        ("* 10:00 wmbot~carol: hi", "carol", None, "hi"),
        ("* 10:00 [[User:Dave|Dave]]: hi", "Dave", None, "hi"),
        ("* 10:00 [[Erin]]: hi", "Erin", None, "hi"),
        ("* 10:00 logmsgbot: catrope synchronized php/x.php 'msg'", "catrope", None, "synchronized php/x.php 'msg'"),
        ("* 10:00 logmsgbot: no relay here", "logmsgbot", None, "no relay here"),
        ("* 10:00 otherbot: ana@x3 c", "otherbot", None, "ana@x3 c"),
    ],
    ids=["stashbot", "logmsgbot", "logmsgbot-cloud", "case", "wm-bot", "wm-bot2", "relayed-wmbot", "wmbot", "user-link",
         "plain-link", "old-sync", "no-relay", "other-bot"],
)  # fmt: skip
def test_relays_give_the_user_and_host_behind_them(line: str, actor: str, host: str | None, text: str) -> None:
    (event,) = parse(one_day(line), DAY).events
    assert (event.actor, event.data.get("host"), event.text) == (actor, host, text)


def test_an_event_field_by_field() -> None:
    import hashlib

    line = "* 18:16 logmsgbot: bob@deploy1002 Finished scap: revert of T123 (duration: 02m 30s)"
    export = Export("sal", (("Server Admin Log", "intro\n== 2023-02-14 ==\n" + line + "\n"),),
                    {"pages": {"Server Admin Log": {"title": "Server Admin Log", "project": "Wikimedia"}}})  # fmt: skip
    (event,) = parse(export, DAY).events
    digest = hashlib.sha1(b"logmsgbot\x00bob@deploy1002 Finished scap: revert of T123 (duration: 02m 30s)").hexdigest()
    assert event.key == f"sal:2023-02-14T18:16:{digest[:10]}"
    assert (event.time, event.started, event.source, event.kind) == (utc(2023, 2, 14, 18, 16), utc(2023, 2, 14, 18, 13, 30), "sal", EventKind.SYNC)
    assert (event.actor, event.text, event.tasks, event.raw) == (
        "bob@deploy1002", "Finished scap: revert of T123 (duration: 02m 30s)", ("T123",), "Server Admin Log:3"
    )
    assert event.data == {"tool": "scap", "action": "scap", "phase": "finish", "duration_s": 150, "revert": True,
                          "project": "Wikimedia", "host": "deploy1002"}  # fmt: skip


def test_repeated_entries_are_numbered_and_the_page_title_and_project_come_from_the_export() -> None:
    lines = ("* 18:16 alice: same", "* 18:16 alice: same", "* 18:16 alice: same")
    text = "== February 14 ==\n" + "\n".join(lines) + "\n"
    meta = {"pages": {"p1": {"title": "SAL/Archive 2022", "project": "Cloud", "year": 2023}}}  # the year given wins
    events = parse(Export("sal", (("p1", text),), meta), DAY).events
    keys = [e.key for e in events]
    assert [k.rsplit(":", 1)[1] for k in keys[1:]] == ["1", "2"] and keys[0].count(":") == 3
    assert len(set(keys)) == 3
    assert {e.raw for e in events} == {"SAL/Archive 2022:2", "SAL/Archive 2022:3", "SAL/Archive 2022:4"}
    assert {e.data["project"] for e in events} == {"Cloud"}
    plain = parse(Export("sal", (("SAL/2023", text),)), DAY).events  # no meta: the name is title and project, its year too
    assert {e.data["project"] for e in plain} == {"SAL/2023"} and len(plain) == 3


@pytest.mark.parametrize(
    ("line", "kept"),
    [
        ("* 23:59 a: last minute", True),
        ("* 00:00 a: next day", False),
        ("* 00:05 a: Finished scap: x (duration: 06m 00s)", True),  # started 23:59, inside
        ("* 00:05 a: Finished scap: x (duration: 05m 00s)", False),  # started at the end: outside
    ],
    ids=["last-minute", "next-day", "reaches-back", "starts-at-end"],
)
def test_the_window_end_with_and_without_a_duration(line: str, kept: bool) -> None:
    day = "2023-02-15" if line.startswith("* 00") else "2023-02-14"
    export = Export("sal", (("SAL", f"== {day} ==\n{line}\n"),))
    assert len(parse(export, DAY).events) == int(kept)


def test_an_entry_before_the_window_start_is_left_out() -> None:
    events = parse(one_day("* 09:59 a: before", "* 10:00 b: at the start"), Query(Window(utc(2023, 2, 14, 10), utc(2023, 2, 15)))).events
    assert [e.actor for e in events] == ["b"]


# --- the archive index (a cache in the user folder) -------------------------------------------------


def test_the_archive_index_is_read_back_and_a_damaged_one_is_a_miss(tmp_path: Path) -> None:
    from incidentkit.config import Settings

    source = sal.SalSource(Settings())
    assert source.index_path.name == "sal-archives.json"
    assert source._index() == {}  # none yet
    index = {"SAL/Archive 2": {"revid": 5, "dates": ["2020-01-01", "2020-02-01"]}, "SAL/Archive 1": {"dates": None}}
    source._save_index(index)
    assert source._index() == index
    assert source.index_path.read_text(encoding="utf-8") == json.dumps(index, indent=1, sort_keys=True)
    for damaged in ("{", "[]", '{"a": 1}', '{"a": {"dates": ["2020-01-01"]}}', '{"a": {"dates": ["2020-01-01", 5]}}',
                    '{"a": {"dates": "2020"}}', '{"a": {"dates": "20"}}', b"\xff".decode("latin-1")):  # fmt: skip
        source.index_path.write_text(damaged, encoding="utf-8")
        assert source._index() == {}, damaged


def test_an_index_that_cannot_be_saved_is_only_a_cache_miss(tmp_path: Path) -> None:
    from incidentkit.config import Settings

    source = sal.SalSource(Settings())
    source.index_path = tmp_path / "a-file" / "sal-archives.json"
    (tmp_path / "a-file").write_text("")
    source._save_index({"x": {"dates": None}})  # no error: the next pull reads the archives again
    assert source._index() == {}


def test_a_new_index_folder_is_made(tmp_path: Path) -> None:
    from incidentkit.config import Settings

    source = sal.SalSource(Settings())
    source.index_path = tmp_path / "a" / "b" / "sal-archives.json"
    source._save_index({"x": {"dates": None}})
    assert source._index() == {"x": {"dates": None}}


@pytest.mark.parametrize(
    ("text", "title", "span"),
    [
        ("== 2016-09-15 ==\n* a\n== 2016-09-14 ==\n== 2016-10-01 ==\n", "SAL", ("2016-09-14", "2016-10-01")),
        ("== July 6 ==\n== 2015 July 5 ==\r\n== July 30 ==\n", "SAL/Archive 2015", ("2015-07-05", "2015-07-30")),
        ("== July 6 ==\n", "SAL", None),  # no year anywhere
        ("no headings\n", "SAL", None),
    ],
    ids=["iso", "old-with-title-year", "no-year", "none"],
)
def test_the_days_a_page_spans(text: str, title: str, span: tuple[str, str] | None) -> None:
    assert sal._page_dates(text, title) == span


# --- pulling the live page and the archives it needs (an in-memory wiki) ------------------------------


def _wiki_source(monkeypatch: pytest.MonkeyPatch, pages: dict[str, str], *, wiki_name: str = "", replaced: int = 0) -> tuple[Any, Any]:
    from incidentkit.config import SalSettings, Settings
    from tests.fakes import MemoryWiki

    wiki = MemoryWiki()
    wiki.replaced = replaced  # type: ignore[attr-defined]
    for title, text in pages.items():
        wiki.put(title, text)
    asked: list[str | None] = []

    def connect(given: Settings, name: str | None = None) -> MemoryWiki:
        assert given is settings
        asked.append(name)
        return wiki

    monkeypatch.setattr("incidentkit.clients.mediawiki.connect_wiki", connect)
    settings = Settings(sal=SalSettings(wiki=wiki_name, pages=list(pages)[:1]))
    source = sal.SalSource(settings)
    source.asked = asked  # type: ignore[attr-defined]
    return source, wiki


FEB = Query(Window(utc(2023, 2, 14), utc(2023, 2, 15)))


def test_a_live_page_that_reaches_back_far_enough_is_read_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    live = "== 2023-02-14 ==\n* 10:00 a: x\n== 2023-02-13 ==\n* 10:00 b: y\n"
    source, wiki = _wiki_source(monkeypatch, {"Server Admin Log": live, "Server Admin Log/Archive 1": "== 2023-01-01 ==\n"}, wiki_name="ops")
    export = source.pull(FEB)
    assert export.source == "sal" and export.files == (("Server Admin Log", live),)
    assert export.meta == {"pages": {"Server Admin Log": {"title": "Server Admin Log", "project": "Server Admin Log", "revid": 101}},
                           "wiki": "ops"}  # fmt: skip
    assert source.asked == ["ops"] and wiki.request_count == 1  # no archive listed
    assert not source.index_path.exists()


def test_archives_are_read_only_when_their_days_touch_the_window(monkeypatch: pytest.MonkeyPatch) -> None:
    pages = {
        "Server Admin Log": "== 2023-02-14 ==\n* 10:00 a: live\n",
        "Server Admin Log/Archive 2": "== 2023-02-13 ==\n* 09:00 b: archived\n== 2023-02-01 ==\n",
        "Server Admin Log/Archive 10": "== 2023-02-16 ==\n",  # numbered past 9: read before Archive 2
        "Server admin log/Archive 11": "== 2023-02-15 ==\n",  # the other spelling of the title
        "Server Admin Log/Archive 1": "== 2023-01-31 ==\n== 2023-01-01 ==\n",
        "Server Admin Log/Archive 3": "== 2023-02-17 ==\n",  # after the window's last day
        "Server Admin Log/Archive": "no dates at all\n",
        "Server Admin Log/Archive 4": "== 2023-02-20 ==\n== 2023-02-10 ==\n",  # around the window's days
    }
    source, wiki = _wiki_source(monkeypatch, pages)
    wiki.pages["Server Admin Log/Archive 5"] = []  # listed, gone when read: not in the index
    export = source.pull(FEB)
    assert [name for name, _ in export.files] == [
        "Server Admin Log", "Server admin log/Archive 11", "Server Admin Log/Archive 10", "Server Admin Log/Archive 4",
        "Server Admin Log/Archive 2",
    ]
    assert export.meta["pages"]["Server Admin Log/Archive 2"] == {"title": "Server Admin Log/Archive 2", "project": "Server Admin Log", "revid": 102}
    assert source.asked == [None]
    index = json.loads(source.index_path.read_text(encoding="utf-8"))
    assert index == {
        "Server Admin Log/Archive 2": {"dates": ["2023-02-01", "2023-02-13"], "revid": 102},
        "Server Admin Log/Archive 10": {"dates": ["2023-02-16", "2023-02-16"], "revid": 103},
        "Server admin log/Archive 11": {"dates": ["2023-02-15", "2023-02-15"], "revid": 104},
        "Server Admin Log/Archive 1": {"dates": ["2023-01-01", "2023-01-31"], "revid": 105},
        "Server Admin Log/Archive 3": {"dates": ["2023-02-17", "2023-02-17"], "revid": 106},
        "Server Admin Log/Archive": {"dates": None, "revid": 107},
        "Server Admin Log/Archive 4": {"dates": ["2023-02-10", "2023-02-20"], "revid": 108},
    }
    events = parse(export, FEB).events
    assert [e.text for e in events] == ["live"]  # the archive's 13th is read, but is not in the window
    # the index remembers the archives: the next pull reads the live page, lists, and reads only what it needs
    before = wiki.request_count
    assert source.pull(FEB).files == export.files
    # the page, two listings, the one archive still unknown (Archive 5, gone), the needed archives
    assert wiki.request_count - before == 5


def test_archives_are_read_newest_first_in_one_order_on_every_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """By their numbers, newest first; one number under both spellings in reverse title order (the
    lower-case spelling first); an archive without a number is the oldest."""
    pages = {"Server Admin Log": "== 2023-02-14 ==\n* 10:00 a: live\n", "Server admin log/Archive": "== 2023-02-14 ==\n"}
    for number in range(2, 8):
        pages[f"Server Admin Log/Archive {number}"] = pages[f"Server admin log/Archive {number}"] = "== 2023-02-14 ==\n"
    pages["Server Admin Log/Archive 1"] = "== 2023-02-14 ==\n"
    source, _ = _wiki_source(monkeypatch, pages)
    expected = ["Server Admin Log"]
    for number in range(7, 1, -1):
        expected += [f"Server admin log/Archive {number}", f"Server Admin Log/Archive {number}"]
    expected += ["Server Admin Log/Archive 1", "Server admin log/Archive"]
    assert [name for name, _ in source.pull(FEB).files] == expected


def test_each_configured_page_is_pulled(monkeypatch: pytest.MonkeyPatch) -> None:
    pages = {"Server Admin Log": "== 2023-02-13 ==\n", "Cloud SAL": "== 2023-02-12 ==\n"}
    source, _ = _wiki_source(monkeypatch, pages)
    source.settings.sal.pages.append("Cloud SAL")
    export = source.pull(FEB)  # the first reaches back far enough; the second is still read
    assert [name for name, _ in export.files] == ["Server Admin Log", "Cloud SAL"]
    assert export.meta["pages"]["Cloud SAL"]["project"] == "Cloud SAL"


def test_a_missing_sal_page_is_an_error_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from incidentkit.errors import SourceError

    source, _ = _wiki_source(monkeypatch, {"Server Admin Log": "== 2023-02-14 ==\n"})
    source.settings.sal.pages.append("Release Engineering/SAL")
    for call in (lambda: source.pull(FEB), source.check):
        with pytest.raises(SourceError) as caught:
            call()
        assert caught.value.message == "SAL page 'Release Engineering/SAL' does not exist on wiki ops"
        assert caught.value.hint == "check [sal] pages (and wiki) in the config; `incidentkit config show` prints them"


def test_check_names_the_wiki_and_the_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    source, _ = _wiki_source(monkeypatch, {"Server Admin Log": "x", "Cloud SAL": "y"}, wiki_name="ops")
    source.settings.sal.pages.append("Cloud SAL")
    assert source.check() == "ops: in memory, 2 pages; pages: Server Admin Log, Cloud SAL"
    assert source.asked == ["ops"]


def test_replaced_characters_are_counted_in_the_export(monkeypatch: pytest.MonkeyPatch) -> None:
    source, _ = _wiki_source(monkeypatch, {"Server Admin Log": "== 2023-02-13 ==\n"}, replaced=3)
    assert source.pull(FEB).meta["replaced_characters"] == 3


# --- reading the page: clocks, headings, templates, comments, counts -----------------------------------


@pytest.mark.parametrize(
    ("line", "time"),
    [("* 10:59:59 a: x", utc(2023, 2, 14, 10, 59, 59)), ("* 10:60 a: x", None), ("* 10:00:60 a: x", None),
     ("* 23:59 a: x", utc(2023, 2, 14, 23, 59)), ("* 24:00 a: x", None), ("*10:00 a: x", utc(2023, 2, 14, 10, 0))],
    ids=["second-59", "minute-60", "second-60", "last-minute", "hour-24", "no-space"],
)  # fmt: skip
def test_clock_times_that_exist_and_those_that_do_not(line: str, time: datetime | None) -> None:
    result = parse(one_day(line), DAY)
    assert [e.time for e in result.events] == ([time] if time else [])
    assert [p.reason for p in result.problems] == ([] if time else [f"impossible time {line[2:7].strip()}"])


@pytest.mark.parametrize(
    ("text", "title", "expected"),
    [
        ("== 2015 July 6 ==\n* 10:00 a: b\n", "SAL/2016", [utc(2015, 7, 6, 10)]),  # the heading's own year wins
        ("== July 6 ==\n* 10:00 a: b\n", "SAL/2016", [utc(2016, 7, 6, 10)]),  # then the title's
        ("== July 6 ==\n* 10:00 a: b\n", "SAL", "problem"),  # no year at all
        ("== 2023-02-30 ==\n* 10:00 a: b\n", "SAL", "problem"),
        ("== 2016 February 30 ==\n* 10:00 a: b\n", "SAL", "problem"),
    ],
    ids=["heading-year", "title-year", "no-year", "iso-no-such-day", "old-no-such-day"],
)
def test_the_year_of_a_day_heading(text: str, title: str, expected: object) -> None:
    entries, problems, _ = parse_page(text, title)
    if expected == "problem":
        assert entries == [] and [(p.where, p.reason) for p in problems] == [(f"{title}:1", "date heading without a usable year or date")]
    else:
        assert [e.time for e in entries] == expected and problems == []


def test_without_a_year_in_the_title_the_window_gives_it() -> None:
    window = Window(utc(2016, 7, 6), utc(2016, 7, 7))
    entries, problems, _ = parse_page("== July 6 ==\n* 10:00 a: b\n", "Server Admin Log", window=window)
    assert [e.time for e in entries] == [utc(2016, 7, 6, 10)] and problems == []
    entries, _, _ = parse_page("== July 6 ==\n* 10:00 a: b\n", "SAL/2015", window=window)
    assert [e.time for e in entries] == []  # the title's 2015: a day before the window


def test_template_entries_other_templates_and_escapes() -> None:
    lines = (
        "* {{SAL entry|1=10:00 a: x{{=}}y {{!}} z}}",
        "* {{done|1=not this}} {{SAL entry|1=10:01 b: the second template}}",
        "* {{box|{{SAL entry|1=10:02 c: nested}}}}",
    )
    result = parse(one_day(*lines), DAY)
    assert [(e.actor, e.text) for e in result.events] == [("a", "x=y | z"), ("b", "the second template")]
    assert [(p.where, p.reason) for p in result.problems] == [("SAL:4", "no 'HH:MM nick: message' entry")]


def test_a_plain_stashbot_template_is_read_without_mwparserfromhell(spies: dict[str, Spy]) -> None:
    result = parse(one_day("* {{safesubst:SAL entry|1=10:00 a: plain {{!}} piped}}"), DAY)
    assert [e.text for e in result.events] == ["plain | piped"]
    assert spies["mwparserfromhell"].seen == []


def test_comments_with_line_breaks_keep_the_line_numbers() -> None:
    text = "== 2023-02-14 ==\n<!-- a comment\nover\nthree lines -->\n* 10:00 a: b\n* around noon\n"
    result = parse(Export("sal", (("SAL", text),)), DAY)
    assert [e.raw for e in result.events] == ["SAL:5"]
    assert [p.where for p in result.problems] == ["SAL:6"]


def test_a_page_that_starts_with_a_blank_line_numbers_its_lines_from_it() -> None:
    result = parse(Export("sal", (("SAL", "\n== 2023-02-14 ==\n* 10:00 a: b\n* nothing\n"),)), DAY)
    assert [e.raw for e in result.events] == ["SAL:3"] and [p.where for p in result.problems] == ["SAL:4"]


def test_problems_quote_at_most_200_characters() -> None:
    long = "* " + "n" * 300
    impossible = "* 25:00 a: " + "x" * 300
    result = parse(one_day(long, impossible), DAY)
    assert [p.text for p in result.problems] == [long[:200], impossible[:200]]


def test_wrapped_lines_and_pages_add_up_the_lines_read() -> None:
    text = "== 2023-02-14 ==\n* 10:00 a: first\nwrapped onto a second line\nand a third\n* 10:05 b: second\n"
    export = Export("sal", (("SAL", text), ("Other SAL", text)))
    result = parse(export, DAY)
    assert result.lines_read == 4 and result.source == "sal"
    assert [e.text for e in result.events if e.raw == "SAL:2"] == ["first wrapped onto a second line and a third"]


def test_a_wrapped_line_after_several_entries_is_not_a_line_read() -> None:
    result = parse(one_day("* 10:00 a: x", "* 10:01 b: y", "* 10:02 c: z", "wrapped onto the next line"), DAY)
    assert result.lines_read == 3 and [e.text for e in result.events][-1] == "z wrapped onto the next line"


def test_a_window_ending_just_after_midnight_reads_the_next_day() -> None:
    export = Export("sal", (("SAL", "== 2023-02-15 ==\n* 00:00 a: at midnight\n"),))
    window = Window(utc(2023, 2, 14), datetime(2023, 2, 15, 0, 0, 0, 1, tzinfo=UTC))
    assert [e.text for e in parse(export, Query(window)).events] == ["at midnight"]


def test_a_cookbook_that_names_a_train_group_stays_a_cookbook() -> None:
    assert classify("START - Cookbook sre.deploy group1 to 1.41.0-wmf.1")[0] is EventKind.COOKBOOK


def test_a_nick_with_two_at_signs_splits_at_the_first() -> None:
    (event,) = parse(one_day("* 10:00 ana@x@y: hi"), DAY).events
    assert (event.actor, event.data["host"]) == ("ana@x@y", "x@y")


# --- days outside the window: counted as reading them would count, read only when they may reach back ---

AWAY = Window(utc(2023, 3, 1), utc(2023, 3, 2))


@pytest.mark.parametrize(
    ("body", "count"),
    [
        ("10:00 a: an entry without its bullet\nwrapped text\n** a sub-bullet\n* 11:00 b: a bullet\n", 2),
        ("* not an entry\nwrapped, but under no entry\n* 10:00 a: x\nmore of it\n", 3),
        ("{{SAL entry|1=10:00 a: x}}\n: an indented continuation\n", 1),
        ("* 25:00 a: impossible\ntext under no entry\n", 2),
        ("*10:00 a: x\n  wrapped\n", 1),
        ("** a sub-bullet under nothing\n10:00 a: entry\n", 2),
        ("* 10:00 a: x\n10:05 b: an entry of its own\n", 2),
        ("* 10:00 a: x\n10:61 b: an impossible one of its own\n", 2),
        ("* 10:00 a: x\n* 11:00 b: y\n\n* 12:00 c: z\n", 3),
        ("* 10:00 a: x\n\nwrapped after a blank line\n* 11:00 b: y\n", 2),
        ("* 10:00 a: x\nx10:05 b: text that only looks like an entry\n", 1),
        ("text under no entry\n* 10:00 a: x\n", 2),
    ],
    ids=["no-bullet", "no-entry-first", "template", "impossible-first", "tight-bullet", "orphan-sub", "two-entries",
         "impossible-second", "regular", "blank-line", "almost-an-entry", "irregular-first-only"],
)  # fmt: skip
def test_a_day_outside_the_window_counts_the_lines_reading_it_counts(body: str, count: int) -> None:
    text = "== 2023-02-10 ==\n" + body + "== 2023-02-09 ==\n* 10:00 z: the day before\n"
    assert parse_page(text, "SAL", window=AWAY)[2] == count + 1  # counted only
    assert parse_page(text, "SAL")[2] == count + 1  # read


@pytest.mark.parametrize(
    ("duration", "reaches"),
    [("60m 01s", True), ("60m 00s", False), ("59m 59s", False)],
    ids=["past-the-gap", "the-gap", "short"],
)
def test_a_day_after_the_window_is_read_only_for_a_duration_longer_than_the_gap(
    spies: dict[str, Spy], duration: str, reaches: bool
) -> None:
    # the window ends an hour before the day: a duration must be longer than an hour to reach back
    message = f"Finished scap: x (duration: {duration})"
    text = f"== 2023-03-02 ==\n* 00:00 a: {message}\n"
    result = parse(Export("sal", (("SAL", text),)), Query(Window(utc(2023, 3, 1, 22), utc(2023, 3, 1, 23))))
    assert [e.text for e in result.events] == ([message] if reaches else [])
    assert spies["classify"].seen == ([message] if reaches else [])
    assert result.lines_read == 1


def test_a_day_after_the_window_without_durations_is_never_parsed(spies: dict[str, Spy]) -> None:
    text = "== 2023-03-03 ==\n* {{SAL entry|1=09:00 bob: odd template}} tail\n* 10:00 a: plain\n"
    result = parse(Export("sal", (("SAL", text),)), Query(Window(utc(2023, 3, 2), utc(2023, 3, 2, 23))))
    assert result.events == () and result.lines_read == 2
    assert spies["mwparserfromhell"].seen == [] and spies["entry"].seen == []


def test_entries_outside_the_window_without_a_duration_are_never_classified(spies: dict[str, Spy]) -> None:
    lines = ("* 09:59 z: before", "* 10:59 a: inside", "* 11:00 b: at the end")
    result = parse(one_day(*lines), Query(Window(utc(2023, 2, 14, 10), utc(2023, 2, 14, 11))))
    assert [e.text for e in result.events] == ["inside"]
    assert spies["classify"].seen == ["inside"]


def test_a_page_with_every_kind_of_line_break_at_once() -> None:
    breaks = ["\r\n", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]
    text = "== 2023-02-14 ==" + "".join(f"{b}* 10:{n:02d} a: x{n}" for n, b in enumerate(breaks)) + "\n"
    result = parse(Export("sal", (("SAL", text),)), DAY)
    assert [(e.text, e.raw) for e in result.events] == [(f"x{n}", f"SAL:{n + 2}") for n in range(len(breaks))]
    assert result.problems == ()
