"""Hostile text and what a real MediaWiki makes of a page, shared by the hostile-text tests.

:data:`hostile_text` generates strings made of wiki markup, magic words, every URL protocol of
``$wgUrlProtocols``, HTML, control characters and arbitrary Unicode. :func:`parse_page` has the
test session's real MediaWiki parse a page with the pre-save transform (what saving it would do);
:func:`structure` reduces the result to what a source must never change: templates, internal
links, interwiki links, categories, external links, sections, page properties and HTML elements,
plus the visible text, normalised as a reader compares it (:func:`norm`).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from html.parser import HTMLParser
from typing import Any

from hypothesis import strategies as st

from tests.servers.mediawiki import MediaWiki

__all__ = ["PROTOCOLS", "HOSTILE", "SAFE_CHARS", "fragment", "hostile_text", "parse_page", "structure", "norm"]

# Every protocol of MediaWiki's default $wgUrlProtocols, as free links
PROTOCOLS = [
    "bitcoin:1A1z", "ftp://f.example/x", "ftps://f.example/x", "geo:37.78,-122.4", "git://g.example/r",
    "gopher://g.example", "http://evil.example/x", "https://evil.example/a_b?c=d&e=f#g", "irc://irc.example/c",
    "ircs://irc.example/c", "magnet:?xt=urn:btih:abc", "mailto:a@b.example", "matrix:r/x:example.org",
    "mms://m.example", "news:comp.lang", "nntp://n.example/g", "redis://r.example", "sftp://s.example",
    "sip:a@b.example", "sips:a@b.example", "sms:+15551234", "ssh://s.example", "svn://s.example/r",
    "tel:+15551234", "telnet://t.example", "urn:isbn:0451450523", "worldwind://w.example", "xmpp:a@b.example",
    "//proto.relative/x", "HTTPS://UPPER.EXAMPLE/X", "Mailto:Upper@b.example",
]  # fmt: skip
HOSTILE = [
    "{{", "}}", "{{evil}}", "{{subst:evil}}", "{{DISPLAYTITLE:x}}", "{{DEFAULTSORT:x}}", "{{#if:1|x}}", "{{!}}",
    "{{PAGENAME}}", "[[", "]]", "[[Category:Hacked]]", "[[File:X.png]]", "[[wikipedia:Foo]]", "[[mw:Help:Foo]]",
    "[[:Category:X]]", "[[gerrit:1|x]]", "[[gerrit:42|label T5]]", "[[phab:T1|", "x]]", "~~~~", "~~~", "~~~~~",
    "|", "||", "!!", "|-", "{|", "|}", "|+", "<ref>", "</ref>", "<references/>", "<nowiki>", "</nowiki>",
    "<!--", "-->", "<b>", "</b>", "<div style='x'>", "<span>", "<script>alert(1)</script>", "<pre>", "<br>",
    "__NOTOC__", "__FORCETOC__", "__NOINDEX__", "__TOC__", "__NOTOC__ISBN 0-306-40615-2", "ISBN 0-306-40615-2",
    "ISBN 978-0-306-40615-7", "RFC 1234", "PMID 12345", "----", "=", "==", "== H ==", "*", "#", ":", ";",
    "'''", "''", "'", "&amp;", "&", "&#91;", "&lt;", "&nbsp;", "-{", "}-", "\\", "T123", "T9", "T1#2",
    "\n", "\n== Heading ==\n", "\n* item", "\t", "\r\n", "\x00", " ", "a", "x", ".", ")", "(", "%7C", "%20",
    "{|", "\u00a0", "RFC", "ISBN", "PMID", "Talk:X", "[http://evil.example y]", "[//evil.example z]",
    "<!-- incidentkit:end timeline -->", "incidentkit:begin",
]  # fmt: skip
SAFE_CHARS = st.characters(
    blacklist_categories=("Cc", "Cf", "Cs", "Co", "Cn"),
    blacklist_characters="\ufffe\uffff\u2028\u2029\x85",
)
fragment = st.one_of(st.sampled_from(HOSTILE + PROTOCOLS), st.text(alphabet=SAFE_CHARS, max_size=6))
# empty text legitimately drops optional parts (notes, owners), so every value has some content
hostile_text = st.lists(fragment, min_size=1, max_size=6).map("".join).filter(lambda s: bool(s.strip()))


class _Elements(HTMLParser):
    """Counts the HTML elements of a parse result, and collects its visible text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: Counter[str] = Counter()
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "a":  # links are compared by the parser's own link lists
            self.elements[tag] += 1

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse_page(mediawiki: MediaWiki, wikitext: str, title: str = "Incidents/2023-02-14 Hostile") -> dict[str, Any]:
    """What the wiki makes of *wikitext* as page *title* (``action=parse`` with the pre-save transform)."""
    return mediawiki.api(
        post=True, action="parse", title=title, text=wikitext, contentmodel="wikitext",
        pst="1", prop="text|links|templates|categories|externallinks|iwlinks|sections|properties",
        disablelimitreport="1",
    )["parse"]  # fmt: skip


def structure(parsed: dict[str, Any]) -> dict[str, Any]:
    """The parts of a parse result that text from a source must not change, and the visible text."""
    elements = _Elements()
    elements.feed(parsed["text"])
    return {
        "links": Counter(link["title"] for link in parsed["links"]),
        "templates": Counter(t["title"] for t in parsed["templates"]),
        "categories": Counter(c["category"] for c in parsed["categories"]),
        "iwlinks": Counter(f"{link['prefix']}:{link['title']}" for link in parsed["iwlinks"]),
        "externallinks": Counter(parsed["externallinks"]),
        "sections": [section["line"] for section in parsed["sections"]],
        "levels": [section["level"] for section in parsed["sections"]],
        "properties": parsed["properties"],
        "elements": elements.elements,
        "visible": norm("".join(elements.text)),
    }


def norm(text: str) -> str:
    """Text as a reader compares it: NFC (MediaWiki normalises its input), no C0 controls (it drops
    them), any run of whitespace (no-break spaces included) one space."""
    text = unicodedata.normalize("NFC", re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "", text))
    return " ".join(text.replace("\u00a0", " ").split())
