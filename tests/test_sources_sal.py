"""The SAL parser on real SAL text of every era, and the classification of deploy-tool lines."""

from __future__ import annotations

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
