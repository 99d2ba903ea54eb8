"""Rendering: no text from any source can change the page's structure (property test), and filters."""

from __future__ import annotations

import html
import re
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote

import jinja2
import mwparserfromhell
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mwparserfromhell.nodes import Comment, ExternalLink, Heading, HTMLEntity, Tag, Template, Text, Wikilink

from incidentkit.model.actionable import FollowUp
from incidentkit.model.curation import KeyMoments
from incidentkit.model.event import EventKind
from incidentkit.model.incident import Detection, Incident
from incidentkit.model.row import Row
from incidentkit.model.source import SourceFailure, SourceSummary
from incidentkit.model.window import Window
from incidentkit.wikitext import render
from incidentkit.wikitext.escape import escape_cell, escape_wiki, link, linkify_tasks, safe_url
from incidentkit.wikitext.regions import regions
from incidentkit.wikitext.render import render_incident
from tests.helpers import run

T0 = datetime(2023, 2, 14, 18, 0, tzinfo=UTC)
EXAMPLE = Path(__file__).resolve().parent.parent / "data" / "examples" / "backport-crash"

HOSTILE = [
    "{{", "}}", "{{evil}}", "[[", "]]", "[[Category:Hacked]]", "[[File:X.png]]", "~~~~", "~~~", "|", "||", "!!",
    "<ref>", "</ref>", "<references/>", "<nowiki>", "</nowiki>", "<!--", "-->", "__NOTOC__", "__FORCETOC__",
    "----", "=", "==", "*", "#", ":", ";", "'''", "''", "{|", "|}", "|-", "http://evil.example/x",
    "[http://evil.example y]", "&amp;", "&", "<b>", "<script>alert(1)</script>", "<div style='x'>", "T123",
    "[[gerrit:1|x]]", "\n", "\n== Heading ==\n", "\n* item", "ISBN 0123456789", "RFC 1234", "{{!}}", "{{#if:1|x}}",
    "\\", "{{subst:x}}", "-{", "}-", "<pre>", "<span>", "&#91;", " ", "a", "T9", "x]]", "[[phab:T1|",
]
fragment = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=8))
# empty text legitimately drops optional parts (notes, owners), so every value has some content
hostile_text = st.lists(fragment, min_size=1, max_size=8).map("".join).filter(lambda s: s.strip())


def make_incident(text: str, *, title: str | None = None) -> Incident:
    window = Window(T0, T0 + timedelta(hours=2))
    rows = tuple(
        Row(
            key=f"k{i}",
            time=T0 + timedelta(minutes=i),
            text=text,
            source=source,
            kind=kind,
            actor=text,
            url="https://phabricator.example/T1" if source == "phabricator" else None,
            note=text,
            marker="OUTAGE BEGINS" if i == 0 else None,
        )
        for i, (source, kind) in enumerate(
            [("sal", EventKind.LOG), ("sal", EventKind.SYNC), ("prometheus", EventKind.ALERT_FIRING), ("phabricator", EventKind.TASK_CREATED)]
        )
    )
    return Incident(
        slug="2023-02-14_x",
        title=title if title is not None else text,
        window=window,
        generated_at=T0 + timedelta(days=1),
        tasks=("T100",),
        rows=rows,
        raw_rows=rows,
        detection=Detection(first_alert=text, first_alert_time=T0, first_alert_paged=True, distinct_alerts=1, notifications=2, alert_names=(text,)),
        actionables=(FollowUp(title=text, task="T200", status=text, owner=text),),
        key_moments=KeyMoments(impact_start=T0, detected=T0 + timedelta(minutes=5)),
        sources=(SourceSummary(source="sal", events=4, lines_read=5, skipped=1, skipped_where=(text,), notes=(text,)),),
        failures=(SourceFailure("phabricator", text),),
    )


def structure(wikitext: str) -> Counter[str]:
    """The page's structural nodes, task/gerrit links and links to free URLs that read as the URL
    excluded (the filters add those on purpose)."""
    found: Counter[str] = Counter()
    for node in mwparserfromhell.parse(wikitext).ifilter(recursive=True):
        if isinstance(node, (Text, HTMLEntity)):
            continue
        if isinstance(node, Wikilink):
            title = str(node.title)
            if title.startswith(("phab:", "gerrit:")):
                continue
            found[f"link:{title}"] += 1
        elif isinstance(node, Template):
            found[f"template:{node.name.strip()}"] += 1
        elif isinstance(node, Tag):
            found[f"tag:{node.tag}"] += 1
        elif isinstance(node, Heading):
            found[f"heading:{node.level}:{node.title.strip()}"] += 1
        elif isinstance(node, ExternalLink):
            label = html.unescape(str(node.title or ""))
            if node.brackets and label.lower().startswith(("http://", "https://")) and unquote(html.unescape(str(node.url))) == unquote(label):
                continue
            found[f"external:{node.url}"] += 1
        elif isinstance(node, Comment):
            found["comment"] += 1
        else:
            found[type(node).__name__] += 1
    return found


BENIGN = structure(render_incident(make_incident("plain words")))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile_text)
def test_no_source_text_changes_page_structure(text: str) -> None:
    page = render_incident(make_incident(text, title=text or "t"))
    assert structure(page) == BENIGN
    assert "~~~" not in page
    assert page.count("\n") == render_incident(make_incident("plain words")).count("\n")
    for wikilink in mwparserfromhell.parse(page).ifilter_wikilinks(recursive=True):
        title = str(wikilink.title)
        if title.startswith("phab:"):
            assert title[5:] == str(wikilink.text) and title[6:].isdigit()
        elif title.startswith("gerrit:"):
            assert title[7:].isdigit()
            assert not mwparserfromhell.parse(str(wikilink.text)).filter(forcetype=(Wikilink, Template, Tag, ExternalLink))


def test_escaped_text_reads_back_as_the_original() -> None:
    text = "a|b {{x}} [[y]] ~~~~ <ref>z</ref> __NOTOC__ 'q' http://e.x/y mailto:a@b \u00a0ISBN 1"
    html_like = escape_wiki(text)
    assert html.unescape(html_like) == text
    assert "&#33;" in escape_cell("a!!b") and "!!" not in escape_cell("a!!b")


def test_task_and_gerrit_links() -> None:
    text = "Backport for [[gerrit:888005|Revert (T329510)]] see T1 and T22#3 but not xT5"
    out = linkify_tasks(text, gerrit=True)
    assert "[[gerrit:888005|Revert (T329510)]]" in out  # no link nested inside the gerrit label
    assert "[[phab:T1|T1]]" in out and "[[phab:T22|T22]]" in out and "xT5" in out
    plain = linkify_tasks(text)  # not a deploy line the tool recognised: the "link" is text
    assert "[[gerrit" not in plain and "&#91;&#91;gerrit:888005&#124;Revert ([[phab:T329510|T329510]])&#93;&#93;" in plain


def test_gerrit_label_cannot_break_out() -> None:
    out = linkify_tasks("Started scap: Backport for [[gerrit:1|a {{x}} [[y| ~~~~ https://e.x/]]", gerrit=True)
    assert out.startswith("Started scap: Backport for [[gerrit:1|a &#123;&#123;x&#125;&#125; &#91;&#91;y&#124; ")
    assert out.count("[[") == 1 and out.count("]]") == 1 and "~" not in out


@pytest.mark.parametrize(
    "text",
    ["mailto:a@b.example", "tel:+15551234", "URN:isbn:1", "xmpp:a@b", "geo:1,2", "news:x", "https://e.x/", "ftp://f.x/"],
)
def test_free_links_of_every_scheme_are_text(text: str) -> None:
    out = escape_wiki(text)
    assert ":" not in out.split("&#58;")[0] and "&#58;" in out
    assert html.unescape(out) == text


def test_magic_links_are_broken_wherever_they_stand() -> None:
    for text in ("__NOTOC__ISBN 0-306-40615-2", "&ISBN 1", "xRFC 1234", "PMID 1", "ISBN\u00a01"):
        out = escape_wiki(text)
        assert not re.search(r"ISBN|RFC|PMID", out), out
        assert html.unescape(out) == text
    assert escape_wiki("Server Admin Log:20 at 18:44, scap: done") == "Server Admin Log:20 at 18:44, scap: done"


def test_free_http_urls_become_explicit_links_that_read_as_written() -> None:
    out = linkify_tasks("back to normal | https://logstash.example/goto/5a1b2c. (see https://e.x/a_(b)) and https://e.x/q).")
    assert "[https://logstash.example/goto/5a1b2c https&#58;//logstash.example/goto/5a1b2c]." in out
    assert "[https://e.x/a_(b) https&#58;//e.x/a_(b)])" in out  # balanced parentheses stay in the URL
    assert "[https://e.x/q https&#58;//e.x/q])." in out  # the sentence's ")" and "." do not
    assert html.unescape(re.sub(r"\[\S+ ([^\]]*)\]", r"\1", out)) == (
        "back to normal | https://logstash.example/goto/5a1b2c. (see https://e.x/a_(b)) and https://e.x/q)."
    )


def test_safe_url_rejects_non_http_and_encodes_breakers() -> None:
    assert safe_url("javascript:alert(1)") is None
    assert safe_url("mailto:a@b") is None
    assert safe_url("https://x.example/a]b|c{d}") == "https://x.example/a%5Db%7Cc%7Bd%7D"
    assert safe_url("https://x.example/~~~~__NOTOC__''\"x\"<y>") == (
        "https://x.example/%7E%7E%7E%7E%5F%5FNOTOC%5F%5F%27%27%22x%22%3Cy%3E"
    )
    assert safe_url("https://x.example/a b") is None
    assert safe_url("https://x.example/a_b") == "https://x.example/a_b"  # one underscore is no behaviour switch


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("Note: see mailto:a@b", "Note: see mailto&#58;a@b"),  # only the scheme's colon
        ("xGEO:1,2 and a://b", "xGEO&#58;1,2 and a&#58;//b"),  # a scheme ends where the colon stands
        ("ok: 18:44 ge:o", "ok: 18:44 ge:o"),
        (":tel:1", "&#58;tel&#58;1"),  # a colon that starts the text indents it
    ],
)
def test_colons_are_escaped_only_where_a_link_could_start(text: str, escaped: str) -> None:
    assert escape_wiki(text) == escaped


# hand-written: what each character and run becomes, and where
ESCAPED = [
    ("a&b<c>d", "a&amp;b&lt;c&gt;d"),
    ("[x]{y}|z~", "&#91;x&#93;&#123;y&#125;&#124;z&#126;"),
    ("&amp;", "&amp;amp;"),  # "&" first: the other entities are not escaped again
    ("it's it''s", "it's it&#39;&#39;s"),
    ("a_b a__b", "a_b a&#95;&#95;b"),
    ("a---b a----b", "a---b a&#45;&#45;&#45;&#45;b"),
    ("=x=", "&#61;x&#61;"),
    ("a=b", "a=b"),
    ("*x*", "&#42;x*"),
    ("#x#", "&#35;x#"),
    (";x;", "&#59;x;"),
    ("!x!", "&#33;x!"),
    ("-x-", "&#45;x-"),
    ("a\\b", "a\\b"),  # a backslash is no markup
    ("ISBN RFC PMID isbn", "&#73;SBN &#82;FC &#80;MID isbn"),
    ("a\x00b\x08c\x0bd\x0ce\x0ef\x1fg\x7fh", "abcdefgh"),  # C0 controls and DEL dropped
    ("a\tb", "a\tb"),
    ("  a \r\n\t b\n\nc\u2028d\u2029e\x85f  ", "a b c d e f"),
    (None, ""),
    (12, "12"),
]


@pytest.mark.parametrize(("value", "escaped"), ESCAPED, ids=[f"e{number}" for number in range(len(ESCAPED))])
def test_each_markup_character_becomes_its_entity(value: object, escaped: str) -> None:
    assert escape_wiki(value) == escaped


@pytest.mark.parametrize(
    "scheme", ["bitcoin", "geo", "magnet", "mailto", "matrix", "news", "sip", "sips", "sms", "tel", "urn", "xmpp"]
)
def test_the_colon_of_each_scheme_without_slashes_is_escaped(scheme: str) -> None:
    assert escape_wiki(f"{scheme}:x") == f"{scheme}&#58;x"
    assert escape_wiki(f"a {scheme.upper()}:x") == f"a {scheme.upper()}&#58;x"
    assert escape_wiki(f"{scheme}x:y") == f"{scheme}x:y"


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("a:b", "a:b"),  # the second character is no start
        ("a://b", "a&#58;//b"),
        ("a:/b a: //b", "a:/b a: //b"),
        ("bitcoin:", "bitcoin&#58;"),  # the longest scheme, from the first character
        ("xxxxxxxxbitcoin:", "xxxxxxxxbitcoin&#58;"),
    ],
    ids=["second", "slashes", "no-slashes", "longest", "longest-later"],
)
def test_a_colon_is_escaped_after_a_scheme_only(text: str, escaped: str) -> None:
    assert escape_wiki(text) == escaped


def test_cells_escape_bangs_and_drop_line_breaks() -> None:
    assert escape_cell("a!b!!c") == "a&#33;b&#33;&#33;c"
    assert escape_cell("a\n|b") == "a &#124;b"
    assert escape_cell(None) == ""


@pytest.mark.parametrize(
    ("text", "linked"),
    [
        ("x https://e.x/a", "x [https://e.x/a https&#58;//e.x/a]"),
        ("https://e.x/a.,;:!?' y", "[https://e.x/a https&#58;//e.x/a].,;:!?' y"),
        ("(https://e.x/a)", "([https://e.x/a https&#58;//e.x/a])"),
        ("https://e.x/a(b)c)", "[https://e.x/a(b)c https&#58;//e.x/a(b)c])"),
        ("https://e.x/a((b))).", "[https://e.x/a((b)) https&#58;//e.x/a((b))])."),
        ("https://e.x/a?q=1&r=2", "[https://e.x/a?q=1&amp;r=2 https&#58;//e.x/a?q=1&amp;r=2]"),
        ("HTTP://E.X/aX", "[HTTP://E.X/aX HTTP&#58;//E.X/aX]"),
        ("https://e.x/T1 T2", "[https://e.x/T1 https&#58;//e.x/T1] [[phab:T2|T2]]"),  # no task link inside a link
        ("https://", "https&#58;//"),
        ("xhttps://e.x/", "xhttps&#58;//e.x/"),
    ],
    ids=["url", "punctuation", "closing", "balanced", "nested", "ampersand", "upper", "task", "empty", "inside-word"],
)
def test_free_urls_are_linked_as_written(text: str, linked: str) -> None:
    assert linkify_tasks(text) == linked


def test_links_in_cells_escape_their_label_as_a_cell() -> None:
    assert linkify_tasks("!see https://e.x/a!b T1!", cell=True) == (
        "&#33;see [https://e.x/a!b https&#58;//e.x/a&#33;b] [[phab:T1|T1]]&#33;"
    )
    assert linkify_tasks("!see https://e.x/a!b") == "&#33;see [https://e.x/a!b https&#58;//e.x/a!b]"
    assert linkify_tasks("[[gerrit:5|a!!b]] c!", cell=True, gerrit=True) == "[[gerrit:5|a&#33;&#33;b]] c&#33;"
    assert linkify_tasks("[[gerrit:5|a]] https://e.x/ T3", gerrit=True) == (
        "[[gerrit:5|a]] [https://e.x/ https&#58;//e.x/] [[phab:T3|T3]]"
    )
    assert linkify_tasks("[[gerrit:5|]]", gerrit=True) == "[[gerrit:5|]]"
    assert linkify_tasks(None) == ""


def test_a_link_is_a_checked_url_and_an_escaped_label() -> None:
    assert link("https://e.x/a?b&c", "a [b]") == "[https://e.x/a?b&amp;c a &#91;b&#93;]"
    assert link("https://e.x/", "") == "[https://e.x/ link]"
    assert link("https://e.x/", None) == "[https://e.x/ link]"
    assert link("https://e.x/", "a!") == "[https://e.x/ a!]"
    assert link("https://e.x/", "a!", cell=True) == "[https://e.x/ a&#33;]"
    assert link("javascript:x", "a!", cell=True) == "a&#33;"
    assert link(None, "[x]") == "&#91;x&#93;"
    assert link(None, "") == ""


def test_safe_url_keeps_what_cannot_break_a_link() -> None:
    kept = "https://x.example/a?b=c&d=e;f,g+h*i(j)k!l$m@n#o%20-p.q_r:s/t"
    assert safe_url(kept) == kept
    assert safe_url("  https://x.example/a  ") == "https://x.example/a"
    assert safe_url("HTTP://X.EXAMPLE/") == "HTTP://X.EXAMPLE/"
    assert safe_url("https://x.example/a___b~") == "https://x.example/a%5F%5F%5Fb%7E"
    assert safe_url("https://x.example/a^b`c\\d") == "https://x.example/a%5Eb%60c%5Cd"
    assert safe_url("") is None and safe_url(None) is None and safe_url("  ") is None
    assert safe_url("ftp://x.example/") is None and safe_url("xhttps://x.example/") is None


def _row(minutes: int, text: str, **fields: object) -> Row:
    return Row(key=f"k{minutes}", time=T0 + timedelta(minutes=minutes), text=text, source="sal", kind=EventKind.LOG, **fields)  # type: ignore[arg-type]


def _timeline(page: str) -> list[str]:
    return regions(page)["timeline"].content.splitlines()


def test_a_timeline_over_several_days_has_a_heading_per_day_and_keeps_row_order() -> None:
    rows = (_row(60 * 7, "next day, first"), _row(1, "a"), _row(2, "hidden", hidden=True), _row(60 * 6 + 5, "next day, second"), _row(3, "b"))
    page = render_incident(replace(make_incident("x"), rows=rows, failures=(SourceFailure("irc", "down"),)))
    assert _timeline(page) == [
        "''Missing from this timeline: irc could not be read when it was drafted.''",
        "==== 2023-02-14 ====",
        "* 18:01 a",
        "* 18:03 b",
        "==== 2023-02-15 ====",
        "* 01:00 next day, first",
        "* 00:05 next day, second",
    ]
    assert not regions(page)["timeline"].edited  # the hash taken line by line is the region's


def test_a_timeline_of_one_day_has_no_heading_and_no_rows_leaves_the_region_empty() -> None:
    page = render_incident(replace(make_incident("x"), rows=(_row(1, "Ünïcode, decomposed: e\u0301"),), failures=()))
    assert _timeline(page) == ["* 18:01 Ünïcode, decomposed: e\u0301"]
    assert not regions(page)["timeline"].edited
    empty = render_incident(replace(make_incident("x"), rows=(), failures=()))
    assert regions(empty)["timeline"].content == "" and not regions(empty)["timeline"].edited



def test_a_missing_template_fails_before_the_output_file_is_touched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    output = tmp_path / "draft.wiki"
    output.write_text("yesterday's draft\n", encoding="utf-8")
    empty = tmp_path / "templates"
    empty.mkdir()
    monkeypatch.setattr(render, "environment", lambda: jinja2.Environment(loader=jinja2.FileSystemLoader(str(empty))))
    drafted = run("draft", "--replay", str(EXAMPLE), "--no-store", "--output", str(output))
    assert drafted.exit_code != 0 and "template incident.wiki.j2 not found" in drafted.stderr
    assert output.read_text(encoding="utf-8") == "yesterday's draft\n"


def test_each_source_that_failed_is_named_once_whatever_its_case() -> None:
    failures = tuple(
        SourceFailure(name, "down") for name in ("irc", "IRC", "Straße", "sal", "STRASSE", "Irc", "sal")
    )
    page = render_incident(replace(make_incident("x"), rows=(), failures=failures))
    assert _timeline(page) == ["''Missing from this timeline: irc, Straße, sal could not be read when it was drafted.''"]
