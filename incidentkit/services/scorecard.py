"""The scorecard's workflow: the questions file, defaults from the incident, filling, stats.

The questions are data: ``data/scorecard.toml`` or the site's own file (``[scorecard] file``),
validated with errors naming the file and the line (:func:`load_definition`). What ``scorecard
fill`` suggests from the incident record (:func:`suggest`), which questions it asks
(:func:`plan_fill`), answers files (:func:`read_answers_file`), the render-ready scorecard of an
incident (:func:`scorecard_for_incident`) and the share of "no" answers over time (:func:`stats`).
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import Settings, asset_path, read_user_text, user_path
from ..errors import ConfigError, InputError
from ..model.incident import IncidentRecord
from ..model.scorecard import (
    SKIP,
    TOTAL_LABEL,
    TOTAL_METHODS,
    Answer,
    AnswerKind,
    FilledScorecard,
    FillItem,
    Period,
    Question,
    QuestionStats,
    ScoreAnswer,
    ScorecardDefinition,
    ScorecardStats,
    StatCell,
    Suggestion,
    fill_scorecard,
    parse_answer,
)
from ..model.time import period_label

if TYPE_CHECKING:  # annotations only: publishing reads the questions without opening the store's parts
    from ..store import Store

__all__ = [
    "DEFAULT_RULES",
    "definition_path",
    "load_definition",
    "parse_definition",
    "bundled_definition",
    "parse_answers",
    "read_answers_file",
    "reviewer_name",
    "suggest",
    "plan_fill",
    "scorecard_for_incident",
    "stats",
]


def definition_path(settings: Settings) -> Path:
    """The scorecard file in effect: ``[scorecard] file`` if set, else the bundled one."""
    if settings.scorecard.file:
        return user_path(settings.scorecard.file, what="config key scorecard.file", error=ConfigError)
    return asset_path("data", "scorecard.toml")


def load_definition(path: Path | str | None = None) -> ScorecardDefinition:
    """Read and validate a scorecard file (default: the bundled ``data/scorecard.toml``).

    Raises ConfigError naming the file and the line for unreadable files, bad TOML, missing or
    unknown keys, duplicate question keys, unknown categories, answer kinds or total methods.
    """
    path = Path(path) if path is not None else asset_path("data", "scorecard.toml")
    text = read_user_text(
        path,
        what="the scorecard file",
        hint="check [scorecard] file in the config (leave it empty for the bundled scorecard)",
        error=ConfigError,
    )
    return parse_definition(text, path)


_QUESTION_KEYS = {"key", "category", "text", "guidance", "kind", "notes", "aliases", "default"}


_TOP_KEYS = {"title", "total", "categories", "questions"}


_KEY_RE = re.compile(r"^[a-z][a-z0-9_]*$")


class _Lines:
    """Find the line of a key in a TOML text, for schema errors (tomllib gives none)."""

    def __init__(self, text: str, where: str) -> None:
        self.where = where
        self.lines = text.splitlines()
        self.tables: dict[str, list[int]] = {}
        for number, line in enumerate(self.lines, start=1):
            match = re.match(r"^\s*\[\[\s*([A-Za-z0-9_.-]+)\s*\]\]", line)
            if match:
                self.tables.setdefault(match.group(1), []).append(number)

    def fail(self, line: int, message: str, hint: str) -> ConfigError:
        """The error for a problem at *line* of the file."""
        return ConfigError(f"{self.where}:{line}: {message}", hint=hint)

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
    lines = _Lines(text, where)
    for key in data:
        if key not in _TOP_KEYS:
            raise lines.fail(
                lines.key(key), f"unknown key {key!r}", f"known top-level keys: {', '.join(sorted(_TOP_KEYS))}"
            )
    title = data.get("title")
    if not isinstance(title, str) or not title.strip():
        raise lines.fail(
            lines.key("title"), "missing or empty key 'title'", 'add title = "Incident Engagement ScoreCard"'
        )
    method, label = _parse_total(data.get("total", {}), lines)
    categories = _parse_categories(data.get("categories"), lines)
    raw_questions = data.get("questions")
    if not isinstance(raw_questions, list) or not raw_questions:
        raise lines.fail(1, "missing [[questions]]", "add [[questions]] tables with key, category, text, kind")
    questions: list[Question] = []
    for index, raw in enumerate(raw_questions):
        question = _parse_question(raw, index, categories, lines)
        if question.key in {q.key for q in questions}:
            raise lines.fail(
                lines.value("key", question.key, table="questions", occurrence=1),
                f"duplicate question key {question.key!r}",
                "every question needs its own key",
            )
        questions.append(question)
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


def _parse_total(total: Any, lines: _Lines) -> tuple[str, str]:
    if not isinstance(total, dict):
        raise lines.fail(
            lines.key("total"), "'total' must be a table ([total])", "write [total] with method and label"
        )
    for key in total:
        if key not in ("method", "label"):
            raise lines.fail(lines.key(key), f"unknown key 'total.{key}'", "[total] takes method and label")
    method = total.get("method", "count-yes")
    if method not in TOTAL_METHODS:
        raise lines.fail(
            lines.key("method"), f"unknown total method {method!r}", f"known methods: {', '.join(TOTAL_METHODS)}"
        )
    label = total.get("label", TOTAL_LABEL)
    if not isinstance(label, str):
        raise lines.fail(lines.key("label"), "'total.label' must be a string", "quote the label")
    return method, label


def _parse_categories(raw_categories: Any, lines: _Lines) -> list[str]:
    if not isinstance(raw_categories, list) or not raw_categories:
        raise lines.fail(1, "missing [[categories]]", 'add [[categories]] tables with name = "People" etc.')
    categories: list[str] = []
    for index, raw in enumerate(raw_categories):
        if not isinstance(raw, dict) or set(raw) != {"name"} or not isinstance(raw["name"], str) or not raw["name"]:
            raise lines.fail(
                lines.table("categories", index),
                "each [[categories]] needs exactly one key: name (a string)",
                'write name = "People"',
            )
        if raw["name"] in categories:
            raise lines.fail(
                lines.value("name", raw["name"], table="categories", occurrence=1),
                f"duplicate category {raw['name']!r}",
                "each category is listed once",
            )
        categories.append(raw["name"])
    return categories


def _parse_question(raw: Any, index: int, categories: Sequence[str], lines: _Lines) -> Question:
    header = lines.table("questions", index)

    def line(name: str) -> int:
        return lines.key(name, table="questions", index=index)

    if not isinstance(raw, dict):
        raise lines.fail(header, "each [[questions]] entry must be a table", "use [[questions]] headers")
    for key in raw:
        if key not in _QUESTION_KEYS:
            raise lines.fail(
                line(key),
                f"unknown key {key!r} in question {index + 1}",
                f"question keys: {', '.join(sorted(_QUESTION_KEYS))}",
            )
    for required in ("key", "category", "text", "kind"):
        if required not in raw:
            raise lines.fail(
                header, f"question {index + 1} has no {required!r}", f"add {required} = ... to this question"
            )
    for name in ("key", "category", "text", "kind", "guidance", "default"):
        if name in raw and not isinstance(raw[name], str):
            raise lines.fail(line(name), f"{name!r} of question {index + 1} must be a string", "quote the value")
    key = raw["key"]
    if not _KEY_RE.match(key):
        raise lines.fail(
            line("key"), f"bad question key {key!r}", "use lower-case letters, digits and '_' (starting with a letter)"
        )
    if raw["category"] not in categories:
        raise lines.fail(
            line("category"),
            f"question {key!r} names unknown category {raw['category']!r}",
            f"categories: {', '.join(categories)}",
        )
    if raw["kind"] not in {k.value for k in AnswerKind}:
        raise lines.fail(
            line("kind"),
            f"question {key!r} has unknown answer kind {raw['kind']!r}",
            f"known kinds: {', '.join(k.value for k in AnswerKind)}",
        )
    if not raw["text"].strip():
        raise lines.fail(line("text"), f"question {key!r} has empty text", "write the question")
    aliases = raw.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        raise lines.fail(
            line("aliases"),
            f"'aliases' of question {key!r} must be a list of strings",
            'write aliases = ["older wording", ...]',
        )
    notes = raw.get("notes", True)
    if not isinstance(notes, bool):
        raise lines.fail(line("notes"), f"'notes' of question {key!r} must be true or false", "write notes = true")
    default = raw.get("default")
    if default is not None and default not in DEFAULT_RULES:
        raise lines.fail(
            line("default"),
            f"question {key!r} has unknown default {default!r}",
            f"known defaults: {', '.join(DEFAULT_RULES)}",
        )
    return Question(
        key=key,
        category=raw["category"],
        text=raw["text"].strip(),
        guidance=raw.get("guidance", "").strip(),
        kind=AnswerKind(raw["kind"]),
        notes=notes,
        aliases=tuple(aliases),
        default=default,
    )


@lru_cache(maxsize=1)
def bundled_definition() -> ScorecardDefinition:
    return load_definition()


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
            answer = Answer.YES if value else Answer.NO
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
    text = read_user_text(path, what="answers file", hint="give a TOML (.toml) or JSON answers file")
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


def _metadata(record: IncidentRecord, name: str) -> str:
    """A metadata field by name, accepting the page label too ("People paged" for people_paged)."""
    for key, value in record.metadata.items():
        if re.sub(r"[^a-z0-9]+", "_", str(key).lower()).strip("_") == name and value not in (None, ""):
            return str(value).strip()
    return ""


def _task_rule(record: IncidentRecord) -> Suggestion:
    if record.task:
        return Suggestion(Answer.YES, f"the incident task is {record.task}")
    return Suggestion(Answer.NO, "no incident task is recorded")


def _people_paged_rule(record: IncidentRecord) -> Suggestion | None:
    raw = _metadata(record, "people_paged")
    match = re.fullmatch(r"(\d+)", raw)
    if not match:
        return None
    paged = int(match.group(1))
    how = _metadata(record, "people_paged_reason")
    return Suggestion(Answer.YES if paged < 5 else Answer.NO, f"people paged: {paged}" + (f" ({how})" if how else ""))


def _recorded_rule(name: str) -> Callable[[IncidentRecord], Suggestion | None]:
    """A rule that offers the verdict a draft recorded as metadata *name* (``{"answer", "reason"}``)."""

    def rule(record: IncidentRecord) -> Suggestion | None:
        verdict = record.metadata.get(name)
        if not isinstance(verdict, Mapping) or verdict.get("answer") not in ("yes", "no"):
            return None
        return Suggestion(Answer(verdict["answer"]), str(verdict.get("reason") or ""))

    return rule


def _first_alert_rule(record: IncidentRecord) -> Suggestion | None:
    alert = _metadata(record, "first_alert")
    return Suggestion(Answer.YES, f"first alert: {alert}") if alert else None


DEFAULT_RULES = {
    "task": _task_rule,
    "people-paged": _people_paged_rule,
    "first-alert": _first_alert_rule,
    "pages-routing": _recorded_rule("pages_routing"),  # teams paged vs the team owning the paging alerts
    "business-hours": _recorded_rule("pages_business_hours"),  # everyone paged within their business hours
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


def plan_fill(
    definition: ScorecardDefinition,
    answers: Mapping[str, ScoreAnswer],
    record: IncidentRecord,
    *,
    ask_all: bool = False,
) -> list[FillItem]:
    """The questions to ask, in page order: every one with *ask_all*, else those not answered and
    not skipped yet (a skip is stored as a local row without an answer: a resumed fill goes on
    where it stopped)."""
    suggestions = suggest(definition, record)
    total = len(definition.questions)
    items = []
    for number, question in enumerate(definition.questions, start=1):
        current = answers.get(question.key)
        handled = current is not None and (current.answer is not None or current.source == "local")
        if handled and not ask_all:
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


def scorecard_for_incident(store: Store | None, slug: str, settings: Settings) -> FilledScorecard:
    """The render-ready scorecard of incident *slug* for a draft or publish: its stored answers,
    or the blank scorecard (no store, unknown incident, nothing answered yet).

    Raises ConfigError when the scorecard file in effect is invalid.
    """
    definition = load_definition(definition_path(settings))
    return fill_scorecard(definition, store.get_scorecard_answers(slug) if store is not None else {})




def stats(
    definition: ScorecardDefinition,
    answers: Iterable[ScoreAnswer],
    incidents: Sequence[IncidentRecord],
    *,
    by: Period | str = Period.QUARTER,
    since: date | None = None,
) -> ScorecardStats:
    """Share of "no" among the incidents that answered each question, per period of incident start.

    The period comes from the incident's start (else the date its slug begins with); incidents
    with neither fall in ``undated``. Unanswered questions do not count.
    """
    if by not in {p.value for p in Period}:
        raise InputError(f"unknown period {by!r}", hint=f"use one of: {', '.join(p.value for p in Period)}")
    by = Period(by)
    days = {record.slug: record.day for record in incidents}
    counts: dict[tuple[str, str], list[int]] = {}
    used: set[str] = set()
    scored: set[str] = set()
    for answer in answers:
        if answer.answer is None or answer.key not in definition.keys or answer.incident not in days:
            continue
        day = days[answer.incident]
        if since is not None and (day is None or day < since):
            continue
        period = period_label(day, by.value)
        used.add(period)
        scored.add(answer.incident)
        cell = counts.setdefault((answer.key, period), [0, 0])
        cell[0] += 1
        cell[1] += answer.answer is Answer.NO
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
