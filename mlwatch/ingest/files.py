"""Which files a logs path names, their format, and the fingerprint of what a run read (no engine here)."""

from __future__ import annotations

import glob
import hashlib
import json
from pathlib import Path
from typing import Any

from mlwatch.errors import InputError

JSON_SUFFIXES = (".jsonl", ".json", ".ndjson")
CSV_SUFFIXES = (".csv",)
PARQUET_SUFFIXES = (".parquet",)


def find_log_files(source: str | Path, within: tuple[Path, ...] | None = None) -> list[Path]:
    """Resolve a file, a directory (recursively) or a glob into the log files it names.

    Args:
        within: for a run started from the browser, the real folders it may read: every file
            found is resolved (links followed) and must lie inside one of them; the files are then
            returned by their real paths. None (the command line): links are followed freely, as
            a shell user may read those files anyway.

    Raises:
        InputError: nothing exists there, nothing in a known format, or a file outside ``within``.
    """
    files = _log_files(source)
    return files if within is None else [_inside(path, within) for path in files]


def _inside(path: Path, within: tuple[Path, ...]) -> Path:
    real = path.resolve()
    if any(real == folder or real.is_relative_to(folder) for folder in within):
        return real
    raise InputError(
        f"{path}: links to a file outside the log folders this dashboard may read; nothing was read. "
        "Remove the link, or ask an administrator to add the file's folder to [logs] allowed",
        path=str(path),
        key="logs.allowed",
    )


def _log_files(source: str | Path) -> list[Path]:
    text = str(source)
    path = Path(text)
    if path.is_file():
        if format_of(path) is None:
            raise InputError(
                f"{path}: unknown log format; use .jsonl, .json, .ndjson, .csv (optionally .gz) or .parquet"
            )
        return [path]
    if path.is_dir():
        candidates = [p for p in sorted(path.rglob("*")) if p.is_file()]
    elif glob.has_magic(text):
        candidates = [Path(p) for p in sorted(glob.glob(text, recursive=True)) if Path(p).is_file()]
    else:
        raise InputError(f"{path}: no such file or directory; pass --logs an existing file, directory or glob")
    files = [p for p in candidates if format_of(p) and not p.name.startswith(".")]
    if not files:
        raise InputError(f"{path}: no log files found (.jsonl, .json, .ndjson, .csv, optionally .gz, or .parquet)")
    return files


def format_of(path: Path) -> str | None:
    """``json``, ``csv`` or ``parquet`` from the file name (``.gz`` for the text formats), else None."""
    name = path.name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
        if name.endswith(PARQUET_SUFFIXES):
            return None
    if name.endswith(JSON_SUFFIXES):
        return "json"
    if name.endswith(CSV_SUFFIXES):
        return "csv"
    if name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    return None


def input_fingerprint(logs: str, config: dict[str, Any]) -> str:
    """Hash what a run read: its config and each log file's path, size and modification time.

    A sign-off is bound to it: a changed log file refuses the export of a signed-off run.

    Raises:
        InputError: the logs cannot be listed any more.
    """
    digest = hashlib.sha256()
    digest.update(json.dumps(config, sort_keys=True).encode())
    for path in find_log_files(logs):
        info = path.stat()
        digest.update(f"{path.resolve()}\0{info.st_size}\0{info.st_mtime_ns}\n".encode())
    return digest.hexdigest()
