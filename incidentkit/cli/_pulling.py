"""What ``draft``, ``events`` and ``pull`` share: reading the sources for a window, and the
per-source lines on standard error."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..config import user_path
from ..errors import InputError
from ..util import plural
from ._context import AppContext, now
from ._output import note

if TYPE_CHECKING:  # annotations only: the services load when a command reads sources (start-up cost)
    from ..model.source import Query
    from ..services.pulls import Collected

__all__ = ["window_query", "collect_window", "report_sources"]


def window_query(app: AppContext, start: str | None, end: str | None, tasks: tuple[str, ...] = ()) -> Query:
    """The query ``--from``/``--to`` give (no source is asked anything)."""
    # lazy imports: loaded when a command reads sources, not for --help
    from datetime import timedelta

    from ..model.source import Query
    from ..model.window import parse_window

    if not start:
        raise InputError("--from is required", hint="give --from (and --to), or --replay DIR, or --incident INCIDENT")
    max_span = timedelta(days=app.settings.draft.max_window_days)
    return Query(parse_window(start, end, now=now(), max_span=max_span), tasks)


def collect_window(
    app: AppContext,
    *,
    start: str | None,
    end: str | None,
    tasks: list[str] | None,
    inputs: list[str] | None,
    replay: str | None,
    incident: str | None = None,
    strict: bool,
    title: str | None = None,
) -> Collected:
    """Pull (or replay) every source for the window the options give."""
    # lazy imports: the sources and their clients load when a command reads them, not for --help

    from ..model.source import Query
    from ..model.tasks import parse_task
    from ..services.pulls import collect, load_pull, parse_inputs

    parsed_inputs = parse_inputs(inputs)
    if replay:
        return load_pull(user_path(replay, what="--replay"), inputs=parsed_inputs)
    task_ids = tuple(dict.fromkeys(parse_task(value, what="--task") for value in tasks or ()))
    if incident:
        record = app.store().require_incident(incident)
        query_data = record.metadata.get("query")
        if not query_data:
            raise InputError(
                f"incident {incident} has no recorded window", hint="draft it with --from and --to first"
            )
        query = Query.from_dict(query_data)
        query = Query(query.window, task_ids or query.tasks)
        title = title or record.metadata.get("title") or record.title  # the title its slug was made from
    else:
        query = window_query(app, start, end, task_ids)
    return collect(query, app.settings, inputs=parsed_inputs, strict=strict, now=now(), title=title)


def report_sources(collected: Collected) -> None:
    """One stderr line per source: events found, lines skipped (where), failures."""
    for report in collected.summaries():
        skipped = f", {plural(report.skipped, 'line')} skipped" if report.skipped else ""
        read = f" from {plural(report.lines_read, 'line')}" if report.lines_read else ""
        note(f"{report.source}: {plural(report.events, 'event')}{read}{skipped}")
        for where in report.skipped_where[:10]:
            note(f"  skipped {where}")
        if len(report.skipped_where) > 10:
            note(f"  … and {len(report.skipped_where) - 10} more")
        for said in report.notes:
            note(f"  note: {said}")
    for failure in collected.failures:
        note(f"{failure.source}: unavailable: {failure.message}")
    for notice in collected.notices:
        note(f"warning: {notice}")
