"""Escaping: every string from a source or a user becomes wikitext that renders as itself.

No source text can change the page's structure (templates, links, categories, signatures, tables,
headings, lists, tags, magic words): markup characters become HTML entities, which render as the
characters they stand for, so readers see the original text. The only links are the ones made on
purpose: task ids, scap's gerrit links, and checked external URLs.
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
    "\\": "&#92;",
}


# Characters that are always escaped; the others only where they could start markup.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


_ALWAYS = re.compile(r"[&<>\[\]{}|~]")


_RUNS = re.compile(r"''+|__+|://|----+|^[=*#:;!-]|=$|\b(?:ISBN|RFC|PMID)\b")


def _entity(char: str) -> str:
    return _ENTITIES.get(char, char)


def escape_wiki(value: Any) -> str:
    """Escape *value* (any text) so that it renders as itself and adds no wikitext structure."""
    if value is None:
        return ""
    text = _CONTROL.sub("", str(value))  # MediaWiki drops C0 controls; parsers choke on NUL
    text = re.sub(r"\s*[\r\n\u2028\u2029\x85]+\s*", " ", text).strip()
    text = text.replace("\u00a0", " ")
    text = _ALWAYS.sub(lambda m: _entity(m.group(0)), text)

    def runs(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "://":
            return "&#58;//"  # no free external links (autolinked URLs)
        if token in ("ISBN", "RFC", "PMID"):
            return f"&#{ord(token[0])};{token[1:]}"
        return "".join(_entity(c) for c in token)

    return _RUNS.sub(runs, text)


def escape_cell(value: Any) -> str:
    """Escape for a table cell: as :func:`escape_wiki`, and ``!`` too (``!!`` splits header cells)."""
    return escape_wiki(value).replace("!", "&#33;")


_GERRIT = re.compile(r"&#91;&#91;gerrit:(\d+)&#124;(.*?)&#93;&#93;")


def linkify_tasks(value: Any, *, cell: bool = False) -> str:
    """Escape like ``wiki`` (or ``cell``), then link ``T123`` and scap's ``[[gerrit:N|label]]``.

    The links are rebuilt from the escaped text: a label can hold no ``]``, ``|`` or ``{``
    (they are entities by then), so it cannot break out of the link.
    """
    escaped = escape_cell(value) if cell else escape_wiki(value)
    parts: list[str] = []
    last = 0
    for match in _GERRIT.finditer(escaped):  # no task links inside a gerrit link's label
        parts.append(_link_tasks(escaped[last : match.start()]))
        parts.append(f"[[gerrit:{match.group(1)}|{match.group(2)}]]")
        last = match.end()
    parts.append(_link_tasks(escaped[last:]))
    return "".join(parts)


def _link_tasks(escaped: str) -> str:
    return TASK_MENTION.sub(lambda m: f"[[phab:T{m.group(1)}|T{m.group(1)}]]", escaped)


_URL_OK = re.compile(r"^https?://[^\s]+$")


def safe_url(url: str | None) -> str | None:
    """*url* percent-encoded so it cannot end a link early; None when it is not http(s)."""
    if not url or not _URL_OK.match(url.strip()):
        return None
    return quote(url.strip(), safe=":/?#@!$&()*+,;=%-._")


def link(url: str | None, label: Any) -> str:
    """``[URL label]`` with the URL checked and the label escaped; plain label without a usable URL."""
    target = safe_url(url)
    if target is None:
        return escape_wiki(label)
    return f"[{target.replace('&', '&amp;')} {escape_wiki(label) or 'link'}]"
