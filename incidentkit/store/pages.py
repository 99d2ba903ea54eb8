"""Pages: each page of an incident to each person, in or out of their business hours (the after-hours burden)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from ..model.people import PagedPerson
from ..model.scorecard import Period
from ..model.time import format_utc, parse_utc
from .incidents import IncidentsMixin

__all__ = ["PagesMixin"]

_PERIOD_SQL = {
    Period.MONTH: "substr(paged_at, 1, 7)",
    Period.YEAR: "substr(paged_at, 1, 4)",
    Period.QUARTER: "substr(paged_at, 1, 4) || '-Q' || ((CAST(substr(paged_at, 6, 2) AS INTEGER) + 2) / 3)",
}


def _paged_person(row: Sequence[Any]) -> PagedPerson:
    return PagedPerson(
        page=row[0],
        person=row[1],
        team=row[2],
        paged_at=parse_utc(row[3]),
        in_hours=None if row[4] is None else bool(row[4]),
        local_time=datetime.fromisoformat(row[5]) if row[5] else None,
        hours=row[6],
        manual=bool(row[7]),
    )


class PagesMixin(IncidentsMixin):
    """The pages of each incident, replaced as a whole by every draft."""

    def save_pages(self, slug: str, pages: Sequence[PagedPerson]) -> None:
        """Replace the pages recorded for incident *slug*. Raises StoreError for an unknown incident."""
        self.require_incident(slug)
        rows = [
            (
                slug,
                p.page,
                p.person,
                p.team,
                format_utc(p.paged_at),
                None if p.in_hours is None else int(p.in_hours),
                p.local_time.isoformat() if p.local_time else None,
                p.hours,
                int(p.manual),
            )
            for p in pages
        ]
        with self.transaction():
            self.conn.execute("DELETE FROM pages WHERE incident = ?", [slug])
            self.conn.executemany(
                "INSERT OR REPLACE INTO pages (incident, page, person, team, paged_at, in_hours, local_time, hours, manual) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )

    def get_pages(self, slug: str) -> list[PagedPerson]:
        """The pages recorded for incident *slug*, in time order."""
        rows = self.conn.execute(
            "SELECT page, person, team, paged_at, in_hours, local_time, hours, manual FROM pages "
            "WHERE incident = ? ORDER BY paged_at, page, person",
            [slug],
        )
        return [_paged_person(r) for r in rows]

    def page_hours_stats(self, *, by: Period | str = Period.QUARTER, since: date | None = None) -> list[dict[str, Any]]:
        """Pages per period and team: how many, how many out of business hours, how many unknown.

        One record per (period, team), oldest first: ``period``, ``team``, ``pages`` (person-pages),
        ``in_hours``, ``out_of_hours``, ``unknown``, ``people`` (distinct people paged), ``incidents``.
        """
        period = _PERIOD_SQL[Period(by)]
        rows = self.conn.execute(
            f"""
            SELECT {period} AS period, team, count(*), total(in_hours = 1), total(in_hours = 0), total(in_hours IS NULL),
                   count(DISTINCT nullif(person, '')), count(DISTINCT incident)
            FROM pages WHERE paged_at >= ? GROUP BY period, team ORDER BY period, team
            """,
            [since.isoformat() if since else ""],
        )
        keys = ("period", "team", "pages", "in_hours", "out_of_hours", "unknown", "people", "incidents")
        return [dict(zip(keys, (row[0], row[1], *(int(n) for n in row[2:])), strict=True)) for row in rows]
