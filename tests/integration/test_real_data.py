"""The pipeline on real public e-commerce logs, checked against independent counts.

The logs are read by path from ../shared/data/real (never copied into this
repo). Expected figures come from the datasets' READMEs and from Python's csv
module, not from DuckDB.
"""

from __future__ import annotations

import csv
import json
import os
from collections import Counter
from pathlib import Path

import pytest

from mlwatch.cli import main
from tests.conftest import REAL_DATA

TMALL = REAL_DATA / "tmall_brand_behavior_2013" / "t_alibaba_data.csv"
TIANCHI = REAL_DATA / "tianchi_mobile_2014_sample" / "tianchi_mobile_recommend_train_user_sample.csv"


@pytest.fixture(autouse=True)
def _require_real_data() -> None:
    if TMALL.exists() and TIANCHI.exists():
        return
    message = f"real data not found at {REAL_DATA} (set MLWATCH_REAL_DATA to its folder)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:
    code = main(["run", *args, "--json"])
    return code, json.loads(capsys.readouterr().out)


def _feature_sums(run: dict, state: Path, month: str) -> dict[str, int]:
    import pandas as pd

    frame = pd.read_parquet(state / "runs" / run["run_id"] / "features_current.parquet")
    return {name: int(frame[name].sum()) for name in run["features"]["names"]}


def _args(logs: Path, reference: str, current: str, config: Path, state: Path) -> list[str]:
    return [
        "--logs",
        str(logs),
        "--reference",
        reference,
        "--current",
        current,
        "--config",
        str(config),
        "--state",
        str(state),
    ]


def test_tmall_log_with_mapped_event_codes_matches_an_independent_count(tmp_path: Path, capsys) -> None:
    # The file has day-only dates without a year ("6-4"); the README dates it 2013. Build a
    # timestamp in a temporary copy, keeping every row (the original is read by path only).
    converted = tmp_path / "tmall.csv"
    expected: Counter[tuple[str, str]] = Counter()
    users: dict[str, set[str]] = {}
    with TMALL.open(newline="") as source, converted.open("w", newline="") as target:
        writer = csv.writer(target)
        writer.writerow(["user_id", "event", "timestamp"])
        for row in csv.DictReader(source):
            month, day = (int(part) for part in row["visit_datetime"].split("-"))
            stamp = f"2013-{month:02d}-{day:02d}"
            writer.writerow([row["user_id"], row["type"], stamp])
            expected[(stamp[:7], row["type"])] += 1
            users.setdefault(stamp[:7], set()).add(row["user_id"])
    config = tmp_path / "tmall.toml"
    config.write_text(
        '[columns]\nevent_id = ""\n[features]\nview = ["0"]\npurchase = ["1"]\nfavourite = ["2"]\ncart = ["3"]\n'
    )
    state = tmp_path / "state"
    code, run = _run(
        capsys,
        "--logs",
        str(converted),
        "--reference",
        "2013-05",
        "--current",
        "2013-07",
        "--config",
        str(config),
        "--state",
        str(state),
    )

    assert run["ingest"]["rows_read"] == 182_880 == sum(expected.values())
    assert run["ingest"]["rows_rejected"] == 0 and run["ingest"]["duplicates"] == 0
    assert run["features"]["users"] == len(users["2013-07"]) == 815
    assert run["features"]["reference_users"] == len(users["2013-05"]) == 778
    sums = _feature_sums(run, state, "2013-07")
    assert sums == {
        "view": expected[("2013-07", "0")],
        "purchase": expected[("2013-07", "1")],
        "favourite": expected[("2013-07", "2")],
        "cart": expected[("2013-07", "3")],
    }
    assert sums["view"] == 51_204 and sums["purchase"] == 2_053  # the dataset README's figures
    # August holds the July users' actual purchases, so the list is scored against reality.
    assert run["model"]["actuals_month"] == "2013-08" and run["model"]["actual"]["mae"] is not None
    assert code == (0 if run["gate"] == "open" else 1)
    assert {c["name"] for c in run["checks"]} >= {"volume", "vocabulary", "zero_rate", "drift", "prediction_drift"}
    # A healthy pair of real months: no event name stopped, started, paused or changed level.
    assert run["changes"] == []
    assert [c["status"] for c in run["checks"] if c["name"] == "coverage"] == ["pass"] * 4
    # The log itself has no click ("0") at all on 2013-05-12 (buys and favourites that day, 1,300+
    # clicks on the days around it): a real gap, found and dated as such.
    _, may = _run(capsys, *_args(converted, "2013-04", "2013-05", config, state))
    assert [(c["event"], c["kind"], c["at"], c["until"]) for c in may["changes"]] == [
        ("0", "gap", "2013-05-11T01:00:00Z", "2013-05-13T00:00:00Z")
    ]
    view = next(c for c in may["checks"] if c["name"] == "coverage" and c["feature"] == "view")
    assert view["status"] == "fail" and "2013-05-12" in view["message"]


def test_tianchi_sample_read_directly_with_a_timestamp_format(tmp_path: Path, capsys) -> None:
    with TIANCHI.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    december = [r for r in rows if r["time"].startswith("2014-12")]
    config = tmp_path / "tianchi.toml"
    config.write_text(
        '[columns]\nevent = "behavior_type"\ntimestamp = "time"\nevent_id = ""\ntimestamp_format = "%Y-%m-%d %H"\n'
        '[features]\nview = ["1"]\nfavourite = ["2"]\ncart = ["3"]\npurchase = ["4"]\n'
    )
    state = tmp_path / "state"
    # Reference November (target: December), current December: too few users for a meaningful
    # drift verdict, but every figure must still be exact.
    code, run = _run(
        capsys,
        "--logs",
        str(TIANCHI),
        "--reference",
        "2014-11",
        "--current",
        "2014-12",
        "--config",
        str(config),
        "--state",
        str(state),
    )
    assert code in (0, 1)
    assert run["ingest"]["rows_read"] == len(rows) == 1_999
    assert run["features"]["users"] == len({r["user_id"] for r in december}) == 33
    sums = _feature_sums(run, state, "2014-12")
    assert sums["view"] == sum(r["behavior_type"] == "1" for r in december) == 1_245
    assert sums["purchase"] == sum(r["behavior_type"] == "4" for r in december) == 23
    volume = run["volume"]["current"]
    assert volume["events"] == 1_334 and sum(volume["daily"].values()) == 1_334
    # The sample stops on 2014-12-18: the volume check must see the missing days.
    volume_check = next(c for c in run["checks"] if c["name"] == "volume")
    assert volume_check["status"] == "fail" and "13 day(s)" in volume_check["message"]
    # The whole stream ends on 12-18 (volume says so); no single event name is blamed for it.
    assert run["changes"] == []
