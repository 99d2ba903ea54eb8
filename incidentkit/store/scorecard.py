"""Scorecard answers: one row per incident and question, filled locally or imported from the page."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ..errors import StoreError
from ..model.scorecard import Answer, ScoreAnswer, ScorecardSave
from ..model.time import format_utc, parse_utc
from .incidents import IncidentsMixin

__all__ = ["ScorecardMixin"]


_COLUMNS = ("incident", "question", "answer", "note", "reviewer", "answered_at", "source", "page_revision")
_UPSERT_SQL = (
    f"INSERT INTO scorecard_answers ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))}) "
    f"ON CONFLICT (incident, question) DO UPDATE SET {', '.join(f'{name} = excluded.{name}' for name in _COLUMNS[2:])}"
)


def _score_answer(row: dict[str, Any]) -> ScoreAnswer:
    """A scorecard_answers row as a ScoreAnswer."""
    return ScoreAnswer(
        incident=row["incident"],
        key=row["question"],
        answer=Answer(row["answer"]) if row["answer"] else None,
        note=row["note"] or "",
        reviewer=row["reviewer"],
        answered_at=parse_utc(row["answered_at"]),
        source=row["source"],
        revision=row["page_revision"],
    )


class ScorecardMixin(IncidentsMixin):
    """Answers by incident; a local answer always wins over one read from the page."""

    def get_scorecard_answers(self, slug: str) -> dict[str, ScoreAnswer]:
        """The stored scorecard answers of incident *slug*, by question key."""
        # plain SQL: a sqlite-utils table object reads the schema on every use (an import asks once a page)
        cursor = self.conn.execute("SELECT * FROM scorecard_answers WHERE incident = ? ORDER BY question", [slug])
        names = [column[0] for column in cursor.description]
        return {row["question"]: _score_answer(row) for row in (dict(zip(names, values, strict=True)) for values in cursor)}

    def list_scorecard_answers(self) -> list[ScoreAnswer]:
        """Every stored scorecard answer of every incident (for ``scorecard stats``)."""
        return [_score_answer(row) for row in self.db["scorecard_answers"].rows_where(order_by="incident, question")]

    def save_scorecard_answers(
        self,
        slug: str,
        answers: Mapping[str, tuple[Answer | str | None, str | None]],
        *,
        reviewer: str | None,
        answered_at: datetime | None = None,
        source: str = "local",
        revision: int | None = None,
    ) -> ScorecardSave:
        """Store ``{key: (answer, note)}`` for incident *slug* (answer "yes", "no" or None = unanswered).

        ``source="local"`` (``scorecard fill``) replaces whatever is stored for those keys.
        ``source="import"`` (answers read from the wiki page, with the page *revision*) never
        overwrites an answer filled locally: those keys are returned in ``kept``.
        Raises StoreError for an unknown incident or an answer that is not yes/no/None.
        """
        if source not in ("local", "import"):
            raise StoreError(f"unknown scorecard answer source {source!r}", hint="use local or import")
        self.require_incident(slug)
        when = format_utc(answered_at) if answered_at else self.now_text()
        existing = self.get_scorecard_answers(slug)
        written: list[str] = []
        kept: list[str] = []
        rows = []
        for key, (value, note) in answers.items():
            try:
                answer = Answer(value) if value is not None else None
            except ValueError as exc:
                raise StoreError(f"bad scorecard answer {value!r} for {key}", hint="answers are yes, no or empty") from exc
            if source == "import" and key in existing and existing[key].source == "local":
                kept.append(key)
                continue
            rows.append(
                {
                    "incident": slug,
                    "question": key,
                    "answer": answer.value if answer else None,
                    "note": (note or "").strip(),
                    "reviewer": reviewer,
                    "answered_at": when,
                    "source": source,
                    "page_revision": revision if source == "import" else None,
                }
            )
            written.append(key)
        with self.transaction():
            self.conn.executemany(_UPSERT_SQL, [[row[name] for name in _COLUMNS] for row in rows])
        return ScorecardSave(written=tuple(written), kept=tuple(kept))
