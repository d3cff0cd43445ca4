"""The command line contract: JSON shape, exit codes 0/1/2, and nothing half-written on error."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from mlwatch.cli import main
from mlwatch.monthly.drift import drift_scores
from mlwatch.present.drift_report import report_html
from tests.conftest import run_args

MONTHS = ("2026-03", "2026-04", "2026-05")


def _run(capsys: pytest.CaptureFixture[str], logs: Path, state: Path, *extra: str, current: str = "2026-05"):
    code = main(
        [
            *run_args(logs, current, state),
            "--json",
            *extra,
        ]
    )
    captured = capsys.readouterr()
    return code, captured


def _stored_runs(state: Path) -> int:
    if not (state / "mlwatch.db").exists():
        return 0
    with sqlite3.connect(state / "mlwatch.db") as con:
        return con.execute("SELECT count(*) FROM runs").fetchone()[0]


def test_healthy_month_opens_the_gate_with_the_contract_json(make_logs, tmp_path: Path, capsys) -> None:
    logs = make_logs(MONTHS, users=2000, seed=1)
    code, captured = _run(capsys, logs, tmp_path / "state")
    run = json.loads(captured.out)
    assert code == 0 and run["gate"] == "open"
    assert {"run_id", "reference_month", "current_month", "gate", "checks", "vocabulary", "ingest", "features"} <= set(
        run
    )
    assert set(run["ingest"]) >= {"rows_read", "rows_rejected", "duplicates", "rejected_by_reason"}
    assert run["vocabulary"]["new"] == [] and run["vocabulary"]["missing"] == []
    for check in run["checks"]:
        assert set(check) == {"name", "feature", "status", "value", "reference", "threshold", "message"}
    per_feature = [c for c in run["checks"] if c["name"] == "zero_rate"]
    assert [c["feature"] for c in per_feature] == ["login", "view", "cart", "purchase"]
    assert run["features"]["users"] > 400
    assert run["model"]["actual"] is None  # no June in these logs
    folder = tmp_path / "state" / "runs" / run["run_id"]
    assert {p.name for p in folder.iterdir()} >= {"features_current.parquet", "features_reference.parquet",
                                                  "summary.json"}  # fmt: skip
    # Evidently's page is made on first view, from the sealed features: the same scores the checks used.
    assert not (folder / "report.html").exists()
    html = report_html(tmp_path / "state", run["run_id"])
    stored = json.loads((folder / "summary.json").read_text())["drift"]["scores"]
    cached = json.loads((folder / "cache" / "report.json").read_text())
    assert drift_scores(cached, list(stored)) == pytest.approx(stored, rel=1e-12)
    assert (folder / "cache" / "report.html").read_text() == html and "<html" in html[:2000].lower()
    assert report_html(tmp_path / "state", run["run_id"]) == html  # the second view reads the cache
    assert main(["verify", "--state", str(tmp_path / "state")]) == 0  # the cache is not one of the sealed files


def test_renamed_login_closes_the_gate_and_a_mapping_reopens_it(make_logs, tmp_path: Path, capsys) -> None:
    logs = make_logs(MONTHS, users=2000, seed=2, renamed_login=["2026-05"])
    code, captured = _run(capsys, logs, tmp_path / "state")
    run = json.loads(captured.out)
    failed = {(c["name"], c["feature"]) for c in run["checks"] if c["status"] == "fail"}
    assert code == 1 and run["gate"] == "closed"
    assert ("zero_rate", "login") in failed and ("vocabulary", None) in failed
    assert run["vocabulary"]["new"] == ["user_login_from_mobile", "user_login_from_pc"]
    assert run["vocabulary"]["missing"] == ["user_login"]
    config = tmp_path / "fixed.toml"
    config.write_text(
        '[features]\nlogin = ["user_login", "user_login_from_mobile", "user_login_from_pc"]\n'
        'view = ["item_view"]\ncart = ["add_to_cart"]\npurchase = ["purchase"]\n'
    )
    code, captured = _run(capsys, logs, tmp_path / "state", "--config", str(config))
    assert code == 0, captured.out
    assert _stored_runs(tmp_path / "state") == 2


def test_text_summary_names_the_failed_checks(make_logs, tmp_path: Path, capsys) -> None:
    logs = make_logs(MONTHS, users=300, seed=3, renamed_login=["2026-05"])
    code = main(
        ["run", "--logs", str(logs), "--reference", "2026-03", "--current", "2026-05", "--state", str(tmp_path)]
    )
    out = capsys.readouterr().out
    assert code == 1
    assert "Gate: CLOSED" in out and "FAIL  zero_rate[login]" in out
    assert "Login count is 0 for 100% of users this month" in out


@pytest.mark.parametrize(
    ("make_args", "message"),
    [
        (lambda logs, tmp: ["--logs", str(tmp / "missing")], "no such file or directory"),
        (lambda logs, tmp: ["--logs", str(logs), "--current", "2026-07"], "no events in 2026-07 (current month"),
        (
            lambda logs, tmp: ["--logs", str(logs), "--reference", "2026-05", "--current", "2026-07"],
            "no events in 2026-06 (target month",
        ),
        (lambda logs, tmp: ["--logs", str(logs), "--reference", "2026-04", "--current", "2026-04"], "must be before"),
        (lambda logs, tmp: ["--logs", str(logs), "--current", "May"], "is not a month"),
        (lambda logs, tmp: ["--logs", str(logs), "--config", str(tmp / "none.toml")], "config file not found"),
        (lambda logs, tmp: ["--logs", str(logs), "--config", str(_bad_config(tmp))], "unknown key checks.zero"),
        (lambda logs, tmp: ["--logs", str(_empty_logs(tmp))], "every log file is empty"),
        (lambda logs, tmp: ["--logs", str(_csv_without_event(tmp))], "has no column 'event'"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_stores_nothing(
    make_logs, tmp_path: Path, capsys, make_args, message
) -> None:
    logs = make_logs(MONTHS, users=50, seed=4)
    args = {"--reference": "2026-03", "--current": "2026-05"}
    given = make_args(logs, tmp_path)
    for key, value in args.items():
        if key not in given:
            given += [key, value]
    code = main(["run", *given, "--state", str(tmp_path / "state"), "--json"])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in captured.err
    assert _stored_runs(tmp_path / "state") == 0
    runs_dir = tmp_path / "state" / "runs"
    assert not runs_dir.exists() or list(runs_dir.iterdir()) == []


def _bad_config(tmp: Path) -> Path:
    (tmp / "bad.toml").write_text("[checks]\nzero = 1\n")
    return tmp / "bad.toml"


def _empty_logs(tmp: Path) -> Path:
    (tmp / "empty").mkdir()
    (tmp / "empty" / "a.jsonl").write_text("")
    return tmp / "empty"


def _csv_without_event(tmp: Path) -> Path:
    (tmp / "c.csv").write_text("user_id,timestamp\nu1,2026-03-01\n")
    return tmp / "c.csv"


def test_usage_errors_exit_2(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(["run", "--logs", "x"])
    assert info.value.code == 2
    assert "--reference" in capsys.readouterr().err


def test_runs_lists_stored_runs(make_logs, tmp_path: Path, capsys) -> None:
    assert main(["runs", "--state", str(tmp_path)]) == 0
    assert "No runs yet" in capsys.readouterr().out
    logs = make_logs(("2026-03", "2026-04"), users=200, seed=5)
    code = main(
        ["run", "--logs", str(logs), "--reference", "2026-03", "--current", "2026-04", "--state", str(tmp_path)]
    )
    capsys.readouterr()
    assert main(["runs", "--state", str(tmp_path), "--json"]) == 0
    runs = json.loads(capsys.readouterr().out)
    assert [r["current_month"] for r in runs] == ["2026-04"]
    assert code == {"open": 0, "closed": 1}[runs[0]["gate"]]  # the run's exit code is its stored gate
