"""Timeline rows as readers see them: one row per fact across sources, and each row in a few words."""

from __future__ import annotations

from dataclasses import replace as replace_event
from datetime import UTC, datetime, timedelta

import pytest

from incidentkit.model.event import Event, EventKind
from incidentkit.model.row import Row
from incidentkit.model.row import row_from_event as row_of
from incidentkit.timeline.dedupe import actor_nick, merge_duplicates
from incidentkit.timeline.rows import build_rows
from incidentkit.timeline.wording import fold_hosts, page_text, short_label, word_rows

T0 = datetime(2023, 2, 14, 18, 44, tzinfo=UTC)


def event(source: str, kind: EventKind, text: str, *, seconds: int = 0, actor: str | None = "cwhite",
          tasks: tuple[str, ...] = ("T329510",), **data: object) -> Event:  # fmt: skip
    return Event(
        time=T0 + timedelta(seconds=seconds), source=source, kind=kind, key=f"{source}:{kind}:{seconds}:{text}",
        text=text, actor=actor, tasks=tasks, data=data,
    )  # fmt: skip


SAL_OPENED = event("sal", EventKind.LOG, "opened T329510 for the logged-in pageview fatals")
PHAB_CREATED = event("phabricator", EventKind.TASK_CREATED, "T329510 created: Fatals", seconds=10, task="T329510", title="Fatals")


# --- one row per fact ------------------------------------------------------------------------------


def test_the_same_action_from_two_sources_is_one_row_with_both_in_its_provenance() -> None:
    (row,) = build_rows([PHAB_CREATED, SAL_OPENED])
    assert row.key == SAL_OPENED.key and row.text == SAL_OPENED.text  # the person's own words
    assert row.provenance == ("sal", "phabricator") and row.source == "sal"
    assert set(row.events) == {SAL_OPENED.key, PHAB_CREATED.key}
    assert build_rows([SAL_OPENED, PHAB_CREATED]) == [row]  # whichever source answered first


@pytest.mark.parametrize(
    ("other", "why"),
    [
        (event("phabricator", EventKind.TASK_CREATED, "T329510 created", seconds=61), "more than a minute apart"),
        (event("phabricator", EventKind.TASK_CREATED, "T329511 created", seconds=10, tasks=("T329511",)), "another task"),
        (event("phabricator", EventKind.TASK_CREATED, "T329510 created", seconds=10, actor="taavi"), "another person and kind"),
        (event("sal", EventKind.LOG, "also T329510", seconds=10), "the same source"),
    ],
)
def test_different_facts_stay_apart(other: Event, why: str) -> None:
    assert len(build_rows([SAL_OPENED, other])) == 2, why


def test_the_same_kind_from_two_sources_merges_without_an_actor() -> None:
    a = event("phabricator", EventKind.TASK_STATUS, "T1 status changed", actor=None, tasks=("T1",))
    b = event("irc", EventKind.TASK_STATUS, "T1 resolved", seconds=30, actor="stashbot", tasks=("T1",))
    (row,) = build_rows([a, b])
    assert row.provenance == ("phabricator", "irc") and row.text == "T1 status changed"  # the earlier one


def test_actor_nick() -> None:
    assert [actor_nick(a) for a in ("urbanecm@deploy1002", "<+icinga-wm>", "taavi:", "", None, "a@b@c", " @ ", "Xavier@host", "maX:")] == [
        "urbanecm", "icinga-wm", "taavi", None, None, "a", None, "Xavier", "maX",
    ]  # fmt: skip


def test_exactly_a_minute_apart_is_still_the_same_fact() -> None:
    assert len(build_rows([SAL_OPENED, event("phabricator", EventKind.TASK_CREATED, "T329510 created", seconds=60)])) == 1


@pytest.mark.parametrize(
    ("winner", "other"),
    [
        (event("sal", EventKind.LOG, "rolled back", seconds=30), event("scap", EventKind.SYNC, "Synchronized php")),
        (event("manual", EventKind.MANUAL, "rolled back", seconds=30), event("scap", EventKind.SYNC, "Synchronized php")),
        (event("scap", EventKind.SYNC, "Synchronized php", seconds=30), event("phabricator", EventKind.TASK_STATUS, "T329510 closed")),
    ],
)
def test_a_persons_words_beat_a_tools_line_which_beats_a_trackers(winner: Event, other: Event) -> None:
    (row,) = build_rows([other, winner])
    assert (row.key, row.text) == (winner.key, winner.text)


def test_a_merged_row_takes_what_only_the_other_source_knew() -> None:
    words = Event(time=T0, source="sal", kind=EventKind.LOG, key="sal:1", text="opened T329510", actor="cwhite",
                  tasks=("T329510",), data={"a": "sal", "b": "sal"})  # fmt: skip
    task = Event(time=T0 + timedelta(seconds=5), source="phabricator", kind=EventKind.LOG, key="phab:1",
                 text="T329510 created", actor=None, url="https://phab.example/T329510", tasks=("T329511", "T329510"),
                 data={"b": "phab", "c": "phab"})  # fmt: skip
    (row,) = build_rows([task, words])
    assert (row.key, row.actor, row.url) == ("sal:1", "cwhite", "https://phab.example/T329510")
    assert row.tasks == ("T329510", "T329511") and row.events == ("sal:1", "phab:1")
    assert row.data == {"a": "sal", "b": "sal", "c": "phab"}  # the kept row's data wins
    anonymous = Event(time=T0, source="sal", kind=EventKind.LOG, key="sal:2", text="T329510 opened", tasks=("T329510",))
    (kept,) = build_rows([anonymous, replace_event(words, source="irc", key="irc:1", time=T0 + timedelta(seconds=5))])
    assert (kept.key, kept.actor) == ("sal:2", "cwhite")  # the words win, the other source names who


# --- a few words --------------------------------------------------------------------------------------


def row(kind: EventKind, text: str, *, actor: str | None = "urbanecm@deploy1002", **data: object) -> Row:
    return Row(key=f"k:{text}", time=T0, text=text, source="sal", kind=kind, actor=actor, data=dict(data))


@pytest.mark.parametrize(
    ("kind", "text", "expected"),
    [
        (EventKind.BACKPORT, "Started scap: Backport for [[gerrit:1|Fix X]]", "urbanecm: started the backport of [[gerrit:1|Fix X]]"),
        (EventKind.BACKPORT, "Finished scap: Backport for [[gerrit:1|Fix X]] (duration: 09m 12s)", "urbanecm: finished the backport of [[gerrit:1|Fix X]] in 9 min"),
        (EventKind.ABORT, "scap aborted: Backport for [[gerrit:1|Fix X]] (duration: 19m 31s)", "urbanecm: aborted the backport of [[gerrit:1|Fix X]] after 20 min"),
        (EventKind.SYNC, "Synchronized wmf-config/InitialiseSettings.php: Config: enable X (duration: 00m 49s)", "urbanecm: synchronized wmf-config/InitialiseSettings.php: Config: enable X"),
        (EventKind.DEPLOY, "Finished deploy [ores/deploy@5084251]: Updating ORES (duration: 49m 54s)", "urbanecm: finished deploying ores/deploy: Updating ORES (50 min)"),
        (EventKind.TRAIN, "rebuilt and synchronized wikiversions files: group1 to 1.41.0-wmf.1", "urbanecm: synchronized wikiversions: group1 to 1.41.0-wmf.1"),
        (EventKind.BACKPORT, "urbanecm and volunteer-x: Backport for [[gerrit:1|Fix X]] synced to the testservers: mwdebug2001.codfw.wmnet, mwdebug1001.eqiad.wmnet", "urbanecm: synced the backport of [[gerrit:1|Fix X]] to the test servers (2 hosts) for urbanecm and volunteer-x"),
        (EventKind.LOG, "restarting php-fpm on mw1001, mw1002, mw1003, mw1004, mw1005", "urbanecm: restarting php-fpm on mw1001, mw1002 and 3 more hosts"),
        (EventKind.BACKPORT, "Started scap sync-world: Config: X", "urbanecm: started scap sync-world: Config: X"),
        (EventKind.SYNC, "Finished scap: Config: X (duration: 01m 05s)", "urbanecm: finished scap: Config: X in 1 min"),
        (EventKind.ABORT, "scap failed: Backport for [[gerrit:1|Fix X]] (duration: 00m 59s)", "urbanecm: the backport of [[gerrit:1|Fix X]] failed after 1 min"),
        (EventKind.ABORT, "sync-file aborted: wmf-config/x.php", "urbanecm: aborted scap: wmf-config/x.php"),
        (EventKind.ABORT, "scap failed: Config: X", "urbanecm: scap: Config: X failed"),
        (EventKind.SYNC, "Synchronized php: group1 wikis to 1.31.0-wmf.27", "urbanecm: synchronized php: group1 wikis to 1.31.0-wmf.27"),
        (EventKind.DEPLOY, "Starting restart of [citoid/deploy@abc]: restart", "urbanecm: started restarting citoid/deploy: restart"),
        (EventKind.DEPLOY, "Started setup [kartotherian/deploy]: setup", "urbanecm: started setting up kartotherian/deploy: setup"),
        (EventKind.DEPLOY, "Finished deploy [ores/deploy@5084251]: Updating ORES", "urbanecm: finished deploying ores/deploy: Updating ORES"),
        (EventKind.TRAIN, "rebuilt wikiversions.php and synchronized wikiversions files: all wikis to 1.41.0-wmf.2", "urbanecm: synchronized wikiversions: all wikis to 1.41.0-wmf.2"),
        (EventKind.DEPLOY, "helm upgrade (duration: 02m 00s)", "urbanecm: helm upgrade (2 min)"),
        (EventKind.DEPLOY, "helm upgrade", "urbanecm: helm upgrade"),
        (EventKind.BACKPORT, "jo: Backport for [[gerrit:1|Fix X]] synced to the testservers", "urbanecm: synced the backport of [[gerrit:1|Fix X]] to the test servers for jo"),
        (EventKind.BACKPORT, "jo: Backport for [[gerrit:1|Fix X]] synced to the testservers: a1,b2, c3", "urbanecm: synced the backport of [[gerrit:1|Fix X]] to the test servers (3 hosts) for jo"),
        (EventKind.DBCTL, "dbctl commit (dc=all): 'Depool db1', diff saved to https://x/P1 and previous config saved to /x.json", "urbanecm: dbctl commit (dc=all): 'Depool db1'"),
        (EventKind.SILENCE, "Silence for MediaWikiFatals until 19:00", "urbanecm: silenced MediaWikiFatals until 19:00"),
        (EventKind.LOG, "Silence for X on mw1001, mw1002, mw1003, mw1004", "urbanecm: Silence for X on mw1001, mw1002 and 2 more hosts"),
        (EventKind.ALERT_FIRING, "Down on mw1001, mw1002, mw1003, mw1004", "Down on mw1001, mw1002, mw1003, mw1004"),
        (EventKind.MANUAL, "hand: [[gerrit:1|a very long change title that goes on and on well past fifty characters]]", "hand: [[gerrit:1|a very long change title that goes on and on well past fifty characters]]"),
        (EventKind.LOG, "deployed [[gerrit:1|Fix X]] and [[gerrit:2|Fix Y]]", "urbanecm: deployed [[gerrit:1|Fix X]] and [[gerrit:2|Fix Y]]"),
    ],
)
def test_deploy_and_log_rows_in_a_few_words(kind: EventKind, text: str, expected: str) -> None:
    assert page_text(row(kind, text)) == expected


def test_task_transactions_read_as_actions_and_edited_text_is_the_owners() -> None:
    def phab(kind: EventKind, **data: object) -> Row:
        return row(kind, "source text", actor="cwhite", task="T1", **data)

    assert page_text(phab(EventKind.TASK_CREATED, title="Fatals")) == "cwhite: opened T1 – Fatals"
    assert page_text(phab(EventKind.TASK_STATUS, new_name="Resolved", closed=True)) == "cwhite: closed T1 as Resolved"
    assert page_text(phab(EventKind.TASK_STATUS, new_name="Stalled", closed=False)) == "cwhite: set T1 to Stalled"
    assert page_text(phab(EventKind.TASK_PRIORITY, new="Unbreak Now!")) == "cwhite: raised the priority of T1 to Unbreak Now!"
    assert page_text(phab(EventKind.TASK_OWNER, claimed=True)) == "cwhite: claimed T1"
    assert page_text(phab(EventKind.TASK_OWNER, owner="taavi")) == "cwhite: assigned T1 to taavi"
    assert page_text(phab(EventKind.TASK_COMMENT)) == "cwhite: source text"
    edited = row(EventKind.BACKPORT, "Started scap: Backport for [[gerrit:1|Fix X]]").with_changes(edited=True)
    assert page_text(edited) == "urbanecm: Started scap: Backport for [[gerrit:1|Fix X]]"
    assert page_text(row(EventKind.ALERT_FIRING, "X firing", actor=None)) == "X firing"


def test_a_change_title_is_cut_to_a_few_words_and_keeps_its_task() -> None:
    assert short_label("DiscussionTools: register the new hooks in extension.json") == "DiscussionTools: register the new hooks…"
    assert short_label('Revert "DiscussionTools: register the new hooks in extension.json" (T329510)') == (
        'Revert "DiscussionTools: register the new hooks…"'
    )
    assert short_label("Fix X") == "Fix X"
    worded = page_text(row(EventKind.BACKPORT, 'Started scap: Backport for [[gerrit:888005|Revert "DiscussionTools: register the new hooks in extension.json" (T329510)]]'))
    assert worded.endswith('[[gerrit:888005|Revert "DiscussionTools: register the new hooks…"]] (T329510)')
    assert fold_hosts("a1, b2, c3") == "a1, b2, c3"  # three are kept


def test_a_deploy_naming_the_same_changes_again_says_the_backport() -> None:
    started = row(EventKind.BACKPORT, "Started scap: Backport for [[gerrit:1|Fix X]]")
    synced = row(EventKind.BACKPORT, "urbanecm: Backport for [[gerrit:1|Fix X]] synced to the testservers: mwdebug1001.eqiad.wmnet")
    other = row(EventKind.BACKPORT, "Started scap: Backport for [[gerrit:1|Fix X]]", actor="taavi@deploy1002")
    finished = row(EventKind.BACKPORT, "Finished scap: Backport for [[gerrit:1|Fix X]] (duration: 01m 00s)")
    texts = [r.page_text for r in word_rows([started, synced, other, finished])]
    assert texts == [
        "urbanecm: started the backport of [[gerrit:1|Fix X]]",
        "urbanecm: synced the backport to the test servers (mwdebug1001.eqiad.wmnet) for urbanecm",
        "taavi: started the backport of [[gerrit:1|Fix X]]",  # someone else's: named in full
        "urbanecm: finished the backport in 1 min",
    ]
    dbctl = row(EventKind.DBCTL, "dbctl commit (dc=all): 'Repool db1173', diff saved to https://x.example/P1 and previous config saved to /var/x.json", diff="https://x.example/P1")
    (worded,) = word_rows([dbctl])
    assert (worded.page_text, worded.url) == ("urbanecm: dbctl commit (dc=all): 'Repool db1173'", "https://x.example/P1")


def test_who_is_the_actor_nick_and_an_empty_line_stays_empty() -> None:
    assert page_text(row(EventKind.LOG, "restarted", actor=None)) == "restarted"
    assert page_text(row(EventKind.LOG, "", actor="jo")) == ""
    assert page_text(row(EventKind.MANUAL, "hand-written", actor="jo")) == "hand-written"
    assert page_text(row(EventKind.LOG, "restarted", actor="<jo>")) == "jo: restarted"


def test_task_transactions_without_their_data_keep_the_source_text() -> None:
    def phab(kind: EventKind, **data: object) -> str:
        return page_text(row(kind, "source text", actor="cwhite", **data))

    assert phab(EventKind.TASK_CREATED, title="Fatals") == "cwhite: source text"  # no task id
    assert phab(EventKind.TASK_CREATED, task="T1") == "cwhite: source text"
    assert phab(EventKind.TASK_STATUS, task="T1", new_name="Open", was_closed=True) == "cwhite: reopened T1"
    assert phab(EventKind.TASK_STATUS, task="T1", closed=True) == "cwhite: source text"
    assert phab(EventKind.TASK_COMMENT, task="T1", preview="is it fixed?") == "cwhite: commented on T1: is it fixed?"
    assert phab(EventKind.TASK_PRIORITY, task="T1") == "cwhite: source text"
    assert phab(EventKind.TASK_OWNER, task="T1") == "cwhite: source text"
    assert phab(EventKind.TASK_OWNER, task="T1", claimed=False, owner="taavi") == "cwhite: assigned T1 to taavi"


def test_labels_are_cut_at_fifty_characters_at_a_word_without_a_dangling_word() -> None:
    fifty = "a" * 20 + " " + "b" * 29
    assert short_label(fifty) == fifty
    assert short_label(fifty + "c") == "a" * 20 + "…"
    assert short_label("  Fix   X  ") == "Fix X"
    assert short_label("Make the cache of the parser use the new key for the pages") == "Make the cache of the parser use the new key…"
    assert short_label("Make the cache of the parser use the new key for the pages", limit=20) == "Make the cache…"
    assert short_label("Fix: a handler (for the thing, with more words here, and more, and so on)") == "Fix: a handler (for the thing, with more words…"
    assert short_label('Revert "Fix: a handler for the thing with more words and" and more') == 'Revert "Fix: a handler for the thing with more…"'
    assert short_label('Revert "Fix X" and make the cache of the parser use new keys for all') == 'Revert "Fix X" and make the cache of the parser…'
    assert short_label("Update the configuration of the parser cache MAX, and then the rest") == (
        "Update the configuration of the parser cache MAX…"
    )
    assert short_label("(WIP) Update the configuration of the parser cache, and the rest") == "(WIP) Update the configuration of the parser…"


def test_a_cut_label_keeps_each_task_it_dropped_after_the_link() -> None:
    text = "deployed [[gerrit:9|Make the cache of the parser use the new key for pages (T1, T2)]] for T1"
    assert page_text(row(EventKind.LOG, text)) == (
        "urbanecm: deployed [[gerrit:9|Make the cache of the parser use the new key…]] (T1, T2) for T1"
    )


def test_four_hosts_fold_to_the_first_ones_and_how_many_more() -> None:
    assert fold_hosts("mw1001 mw1002 mw1003 mw1004") == "mw1001, mw1002 and 2 more hosts"
    assert fold_hosts("mw1001 mw1002 mw1003 mw1004", listed=3) == "mw1001, mw1002, mw1003 and 1 more hosts"
    assert fold_hosts("on db1001.eqiad.wmnet, db1002.eqiad.wmnet, db2003, db2004 now") == (
        "on db1001.eqiad.wmnet, db1002.eqiad.wmnet and 2 more hosts now"
    )


def test_hidden_deploys_and_changeless_ones_do_not_make_the_next_say_the_backport() -> None:
    started = row(EventKind.BACKPORT, "Started scap: Backport for [[gerrit:1|Fix X]]")
    finished = row(EventKind.BACKPORT, "Finished scap: Backport for [[gerrit:1|Fix X]]")
    texts = [r.page_text for r in word_rows([started.with_changes(hidden=True), finished])]
    assert texts == ["urbanecm: started the backport of [[gerrit:1|Fix X]]", "urbanecm: finished the backport of [[gerrit:1|Fix X]]"]
    plain = row(EventKind.SYNC, "Started scap: Config: X")
    assert [r.page_text for r in word_rows([plain, plain])] == ["urbanecm: started scap: Config: X"] * 2
    logged = row(EventKind.LOG, "about [[gerrit:1|Fix X]]")
    assert word_rows([started, logged, finished])[2].page_text == "urbanecm: finished the backport"


def test_a_dbctl_row_links_its_diff_only_when_it_has_no_link_and_the_diff_is_a_url() -> None:
    dbctl = row(EventKind.DBCTL, "dbctl commit (dc=all): 'Repool db1'", diff="/var/x.json")
    assert word_rows([dbctl])[0].url is None
    linked = dbctl.with_changes(url="https://x/own", data={"diff": "https://x/P1"})
    assert word_rows([linked])[0].url == "https://x/own"
    log = row(EventKind.LOG, "noted", diff="https://x/P1")
    assert word_rows([log])[0].url is None


def test_a_merged_row_that_moved_a_minute_still_meets_the_next_report() -> None:
    # a tool's line, then the person's words a minute later (they win: the row moves to their time),
    # then the tracker a minute after that: one fact, though the first report is two minutes old
    tool = event("scap", EventKind.SYNC, "Synchronized php")
    words = event("sal", EventKind.LOG, "synced the fix for T329510", seconds=60)
    tracker = event("phabricator", EventKind.TASK_STATUS, "T329510 resolved", seconds=120)
    (row,) = merge_duplicates([row_of(e) for e in (tool, words, tracker)])
    assert (row.key, row.time, row.provenance) == (words.key, words.time, ("sal", "scap", "phabricator"))


def test_alert_rows_are_never_merged_here_even_with_a_task() -> None:
    rows = [
        Row(key=f"{source}:a", time=T0, text="X firing", source=source, kind=EventKind.ALERT_FIRING, tasks=("T1",))
        for source in ("irc", "prometheus")
    ]
    assert merge_duplicates(rows) == rows
