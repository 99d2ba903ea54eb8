"""``incidentkit scorecard``: fill in, show and compare the reviewer's Incident Engagement ScoreCard."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from ..config import user_path
from ..errors import InputError
from ..model.scorecard import Period
from ..util import plural
from ._app import App
from ._context import get_context, now
from ._options import ChartOpt, ChartSizeOpt, FormatOpt, IncidentArg, SinceOpt
from ._output import Column, Fit, Output, echo, note

if TYPE_CHECKING:  # annotations only: the modules load when a command runs (start-up cost)
    from ..model.scorecard import FillItem, StatCell

__all__ = ["app"]

app = App(help="Fill in, show and compare reviewer scorecards.")

SHOW_FIELDS = ["category", "key", "question", "answer", "note", "reviewer", "answered_at", "source"]
STATS_FIELDS = ["key", "category", "question", "period", "answered", "no", "share_no"]
ANSWER_STYLES = {"yes": "good", "no": "bad", "-": "dim"}


def _answer(text: str) -> str:
    from ..model import scorecard as values

    try:
        value = values.parse_answer(text)
    except InputError as exc:
        raise typer.BadParameter(exc.message) from exc
    return str(value or values.SKIP)


def _ask(item: FillItem) -> tuple[str | None, str] | None:
    """Prompt for one question: (answer, note); (None, note) records a skip; None leaves an answer as it is."""
    from ..model.scorecard import SKIP

    question, current = item.question, item.current
    echo(f"\n[{question.category} {item.number}/{item.of}] {question.full_text}")
    if current is not None and (current.answer or current.note):
        echo(f"  now: {current.answer or 'unanswered'} {current.note}".rstrip())
    if item.suggestion is not None:
        echo(f"  suggested: {item.suggestion.answer} ({item.suggestion.reason})")
    value = typer.prompt("Answer (yes/no/skip)", default=item.default, value_proc=_answer)
    if value == SKIP:  # skipped: not asked again on resume (--all asks it), an answer stays
        return None if current is not None and current.answer is not None else (None, current.note if current else "")
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
        str | None,
        typer.Option(
            "--answers",
            metavar="FILE",
            help='Answers from a TOML or JSON file (key = "yes"|"no" or {answer, note}); no questions asked.',
        ),
    ] = None,
    reviewer: Annotated[
        str | None, typer.Option("--reviewer", metavar="NAME", help="The reviewer's name (default: config, else $USER).")
    ] = None,
    ask_all: Annotated[
        bool, typer.Option("--all", "-a", help="Ask every question, not only the unanswered ones.")
    ] = False,
) -> None:
    """Answer an incident's scorecard, question by question.

    Yes, no or skip, and a note, per question. Asks on the terminal, or reads --answers FILE. Defaults come from the incident where known (its
    task, people paged, the draft's first alert); Enter keeps the default, a note of "-" clears the
    note. Answers are saved as you go: run fill again to go on where you stopped (answered and
    skipped questions are not asked again; --all asks every question). Ctrl-C says what was saved.

    Example:  incidentkit scorecard fill 2023-02-14_backport-crash --reviewer jdoe
    """
    # lazy imports: loaded when the command runs
    from ..model.scorecard import fill_scorecard
    from ..services import scorecard

    if answers is None and not sys.stdin.isatty():
        raise InputError(
            "standard input is not a terminal, so the scorecard's questions cannot be asked",
            hint=f"give the answers in a file: `incidentkit scorecard fill {incident} --answers FILE` (TOML or JSON)",
        )
    app_ctx = get_context(ctx)
    store, settings = app_ctx.store(), app_ctx.settings
    record = store.require_incident(incident)
    definition = scorecard.load_definition(scorecard.definition_path(settings))
    who = scorecard.reviewer_name(reviewer, settings, os.environ)
    if answers is not None:
        given = scorecard.read_answers_file(user_path(answers, what="--answers"), definition)
        saved = store.save_scorecard_answers(incident, given, reviewer=who, answered_at=now())
        echo(f"saved {plural(len(saved.written), 'answer')} for {incident}")
    else:
        stored = store.get_scorecard_answers(incident)
        plan = scorecard.plan_fill(definition, stored, record, ask_all=ask_all)
        if not plan:
            echo("Nothing to ask: every question is answered or skipped (--all asks them again).")
        done = 0
        try:
            for item in plan:
                reply = _ask(item)
                if reply is not None:  # saved one by one: an interrupted fill resumes where it stopped
                    store.save_scorecard_answers(incident, {item.question.key: reply}, reviewer=who, answered_at=now())
                    done += 1
        except (KeyboardInterrupt, typer.Abort) as stop:
            filled = fill_scorecard(definition, store.get_scorecard_answers(incident))
            saved = (
                f"{plural(done, 'answer')} saved this time; {filled.answered} of {len(filled.rows)} answered. "
                f"Continue with `incidentkit scorecard fill {incident}`."
            )
            if isinstance(stop, typer.Abort) and not isinstance(stop.__context__, KeyboardInterrupt):
                note(f"\n{saved}")
                raise  # standard input ended: the root says so
            note(f"\nInterrupted. {saved}")
            raise typer.Exit(130) from None
    filled = fill_scorecard(definition, store.get_scorecard_answers(incident))
    echo(f"{incident}: {filled.answered} of {len(filled.rows)} answered, total score {filled.total or 0}")


@app.command()
def show(ctx: typer.Context, incident: IncidentArg, fmt: FormatOpt = None) -> None:
    """Show an incident's scorecard.

    One JSON document when piped or with --format json: incident, title, answered, questions,
    total, total_label, reviewers and rows (category, key, question, answer, note, reviewer,
    answered_at, source).

    Example:  incidentkit scorecard show 2023-02-14_backport-crash --format markdown
    """
    from ..services import scorecard  # lazy import: loaded when the command runs

    app_ctx = get_context(ctx)
    store = app_ctx.store()
    store.require_incident(incident)
    filled = scorecard.scorecard_for_incident(store, incident, app_ctx.settings)
    columns = (
        Column("category", header="Category"),
        Column("question", header="Question", fit=Fit.WRAP, min_width=30),
        Column("answer", header="Answer", styles=ANSWER_STYLES),
        Column("note", header="Notes", fit=Fit.WRAP, min_width=12, drop=1),
    )
    rows = [
        {"category": row.category if row.rowspan else "", "question": row.question, "answer": row.answer or "-",
         "note": row.note}
        for row in filled.rows
    ]  # fmt: skip

    def draw(output: Output) -> None:
        output.line(f"{filled.title}: {incident}", "header")
        output.table(columns, rows)
        output.line(f"{filled.total_label}: {filled.total or 0}")

    app_ctx.output.document(
        {"incident": incident, **filled.to_dict()}, fmt, table=draw, records=[(filled.records(), SHOW_FIELDS)]
    )


def _share(cell: StatCell) -> str:
    return "-" if cell.share_no is None else f"{cell.share_no:.0%} ({cell.no}/{cell.answered})"


@app.command()
def stats(
    ctx: typer.Context,
    by: Annotated[Period, typer.Option("--by", metavar="PERIOD", help="Group incidents by quarter, month or year.")] = (
        Period.QUARTER
    ),
    since: SinceOpt = None,
    fmt: FormatOpt = None,
    chart: ChartOpt = None,
    chart_size: ChartSizeOpt = None,
) -> None:
    """Show how often each question was answered "no", per period.

    The recurring weak spots stand out; shares of half or more are highlighted. One JSON document
    when piped or with --format json: by, periods, incidents and rows (key, category, question,
    period, answered, no, share_no; period "all" is the whole time). --chart draws the share of
    "no" per period, one line per category.

    Example:  incidentkit scorecard stats --by month --format csv --chart scorecard.svg
    """
    # lazy imports: loaded when the command runs
    from ..model.window import parse_when
    from ..services import scorecard
    from ..services.charts import scorecard_chart
    from .analysis import chart_request, chart_to

    wanted = chart_request(chart, chart_size)
    app_ctx = get_context(ctx)
    store = app_ctx.store()
    definition = scorecard.load_definition(scorecard.definition_path(app_ctx.settings))
    start = parse_when(since, now=now(), option="--since").date() if since else None
    result = scorecard.stats(definition, store.list_scorecard_answers(), store.list_incidents(), by=by, since=start)
    chart_to(lambda path, size: scorecard_chart(result, path, size), wanted)
    periods = [*result.periods, "all"]
    columns = [Column("question", header="Question", fit=Fit.WRAP, min_width=30)]
    columns += [Column(period, right=True) for period in periods]
    rows, weak = [], []
    for question in result.questions:
        cells = (*question.periods, question.overall)
        rows.append({"question": f"{question.category}: {question.question}", **{
            period: _share(cell) for period, cell in zip(periods, cells, strict=True)
        }})  # fmt: skip
        weak.append(any(cell.share_no is not None and cell.share_no >= 0.5 for cell in cells))

    def draw(output: Output) -> None:
        answered = plural(result.incidents, "incident")
        output.line(f'Share of "no" answers by {result.by} ({answered} with answers)', "header")
        flags = iter(weak)
        output.table(columns, rows, highlight=lambda _: next(flags))

    payload = {"by": result.by, "periods": list(result.periods), "incidents": result.incidents, "rows": result.records()}
    app_ctx.output.document(payload, fmt, table=draw, records=[(result.records(), STATS_FIELDS)])
