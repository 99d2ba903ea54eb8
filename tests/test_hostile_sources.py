"""Hostile text through the real code paths, parsed by the test session's real MediaWiki.

``tests/test_hostile_wiki.py`` fills the model of a draft by hand. Here generated strings enter
where sources put them — in the answers of Splunk On-Call (user, policy and team names, the alert's
display name, an acknowledgement's message), of Phabricator (task titles, user names, priority and
status names, comments) and in IRC logs (nicks, people's words, the service of an alert a bot
relayed) — and go through each source's
parse, the timeline's wording (``Row.page_text``: "u: raised the priority of T31 to …"), the
people facts (People paged, Responder count, Coordinators, the first human report), the store
(follow-ups proposed by Phabricator become actionables) and the similar past incidents (four
incidents share their alerts and hosts, so each lists the earlier ones with their open
follow-ups). The pages checked are the draft of the last incident, the managers' page of
``actionables publish`` and the statistics page of ``incidents stats publish`` (with the words of
a wiki that refused its chart upload, which the page quotes).

Each page is compared with the same page made from benign strings (its twin): templates, internal
links, interwiki links, categories, external links, section levels, page properties and HTML
elements must be the same, except the links the tool makes on purpose (task ids, free ``http(s)``
URLs written in text); every generated string the page shows must read as written.
"""

from __future__ import annotations

import json
import re
import string
import tempfile
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incidentkit.config import Settings, load_settings
from incidentkit.model.source import Export, Query
from incidentkit.model.window import Window
from incidentkit.services.draft import make_draft
from incidentkit.services.publish import dashboard_text
from incidentkit.services.pulls import collect
from incidentkit.services.stats import incident_stats
from incidentkit.services.statspage import chart_file_name
from incidentkit.sources.exports import save_export
from incidentkit.store import Store
from incidentkit.wikitext.render import render_statistics
from tests.hostile import fragment, hostile_text, norm, parse_page, structure
from tests.servers.mediawiki import MediaWiki

INCIDENTS = 4  # the last one is drafted with the three before it as similar past incidents
FIRST_DAY = datetime(2023, 2, 11, tzinfo=UTC)
EXAMPLES = 8
FOLLOWUP_PROJECT = "PHID-PROJ-followup"

# The text of one incident's sources, by field; `shown` says where its page shows it.
FIELDS = (
    "title",  # the incident's title (metadata, similar list, managers' page)
    "user_a", "user_b",  # on-call users paged
    "policy", "team",  # an escalation policy paged, a team paged with nobody named
    "entity",  # an alert's display name in Splunk On-Call
    "ack",  # the message of an acknowledgement
    "task_title", "followup_title",  # Phabricator task titles (the incident task, a follow-up)
    "author", "owner",  # Phabricator user names
    "priority", "status",  # Phabricator priority and status names
    "comment",  # a comment on the incident task
    "reporter", "responder",  # IRC nicks
    "report", "words",  # what the reporter and the responder said
    "service",  # the service of an Icinga alert an IRC bot relayed
    "refusal",  # why the wiki refused the statistics chart (the last incident's only)
)  # fmt: skip
NICK_CHARS = string.ascii_letters + string.digits + "[]\\`_^{|}-"  # RFC 2812
# markup made of nick characters only: a line whose nick is no valid nick is no person's
NICK_FRAGMENTS = [
    "{{", "}}", "[[", "]]", "{{evil}}", "{{PAGENAME}}", "[[Category]]", "__NOTOC__", "__TOC__", "{|", "|}", "||",
    "|-", "[[x|y]]", "\\", "`", "^", "_", "-", "ISBN", "RFC", "PMID", "T123",
]  # fmt: skip

# One line (sources' names and titles hold no line breaks; the page makes any run of spaces one).
line_text = hostile_text.map(lambda s: " ".join(s.split())).filter(bool)
short_text = st.lists(fragment, min_size=1, max_size=2).map(lambda parts: " ".join("".join(parts).split())).filter(bool)
nick_text = st.lists(
    st.sampled_from(NICK_FRAGMENTS) | st.text(alphabet=NICK_CHARS, min_size=1, max_size=5), min_size=1, max_size=5
).map("".join)


def _named(value: str, who: str) -> str:
    """A name as the sources give names: no ``@`` (that ends a nick in a ``user@host`` actor), and a
    letter at both ends, so no name reads as a bot's or collides with another (*who* is unique)."""
    return f"{who}{value.replace('@', ' ')}x"


@st.composite
def incident_strings(draw: st.DrawFn, k: int) -> dict[str, str]:
    values = {name: draw(line_text) for name in FIELDS}
    values["entity"] = draw(short_text)
    for name, who in (("user_a", "ua"), ("user_b", "ub"), ("author", "pa"), ("owner", "po")):
        values[name] = _named(values[name], f"{who}{k}")
    for name, who in (("reporter", "nr"), ("responder", "nd")):
        values[name] = f"{who}{k}{draw(nick_text)}x"
    return values


def benign(k: int) -> dict[str, str]:
    values = {name: f"benign{k}{name.replace('_', '')}" for name in FIELDS}
    for name, who in (("user_a", "ua"), ("user_b", "ub"), ("author", "pa"), ("owner", "po")):
        values[name] = _named(values[name], f"{who}{k}")
    for name, who in (("reporter", "nr"), ("responder", "nd")):
        values[name] = f"{who}{k}{values[name]}x"
    return values


# --- what each source answers -----------------------------------------------------------------


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _oncall(day: datetime, k: int, v: dict[str, str]) -> Export:
    at = day.replace(hour=18, minute=35, second=30)
    paged = {
        "incidentNumber": str(100 + 2 * k), "currentPhase": "resolved", "alertCount": 1, "entityId": f"e{k}",
        "entityDisplayName": f"[1x] e{k} {v['entity']}", "entityType": "service", "routingKey": "sre-batphone",
        "startTime": _iso(at), "pagedTeams": ["team-sre"], "pagedUsers": [v["user_a"], v["user_b"]],
        "pagedPolicies": [{"policy": {"name": v["policy"], "slug": "pol-sre"}, "team": {"name": "SRE", "slug": "team-sre"}}],
        "transitions": [
            {"name": "triggered", "at": _iso(at)},
            {"name": "acknowledged", "at": _iso(at + timedelta(minutes=1)), "by": v["user_a"], "message": v["ack"], "manually": True},
            {"name": "resolved", "at": _iso(at + timedelta(minutes=45)), "by": v["user_b"], "manually": True},
        ],
    }  # fmt: skip
    unnamed = {
        "incidentNumber": str(101 + 2 * k), "currentPhase": "resolved", "entityDisplayName": f"e{k}b",
        "routingKey": "sre-batphone", "startTime": _iso(at + timedelta(minutes=2)), "pagedTeams": ["team-h"],
        "pagedUsers": [], "pagedPolicies": [{"team": {"name": v["team"], "slug": "team-h"}}],
        "transitions": [{"name": "triggered", "at": _iso(at + timedelta(minutes=2))}],
    }  # fmt: skip
    body = {"offset": 0, "limit": 100, "total": 2, "incidents": [paged, unnamed]}
    return Export("oncall", (("incidents-001.json", json.dumps(body)),), {"routing_keys": [], "teams": []})


def _phabricator(day: datetime, k: int, v: dict[str, str]) -> Export:
    def epoch(hour: int, minute: int) -> int:
        return int(day.replace(hour=hour, minute=minute).timestamp())

    task, followup, author, owner = f"PHID-TASK-i{k}", f"PHID-TASK-f{k}", f"PHID-USER-a{k}", f"PHID-USER-o{k}"
    low, top = {"value": 25, "name": "Low"}, {"value": 100, "name": v["priority"]}

    def record(phid: str, number: int, name: str, status: str, created: int, closed: int | None, projects: list[str]) -> dict[str, Any]:
        return {
            "id": number, "type": "TASK", "phid": phid,
            "fields": {
                "name": name, "authorPHID": author, "ownerPHID": owner, "status": {"value": status},
                "priority": top if phid == task else low, "dateCreated": created, "dateModified": created, "dateClosed": closed,
            },
            "attachments": {"projects": {"projectPHIDs": projects}},
        }  # fmt: skip

    def txn(n: int, kind: str, at: int, who: str, fields: dict[str, Any], comments: list[Any] | None = None) -> dict[str, Any]:
        return {
            "id": n, "phid": f"PHID-XACT-{k}-{n}", "type": kind, "authorPHID": who, "objectPHID": task,
            "dateCreated": at, "dateModified": at, "groupID": f"g{k}{n}", "comments": comments or [], "fields": fields,
        }  # fmt: skip

    sections = {
        "tasks": [
            record(task, 10 * k + 1, v["task_title"], "resolved", epoch(18, 40), epoch(19, 25), []),
            record(followup, 10 * k + 2, v["followup_title"], "open", epoch(19, 30), None, [FOLLOWUP_PROJECT]),
        ],
        "transactions": [
            txn(1, "create", epoch(18, 40), author, {}),
            txn(2, "priority", epoch(18, 41), author, {"old": low, "new": top}),
            txn(3, "owner", epoch(18, 42), author, {"old": None, "new": owner}),
            txn(4, "comment", epoch(18, 43), owner, {}, [{"content": {"raw": v["comment"]}, "removed": False}]),
            txn(5, "status", epoch(19, 25), owner, {"old": "open", "new": "resolved"}),
        ],
        "users": [
            {"phid": author, "type": "USER", "fields": {"username": v["author"]}},
            {"phid": owner, "type": "USER", "fields": {"username": v["owner"]}},
        ],
        "projects": [],
        "statuses": [
            {"name": "Open", "value": "open", "closed": False, "special": "default"},
            {"name": v["status"], "value": "resolved", "closed": True},
        ],
        "priorities": [top, low],
    }
    meta = {
        "url": "https://phabricator.example.org", "comments": True, "followup_project_phids": [FOLLOWUP_PROJECT],
        "incident_tasks": [f"T{10 * k + 1}"],
    }  # fmt: skip
    return Export("phabricator", tuple((f"{name}.json", json.dumps(body)) for name, body in sections.items()), meta)


def _irc(day: datetime, v: dict[str, str]) -> Export:
    d = f"{day:%Y-%m-%d}"
    # the responder names an action, so whatever their words say, they respond rather than report
    lines = [
        f"{d} 18:20:03 <{v['responder']}> reverting the backport: {v['words']}",
        f"{d} 18:34:51 <{v['reporter']}> enwiki shows fatal exception errors: {v['report']}",
        f"{d} 18:34:55 <+icinga-wm> PROBLEM - MediaWiki exceptions and fatals per minute on mw1001 is CRITICAL: 2.6e+04 gt 100",
        f"{d} 18:50:00 <+icinga-wm> PROBLEM - s{v['service']} on mw1002 is CRITICAL: down",
        f"{d} 19:00:00 <+icinga-wm> RECOVERY - s{v['service']} on mw1002 is OK: up",
        f"{d} 19:20:00 <+icinga-wm> RECOVERY - MediaWiki exceptions and fatals per minute on mw1001 is OK: 10 le 100",
    ]
    return Export("irc", ((f"#wikimedia-operations.{d}.log", "\n".join(lines) + "\n"),))


# --- the pages --------------------------------------------------------------------------------


def _draft_all(store: Store, folder: Path, strings: list[dict[str, str]], settings_: Settings) -> str:
    """Draft every incident, oldest first, through the sources' saved answers; the last draft's page."""
    page = ""
    for k, v in enumerate(strings):
        day = FIRST_DAY + timedelta(days=k)
        window = Window(day.replace(hour=18), day.replace(hour=19, minute=45))
        inputs = {}
        for export in (_oncall(day, k, v), _phabricator(day, k, v), _irc(day, v)):
            inputs[export.source] = save_export(export, folder / f"incident-{k}")
        collected = collect(Query(window, (f"T{10 * k + 1}",)), settings_, inputs=inputs, now=day + timedelta(days=1))
        page = make_draft(collected, title=f"{k} {v['title']}", settings=settings_, store=store).text
    return page


def _pages(strings: list[dict[str, str]]) -> Iterator[tuple[str, str]]:
    """(name, wikitext) of the three pages the strings reach: the draft, the managers' page, the statistics."""
    settings_ = load_settings()
    now = FIRST_DAY + timedelta(days=30)
    with tempfile.TemporaryDirectory(prefix="incidentkit-hostile-") as folder, Store.open(Path(folder) / "store.db") as store:
        yield "draft", _draft_all(store, Path(folder), strings, settings_)
        yield "actionables", dashboard_text(store, now=now)
        stats = incident_stats(store, settings_.stats, by="month")
        chart = (chart_file_name("Incident statistics", "incidents", "png"), "Incidents per month")
        note = f"The wiki refused the chart upload (wiki ops refused to upload: {strings[-1]['refusal']})."
        yield "statistics", render_statistics(stats, generated_at=now, charts=[chart], note=note)


_TWINS: dict[str, dict[str, Any]] = {}


def _twins(mediawiki: MediaWiki) -> dict[str, dict[str, Any]]:
    if not _TWINS:
        for name, text in _pages([benign(k) for k in range(INCIDENTS)]):
            _TWINS[name] = structure(parse_page(mediawiki, text))
    return _TWINS


def _shown(strings: list[dict[str, str]], page: str) -> list[str]:
    """The generated strings *page* shows (the others stay in the store or on stderr)."""
    if page == "draft":
        last = strings[-1]
        # the responder's words are a hidden chat row; the refusal is the statistics page's
        own = [name for name in FIELDS if name not in ("words", "refusal")]
        earlier = [s[name] for s in strings[:-1] for name in ("title", "followup_title", "owner")]
        return [last[name] for name in own] + earlier
    if page == "actionables":
        return [s[name] for s in strings for name in ("title", "followup_title", "owner")]
    return [strings[-1]["refusal"]]  # and slugs, periods and counts


def _intended(strings: list[dict[str, str]]) -> tuple[set[str], list[str]]:
    """The links the tool makes on purpose in the strings: task pages, and the free http(s) URLs written."""
    tasks = {f"Phab:T{n}" for s in strings for text in s.values() for n in re.findall(r"T([1-9]\d*)", text)}
    urls = [unquote(m) for s in strings for text in s.values() for m in re.findall(r"(?i)(?=(https?://\S+))", text)]
    return tasks, urls


def _from_url(link: str, url: str) -> bool:
    """*link* is the start of the free *url*, or that start and a ")" the page's text put after it
    which closes a "(" of the URL (a URL keeps its balanced parentheses: "wiki/A_(b)")."""
    if url.startswith(link):
        return True
    start = link[:-1]
    return link.endswith(")") and url.startswith(start) and start.count("(") > start.count(")")


def _check(mediawiki: MediaWiki, strings: list[dict[str, str]]) -> None:
    twins = _twins(mediawiki)
    tasks, urls = _intended(strings)
    for name, text in _pages(strings):
        got, twin = structure(parse_page(mediawiki, text)), twins[name]
        for key in ("templates", "categories", "iwlinks", "levels", "properties", "elements"):
            assert got[key] == twin[key], f"{name}: {key} differ: {got[key]} vs {twin[key]}"
        assert twin["links"] - got["links"] == Counter(), f"{name}: a link of the template is gone"
        extra = set(got["links"] - twin["links"])
        assert extra <= tasks, f"{name}: links the tool did not make: {extra - tasks}"
        for url in got["externallinks"] - twin["externallinks"]:
            written = unquote(url)
            assert written.lower().startswith(("http://", "https://")) and any(_from_url(written, u) for u in urls), (
                f"{name}: external link {url} is not a free http(s) URL of the text"
            )
        for value in _shown(strings, name):
            assert norm(value) in got["visible"], f"{name}: {value!r} does not read as written"


def test_the_twin_pages_show_what_the_hostile_ones_are_checked_for(mediawiki: MediaWiki) -> None:
    """The checks below are not vacuous: every field they look for is on the benign pages, the
    draft lists the three earlier incidents, and the managers' page has a section per owner."""
    strings = [benign(k) for k in range(INCIDENTS)]
    twins = _twins(mediawiki)
    for page in ("draft", "actionables", "statistics"):
        missing = [value for value in _shown(strings, page) if value not in twins[page]["visible"]]
        assert not missing, f"{page} does not show {missing}"
    draft = twins["draft"]["visible"]
    assert "raised the priority of T31 to benign3priority" in draft and "closed T31 as benign3status" in draft
    assert draft.count("still open:") == INCIDENTS - 1
    assert sum(1 for line in twins["actionables"]["sections"] if line.startswith("po")) == INCIDENTS
    assert "3 of 4 incidents had a similar incident" in twins["statistics"]["visible"]


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.tuples(*(incident_strings(k) for k in range(INCIDENTS))))
def test_hostile_text_from_the_sources_adds_nothing_on_a_real_wiki(mediawiki: MediaWiki, strings: tuple[dict[str, str], ...]) -> None:
    _check(mediawiki, list(strings))
