"""``incidentkit config``: show the effective configuration (secrets masked) and where it comes from."""

from __future__ import annotations

import json

import typer

from ..config import config_path, settings_as_dict
from ._context import get_context, out

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True, help="Show the effective configuration.")


def _toml_value(value: object) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"
    return json.dumps(value)


@app.command("show")
def show(ctx: typer.Context) -> None:
    """Print the effective config (file + INCIDENTKIT_* overrides) as TOML; secrets are never shown.

    Keys ending in _env name the environment variable that holds a secret; the matching *_set
    line says whether that variable is set.

    Example:  incidentkit config show
    """
    app_ctx = get_context(ctx)
    settings = app_ctx.settings
    source = settings.path or f"{config_path(app_ctx.config)} (not found; defaults)"
    out.print(f"# config file: {source}", markup=False)
    out.print(f"# database: {app_ctx.db_path()}", markup=False)
    data = settings_as_dict(settings)
    for name, wiki in data.pop("wikis").items():
        out.print(f"\n[wikis.{name}]", markup=False)
        for key, value in wiki.items():
            out.print(f"{key} = {_toml_value(value)}", markup=False)
    for section, values in data.items():
        out.print(f"\n[{section}]", markup=False)
        for key, value in values.items():
            out.print(f"{key} = {_toml_value(value)}", markup=False)


@app.command("path")
def path(ctx: typer.Context) -> None:
    """Print where the config file is looked for.

    Example:  incidentkit config path
    """
    out.print(str(config_path(get_context(ctx).config)), markup=False)
