"""Escaping: every string from a source or a user becomes wikitext that renders as itself.

No source text can change the page's structure (templates, links of any kind, categories,
signatures, tables, headings, lists, tags, behaviour switches, magic links): markup characters
become HTML entities, which render as the characters they stand for, so readers see the original
text. What MediaWiki would turn into a link without brackets is broken up the same way: the colon
of every URL scheme of ``$wgUrlProtocols`` (any ``scheme://``, and the schemes without ``//``:
``mailto:``, ``tel:``, ``urn:``...) and the first letter of ``ISBN``, ``RFC`` and ``PMID``,
wherever they stand (an entity in front of them is a word boundary to the parser).

The only links are the ones made on purpose: task ids, the gerrit changes of deploy lines the tool
recognised (``gerrit=True``), free ``http(s)`` URLs, which become explicit external links whose
label is the URL as written, and :func:`link`'s checked URLs.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from ..model.tasks import TASK_MENTION

__all__ = ["escape_wiki", "escape_cell", "linkify_tasks", "safe_url", "link"]


_ENTITIES = {
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    "[": "&#91;",
    "]": "&#93;",
    "{": "&#123;",
    "}": "&#125;",
    "|": "&#124;",
    "~": "&#126;",
    "'": "&#39;",
    "_": "&#95;",
    "=": "&#61;",
    "*": "&#42;",
    "#": "&#35;",
    ":": "&#58;",
    ";": "&#59;",
    "-": "&#45;",
    "!": "&#33;",
}

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BREAKS = re.compile(r"\s*[\r\n\u2028\u2029\x85]+\s*")
# Characters that are always escaped ("&" first: the entities hold one); the others only where they could start markup.
_ALWAYS = tuple((c, _ENTITIES[c]) for c in "&<>[]{}|~")
# MediaWiki's default $wgUrlProtocols without "//": these link without brackets too.
_SCHEMES_WITHOUT_SLASHES = ("bitcoin", "geo", "magnet", "mailto", "matrix", "news", "sip", "sips", "sms", "tel", "urn", "xmpp")
_SCHEME_BEFORE = re.compile(r"(?i:" + "|".join(_SCHEMES_WITHOUT_SLASHES) + r")\Z")
_LONGEST_SCHEME = max(map(len, _SCHEMES_WITHOUT_SLASHES))
_RUNS = re.compile(
    r"''+|__+|----+|^[=*#:;!-]|=$"
    r"|:"  # the colon of a URL scheme (told apart in _runs: a lookbehind here is tried at every character)
    r"|ISBN|RFC|PMID"  # magic links, case-sensitive like the parser's
)
_FREE_URL = re.compile(r"\bhttps?://[^\s<>\[\]{}|\"\\^`]+", re.IGNORECASE)
_GERRIT_OR_URL = re.compile(r"\[\[gerrit:(\d+)\|(.*?)\]\]|" + _FREE_URL.pattern, re.IGNORECASE)
_URL_OK = re.compile(r"^https?://[^\s]+$", re.IGNORECASE)


def _one_line(value: Any) -> str:
    """*value* as text on one line: C0 controls dropped (MediaWiki drops them; parsers choke on
    NUL), line breaks and the whitespace around them made one space, ends stripped."""
    if value is None:
        return ""
    return _BREAKS.sub(" ", _CONTROL.sub("", str(value))).strip()


def _runs(match: re.Match[str]) -> str:
    token = match.group(0)
    if token in ("ISBN", "RFC", "PMID"):
        return f"&#{ord(token[0])};{token[1:]}"
    if token == ":" and match.start() > 0:  # a colon that starts the text is escaped always
        text, at = match.string, match.start()
        if not text.startswith("//", at + 1) and not _SCHEME_BEFORE.search(text, max(0, at - _LONGEST_SCHEME), at):
            return token
    return "".join(_ENTITIES[c] for c in token)  # every character a run can hold has its entity


def _escape(text: str) -> str:
    """Escape text already on one line (see the module docstring)."""
    for char, entity in _ALWAYS:
        if char in text:
            text = text.replace(char, entity)
    return _RUNS.sub(_runs, text)


def escape_wiki(value: Any) -> str:
    """Escape *value* (any text) so that it renders as itself and adds no wikitext structure."""
    return _escape(_one_line(value))


def _escape_cell(text: str) -> str:
    return _escape(text).replace("!", "&#33;")


def escape_cell(value: Any) -> str:
    """Escape for a table cell: as :func:`escape_wiki`, and ``!`` too (``!!`` splits header cells)."""
    return _escape_cell(_one_line(value))


def _free_url(url: str) -> tuple[str, str]:
    """A free URL as found in text, split into (the URL, what follows it): trailing punctuation and
    a ``)`` that closes no ``(`` of the URL belong to the sentence ("(see https://x/a_(b))")."""
    end = len(url)
    opened = url.count("(")  # none is cut off: only punctuation and ")" are
    while end and (url[end - 1] in ".,;:!?'" or (url[end - 1] == ")" and url.count(")", 0, end) > opened)):
        end -= 1
    return url[:end], url[end:]


def linkify_tasks(value: Any, *, cell: bool = False, gerrit: bool = False) -> str:
    """Escape like ``wiki`` (or ``cell``), and link what the tool recognises: task ids
    (``[[phab:T123|T123]]``), free ``http(s)`` URLs (``[URL URL]``: clickable, shown as written)
    and, with *gerrit* (deploy lines scap wrote), ``[[gerrit:N|label]]`` changes.

    Links are rebuilt, never passed through: a gerrit label is escaped text (it can hold no ``]``
    or ``|`` by then), and neither task ids nor URLs are linked inside a link.
    """
    escape = _escape_cell if cell else _escape
    text = _one_line(value)
    parts: list[str] = []
    last = 0
    pattern = _GERRIT_OR_URL if gerrit else _FREE_URL
    for match in pattern.finditer(text):
        parts.append(_link_tasks(escape(text[last : match.start()])))
        if gerrit and match.group(1):
            parts.append(f"[[gerrit:{match.group(1)}|{escape(match.group(2))}]]")
            last = match.end()
            continue
        url, rest = _free_url(match.group(0))
        parts.append(link(url, url, cell=cell))
        last = match.end() - len(rest)
    parts.append(_link_tasks(escape(text[last:])))
    return "".join(parts)


def _link_tasks(escaped: str) -> str:
    return TASK_MENTION.sub(lambda m: f"[[phab:T{m.group(1)}|T{m.group(1)}]]", escaped)


def safe_url(url: str | None) -> str | None:
    """*url* fit for a link target: None unless http(s); percent-encoded so that nothing in it can
    end the link early or mean markup (spaces, brackets, quotes, pipes, braces, ``~`` of
    signatures, ``__`` of behaviour switches)."""
    if not url or not _URL_OK.match(url.strip()):
        return None
    encoded = quote(url.strip(), safe=":/?#@!$&()*+,;=%-._")
    return re.sub("_{2,}", lambda m: "%5F" * len(m.group(0)), encoded.replace("~", "%7E"))


def link(url: str | None, label: Any, *, cell: bool = False) -> str:
    """``[URL label]`` with the URL checked and the label escaped; plain label without a usable URL."""
    target = safe_url(url)
    text = escape_cell(label) if cell else escape_wiki(label)
    if target is None:
        return text
    return f"[{target.replace('&', '&amp;')} {text or 'link'}]"
