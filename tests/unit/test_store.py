"""State: SQLite in WAL mode, runs visible only when complete, immutable, audit append-only."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from mlwatch import store
from mlwatch.checks import CheckResult
from mlwatch.errors import StateError


def _record(run_id: str = "2026-05-x") -> store.RunRecord:
    return store.RunRecord(
        run_id=run_id, created_at="2026-06-01T00:00:00+00:00", reference_month="2026-03", current_month="2026-05",
        logs="logs", gate="closed", fingerprint="f" * 64, config={"features": {}}, users=10, events=100,
        rows_read=101, rows_rejected=1, duplicates=0, started_by="cli",
    )


CHECKS = [CheckResult("zero_rate", "login", "fail", 1.0, 0.1, 0.2, "Login count is 0 for 100% of users")]


def test_saved_run_is_listed_with_its_checks_and_artifacts(tmp_path: Path) -> None:
    folder = store.save_run(tmp_path, _record(), CHECKS, lambda d: (d / "summary.json").write_text("{}"))
    assert (folder / "summary.json").exists() and folder == tmp_path / "runs" / "2026-05-x"
    assert [r.run_id for r in store.list_runs(tmp_path)] == ["2026-05-x"]
    assert store.get_checks(tmp_path, "2026-05-x") == CHECKS
    assert store.get_run(tmp_path, "2026-05-x").config == {"features": {}}
    with sqlite3.connect(tmp_path / "mlwatch.db") as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert [a["action"] for a in store.read_audit(tmp_path)] == ["run"]


def test_a_run_interrupted_while_writing_artifacts_leaves_nothing_visible(tmp_path: Path) -> None:
    def crash(folder: Path) -> None:
        (folder / "features.parquet").write_text("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        store.save_run(tmp_path, _record(), CHECKS, crash)
    assert store.list_runs(tmp_path) == []
    assert list((tmp_path / "runs").iterdir()) == []


def test_a_failed_database_write_removes_the_artifacts(tmp_path: Path) -> None:
    store.save_run(tmp_path, _record(), CHECKS, lambda d: None)
    with pytest.raises(StateError):
        store.save_run(tmp_path, _record(), CHECKS, lambda d: None)  # same id: the insert fails
    assert [p.name for p in (tmp_path / "runs").iterdir()] == ["2026-05-x"]


def test_runs_are_immutable_and_the_audit_trail_append_only(tmp_path: Path) -> None:
    store.save_run(tmp_path, _record(), CHECKS, lambda d: None)
    with sqlite3.connect(tmp_path / "mlwatch.db") as con:
        with pytest.raises(sqlite3.IntegrityError, match="immutable"):
            con.execute("UPDATE runs SET gate = 'open'")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            con.execute("DELETE FROM audit")


def test_unknown_run_and_unusable_state_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(StateError, match="no run 'nope'"):
        store.get_run(tmp_path, "nope")
    (tmp_path / "file").write_text("x")
    with pytest.raises(StateError, match="cannot open the state directory"):
        store.list_runs(tmp_path / "file")
