"""The incident statistics page on the wiki: its tables as one generated region, its charts uploaded.

Like the managers' dashboard, the page is one region rewritten in place on every run (text around
it is kept). The chart is drawn (:mod:`incidentkit.services.charts`), uploaded with
``action=upload`` as the same bot, and embedded; a wiki that refuses uploads (disabled, no upload
right, file type not allowed) gets the tables alone and the page says so. Nothing here prints.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from ..clients.mediawiki import WikiClient
from ..config import Settings
from ..errors import InputError, PublishError
from ..model.stats import IncidentStats
from ..model.time import format_utc
from ..store import Store
from ..wikitext.render import render_statistics
from .charts import DEFAULT_SIZE, incidents_chart
from .publish import PublishOutcome, publish_page
from .stats import incident_stats

__all__ = ["StatisticsOutcome", "chart_file_name", "publish_statistics"]


@dataclass(frozen=True, slots=True, kw_only=True)
class StatisticsOutcome:
    """What publishing the statistics page did: the page, the files uploaded, why there are none."""

    stats: IncidentStats
    page: PublishOutcome
    uploaded: tuple[tuple[str, bool], ...] = ()  # (file name, changed: False when identical to the wiki's)
    note: str | None = None


def chart_file_name(page: str, name: str, fmt: str) -> str:
    """A file name for chart *name* of page *page*: ``Incident statistics - incidents.png``
    (only letters, digits, spaces and ``._-``: safe in a ``[[File:…]]`` link on any wiki)."""
    base = re.sub(r"[^A-Za-z0-9 ._-]+", " - ", page).strip(" -.") or "incidentkit"
    return f"{' '.join(base.split())} - {name}.{fmt}"


def publish_statistics(
    wiki: WikiClient,
    store: Store,
    settings: Settings,
    *,
    title: str,
    now: datetime,
    by: str = "quarter",
    since: date | None = None,
    charts: bool = True,
    chart_format: str = "png",
    size: tuple[int, int] = DEFAULT_SIZE,
    summary: str | None = None,
    force: bool = False,
    dry_run: bool = False,
) -> StatisticsOutcome:
    """Write the statistics page *title*; upload and embed its chart where the wiki allows it."""
    if chart_format not in ("png", "svg"):
        raise InputError(f"--chart-format {chart_format!r} is not png or svg")
    stats = incident_stats(store, settings.stats, by=by, since=since)
    embedded: list[tuple[str, str]] = []
    uploaded: list[tuple[str, bool]] = []
    note = None if charts else "Charts were not asked for (--no-charts)."
    if charts and dry_run:
        note = "Dry run: the chart is not uploaded."
    elif charts:
        name = chart_file_name(title, "incidents", chart_format)
        try:
            with tempfile.TemporaryDirectory(prefix="incidentkit-") as folder:
                data = incidents_chart(stats, Path(folder) / f"chart.{chart_format}", size).read_bytes()
            changed = wiki.upload(
                name, data, comment=f"incidentkit: incident statistics as of {format_utc(now, seconds=False)}",
                text=f"Incident statistics drawn by incidentkit for [[{title}]].",
            )  # fmt: skip
        except InputError as exc:  # matplotlib is not installed
            note = f"No chart: {exc.message}."
        except PublishError as exc:
            note = f"The wiki refused the chart upload ({exc.message}); this page has the tables only."
        else:
            uploaded.append((name, changed))
            embedded.append((name, f"Incidents per {stats.by}, key durations and pages outside business hours"))
    text = render_statistics(stats, generated_at=now, charts=embedded, note=note)
    outcome = publish_page(
        wiki, None, title=title, draft=text, force=force, dry_run=dry_run,
        summary=summary or f"incidentkit: incident statistics as of {format_utc(now, seconds=False)}",
    )  # fmt: skip
    return StatisticsOutcome(stats=stats, page=outcome, uploaded=tuple(uploaded), note=note)
