"""People's words in IRC logs: chat events in the raw log, hidden from the curated timeline until pinned."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from incidentkit.config import TimelineSettings
from incidentkit.model.curation import CurationState, Override
from incidentkit.model.event import EventKind
from incidentkit.model.source import Export, Query
from incidentkit.model.window import Window
from incidentkit.sources.exports import load_export
from incidentkit.sources.irc import parse_irc
from incidentkit.timeline.curate import curate
from incidentkit.timeline.rows import build_rows

FIXTURES = Path(__file__).parent / "fixtures" / "irc"
EXAMPLE = Path(__file__).resolve().parent.parent / "data" / "examples" / "backport-crash"


def window(start: str, end: str) -> Window:
    return Window(datetime.fromisoformat(start).replace(tzinfo=UTC), datetime.fromisoformat(end).replace(tzinfo=UTC))


def chat_of(name: str, text: str, start: str, end: str) -> list[tuple[str, str, str]]:
    result = parse_irc(Export("irc", ((name, text),)), Query(window(start, end)))
    return [(e.time.strftime("%H:%M:%S"), e.actor or "", e.text) for e in result.events if e.kind is EventKind.CHAT]


def test_people_lines_of_a_wm_bot_log_are_chat_and_bots_are_not() -> None:
    text = (FIXTURES / "20160728.txt").read_text()
    assert chat_of("20160728.txt", text, "2016-07-28 12:00", "2016-07-28 14:00") == [
        ("12:40:02", "_joe_", "is anyone looking at the fatals?"),
        ("12:52:44", "_joe_", "looks at mw1017"),  # "* _joe_ looks at mw1017", a /me action
    ]  # "<logmsgbot> !log ..." is a bot relaying the SAL: not chat


@pytest.mark.parametrize(
    "line",
    [
        "[12:00:00] *** Joins: volans (~volans@wikimedia/volans)",  # ZNC
        "[12:00:00] *** volans is now known as volans|away",
        "12:00 -!- volans [~volans@wikimedia/volans] has joined #wikimedia-operations",  # irssi
        "12:00 -!- mode/#wikimedia-operations [+o volans] by ChanServ",
        "2016-07-28 12:00:00\t-->\tvolans (~volans@wikimedia/volans) has joined #wikimedia-operations",  # WeeChat
        "2016-07-28 12:00:00\t<--\tvolans (~volans@wikimedia/volans) has quit (Quit: bye)",
        "2016-07-28 12:00:00\t--\tvolans is now known as volans_",
        "Jul 28 12:00:00 *\tNow talking on #wikimedia-sre",  # HexChat
        "[12:00:00] <stashbot> T141520: fatals on mw1017",
        "[12:00:00] <wikibugs> (PS1) Giuseppe: revert the config change",
        "[12:00:00] <+logmsgbot> !log oblivian@tin Synchronized wmf-config/InitialiseSettings.php",
        "[12:00:00] <ChanServ> volans has been opped",
        "[12:00:00] <volans> ",  # nothing said
        "12:00 volans: pasted from the SAL",  # "nick: message" is a bot's form only
    ],
)
def test_joins_parts_modes_and_bots_stay_out(line: str) -> None:
    assert chat_of("20160728.txt", line + "\n", "2016-07-28 11:00", "2016-07-28 13:00") == []


def test_every_client_format_gives_the_same_chat_line() -> None:
    lines = [
        "[12:46:28] <volans> the appservers are down",
        "12:46:28 <@volans> the appservers are down",
        "2016-07-28 12:46:28\t+volans\tthe appservers are down",
        "Jul 28 12:46:28 <volans>\tthe appservers are down",
        "2016-07-28T12:46:28Z <volans> the appservers are down",
    ]
    for line in lines:
        assert chat_of("20160728.txt", line + "\n", "2016-07-28 12:00", "2016-07-28 13:00") == [
            ("12:46:28", "volans", "the appservers are down")
        ], line


def test_chat_events_carry_channel_tasks_and_a_stable_key() -> None:
    text = "2016-07-28 12:46:28 <volans> opened T141520 for the fatals\n"
    query = Query(window("2016-07-28 12:00", "2016-07-28 13:00"))
    first = parse_irc(Export("irc", (("#wikimedia-operations.2016-07-28.log", text),)), query).events[0]
    again = parse_irc(Export("irc", (("#wikimedia-operations.2016-07-28.log", "--- Day changed\n" + text),)), query).events[0]
    assert first.kind is EventKind.CHAT and first.source == "irc"
    assert first.data == {"channel": "#wikimedia-operations"}
    assert first.tasks == ("T141520",)
    digest = hashlib.sha1(b"volans\nopened T141520 for the fatals").hexdigest()[:12]
    assert first.key == again.key == f"irc:chat:1469709988:{digest}"
    assert first.raw == text.strip()


def test_channel_comes_from_the_configured_path_when_the_file_name_has_none() -> None:
    export = Export("irc", (("20160728.txt", "[12:40:02] <_joe_> hi\n"),), {"path": "/srv/irc/#wikimedia-sre"})
    event = parse_irc(export, Query(window("2016-07-28 12:00", "2016-07-28 13:00"))).events[0]
    assert event.data["channel"] == "#wikimedia-sre"


def test_undated_chat_lines_are_one_problem_per_file() -> None:
    text = "12:40 <volans> hello\n12:41 <volans> anyone?\n12:42 <+icinga-wm> PROBLEM - Apache HTTP on mw1290 is CRITICAL: timeout\n"
    result = parse_irc(Export("irc", (("notes.txt", text),)), Query(window("2016-07-27 12:00", "2016-07-28 13:00")))
    assert [(p.where, p.reason) for p in result.problems] == [
        ("notes.txt:3", "no date for this time-only line (name the file YYYYMMDD.txt or add a date line)"),
        ("notes.txt:1", "2 chat lines with no readable date or time (name the file YYYYMMDD.txt or add a date line)"),
    ]


def test_the_example_log_has_the_first_user_report_and_the_responders() -> None:
    result = parse_irc(load_export("irc", EXAMPLE / "irc"), Query(window("2023-02-14 18:00", "2023-02-14 19:45")))
    chat = [(e.time.strftime("%H:%M:%S"), e.actor) for e in result.events if e.kind is EventKind.CHAT]
    assert ("18:34:51", "ZebraReader") in chat
    assert {actor for _, actor in chat} == {"cwhite", "urbanecm", "ZebraReader", "taavi"}
    assert not result.problems


def test_chat_is_hidden_from_the_curated_timeline_by_default_and_can_be_pinned() -> None:
    result = parse_irc(load_export("irc", EXAMPLE / "irc"), Query(window("2023-02-14 18:00", "2023-02-14 19:45")))
    rows = build_rows(result.events)
    report = next(r for r in rows if r.kind is EventKind.CHAT and r.actor == "ZebraReader")
    curated = curate(rows, CurationState(), TimelineSettings())
    assert all(r.hidden for r in curated.rows if r.kind is EventKind.CHAT)
    assert curated.curation[report.key].hidden_by == "rule: hide_kinds (chat)"
    pinned = curate(rows, CurationState(overrides={report.key: Override(key=report.key, pinned=True)}), TimelineSettings())
    shown = next(r for r in pinned.rows if r.key == report.key)
    assert not shown.hidden and shown.pinned
    assert shown.text == 'logged-in page views on enwiki fail with "Fatal exception of type Error"'


def test_an_action_line_by_a_nick_with_two_modes() -> None:
    text = "[12:46:28] * @volans reboots mw1017\n[12:47:00] <@+taavi> done\n"
    events = parse_irc(Export("irc", (("20160728.txt", text),)), Query(window("2016-07-28 12:00", "2016-07-28 13:00"))).events
    assert [(e.actor, e.text, e.data) for e in events] == [
        ("volans", "reboots mw1017", {"action": True}),
        ("taavi", "done", {}),
    ]
    digest = hashlib.sha1(b"taavi\ndone").hexdigest()[:12]
    assert events[1].key == f"irc:chat:{int(datetime(2016, 7, 28, 12, 47, tzinfo=UTC).timestamp())}:{digest}"


def test_nicks_starting_with_x_are_kept_whole() -> None:
    text = "[12:46:28] <XioNoX> the router is fine\n[12:47:00] <X-ray> and the switch\n"
    assert chat_of("20160728.txt", text, "2016-07-28 12:00", "2016-07-28 13:00") == [
        ("12:46:28", "XioNoX", "the router is fine"),
        ("12:47:00", "X-ray", "and the switch"),
    ]


def test_one_undated_chat_line_is_one_problem_in_the_singular() -> None:
    result = parse_irc(Export("irc", (("notes.txt", "12:40 <volans> hello\n"),)), Query(window("2016-07-27 12:00", "2016-07-28 13:00")))
    assert [(p.where, p.reason) for p in result.problems] == [
        ("notes.txt:1", "1 chat line with no readable date or time (name the file YYYYMMDD.txt or add a date line)")
    ]
