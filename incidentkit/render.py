"""Wikitext rendering: the Jinja2 environment, the escaping filters, and ``render_incident``.

Wikitext is produced only by the templates in ``templates/``. Every string that comes from a
source or a user goes through one of these filters, so no source text can change the page's
structure (templates, links, categories, signatures, tables, headings, lists, tags, magic words):

* ``wiki``   inline text: markup characters become HTML entities, newlines become spaces;
* ``cell``   the same, plus ``!`` so a value is safe in a table cell;
* ``linked`` like ``wiki`` but task ids become ``[[phab:T123|T123]]`` links;
* ``link``   an external ``[URL label]`` link from a URL that is checked and percent-encoded;
* ``utc`` / ``hhmm`` format aware datetimes in UTC.

Entities render as the characters they stand for, so readers see the original text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2

from .config import asset_path
from .errors import RenderError
from .events import TASK_RE
from .incident import Incident
from .regions import wrap

__all__ = [
    "escape_wiki",
    "escape_cell",
    "linkify_tasks",
    "safe_url",
    "render_incident",
    "render_template",
    "environment",
]

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
    return TASK_RE.sub(lambda m: f"[[phab:T{m.group(1)}|T{m.group(1)}]]", escaped)


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


def utc(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    return value.strftime(fmt) if value else ""


def hhmm(value: datetime | None) -> str:
    """``18:31`` or ``18:34:55`` when the time has seconds."""
    if value is None:
        return ""
    return value.strftime("%H:%M:%S" if value.second else "%H:%M")


def minutes(value: float | None) -> str:
    """A duration in minutes as ``42 min`` or ``2 h 05 min``."""
    if value is None:
        return ""
    total = round(value)
    return f"{total // 60} h {total % 60:02d} min" if total >= 60 else f"{total} min"


def _region(name: str, content: str) -> str:
    return wrap(name, content.strip("\n"))


@cache
def environment(template_dir: Path | None = None) -> jinja2.Environment:
    """The Jinja environment: StrictUndefined, no autoescape (wikitext), trimmed blocks."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir or asset_path("templates"))),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        extensions=["jinja2.ext.do"],
    )
    filters: dict[str, Callable[..., Any]] = {
        "wiki": escape_wiki,
        "cell": escape_cell,
        "linked": linkify_tasks,
        "linked_cell": lambda v: linkify_tasks(v, cell=True),
        "utc": utc,
        "hhmm": hhmm,
        "minutes": minutes,
        "url": lambda u: safe_url(u) or "",
    }
    env.filters.update(filters)
    env.globals.update(region=_region, link=link)
    return env


def render_template(name: str, **context: Any) -> str:
    """Render one template from ``templates/`` with *context*; RenderError on template faults."""
    try:
        return environment().get_template(name).render(**context)
    except jinja2.TemplateNotFound as exc:
        raise RenderError(f"template {exc.name} not found", hint="reinstall incidentkit; templates/ is missing") from exc
    except jinja2.UndefinedError as exc:
        raise RenderError(f"template {name} uses an undefined value: {exc.message}") from exc
    except jinja2.TemplateSyntaxError as exc:
        raise RenderError(f"template {exc.name}:{exc.lineno} has a syntax error: {exc.message}") from exc


def render_incident(incident: Incident) -> str:
    """The incident page's wikitext (full report, or the lightweight one)."""
    name = "lightweight.wiki.j2" if incident.lightweight else "incident.wiki.j2"
    days = sorted({row.time.date() for row in incident.visible_rows})
    return render_template(name, incident=incident, days=days, multi_day=len(days) > 1)
