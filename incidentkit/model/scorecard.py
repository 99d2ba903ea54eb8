"""The reviewer's scorecard ("Incident Engagement ScoreCard") as values: questions, answers, totals.

The questions are data (:class:`ScorecardDefinition`, loaded by :mod:`incidentkit.services.scorecard`
from ``data/scorecard.toml`` or the site's own file). A :class:`ScoreAnswer` is one stored answer;
:func:`fill_scorecard` turns a definition and answers into the render-ready :class:`FilledScorecard`;
:class:`ParsedScorecard` is one read back from a page; :class:`ScorecardStats` the share of "no" answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from ..errors import InputError
from .time import format_utc

__all__ = [
    "Answer",
    "AnswerKind",
    "TOTAL_METHODS",
    "TOTAL_LABEL",
    "SKIP",
    "Question",
    "ScorecardDefinition",
    "ScoreAnswer",
    "ScorecardSave",
    "parse_answer",
    "count_yes",
    "Suggestion",
    "FillItem",
    "ScorecardRow",
    "FilledScorecard",
    "fill_scorecard",
    "ParsedAnswer",
    "ParsedScorecard",
    "StatCell",
    "QuestionStats",
    "ScorecardStats",
    "Period",
]


class Answer(StrEnum):
    """A filled answer. Unanswered is ``None`` everywhere (the store keeps NULL)."""

    YES = "yes"
    NO = "no"


class AnswerKind(StrEnum):
    """How a question is answered. The real scorecard has only yes/no (with a Notes cell)."""

    YES_NO = "yes-no"


TOTAL_METHODS = ("count-yes",)


TOTAL_LABEL = "Total score (count of all “yes” answers above)"


SKIP = "skip"


@dataclass(frozen=True, slots=True, kw_only=True)
class Question:
    """One row of the scorecard."""

    key: str
    category: str
    text: str
    guidance: str = ""  # the cell's second line: 'Answer “no” if engineers were paged after business hours.'
    kind: AnswerKind = AnswerKind.YES_NO
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
        return Answer.YES
    if word in ("no", "n", "false"):
        return Answer.NO
    if word in ("skip", "s", "-", "unanswered", "none"):
        return SKIP
    raise InputError(f"cannot read {text.strip()!r} as an answer", hint="answer yes, no or skip")


def count_yes(definition: ScorecardDefinition, answers: Mapping[str, ScoreAnswer]) -> int:
    """The total as the scorecard computes it ("count of all yes answers")."""
    return sum(1 for q in definition.questions if q.key in answers and answers[q.key].answer is Answer.YES)


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A default answer ``fill`` offers, and why."""

    answer: Answer
    reason: str


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


def fill_scorecard(definition: ScorecardDefinition, answers: Mapping[str, ScoreAnswer]) -> FilledScorecard:
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
        return sum(1 for a in self.answers.values() if a.answer is Answer.YES)


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


class Period(StrEnum):
    """How ``stats`` groups incidents in time (by incident start)."""

    QUARTER = "quarter"
    MONTH = "month"
    YEAR = "year"
