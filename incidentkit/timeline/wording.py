"""How the page words each timeline row: who, then what happened, in a few words.

A source's text is written for its own log: scap says "Started scap: Backport for [[gerrit:…|<full
change title>]]" with the deploy host in the nick and every test server listed, dbctl names the
file it saved, Phabricator says "T123 priority raised to Unbreak Now!" with the actor elsewhere. A
report reads better as ``18:16 urbanecm: started the backport of <change>`` with the change
linked and its title cut to a few words. :func:`word_rows` sets each row's ``page_text`` so;
the row's own ``text`` (what ``timeline show`` lists, what rules and ``--match`` see) stays as the
source wrote it, and text the owner edited is shown as they wrote it.

Pure: rows in, rows out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from ..model.event import ALERT_KINDS, DEPLOY_KINDS, EventKind
from ..model.row import Row
from ..model.tasks import find_tasks
from ..model.time import format_duration
from .dedupe import actor_nick

__all__ = ["LABEL_LIMIT", "HOSTS_LISTED", "word_rows", "page_text", "short_label", "fold_hosts"]

LABEL_LIMIT = 50  # characters of a change title kept in its link label


HOSTS_LISTED = 2  # host names kept when a long list is folded


_DURATION = re.compile(r"\s*\(duration: (\d+)m (\d{2})s\)")
_GERRIT = re.compile(r"\[\[gerrit:(\d+)\|(.*?)\]\]")
_HOST = r"[a-z][a-z0-9-]*\d[a-z0-9-]*(?:\.[a-z0-9-]+)*"
_HOSTS = re.compile(rf"\b{_HOST}(?:,? +{_HOST}){{3,}}\b")
_BACKPORT = re.compile(r"^Backport for (?P<changes>.*)$")
_SCAP = re.compile(r"^(?P<verb>Started|Finished) scap(?: (?P<sub>[\w-]+))?: (?P<msg>.*)$")
_TESTSERVERS = re.compile(r"^(?P<who>[^:]+): Backport for (?P<changes>.*) synced to the testservers(?:: (?P<hosts>.*))?$")
_ABORT = re.compile(r"^(?:scap|[\w-]+) (?P<verb>aborted|failed): (?P<msg>.*)$")
_SYNC = re.compile(r"^Synchronized (?P<target>\S+?):? (?P<msg>.*)$")
_SCAP3 = re.compile(r"^(?P<verb>Started|Finished|Starting) (?P<sub>deploy|restart|setup)(?: of)? \[(?P<repo>[^\]@]+)(?:@[^\]]*)?\]: (?P<msg>.*)$")
_WIKIVERSIONS = re.compile(r"^rebuilt (?:wikiversions\.php and synchronized|and synchronized) wikiversions files: (?P<msg>.*)$")
_DBCTL_FILES = re.compile(r", diff saved to \S+ and previous config saved to \S+$")
_SILENCE = re.compile(r"^Silence for ")


_DANGLING = re.compile(r"(?:\s+(?:a|an|and|at|by|for|from|in|into|of|on|or|the|to|with))+$", re.IGNORECASE)


def short_label(label: str, limit: int = LABEL_LIMIT) -> str:
    """A change title cut at a word to at most about *limit* characters, with "…" (quotes kept even)."""
    label = " ".join(label.split())
    if len(label) <= limit:
        return label
    cut = _DANGLING.sub("", label[:limit].rsplit(" ", 1)[0]).rstrip(" ,.:;-(") + "…"
    return cut + '"' if cut.count('"') % 2 else cut


def _short_changes(text: str) -> str:
    """Gerrit links with their labels cut; task ids the cut dropped follow the link."""
    if "[[gerrit:" not in text:
        return text

    def shorten(match: re.Match[str]) -> str:
        number, label = match.group(1), match.group(2)
        short = short_label(label)
        dropped = [t for t in find_tasks(label) if t not in find_tasks(short)]
        return f"[[gerrit:{number}|{short}]]" + (f" ({', '.join(dropped)})" if dropped else "")

    return _GERRIT.sub(shorten, text)


def fold_hosts(text: str, listed: int = HOSTS_LISTED) -> str:
    """A list of four or more host names as its first *listed* and how many more."""
    if text.count(" ") < 3:  # cheap test first: a list of four holds three spaces, most rows no list
        return text

    def fold(match: re.Match[str]) -> str:
        hosts = re.findall(_HOST, match.group(0))
        return f"{', '.join(hosts[:listed])} and {len(hosts) - listed} more hosts"

    return _HOSTS.sub(fold, text)


def _took(text: str) -> tuple[str, str]:
    """*text* without scap's "(duration: 09m 12s)", and the duration as "9 min" ("" if none)."""
    match = _DURATION.search(text)
    if match is None:
        return text, ""
    seconds = int(match.group(1)) * 60 + int(match.group(2))
    return text[: match.start()] + text[match.end() :], format_duration(timedelta(seconds=seconds))


def _scap_object(msg: str, sub: str | None, again: bool) -> str:
    backport = _BACKPORT.match(msg)
    if backport:
        return "the backport" if again else f"the backport of {backport.group('changes')}"
    return f"scap {sub}: {msg}" if sub else f"scap: {msg}"


def _deploy(text: str, *, again: bool) -> str:
    """A deploy tool's line in a few words (scap, scap3, sync-file, train, aborts).

    *again*: the row before it from the same person named the same changes, so "the backport" says it.
    """
    text, took = _took(text)
    if scap := _SCAP.match(text):
        what = _scap_object(scap.group("msg"), scap.group("sub"), again)
        return f"{scap.group('verb').lower()} {what}" + (f" in {took}" if took else "")
    if test := _TESTSERVERS.match(text):
        hosts = [h for h in re.split(r",\s*", test.group("hosts") or "") if h.strip()]
        count = f" ({len(hosts)} hosts)" if len(hosts) > 1 else (f" ({hosts[0]})" if hosts else "")
        what = "the backport" if again else f"the backport of {test.group('changes')}"
        return f"synced {what} to the test servers{count} for {test.group('who')}"
    if abort := _ABORT.match(text):
        what = _scap_object(abort.group("msg"), None, again)
        after = f" after {took}" if took else ""
        return f"aborted {what}{after}" if abort.group("verb") == "aborted" else f"{what} failed{after}"
    if sync := _SYNC.match(text):
        return f"synchronized {sync.group('target')}: {sync.group('msg')}"
    if scap3 := _SCAP3.match(text):
        verb = {"Finished": "finished", "Started": "started", "Starting": "started"}[scap3.group("verb")]
        action = {"deploy": "deploying", "restart": "restarting", "setup": "setting up"}[scap3.group("sub")]
        return f"{verb} {action} {scap3.group('repo')}: {scap3.group('msg')}" + (f" ({took})" if took else "")
    if train := _WIKIVERSIONS.match(text):
        return f"synchronized wikiversions: {train.group('msg')}"
    return text + (f" ({took})" if took else "")


def _task_change(row: Row) -> str:
    """A Phabricator transaction as an action of its actor (the source's text when data is missing)."""
    data: Mapping[str, Any] = row.data
    task = data.get("task")
    if not task:
        return row.text
    if row.kind is EventKind.TASK_CREATED and data.get("title"):
        return f"opened {task} – {data['title']}"
    if row.kind is EventKind.TASK_STATUS and data.get("new_name"):
        if data.get("closed"):
            return f"closed {task} as {data['new_name']}"
        if data.get("was_closed"):
            return f"reopened {task}"
        return f"set {task} to {data['new_name']}"
    if row.kind is EventKind.TASK_COMMENT and data.get("preview"):
        return f"commented on {task}: {data['preview']}"
    if row.kind is EventKind.TASK_PRIORITY and data.get("new"):
        return f"raised the priority of {task} to {data['new']}"
    if row.kind is EventKind.TASK_OWNER:
        if data.get("claimed"):
            return f"claimed {task}"
        if data.get("owner"):
            return f"assigned {task} to {data['owner']}"
    return row.text


_TASK_KINDS = frozenset(
    {EventKind.TASK_CREATED, EventKind.TASK_STATUS, EventKind.TASK_PRIORITY, EventKind.TASK_OWNER, EventKind.TASK_COMMENT}
)


def _what(row: Row, *, again: bool) -> str:
    if row.edited or row.kind is EventKind.MANUAL:
        return row.text
    if row.kind in ALERT_KINDS:
        return row.text
    if row.kind in DEPLOY_KINDS:
        text = _deploy(row.text, again=again)
    elif row.kind is EventKind.DBCTL:
        text = _DBCTL_FILES.sub("", row.text)
    elif row.kind in _TASK_KINDS:
        text = _task_change(row)
    elif row.kind is EventKind.SILENCE:
        text = _SILENCE.sub("silenced ", row.text)
    else:
        text = row.text
    return fold_hosts(_short_changes(text))


def page_text(row: Row, *, again: bool = False) -> str:
    """The row as the page says it: ``who: what happened`` (alerts and hand-added rows: what only).

    *again*: a deploy row whose changes the same person's previous deploy row already named.
    """
    what = _what(row, again=again)
    who = None if row.kind in ALERT_KINDS or row.kind is EventKind.MANUAL else actor_nick(row.actor)
    return f"{who}: {what}" if who and what else what


def word_rows(rows: Iterable[Row]) -> tuple[Row, ...]:
    """*rows* with ``page_text`` set; a dbctl row links the diff it saved.

    A deploy row naming the same changes as the same person's previous shown deploy row says
    "the backport" instead of listing them again.
    """
    worded = []
    last_changes: dict[str | None, tuple[str, ...]] = {}
    for row in rows:
        again = False
        if row.kind in DEPLOY_KINDS and not row.hidden:
            changes_named = tuple(_GERRIT.findall(row.text))
            who = actor_nick(row.actor)
            again = bool(changes_named) and last_changes.get(who) == changes_named
            last_changes[who] = changes_named
        changes: dict[str, Any] = {"page_text": page_text(row, again=again)}
        if row.kind is EventKind.DBCTL and not row.url and str(row.data.get("diff", "")).startswith("http"):
            changes["url"] = row.data["diff"]
        worded.append(row.with_changes(**changes))
    return tuple(worded)
