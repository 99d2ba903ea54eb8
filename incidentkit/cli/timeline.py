"""``incidentkit timeline``: curate a drafted incident's timeline, offline, from the store.

Every change is an override stored per row key and re-applied on every later draft, so a re-pull
never loses it. Rows are named by the refs ``timeline show`` prints (any unique prefix, like a git
short hash) or by their full keys.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from ..errors import InputError
from ..util import plural
from ._app import App
from ._context import AppContext, get_context, now
from ._options import FormatOpt, IncidentArg
from ._output import Column, Fit, echo, note

if TYPE_CHECKING:  # annotations only: the modules load when a command runs (start-up cost)
    from ..model.curation import CurationResult
    from ..store import Store

__all__ = ["app"]

app = App(
    help="Curate an incident's timeline. Hide, pin, edit, note and add rows, and mark key moments; "
    "changes are kept across re-pulls."
)

RowArg = Annotated[
    str,
    typer.Argument(metavar="ROW", help="A row: its ref from `timeline show` (a unique prefix) or its full key."),
]
RowsArg = Annotated[
    list[str] | None,
    typer.Argument(
        metavar="ROW",
        help="Rows: refs from `timeline show` (any unique prefix of 4+ characters) or full keys.",
    ),
]
SourceFilter = Annotated[
    list[str] | None,
    typer.Option("--source", metavar="SOURCE", help="Rows from this source (sal, phabricator, manual...). Repeatable."),
]
KindFilter = Annotated[
    list[str] | None,
    typer.Option(
        "--kind", metavar="KIND", help="Rows of this kind (log, deploy, cookbook, alert-firing...). Repeatable."
    ),
]
MatchFilter = Annotated[
    str | None,
    typer.Option("--match", metavar="TEXT", help="Rows whose text contains TEXT (case-insensitive)."),
]
BetweenFilter = Annotated[
    str | None,
    typer.Option(
        "--between",
        metavar="FROM..TO",
        help="Rows in FROM..TO, inclusive; either side may be empty. HH:MM is on the incident's first day; "
        "naive times are UTC.",
    ),
]
UnpinnedFilter = Annotated[bool, typer.Option("--unpinned", help="Rows that are not pinned.")]
MomentArg = Annotated[
    str, typer.Argument(metavar="MOMENT", help="impact_start, detected, responded, mitigated or resolved.")
]

ForceOpt = Annotated[
    bool, typer.Option("--force", help="Accept a time outside the window the incident was drafted for.")
]
SHOW_COLUMNS = (
    Column("ref"),
    Column("time", header="time (UTC)"),
    Column("flags", drop=1),
    Column("sources", drop=3),
    Column("kind", drop=2),
    Column("text", fit=Fit.TRUNCATE, min_width=20),
)
MOMENT_COLUMNS = (
    Column("moment"),
    Column("time", header="time (UTC)"),
    Column("origin", drop=1),
    Column("row"),
    Column("reason", fit=Fit.TRUNCATE, min_width=16),
)
MOMENT_FIELDS = ["moment", "time", "origin", "row", "reason"]
RULE_COLUMNS = (Column("rule"), Column("value", fit=Fit.TRUNCATE, min_width=16), Column("effect", fit=Fit.WRAP))


def _curated(app_ctx: AppContext, slug: str) -> tuple[Store, CurationResult]:
    """The incident's saved rows, curated as its latest draft saw them; orphans go to stderr."""
    # lazy imports: curation loads when a timeline command runs, not for --help
    from ..timeline.curate import curate
    from ..timeline.rows import build_rows

    store = app_ctx.store()
    store.require_incident(slug)
    state = store.curation_state(slug, as_drafted=True)
    result = curate(build_rows(store.load_events(slug)), state, app_ctx.settings.timeline)
    for orphan in result.orphans:
        note(
            f"Warning: {orphan.action} set on row {orphan.row_key!r}, which the sources no longer return "
            f"(drop it with `incidentkit timeline reset {slug} {orphan.row_key}`)"
        )
    return store, result


def _check_window(store: Store, slug: str, when: datetime, *, what: str, force: bool | None) -> None:
    """A time outside the window the incident was drafted for is refused unless *force* (a warning
    only, with *force* None): "yesterday" on a 2023 incident is a slip, not a lead-up."""
    from ..model.source import Query  # lazy import
    from ..model.time import format_utc

    query = store.require_incident(slug).metadata.get("query")
    if not query:
        return
    window = Query.from_dict(query).window
    if window.start <= when <= window.end:
        return
    span = f"{format_utc(window.start, seconds=False)} – {format_utc(window.end, seconds=False)}"
    message = f"{what} {format_utc(when)} is outside the window of {slug} ({span})"
    if force is False:
        raise InputError(message, hint="check the date (a bare HH:MM is on the incident's first day), or give --force")
    note(f"Warning: {message}")


def _day(store: Store, slug: str, result: CurationResult) -> date | None:
    """The day a bare HH:MM refers to: the first row's, else the incident's start."""
    if result.rows:
        return result.rows[0].time.date()
    start = store.require_incident(slug).start
    return date.fromisoformat(start[:10]) if start else None


def _select(
    ctx: typer.Context,
    slug: str,
    rows: list[str] | None,
    sources: list[str] | None,
    kinds: list[str] | None,
    match: str | None,
    between: str | None,
    unpinned: bool,
    *,
    orphans: bool = False,
) -> tuple[Store, tuple[str, ...]]:
    """The keys named or matched by the filters; InputError when neither is given."""
    from ..timeline.refs import RowFilter, parse_between, select_keys  # lazy import

    store, result = _curated(get_context(ctx), slug)
    start, end = parse_between(between, day=_day(store, slug, result), now=now()) if between else (None, None)
    row_filter = RowFilter(
        sources=tuple(sources or ()),
        kinds=tuple(kinds or ()),
        match=match,
        start=start,
        end=end,
        unpinned=unpinned,
    )
    if not rows and not row_filter.active:
        raise InputError(
            "name at least one row or give a filter",
            hint="rows are refs from `incidentkit timeline show`; filters: --source, --kind, --match, --between, --unpinned",
        )
    also = [o.row_key for o in result.orphans] if orphans else []
    return store, select_keys(result.rows, rows or (), row_filter, incident=slug, also=also)


def _report(verb: str, count: int, slug: str) -> None:
    echo(f"{verb} {plural(count, 'row')} of {slug}." if count else "No row matched; nothing changed.")


@app.command()
def show(
    ctx: typer.Context,
    incident: IncidentArg,
    all_rows: Annotated[bool, typer.Option("--all", "-a", help="Also list the hidden rows (the raw log).")] = False,
    fmt: FormatOpt = None,
) -> None:
    """List the curated timeline with each row's ref and flags.

    Flags: P pinned by you, p pinned by a rule, H hidden by you, h hidden by a rule, E edited,
    N new since the previous draft. JSON Lines when piped: ref, time, end, flags, marker, source,
    kind, actor, text, note, key, pinned, hidden, edited, new, pinned_by, hidden_by, original_text.

    Example:  incidentkit timeline show 2023-02-14_backport-crash --all
    """
    from ..timeline.refs import ROW_COLUMNS, row_records  # lazy import

    app_ctx = get_context(ctx)
    _, result = _curated(app_ctx, incident)
    records = row_records(result, include_hidden=all_rows)
    with app_ctx.output.rows(SHOW_COLUMNS, fmt, fields=ROW_COLUMNS) as sink:
        for record in records:
            shown = " ".join(
                part
                for part in (
                    record["text"],
                    f"[{record['marker']}]" if record["marker"] else "",
                    f"({record['note']})" if record["note"] else "",
                )
                if part
            )
            if sink.format == "table":
                record = {
                    **record, "time": record["time"][:19].replace("T", " "), "text": shown,
                    "sources": "+".join(record["sources"]),
                }  # fmt: skip
            sink.add(record)
        hidden = len(result.rows) - len(result.visible)
        more = f", {hidden} hidden (--all lists them)" if hidden and not all_rows else ""
        sink.summary(f"{plural(len(records), 'row')} shown{more}.")


def _flag_command(verb: str, store_method: str, help_text: str) -> None:
    def command(
        ctx: typer.Context,
        incident: IncidentArg,
        rows: RowsArg = None,
        source: SourceFilter = None,
        kind: KindFilter = None,
        match: MatchFilter = None,
        between: BetweenFilter = None,
        unpinned: UnpinnedFilter = False,
    ) -> None:
        store, keys = _select(ctx, incident, rows, source, kind, match, between, unpinned)
        if keys:
            getattr(store, store_method)(incident, keys)
        _report(verb, len(keys), incident)

    command.__doc__ = help_text
    app.command(name=store_method.removesuffix("_rows"))(command)


_flag_command(
    "Hid",
    "hide_rows",
    "Hide rows from the timeline; they stay in the raw log.\n\n"
    "Example:  incidentkit timeline hide 2023-02-14_backport-crash --kind dbctl",
)
_flag_command(
    "Unhid",
    "unhide_rows",
    "Show rows again, even ones a [timeline] rule hides.\n\nExample:  incidentkit timeline unhide 2023-02-14_backport-crash 3f2a9c1",
)
_flag_command(
    "Pinned",
    "pin_rows",
    "Pin rows: shown even where a rule would hide them.\n\nPinning a row you hid shows it again.\n\n"
    "Example:  incidentkit timeline pin 2023-02-14_backport-crash --match revert",
)
_flag_command(
    "Unpinned",
    "unpin_rows",
    "Unpin rows, even ones a [timeline] rule pins.\n\nExample:  incidentkit timeline unpin 2023-02-14_backport-crash --source sal",
)


@app.command()
def reset(
    ctx: typer.Context,
    incident: IncidentArg,
    rows: RowsArg = None,
    source: SourceFilter = None,
    kind: KindFilter = None,
    match: MatchFilter = None,
    between: BetweenFilter = None,
    unpinned: UnpinnedFilter = False,
) -> None:
    """Drop what you set on rows, and the rows you added.

    Hide, pin, edits and notes go; rows you added are deleted. Also takes the keys of orphaned overrides, whose rows the sources no longer return.

    Example:  incidentkit timeline reset 2023-02-14_backport-crash 3f2a9c1
    """
    store, keys = _select(ctx, incident, rows, source, kind, match, between, unpinned, orphans=True)
    _report("Reset", store.reset_rows(incident, keys) if keys else 0, incident)


@app.command()
def edit(
    ctx: typer.Context,
    incident: IncidentArg,
    row: RowArg,
    text: Annotated[str | None, typer.Option("--text", metavar="TEXT", help="The row's new text.")] = None,
    time: Annotated[
        str | None,
        typer.Option(
            "--time", metavar="TIME", help="The row's new time: HH:MM on the row's day, or a full time (UTC)."
        ),
    ] = None,
    force: ForceOpt = False,
) -> None:
    """Fix a row's text or time; the fix survives every re-pull.

    `timeline reset` undoes it.

    Example:  incidentkit timeline edit 2023-02-14_backport-crash 12c9 --text "Backport synced to the test servers"
    """
    from ..timeline.refs import curatable_keys, parse_row_time, resolve_keys, short_refs  # lazy import

    if text is None and time is None:
        raise InputError("give --text and/or --time", hint="e.g. timeline edit INCIDENT ROW --time 19:12")
    if text is not None and not text.strip():
        raise InputError("--text is empty", hint="to take a row out of the timeline, use `incidentkit timeline hide`")
    store, result = _curated(get_context(ctx), incident)
    (key,) = resolve_keys([row], curatable_keys(result.rows), incident=incident)
    current = next(r for r in result.rows if r.key == key)
    when = parse_row_time(time, day=current.time.date(), now=now()) if time is not None else None
    if when is not None:
        _check_window(store, incident, when, what="--time", force=force)
    store.edit_row(incident, key, text=text, time=when)
    echo(f"Edited row {short_refs([r.key for r in result.rows])[key]} of {incident}.")


@app.command("note")
def note_row(
    ctx: typer.Context,
    incident: IncidentArg,
    row: RowArg,
    text: Annotated[
        str, typer.Argument(metavar="TEXT", help="The note, shown after the row; an empty string removes it.")
    ],
) -> None:
    """Add a note to a row, shown after it in the draft.

    Example:  incidentkit timeline note 2023-02-14_backport-crash 623b "the revert is live everywhere"
    """
    from ..timeline.refs import curatable_keys, resolve_keys, short_refs  # lazy import

    store, result = _curated(get_context(ctx), incident)
    (key,) = resolve_keys([row], curatable_keys(result.rows), incident=incident)
    store.note_row(incident, key, text.strip() or None)
    ref = short_refs([r.key for r in result.rows])[key]
    echo(f"{'Noted' if text.strip() else 'Removed the note of'} row {ref} of {incident}.")


@app.command()
def add(
    ctx: typer.Context,
    incident: IncidentArg,
    text: Annotated[str, typer.Argument(metavar="TEXT", help="What happened.")],
    time: Annotated[
        str,
        typer.Option(
            "--time", metavar="TIME", help="When: HH:MM on the incident's first day, or a full time (UTC)."
        ),
    ],
    force: ForceOpt = False,
) -> None:
    """Add a row by hand, such as what a human noticed in chat.

    Example:  incidentkit timeline add 2023-02-14_backport-crash --time 18:40 "Users report fatals when logged in"
    """
    from ..timeline.refs import parse_row_time, short_refs  # lazy import

    if not text.strip():
        raise InputError("the row's text is empty", hint='e.g. timeline add INCIDENT --time 19:12 "Alice notices 5xx"')
    store, result = _curated(get_context(ctx), incident)
    when = parse_row_time(time, day=_day(store, incident, result), now=now())
    _check_window(store, incident, when, what="--time", force=force)
    key = store.add_manual_row(incident, time=when, text=text.strip())
    echo(f"Added row {short_refs([*(r.key for r in result.rows), key])[key]} to {incident}.")


@app.command()
def mark(
    ctx: typer.Context,
    incident: IncidentArg,
    moment: MomentArg,
    target: Annotated[
        str,
        typer.Argument(
            metavar="ROW|TIME",
            help="A row (ref or key) or a time (HH:MM on the incident's first day, or full).",
        ),
    ],
) -> None:
    """Set a key moment at a row or a time.

    It wins over the suggestion.

    Example:  incidentkit timeline mark 2023-02-14_backport-crash impact_start 18:36
    """
    # lazy imports
    from ..model.curation import moment_name
    from ..model.time import format_utc
    from ..timeline.refs import resolve_moment_target, short_refs

    name = moment_name(moment)
    store, result = _curated(get_context(ctx), incident)
    key, when = resolve_moment_target(
        target, result.rows, name, incident=incident, day=_day(store, incident, result), now=now()
    )
    if key is None:
        _check_window(store, incident, when, what="the time", force=None)
    store.set_key_moment(incident, name, time=when, key=key)
    where = f" (row {short_refs(r.key for r in result.rows)[key]})" if key else ""
    echo(f"{name} of {incident} set to {format_utc(when)}{where}.")


@app.command()
def unmark(ctx: typer.Context, incident: IncidentArg, moment: MomentArg) -> None:
    """Forget a key moment you set; the suggestion applies again.

    Example:  incidentkit timeline unmark 2023-02-14_backport-crash detected
    """
    from ..model.curation import moment_name  # lazy import

    name = moment_name(moment)
    cleared = get_context(ctx).store().clear_key_moment(incident, name)
    echo(f"{name} of {incident} is suggested again." if cleared else f"{name} of {incident} was not set; nothing changed.")


@app.command()
def moments(ctx: typer.Context, incident: IncidentArg, fmt: FormatOpt = None) -> None:
    """List the key moments and the durations they give.

    Each is yours or suggested (and why). JSON Lines when piped: moment, time, origin, row, reason. The durations (time to detect, to
    mitigate, to resolve, impact) follow the table on a terminal, and go to standard error otherwise.

    Example:  incidentkit timeline moments 2023-02-14_backport-crash
    """
    # lazy imports
    from ..model.time import format_utc
    from ..timeline.refs import short_refs

    app_ctx = get_context(ctx)
    _, result = _curated(app_ctx, incident)
    refs = short_refs(r.key for r in result.rows)
    with app_ctx.output.rows(MOMENT_COLUMNS, fmt, fields=MOMENT_FIELDS) as sink:
        for choice in result.choices:
            sink.add({
                "moment": choice.moment, "time": format_utc(choice.time) if choice.time else None,
                "origin": choice.origin, "row": refs.get(choice.key) if choice.key else None, "reason": choice.reason,
            })  # fmt: skip
        minutes = {k: "-" if v is None else f"{v:.0f} min" for k, v in result.moments.durations().items()}
        sink.summary(", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in minutes.items()))


@app.command()
def rules(ctx: typer.Context, fmt: FormatOpt = None) -> None:
    """Show the auto-curation rules in effect.

    They come from [timeline] in the config. JSON Lines when piped: rule, value, effect.

    Example:  incidentkit timeline rules --format markdown
    """
    from ..timeline.rules import describe_rules  # lazy import

    app_ctx = get_context(ctx)
    with app_ctx.output.rows(RULE_COLUMNS, fmt) as sink:
        for record in describe_rules(app_ctx.settings.timeline):
            sink.add(record)
