"""``incidentkit scorecard``: fill in, show, and compare the reviewer's Incident Engagement ScoreCard.

Examples:
    incidentkit scorecard fill 2023-02-14_backport-crash --reviewer jdoe
    incidentkit scorecard fill 2023-02-14_backport-crash --answers answers.toml
    incidentkit scorecard show 2023-02-14_backport-crash --format markdown
    incidentkit scorecard stats --by month --format csv
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from ..errors import InputError
from ..model import scorecard as values
from ..model.window import parse_when
from ..services import scorecard
from ..services.charts import scorecard_chart
from ._context import get_context, is_terminal, now, out
from ._options import FormatOpt, OutputFormat, emit_records
from .analysis import ChartOpt, ChartSizeOpt, chart_to

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True, help="Fill in, show and compare the reviewer's scorecard.")

IncidentArg = Annotated[
    str, typer.Argument(help="The incident's id in the store, e.g. 2023-02-14_backport-crash.")
]
SHOW_COLUMNS = ["category", "key", "question", "answer", "note", "reviewer", "answered_at", "source"]
STATS_COLUMNS = ["key", "category", "question", "period", "answered", "no", "share_no"]


def _answer(text: str) -> str:
    try:
        value = values.parse_answer(text)
    except InputError as exc:
        raise typer.BadParameter(exc.message) from exc
    return str(value or values.SKIP)


def _ask(item: values.FillItem) -> tuple[str, str] | None:
    """Prompt for one question: (answer, note), or None when skipped."""
    question, current = item.question, item.current
    out.print(f"\n[{question.category} {item.number}/{item.of}] {question.full_text}", markup=False)
    if current is not None and (current.answer or current.note):
        out.print(f"  now: {current.answer or 'unanswered'} {current.note}".rstrip(), markup=False)
    if item.suggestion is not None:
        out.print(f"  suggested: {item.suggestion.answer} ({item.suggestion.reason})", markup=False)
    value = typer.prompt("Answer (yes/no/skip)", default=item.default, value_proc=_answer)
    if value == values.SKIP:
        return None
    if not question.notes:
        return value, ""
    old = current.note if current else ""
    note = typer.prompt("Note", default=old, show_default=bool(old))
    return value, "" if note.strip() == "-" else note


@app.command()
def fill(
    ctx: typer.Context,
    incident: IncidentArg,
    answers: Annotated[
        Path | None,
        typer.Option(
            "--answers", help='TOML/JSON file of answers: key = "yes"|"no" or {answer, note}. No prompts.'
        ),
    ] = None,
    reviewer: Annotated[
        str | None, typer.Option("--reviewer", help="Reviewer name (default: config, else $USER).")
    ] = None,
    ask_all: Annotated[
        bool, typer.Option("--all", help="Ask every question, not only the unanswered ones.")
    ] = False,
) -> None:
    """Answer the scorecard: yes / no / skip and an optional note per question; saved as you go.

    Defaults come from the incident where known (task -> "phabricator task?", metadata people_paged
    -> "fewer than five paged?", the draft's first alert -> "monitoring notified?"). Enter keeps the
    default; a note of "-" clears the note. Skipped questions stay as they are; run fill again to
    answer them (--all asks every question).

    Example:  incidentkit scorecard fill 2023-02-14_backport-crash --reviewer jdoe
    """
    app = get_context(ctx)
    store, settings = app.store(), app.settings
    record = store.require_incident(incident)
    definition = scorecard.load_definition(scorecard.definition_path(settings))
    who = scorecard.reviewer_name(reviewer, settings, os.environ)
    if answers is not None:
        given = scorecard.read_answers_file(answers, definition)
        saved = store.save_scorecard_answers(incident, given, reviewer=who, answered_at=now())
        out.print(f"saved {len(saved.written)} answer(s) for {incident}", markup=False)
    else:
        stored = store.get_scorecard_answers(incident)
        for item in scorecard.plan_fill(definition, stored, record, ask_all=ask_all):
            reply = _ask(item)
            if reply is not None:  # saved one by one: an interrupted fill resumes where it stopped
                store.save_scorecard_answers(
                    incident, {item.question.key: reply}, reviewer=who, answered_at=now()
                )
    filled = values.fill_scorecard(definition, store.get_scorecard_answers(incident))
    out.print(
        f"{incident}: {filled.answered} of {len(filled.rows)} answered, total score {filled.total or 0}",
        markup=False,
    )


@app.command()
def show(ctx: typer.Context, incident: IncidentArg, fmt: FormatOpt = None) -> None:
    """Print an incident's scorecard (a table on a terminal, JSON otherwise).

    Example:  incidentkit scorecard show 2023-02-14_backport-crash --format markdown
    """
    app = get_context(ctx)
    store = app.store()
    store.require_incident(incident)
    filled = scorecard.scorecard_for_incident(store, incident, app.settings)
    fmt = fmt or (OutputFormat.TABLE if is_terminal() else OutputFormat.JSON)
    if fmt is OutputFormat.JSON:
        typer.echo(json.dumps({"incident": incident, **filled.to_dict()}, indent=2, ensure_ascii=False))
    elif fmt is not OutputFormat.TABLE:
        typer.echo(emit_records(filled.records(), SHOW_COLUMNS, fmt))
    else:
        table = Table(
            title=f"{filled.title}: {incident}", caption=f"{filled.total_label}: {filled.total or 0}"
        )
        for name in ("Category", "Question", "Answer", "Notes"):
            table.add_column(name, overflow="fold")
        for row in filled.rows:
            answer = Text(row.answer or "-", style={"yes": "green", "no": "bold red"}.get(row.answer, "dim"))
            table.add_row(
                Text(row.category if row.rowspan else ""), Text(row.question), answer, Text(row.note)
            )
        out.print(table)


@app.command()
def stats(
    ctx: typer.Context,
    by: Annotated[
        values.Period, typer.Option("--by", help="Group incidents by quarter, month or year.")
    ] = (values.Period.QUARTER),
    since: Annotated[
        str | None, typer.Option("--since", help="Only incidents starting on or after this date.")
    ] = None,
    fmt: FormatOpt = None,
    chart: ChartOpt = None,
    chart_size: ChartSizeOpt = None,
) -> None:
    """For each question, the share of incidents answered "no", per period: the recurring weak spots.

    --chart draws the share of "no" per period, one line per category.

    Example:  incidentkit scorecard stats --by month --format csv --chart scorecard.svg
    """
    app = get_context(ctx)
    store = app.store()
    definition = scorecard.load_definition(scorecard.definition_path(app.settings))
    start = parse_when(since, now=now(), option="--since").date() if since else None
    result = scorecard.stats(
        definition, store.list_scorecard_answers(), store.list_incidents(), by=by, since=start
    )
    chart_to(lambda path, size: scorecard_chart(result, path, size), chart, chart_size)
    fmt = fmt or (OutputFormat.TABLE if is_terminal() else OutputFormat.JSON)
    if fmt is OutputFormat.JSON:
        typer.echo(json.dumps(result.records(), indent=2, ensure_ascii=False))
    elif fmt is not OutputFormat.TABLE:
        typer.echo(emit_records(result.records(), STATS_COLUMNS, fmt))
    else:
        table = Table(
            title=f'Share of "no" answers by {result.by} ({result.incidents} incidents with answers)'
        )
        for name in ("Question", *result.periods, "all"):
            table.add_column(name, overflow="fold", justify="left" if name == "Question" else "right")
        for question in result.questions:
            cells = [_share(cell) for cell in (*question.periods, question.overall)]
            table.add_row(Text(f"{question.category}: {question.question}"), *cells)
        out.print(table)


def _share(cell: values.StatCell) -> Text:
    if cell.share_no is None:
        return Text("-", style="dim")
    return Text(
        f"{cell.share_no:.0%} ({cell.no}/{cell.answered})", style="bold red" if cell.share_no >= 0.5 else ""
    )
