"""Wikitext rendering: the Jinja2 environment, its filters, and the pages it renders.

Wikitext is produced only by the templates in ``templates/``. Every string that comes from a
source or a user goes through one of the escaping filters (:mod:`incidentkit.wikitext.escape`):

* ``wiki``   inline text: markup characters become HTML entities, newlines become spaces;
* ``cell``   the same, plus ``!`` so a value is safe in a table cell;
* ``linked`` like ``wiki`` but task ids, free http(s) URLs and (``gerrit=True``) scap's gerrit changes become links;
* ``link``   an external ``[URL label]`` link from a URL that is checked and percent-encoded;
* ``page_link`` a ``[[Page|label]]`` link to a page whose title is safe (:data:`SAFE_TITLE`), else the label;
* ``utc`` / ``hhmm`` / ``clock`` format aware datetimes in UTC; ``minutes`` a duration.

**One time format per page**: every time is UTC to the minute — ``HH:MM`` for a time on the
incident's day (timeline rows, Detection), ``YYYY-MM-DD HH:MM`` for any other (the metadata Start
and End, times on other days). Rows keep their exact order; ``timeline show`` keeps the seconds.

Generated parts are wrapped as regions (:mod:`incidentkit.wikitext.regions`): ``region`` for a
section body, ``cell`` regions inline for the metadata values a draft fills (Start, End, ...).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from ..config import asset_path, cache_dir
from ..errors import RenderError
from ..model.actionable import Dashboard
from ..model.incident import Incident
from ..model.stats import IncidentStats
from ..model.time import format_duration
from .escape import escape_cell, escape_wiki, link, linkify_tasks, safe_url
from .regions import wrap

__all__ = [
    "SAFE_TITLE", "render_incident", "render_dashboard", "render_statistics", "render_template", "environment", "page_link",
]

# A page title that can go inside [[...]] as it is (titles come from the store, i.e. from wikis).
SAFE_TITLE = re.compile(r"^[^\[\]{}|#<>\n\r]+$")


DATE_TIME = "%Y-%m-%d %H:%M"


def utc(value: datetime | None, fmt: str = DATE_TIME) -> str:
    """*value* as ``2023-02-14 18:34`` (or *fmt*); "" for None."""
    return value.strftime(fmt) if value else ""


def hhmm(value: datetime | None) -> str:
    """``18:34``: a time of day, to the minute."""
    return value.strftime("%H:%M") if value else ""


def clock(value: datetime | None, day: date) -> str:
    """``18:34`` on the incident's *day*, ``2023-02-15 01:10`` on any other."""
    if value is None:
        return ""
    return hhmm(value) if value.date() == day else utc(value)


def minutes(value: float | None) -> str:
    """A duration given in minutes, as :func:`~incidentkit.model.time.format_duration` writes it."""
    return "" if value is None else format_duration(timedelta(minutes=value))


def page_link(title: str | None, label: Any) -> str:
    """``[[title|label]]`` (label escaped) when *title* is a safe page title, else the escaped label."""
    if title and SAFE_TITLE.match(title):
        return f"[[{title}|{escape_wiki(label) or title}]]"
    return escape_wiki(label)


def _region(name: str, content: str) -> str:
    return wrap(name, content.strip("\n"))


def _cell_region(name: str, content: str) -> str:
    return wrap(name, content.strip(), inline=True)


class _BytecodeCache(jinja2.FileSystemBytecodeCache):
    """Compiled templates kept between runs (compiling them costs more than rendering a draft);
    keyed by each template's source, so an edited template is compiled again. Best effort: a
    cache that cannot be written is skipped."""

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            Path(self.directory).mkdir(mode=0o700, parents=True, exist_ok=True)
            super().dump_bytecode(bucket)
        except OSError:
            pass


@cache
def environment(template_dir: Path | None = None) -> jinja2.Environment:
    """The Jinja environment: StrictUndefined, no autoescape (wikitext), trimmed blocks."""
    env = jinja2.Environment(
        bytecode_cache=_BytecodeCache(str(cache_dir() / "templates")),
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
        "clock": clock,
        "minutes": minutes,
        "url": lambda u: safe_url(u) or "",
    }
    env.filters.update(filters)
    env.globals.update(region=_region, cell_region=_cell_region, link=link, page_link=page_link)
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


def render_dashboard(
    dashboard: Dashboard, pages: Mapping[str, str], *, last_synced: datetime | None = None, never_synced: int = 0
) -> str:
    """The managers' dashboard page: open actionables by owner and by incident (*pages*: slug -> page).

    *last_synced*: the newest time ``actionables sync`` saw one of them (None: never);
    *never_synced*: how many with a task it never saw.
    """
    return render_template(
        "dashboard.wiki.j2", dashboard=dashboard, pages=pages, last_synced=last_synced, never_synced=never_synced
    )


def render_statistics(
    stats: IncidentStats, *, generated_at: datetime, charts: Sequence[tuple[str, str]], note: str | None
) -> str:
    """The incident statistics page: its tables, and the *charts* (file name, caption) embedded."""
    return render_template("statistics.wiki.j2", stats=stats, generated_at=generated_at, charts=list(charts), note=note)
