"""Reading a scorecard back from a report page, in every generation it was written in.

The wikitable incidentkit renders (after humans edited it) and the real renderings of all
generations (v1 2022 points rubric, v1.5, v2 2022-2024 and v3 2025 yes/no): each row is matched to
a question key of the given definition by its wording (canonical text, then the file's
``aliases``, then a fuzzy match). Never raises on odd input.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import mwparserfromhell

from ..model.scorecard import Answer, ParsedAnswer, ParsedScorecard, ScorecardDefinition
from .cells import cell_text

__all__ = ["parse_scorecard", "parse_from_wikitext", "tidy"]


_POINTS_RE = re.compile(r"\(\s*\d+\s*/\s*\d+\s*pt\s*\)", re.IGNORECASE)


_WORD_RE = re.compile(r"[a-z0-9]+")


_QUOTES = (("“", '"'), ("”", '"'), ("„", '"'), ("‘", "'"), ("’", "'"), ("\u00a0", " "))


def _plain_quotes(text: str) -> str:
    """*text* with typographic quotes and no-break spaces as plain ones (replacing the few a text
    holds is many times faster than a translation, which looks up every character)."""
    for fancy, plain in _QUOTES:
        if fancy in text:
            text = text.replace(fancy, plain)
    return text


def _lower(text: str) -> str:
    """Lower case without changing the length (offsets into the original text stay valid)."""
    lowered = text.lower()
    return (
        lowered
        if len(lowered) == len(text)
        else "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
    )


def _words(text: str) -> tuple[str, ...]:
    return tuple(_WORD_RE.findall(_POINTS_RE.sub(" ", _plain_quotes(text).lower())))


class _Matcher:
    """Maps question wording (any generation) to keys: exact word sequence, then fuzzy."""

    FUZZY = 0.86

    def __init__(self, definition: ScorecardDefinition) -> None:
        self.variants: list[tuple[tuple[str, ...], str]] = []
        for question in definition.questions:
            texts = [question.full_text, question.text, *question.aliases]
            for text in texts:
                words = _words(text)
                if words and (words, question.key) not in self.variants:
                    self.variants.append((words, question.key))
        self.variants.sort(key=lambda v: -len(v[0]))
        self.by_first: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        for words, key in self.variants:
            self.by_first.setdefault(words[0], []).append((words, key))
        self.total_words = _words(definition.total_label)
        self.canonical = {question.key: _words(question.full_text) for question in definition.questions}
        self.first_words = set(self.by_first) | set(self.total_words[:1])  # the words a wording starts with

    def match_cell(self, text: str) -> str | None:
        """The key whose wording this whole cell is (exactly, else closely enough)."""
        words = _words(text)
        if len(words) < 3:
            return None
        for variant, key in self.variants:
            if variant == words:
                return key
        joined = " ".join(words)
        best, best_key = 0.0, None
        for variant, key in self.variants:
            other = " ".join(variant)
            if 2 * min(len(joined), len(other)) / (len(joined) + len(other)) < self.FUZZY:
                continue  # too different in length to reach the threshold
            matcher = difflib.SequenceMatcher(None, joined, other, autojunk=False)
            if matcher.quick_ratio() < self.FUZZY:
                continue
            ratio = matcher.ratio()
            if ratio > best:
                best, best_key = ratio, key
        return best_key if best >= self.FUZZY else None

    def wordings(self, words: list[str]) -> tuple[list[tuple[str, int, int, bool]], int | None]:
        """Where each question's wording is in *words* (key, first and last word, whether it is the
        canonical wording; each key once, the first time), and where the total's label starts (the
        questions end there).

        Only a word that starts some wording is looked at: most words of a page start none.
        """
        found: list[tuple[str, int, int, bool]] = []
        keys: set[str] = set()
        total = self.total_words
        after = 0  # the words before it are a wording found
        for i in [number for number, word in enumerate(words) if word in self.first_words]:
            if i < after:
                continue
            if total and tuple(words[i : i + len(total)]) == total:
                return found, i
            for variant, key in self.by_first.get(words[i], ()):
                if tuple(words[i : i + len(variant)]) == variant and key not in keys:
                    found.append((key, i, i + len(variant) - 1, variant == self.canonical[key]))
                    keys.add(key)
                    after = i + len(variant)
                    break
        return found, None

    def is_total(self, text: str) -> bool:
        words = _words(text)
        return bool(words) and words[:2] == ("total", "score")


def tidy(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()  # \s is every Unicode space, the no-break space too


def _split_answer(answer_text: str, note_text: str, *, points: bool) -> ParsedAnswer:
    """``yes``/``no`` (any case), or with *points* a v1 score, at the start of *answer_text*; the rest is the note."""
    answer_text, note_text = tidy(answer_text), tidy(note_text)
    pattern = r"^(yes|no|\d+)\b[\s.,;:–—-]*(.*)$" if points else r"^(yes|no)\b[\s.,;:–—-]*(.*)$"
    match = re.match(pattern, answer_text, re.IGNORECASE)
    if not match:
        return ParsedAnswer(None, tidy(f"{answer_text} {note_text}"))
    word, rest = match.group(1).lower(), match.group(2)
    note = tidy(f"{rest} {note_text}")
    if word.isdigit():
        score = int(word)
        return ParsedAnswer(Answer.YES if score > 0 else Answer.NO, note, score)
    return ParsedAnswer(Answer.YES if word == "yes" else Answer.NO, note)


def _table_rows(table: Any) -> list[list[str]]:
    """The cells (as text) of every row of a mwparserfromhell table tag, header row included."""
    rows: list[list[str]] = []
    loose: list[str] = []
    for node in table.contents.nodes:
        tag = str(getattr(node, "tag", "")).lower()
        if tag in ("td", "th"):
            loose.append(cell_text(node.contents))
        elif tag == "tr":
            cells = [
                cell_text(child.contents)
                for child in node.contents.nodes
                if str(getattr(child, "tag", "")).lower() in ("td", "th")
            ]
            rows.append(cells)
    return ([loose] if loose else []) + rows


def _parse_wikitables(text: str, matcher: _Matcher) -> ParsedScorecard | None:
    code = mwparserfromhell.parse(text)
    best: ParsedScorecard | None = None
    for table in code.filter_tags(matches=lambda n: str(n.tag).lower() == "table", recursive=True):
        answers: dict[str, ParsedAnswer] = {}
        found: list[str] = []
        total: int | None = None
        rows = _table_rows(table)
        points = bool(_POINTS_RE.search(str(table))) or any(_words(c) == ("score",) for r in rows for c in r)
        for cells in rows:
            for index, cell in enumerate(cells):
                if matcher.is_total(cell):
                    numbers = [c for c in cells[index + 1 :] if re.fullmatch(r"\s*\d+\s*", c)]
                    total = int(numbers[0]) if numbers else None
                    break
                key = matcher.match_cell(cell)
                if key is None or key in found:
                    continue
                found.append(key)
                rest = cells[index + 1 :]
                parsed = _split_answer(rest[0] if rest else "", " ".join(rest[1:]), points=points)
                if parsed.answer is not None or parsed.note:
                    answers[key] = parsed
                break
        if found and (best is None or len(found) > len(best.found)):
            best = ParsedScorecard(answers=answers, found=tuple(found), total=total, generation="wikitable")
    return best


_END_RE = re.compile(
    r"^\s*(?:Retrieved from|Categories\s*:?\s*$|={2,}|#{1,6}\s|\[\[\s*Category\s*:)",
    re.IGNORECASE | re.MULTILINE,
)


# "Incident Engagement" in any case: IGNORECASE from the second letter, so that the pattern starts with
# a set of letters it is scanned for ("İ" and "ı" are an "i" to IGNORECASE), rather than tried everywhere
_ENGAGEMENT_RE = re.compile(r"[iI\u0130\u0131](?i:ncident engagement)")


def _scorecard_block(text: str) -> str:
    """The part of a rendered page that holds the scorecard (the whole text if it cannot tell)."""
    match = _ENGAGEMENT_RE.search(text)
    if match:
        start = match.start()
    else:
        heading = re.search(r"^\W*Scorecard\W*$", text, re.IGNORECASE | re.MULTILINE)
        start = heading.end() if heading else 0
    block = text[start:]
    first_line_end = block.find("\n")
    end = _END_RE.search(block, first_line_end if first_line_end >= 0 else len(block))
    return block[: end.start()] if end else block


def _generation(block: str, header: str, canonical: Mapping[str, bool]) -> str:
    """Which scorecard generation a rendered block is, from its header row and wording."""
    words = " ".join(_words(header))
    if "rubric" in words or _POINTS_RE.search(block):
        return "v1"
    if "question score notes" in words:
        return "v1.5"
    if "yes no" in words:
        return "v3" if canonical.get("status_doc_updated") else "v2"
    return "unknown"


def _parse_rendered(text: str, matcher: _Matcher, definition: ScorecardDefinition) -> ParsedScorecard:
    original = _scorecard_block(text)
    block = _POINTS_RE.sub(
        lambda m: " " * len(m.group(0)), original
    )  # v1 "(0/5pt)" is wording, not an answer
    blanked = _lower(_plain_quotes(block))
    words = _WORD_RE.findall(blanked)
    wordings, total_index = matcher.wordings(words)
    # the words' places, only for a page where some wording is: most have none
    bounds = [m.span() for m in _WORD_RE.finditer(blanked)] if wordings or total_index is not None else []
    spans = [(key, bounds[first][0], bounds[last][1], canon) for key, first, last, canon in wordings]
    total_at: tuple[int, int] | None = None
    if total_index is not None:
        total_at = (bounds[total_index][0], bounds[total_index + len(matcher.total_words) - 1][1])
    found = tuple(s[0] for s in spans)
    header = block[: spans[0][1]] if spans else block
    category_re = re.compile(
        r"(?:^|\n)[\s|]*(?:" + "|".join(re.escape(c) for c in definition.categories) + r")[\s|]*$",
        re.IGNORECASE,
    )
    generation = _generation(original, header, {s[0]: s[3] for s in spans}) if spans else "unknown"
    points = generation in ("v1", "v1.5")
    separator = r"\t" if "\t" in block else r"\|"  # in tab-separated captures a "|" is text
    answers: dict[str, ParsedAnswer] = {}
    for index, (key, _start, end, _canon) in enumerate(spans):
        stop = spans[index + 1][1] if index + 1 < len(spans) else (total_at[0] if total_at else len(block))
        region = category_re.sub("", block[end:stop].rstrip())
        region = re.sub(r"^[^\w\s]*\s*[?:]?", "", region)  # the question's closing ")?", "." (or v1's "?")
        cells = [
            c.strip() for c in re.split(separator, region) if c.strip() and not re.fullmatch(r"[-:\s]+", c)
        ]
        if not cells:
            continue
        parsed = _split_answer(cells[0], " ".join(cells[1:]), points=points)
        if parsed.answer is not None:  # rendered text cannot tell a lone note from the text around it
            answers[key] = parsed
    total = None
    if total_at:
        number = re.search(r"\b(\d+)\b", block[total_at[1] :])
        total = int(number.group(1)) if number else None
    return ParsedScorecard(answers=answers, found=found, total=total, generation=generation)


_SECTION_RE = re.compile(r"^=+\s*Scorecard\s*=+\s*$", re.IGNORECASE | re.MULTILINE)


@lru_cache(maxsize=8)
def _matcher(definition: ScorecardDefinition) -> _Matcher:
    return _Matcher(definition)


def parse_scorecard(text: str, definition: ScorecardDefinition) -> ParsedScorecard:
    """Read a scorecard from page text: wikitext (the scorecard wikitable) or a rendered page.

    Wikitext tables are read cell by cell (question cell, then answer, then notes); rendered text
    (tab-separated, one cell per line, markdown pipes, flattened lines) is read by finding each
    question's wording and taking what follows it up to the next question as answer and note.
    Rows left blank are in ``found`` but not in ``answers``; from rendered text only rows with a
    yes/no (or v1 score) are kept, as a lone note cannot be told from the text around it there.
    Never raises on odd input.
    """
    matcher = _matcher(definition)
    if "{|" in text:
        section = _SECTION_RE.search(text)
        parsed = _parse_wikitables(text[section.start() :] if section else text, matcher)
        if parsed is not None:
            return parsed
    return _parse_rendered(text, matcher, definition)


def parse_from_wikitext(text: str, definition: ScorecardDefinition) -> dict[str, tuple[Answer | None, str]]:
    """The answers a page holds, as ``{key: (answer, note)}`` (answered or noted rows only)."""
    return {key: (a.answer, a.note) for key, a in parse_scorecard(text, definition).answers.items()}
