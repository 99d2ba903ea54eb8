"""Reading log files for the log-based alert sources (``icinga``, ``irc``, Alertmanager webhook logs).

A configured ``path`` is one file or a folder (searched recursively). From a folder only the files
that can hold the window are read: a file whose name carries a date (``20160728.txt``,
``#wikimedia-operations.2023-02-14.log``, ``icinga-02-15-2023-00.log``) is read when that date lies
within a day of the window; a file without a date in its name is always read. Compressed files
(``.gz``, ``.bz2``, ``.xz``, ``.zst``) are not read; the caller is told which were skipped.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import date, timedelta
from pathlib import Path

from ..config import LogFileSettings
from ..errors import SourceError
from ..model.source import Export, LineExport, LineFile, Query
from ..model.window import Window

__all__ = ["name_date", "find_log_files", "read_log_files", "file_lines", "line_files", "describe_logs", "LogFileSource"]

_YMD = re.compile(r"(?<!\d)(\d{4})[-_.]?(\d{2})[-_.]?(\d{2})(?!\d)")
_MDY = re.compile(r"(?<!\d)(\d{2})-(\d{2})-(\d{4})(?!\d)")  # icinga archives: icinga-MM-DD-YYYY-HH.log
COMPRESSED = (".gz", ".bz2", ".xz", ".zst", ".zip")


def name_date(name: str) -> date | None:
    """The date a log file's name carries, if any (``YYYYMMDD``, ``YYYY-MM-DD`` or Icinga's ``MM-DD-YYYY``)."""
    base = Path(name).name
    for pattern, order in ((_MDY, (2, 0, 1)), (_YMD, (0, 1, 2))):
        for match in pattern.finditer(base):
            parts = match.groups()
            try:
                return date(int(parts[order[0]]), int(parts[order[1]]), int(parts[order[2]]))
            except ValueError:
                continue
    return None


def find_log_files(path_text: str, window: Window, *, source: str, setting: str) -> tuple[list[tuple[str, Path]], list[str]]:
    """The ``(name, path)`` of every log file under *path_text* that can hold *window*, and skipped names.

    Raises:
        SourceError: the path does not exist or holds no log for the window.
    """
    path = Path(path_text).expanduser()
    if not path.exists():
        raise SourceError(f"{source}: {path} does not exist", hint=f"check {setting}")
    if path.is_file():
        candidates = [path]
        root = path.parent
    else:
        root = path
        candidates = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
    first, last = window.start.date() - timedelta(days=1), window.end.date() + timedelta(days=1)
    files: list[tuple[str, Path]] = []
    skipped: list[str] = []
    for candidate in candidates:
        name = str(candidate.relative_to(root))
        day = name_date(candidate.name)
        if day is not None and not first <= day <= last and candidate != path:
            continue
        if candidate.name.endswith(COMPRESSED):
            skipped.append(name)
            continue
        files.append((name, candidate))
    if not files and not skipped:
        raise SourceError(
            f"{source}: {path} holds no log for {window.start:%Y-%m-%d}..{window.end:%Y-%m-%d}",
            hint=f"check {setting}; log files named by date are read only near the window",
        )
    return files, skipped


def _unreadable(source: str, path: Path, setting: str, exc: Exception) -> SourceError:
    if isinstance(exc, UnicodeDecodeError):
        return SourceError(f"{source}: {path} is not UTF-8 text", hint=f"decompress or convert it; check {setting}")
    return SourceError(f"{source}: cannot read {path}: {getattr(exc, 'strerror', None) or exc}", hint=f"check {setting}")


def read_log_files(path_text: str, window: Window, *, source: str, setting: str) -> tuple[tuple[tuple[str, str], ...], list[str]]:
    """The ``(name, text)`` of every log file under *path_text* that can hold *window*, and skipped names.

    Raises:
        SourceError: the path does not exist, holds no readable log, or a file is not UTF-8 text.
    """
    found, skipped = find_log_files(path_text, window, source=source, setting=setting)
    files: list[tuple[str, str]] = []
    for name, path in found:
        try:
            files.append((name, path.read_text(encoding="utf-8")))
        except (UnicodeDecodeError, OSError) as exc:
            raise _unreadable(source, path, setting, exc) from exc
    return tuple(files), skipped


def file_lines(path: Path, *, error: Callable[[Exception], Exception]) -> Iterator[str]:
    """The lines of a UTF-8 text file as ``str.splitlines()`` gives them from its text, read one
    by one (memory holds one line, never the file). Decoding and reading errors go through *error*."""
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            for raw in handle:
                yield from raw.splitlines()  # also splits at \v, \f, U+2028... as splitlines() does
    except (UnicodeDecodeError, OSError) as exc:
        raise error(exc) from exc


def line_files(named: Iterable[tuple[str, Path]], error: Callable[[Path, Exception], Exception]) -> tuple[LineFile, ...]:
    """Each ``(name, path)`` as a :class:`LineFile` that reads the file afresh on every call."""
    return tuple(
        LineFile(name, functools.partial(file_lines, path, error=functools.partial(error, path))) for name, path in named
    )


def describe_logs(path_text: str, *, source: str, setting: str) -> str:
    """``N log file(s) under PATH`` for ``sources check``. Raises SourceError when there is nothing to read."""
    path = Path(path_text).expanduser()
    if not path.exists():
        raise SourceError(f"{source}: {path} does not exist", hint=f"check {setting}")
    count = 1 if path.is_file() else sum(1 for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
    if not count:
        raise SourceError(f"{source}: {path} holds no files", hint=f"check {setting}")
    return f"{count} log file(s) under {path}"


class LogFileSource:
    """A source that reads log files at ``[<name>] path``: the Icinga main log, IRC channel logs.

    Subclasses set ``name`` and ``what`` (the kind of path, for hints) and parse the files.
    """

    name = ""
    what = "a log file or a folder of them"

    def __init__(self, settings: LogFileSettings) -> None:
        self.settings = settings

    def _require_path(self) -> str:
        if not self.settings.path:
            raise SourceError(
                f"{self.name}: no path is configured",
                hint=f"set path ({self.what}) in [{self.name}], or give --input {self.name}=FILE",
            )
        return self.settings.path

    def pull(self, query: Query) -> Export:
        """Read the log files that can hold the window. Raises SourceError."""
        path = self._require_path()
        files, skipped = read_log_files(path, query.window, source=self.name, setting=f"[{self.name}] path")
        return Export(self.name, files, {"path": path, "skipped_files": skipped})

    def open_lines(self, query: Query) -> LineExport:
        """:meth:`pull` for a streaming parse: the same files, opened to be read line by line."""
        path = self._require_path()
        setting = f"[{self.name}] path"
        found, skipped = find_log_files(path, query.window, source=self.name, setting=setting)
        files = line_files(found, lambda file, exc: _unreadable(self.name, file, setting, exc))
        return LineExport(self.name, files, {"path": path, "skipped_files": skipped})

    def check(self) -> str:
        """For ``sources check``: the configured path exists and holds log files. Raises SourceError."""
        return describe_logs(self._require_path(), source=self.name, setting=f"[{self.name}] path")
