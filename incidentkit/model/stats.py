"""Incident statistics as values: distributions with their unknowns, and the metrics' definitions.

Incident-analysis research warns that mean times mislead (they hide skew and the incidents whose
times are unknown): a :class:`Distribution` is N with a value, N unknown, the median, the 90th
percentile (nearest rank: the smallest value with at least 90 % of the values at or below it) and
the maximum — never a mean alone. The duration metrics are defined from the key moments
(:class:`~incidentkit.model.curation.KeyMoments`).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "METRICS", "Distribution", "distribution", "PeriodStats", "Repeat", "IncidentStats", "AgeBucket",
    "periods_records", "metric_records",
]

# (key in KeyMoments.durations(), label, definition)
METRICS: tuple[tuple[str, str, str], ...] = (
    ("time_to_detect", "time to detect", "impact start → detected (the first alert, or the time the owner set)"),
    ("time_to_mitigate", "time to mitigate", "impact start → mitigated (the first revert or fix that landed, or as set)"),
    ("time_to_resolve", "time to resolve", "impact start → resolved (the last alert resolved; for an imported report, its End)"),
    ("impact_duration", "impact duration", "impact start → resolved, else → mitigated"),
)


@dataclass(frozen=True, slots=True)
class Distribution:
    """How a quantity is spread over incidents: ``n`` known values, ``unknown`` missing ones."""

    n: int
    unknown: int
    median: float | None = None
    p90: float | None = None
    max: float | None = None

    def to_dict(self, unit: str = "minutes") -> dict[str, Any]:
        def rounded(value: float | None) -> float | None:
            return None if value is None else round(value, 1)

        return {
            "n": self.n,
            "unknown": self.unknown,
            f"median_{unit}": rounded(self.median),
            f"p90_{unit}": rounded(self.p90),
            f"max_{unit}": rounded(self.max),
        }


def distribution(values: Iterable[float | None]) -> Distribution:
    """The distribution of *values* (None = unknown)."""
    items = list(values)
    known = sorted(v for v in items if v is not None)
    if not known:
        return Distribution(0, len(items))
    rank = max(1, math.ceil(0.9 * len(known)))
    return Distribution(len(known), len(items) - len(known), statistics.median(known), known[rank - 1], known[-1])


@dataclass(frozen=True, slots=True)
class PeriodStats:
    period: str
    incidents: int
    repeats: int
    pages: int
    pages_outside: int
    impact: Distribution  # impact duration in this period


@dataclass(frozen=True, slots=True)
class Repeat:
    """An incident with a similar earlier one within the repeat window."""

    slug: str
    earlier: str
    days: int
    score: float


@dataclass(frozen=True, slots=True)
class AgeBucket:
    label: str  # "< 30 days"
    count: int


@dataclass(frozen=True, slots=True, kw_only=True)
class IncidentStats:
    """What ``incidents stats`` shows."""

    by: str
    since: str | None
    incidents: int
    periods: tuple[PeriodStats, ...]
    metrics: tuple[tuple[str, str, str, Distribution], ...]  # (key, label, definition, distribution)
    pages: int
    pages_outside: int
    incidents_with_pages_known: int
    business_hours: str  # "09:00-17:00 mon-fri, Europe/Amsterdam"
    repeats: tuple[Repeat, ...]
    repeat_days: int
    unindexed: int = 0
    durations: dict[str, tuple[float, ...]] = field(default_factory=dict)  # metric -> known values (charts)

    @property
    def share_outside(self) -> float | None:
        return self.pages_outside / self.pages if self.pages else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "by": self.by,
            "since": self.since,
            "incidents": self.incidents,
            "unindexed": self.unindexed,
            "periods": [
                {
                    "period": p.period, "incidents": p.incidents, "repeats": p.repeats, "pages": p.pages,
                    "pages_outside_business_hours": p.pages_outside, "impact_duration": p.impact.to_dict(),
                }
                for p in self.periods
            ],  # fmt: skip
            "metrics": [
                {"metric": key, "label": label, "definition": definition, **dist.to_dict()}
                for key, label, definition, dist in self.metrics
            ],
            "pages": {
                "pages": self.pages,
                "outside_business_hours": self.pages_outside,
                "share_outside": None if self.share_outside is None else round(self.share_outside, 4),
                "business_hours": self.business_hours,
                "incidents_with_pages_known": self.incidents_with_pages_known,
            },
            "repeats": {
                "within_days": self.repeat_days,
                "count": len(self.repeats),
                "incidents": [{"slug": r.slug, "earlier": r.earlier, "days": r.days, "score": round(r.score, 3)} for r in self.repeats],
            },
        }


def periods_records(stats: IncidentStats) -> list[dict[str, Any]]:
    """One flat record per period (CSV/Markdown)."""
    return [
        {
            "period": p.period, "incidents": p.incidents, "repeats": p.repeats, "pages": p.pages,
            "pages_outside_business_hours": p.pages_outside, "impact_n": p.impact.n, "impact_unknown": p.impact.unknown,
            "impact_median_minutes": None if p.impact.median is None else round(p.impact.median, 1),
        }
        for p in stats.periods
    ]  # fmt: skip


def metric_records(metrics: Sequence[tuple[str, str, str, Distribution]]) -> list[dict[str, Any]]:
    return [{"metric": label, **dist.to_dict(), "definition": definition} for _, label, definition, dist in metrics]
