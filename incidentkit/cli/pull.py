"""``incidentkit pull``: save what every source returns for a window, to draft it later offline."""

from __future__ import annotations

from typing import Annotated

import typer

from ..config import user_path
from ..util import plural
from ._app import App
from ._context import get_context
from ._options import FromOpt, InputOpt, TasksOpt, ToOpt
from ._output import note
from ._pulling import collect_window, report_sources

__all__ = ["app"]

app = App(help="Save what every source returns, to draft it offline.")


@app.command()
def pull(
    ctx: typer.Context,
    save: Annotated[
        str, typer.Option("--save", metavar="DIR", help="Write what every source returned to this folder.")
    ],
    start: FromOpt = None,
    end: ToOpt = None,
    title: Annotated[
        str | None, typer.Option("--title", metavar="TEXT", help="The incident's title, kept with the pull.")
    ] = None,
    task: TasksOpt = None,
    input: InputOpt = None,
    strict: Annotated[
        bool,
        typer.Option("--strict", help="Exit 1 when a source is unavailable (default: save what the others returned)."),
    ] = False,
) -> None:
    """Save what every source returns, to draft it offline.

    The folder holds each source's answer as text files; `draft --replay DIR` and `events --replay
    DIR` read it with no network and give the same draft byte for byte. Times are UTC; naive input
    is read as UTC.

    Example:  incidentkit pull --from 2023-02-14T18:00Z --to 2023-02-14T19:45Z --task T329510 --save pulls/backport
    """
    from ..services.pulls import save_pull  # lazy import: loaded when the command runs

    collected = collect_window(
        get_context(ctx), start=start, end=end, tasks=task, inputs=input, replay=None, strict=strict, title=title
    )
    report_sources(collected)
    save_pull(collected, user_path(save, what="--save"))
    note(f"saved {plural(len(collected.exports), 'source')} to {save}; draft it with --replay {save}")
