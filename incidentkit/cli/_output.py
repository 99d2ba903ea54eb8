"""Everything a command prints on standard output: lists and documents as a table, JSON, JSON Lines,
CSV or Markdown, written as the rows come; the pager; colour; tables that fit the terminal.

The output contract (the README's "Output" section says the same to users):

* A **list** (``events``, ``actionables list``, ``timeline show``, ``sources list``...) is a table on
  a terminal and **JSON Lines** otherwise, or with ``--format json``: one JSON object per row, one
  row per line, with the fields the command documents. ``--format csv`` (a header, then rows) and
  ``--format markdown`` (a pipe table) are there too. Every format is written row by row, so memory
  does not grow with the number of rows. A summary line goes under the table on a terminal and to
  standard error otherwise, so piped output holds only the rows.
* A **document** (``scorecard show``, ``... stats``) is a table (or a few) on a terminal and **one
  JSON object**, indented by two spaces, otherwise.
* Colour and bold only where they can be seen: ``--color auto`` (the default) means standard
  output is a terminal, ``NO_COLOR`` is unset or empty and ``TERM`` is not ``dumb``;
  ``--color always|never`` overrides all that. With colour off not one escape sequence is written.
* On a terminal, long output goes through a pager: ``$INCIDENTKIT_PAGER``, else ``$PAGER``, else
  ``less -FRX`` (which quits at once when everything fits on one screen). ``--no-pager`` or an
  empty pager variable turns it off; output that is piped or redirected is never paged.
* A table fits the terminal's width (``$COLUMNS`` when set): free-text columns are cut with "…"
  down to their minimum width, then the least important columns are dropped, one at a time.
  Ids, dates and slugs are never cut. Text from sources cannot move the cursor or change colours:
  control characters in cells are shown as "�".

How a command uses it (this is all a new list command needs)::

    COLUMNS = (
        Column("slug"),                                     # KEEP: never cut
        Column("title", fit=Fit.TRUNCATE, min_width=16),    # cut with "…" when narrow
        Column("owner", drop=1),                            # dropped first when narrow
    )

    @app.command("list")
    def list_(ctx: typer.Context, fmt: FormatOpt = None) -> None:
        \"\"\"...\"\"\"
        output = get_context(ctx).output
        with output.rows(COLUMNS, fmt, fields=RECORD_FIELDS) as sink:
            for item in service.iter_items(store):        # an iterator: nothing is held
                sink.add(item.to_record(), highlight=item.is_late)
            sink.summary(plural(sink.count, "item"))

A document command calls ``output.document(payload, fmt, table=draw)`` where ``draw(output)``
prints the terminal view with :meth:`Output.table` (and :meth:`Output.line` for a title).
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TextIO

__all__ = [
    "Format",
    "Fit",
    "Column",
    "Output",
    "Sink",
    "OutputClosed",
    "fit_columns",
    "cell_width",
    "echo",
    "note",
    "progress",
]

SAMPLE_ROWS = 200  # rows read before a table's column widths are fixed; later rows stream through
GAP = 2  # spaces between table columns
HARD_MIN = 3  # the narrowest a cut column gets when nothing else can give way: "ab…"
ELLIPSIS = "…"
REPLACEMENT = "\N{REPLACEMENT CHARACTER}"

_SGR = {"bold": "1", "dim": "2", "red": "31", "green": "32"}
STYLES = {  # named styles commands use, as SGR parameters
    "header": "bold",
    "highlight": "red",  # rows that need attention (overdue actionables)
    "good": "green",
    "bad": "bold red",
    "dim": "dim",
    "match": "bold yellow",  # the words a search matched, inside a snippet
}
MARKS = ("\x02", "\x03")  # around the matched words of a MARKED column's text (a search snippet)


class Format(StrEnum):
    """The values of ``--format``."""

    TABLE = "table"
    JSON = "json"
    CSV = "csv"
    MARKDOWN = "markdown"


class Fit(StrEnum):
    """What a table column may do when the terminal is too narrow."""

    KEEP = "keep"  # never cut (ids, dates, slugs, short codes)
    TRUNCATE = "truncate"  # cut with "…" (titles, free text)
    WRAP = "wrap"  # wrapped onto more lines (long questions and notes)


@dataclass(frozen=True, slots=True)
class Column:
    """One table column: the record field it shows and how it behaves when space is short.

    ``drop`` = 0 means always shown; columns with ``drop`` > 0 are dropped, highest first, when the
    table cannot fit by cutting its TRUNCATE/WRAP columns down to their ``min_width``. ``styles``
    maps a cell's text to a style name of :data:`STYLES` (``{"no": "bad"}``). In a ``marked``
    column, text between :data:`MARKS` is shown in the "match" style (the markers take no room).
    """

    key: str
    header: str | None = None
    fit: Fit = Fit.KEEP
    drop: int = 0
    min_width: int = 12
    right: bool = False
    styles: Mapping[str, str] = field(default_factory=dict)
    marked: bool = False

    @property
    def title(self) -> str:
        return self.header if self.header is not None else self.key


class OutputClosed(Exception):
    """The reader went away (the pager was quit, ``| head`` had enough): stop quietly."""


def echo(text: str = "") -> None:
    """One plain line on standard output (messages of commands that change things)."""
    _write(sys.stdout, text + "\n")


def note(text: str) -> None:
    """One line on standard error (progress, counts, warnings): never part of the data."""
    _write(sys.stderr, text + "\n")


@contextmanager
def progress(label: str) -> Iterator[Callable[[int, int], None] | None]:
    """A ``(done, total)`` callback drawing a bar on standard error when it is a terminal; None
    elsewhere, so cron logs stay clean."""
    if not _isatty(sys.stderr):
        yield None
        return
    # lazy imports: rich's progress bar is heavy and only ever drawn on a terminal
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def _write(stream: TextIO, text: str) -> None:
    try:
        stream.write(text)
    except UnicodeEncodeError:  # a lone surrogate from a source: write it as a visible escape
        stream.write(text.encode("utf-8", "backslashreplace").decode("utf-8"))


def cell_width(text: str) -> int:
    """Terminal cells *text* takes: wide East Asian characters take two, combining marks none."""
    if text.isascii():
        return len(text)
    width = 0
    for char in text:
        if unicodedata.combining(char):
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


_CONTROL = {code: REPLACEMENT for code in (*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0))}
_CONTROL.update({ord("\t"): " ", ord("\n"): " ", ord("\r"): " "})


def cell_text(value: object, *, keep: Sequence[str] = ()) -> str:
    """A record value as one line of table text; control characters (but those in *keep*) cannot
    reach the terminal."""
    if value is None or value is False:
        return ""
    if value is True:
        return "yes"
    if isinstance(value, list | tuple):
        text = ", ".join(map(str, value))
    else:
        text = str(value)
    if keep:
        return text.translate({k: v for k, v in _CONTROL.items() if chr(k) not in keep})
    return text.translate(_CONTROL)


def _restyle(marked: str, shown: str, on: str, off: str) -> str:
    """*shown* (the unmarked text of *marked*, perhaps cut with "…") with the marked spans styled."""
    out, i, inside = [], 0, False
    for char in marked:
        if char in MARKS:
            inside = char == MARKS[0]
            out.append(on if inside else off)
        elif i < len(shown) and char == shown[i]:
            out.append(char)
            i += 1
        else:
            if out and out[-1] == on:  # the cut falls at the start of a match: leave the "…" plain
                out.pop()
                inside = False
            break
    if inside:
        out.append(off)
        inside = False
    out.append(shown[i:])
    return "".join(out).replace(on + off, "")


def _flat(value: object) -> object:
    """A value for one CSV/Markdown cell: lists joined with "; "."""
    return "; ".join(map(str, value)) if isinstance(value, list | tuple) else value


def _cut(text: str, width: int) -> str:
    """*text* in at most *width* cells, ending in "…" when it was cut."""
    if cell_width(text) <= width:
        return text
    kept, used = [], 0
    for char in text:
        size = cell_width(char)
        if used + size > width - 1:
            break
        kept.append(char)
        used += size
    return "".join(kept) + ELLIPSIS


def fit_columns(columns: Sequence[Column], natural: Sequence[int], width: int) -> list[int | None]:
    """The width of each column in a table *width* cells wide, ``None`` for a dropped column.

    Cut TRUNCATE/WRAP columns (widest first) down to their ``min_width``; when that is not enough,
    drop the column with the highest ``drop`` and try again with natural widths. With nothing left
    to drop, free text is cut further, to :data:`HARD_MIN` cells. KEEP columns are never narrower
    than their content: a table of them alone may be wider than the terminal.
    """
    shown = [True] * len(columns)
    droppable = sorted((i for i, c in enumerate(columns) if c.drop), key=lambda i: (-columns[i].drop, -i))
    while True:
        widths = list(natural)
        visible = [i for i in range(len(columns)) if shown[i]]
        excess = sum(widths[i] for i in visible) + GAP * (len(visible) - 1) - width
        flexible = [i for i in visible if columns[i].fit is not Fit.KEEP]
        floor = {i: min(columns[i].min_width, natural[i]) for i in flexible}
        slack = sum(natural[i] - floor[i] for i in flexible)
        if excess <= 0 or slack >= excess or not droppable:
            excess = _shrink(widths, flexible, floor, excess)
            if excess > 0:  # nothing left to drop: free text goes below its minimum
                _shrink(widths, flexible, {i: min(HARD_MIN, natural[i]) for i in flexible}, excess)
            return [widths[i] if shown[i] else None for i in range(len(columns))]
        shown[droppable.pop(0)] = False


def _shrink(widths: list[int], flexible: list[int], floor: Mapping[int, int], excess: int) -> int:
    """Take *excess* cells from the *flexible* columns, widest first, none below its *floor*;
    returns what could not be taken."""
    while excess > 0:
        wide = [i for i in flexible if widths[i] > floor[i]]
        if not wide:
            break
        top = max(widths[i] for i in wide)
        widest = [i for i in wide if widths[i] == top]
        second = max([widths[i] for i in wide if widths[i] < top] + [floor[i] for i in widest])
        step = min(excess, (top - second) * len(widest)) or 1
        for n, i in enumerate(widest):  # share the cut evenly among the widest columns
            cut = min(step // len(widest) + (1 if n < step % len(widest) else 0), widths[i] - floor[i])
            widths[i] -= cut
            excess -= cut
    return excess


class _Pager:
    """A pager process fed through a pipe; closing waits for the reader to quit it."""

    def __init__(self, command: str) -> None:
        env = dict(os.environ)
        env.setdefault("LESS", "FRX")  # as git does: quit if one screen, keep colours, no screen reset
        self.process = subprocess.Popen(command, shell=True, stdin=subprocess.PIPE, env=env)
        assert self.process.stdin is not None
        self.stream = io.TextIOWrapper(self.process.stdin, encoding="utf-8", errors="backslashreplace")

    def close(self) -> None:
        try:
            self.stream.close()
        except BrokenPipeError:
            pass
        while True:
            try:
                self.process.wait()
                return
            except KeyboardInterrupt:  # Ctrl-C reaches the pager too; it decides when to end
                continue


def pager_command(environ: Mapping[str, str]) -> str | None:
    """``$INCIDENTKIT_PAGER``, else ``$PAGER``, else ``less -FRX`` if installed; None for no pager."""
    for name in ("INCIDENTKIT_PAGER", "PAGER"):
        if name in environ:
            value = environ[name].strip()
            return None if value in ("", "cat") else value
    return "less -FRX" if shutil.which("less") else None


def color_wanted(choice: str, stream: TextIO, environ: Mapping[str, str]) -> bool:
    """``--color always|never|auto`` for *stream*; auto honours NO_COLOR and TERM=dumb."""
    if choice == "always":
        return True
    if choice == "never" or environ.get("NO_COLOR") or environ.get("TERM") == "dumb":
        return False
    return _isatty(stream)


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class Output:
    """Standard output for one invocation: the format, colour, pager and width decisions."""

    def __init__(self, *, color: str = "auto", pager: bool = True, environ: Mapping[str, str] | None = None) -> None:
        environ = os.environ if environ is None else environ
        self._stdout = sys.stdout
        self.terminal = _isatty(self._stdout)
        self.color = color_wanted(color, self._stdout, environ)
        self._pager_command = pager_command(environ) if pager and self.terminal else None
        self._pager: _Pager | None = None
        self._closed = False

    @property
    def width(self) -> int:
        """The terminal's width in cells (``$COLUMNS`` wins; 80 when it cannot be told)."""
        return max(20, shutil.get_terminal_size((80, 24)).columns)

    def format(self, fmt: Format | None) -> Format:
        """The chosen format: the user's, else a table on a terminal and JSON otherwise."""
        return fmt or (Format.TABLE if self.terminal else Format.JSON)

    def style(self, text: str, style: str | None) -> str:
        """*text* in the named style when colour is on (else exactly *text*)."""
        if not style or not text or not self.color:
            return text
        codes = ";".join(_SGR[word] for word in STYLES.get(style, style).split())
        return f"\x1b[{codes}m{text}\x1b[0m"

    # --- writing ------------------------------------------------------------------------------------

    def write(self, text: str) -> None:
        """Write to the pager on a terminal (started on first use), else to standard output."""
        if self._closed:
            raise OutputClosed
        if self._pager is None and self._pager_command is not None:
            self._pager = _Pager(self._pager_command)
        stream = self._pager.stream if self._pager is not None else self._stdout
        try:
            _write(stream, text)
        except BrokenPipeError as exc:
            self._closed = True
            raise OutputClosed from exc

    def line(self, text: str = "", style: str | None = None) -> None:
        self.write(self.style(text, style) + "\n")

    def close(self) -> None:
        """Flush, and wait for the pager to be quit; a reader that went away is not an error."""
        if self._pager is not None:
            pager, self._pager = self._pager, None
            pager.close()
            return
        if not self._closed:
            try:
                self._stdout.flush()
            except BrokenPipeError:
                self._closed = True
        if self._closed:  # stop Python from complaining about the dead pipe when it exits
            try:
                os.dup2(os.open(os.devnull, os.O_WRONLY), self._stdout.fileno())
            except (OSError, ValueError, io.UnsupportedOperation):
                pass

    # --- lists and documents -----------------------------------------------------------------------

    @contextmanager
    def rows(
        self,
        columns: Sequence[Column],
        fmt: Format | None,
        *,
        fields: Sequence[str] | None = None,
    ) -> Iterator[Sink]:
        """A sink for one list: rows are written as they are added (see the module docstring).

        *columns* is the terminal table; *fields* the CSV/Markdown columns (default: the table's).
        JSON Lines carries every field of each record.
        """
        sink = Sink(self, self.format(fmt), columns, list(fields or [c.key for c in columns]))
        yield sink
        sink.finish()

    def document(
        self,
        payload: Mapping[str, Any],
        fmt: Format | None,
        *,
        table: Callable[[Output], None],
        records: Sequence[tuple[Sequence[Mapping[str, Any]], Sequence[str]]] = (),
    ) -> None:
        """One document: *table* draws it on a terminal; JSON is *payload*; CSV/Markdown are the
        tables of *records* (rows and their fields), separated by an empty line."""
        chosen = self.format(fmt)
        if chosen is Format.TABLE:
            table(self)
        elif chosen is Format.JSON:
            self.write(json.dumps(payload, indent=2, ensure_ascii=False, default=str) + "\n")
        else:
            for number, (rows, fields) in enumerate(records or [([payload], list(payload))]):
                if number:
                    self.write("\n")
                with self.rows([Column(f) for f in fields], chosen) as sink:
                    for row in rows:
                        sink.add(row)

    def table(
        self,
        columns: Sequence[Column],
        records: Iterable[Mapping[str, Any]],
        *,
        highlight: Callable[[Mapping[str, Any]], bool] | None = None,
    ) -> None:
        """A whole table on the terminal (for documents; lists use :meth:`rows`)."""
        sink = Sink(self, Format.TABLE, columns, [c.key for c in columns])
        for record in records:
            sink.add(record, highlight=bool(highlight and highlight(record)))
        sink.finish()


class Sink:
    """Takes the rows of one list and writes them in the chosen format, as they come."""

    def __init__(self, output: Output, fmt: Format, columns: Sequence[Column], fields: list[str]) -> None:
        self.output = output
        self.format = fmt
        self.columns = list(columns)
        self.fields = fields
        self.count = 0
        self._sample: list[tuple[list[str], bool]] | None = [] if fmt is Format.TABLE else None
        self._widths: list[int | None] = []
        self._summary: str | None = None
        self._started = False
        self._buffer = io.StringIO()
        self._csv = csv.writer(self._buffer, lineterminator="\n")

    def add(self, record: Mapping[str, Any], *, highlight: bool = False) -> None:
        """One row. *highlight* marks a row that needs attention (shown in colour on a terminal)."""
        self.count += 1
        if self.format is Format.JSON:
            self.output.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
        elif self.format is Format.CSV:
            if not self._started:
                self._header()
            self._csv_row([_flat(record.get(k)) for k in self.fields])
        elif self.format is Format.MARKDOWN:
            if not self._started:
                self._header()
            self._markdown_row(record)
        else:
            cells = [cell_text(record.get(c.key), keep=MARKS if c.marked else ()) for c in self.columns]
            if self._sample is not None:
                self._sample.append((cells, highlight))
                if len(self._sample) >= SAMPLE_ROWS:
                    self._flush_sample()
            else:
                self._table_row(cells, highlight)

    def summary(self, text: str) -> None:
        """A line after the rows: under the table on a terminal, on standard error otherwise."""
        self._summary = text

    def finish(self) -> None:
        if self.format is Format.TABLE:
            self._flush_sample()
            if self._summary:
                self.output.line(self._summary)
        else:
            if not self._started and self.format is not Format.JSON:
                self._header()
            if self._summary:
                note(self._summary)

    # --- CSV and Markdown ---------------------------------------------------------------------------

    def _header(self) -> None:
        self._started = True
        if self.format is Format.CSV:
            self._csv_row(self.fields)
        else:
            self.output.write("| " + " | ".join(self.fields) + " |\n|" + "---|" * len(self.fields) + "\n")

    def _csv_row(self, values: Sequence[object]) -> None:
        self._csv.writerow(values)
        self.output.write(self._buffer.getvalue())
        self._buffer.seek(0)
        self._buffer.truncate()

    def _markdown_row(self, record: Mapping[str, Any]) -> None:
        cells = []
        for key in self.fields:
            value = _flat(record.get(key))
            text = "" if value is None else str(value)
            cells.append(text.replace("|", "\\|").replace("\r", " ").replace("\n", " "))
        self.output.write("| " + " | ".join(cells) + " |\n")

    # --- the terminal table -------------------------------------------------------------------------

    def _flush_sample(self) -> None:
        if self._sample is None:
            return
        sample, self._sample = self._sample, None
        natural = [
            max([cell_width(c.title)] + [cell_width(cells[i]) for cells, _ in sample])
            for i, c in enumerate(self.columns)
        ]
        self._widths = fit_columns(self.columns, natural, self.output.width)
        header = [c.title for c in self.columns]
        self._table_row(header, False, style="header")
        for cells, highlight in sample:
            self._table_row(cells, highlight)

    def _table_row(self, cells: list[str], highlight: bool, *, style: str | None = None) -> None:
        parts: list[list[str]] = []
        shown: list[tuple[Column, int]] = []
        for column, width, text in zip(self.columns, self._widths, cells, strict=True):
            if width is None:
                continue
            shown.append((column, width))
            if column.marked:
                plain = text.replace(MARKS[0], "").replace(MARKS[1], "")
                cut = _cut(plain, width) if column.fit is Fit.TRUNCATE else plain
                parts.append([text if cut == plain else _restyle(text, cut, *MARKS)])
            elif column.fit is Fit.WRAP and cell_width(text) > width:
                import textwrap  # lazy import: its regexes cost start-up time; only wrapped cells need it

                parts.append(textwrap.wrap(text, width, break_long_words=True) or [""])
            elif column.fit is Fit.TRUNCATE:
                parts.append([_cut(text, width)])
            else:
                parts.append([text])
        row_style = style or ("highlight" if highlight else None)
        for n in range(max(len(p) for p in parts) if parts else 0):
            rendered = []
            for (column, width), lines in zip(shown, parts, strict=True):
                text = lines[n] if n < len(lines) else ""
                if column.marked:
                    plain = text.replace(MARKS[0], "").replace(MARKS[1], "")
                    space = " " * max(0, width - cell_width(plain))
                    on, _, off = self.output.style("\0", "match").partition("\0")
                    styled = _restyle(text, plain, on, off) if on else plain
                    rendered.append(space + styled if column.right else styled + space)
                    continue
                space = " " * max(0, width - cell_width(text))
                styled = self.output.style(text, row_style or column.styles.get(text))
                rendered.append(space + styled if column.right else styled + space)
            self.output.write((" " * GAP).join(rendered).rstrip(" ") + "\n")
