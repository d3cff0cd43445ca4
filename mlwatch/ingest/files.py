"""Which files a logs path names, their format, and the fingerprint of what a run read (no engine here)."""

from __future__ import annotations

import contextlib
import glob
import gzip
import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from mlwatch.errors import InputError
from mlwatch.ingest.remote import ObjectPath, find_objects, inside, is_remote, matches

# A log file found: a local path, or an object in a store (``ingest/remote.py``).
LogFile = Path | ObjectPath

JSON_SUFFIXES = (".jsonl", ".json", ".ndjson")
CSV_SUFFIXES = (".csv",)
PARQUET_SUFFIXES = (".parquet",)
# The method of ``input_fingerprint``, written before the hash; older runs have a bare hash.
FINGERPRINT_VERSION = "sha256-v2"


def find_log_files(source: str | Path, within: tuple[Path | str, ...] | None = None) -> list[LogFile]:
    """Resolve a file, a directory (recursively) or a glob into the log files it names.

    An object-storage URL (``s3://bucket/prefix/``, ``gs://…``, ``az://…``) names objects the same way:
    one object, every object under a prefix, or a glob.

    Args:
        within: for a run started from the browser, the real folders (or store prefixes) it may read:
            every file found is resolved (links followed) and must lie inside one of them; the files are
            then returned by their real paths. None (the command line): links are followed freely, as
            a shell user may read those files anyway.

    Raises:
        InputError: nothing exists there, nothing in a known format, or a file outside ``within``.
    """
    if is_remote(source):
        objects = _log_objects(str(source))
        return objects if within is None else [_object_inside(o, within) for o in objects]
    files: list[LogFile] = list(_log_files(source))
    return files if within is None else [_inside(path, within) for path in files]  # type: ignore[arg-type]


def _log_objects(source: str) -> list[LogFile]:
    found = find_objects(source)
    if len(found) == 1 and found[0].url == source.rstrip("/") and not glob.has_magic(source):
        if format_of(found[0]) is None:
            raise InputError(
                f"{source}: unknown log format; use .jsonl, .json, .ndjson, .csv (optionally .gz) or .parquet",
                path=source,
            )
        return list(found)
    if glob.has_magic(source):
        found = [o for o in found if matches(o.url, source)]
    objects: list[LogFile] = [o for o in found if format_of(o) and not o.name.startswith(".")]
    if not objects:
        raise InputError(
            f"{source}: no log objects found (.jsonl, .json, .ndjson, .csv, optionally .gz, or .parquet)",
            path=source,
        )
    return objects


def _object_inside(obj: ObjectPath, within: tuple[Path | str, ...]) -> ObjectPath:
    if inside(obj.url, [str(root) for root in within if is_remote(root)]):
        return obj
    raise InputError(
        f"{obj.url}: outside the log prefixes this dashboard may read; nothing was read. "
        "Ask an administrator to add its prefix to [logs] allowed",
        path=obj.url,
        key="logs.allowed",
    )


def _inside(path: Path, within: tuple[Path | str, ...]) -> Path:
    within = tuple(Path(root) for root in within if not is_remote(root))
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


def format_of(path: LogFile) -> str | None:
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
    """Fingerprint what a run read: its config, each log file's path, size and SHA-256 of its content, and the
    team's model or scores (their files' SHA-256, or the MLflow model's uuid) when the run did not train its own.

    An object in a store is fingerprinted by its URL, size and version tag (S3 ETag, GCS generation,
    Azure ETag), which the store changes with the content, without reading it.

    A sign-off is bound to it: a changed log file refuses the export of a signed-off run, even an
    edit that keeps the size and restores the modification time. The modification time is not
    part of it, so copying the logs with new times (same path, same bytes) changes nothing.
    SHA-256 reads every byte once: about 0.3 s for 1M users' logs in Parquet (docs/BENCHMARKS.md).

    Returns:
        ``sha256-v2:`` then 64 hex digits (runs of earlier releases hold a bare stat-only hash).

    Raises:
        InputError: the logs cannot be listed or read any more.
    """
    digest = _config_digest(config)
    for path in find_log_files(logs):
        if isinstance(path, ObjectPath):
            digest.update(f"{path.fingerprint()}\n".encode())
        else:
            digest.update(f"{path.resolve()}\0{path.stat().st_size}\0{file_sha256(path)}\n".encode())
    return f"{FINGERPRINT_VERSION}:{digest.hexdigest()}"


def inputs_unchanged(
    recorded: str, logs: str, config: dict[str, Any], fingerprint: Callable[[str, dict[str, Any]], str] | None = None
) -> bool:
    """Whether the logs still match the fingerprint a run recorded, by the method that recorded it.

    A run of an earlier release recorded a stat-only hash (path, size, modification time): it is
    checked that way, so its sign-off still exports. A run without a fingerprint, or with a
    method this release does not know, never matches.

    Args:
        fingerprint: computes the current method's fingerprint (default ``input_fingerprint``).

    Raises:
        InputError: the logs cannot be listed or read any more.
    """
    if recorded.startswith(f"{FINGERPRINT_VERSION}:"):
        return (fingerprint or input_fingerprint)(logs, config) == recorded
    if len(recorded) == 64 and all(c in "0123456789abcdef" for c in recorded) and not is_remote(logs):
        return _stat_fingerprint(logs, config) == recorded
    return False


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes, read in chunks by OpenSSL.

    Raises:
        InputError: the file cannot be read.
    """
    try:
        with path.open("rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError as exc:
        raise InputError(
            f"{path}: cannot read the log file ({exc}); check that it is still there", path=str(path)
        ) from exc


def _config_digest(config: dict[str, Any]) -> Any:
    """A SHA-256 started with the run's config and, when the team's model or scores scored it, their digest
    (a changed model file refuses the export as a changed log file does)."""
    digest = hashlib.sha256()
    digest.update(json.dumps(config, sort_keys=True).encode())
    model = config.get("model", {})
    if model.get("kind", "builtin") != "builtin":
        from mlwatch.monthly.scorers import model_digest

        digest.update(f"model\0{model_digest(model)}\n".encode())
    return digest


def _stat_fingerprint(logs: str, config: dict[str, Any]) -> str:
    """The fingerprint of releases before ``sha256-v2``: path, size and modification time of each file."""
    digest = _config_digest(config)
    for path in find_log_files(logs):
        assert isinstance(path, Path)  # stores were read only by releases with sha256-v2
        info = path.stat()
        digest.update(f"{path.resolve()}\0{info.st_size}\0{info.st_mtime_ns}\n".encode())
    return digest.hexdigest()


@contextlib.contextmanager
def open_log_file(path: LogFile) -> Iterator[IO[bytes]]:
    """Open a log file or object for reading bytes, decompressing a ``.gz`` one; both are closed after.

    Raises:
        InputError: a store refused the object (a local file's OSError is left to the caller).
    """
    with path.open() if isinstance(path, ObjectPath) else path.open("rb") as raw:
        if not path.name.lower().endswith(".gz"):
            yield raw
            return
        with gzip.GzipFile(fileobj=raw, mode="rb") as unpacked:
            yield unpacked  # type: ignore[misc]
