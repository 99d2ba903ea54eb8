"""``incidentkit sources``: list the known sources and check that the configured ones answer."""

from __future__ import annotations

import time

import typer

from ..errors import ConfigError, IncidentKitError
from ._app import App
from ._context import get_context, now
from ._options import FormatOpt
from ._output import Column, Fit

__all__ = ["app"]

app = App(help="List the sources and check that they answer.")

LIST_COLUMNS = (
    Column("name"),
    Column("configured", header="state"),
    Column("help", header="reads", fit=Fit.WRAP, min_width=24),
)
CHECK_COLUMNS = (
    Column("name"),
    Column("status", styles={"ok": "good", "FAIL": "bad"}),
    Column("ms", right=True, drop=1),
    Column("detail", fit=Fit.WRAP, min_width=24),
)


@app.command("list")
def list_sources(ctx: typer.Context, fmt: FormatOpt = None) -> None:
    """List the known sources and whether each is configured.

    JSON Lines when piped or with --format json: name, configured (true or false), help.

    Example:  incidentkit sources list --format json
    """
    from ..sources import all_specs  # lazy import: loaded when the command runs

    app_ctx = get_context(ctx)
    settings = app_ctx.settings
    with app_ctx.output.rows(LIST_COLUMNS, fmt, fields=["name", "configured", "help"]) as sink:
        for name, spec in all_specs().items():
            configured = spec.configured(settings)
            record = {"name": name, "configured": configured, "help": spec.help}
            if sink.format == "table":
                record["configured"] = "configured" if configured else "not configured"
            sink.add(record)


@app.command("check")
def check(ctx: typer.Context, fmt: FormatOpt = None) -> None:
    """Check that every configured source answers.

    Exits 1 if one does not. JSON Lines when piped or with --format json: name, status (ok or FAIL), ms, detail.

    Example:  incidentkit sources check
    """
    from ..sources import check_source, configured_sources  # lazy import: loaded when the command runs

    app_ctx = get_context(ctx)
    settings = app_ctx.settings
    configured = configured_sources(settings)
    if not configured:
        raise ConfigError(
            "no source is configured",
            hint="add [sal], [phabricator], [prometheus]... to the config (see the README); "
            "`incidentkit config show` prints what is set",
        )
    failed = 0
    with app_ctx.output.rows(CHECK_COLUMNS, fmt) as sink:
        for name in configured:
            started = time.perf_counter()
            try:
                detail, status = check_source(name, settings, now=now()), "ok"
            except IncidentKitError as exc:
                failed += 1
                detail, status = exc.message + (f" (hint: {exc.hint})" if exc.hint else ""), "FAIL"
            elapsed = round((time.perf_counter() - started) * 1000)
            sink.add({"name": name, "status": status, "ms": elapsed, "detail": detail})
    if failed:
        raise typer.Exit(1)
