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


def find_log_files(source: str | Path) -> list[Path]:
    """Resolve a file, a directory (recursively) or a glob into the log files it names.

    Raises:
        InputError: nothing exists there, or nothing in a known format.
    """
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
