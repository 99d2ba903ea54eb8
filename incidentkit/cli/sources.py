"""``incidentkit sources``: list the known sources and check that the configured ones answer."""

from __future__ import annotations

import time

import typer

from ..errors import IncidentKitError
from ..sources import all_specs, check_source, configured_sources
from ._context import err, get_context, now, out

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True, help="List and check the sources.")


@app.command("list")
def list_sources(ctx: typer.Context) -> None:
    """List every source incidentkit knows, and whether it is configured.

    Example:  incidentkit sources list
    """
    settings = get_context(ctx).settings
    for name, spec in all_specs().items():
        state = "configured" if spec.configured(settings) else "not configured"
        out.print(f"{name:<13} {state:<15} {spec.help}", markup=False)


@app.command("check")
def check(ctx: typer.Context) -> None:
    """Tell, one line per configured source, whether it answers (exit 1 if any does not).

    Example:  incidentkit sources check
    """
    settings = get_context(ctx).settings
    failed = 0
    configured = configured_sources(settings)
    if not configured:
        err.print("no source is configured (see `incidentkit config show` and the README)", markup=False)
        raise typer.Exit(1)
    for name in configured:
        started = time.perf_counter()
        try:
            detail = check_source(name, settings, now=now())
        except IncidentKitError as exc:
            failed += 1
            out.print(f"{name:<13} FAIL  {exc.message}" + (f" (hint: {exc.hint})" if exc.hint else ""), markup=False)
            continue
        elapsed = (time.perf_counter() - started) * 1000
        first, *more = detail.splitlines() or [""]
        out.print(f"{name:<13} ok    {first} ({elapsed:.0f} ms)", markup=False)
        for line in more:  # e.g. what each configured Phabricator project resolved to
            out.print(f"{'':<19}{line}", markup=False)
    if failed:
        raise typer.Exit(1)
