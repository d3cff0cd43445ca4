"""DESIGN.md's story on the bundled sample logs, through the real ``python -m mlwatch`` command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, SAMPLE_LOGS, run_args


def _mlwatch(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mlwatch", *args], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )


def _run_sample(state: Path, current: str, *extra: str) -> subprocess.CompletedProcess[str]:
    """``mlwatch run --json`` on the sample logs, ``current`` against March 2026."""
    return _mlwatch(*run_args(SAMPLE_LOGS, current, state), *extra, "--json")


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("state")


def test_renamed_login_month_closes_the_gate(state: Path) -> None:
    result = _run_sample(state, "2026-05")
    assert result.returncode == 1, result.stderr
    run = json.loads(result.stdout)
    assert run["gate"] == "closed"
    zero_login = next(c for c in run["checks"] if c["name"] == "zero_rate" and c["feature"] == "login")
    assert zero_login["status"] == "fail" and zero_login["value"] == 1.0 and zero_login["reference"] < 0.2
    vocabulary = next(c for c in run["checks"] if c["name"] == "vocabulary")
    assert vocabulary["status"] == "fail"
    assert run["vocabulary"]["new"] == ["user_login_from_mobile", "user_login_from_pc"]
    assert run["vocabulary"]["missing"] == ["user_login"]
    assert run["vocabulary"]["suggested_feature"] == {"user_login_from_mobile": "login", "user_login_from_pc": "login"}
    # The sample's planted bad rows and re-sent events are counted exactly, not dropped silently.
    assert run["ingest"]["rows_rejected"] == 29
    assert run["ingest"]["rejected_by_reason"] == {"invalid_json": 8, "missing_user_id": 12, "bad_timestamp": 9}
    assert run["ingest"]["duplicates"] == 177
    # June is in the logs: the broken month's list is scored against what users really bought.
    assert run["model"]["actuals_month"] == "2026-06"


def test_mapping_the_new_names_to_login_opens_the_gate(state: Path, tmp_path: Path) -> None:
    text = (ROOT / "mlwatch.toml").read_text()
    config = tmp_path / "mapped.toml"
    config.write_text(
        text.replace('login = ["user_login"]', 'login = ["user_login", "user_login_from_mobile", "user_login_from_pc"]')
    )
    result = _run_sample(state, "2026-05", "--config", str(config))
    assert result.returncode == 0, result.stdout
    run = json.loads(result.stdout)
    vocabulary = next(c for c in run["checks"] if c["name"] == "vocabulary")
    assert vocabulary["status"] == "warn"  # user_login itself vanished, login still has events


def test_healthy_april_opens_the_gate_and_the_model_learns(state: Path) -> None:
    result = _run_sample(state, "2026-04")
    assert result.returncode == 0, result.stdout
    run = json.loads(result.stdout)
    assert all(c["status"] == "pass" for c in run["checks"])
    assert run["model"]["validation"]["r2"] > 0.2
    assert run["model"]["actual"]["r2"] > 0.1  # scored on May's real purchases


def test_bad_input_prints_one_line_and_exits_2(state: Path) -> None:
    result = _mlwatch(
        "run", "--logs", str(SAMPLE_LOGS), "--reference", "2026-03", "--current", "2026-09", "--state", str(state)
    )
    assert result.returncode == 2
    assert result.stdout == "" and len(result.stderr.strip().splitlines()) == 1
    assert "no events in 2026-09" in result.stderr
