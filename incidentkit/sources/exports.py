"""Saved pulls on disk: one folder per source export, read back by ``--input`` and ``--replay``."""

from __future__ import annotations

import json
from pathlib import Path

from ..config import shown_path
from ..errors import InputError
from ..model.source import Export

__all__ = ["META_FILE", "save_export", "load_export"]


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


def load_export(source: str, path: Path) -> Export:
    """Read an export back: a saved folder (with manifest), a plain folder, or a single file.

    Raises InputError when the path is missing or unreadable.
    """
    try:
        if path.is_dir():
            manifest_file = path / META_FILE
            if manifest_file.exists():
                manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
                files = tuple(
                    (str(entry["name"]), (path / Path(str(entry["file"])).name).read_text(encoding="utf-8"))
                    for entry in manifest["files"]
                )
                meta = manifest.get("meta", {})
                return Export(source, files, meta if isinstance(meta, dict) else {})
            files = tuple(
                (child.name, child.read_text(encoding="utf-8"))
                for child in sorted(path.iterdir())
                if child.is_file() and not child.name.startswith(".")
            )
            if not files:
                raise InputError(
                    f"{source} input folder {shown_path(path)} holds no files", hint="point --input at saved files"
                )
            return Export(source, files)
        return Export(source, ((path.name, path.read_text(encoding="utf-8")),))
    except FileNotFoundError as exc:
        raise InputError(f"{source} input {shown_path(path)} does not exist", hint="check the path given to --input") from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"{source} input {shown_path(path)} is not UTF-8 text", hint="give a text export") from exc
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        reason = getattr(exc, "strerror", None) or f"{type(exc).__name__}: {exc}"
        raise InputError(
            f"cannot read {source} input {shown_path(path)}: {reason}", hint="check the path given to --input"
        ) from exc
