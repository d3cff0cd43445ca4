"""A run's [engine] and [drift] settings through the command line: stage timings, drift sample, spill and memory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlwatch.cli import main
from tests.conftest import SAMPLE_LOGS, run_args


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.toml"
    path.write_text(text)
    return path


def test_a_run_stores_its_stage_timings_histograms_and_drift_sample(make_logs, tmp_path: Path, capsys) -> None:
    logs = make_logs(users=1500, seed=2)
    config = _config(tmp_path, "[drift]\nsample_size = 1000\n")
    state = tmp_path / "state"
    code = main(
        [
            *run_args(logs, "2026-04", state),
            "--config",
            str(config),
            "--json",
        ]
    )
    run = json.loads(capsys.readouterr().out)
    assert code in (0, 1)
    summary = json.loads((state / "runs" / run["run_id"] / "summary.json").read_text())
    assert list(summary["seconds"]) == [
        "Reading the logs",
        "Aggregating the events per user and per hour",
        "Reading the event timeline",
        "Building the monthly features",
        "Training the model on the reference month",
        "Checking the current month against the reference month",
        "Estimating this month's error and ranking before its purchases are known",  # estimated_ranking joined it
        "Summarising: histograms and the fingerprints of the inputs",
        "Storing the run",
    ]
    assert all(seconds > 0 for seconds in summary["seconds"].values())
    users = summary["features"]["users"]
    assert summary["drift"]["sample"]["current"] == {"scored": 1000, "users": users}
    for feature in ("login", "view", "cart", "purchase", "prediction"):
        histogram = summary["histograms"][feature]
        assert histogram["users"]["current"] == users
        assert sum(histogram["current"]) == pytest.approx(100)


def test_a_spill_folder_that_cannot_be_created_is_a_config_error(make_logs, tmp_path: Path, capsys) -> None:
    logs = make_logs(users=200, seed=2)
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    config = _config(tmp_path, f'[engine]\ntemp_directory = "{blocker / "spill"}"\n')
    code = main(
        [
            *run_args(logs, "2026-04", tmp_path / "state"),
            "--config",
            str(config),
        ]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert "[engine] temp_directory" in err and str(blocker / "spill") in err and "\n" not in err
    assert not (tmp_path / "state" / "runs").exists() or not any((tmp_path / "state" / "runs").iterdir())


def test_running_out_of_memory_is_one_line_naming_the_engine_settings(tmp_path: Path, capsys) -> None:
    config = _config(tmp_path, '[engine]\nmemory_limit = "1MB"\n')
    code = main(
        [
            *run_args(SAMPLE_LOGS, "2026-04", tmp_path / "state"),
            "--config",
            str(config),
        ]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert "[engine] memory_limit" in err and "\n" not in err and "Traceback" not in err
