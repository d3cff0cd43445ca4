"""Running at scale: [engine] and [drift] settings, the drift sample, stored histograms and stage timings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlwatch.config import load_config
from mlwatch.errors import ConfigError
from mlwatch.monthly.drift import compute_drift, drift_scores, render_report
from mlwatch.monthly.histograms import count_histogram, value_histogram
from tests.conftest import ROOT

COLUMNS = ["login", "view"]


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.toml"
    path.write_text(text)
    return path


def test_engine_and_drift_settings_are_read(tmp_path: Path) -> None:
    config = load_config(
        _config(
            tmp_path,
            '[engine]\nmemory_limit = "512MB"\nthreads = 1\n'
            'temp_directory = "/var/tmp/mlwatch"\n[drift]\nsample_size = 5000\nseed = 7\n',
        )
    )
    assert (config.engine.memory_limit, config.engine.threads, config.engine.temp_directory) == (
        "512MB",
        1,
        "/var/tmp/mlwatch",
    )
    assert (config.drift.sample_size, config.drift.seed) == (5000, 7)
    assert load_config(None).drift.sample_size == 200_000 and load_config(None).engine.memory_limit == "2GB"
    assert load_config(ROOT / "mlwatch.toml").engine == load_config(None).engine  # the shipped file says the defaults


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[engine]\nmemory_limit = "lots"\n', "engine.memory_limit"),
        ("[engine]\nmemory_limit = 2\n", "engine.memory_limit"),
        ("[engine]\nthreads = 0\n", "engine.threads"),
        ("[engine]\nthreads = 1.5\n", "engine.threads"),
        ("[engine]\ncores = 2\n", "engine.cores"),
        ("[drift]\nsample_size = 500\n", "drift.sample_size"),
        ("[drift]\nsample_size = -1\n", "drift.sample_size"),
        ('[drift]\nseed = "x"\n', "drift.seed"),
    ],
)
def test_bad_engine_and_drift_settings_name_the_key_in_one_line(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(_config(tmp_path, text))
    assert key in str(info.value) and "c.toml" in str(info.value) and "\n" not in str(info.value)


def _months(users: int, seed: int, shift: float = 0.0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    ref = pd.DataFrame(
        {"user_id": [f"u{i}" for i in range(users)], "login": rng.poisson(3.0, users), "view": rng.poisson(10.0, users)}
    )
    cur = ref.assign(login=rng.poisson(3.0 + shift, users), view=rng.poisson(10.0, users))
    return ref, cur


def test_drift_scores_a_seeded_sample_close_to_the_full_tables() -> None:
    ref, cur = _months(20_000, seed=3, shift=1.0)
    thresholds = {c: 0.1 for c in COLUMNS}
    full = compute_drift(ref, cur, COLUMNS, thresholds, sample_size=0)
    sampled = compute_drift(ref, cur, COLUMNS, thresholds, sample_size=5_000, seed=1)
    again = compute_drift(ref, cur, COLUMNS, thresholds, sample_size=5_000, seed=1)
    other = compute_drift(ref, cur, COLUMNS, thresholds, sample_size=5_000, seed=2)
    assert full.sample == {
        "reference": {"scored": 20_000, "users": 20_000},
        "current": {"scored": 20_000, "users": 20_000},
    }
    assert sampled.sample["current"] == {"scored": 5_000, "users": 20_000}
    assert sampled.scores == again.scores  # the same seed gives the same report
    assert sampled.scores != other.scores  # a sample, not the full table
    assert full.scores["login"] > 0.1 > full.scores["view"]
    for column in COLUMNS:
        assert abs(sampled.scores[column] - full.scores[column]) < 0.03


def test_a_month_smaller_than_the_sample_is_scored_whole() -> None:
    ref, cur = _months(1_500, seed=4)
    report = compute_drift(ref, cur, COLUMNS, {c: 0.1 for c in COLUMNS}, sample_size=200_000)
    assert report.sample["reference"] == {"scored": 1_500, "users": 1_500}


def test_count_histogram_shares_bins_keeps_zero_alone_and_sums_to_100() -> None:
    reference = [0] * 10 + [1] * 50 + [2] * 30 + [3] * 10
    current = [0] * 100
    histogram = count_histogram(reference, current)
    assert histogram["bins"][:4] == ["0", "1", "2", "3"]
    assert histogram["reference"][:4] == [10.0, 50.0, 30.0, 10.0]
    assert histogram["current"][0] == 100.0
    assert sum(histogram["reference"]) == pytest.approx(100) and histogram["users"] == {
        "reference": 100,
        "current": 100,
    }


def test_count_histogram_groups_a_long_tail_into_an_open_last_bin() -> None:
    reference = list(range(1000))
    histogram = count_histogram(reference, reference)
    assert len(histogram["bins"]) <= 32
    assert histogram["bins"][-1].startswith(">= ")
    assert sum(histogram["current"]) == pytest.approx(100)


def test_value_histogram_puts_the_top_percent_in_the_last_bin() -> None:
    values = [float(v) for v in range(1000)] + [1e6]  # one heavy user must not squash the chart
    histogram = value_histogram(values, values, bins=10)
    assert len(histogram["centers"]) == 10 and histogram["centers"][-1] < 1000
    assert sum(histogram["reference"]) == pytest.approx(100)  # the heavy user is in the last bin, not dropped


def test_changing_only_the_engine_settings_does_not_make_stored_months_stale(make_logs, tmp_path: Path) -> None:
    from mlwatch.backfill import backfill

    logs = make_logs(users=300, seed=5)
    state = tmp_path / "state"
    first = backfill(logs, "2026-03", load_config(None), state)
    again = backfill(
        logs, "2026-03", load_config(_config(tmp_path, '[engine]\nthreads = 1\nmemory_limit = "1GB"\n')), state
    )
    assert len(first.results) == 2 and not again.results and len(again.skipped) == 2


def test_the_run_scores_drift_exactly_as_evidentlys_report_of_the_same_sample() -> None:
    ref, cur = _months(3_000, seed=5, shift=1.0)
    ref.loc[ref.index[:7], "view"] = np.nan  # unknown values and an infinity are dropped, as Evidently drops them
    cur.loc[cur.index[:3], "login"] = np.inf
    thresholds = {c: 0.1 for c in COLUMNS}
    scores = compute_drift(ref, cur, COLUMNS, thresholds, sample_size=2_000, seed=3).scores
    report = render_report(ref, cur, COLUMNS, thresholds, sample_size=2_000, seed=3)
    evidently = drift_scores(report.json, COLUMNS)
    assert scores == pytest.approx(evidently, rel=1e-12, abs=1e-15)
    assert scores["login"] > 0.1 > scores["view"]  # the drifted column and the steady one, told apart
    assert "<html" in report.html[:2000].lower() and f"{round(scores['login'], 3)}" in report.html
