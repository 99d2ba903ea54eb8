"""Saved pulls on disk: one folder per source export, read back by ``--input`` and ``--replay``."""

from __future__ import annotations

import json
from pathlib import Path

from ..config import shown_path
from ..errors import InputError
from ..model.source import Export, LineExport
from .logfiles import line_files

__all__ = ["META_FILE", "save_export", "load_export", "open_export_lines"]


META_FILE = "_export.json"


def save_export(export: Export, directory: Path) -> Path:
    """Write an export as ``DIR/<source>/<file>`` plus a small JSON manifest."""
    target = directory / export.source
    target.mkdir(parents=True, exist_ok=True)
    names = []
    for index, (name, body) in enumerate(export.files):
        safe = f"{index:03d}-" + "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
        (target / safe).write_text(body, encoding="utf-8")
        names.append({"file": safe, "name": name})
    manifest = {"source": export.source, "files": names, "meta": export.meta}
    (target / META_FILE).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return target


def _export_files(source: str, path: Path) -> tuple[list[tuple[str, Path]], dict[str, object]]:
    """The ``(name, file)`` pairs and meta of a saved folder (with manifest), a plain folder or a file."""
    if not path.is_dir():
        if not path.exists():
            raise FileNotFoundError(path)
        return [(path.name, path)], {}
    manifest_file = path / META_FILE
    if manifest_file.exists():
        manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
        files = [(str(entry["name"]), path / Path(str(entry["file"])).name) for entry in manifest["files"]]
        meta = manifest.get("meta", {})
        return files, meta if isinstance(meta, dict) else {}
    files = [(child.name, child) for child in sorted(path.iterdir()) if child.is_file() and not child.name.startswith(".")]
    if not files:
        raise InputError(f"{source} input folder {shown_path(path)} holds no files", hint="point --input at saved files")
    return files, {}


def _unreadable(source: str, path: Path, exc: BaseException) -> InputError:
    if isinstance(exc, FileNotFoundError):
        return InputError(f"{source} input {shown_path(path)} does not exist", hint="check the path given to --input")
    if isinstance(exc, UnicodeDecodeError):
        return InputError(f"{source} input {shown_path(path)} is not UTF-8 text", hint="give a text export")
    reason = getattr(exc, "strerror", None) or f"{type(exc).__name__}: {exc}"
    return InputError(f"cannot read {source} input {shown_path(path)}: {reason}", hint="check the path given to --input")


_READ_ERRORS = (OSError, ValueError, KeyError, TypeError, AttributeError)  # UnicodeDecodeError is a ValueError


def load_export(source: str, path: Path) -> Export:
    """Read an export back: a saved folder (with manifest), a plain folder, or a single file.

    Raises InputError when the path is missing or unreadable.
    """
    try:
        files, meta = _export_files(source, path)
        return Export(source, tuple((name, file.read_text(encoding="utf-8")) for name, file in files), meta)
    except _READ_ERRORS as exc:
        raise _unreadable(source, path, exc) from exc


def open_export_lines(source: str, path: Path) -> LineExport:
    """:func:`load_export` for a streaming parse: the same files, to be read line by line.

    Raises InputError when the path is missing or unreadable (a file's text: when it is read).
    """
    try:
        files, meta = _export_files(source, path)
    except _READ_ERRORS as exc:
        raise _unreadable(source, path, exc) from exc
    return LineExport(source, line_files(files, lambda _file, exc: _unreadable(source, path, exc)), meta)
