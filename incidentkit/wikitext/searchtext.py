"""A report page as plain text in fields, for the search index: summary, timeline, conclusions,
actionables, and the rest.

Sections are found by heading as :func:`~incidentkit.wikitext.reports.section_text` finds them
(wikitext ``== Summary ==``, or the heading lines of a rendered page: the first heading that names
a field, down to the next heading of its level or higher); a page whose renderer dropped the
headings has all its text in ``body``. Markup is removed with regular expressions rather than
a full parse: the index wants the words, fast, for thousands of pages (templates vanish except
task templates, links keep their labels, entities become characters, incidentkit's markers go),
and so are the lines every page has because of its template or its wiki (``data/boilerplate.txt``).
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from ..config import asset_path
from .reports import QUOTE_MARKUP, headings

__all__ = ["ReportText", "report_text", "plain_text"]

_SECTIONS = {
    "summary": re.compile(r"^(?:summary(?: and metadata)?|impact|tl;dr)$", re.I),
    "timeline": re.compile(r"^timeline\b", re.I),
    "conclusions": re.compile(r"^(?:conclusions?|what went (?:well|poorly|wrong)\??|where did we get lucky\??|root causes?|lessons learned)$", re.I),
    "actionables": re.compile(r"^(?:actionables?|action items?|follow[- ]?ups?(?: actions)?|followup actions|todos?|next steps)$", re.I),
}
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_TASK_TEMPLATE = re.compile(r"\{\{\s*(?:phabricator|phab|phabt|task|bug)\s*\|\s*T?(\d+)[^{}]*\}\}", re.I)
_TEMPLATE = re.compile(r"\{\{[^{}]*\}\}")
_PIPED_LINK = re.compile(r"\[\[[^\[\]|]*\|([^\[\]]*)\]\]")
_LINK = re.compile(r"\[\[([^\[\]|]*)\]\]")
_EXTERNAL = re.compile(r"\[(?:https?:)?//\S+\s+([^\]]*)\]")
_BARE_EXTERNAL = re.compile(r"\[(?:https?:)?//[^\s\]]+\]")
_TAG = re.compile(r"</?[a-zA-Z][^<>]*>")
_TABLE = re.compile(r"^\s*(?:\{\||\|\}|\|-|\|\+)|\|\||!!", re.M)


@cache
def _boilerplate() -> tuple[tuple[str, str | None], ...]:
    """Each phrase, with the longest of its inner words (those with a space either side): a text
    holds the phrase only if it holds that word as a word of its own (None: the phrase has none)."""
    lines = asset_path("data", "boilerplate.txt").read_text(encoding="utf-8").splitlines()
    phrases = [" ".join(line.lower().split()) for line in lines if line.strip() and not line.startswith("#")]
    return tuple((phrase, max(phrase.split(" ")[1:-1], key=len, default=None)) for phrase in phrases)


@cache
def _phrases(phrases: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(phrase) for phrase in phrases))


def _meaningful_lines(text: str) -> list[str]:
    """The non-empty lines of *text*, spaces collapsed, without those holding a boilerplate phrase.

    The phrases are looked for in the whole text first, and only the few it holds are matched line
    by line: one alternation of every phrase per line was most of the cost. A phrase is looked for
    only when the text's words include its inner word: a set holds the words, and a look-up in it
    is far cheaper than a substring test.
    """
    lines = [" ".join(line.split()) for line in text.splitlines()]
    lowered = "\n".join(lines).lower()
    words = set(lowered.split())
    present = tuple(phrase for phrase, word in _boilerplate() if (word is None or word in words) and phrase in lowered)
    if not present:
        return [line for line in lines if line]
    pattern = _phrases(present)
    return [line for line, low in zip(lines, lowered.split("\n"), strict=True) if line and not pattern.search(low)]


def plain_text(text: str) -> str:
    """The words of a wikitext (or rendered) fragment, without markup and without boilerplate lines.

    Each kind of markup is looked for only when the text holds the characters it cannot be
    without (``{{``, ``[[``, ``<``...): a substring test is far cheaper than a pattern's scan,
    and rendered pages have little markup.
    """
    if "<!--" in text:
        text = _COMMENT.sub(" ", text)
    if "{{" in text:
        text = _TASK_TEMPLATE.sub(lambda m: f" T{m.group(1)} ", text)
        for _ in range(3):  # nested templates, innermost first
            text, count = _TEMPLATE.subn(" ", text)
            if not count:
                break
    if "[[" in text:
        text = _PIPED_LINK.sub(r"\1", text)
        text = _LINK.sub(r"\1", text)
    if "//" in text:
        text = _EXTERNAL.sub(r"\1", text)
        text = _BARE_EXTERNAL.sub(" ", text)
    if "<" in text:
        text = _TAG.sub(" ", text)
    if "''" in text:
        text = QUOTE_MARKUP.sub("", text)
    if "|" in text or "!!" in text:  # what every match holds ("{|", "|}", "|-", "|+", "||" or "!!")
        text = _TABLE.sub(" ", text)
    return "\n".join(_meaningful_lines(html.unescape(text)))


@dataclass(frozen=True, slots=True)
class ReportText:
    summary: str = ""
    timeline: str = ""
    conclusions: str = ""
    actionables: str = ""
    body: str = ""


def report_text(text: str, outline: Sequence[tuple[int, int, str]] | None = None) -> ReportText:
    """The page *text* in fields: each known section's words, and everything else in ``body``.

    *outline* is the page's :func:`~incidentkit.wikitext.reports.headings`, when the caller has
    them already (``Report.headings``).
    """
    lines = text.splitlines()
    found = headings(lines) if outline is None else outline
    taken = [False] * len(lines)
    fields: dict[str, str] = {}
    for name, pattern in _SECTIONS.items():
        index = next((i for i, (_, _, title) in enumerate(found) if pattern.match(title.strip())), None)
        if index is None:
            continue
        first, level, _ = found[index]
        end = next((line for line, later, _ in found[index + 1 :] if later <= level), len(lines))
        for number in range(first, end):
            taken[number] = True
        fields[name] = plain_text("\n".join(lines[first + 1 : end]))
    rest = "\n".join(line for line, used in zip(lines, taken, strict=True) if not used)
    return ReportText(body=plain_text(rest), **fields)
