"""Month-to-date partials kept with the state: each log file's ingest figures and each day's aggregates.

Layout, outside the runs' hashed artifacts::

    <state>/partials/<digest>/           one folder per logs location and reading config (``partials_root``)
        manifest.json                    what is current: a record per log file and per day
        batches/<id>/                    what one run wrote (Parquet, ``ingest/days.py`` says what)
        lock                             held while a run reads or writes the folder

A run writes its new files into a fresh batch folder, then replaces ``manifest.json`` atomically
(written beside it, flushed, renamed): the manifest is the commit point. A run that dies or fills
the disk before that leaves a batch nobody refers to, removed by the next commit; the previous
manifest and the batches it names stay as they were. A manifest that cannot be read (or of another
format) counts as none: every day is read again from the logs, which gives the same results.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mlwatch.errors import StateError

FORMAT = 1  # of the manifest and the batches: another format is not read (every day is read again)
MANIFEST = "manifest.json"
BATCHES = "batches"


@dataclass(frozen=True)
class FileRecord:
    """One log file as last read: its identity and its ingest figures (rows and rejects are per file)."""

    identity: str  # path, size and modification time; a store object's URL, size and ETag
    batch: str  # the batch holding its reject sample and the rows that tell a renamed field
    rows: int
    rejected: dict[str, int]  # reason -> rows
    present: list[int] | None  # JSON files: parsed rows, and how many carry user id, event, timestamp
    days: list[str]  # the days (YYYY-MM-DD) of its valid rows


@dataclass(frozen=True)
class DayRecord:
    """One day's aggregates over every file, after de-duplication across all files."""

    batch: str
    events: int  # valid events kept
    duplicates: int  # valid rows of the day dropped as repeated event ids
    ids: bool  # whether the day has event ids (its hashes are kept in ``ids``)


@dataclass(frozen=True)
class Partials:
    """The current partials of one logs location and reading config."""

    root: Path
    files: dict[str, FileRecord] = field(default_factory=dict)
    days: dict[str, DayRecord] = field(default_factory=dict)

    def batch(self, batch: str) -> Path:
        """The folder of a batch."""
        return self.root / BATCHES / batch

    def day_path(self, day: str, kind: str) -> str:
        """The Parquet files of one kind (``users``, ``hours``, ``ids``) of a day, as a glob."""
        return str(self.batch(self.days[day].batch) / kind / f"part={day}" / "*.parquet")


def partials_root(state: str | Path, key: dict[str, Any]) -> Path:
    """The folder of the partials of ``key`` (the logs location and everything that changes what is read)."""
    digest = hashlib.sha256(json.dumps({"format": FORMAT, **key}, sort_keys=True).encode()).hexdigest()[:32]
    return Path(state) / "partials" / digest


@contextlib.contextmanager
def locked(root: Path) -> Iterator[Partials]:
    """Hold the partials of ``root`` for one run (a scheduled run and a browser run wait for each other).

    Raises:
        StateError: the folder cannot be created.
    """
    try:
        root.mkdir(parents=True, exist_ok=True)
        handle = (root / "lock").open("a")
    except OSError as exc:
        raise _state_error(root, exc) from exc
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield load(root)
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def load(root: Path) -> Partials:
    """The partials the manifest names; none when it is missing, unreadable or of another format."""
    try:
        data = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
        if data.get("format") != FORMAT:
            return Partials(root)
        files = {name: FileRecord(**record) for name, record in data["files"].items()}
        days = {day: DayRecord(**record) for day, record in data["days"].items()}
    except (OSError, ValueError, TypeError, KeyError):
        return Partials(root)
    return Partials(root, files, days)


def new_batch(root: Path) -> tuple[str, Path]:
    """A fresh, empty batch folder (nothing refers to it until ``commit``).

    Raises:
        StateError: it cannot be created.
    """
    name = uuid.uuid4().hex
    path = root / BATCHES / name
    try:
        path.mkdir(parents=True)
    except OSError as exc:
        raise _state_error(root, exc) from exc
    return name, path


def commit(partials: Partials) -> None:
    """Make ``partials`` the current ones (one atomic rename), then remove the batches no record names.

    Raises:
        StateError: the manifest cannot be written (the previous one stays current).
    """
    root = partials.root
    data = {
        "format": FORMAT,
        "files": {name: asdict(record) for name, record in sorted(partials.files.items())},
        "days": {day: asdict(record) for day, record in sorted(partials.days.items())},
    }
    temporary = root / f".{MANIFEST}.{uuid.uuid4().hex}"
    try:
        with temporary.open("w", encoding="utf-8") as handle:
            json.dump(data, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, root / MANIFEST)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise _state_error(root, exc) from exc
    used = {r.batch for r in partials.files.values()} | {r.batch for r in partials.days.values()}
    for folder in (root / BATCHES).iterdir():
        if folder.name not in used:
            shutil.rmtree(folder, ignore_errors=True)


def discard(root: Path, batch: str) -> None:
    """Remove a batch that was not committed."""
    shutil.rmtree(root / BATCHES / batch, ignore_errors=True)


def write_error(folder: Path, exc: Exception) -> StateError:
    """The error of a batch file that could not be written (a disk full, a folder not writable)."""
    return _state_error(folder, exc)


def _state_error(root: Path, exc: Exception) -> StateError:
    reason = getattr(exc, "strerror", None) or str(exc).splitlines()[0]
    return StateError(
        f"{root}: cannot keep the month-to-date partials ({reason}); free space or point --state "
        "elsewhere; the previous partials are unchanged",
        path=str(root),
    )
