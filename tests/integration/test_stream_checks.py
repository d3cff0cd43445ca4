"""The stream checks through `mlwatch run` on generated months the project never shipped: what changed, and when."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from mlwatch.cli import main
from mlwatch.state.history import first_failures, load_history, month_to_date
from tests.conftest import run_args
from tests.streams import generate_stream, write_stream

# The reference month, the month after it (the target) and the current month; no actuals month (not needed here).
MONTHS = ("2026-03", "2026-04", "2026-05")


def _run(capsys: pytest.CaptureFixture[str], tmp_path: Path, **accident: object) -> tuple[int, dict]:
    logs = write_stream(generate_stream(MONTHS, users=1500, seed=21, **accident), tmp_path / "logs")  # type: ignore[arg-type]
    code = main([*run_args(logs, "2026-05", tmp_path / "state"), "--json"])
    return code, json.loads(capsys.readouterr().out)


def _check(run: dict, name: str, feature: str | None = None) -> dict:
    return next(c for c in run["checks"] if c["name"] == name and c["feature"] == feature)


def _failed(run: dict) -> list[str]:
    return [
        f"{c['name']}[{c['feature']}]" if c["feature"] else c["name"] for c in run["checks"] if c["status"] == "fail"
    ]


def test_healthy_months_with_a_campaign_day_report_no_change_and_keep_the_gate_open(capsys, tmp_path) -> None:
    code, run = _run(capsys, tmp_path, campaign_day="2026-05-08")
    assert (code, run["gate"], run["changes"], _failed(run)) == (0, "open", [], [])
    assert run["as_of"] is None
    assert _check(run, "coverage", "login")["value"] == 0 and _check(run, "coverage", "login")["reference"] == 31
    assert "were seen in March 2026" in _check(run, "known_users")["message"]
    # The daily counts per feature are stored with the run: May's login column adds up to May's logins.
    daily = pd.read_parquet(tmp_path / "state" / "runs" / run["run_id"] / "feature_daily.parquet")
    may = daily[daily["day"].dt.strftime("%Y-%m") == "2026-05"]
    assert len(may) == 31 and int(may["login"].sum()) == run["vocabulary"]["current_counts"]["user_login"]


def test_a_mid_month_rename_names_the_hour_the_names_and_the_unknown_users(capsys, tmp_path) -> None:
    code, run = _run(capsys, tmp_path, rename_at="2026-05-15T12")
    assert code == 1
    assert [(c["kind"], c["event"], c["at"]) for c in run["changes"]] == [
        ("started", "user_login_from_mobile", "2026-05-15T12:00:00Z"),
        ("started", "user_login_from_pc", "2026-05-15T12:00:00Z"),
        ("stopped", "user_login", "2026-05-15T12:00:00Z"),
    ]
    coverage = _check(run, "coverage", "login")
    assert coverage["status"] == "fail" and coverage["value"] == 16  # 16 to 31 May
    assert "2026-05-16 to 2026-05-31" in coverage["message"]
    assert "`user_login` stopped on 2026-05-15 at 12:00 UTC" in coverage["message"]
    assert "`user_login_from_mobile`, `user_login_from_pc` started then and probably replace it" in coverage["message"]
    # The users active only after the stop have an unknown login count, not a measured 0.
    missing = _check(run, "missing_rate", "login")
    assert 0 < missing["value"] < 0.5 and missing["reference"] == 0
    assert run["vocabulary"]["suggested_feature"] == {"user_login_from_mobile": "login", "user_login_from_pc": "login"}


def test_a_ten_day_outage_of_carts_fails_coverage_with_its_dates(capsys, tmp_path) -> None:
    code, run = _run(capsys, tmp_path, outage=("add_to_cart", "2026-05-05T14", "2026-05-15T09"))
    assert code == 1
    assert [(c["kind"], c["event"], c["at"], c["until"]) for c in run["changes"]] == [
        ("gap", "add_to_cart", "2026-05-05T14:00:00Z", "2026-05-15T09:00:00Z")
    ]
    coverage = _check(run, "coverage", "cart")
    assert coverage["status"] == "fail"
    assert "did not arrive on 9 day(s) of May 2026: 2026-05-06 to 2026-05-14" in coverage["message"]
    assert "absent from 2026-05-05 at 14:00 UTC until 2026-05-15 at 09:00 UTC" in coverage["message"]
    assert [c["status"] for c in run["checks"] if c["name"] == "coverage" and c["feature"] != "cart"] == ["pass"] * 3


def test_partial_last_days_fail_volume_with_the_days_named(capsys, tmp_path) -> None:
    partial = {f"2026-05-{day}": 0.15 for day in (28, 29, 30, 31)}
    code, run = _run(capsys, tmp_path, partial_days=partial)
    assert code == 1 and run["changes"] == []
    volume = _check(run, "volume")
    assert volume["status"] == "fail"
    assert "4 day(s) of May 2026 with under 25% of the usual events" in volume["message"]
    assert "2026-05-28, 2026-05-29, 2026-05-30, 2026-05-31" in volume["message"]


def test_user_ids_that_changed_shape_fail_known_users_and_show_both_shapes(capsys, tmp_path) -> None:
    code, run = _run(capsys, tmp_path, id_shape={"2026-05": lambda user: user.removeprefix("u")})
    assert code == 1
    known = _check(run, "known_users")
    assert known["status"] == "fail" and known["value"] == 0.0 and known["reference"] > 0.8
    assert "`99999` in May 2026, `a99999` in March 2026" in known["message"]


def test_month_to_date_closes_the_day_after_a_rename_and_its_list_never_leaves(capsys, tmp_path) -> None:
    logs = write_stream(generate_stream(MONTHS, users=1500, seed=21, rename_at="2026-05-15T12"), tmp_path / "l")
    state = tmp_path / "state"
    # The daily cron's two mornings, in one read of the logs: the day of the rename explains it, the next closes.
    daily = ["backfill", "--logs", str(logs), "--reference", "2026-03", "--daily", "2026-05", "--state", str(state)]
    assert main([*daily, "--since", "2026-05-14", "--until", "2026-05-15", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [(r["as_of"], r["gate"]) for r in out["runs"]] == [("2026-05-14", "open"), ("2026-05-15", "open")]
    code = main([*run_args(logs, "2026-05", state), "--as-of", "2026-05-16", "--json"])
    run = json.loads(capsys.readouterr().out)
    assert (code, run["gate"], run["as_of"]) == (1, "closed", "2026-05-16")
    assert [c["kind"] for c in run["changes"]] == ["started", "started", "stopped"]
    assert "coverage[login]" in _failed(run)
    assert run["volume"]["current"]["daily"].keys() == {f"2026-05-{d:02d}" for d in range(1, 17)}  # 16 days
    assert run["volume"]["reference"]["daily"].keys() == {f"2026-03-{d:02d}" for d in range(1, 17)}  # against 16
    months = month_to_date(state)
    assert [day["as_of"] for day in months["2026-05"]] == ["2026-05-14", "2026-05-15", "2026-05-16"]
    assert first_failures(months["2026-05"])["coverage[login]"] == "2026-05-16"
    assert load_history(state).runs == ()  # provisional runs do not stand for the month
    # Stored days are skipped the next time.
    assert main([*daily, "--since", "2026-05-15", "--until", "2026-05-15", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["skipped"][0]["run_id"] == out["runs"][1]["run_id"]
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    assert main(["export", "--run", run["run_id"], "--out", str(out_dir), "--state", str(state)]) == 1
    assert "never exported" in capsys.readouterr().err and not list(out_dir.iterdir())
    signoff = ["signoff", "--run", run["run_id"], "--by", "ann", "--reason", "x " * 20, "--accept-all-failed"]
    assert main([*signoff, "--state", str(state)]) == 2
    assert "checked the month only up to 2026-05-16" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("as_of", "message"), [("2026-06-01", "not a day of the current month"), ("May 16", "not a date")]
)
def test_a_wrong_as_of_is_a_usage_error(capsys, tmp_path, as_of: str, message: str) -> None:
    code = main([*run_args(tmp_path, "2026-05", tmp_path / "state"), "--as-of", as_of])
    assert code == 2 and message in capsys.readouterr().err


def test_a_field_renamed_mid_month_names_the_new_field_and_the_hour(capsys, tmp_path) -> None:
    frame = generate_stream(MONTHS, users=1500, seed=21)
    logs = write_stream(frame, tmp_path / "logs", renamed_field=("user_id", "userId", "2026-05-16T00"))
    code = main([*run_args(logs, "2026-05", tmp_path / "state"), "--json"])
    run = json.loads(capsys.readouterr().out)
    late = int((frame["ts"] >= pd.Timestamp("2026-05-16")).sum())
    assert code == 1
    assert run["ingest"]["rejected_by_reason"] == {"missing_user_id": late}
    assert run["ingest"]["field_changes"] == [
        {"key": "user_id", "field": "user_id", "rows": late, "since": "2026-05-16T00:00:00Z", "new_fields": ["userId"]}
    ]
    rejected = _check(run, "rejected_rows")
    assert rejected["status"] == "fail"
    assert "`user_id` is missing from" in rejected["message"] and "since 2026-05-16 00:00 UTC" in rejected["message"]
    assert 'set [columns] user_id = "userId"' in rejected["message"]
