"""Options and arguments shared by several commands: one name, one metavar, one meaning each.

The option table (the README's "Options" section lists it for users):

* ``-i, --input NAME=PATH``: read source NAME from a saved export instead of the live system.
* ``-t, --task TASK``: a Phabricator task (``T123``).
* ``-f, --format FORMAT``: table, json, csv or markdown (see :mod:`._output`).
* ``-o, --output FILE``: write to FILE instead of standard output.
* ``-a, --all``: every item, not only the default selection.
* ``--incident INCIDENT``: the incident a command works on, by slug (no short flag).
* ``--from TIME`` / ``--to TIME``, ``--since DATE``, ``--due DATE``: times and dates (UTC).
* ``--replay DIR`` / ``--save DIR``: a folder written by ``--save``, read with no network.
* ``--page TITLE``, ``--wiki NAME``, ``--summary TEXT``, ``--dry-run``, ``--force``: wiki writes.

A command whose option needs different words (``--strict`` in ``draft`` vs ``events``) declares its
own Annotated alias with the same name and metavar; ``tests/test_cli_help.py`` checks that every
name keeps one metavar and one short flag across the whole CLI.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from ._output import Format

__all__ = [
    "Color",
    "ColorOpt",
    "NoPagerOpt",
    "FormatOpt",
    "FromOpt",
    "ToOpt",
    "InputOpt",
    "TasksOpt",
    "IncidentFilterOpt",
    "IncidentArg",
    "WikiOpt",
    "DryRunOpt",
    "SummaryOpt",
    "ForceOpt",
    "PageOpt",
    "SinceOpt",
    "OutputFileOpt",
    "ChartOpt",
    "ChartSizeOpt",
]


class Color(StrEnum):
    """The values of ``--color``."""

    AUTO = "auto"
    ALWAYS = "always"
    NEVER = "never"


ColorOpt = Annotated[
    Color | None,
    typer.Option(
        "--color",
        metavar="WHEN",
        help="Colour: auto (on a terminal, unless NO_COLOR is set), always or never.",
        show_default=False,
    ),
]
NoPagerOpt = Annotated[bool, typer.Option("--no-pager", help="Never page the output (default: a pager on a terminal).")]
FormatOpt = Annotated[
    Format | None,
    typer.Option(
        "--format",
        "-f",
        metavar="FORMAT",
        help="table, json, csv or markdown (default: a table on a terminal, JSON when piped).",
        show_default=False,
    ),
]
FromOpt = Annotated[
    str | None,
    typer.Option(
        "--from",
        metavar="TIME",
        help="Window start: ISO 8601 ('2016-09-15 19:10', '2016-09-15T19:10Z') or human ('yesterday 18:00', "
        "'2 hours ago'). Naive times are UTC.",
    ),
]
ToOpt = Annotated[
    str | None,
    typer.Option("--to", metavar="TIME", help="Window end, same forms as --from (default: now)."),
]
InputOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--input",
        "-i",
        metavar="NAME=PATH",
        help="Read source NAME from a saved export instead of the live system (sal=page.wiki, "
        "prometheus=alerts.json, irc=channel.log...). Repeatable.",
    ),
]
TasksOpt = Annotated[
    list[str] | None,
    typer.Option("--task", "-t", metavar="TASK", help="The incident's Phabricator task (T123). Repeatable."),
]
IncidentFilterOpt = Annotated[
    str | None, typer.Option("--incident", metavar="INCIDENT", help="Only this incident (its slug).")
]
IncidentArg = Annotated[
    str,
    typer.Argument(metavar="INCIDENT", help="The incident's slug, e.g. 2023-02-14_backport-crash.", show_default=False),
]
WikiOpt = Annotated[
    str | None,
    typer.Option("--wiki", metavar="NAME", help="Which configured wiki ([wikis.NAME]); default: the first."),
]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Print the unified diff of the page; write nothing.")]
SummaryOpt = Annotated[
    str | None, typer.Option("--summary", metavar="TEXT", help="Edit summary (default: says what was updated).")
]
ForceOpt = Annotated[
    bool, typer.Option("--force", help="Overwrite generated parts even where someone edited them on the wiki.")
]
PageOpt = Annotated[
    str | None,
    typer.Option(
        "--page",
        metavar="TITLE",
        help="Page title, e.g. 'Incidents/2026-11-20 Example' (default: where the incident was published).",
    ),
]
SinceOpt = Annotated[
    str | None,
    typer.Option("--since", metavar="DATE", help="Only incidents that started on or after DATE (UTC)."),
]
OutputFileOpt = Annotated[
    str | None, typer.Option("--output", "-o", metavar="FILE", help="Write to FILE instead of standard output.")
]
ChartOpt = Annotated[
    str | None,
    typer.Option("--chart", metavar="FILE", help="Also draw the chart to FILE.svg or FILE.png (needs matplotlib)."),
]
ChartSizeOpt = Annotated[
    str | None,
    typer.Option("--chart-size", metavar="SIZE", help="The chart's size in pixels, e.g. 1200x900 (the default)."),
]
