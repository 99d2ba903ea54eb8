"""The command line: a thin shell over the library. Assembles the command groups, maps errors.

Only :func:`main` prints errors and picks exit codes: an :class:`IncidentKitError` becomes
``Error: ...`` plus ``Hint: ...`` on stderr and a non-zero exit; ``--debug`` (or
``INCIDENTKIT_DEBUG=1``) adds the traceback. Anything else is a bug and propagates.
"""

from __future__ import annotations

import os
import traceback
from typing import Annotated

import click
import typer
from typer.core import TyperGroup

from ..errors import IncidentKitError
from . import actionables, analysis, config, draft, publish, scorecard, sources, timeline
from ._context import AppContext, err

__all__ = ["app", "main"]

class _ReportingGroup(TyperGroup):
    """The root group: the one place where IncidentKitError becomes a message and an exit code."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except IncidentKitError as exc:
            obj = ctx.obj
            if (isinstance(obj, AppContext) and obj.debug) or os.environ.get("INCIDENTKIT_DEBUG") == "1":
                err.print(traceback.format_exc(), markup=False)
            err.print(f"Error: {exc.message}", markup=False)
            if exc.hint:
                err.print(f"Hint: {exc.hint}", markup=False)
            ctx.exit(exc.exit_code)


app = typer.Typer(
    cls=_ReportingGroup,
    name="incidentkit",
    help=(
        "Draft, publish and follow up Wikimedia-style incident reports from the Server Admin Log, "
        "Phabricator and alert history. All times are UTC; naive times are read as UTC."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def root(
    ctx: typer.Context,
    config: Annotated[
        str | None,
        typer.Option("--config", help="Config file (default: $INCIDENTKIT_CONFIG, else the user config dir)."),
    ] = None,
    db: Annotated[
        str | None, typer.Option("--db", help="SQLite database (default: [store] path, else $INCIDENTKIT_HOME).")
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
) -> None:
    """Draft, publish and follow up incident reports. Times are UTC; naive input is read as UTC."""
    ctx.obj = AppContext(config=config, db=db, debug=debug or os.environ.get("INCIDENTKIT_DEBUG") == "1")
    ctx.call_on_close(ctx.obj.close)


draft.register(app)
publish.register(app)
app.add_typer(config.app, name="config")
app.add_typer(sources.app, name="sources")
app.add_typer(actionables.app, name="actionables")
app.add_typer(scorecard.app, name="scorecard")
app.add_typer(timeline.app, name="timeline")

# The `incidents` group (list/show/... live elsewhere); the cross-incident commands join it.
incidents_app = typer.Typer(no_args_is_help=True, help="Search, compare and count the recorded incidents.")
analysis.register(incidents_app)
app.add_typer(incidents_app, name="incidents")


def main() -> None:
    """Console-script entry point."""
    app()
