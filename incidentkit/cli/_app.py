"""The command classes every incidentkit command is built from: conventional help, help when a
group is called alone, and a root that imports a command's module only when that command runs.

Help follows the conventions of git, gh and click: ``Usage: incidentkit timeline hide [OPTIONS]
INCIDENT [ROW]...``; every option that takes a value shows its metavar (``--from TIME``,
``-i, --input NAME=PATH``), never a type placeholder; the ``Example:`` line of a docstring is printed
as written, not re-wrapped. ``tests/test_cli_help.py`` walks every command and checks this.

A command module builds its commands on an :class:`App`::

    app = App(help="Curate an incident's timeline.")    # a group (``incidentkit timeline ...``)

    @app.command()
    def show(...): ...

and is listed in :data:`incidentkit.cli.COMMANDS` with its one-line summary, which is all
``incidentkit --help`` reads: the module itself is imported only when its command runs.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Mapping
from typing import Any

import typer
import typer.main
from typer.core import TyperCommand, TyperGroup

from ..errors import IncidentKitError
from ._options import ColorOpt, NoPagerOpt

__all__ = ["App", "Command", "Group", "CommandGroup", "LazyGroup", "argument_usage", "option_names"]

_EXAMPLE_PREFIXES = ("Example:", "Examples:")


def argument_usage(param: Any) -> str:
    """An argument as the usage line shows it: ``INCIDENT``, ``[TEXT]``, ``[ROW]...``."""
    name = param.metavar or param.name.upper()
    if param.nargs == -1:
        return f"{name}..." if param.required else f"[{name}]..."
    return name if param.required else f"[{name}]"


def option_names(param: Any) -> str:
    """``-t, --task TASK`` / ``--strict``: short names first, then the metavar of a value."""
    names = ", ".join(sorted(param.opts, key=lambda n: (n.startswith("--"), n)))
    if param.secondary_opts:
        names += " / " + ", ".join(param.secondary_opts)
    if not param.is_flag:
        names += f" {param.metavar or 'VALUE'}"
    return names


def _default_text(param: Any) -> str | None:
    value = param.default
    if value is None or value is False or value == () or value == [] or param.is_flag or not param.show_default:
        return None
    return str(getattr(value, "value", value))


def _format_help_text(help_text: str | None, formatter: Any) -> None:
    """Paragraphs wrapped to the width; ``Example:`` lines kept as written so they can be copied."""
    text = inspect.cleandoc(help_text or "").partition("\f")[0]
    if not text:
        return
    formatter.write_paragraph()
    with formatter.indentation():
        for number, block in enumerate(text.split("\n\n")):
            if number:
                formatter.write("\n")
            if block.startswith(_EXAMPLE_PREFIXES):
                label, _, rest = block.partition(":")
                formatter.write(f"{'':>{formatter.current_indent}}{label}:\n")
                for line in rest.strip().splitlines():
                    formatter.write(f"{'':>{formatter.current_indent + 2}}{line.strip()}\n")
            else:
                formatter.write_text(block)


def _format_params(command: Any, ctx: Any, formatter: Any) -> None:
    arguments, options = [], []
    for param in command.get_params(ctx):
        if getattr(param, "hidden", False):
            continue
        if param.param_type_name == "argument":
            shown = argument_usage(param).replace("[", "").replace("]", "")
            arguments.append((shown, param.help or ""))
            continue
        help_text = param.help or ""
        default = _default_text(param)
        if default:
            help_text += f"  [default: {default}]"
        if param.required:
            help_text += "  [required]"
        options.append((option_names(param), help_text))
    if arguments:
        with formatter.section("Arguments"):
            formatter.write_dl(arguments)
    if options:
        with formatter.section("Options"):
            formatter.write_dl(options)


def _set_output_option(ctx: Any, param: Any, value: Any) -> Any:
    """``--color``/``--no-pager`` given after a command's name: the same as before it."""
    from ._context import AppContext

    app_ctx = ctx.find_root().obj
    if isinstance(app_ctx, AppContext) and value:
        if param.name == "color":
            app_ctx.color = str(getattr(value, "value", value))
        else:
            app_ctx.pager = False
    return value


def _output_params() -> list[Any]:
    """``--color WHEN`` and ``--no-pager`` as parameters every command accepts (built by typer from
    the same Annotated options the root uses, so both places mean the same)."""
    holder = typer.Typer(add_completion=False)

    @holder.command()
    def options(color: ColorOpt = None, no_pager: NoPagerOpt = False) -> None:
        """Not a command: it only builds the two options."""

    params = list(typer.main.get_command(holder).params)
    for param in params:
        param.expose_value = False
        param.callback = _set_output_option
    return params


class Command(TyperCommand):
    """One command, with the help conventions above, taking ``--color`` and ``--no-pager`` too."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params = [*self.params, *_output_params()]

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except IncidentKitError as exc:  # the root's fallback hint names this command's --help
            exc.command = ctx.command_path  # type: ignore[attr-defined]
            raise

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        pieces += [argument_usage(p) for p in self.get_params(ctx) if p.param_type_name == "argument"]
        return pieces

    def format_help_text(self, ctx: Any, formatter: Any) -> None:
        _format_help_text(self.help, formatter)

    def format_options(self, ctx: Any, formatter: Any) -> None:
        _format_params(self, ctx, formatter)


class Group(TyperGroup):
    """A command group (``actionables``, ``timeline``...): alone, it prints its help and exits 0."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if not args and not ctx.resilient_parsing:
            typer.echo(ctx.get_help())
            ctx.exit(0)
        return super().parse_args(ctx, args)

    def format_help_text(self, ctx: Any, formatter: Any) -> None:
        _format_help_text(self.help, formatter)

    def format_options(self, ctx: Any, formatter: Any) -> None:
        _format_params(self, ctx, formatter)
        self.format_commands(ctx, formatter)

    def summaries(self, ctx: Any) -> list[tuple[str, str]]:
        return [
            (name, command.get_short_help_str(200))
            for name in self.list_commands(ctx)
            if (command := self.get_command(ctx, name)) is not None and not command.hidden
        ]

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        rows = self.summaries(ctx)
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


class CommandGroup(Group):
    """A group that is a command too (``incidents stats`` runs; ``incidents stats publish`` also)."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        return TyperGroup.parse_args(self, ctx, args)


class LazyGroup(Group):
    """The root: commands named in ``lazy`` (name -> (module, summary)) are imported when run.

    ``incidentkit --help`` lists the summaries without importing any command module, which is what
    keeps start-up close to the interpreter's.
    """

    lazy: Mapping[str, tuple[str, str]] = {}
    package = "incidentkit.cli"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._loaded: dict[str, Any] = {}

    def list_commands(self, ctx: Any) -> list[str]:
        return [*self.lazy, *(name for name in self.commands if name not in self.lazy)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        if cmd_name not in self.lazy:
            return None
        if cmd_name not in self._loaded:
            module = importlib.import_module(f"{self.package}.{self.lazy[cmd_name][0]}")
            command = typer.main.get_command(module.app)
            command.name = cmd_name
            self._loaded[cmd_name] = command
        return self._loaded[cmd_name]

    def summaries(self, ctx: Any) -> list[tuple[str, str]]:
        rows = [(name, summary) for name, (_, summary) in self.lazy.items()]
        rows += [(name, cmd.get_short_help_str(200)) for name, cmd in self.commands.items() if not cmd.hidden]
        return rows


class App(typer.Typer):
    """A typer app whose commands and groups use the classes above (help conventions, no rich)."""

    def __init__(self, *, help: str, cls: type[TyperGroup] = Group, **kwargs: Any) -> None:
        kwargs.setdefault("no_args_is_help", True)
        super().__init__(
            cls=cls,
            help=help,
            add_completion=kwargs.pop("add_completion", False),
            rich_markup_mode=None,
            pretty_exceptions_enable=False,
            context_settings={"help_option_names": ["-h", "--help"]},
            **kwargs,
        )

    def command(self, name: str | None = None, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        kwargs.setdefault("cls", Command)
        return super().command(name, **kwargs)
