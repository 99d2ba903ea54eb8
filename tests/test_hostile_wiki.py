"""Hostile text, parsed by the test session's real MediaWiki: nothing a source says adds structure.

Drafts are filled with generated strings (hypothesis) in every source field that reaches the page
(row text, actor, note and URL, the title, alert names and the first alert, follow-up titles,
statuses and owners, skipped-line places, source notes and failure messages; rows of deploy,
log, alert and task kinds), rendered, and parsed by the wiki with ``action=parse`` and the
pre-save transform (what ``publish`` saving would do). The result is compared with a benign twin
draft of the same shape: templates, internal links, interwiki links, categories, external links,
sections, page properties and the HTML elements must be the same, except for the links the tool
makes on purpose — task ids (``Phab:T123``), gerrit changes in deploy lines (``Gerrit:N``) and the
free ``http(s)`` URLs of the text, which must be clickable and read as written. The visible text
of the page must hold every string as the source wrote it.

Each example is one page holding :data:`STRINGS_PER_PAGE` strings, so a run parses a few thousand
strings with a few dozen requests.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incidentkit.model.actionable import FollowUp
from incidentkit.model.curation import KeyMoments
from incidentkit.model.event import EventKind
from incidentkit.model.incident import Detection, Incident
from incidentkit.model.row import Row
from incidentkit.model.source import SourceFailure, SourceSummary
from incidentkit.model.window import Window
from incidentkit.wikitext.render import render_incident
from tests.hostile import HOSTILE, PROTOCOLS, hostile_text, norm, parse_page, structure
from tests.servers.mediawiki import MediaWiki

T0 = datetime(2023, 2, 14, 18, 0, tzinfo=UTC)
ROWS = 24
KINDS = [
    ("sal", EventKind.SYNC),  # a deploy line: gerrit changes are linked on purpose here only
    ("sal", EventKind.LOG),
    ("prometheus", EventKind.ALERT_FIRING),
    ("phabricator", EventKind.TASK_COMMENT),
]
ROW_FIELDS = ("text", "actor", "note", "url")
OTHER_FIELDS = 12
STRINGS_PER_PAGE = ROWS * len(ROW_FIELDS) + OTHER_FIELDS
EXAMPLES = 25

def make_incident(strings: list[str]) -> Incident:
    """A draft whose every source field holds one of *strings* (in a fixed order)."""
    values = iter(strings)
    window = Window(T0, T0 + timedelta(hours=2))
    rows = []
    for i in range(ROWS):
        source, kind = KINDS[i % len(KINDS)]
        text, actor, note, url = (next(values) for _ in ROW_FIELDS)
        rows.append(
            Row(
                key=f"k{i}", time=T0 + timedelta(minutes=i), text=text, source=source, kind=kind, actor=actor,
                url="https://x.example/" + url, note=note, marker="OUTAGE BEGINS" if i == 0 else None,
            )
        )  # fmt: skip
    title, first_alert, alert_a, alert_b, f_title, f_status, f_owner, where, note_a, note_b, failure, other = (
        next(values) for _ in range(OTHER_FIELDS)
    )
    return Incident(
        slug="2023-02-14_hostile",
        title=title,
        window=window,
        generated_at=T0 + timedelta(days=1),
        tasks=("T100",),
        rows=tuple(rows),
        raw_rows=tuple(rows),
        detection=Detection(
            first_alert=first_alert, first_alert_time=T0, first_alert_paged=True, distinct_alerts=2,
            notifications=3, alert_names=(alert_a, alert_b), first_alert_source=other,
        ),  # fmt: skip
        actionables=(FollowUp(title=f_title, task="T200", status=f_status, owner=f_owner),),
        key_moments=KeyMoments(impact_start=T0, detected=T0 + timedelta(minutes=5)),
        sources=(SourceSummary(source="sal", events=4, lines_read=5, skipped=1, skipped_where=(where,), notes=(note_a, note_b)),),
        failures=(SourceFailure("phabricator", failure),),
    )


BENIGN = [f"benign{i}" for i in range(STRINGS_PER_PAGE)]
_TWIN: dict[str, Any] = {}


def _twin(mediawiki: MediaWiki) -> dict[str, Any]:
    if "twin" not in _TWIN:
        _TWIN["twin"] = structure(parse_page(mediawiki, render_incident(make_incident(BENIGN))))
    return _TWIN["twin"]


def _shown_fields(twin: dict[str, Any]) -> set[int]:
    """The fields the page shows: those whose benign twin value reads on the twin page."""
    words = set(twin["visible"].replace(":", " ").replace(")", " ").replace("(", " ").split())
    shown = {i for i, value in enumerate(BENIGN) if value in words}
    row_fields = {i for i in range(ROWS * len(ROW_FIELDS)) if i % len(ROW_FIELDS) != 3}  # text, actor, note
    assert row_fields <= shown, f"row fields missing from the page: {sorted(row_fields - shown)}"
    return shown


def _row_texts(strings: list[str]) -> list[tuple[str, bool]]:
    """(text, is a deploy line) of every row: the only field the tool links in."""
    return [
        (re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "", strings[row * len(ROW_FIELDS)]), KINDS[row % len(KINDS)][1] is EventKind.SYNC)
        for row in range(ROWS)
    ]


def _intended_links(strings: list[str]) -> set[str]:
    """The pages the tool links on purpose: tasks named in row texts, gerrit changes of deploy lines."""
    found: set[str] = set()
    for text, deploy in _row_texts(strings):
        found.update(f"Phab:T{n}" for n in re.findall(r"T([1-9]\d*)", text))
        if deploy:
            found.update(f"Gerrit:{n}" for n in re.findall(r"\[\[gerrit:(\d+)\|", text))
    return found


def _written_url(url: str, strings: list[str]) -> bool:
    """Whether external link *url* is a free URL of a row text as written, or a row's own URL."""
    written = unquote(url)
    if written.startswith("https://x.example/"):
        return True  # the row's URL field ("runbook", "task" links)
    # the text from every "http(s)://" on (overlapping: a URL may follow another's characters)
    candidates = [unquote(m) for text, _ in _row_texts(strings) for m in re.findall(r"(?i)(?=(https?://\S+))", text)]
    return written.lower().startswith(("http://", "https://")) and any(c.startswith(written) for c in candidates)


def _check(mediawiki: MediaWiki, strings: list[str]) -> None:
    page = render_incident(make_incident(strings))
    got = structure(parse_page(mediawiki, page))
    twin = _twin(mediawiki)
    for key in ("templates", "categories", "iwlinks", "sections", "properties", "elements"):
        assert got[key] == twin[key], f"{key} differ: {got[key]} vs {twin[key]}"
    extra_links = got["links"] - twin["links"]
    assert twin["links"] - got["links"] == Counter(), "a link of the template is gone"
    allowed = _intended_links(strings)
    assert set(extra_links) <= allowed, f"links the tool did not make: {set(extra_links) - allowed}"
    for url in got["externallinks"] - twin["externallinks"]:
        assert _written_url(url, strings), f"external link {url} is not a free http(s) URL of a row's text"
    shown = _shown_fields(twin)
    for index, text in enumerate(strings):
        if index not in shown:
            continue  # a field this page does not show (a source's notes go to stderr)
        row, field = divmod(index, len(ROW_FIELDS))
        deploy = row < ROWS and field == 0 and KINDS[row % len(KINDS)][1] is EventKind.SYNC
        if (row < ROWS and field == 3) or (deploy and "[[gerrit:" in text):
            continue  # a row's URL is a link target ("runbook"), a gerrit link shows its label only
        assert norm(text) in got["visible"], f"string {text!r} does not read as written"


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(hostile_text, min_size=STRINGS_PER_PAGE, max_size=STRINGS_PER_PAGE))
def test_hostile_text_adds_nothing_on_a_real_wiki(mediawiki: MediaWiki, strings: list[str]) -> None:
    _check(mediawiki, strings)


def test_every_hostile_fragment_alone_adds_nothing(mediawiki: MediaWiki) -> None:
    """Each fixed fragment once in every field, so none depends on hypothesis picking it."""
    fragments = [f for f in HOSTILE + PROTOCOLS if f.strip()]
    strings = [fragments[i % len(fragments)] for i in range(STRINGS_PER_PAGE)]
    _check(mediawiki, strings)
    _check(mediawiki, strings[len(fragments) // 2 :] + strings[: len(fragments) // 2])


def test_free_urls_become_clickable_links_that_read_as_written(mediawiki: MediaWiki) -> None:
    url = "https://logstash.wikimedia.org/app/dashboards#/view/x?_g=(time:(from:now-1h))&q='a b'"
    strings = [f"fatals are back | {url}. see https://x.example/a]b too"] + BENIGN[1:]
    parsed = parse_page(mediawiki, render_incident(make_incident(strings)))
    links = {unquote(link) for link in parsed["externallinks"]}
    assert "https://logstash.wikimedia.org/app/dashboards#/view/x?_g=(time:(from:now-1h))&q='a" in links
    assert "https://x.example/a" in links  # "]" ends a free URL, as MediaWiki reads it
    anchors = re.findall(r'<a rel="nofollow" class="external[^"]*" href="([^"]+)">([^<]*)</a>', parsed["text"])
    assert any(html.unescape(label).startswith("https://logstash.wikimedia.org/") for _, label in anchors)
