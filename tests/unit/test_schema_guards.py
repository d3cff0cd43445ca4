"""A run's results cannot be edited or deleted, in a new state and in a state upgraded from version 3."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from mlwatch.checks.rules import CheckResult
from mlwatch.state import store
from tests.conftest import ROOT, run_record

STATEMENTS = [
    ("UPDATE runs SET gate = 'open'", "immutable"),
    ("DELETE FROM runs", "immutable"),
    ("UPDATE checks SET status = 'pass'", "immutable"),
    ("DELETE FROM checks", "immutable"),
    ("UPDATE audit SET actor = 'x'", "append-only"),
    ("DELETE FROM audit", "append-only"),
    ("UPDATE signoffs SET approver = 'x'", "append-only"),
    ("DELETE FROM signoffs", "append-only"),
    ("UPDATE exports SET rows = 0", "append-only"),
    ("DELETE FROM performance", "append-only"),
]


def _new_state(tmp_path: Path) -> Path:
    record = run_record()
    checks = [CheckResult("zero_rate", "login", "fail", 1.0, 0.1, 0.2, "Login count is 0 for 100% of users.")]
    store.save_run(tmp_path, record, checks, lambda folder: None)
    with store.transaction(tmp_path) as con:  # one row in each append-only table, so its triggers have rows to guard
        con.execute(
            "INSERT INTO signoffs (run_id, fingerprint, approver, reason, accepted_json, via, at)"
            " VALUES ('2026-05-x', 'f', 'ann', 'r', '[]', 'cli', 't')"
        )
        con.execute(
            "INSERT INTO exports (run_id, actor, at, rows, control_rows, holdout, seed, checksum, file, groups_file)"
            " VALUES ('2026-05-x', 'mia', 't', 10, 1, 0.1, 0, 'c', 'f', 'g')"
        )
        con.execute(
            "INSERT INTO performance (run_id, actuals_month, computed_at, metrics_json) VALUES ('2026-05-x', '2026-06', 't', '{}')"
        )
    return tmp_path


def _upgraded_v3(tmp_path: Path) -> Path:
    state = tmp_path / "state"
    shutil.copytree(ROOT / "tests" / "fixtures" / "state_v3", state)
    assert len(store.list_runs(state)) == 3  # opening upgrades it
    return state


@pytest.mark.parametrize("make_state", [_new_state, _upgraded_v3], ids=["new", "upgraded-v3"])
@pytest.mark.parametrize(("statement", "message"), STATEMENTS, ids=[s for s, _ in STATEMENTS])
def test_results_and_records_refuse_update_and_delete(tmp_path: Path, make_state, statement: str, message: str) -> None:
    state = make_state(tmp_path)
    con = sqlite3.connect(state / store.DB_FILE)
    try:
        before = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("runs", "checks")}
        with pytest.raises(sqlite3.IntegrityError, match=message):
            con.execute(statement)
        con.rollback()
        assert {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("runs", "checks")} == before
        assert con.execute("SELECT count(*) FROM checks WHERE status = 'fail'").fetchone()[0] >= 1
    finally:
        con.close()


def test_an_upgraded_state_is_at_the_current_schema_version(tmp_path: Path) -> None:
    state = _upgraded_v3(tmp_path)
    with sqlite3.connect(state / store.DB_FILE) as con:
        assert con.execute("PRAGMA user_version").fetchone()[0] == store.SCHEMA_VERSION == 5
    con.close()
