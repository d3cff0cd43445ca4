"""The input fingerprint a sign-off is bound to: content hashes now, stat-only hashes of earlier runs still checked."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from mlwatch.ingest.files import input_fingerprint, inputs_unchanged

CONFIG = {"columns": {"user_id": "user_id"}}


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    folder = tmp_path / "logs"
    folder.mkdir()
    (folder / "a.jsonl").write_text('{"user_id": "u1", "event": "purchase", "timestamp": "2026-05-03"}\n')
    (folder / "b.csv").write_text("user_id,event,timestamp\nu2,item_view,2026-05-04\n")
    return folder


def _stat_only(logs: Path) -> str:
    """What releases before sha256-v2 recorded."""
    digest = hashlib.sha256(json.dumps(CONFIG, sort_keys=True).encode())
    for path in sorted(logs.rglob("*.*")):
        info = path.stat()
        digest.update(f"{path.resolve()}\0{info.st_size}\0{info.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _same_size_edit(path: Path) -> None:
    before = path.stat()
    path.write_bytes(path.read_bytes().replace(b"u1", b"u7"))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


def test_a_new_fingerprint_names_its_method(logs: Path) -> None:
    method, _, digest = input_fingerprint(str(logs), CONFIG).partition(":")
    assert method == "sha256-v2" and len(digest) == 64


def test_a_same_size_edit_with_the_time_restored_is_seen(logs: Path) -> None:
    recorded = input_fingerprint(str(logs), CONFIG)
    _same_size_edit(logs / "a.jsonl")
    assert not inputs_unchanged(recorded, str(logs), CONFIG)


def test_new_times_on_the_same_bytes_change_nothing(logs: Path) -> None:
    recorded = input_fingerprint(str(logs), CONFIG)
    os.utime(logs / "b.csv", (1, 1))
    assert inputs_unchanged(recorded, str(logs), CONFIG)


def test_the_config_is_part_of_it(logs: Path) -> None:
    recorded = input_fingerprint(str(logs), CONFIG)
    assert not inputs_unchanged(recorded, str(logs), {**CONFIG, "features": {"x": ["y"]}})


def test_a_stat_only_fingerprint_of_an_earlier_release_is_checked_its_own_way(logs: Path) -> None:
    recorded = _stat_only(logs)
    assert inputs_unchanged(recorded, str(logs), CONFIG)
    with (logs / "b.csv").open("a") as handle:
        handle.write("u3,item_view,2026-05-05\n")
    assert not inputs_unchanged(recorded, str(logs), CONFIG)


@pytest.mark.parametrize("recorded", ["", "sha256-v3:" + "0" * 64, "not a fingerprint"])
def test_no_fingerprint_or_an_unknown_method_never_matches(logs: Path, recorded: str) -> None:
    assert not inputs_unchanged(recorded, str(logs), CONFIG)
