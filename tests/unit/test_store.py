"""State: SQLite in WAL mode, runs visible only when complete, immutable, audit append-only."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from mlwatch.checks.rules import CheckResult
from mlwatch.errors import StateError
from mlwatch.state import store
from tests.conftest import run_record


def _record(run_id: str = "2026-05-x") -> store.RunRecord:
    return run_record(run_id, rows_read=101, rows_rejected=1, started_by="cli")


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


def test_a_version_1_state_is_upgraded_in_place(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "mlwatch.db") as con:
        con.execute(
            "CREATE TABLE runs (run_id TEXT PRIMARY KEY, created_at TEXT NOT NULL, reference_month TEXT NOT NULL,"
            " current_month TEXT NOT NULL, logs TEXT NOT NULL, gate TEXT NOT NULL, fingerprint TEXT NOT NULL,"
            " config_json TEXT NOT NULL, users INTEGER NOT NULL, events INTEGER NOT NULL, rows_read INTEGER NOT NULL,"
            " rows_rejected INTEGER NOT NULL, duplicates INTEGER NOT NULL, started_by TEXT NOT NULL)"
        )
        con.execute(
            "INSERT INTO runs VALUES ('old', '2026-01-01', '2026-03', '2026-05', 'l', 'open', 'f', '{}', 1, 1, 1, 0, 0, 'cli')"
        )
        con.execute("PRAGMA user_version = 1")
    con.close()
    assert [r.run_id for r in store.list_runs(tmp_path)] == ["old"]
    assert store.get_run(tmp_path, "old").inputs_fingerprint == ""
    with sqlite3.connect(tmp_path / "mlwatch.db") as con:
        assert con.execute("PRAGMA user_version").fetchone()[0] == store.SCHEMA_VERSION
        tables = {row[0] for row in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"users", "signoffs", "revocations", "exports", "audit"} <= tables
