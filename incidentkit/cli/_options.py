"""Shared command-line options (Annotated aliases) and small output helpers for the commands."""

from __future__ import annotations

import csv
import io
import json
from enum import StrEnum
from typing import Annotated, Any

import typer

__all__ = ["FromOpt", "ToOpt", "InputOpt", "ReplayOpt", "TaskOpt", "StrictOpt", "OutputFormat", "FormatOpt", "emit_records"]

FromOpt = Annotated[
    str | None,
    typer.Option(
        "--from",
        help="Window start: ISO 8601 ('2016-09-15 19:10', '2016-09-15T19:10Z') or human ('yesterday 18:00', "
        "'2 hours ago'). Naive times are UTC.",
    ),
]
ToOpt = Annotated[
    str | None,
    typer.Option("--to", help="Window end, same forms as --from (naive = UTC). Default: now."),
]
InputOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--input",
        "-i",
        help="Read a source from a saved export instead of the live system: NAME=PATH "
        "(e.g. sal=page.wiki, prometheus=alerts.json, irc=channel.log). Repeatable.",
    ),
]
ReplayOpt = Annotated[
    str | None,
    typer.Option("--replay", help="Draft from a folder written by `pull --save`, with no network."),
]
TaskOpt = Annotated[
    list[str] | None,
    typer.Option("--task", "-t", help="The incident's Phabricator task (T123). Repeatable."),
]
StrictOpt = Annotated[
    bool, typer.Option("--strict", help="Exit non-zero when a source is unavailable (default: note it in the page).")
]


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"
    MARKDOWN = "markdown"


FormatOpt = Annotated[
    OutputFormat | None,
    typer.Option("--format", "-f", help="Output format (default: a table on a terminal, JSON otherwise)."),
]


def emit_records(records: list[dict[str, Any]], columns: list[str], fmt: OutputFormat) -> str:
    """Render records as JSON, CSV or Markdown text (tables are drawn by the caller with rich)."""
    if fmt is OutputFormat.JSON:
        # one record per line: valid JSON, greppable, and the C encoder (indent= is pure Python)
        lines = ",\n".join(json.dumps(r, ensure_ascii=False, default=str) for r in records)
        return f"[\n{lines}\n]" if records else "[]"
    if fmt is OutputFormat.CSV:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for record in records:
            writer.writerow({k: ("; ".join(v) if isinstance(v, list) else v) for k, v in record.items()})
        return buffer.getvalue().rstrip("\n")
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for record in records:
        cells = []
        for column in columns:
            value = record.get(column)
            text = "; ".join(map(str, value)) if isinstance(value, list) else ("" if value is None else str(value))
            cells.append(text.replace("|", "\\|").replace("\n", " "))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
