"""Backfill and history through the real command line: the sample's story month by month, and campaign vs control."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mlwatch.cli import main
from mlwatch.governance.export import prospect_list, select_prospects
from mlwatch.present.history_charts import FAIL_COLOR, ranking_figure
from mlwatch.state.history import load_history, metric_frame
from tests.conftest import ROOT, SAMPLE_LOGS


def _mlwatch(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mlwatch", *args], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )


@pytest.fixture(scope="module")
def backfilled(backfilled_sample: dict[str, object]) -> dict[str, object]:
    """The sample backfilled once per test session by ``python -m mlwatch backfill --json`` (tests/conftest.py)."""
    return backfilled_sample


def test_backfill_stores_a_run_per_month_and_exits_1_when_a_month_is_closed(backfilled) -> None:
    assert backfilled["code"] == 1
    runs = backfilled["out"]["runs"]
    assert [(r["reference_month"], r["current_month"], r["gate"]) for r in runs] == [
        ("2026-03", "2026-04", "open"),
        ("2026-03", "2026-05", "closed"),
        ("2026-03", "2026-06", "closed"),
    ]
    assert "zero_rate[login]" in runs[1]["failed"] and backfilled["out"]["skipped"] == []


def test_a_second_backfill_skips_the_stored_months(backfilled) -> None:
    again = _mlwatch(
        "backfill",
        "--logs",
        str(SAMPLE_LOGS),
        "--reference",
        "2026-03",
        "--state",
        str(backfilled["state"]),
        "--config",
        str(ROOT / "mlwatch.toml"),
        "--json",
    )
    assert again.returncode == 0, again.stderr  # nothing new ran, so nothing closed
    out = json.loads(again.stdout)
    assert out["runs"] == []
    assert [s["run_id"] for s in out["skipped"]] == [r["run_id"] for r in backfilled["out"]["runs"]]


def test_history_shows_the_login_zero_rate_jump_and_the_broken_lists_actual_r2(backfilled) -> None:
    result = _mlwatch("history", "--state", str(backfilled["state"]), "--json")
    assert result.returncode == 0, result.stderr
    months = {run["month"]: run for run in json.loads(result.stdout)}
    assert list(months) == ["2026-04", "2026-05", "2026-06"]

    def zero_login(month: str) -> float:
        return next(c["value"] for c in months[month]["checks"] if c["name"] == "zero_rate" and c["feature"] == "login")

    assert zero_login("2026-04") < 0.2 and zero_login("2026-05") == 1.0
    assert months["2026-05"]["actuals_month"] == "2026-06" and months["2026-04"]["actuals_month"] == "2026-05"
    april, may = months["2026-04"]["actual"], months["2026-05"]["actual"]
    assert april["r2"] > 0.15 and may["r2"] < april["r2"] - 0.15  # the list built on broken logins is far worse
    assert may["precision_top10"] < april["precision_top10"]
    assert months["2026-06"]["actual"] is None  # July is not in the logs yet
    assert all(
        run["estimate"]["lower"] <= run["estimate"]["estimated_mae"] <= run["estimate"]["upper"]
        for run in months.values()
    )

    table = _mlwatch("history", "--state", str(backfilled["state"]), "--feature", "login")
    assert table.returncode == 0 and "zero_rate login" in table.stdout and "actual R2" in table.stdout
    assert "100.0%" in table.stdout.splitlines()[2]  # May's row


def test_the_ranking_estimate_sees_the_broken_month_that_the_mae_estimate_reads_as_better(backfilled) -> None:
    history = load_history(backfilled["state"])
    months = {run["month"]: run for run in history.runs}
    ranking = {
        month: next(c for c in run["checks"] if c["name"] == "estimated_ranking") for month, run in months.items()
    }
    assert [ranking[m]["status"] for m in ("2026-04", "2026-05", "2026-06")] == ["pass", "fail", "fail"]
    april, may = months["2026-04"], months["2026-05"]
    # The problem it answers: May's estimated error reads lower than April's although May's list is worse.
    assert may["estimate"]["estimated_mae"] < april["estimate"]["estimated_mae"]
    assert may["actual"]["lift_top10"] < april["actual"]["lift_top10"]
    assert may["ranking"]["lift"] < april["ranking"]["lift"]
    # Its predictions are a quarter of the purchases expected, and the users did go on buying about that much.
    assert may["ranking"]["predicted"] < 0.3 * may["ranking"]["expected"]
    assert may["ranking"]["expected"] == pytest.approx(may["actual"]["mean_actual"], rel=0.15)
    for run in (april, may):  # the estimates before the actuals are near the actual lift
        assert run["ranking"]["lift"] == pytest.approx(run["actual"]["lift_top10"], rel=0.15)
    assert "an input of the model probably broke" in ranking["2026-05"]["message"]

    figure = ranking_figure(metric_frame(history))
    traces = {trace.name: trace for trace in figure.data}
    estimated = traces["top 10%, estimated before actuals"]
    assert list(estimated.x) == ["2026-04", "2026-05", "2026-06"]
    assert list(estimated.marker.color)[1] == FAIL_COLOR and list(traces["top 10%, actual"].x) == ["2026-04", "2026-05"]


def test_history_of_an_unknown_feature_is_a_one_line_error(backfilled) -> None:
    result = _mlwatch("history", "--state", str(backfilled["state"]), "--feature", "logins")
    assert result.returncode == 2 and result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1 and "--feature logins" in result.stderr


def test_forced_backfill_against_the_previous_month_and_campaign_vs_control(make_logs, tmp_path: Path, capsys) -> None:
    logs = make_logs(("2026-03", "2026-04", "2026-05"), users=2000, seed=1)
    state, config = tmp_path / "state", tmp_path / "mlwatch.toml"
    config.write_text('[history]\ncompare = "previous"\n')
    common = ["--logs", str(logs), "--reference", "2026-03", "--state", str(state), "--config", str(config), "--json"]
    code = main(["backfill", *common])
    first = json.loads(capsys.readouterr().out)
    assert code == (0 if all(r["gate"] == "open" for r in first["runs"]) else 1)
    assert [(r["reference_month"], r["current_month"]) for r in first["runs"]] == [
        ("2026-03", "2026-04"),
        ("2026-04", "2026-05"),
    ]
    code = main(["backfill", *common, "--force"])
    forced = json.loads(capsys.readouterr().out)
    assert code == (0 if all(r["gate"] == "open" for r in forced["runs"]) else 1)
    assert len(forced["runs"]) == 2 and forced["skipped"] == []
    assert {r["run_id"] for r in forced["runs"]}.isdisjoint({r["run_id"] for r in first["runs"]})

    # Export April's list with a 30% control group, then measure it on May's purchases.
    april = next(r for r in first["runs"] if r["current_month"] == "2026-04")
    assert april["gate"] == "open"
    assert (
        main(
            [
                "export",
                "--run",
                april["run_id"],
                "--out",
                str(tmp_path / "list.csv"),
                "--holdout",
                "0.3",
                "--state",
                str(state),
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["actuals", "--logs", str(logs), "--state", str(state), "--json"]) == 0
    measured = {m["run_id"]: m for m in json.loads(capsys.readouterr().out)}
    effect = measured[april["run_id"]]["campaigns"][0]

    # Independently: May's purchases of each exported user, straight from the raw logs.
    exported = pd.read_csv(tmp_path / "list.csv", dtype={"user_id": str})
    raw = pd.read_json(logs / "2026-05.jsonl", lines=True, dtype={"user_id": str})
    bought = raw[raw["event"] == "purchase"].groupby("user_id").size()
    purchases = exported["user_id"].map(bought).fillna(0).to_numpy(dtype=float)
    campaign, control = purchases[exported["group"] == "campaign"], purchases[exported["group"] == "control"]
    welch = stats.ttest_ind(campaign, control, equal_var=False).confidence_interval(0.95)
    assert (effect["campaign_users"], effect["control_users"]) == (len(campaign), len(control))
    assert effect["difference"] == pytest.approx(campaign.mean() - control.mean())
    assert (effect["ci_low"], effect["ci_high"]) == (pytest.approx(welch.low), pytest.approx(welch.high))
    # Nobody was contacted in these generated logs: no effect. One draw's 95% interval misses 0 one
    # time in 20 (the draw is salted by the random run id), so judge the intervals of 40 draws of the
    # same list: about 95% of them must hold 0 (fewer than 33 of 40 has a chance under 1 in 1,000).
    ranked = prospect_list(state, april["run_id"])
    may = ranked["user_id"].map(bought).fillna(0).to_numpy(dtype=float)
    holding = 0
    for seed in range(40):
        groups = select_prospects(ranked, holdout=0.3, seed=seed, salt=april["run_id"])["group"].to_numpy()
        interval = stats.ttest_ind(may[groups == "campaign"], may[groups == "control"], equal_var=False)
        low, high = interval.confidence_interval(0.95)
        holding += low < 0 < high
    assert holding >= 33 and np.isfinite(effect["difference"])
