"""The command line: a thin shell over the library. The root command, the command list, errors.

Every command lives in its own module and is listed in :data:`COMMANDS` with the one-line summary
``incidentkit --help`` shows; its module is imported only when it runs (start-up stays close to the
interpreter's). To add a command group, write ``incidentkit/cli/NAME.py`` with ``app = App(help=...)``
(see :mod:`._app`), print through :mod:`._output`, and add one line here.

Only the root prints errors and picks exit codes:

* 0: done; 1: an error (``Error: ...`` and ``Hint: ...`` on stderr, ``--debug`` adds the
  traceback); 2: usage (a bad option, argument or value); 3: an edit conflict on the wiki;
  130: interrupted (Ctrl-C). ``actionables list --fail-if-overdue`` exits 1 when something is overdue.
"""

from __future__ import annotations

import os
import sys
import traceback
from typing import Annotated, Any

import typer

from ..errors import IncidentKitError, InputError
from ._app import App, LazyGroup
from ._context import AppContext
from ._options import Color, ColorOpt, NoPagerOpt
from ._output import OutputClosed, color_wanted, note

__all__ = ["app", "main", "COMMANDS"]

COMMANDS: dict[str, tuple[str, str]] = {
    # name: (module in incidentkit/cli/, the summary `incidentkit --help` lists)
    "draft": ("draft", "Draft the incident page for a time window."),
    "events": ("events", "List the merged raw events of a time window."),
    "pull": ("pull", "Save what every source returns, to draft it offline."),
    "publish": ("publish", "Create or update the incident page on the wiki."),
    "import": ("import_", "Import existing incident reports from the wiki."),
    "incidents": ("incidents", "List, show, edit and remove recorded incidents."),
    "timeline": ("timeline", "Curate an incident's timeline."),
    "actionables": ("actionables", "Track incident follow-ups to done."),
    "scorecard": ("scorecard", "Fill in, show and compare reviewer scorecards."),
    "sources": ("sources", "List the sources and check that they answer."),
    "config": ("config", "Show the effective configuration."),
}


class RootGroup(LazyGroup):
    """``incidentkit``: loads commands on demand and is the one place errors become exit codes."""

    lazy = COMMANDS

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except IncidentKitError as exc:
            _report(ctx, exc)
            ctx.exit(exc.exit_code)
        except OutputClosed:  # the pager was quit or `| head` had enough: not an error
            ctx.exit(0)
        except KeyboardInterrupt:
            _close_output(ctx)
            note("Interrupted.")
            ctx.exit(130)
        except typer.Abort as exc:  # a prompt met Ctrl-C or the end of its input
            _close_output(ctx)
            if isinstance(exc.__context__, KeyboardInterrupt):
                note("Interrupted.")
                ctx.exit(130)
            _report(
                ctx,
                InputError(
                    "standard input ended before every question was answered",
                    hint="what was answered is saved; run the command again on a terminal to go on",
                ),
            )
            ctx.exit(1)
        return None


def _close_output(ctx: Any) -> None:
    obj = ctx.obj
    if isinstance(obj, AppContext):
        obj.close()


def _report(ctx: Any, exc: IncidentKitError) -> None:
    """``Error: message`` and ``Hint: hint`` on stderr (red and bold where colour is on)."""
    _close_output(ctx)
    obj = ctx.obj if isinstance(ctx.obj, AppContext) else AppContext()
    if obj.debug or os.environ.get("INCIDENTKIT_DEBUG") == "1":
        note(traceback.format_exc().rstrip())
    colour = color_wanted(obj.color, sys.stderr, os.environ)
    error, hint = ("\x1b[1;31mError:\x1b[0m", "\x1b[1mHint:\x1b[0m") if colour else ("Error:", "Hint:")
    note(f"{error} {exc.message}")
    command = getattr(exc, "command", "incidentkit")
    note(f"{hint} {exc.hint or f'`{command} --help` shows what the command takes'}")


def _show_version(value: bool) -> None:
    if value:
        from ..util import version

        typer.echo(f"incidentkit {version()}")
        raise typer.Exit(0)


app = App(
    cls=RootGroup,
    help=(
        "Draft, publish and follow up Wikimedia-style incident reports from the Server Admin Log, "
        "Phabricator and alert history. All times are UTC; naive times are read as UTC.\n\n"
        "Run `incidentkit COMMAND --help` for a command's options.\n\n"
        "Example:  incidentkit draft --replay data/examples/backport-crash"
    ),
    name="incidentkit",
    add_completion=True,
    invoke_without_command=True,
)


@app.callback()
def root(
    ctx: typer.Context,
    config: Annotated[
        str | None,
        typer.Option(
            "--config", metavar="FILE", help="Config file (default: $INCIDENTKIT_CONFIG, else the user config dir)."
        ),
    ] = None,
    db: Annotated[
        str | None,
        typer.Option(
            "--db", metavar="FILE", help="SQLite database (default: [store] path, else in $INCIDENTKIT_HOME)."
        ),
    ] = None,
    color: ColorOpt = None,
    no_pager: NoPagerOpt = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
    version: Annotated[
        bool,
        typer.Option("--version", help="Print the version and exit.", callback=_show_version, is_eager=True),
    ] = False,
) -> None:
    """Options for every command (before its name; --color and --no-pager also after it)."""
    ctx.obj = AppContext(
        config=config,
        db=db,
        debug=debug or os.environ.get("INCIDENTKIT_DEBUG") == "1",
        color=(color or Color.AUTO).value,
        pager=not no_pager,
    )
    ctx.call_on_close(ctx.obj.close)
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())


@app.command("version")
def version_(ctx: typer.Context) -> None:
    """Print incidentkit's version.

    Example:  incidentkit version
    """
    _show_version(True)


def main() -> None:
    """Console-script entry point."""
    app()

