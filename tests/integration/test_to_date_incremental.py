"""Daily month-to-date runs read only the files they have not read before, and give a whole read's results."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from mlwatch.cli import main
from mlwatch.config import Config
from mlwatch.pipeline import load_logs, run_monthly
from mlwatch.state import partials, store
from tests.conftest import run_args
from tests.streams import generate_stream

MONTHS = ("2026-03", "2026-04", "2026-05")
# What may differ between two runs of the same logs: when and how fast they ran, and the ids and hashes of runs.
_VOLATILE = ("run_id", "created_at", "fingerprint", "inputs_fingerprint", "seconds")
_ARTIFACTS = ("features_reference.parquet", "features_current.parquet", "timeline.parquet", "feature_daily.parquet")


@pytest.fixture(scope="module")
def stream() -> pd.DataFrame:
    """March to May of 400 users; from 8 May 12:00 the login event is renamed."""
    return generate_stream(MONTHS, users=400, seed=5, rename_at="2026-05-08T12")


def _lines(frame: pd.DataFrame) -> list[str]:
    out = frame.assign(timestamp=frame["ts"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")).drop(columns="ts")
    return out.to_json(orient="records", lines=True).splitlines()


def _write_day(logs: Path, stream: pd.DataFrame, day: int, extra: list[str] = ()) -> None:  # type: ignore[assignment]
    rows = stream[stream["ts"].dt.strftime("%Y-%m-%d") == f"2026-05-{day:02d}"]
    (logs / "may" / f"2026-05-{day:02d}.jsonl").write_text("\n".join([*_lines(rows), *extra]) + "\n")


def _event(stream: pd.DataFrame, day: int, at: str, position: int = 0) -> str:
    """One event of a May day again (same event id) at another time: a re-sent or a late copy."""
    row = stream[stream["ts"].dt.strftime("%Y-%m-%d") == f"2026-05-{day:02d}"].iloc[position]
    return json.dumps({"event_id": row["event_id"], "user_id": row["user_id"], "event": row["event"], "timestamp": at})


def _whole_read(logs: Path, day: str, state: Path) -> str:
    """The same run on the logs read whole (no partials): the events seen through the month-to-date view."""
    loaded = load_logs(logs, Config(), state)
    try:
        return run_monthly(logs, "2026-03", "2026-05", Config(), state, loaded=loaded, as_of=day).run_id
    finally:
        loaded.con.close()


def _same_run(state_a: Path, run_a: str, state_b: Path, run_b: str) -> None:
    a, b = store.read_summary(state_a, run_a).to_json(), store.read_summary(state_b, run_b).to_json()
    for key in _VOLATILE:
        a.pop(key, None), b.pop(key, None)
    assert a == b
    for name in _ARTIFACTS:
        pd.testing.assert_frame_equal(
            pd.read_parquet(store.run_path(state_a, run_a) / name),
            pd.read_parquet(store.run_path(state_b, run_b) / name),
        )


def _kept_days(state: Path) -> dict[str, str]:
    """Each kept day's batch (the run that last read it)."""
    (root,) = (state / "partials").iterdir()
    return {day: record.batch for day, record in partials.load(root).days.items()}


def test_daily_runs_read_only_new_files_and_match_a_whole_read(capsys, tmp_path, stream) -> None:
    logs, daily, whole = tmp_path / "logs", tmp_path / "daily", tmp_path / "whole"
    (logs / "may").mkdir(parents=True)
    march = stream[stream["ts"] < "2026-04-01"].rename(columns={"ts": "timestamp"})
    march.to_parquet(logs / "2026-03.parquet", index=False)  # native timestamps
    april = stream[(stream["ts"] >= "2026-04-01") & (stream["ts"] < "2026-05-01")]
    (logs / "2026-04.jsonl").write_text("\n".join(_lines(april)) + "\n")
    for day in (1, 3):
        _write_day(logs, stream, day)
    _write_day(logs, stream, 2, extra=['{"user_id": "u00001", "event": "item_view"', "not json"])

    def run(day: str) -> dict:
        assert main([*run_args(logs, "2026-05", daily), "--as-of", day, "--json"]) in (0, 1)
        out = json.loads(capsys.readouterr().out)
        _same_run(daily, out["run_id"], whole, _whole_read(logs, day, whole))
        return out

    first = run("2026-05-03")
    assert first["ingest"]["rows_rejected"] == 2 and first["ingest"]["rejected_by_reason"] == {"invalid_json": 2}
    kept = _kept_days(daily)
    assert {"2026-03-01", "2026-04-30", "2026-05-03"} <= kept.keys()

    # Day 4's file repeats an event of 2 May later that day (the copy is dropped) and an event of 3 May
    # stamped 1 May: that copy comes first, so 3 May's kept day loses the event and is read again.
    _write_day(
        logs, stream, 4, extra=[_event(stream, 2, "2026-05-04T09:00:00Z"), _event(stream, 3, "2026-05-01T08:00:00Z")]
    )
    fourth = run("2026-05-04")
    assert fourth["ingest"]["duplicates"] == 2
    now = _kept_days(daily)
    read_again = {day for day in kept if now.get(day) != kept[day]}
    # 1 May has a new row, 2 and 3 May share an event id with day 4's rows; March and April were not read again.
    assert read_again == {"2026-05-01", "2026-05-02", "2026-05-03"}

    # Days 5 to 10 arrive (the rename on 8 May; on 9 May a producer writes `uid` for the user id in 25 rows),
    # and 2 May's file is rewritten with late events.
    for day in range(5, 11):
        renamed = [
            line.replace('"user_id"', '"uid"') for line in _lines(stream[stream["ts"].dt.day == 9].head(25))
        ] if day == 9 else []  # fmt: skip
        _write_day(logs, stream, day, extra=renamed)
    late = [_event(stream, 6, "2026-05-02T23:30:00Z", position=3)]  # a copy of a 6 May event, stamped earlier
    _write_day(logs, stream, 2, extra=['{"user_id": "u00001", "event": "item_view"', "not json", *late])
    tenth = run("2026-05-10")
    assert [change["field"] for change in tenth["ingest"]["field_changes"]] == ["user_id"]
    assert any(change["kind"] == "stopped" and change["event"] == "user_login" for change in tenth["changes"])
    assert any(change.get("replaces") for change in tenth["changes"])  # with the share of users of both names
    final = _kept_days(daily)
    assert {day for day in now if final.get(day) != now[day]} == {"2026-05-02", "2026-05-04"}  # 4 May: an id of 2 May
    assert all(final[day] == kept[day] for day in kept if day < "2026-05-01")
