"""``incidentkit config``: show the effective configuration (secrets masked) and where it comes from."""

from __future__ import annotations

import json

import typer

from ._app import App
from ._context import get_context
from ._options import FormatOpt
from ._output import Output, echo

__all__ = ["app"]

app = App(help="Show the effective configuration.")


def _toml_value(value: object) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"
    return json.dumps(value)


@app.command("show")
def show(ctx: typer.Context, fmt: FormatOpt = None) -> None:
    """Show the effective configuration; secrets are never shown.

    The config file plus INCIDENTKIT_* overrides. On a terminal it is TOML, the config file's own
    syntax; one JSON document when piped or with --format json (config_file, database, and one
    object per section). Keys ending in _env name the environment variable that holds a secret;
    the matching *_set key says whether that variable is set.

    Example:  incidentkit config show --format json
    """
    from ..config import config_path, settings_as_dict  # lazy import: loaded when the command runs

    app_ctx = get_context(ctx)
    settings = app_ctx.settings
    source = str(settings.path) if settings.path else None
    data = settings_as_dict(settings)
    sections = [(f"wikis.{name}", wiki) for name, wiki in data.pop("wikis").items()] + list(data.items())

    def draw(output: Output) -> None:
        output.line(f"# config file: {source or f'{config_path(app_ctx.config)} (not found; defaults)'}")
        output.line(f"# database: {app_ctx.db_path()}")
        for section, values in sections:
            output.line(f"\n[{section}]")
            for key, value in values.items():
                output.line(f"{key} = {_toml_value(value)}")

    rows = [{"section": s, "key": k, "value": json.dumps(v)} for s, values in sections for k, v in values.items()]
    payload = {"config_file": source, "database": str(app_ctx.db_path()), **dict(sections)}
    app_ctx.output.document(payload, fmt, table=draw, records=[(rows, ["section", "key", "value"])])


@app.command("path")
def path(ctx: typer.Context) -> None:
    """Print where the config file is looked for.

    Example:  incidentkit config path
    """
    from ..config import config_path  # lazy import: loaded when the command runs

    echo(str(config_path(get_context(ctx).config)))
