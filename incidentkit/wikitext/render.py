"""Wikitext rendering: the Jinja2 environment, its filters, and the pages it renders.

Wikitext is produced only by the templates in ``templates/``. Every string that comes from a
source or a user goes through one of the escaping filters (:mod:`incidentkit.wikitext.escape`):

* ``wiki``   inline text: markup characters become HTML entities, newlines become spaces;
* ``cell``   the same, plus ``!`` so a value is safe in a table cell;
* ``linked`` like ``wiki`` but task ids, free http(s) URLs and (``gerrit=True``) scap's gerrit changes become links;
* ``link``   an external ``[URL label]`` link from a URL that is checked and percent-encoded;
* ``utc`` / ``hhmm`` format aware datetimes in UTC; ``minutes`` a duration.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from ..config import asset_path
from ..errors import RenderError
from ..model.actionable import Dashboard
from ..model.incident import Incident
from ..model.time import format_duration
from .escape import escape_cell, escape_wiki, link, linkify_tasks, safe_url
from .regions import wrap

__all__ = ["render_incident", "render_dashboard", "render_template", "environment"]


def utc(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    return value.strftime(fmt) if value else ""


def hhmm(value: datetime | None) -> str:
    """``18:31`` or ``18:34:55`` when the time has seconds."""
    if value is None:
        return ""
    return value.strftime("%H:%M:%S" if value.second else "%H:%M")


def minutes(value: float | None) -> str:
    """A duration given in minutes, as :func:`~incidentkit.model.time.format_duration` writes it."""
    return "" if value is None else format_duration(timedelta(minutes=value))


def _region(name: str, content: str) -> str:
    return wrap(name, content.strip("\n"))


@cache
def environment(template_dir: Path | None = None) -> jinja2.Environment:
    """The Jinja environment: StrictUndefined, no autoescape (wikitext), trimmed blocks."""
    env = jinja2.Environment(
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
        "minutes": minutes,
        "url": lambda u: safe_url(u) or "",
    }
    env.filters.update(filters)
    env.globals.update(region=_region, link=link)
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


def render_dashboard(dashboard: Dashboard, pages: Mapping[str, str]) -> str:
    """The managers' dashboard page: open actionables by owner and by incident (*pages*: slug -> page)."""
    return render_template("dashboard.wiki.j2", dashboard=dashboard, pages=pages)
