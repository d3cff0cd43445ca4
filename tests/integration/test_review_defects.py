"""Defects a maintainer's review found, each through the path a user takes (CLI, stored runs)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import joblib
import pytest

from mlwatch.cli import main
from mlwatch.monthly.model import describe_model
from mlwatch.state import store
from tests.conftest import ROOT


def _run_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:
    code = main(["run", *args, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_missing_rate_fails_when_none_of_a_features_events_arrived(make_logs, tmp_path, capsys) -> None:
    logs = make_logs(users=300, renamed_login=("2026-05",))
    code, out = _run_json(
        capsys, "--logs", str(logs), "--reference", "2026-03", "--current", "2026-05", "--state", str(tmp_path / "s")
    )
    assert code == 1
    missing = {c["feature"]: c for c in out["checks"] if c["name"] == "missing_rate"}
    login = missing["login"]
    # Unknown for every user, not 0: the login events stopped arriving (renamed), which is not a measurement.
    assert (login["status"], login["value"], login["reference"]) == ("fail", 1.0, 0.0)
    assert "not measurements" in login["message"] and "user_login" in login["message"]
    assert {f: c["status"] for f, c in missing.items() if f != "login"} == {
        "view": "pass",
        "cart": "pass",
        "purchase": "pass",
    }
    # The model still sees 0, so the zero rate counts these users too.
    zero = next(c for c in out["checks"] if c["name"] == "zero_rate" and c["feature"] == "login")
    assert zero["value"] == 1.0


def test_the_summary_names_the_model_that_was_actually_fitted(make_logs, tmp_path, capsys) -> None:
    logs = make_logs(users=200)
    state = tmp_path / "s"
    _, out = _run_json(
        capsys, "--logs", str(logs), "--reference", "2026-03", "--current", "2026-04", "--state", str(state)
    )
    fitted = joblib.load(store.run_path(state, out["run_id"]) / "model.joblib").estimator
    assert out["model"]["kind"] == describe_model(fitted)
    assert "learning_rate=0.05" in out["model"]["kind"] and "max_iter=200" in out["model"]["kind"]


def test_editing_accounts_or_allowed_folders_does_not_make_stored_months_stale(make_logs, tmp_path, capsys) -> None:
    logs = make_logs(users=150)
    state, config = tmp_path / "s", tmp_path / "mlwatch.toml"
    config.write_text("[checks]\ndrift = 0.5\nprediction_drift = 0.5\n")
    args = ["backfill", "--logs", str(logs), "--reference", "2026-03", "--config", str(config), "--state", str(state)]
    assert main([*args, "--json"]) in (0, 1)
    first = json.loads(capsys.readouterr().out)
    assert [r["current_month"] for r in first["runs"]] == ["2026-04", "2026-05"]

    config.write_text(
        config.read_text() + '[auth]\napprovers = ["ana@example.com"]\n[logs]\nallowed = ["elsewhere"]\n'
        '[history]\ncompare = "reference"\n'
    )
    assert main([*args, "--json"]) == 0  # nothing ran: every stored month is still current
    again = json.loads(capsys.readouterr().out)
    assert again["runs"] == [] and [s["current_month"] for s in again["skipped"]] == ["2026-04", "2026-05"]

    config.write_text(config.read_text().replace("drift = 0.5\n", "drift = 0.4\n", 1))  # a threshold changes results
    assert main([*args, "--json"]) in (0, 1)
    rerun = json.loads(capsys.readouterr().out)
    assert [r["current_month"] for r in rerun["runs"]] == ["2026-04", "2026-05"]


def test_light_commands_do_not_load_the_engines(tmp_path: Path) -> None:
    """`runs`, `history`, `audit` and `user list` answer without importing DuckDB, scikit-learn or Evidently."""
    heavy = ("duckdb", "sklearn", "evidently", "pyarrow", "scipy")
    for command in (["runs"], ["history"], ["audit"], ["user", "list"]):
        result = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "mlwatch", *command, "--state", str(tmp_path / "s")],
            check=False, cwd=ROOT, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr[-500:]
        imported = {line.split("|")[-1].strip().split(".")[0] for line in result.stderr.splitlines() if "|" in line}
        assert not imported & set(heavy), (command, sorted(imported & set(heavy)))
