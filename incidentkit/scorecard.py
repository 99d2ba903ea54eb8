"""The reviewer's scorecard ("Incident Engagement ScoreCard"): questions as data, answers, reading pages.

This module owns, with no I/O beyond reading the scorecard definition and an answers file:

* the definition (:class:`ScorecardDefinition`), loaded from ``data/scorecard.toml`` or the site's
  own file (``[scorecard] file``) and validated; errors name the file and the line;
* what ``scorecard fill`` suggests from the incident record (:func:`suggest`), which questions it
  asks (:func:`plan_fill`) and how a typed or filed answer is read (:func:`parse_answer`,
  :func:`parse_answers`);
* the render-ready scorecard for the page's Scorecard region (:func:`render_context`, used by the
  draft/publish pipeline as ``Incident.scorecard`` and by ``templates/scorecard.wiki.j2``);
* reading a scorecard back from a page (:func:`parse_scorecard` / :func:`parse_from_wikitext`):
  the wikitable incidentkit renders (after humans edited it) and the real renderings of all
  generations (v1 2022 points rubric, v1.5, v2 2022-2024 and v3 2025 yes/no), matching each row to
  a question key by its wording (canonical text, then the file's ``aliases``, then a fuzzy match);
* the share of "no" answers per question over time (:func:`stats`).
"""

from __future__ import annotations

import difflib
import json
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mwparserfromhell
from mwparserfromhell.nodes import Comment, ExternalLink, HTMLEntity, Tag, Template, Text, Wikilink

from .config import Settings, asset_path
from .errors import ConfigError, InputError
from .window import format_utc

if TYPE_CHECKING:
    from .store import IncidentRecord, Store

__all__ = [
    "Answer",
    "AnswerKind",
    "Question",
    "ScorecardDefinition",
    "ScoreAnswer",
    "ScorecardSave",
    "Suggestion",
    "FillItem",
    "ScorecardRow",
    "FilledScorecard",
    "ParsedAnswer",
    "ParsedScorecard",
    "Period",
    "StatCell",
    "QuestionStats",
    "ScorecardStats",
    "SKIP",
    "DEFAULT_RULES",
    "definition_path",
    "load_definition",
    "parse_definition",
    "suggest",
    "plan_fill",
    "parse_answer",
    "parse_answers",
    "read_answers_file",
    "count_yes",
    "reviewer_name",
    "render_context",
    "scorecard_for_incident",
    "parse_scorecard",
    "parse_from_wikitext",
    "page_answers_in_store",
    "stats",
]


class Answer(StrEnum):
    """A filled answer. Unanswered is ``None`` everywhere (the store keeps NULL)."""

    yes = "yes"
    no = "no"


class AnswerKind(StrEnum):
    """How a question is answered. The real scorecard has only yes/no (with a Notes cell)."""

    yes_no = "yes-no"


TOTAL_METHODS = ("count-yes",)
TOTAL_LABEL = "Total score (count of all “yes” answers above)"
SKIP = "skip"

# --- the definition -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Question:
    """One row of the scorecard."""

    key: str
    category: str
    text: str
    guidance: str = ""  # the cell's second line: 'Answer “no” if engineers were paged after business hours.'
    kind: AnswerKind = AnswerKind.yes_no
    notes: bool = True
    aliases: tuple[str, ...] = ()
    default: str | None = None  # a DEFAULT_RULES name

    @property
    def full_text(self) -> str:
        """The question cell as one line: text and guidance."""
        return f"{self.text} {self.guidance}" if self.guidance else self.text


@dataclass(frozen=True, slots=True, kw_only=True)
class ScorecardDefinition:
    """The scorecard: title, categories in page order, questions, and how the total is computed."""

    title: str
    categories: tuple[str, ...]
    questions: tuple[Question, ...]
    total_method: str = "count-yes"
    total_label: str = TOTAL_LABEL
    path: Path | None = None

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(q.key for q in self.questions)


def definition_path(settings: Settings) -> Path:
    """The scorecard file in effect: ``[scorecard] file`` if set, else the bundled one."""
    if settings.scorecard.file:
        return Path(settings.scorecard.file).expanduser()
    return asset_path("data", "scorecard.toml")


def load_definition(path: Path | str | None = None) -> ScorecardDefinition:
    """Read and validate a scorecard file (default: the bundled ``data/scorecard.toml``).

    Raises ConfigError naming the file and the line for unreadable files, bad TOML, missing or
    unknown keys, duplicate question keys, unknown categories, answer kinds or total methods.
    """
    path = Path(path) if path is not None else asset_path("data", "scorecard.toml")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"cannot read the scorecard file {path}: {exc.strerror}",
            hint="check [scorecard] file in the config (leave it empty for the bundled scorecard)",
        ) from exc
    return parse_definition(text, path)


_QUESTION_KEYS = {"key", "category", "text", "guidance", "kind", "notes", "aliases", "default"}
_TOP_KEYS = {"title", "total", "categories", "questions"}
_KEY_RE = re.compile(r"^[a-z][a-z0-9_]*$")


class _Lines:
    """Find the line of a key in a TOML text, for schema errors (tomllib gives none)."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.tables: dict[str, list[int]] = {}
        for number, line in enumerate(self.lines, start=1):
            match = re.match(r"^\s*\[\[\s*([A-Za-z0-9_.-]+)\s*\]\]", line)
            if match:
                self.tables.setdefault(match.group(1), []).append(number)

    def table(self, name: str, index: int) -> int:
        """Line of the *index*-th ``[[name]]`` header (1 if not found)."""
        found = self.tables.get(name, [])
        return found[index] if index < len(found) else 1

    def key(self, key: str, *, table: str | None = None, index: int = 0) -> int:
        """Line of ``key =`` inside the *index*-th ``[[table]]`` (or anywhere when *table* is None)."""
        start = self.table(table, index) if table else 1
        headers = sorted(n for numbers in self.tables.values() for n in numbers if n > start)
        end = headers[0] if table and headers else len(self.lines) + 1
        pattern = re.compile(rf"^\s*\"?{re.escape(key)}\"?\s*=")
        for number in range(start, end):
            if pattern.match(self.lines[number - 1]):
                return number
        return start

    def value(self, key: str, value: str, *, table: str, occurrence: int) -> int:
        """Line of the *occurrence*-th ``key = "value"`` among the ``[[table]]`` entries."""
        pattern = re.compile(rf"^\s*\"?{re.escape(key)}\"?\s*=\s*[\"']{re.escape(value)}[\"']")
        seen = 0
        for number, line in enumerate(self.lines, start=1):
            if pattern.match(line):
                if seen == occurrence:
                    return number
                seen += 1
        return self.table(table, 0)


def parse_definition(text: str, path: Path | str = "<scorecard>") -> ScorecardDefinition:
    """Validate the text of a scorecard file; see :func:`load_definition`."""
    where = str(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        line = match.group(1) if match else "?"
        reason = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise ConfigError(
            f"{where}:{line}: the scorecard file is not valid TOML: {reason}",
            hint="fix the syntax at that line (strings need quotes; one key per line)",
        ) from exc
    lines = _Lines(text)

    def fail(line: int, message: str, hint: str) -> ConfigError:
        return ConfigError(f"{where}:{line}: {message}", hint=hint)

    for key in data:
        if key not in _TOP_KEYS:
            raise fail(
                lines.key(key),
                f"unknown key {key!r}",
                f"known top-level keys: {', '.join(sorted(_TOP_KEYS))}",
            )
    title = data.get("title")
    if not isinstance(title, str) or not title.strip():
        raise fail(
            lines.key("title"), "missing or empty key 'title'", 'add title = "Incident Engagement ScoreCard"'
        )
    total = data.get("total", {})
    if not isinstance(total, dict):
        raise fail(
            lines.key("total"), "'total' must be a table ([total])", "write [total] with method and label"
        )
    for key in total:
        if key not in ("method", "label"):
            raise fail(lines.key(key), f"unknown key 'total.{key}'", "[total] takes method and label")
    method = total.get("method", "count-yes")
    if method not in TOTAL_METHODS:
        raise fail(
            lines.key("method"),
            f"unknown total method {method!r}",
            f"known methods: {', '.join(TOTAL_METHODS)}",
        )
    label = total.get("label", TOTAL_LABEL)
    if not isinstance(label, str):
        raise fail(lines.key("label"), "'total.label' must be a string", "quote the label")

    raw_categories = data.get("categories")
    if not isinstance(raw_categories, list) or not raw_categories:
        raise fail(1, "missing [[categories]]", 'add [[categories]] tables with name = "People" etc.')
    categories: list[str] = []
    for index, raw in enumerate(raw_categories):
        line = lines.table("categories", index)
        if (
            not isinstance(raw, dict)
            or set(raw) != {"name"}
            or not isinstance(raw["name"], str)
            or not raw["name"]
        ):
            raise fail(
                line, "each [[categories]] needs exactly one key: name (a string)", 'write name = "People"'
            )
        if raw["name"] in categories:
            raise fail(
                lines.value("name", raw["name"], table="categories", occurrence=1),
                f"duplicate category {raw['name']!r}",
                "each category is listed once",
            )
        categories.append(raw["name"])

    raw_questions = data.get("questions")
    if not isinstance(raw_questions, list) or not raw_questions:
        raise fail(1, "missing [[questions]]", "add [[questions]] tables with key, category, text, kind")
    questions: list[Question] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_questions):
        header = lines.table("questions", index)
        if not isinstance(raw, dict):
            raise fail(header, "each [[questions]] entry must be a table", "use [[questions]] headers")
        for key in raw:
            if key not in _QUESTION_KEYS:
                raise fail(
                    lines.key(key, table="questions", index=index),
                    f"unknown key {key!r} in question {index + 1}",
                    f"question keys: {', '.join(sorted(_QUESTION_KEYS))}",
                )
        for required in ("key", "category", "text", "kind"):
            if required not in raw:
                raise fail(
                    header,
                    f"question {index + 1} has no {required!r}",
                    f"add {required} = ... to this question",
                )
        for name in ("key", "category", "text", "kind", "guidance", "default"):
            if name in raw and not isinstance(raw[name], str):
                raise fail(
                    lines.key(name, table="questions", index=index),
                    f"{name!r} of question {index + 1} must be a string",
                    "quote the value",
                )
        key = raw["key"]
        if not _KEY_RE.match(key):
            raise fail(
                lines.key("key", table="questions", index=index),
                f"bad question key {key!r}",
                "use lower-case letters, digits and '_' (starting with a letter)",
            )
        if key in seen:
            raise fail(
                lines.value("key", key, table="questions", occurrence=1),
                f"duplicate question key {key!r}",
                "every question needs its own key",
            )
        seen.add(key)
        if raw["category"] not in categories:
            raise fail(
                lines.key("category", table="questions", index=index),
                f"question {key!r} names unknown category {raw['category']!r}",
                f"categories: {', '.join(categories)}",
            )
        if raw["kind"] not in {k.value for k in AnswerKind}:
            raise fail(
                lines.key("kind", table="questions", index=index),
                f"question {key!r} has unknown answer kind {raw['kind']!r}",
                f"known kinds: {', '.join(k.value for k in AnswerKind)}",
            )
        if not raw["text"].strip():
            raise fail(
                lines.key("text", table="questions", index=index),
                f"question {key!r} has empty text",
                "write the question",
            )
        aliases = raw.get("aliases", [])
        if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
            raise fail(
                lines.key("aliases", table="questions", index=index),
                f"'aliases' of question {key!r} must be a list of strings",
                'write aliases = ["older wording", ...]',
            )
        notes = raw.get("notes", True)
        if not isinstance(notes, bool):
            raise fail(
                lines.key("notes", table="questions", index=index),
                f"'notes' of question {key!r} must be true or false",
                "write notes = true",
            )
        default = raw.get("default")
        if default is not None and default not in DEFAULT_RULES:
            raise fail(
                lines.key("default", table="questions", index=index),
                f"question {key!r} has unknown default {default!r}",
                f"known defaults: {', '.join(DEFAULT_RULES)}",
            )
        questions.append(
            Question(
                key=key,
                category=raw["category"],
                text=raw["text"].strip(),
                guidance=raw.get("guidance", "").strip(),
                kind=AnswerKind(raw["kind"]),
                notes=notes,
                aliases=tuple(aliases),
                default=default,
            )
        )
    order = {name: i for i, name in enumerate(categories)}
    questions.sort(key=lambda q: order[q.category])  # stable: file order within a category
    return ScorecardDefinition(
        title=title.strip(),
        categories=tuple(categories),
        questions=tuple(questions),
        total_method=method,
        total_label=label,
        path=Path(path) if isinstance(path, Path) else None,
    )


@lru_cache(maxsize=1)
def _bundled() -> ScorecardDefinition:
    return load_definition()


# --- answers --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ScoreAnswer:
    """A stored answer to one question of one incident."""

    incident: str
    key: str
    answer: Answer | None
    note: str = ""
    reviewer: str | None = None
    answered_at: datetime | None = None
    source: str = "local"  # local (scorecard fill) / import (read from the wiki page)
    revision: int | None = None  # the page revision an imported answer was read from


@dataclass(frozen=True, slots=True)
class ScorecardSave:
    """What ``Store.save_scorecard_answers`` did: keys written, and keys kept (local answers an import left alone)."""

    written: tuple[str, ...] = ()
    kept: tuple[str, ...] = ()


def parse_answer(text: str) -> Answer | str | None:
    """Read a typed or filed answer: yes/y/true, no/n/false, skip/s/-; blank is None (no input).

    Returns an Answer, :data:`SKIP`, or None; raises InputError for anything else.
    """
    word = text.strip().lower()
    if not word:
        return None
    if word in ("yes", "y", "true"):
        return Answer.yes
    if word in ("no", "n", "false"):
        return Answer.no
    if word in ("skip", "s", "-", "unanswered", "none"):
        return SKIP
    raise InputError(f"cannot read {text.strip()!r} as an answer", hint="answer yes, no or skip")


def parse_answers(
    data: Mapping[str, Any], definition: ScorecardDefinition, *, name: str = "answers"
) -> dict[str, tuple[Answer | None, str]]:
    """Validate an answers mapping: ``key = "yes"|"no"|"skip"`` or ``key = {answer = ..., note = ...}``.

    "skip" (or no answer) leaves a question as it is; with a note, the note is kept unanswered.
    Raises InputError (one line, naming *name* and the key) for unknown keys or unreadable values.
    """
    known = set(definition.keys)
    unknown = [key for key in data if key not in known]
    if unknown:
        raise InputError(
            f"{name}: unknown question key{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}",
            hint=f"known keys: {', '.join(definition.keys)}",
        )
    result: dict[str, tuple[Answer | None, str]] = {}
    for key, value in data.items():
        note = ""
        if isinstance(value, Mapping):
            extra = set(value) - {"answer", "note"}
            if extra:
                raise InputError(
                    f"{name}: {key}: unknown field(s) {', '.join(sorted(extra))}", hint="use answer and note"
                )
            note_value = value.get("note", "")
            if not isinstance(note_value, str):
                raise InputError(f"{name}: {key}: note must be text", hint="quote the note")
            note = note_value.strip()
            value = value.get("answer")
        if value is None:
            answer: Answer | str | None = SKIP
        elif isinstance(value, bool):
            answer = Answer.yes if value else Answer.no
        elif isinstance(value, str):
            try:
                answer = parse_answer(value) or SKIP
            except InputError as exc:
                raise InputError(f"{name}: {key}: {exc.message}", hint=exc.hint) from exc
        else:
            raise InputError(
                f"{name}: {key}: cannot read {value!r} as an answer", hint="answer yes, no or skip"
            )
        if answer == SKIP and not note:
            continue  # leave the question as it is
        result[key] = (None if answer == SKIP else Answer(answer), note)
    return result


def read_answers_file(
    path: Path | str, definition: ScorecardDefinition
) -> dict[str, tuple[Answer | None, str]]:
    """Read a TOML (``.toml``) or JSON (anything else) answers file; see :func:`parse_answers`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read answers file {path}: {exc.strerror}") from exc
    try:
        data = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise InputError(
            f"answers file {path} is not valid {'TOML' if path.suffix.lower() == '.toml' else 'JSON'}: {exc}",
            hint='write one entry per question key, e.g. task_exists = "yes"',
        ) from exc
    if not isinstance(data, dict):
        raise InputError(
            f"answers file {path} must hold an object of question keys", hint='e.g. {"task_exists": "yes"}'
        )
    return parse_answers(data, definition, name=str(path))


def reviewer_name(explicit: str | None, settings: Settings, environ: Mapping[str, str]) -> str:
    """Who answers: ``--reviewer``, else ``[scorecard] reviewer``, else ``$USER``; InputError if none."""
    name = (
        explicit or settings.scorecard.reviewer or environ.get("USER") or environ.get("LOGNAME") or ""
    ).strip()
    if not name:
        raise InputError(
            "no reviewer name", hint="pass --reviewer NAME or set reviewer in the [scorecard] config section"
        )
    return name


def count_yes(definition: ScorecardDefinition, answers: Mapping[str, ScoreAnswer]) -> int:
    """The total as the scorecard computes it ("count of all yes answers")."""
    return sum(1 for q in definition.questions if q.key in answers and answers[q.key].answer is Answer.yes)


# --- defaults from the incident -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A default answer ``fill`` offers, and why."""

    answer: Answer
    reason: str


def _metadata(record: IncidentRecord, name: str) -> str:
    """A metadata field by name, accepting the page label too ("People paged" for people_paged)."""
    for key, value in record.metadata.items():
        if re.sub(r"[^a-z0-9]+", "_", str(key).lower()).strip("_") == name and value not in (None, ""):
            return str(value).strip()
    return ""


def _task_rule(record: IncidentRecord) -> Suggestion:
    if record.task:
        return Suggestion(Answer.yes, f"the incident task is {record.task}")
    return Suggestion(Answer.no, "no incident task is recorded")


def _people_paged_rule(record: IncidentRecord) -> Suggestion | None:
    raw = _metadata(record, "people_paged")
    match = re.fullmatch(r"(\d+)", raw)
    if not match:
        return None
    paged = int(match.group(1))
    return Suggestion(Answer.yes if paged < 5 else Answer.no, f"people paged: {paged}")


def _first_alert_rule(record: IncidentRecord) -> Suggestion | None:
    alert = _metadata(record, "first_alert")
    return Suggestion(Answer.yes, f"first alert: {alert}") if alert else None


DEFAULT_RULES = {
    "task": _task_rule,
    "people-paged": _people_paged_rule,
    "first-alert": _first_alert_rule,
}


def suggest(definition: ScorecardDefinition, record: IncidentRecord) -> dict[str, Suggestion]:
    """Default answers known from the incident record, by question key (see ``default`` in the file)."""
    found: dict[str, Suggestion] = {}
    for question in definition.questions:
        if question.default:
            suggestion = DEFAULT_RULES[question.default](record)
            if suggestion is not None:
                found[question.key] = suggestion
    return found


@dataclass(frozen=True, slots=True, kw_only=True)
class FillItem:
    """One question ``fill`` asks: its position, the current answer and the suggested default."""

    question: Question
    number: int
    of: int
    current: ScoreAnswer | None = None
    suggestion: Suggestion | None = None

    @property
    def default(self) -> str:
        """The prompt's default: the current answer, else the suggestion, else skip."""
        if self.current is not None and self.current.answer is not None:
            return self.current.answer.value
        if self.suggestion is not None:
            return self.suggestion.answer.value
        return SKIP


def plan_fill(
    definition: ScorecardDefinition,
    answers: Mapping[str, ScoreAnswer],
    record: IncidentRecord,
    *,
    ask_all: bool = False,
) -> list[FillItem]:
    """The questions to ask: the unanswered ones (every one with *ask_all*), in page order."""
    suggestions = suggest(definition, record)
    total = len(definition.questions)
    items = []
    for number, question in enumerate(definition.questions, start=1):
        current = answers.get(question.key)
        if not ask_all and current is not None and current.answer is not None:
            continue
        items.append(
            FillItem(
                question=question,
                number=number,
                of=total,
                current=current,
                suggestion=suggestions.get(question.key),
            )
        )
    return items


# --- the render-ready scorecard -------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ScorecardRow:
    """One question row as the template draws it. ``rowspan`` > 0 on the first row of a category."""

    key: str
    category: str
    question: str
    guidance: str
    answer: str  # "yes", "no" or "" (unanswered)
    note: str
    rowspan: int = 0
    reviewer: str | None = None
    answered_at: str | None = None
    source: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class FilledScorecard:
    """What ``templates/scorecard.wiki.j2`` renders (``Incident.scorecard``); blank when nothing is answered."""

    title: str
    rows: tuple[ScorecardRow, ...]
    total_label: str
    total: int | None  # None when nothing is answered (the total cell stays empty)
    answered: int = 0
    reviewers: tuple[str, ...] = ()

    @property
    def blank(self) -> bool:
        return self.answered == 0

    def records(self) -> list[dict[str, Any]]:
        """One plain record per question (for ``scorecard show --format json|csv|markdown``)."""
        return [
            {
                "category": row.category,
                "key": row.key,
                "question": f"{row.question} {row.guidance}".strip(),
                "answer": row.answer or None,
                "note": row.note,
                "reviewer": row.reviewer,
                "answered_at": row.answered_at,
                "source": row.source,
            }
            for row in self.rows
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "answered": self.answered,
            "questions": len(self.rows),
            "total": self.total,
            "total_label": self.total_label,
            "reviewers": list(self.reviewers),
            "rows": self.records(),
        }


def render_context(definition: ScorecardDefinition, answers: Mapping[str, ScoreAnswer]) -> FilledScorecard:
    """The render-ready scorecard from stored answers (keys not in the definition are ignored)."""
    rows: list[ScorecardRow] = []
    for category in definition.categories:
        members = [q for q in definition.questions if q.category == category]
        for position, question in enumerate(members):
            stored = answers.get(question.key)
            rows.append(
                ScorecardRow(
                    key=question.key,
                    category=category,
                    question=question.text,
                    guidance=question.guidance,
                    answer=stored.answer.value if stored and stored.answer else "",
                    note=stored.note if stored else "",
                    rowspan=len(members) if position == 0 else 0,
                    reviewer=stored.reviewer if stored else None,
                    answered_at=format_utc(stored.answered_at) if stored and stored.answered_at else None,
                    source=stored.source if stored else None,
                )
            )
    answered = sum(1 for row in rows if row.answer)
    reviewers = sorted(
        {a.reviewer for k, a in answers.items() if a.reviewer and a.answer and k in definition.keys}
    )
    return FilledScorecard(
        title=definition.title,
        rows=tuple(rows),
        total_label=definition.total_label,
        total=count_yes(definition, answers) if answered else None,
        answered=answered,
        reviewers=tuple(reviewers),
    )


def scorecard_for_incident(store: Store | None, slug: str, settings: Settings) -> FilledScorecard:
    """The render-ready scorecard of incident *slug* for a draft or publish: its stored answers,
    or the blank scorecard (no store, unknown incident, nothing answered yet).

    Raises ConfigError when the scorecard file in effect is invalid.
    """
    definition = load_definition(definition_path(settings))
    return render_context(definition, store.get_scorecard_answers(slug) if store is not None else {})


# --- reading a scorecard from a page --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ParsedAnswer:
    """One row read from a page. ``score`` is the v1 points value when the page had one."""

    answer: Answer | None
    note: str
    score: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ParsedScorecard:
    """A scorecard read from a page: answers by key, the total the page states, its generation."""

    answers: dict[str, ParsedAnswer]
    found: tuple[str, ...]  # every question key whose row was found (answered or not)
    total: int | None  # as written on the page (recompute with count of yes answers; do not trust)
    generation: str  # "wikitable", "v1", "v1.5", "v2", "v3" or "unknown"

    @property
    def present(self) -> bool:
        return bool(self.found)

    @property
    def yes_count(self) -> int:
        return sum(1 for a in self.answers.values() if a.answer is Answer.yes)


_POINTS_RE = re.compile(r"\(\s*\d+\s*/\s*\d+\s*pt\s*\)", re.IGNORECASE)
_WORD_RE = re.compile(r"[a-z0-9]+")
_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'", "\u00a0": " "})


def _lower(text: str) -> str:
    """Lower case without changing the length (offsets into the original text stay valid)."""
    lowered = text.lower()
    return (
        lowered
        if len(lowered) == len(text)
        else "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
    )


def _words(text: str) -> tuple[str, ...]:
    return tuple(_WORD_RE.findall(_POINTS_RE.sub(" ", text.translate(_QUOTES).lower())))


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

    def is_total(self, text: str) -> bool:
        words = _words(text)
        return bool(words) and words[:2] == ("total", "score")


def _cell_text(code: Any) -> str:
    """The text of a wikitext table cell: ``{{!}}`` back to ``|``, nowiki unwrapped, links as text."""
    parts: list[str] = []
    for node in code.nodes:
        if isinstance(node, Text):
            parts.append(node.value)
        elif isinstance(node, Comment):
            continue
        elif isinstance(node, Template):
            name = str(node.name).strip()
            parts.append({"!": "|", "=": "=", "!!": "||"}.get(name, str(node)))
        elif isinstance(node, HTMLEntity):
            parts.append(node.normalize())
        elif isinstance(node, Tag):
            tag = str(node.tag).lower()
            if tag == "nowiki":
                parts.append(str(node.contents) if node.contents is not None else "")
            elif tag == "br":
                parts.append("\n")
            elif node.contents is not None:
                parts.append(_cell_text(node.contents))
        elif isinstance(node, Wikilink):
            parts.append(_cell_text(node.text) if node.text is not None else str(node.title))
        elif isinstance(node, ExternalLink):
            parts.append(str(node) if node.brackets else str(node.url))
        else:
            parts.append(str(node))
    return "".join(parts)


def _tidy(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u00a0", " ")).strip()


def _split_answer(answer_text: str, note_text: str = "", *, points: bool = False) -> ParsedAnswer:
    """``yes``/``no`` (any case), or with *points* a v1 score, at the start of *answer_text*; the rest is the note."""
    answer_text, note_text = _tidy(answer_text), _tidy(note_text)
    pattern = r"^(yes|no|\d+)\b[\s.,;:–—-]*(.*)$" if points else r"^(yes|no)\b[\s.,;:–—-]*(.*)$"
    match = re.match(pattern, answer_text, re.IGNORECASE)
    if not match:
        return ParsedAnswer(None, _tidy(f"{answer_text} {note_text}"))
    word, rest = match.group(1).lower(), match.group(2)
    note = _tidy(f"{rest} {note_text}")
    if word.isdigit():
        score = int(word)
        return ParsedAnswer(Answer.yes if score > 0 else Answer.no, note, score)
    return ParsedAnswer(Answer.yes if word == "yes" else Answer.no, note)


def _table_rows(table: Any) -> list[list[str]]:
    """The cells (as text) of every row of a mwparserfromhell table tag, header row included."""
    rows: list[list[str]] = []
    loose: list[str] = []
    for node in table.contents.nodes:
        tag = str(getattr(node, "tag", "")).lower()
        if tag in ("td", "th"):
            loose.append(_cell_text(node.contents))
        elif tag == "tr":
            cells = [
                _cell_text(child.contents)
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


def _scorecard_block(text: str) -> str:
    """The part of a rendered page that holds the scorecard (the whole text if it cannot tell)."""
    start = None
    match = re.search(r"Incident Engagement", text, re.IGNORECASE)
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
    blanked = _lower(block.translate(_QUOTES))
    tokens = [(m.group(0), m.start(), m.end()) for m in _WORD_RE.finditer(blanked)]
    words = [t[0] for t in tokens]
    spans: list[tuple[str, int, int, bool]] = []  # key, start, end, canonical wording
    canonical = {q.key: _words(q.full_text) for q in definition.questions}
    total_at: tuple[int, int] | None = None
    i = 0
    while i < len(tokens):
        if total_at is None and tuple(words[i : i + len(matcher.total_words)]) == matcher.total_words:
            total_at = (tokens[i][1], tokens[i + len(matcher.total_words) - 1][2])
            break
        for variant, key in matcher.by_first.get(words[i], ()):
            if tuple(words[i : i + len(variant)]) == variant and key not in {s[0] for s in spans}:
                spans.append((key, tokens[i][1], tokens[i + len(variant) - 1][2], variant == canonical[key]))
                i += len(variant)
                break
        else:
            i += 1
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
        parsed = _split_answer(cells[0] if cells else "", " ".join(cells[1:]), points=points)
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


def parse_scorecard(text: str, definition: ScorecardDefinition | None = None) -> ParsedScorecard:
    """Read a scorecard from page text: wikitext (the scorecard wikitable) or a rendered page.

    Wikitext tables are read cell by cell (question cell, then answer, then notes); rendered text
    (tab-separated, one cell per line, markdown pipes, flattened lines) is read by finding each
    question's wording and taking what follows it up to the next question as answer and note.
    Rows left blank are in ``found`` but not in ``answers``; from rendered text only rows with a
    yes/no (or v1 score) are kept, as a lone note cannot be told from the text around it there.
    Never raises on odd input.
    """
    definition = definition or _bundled()
    matcher = _matcher(definition)
    if "{|" in text:
        section = _SECTION_RE.search(text)
        parsed = _parse_wikitables(text[section.start() :] if section else text, matcher)
        if parsed is not None:
            return parsed
    return _parse_rendered(text, matcher, definition)


def parse_from_wikitext(
    text: str, definition: ScorecardDefinition | None = None
) -> dict[str, tuple[Answer | None, str]]:
    """The answers a page holds, as ``{key: (answer, note)}`` (answered or noted rows only)."""
    return {key: (a.answer, a.note) for key, a in parse_scorecard(text, definition).answers.items()}


def page_answers_in_store(
    text: str, stored: Mapping[str, ScoreAnswer], definition: ScorecardDefinition | None = None
) -> bool:
    """True when every answer and note the page's scorecard holds is in *stored* (or is overridden
    by an answer filled locally, which wins by design): re-rendering the scorecard region from the
    store then loses nothing a person wrote in it, so publish may replace that edited region.
    """
    for key, (answer, note) in parse_from_wikitext(text, definition).items():
        mine = stored.get(key)
        if mine is None:
            return False
        if mine.source != "local" and (mine.answer, _tidy(mine.note)) != (answer, note):
            return False
    return True


# --- across incidents -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StatCell:
    """How often one question was answered "no" in one period."""

    period: str
    answered: int
    no: int

    @property
    def share_no(self) -> float | None:
        return self.no / self.answered if self.answered else None


@dataclass(frozen=True, slots=True, kw_only=True)
class QuestionStats:
    key: str
    category: str
    question: str
    periods: tuple[StatCell, ...]
    overall: StatCell


@dataclass(frozen=True, slots=True, kw_only=True)
class ScorecardStats:
    """Per question, the share of incidents answered "no", per period (oldest first)."""

    by: str
    periods: tuple[str, ...]
    questions: tuple[QuestionStats, ...]
    incidents: int

    def records(self) -> list[dict[str, Any]]:
        """One record per question and period, plus ``period = "all"`` (for JSON/CSV)."""
        out = []
        for question in self.questions:
            for cell in (*question.periods, question.overall):
                out.append(
                    {
                        "key": question.key,
                        "category": question.category,
                        "question": question.question,
                        "period": cell.period,
                        "answered": cell.answered,
                        "no": cell.no,
                        "share_no": round(cell.share_no, 4) if cell.share_no is not None else None,
                    }
                )
        return out


def _incident_day(record: IncidentRecord) -> date | None:
    for text in (record.start or "", record.slug):
        match = re.match(r"(\d{4})-(\d{2})-(\d{2})", text)
        if match:
            try:
                return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
            except ValueError:
                continue
    return None


def _period(day: date | None, by: Period) -> str:
    if day is None:
        return "undated"
    if by is Period.month:
        return f"{day.year}-{day.month:02d}"
    if by is Period.year:
        return str(day.year)
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


class Period(StrEnum):
    """How ``stats`` groups incidents in time (by incident start)."""

    quarter = "quarter"
    month = "month"
    year = "year"


def stats(
    definition: ScorecardDefinition,
    answers: Iterable[ScoreAnswer],
    incidents: Sequence[IncidentRecord],
    *,
    by: Period | str = Period.quarter,
    since: date | None = None,
) -> ScorecardStats:
    """Share of "no" among the incidents that answered each question, per period of incident start.

    The period comes from the incident's start (else the date its slug begins with); incidents
    with neither fall in ``undated``. Unanswered questions do not count.
    """
    if by not in {p.value for p in Period}:
        raise InputError(f"unknown period {by!r}", hint=f"use one of: {', '.join(p.value for p in Period)}")
    by = Period(by)
    days = {record.slug: _incident_day(record) for record in incidents}
    counts: dict[tuple[str, str], list[int]] = {}
    used: set[str] = set()
    scored: set[str] = set()
    for answer in answers:
        if answer.answer is None or answer.key not in definition.keys or answer.incident not in days:
            continue
        day = days[answer.incident]
        if since is not None and (day is None or day < since):
            continue
        period = _period(day, by)
        used.add(period)
        scored.add(answer.incident)
        cell = counts.setdefault((answer.key, period), [0, 0])
        cell[0] += 1
        cell[1] += answer.answer is Answer.no
    periods = tuple(sorted(used, key=lambda p: (p == "undated", p)))
    questions = []
    for question in definition.questions:
        cells = tuple(StatCell(p, *counts.get((question.key, p), [0, 0])) for p in periods)
        overall = StatCell("all", sum(c.answered for c in cells), sum(c.no for c in cells))
        questions.append(
            QuestionStats(
                key=question.key,
                category=question.category,
                question=question.full_text,
                periods=cells,
                overall=overall,
            )
        )
    return ScorecardStats(by=by.value, periods=periods, questions=tuple(questions), incidents=len(scored))
