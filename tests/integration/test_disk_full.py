"""A run that cannot be stored (file too large, disk full) exits 2 with one line and stores nothing.

The scheduler reads exit 1 as "gate closed": a storage failure must never look like one. The limit is
real: the child process runs under RLIMIT_FSIZE with SIGXFSZ ignored, so its writes past the limit
fail with EFBIG as they would on a full disk.
"""

from __future__ import annotations

import resource
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from mlwatch.cli import main
from mlwatch.state import store
from tests.conftest import ROOT, run_args, run_record

MONTHS = ("2026-03", "2026-04", "2026-05")


def _limited(limit: int):
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def _run_limited(logs: Path, state: Path, limit: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mlwatch", *run_args(logs, "2026-05", state)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=_limited(limit),  # only resource limits and a signal disposition: safe before exec
        check=False,
    )


def _snapshot(state: Path) -> tuple[list[str], int, int, bytes]:
    with sqlite3.connect(state / store.DB_FILE) as con:
        runs = con.execute("SELECT count(*) FROM runs").fetchone()[0]
        audit = con.execute("SELECT count(*) FROM audit").fetchone()[0]
    con.close()
    return sorted(p.name for p in (state / "runs").iterdir()), runs, audit, (state / "mlwatch.head").read_bytes()


@pytest.fixture
def state(tmp_path: Path) -> Path:
    """A state with one stored run, so the key, the head and the audit trail exist."""
    folder = tmp_path / "state"
    store.save_run(folder, run_record("2026-04-x"), [], lambda d: (d / "summary.json").write_text("{}"))
    return folder


def test_artifacts_too_large_to_write_exit_2_with_one_line_and_nothing_stored(make_logs, state: Path) -> None:
    logs = make_logs(MONTHS, users=300, seed=3)
    before = _snapshot(state)
    # Above SQLite's 32 KiB shared-memory file, below the model and the Evidently report.
    result = _run_limited(logs, state, 200_000)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"mlwatch: error: {state / 'runs'}/2026-05-")
    assert "cannot store the run (File too large); free space or point --state elsewhere; nothing was stored" in (
        result.stderr
    )
    assert _snapshot(state) == before
    assert main(["verify", "--state", str(state)]) == 0


def test_a_database_write_past_the_limit_exits_2_with_one_line_and_nothing_stored(make_logs, state: Path) -> None:
    logs = make_logs(MONTHS, users=300, seed=3)
    limit = 6_000_000  # every artifact fits (the Evidently report is about 4 MB); the state's WAL does not
    reader = sqlite3.connect(state / store.DB_FILE, isolation_level=None)
    try:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM runs").fetchone()  # held open: the WAL cannot be reset
        padding = sqlite3.connect(state / store.DB_FILE, isolation_level=None)
        padding.execute("CREATE TABLE padding (data BLOB)")
        padding.execute("INSERT INTO padding VALUES (zeroblob(?))", [limit + 1_000_000])
        padding.close()
        assert (state / f"{store.DB_FILE}-wal").stat().st_size > limit
        before = _snapshot(state)
        result = _run_limited(logs, state, limit)
    finally:
        reader.close()
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"mlwatch: error: {state / store.DB_FILE}: cannot store the run (")
    assert result.stderr.rstrip().endswith("free space or point --state elsewhere; nothing was stored")
    assert _snapshot(state) == before


def test_an_unexpected_error_is_one_line_and_exit_2(state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with sqlite3.connect(state / store.DB_FILE) as con:  # a row no release writes: its config is not JSON
        con.execute("DROP TRIGGER runs_no_update")
        con.execute("UPDATE runs SET config_json = '{'")
    con.close()
    assert main(["runs", "--state", str(state)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mlwatch: error: unexpected JSONDecodeError: ") and err.count("\n") == 1
    assert "please report it" in err
