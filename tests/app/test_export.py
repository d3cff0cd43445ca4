"""Export page: the download exists only for an open gate, and carries the ranked list."""

from __future__ import annotations

import io

import pandas as pd

from mlwatch import store
from tests.app.conftest import open_page


def test_empty_state(app_env) -> None:
    app_env()
    assert "No run yet" in open_page("export.py").info[0].value


def test_closed_gate_has_no_download_and_says_why(app_env, stored_runs, downloads) -> None:
    app_env(stored_runs["state"])
    at = open_page("export.py", stored_runs["closed"])
    assert not at.get("download_button")
    assert "The download is blocked" in at.error[0].value
    assert any("Login count is 0 for 100%" in m.value for m in at.markdown)
    assert not any(name and name.startswith("prospects") for name in downloads)


def test_open_gate_downloads_every_user_ranked(app_env, stored_runs, downloads) -> None:
    app_env(stored_runs["state"])
    at = open_page("export.py", stored_runs["open"])
    assert len(at.get("download_button")) == 1
    run = store.get_run(stored_runs["state"], stored_runs["open"])
    name = f"prospects-2026-04-{run.run_id}.csv"
    frame = pd.read_csv(io.BytesIO(downloads[name]), dtype={"user_id": str})
    assert len(frame) == run.users == 1591
    assert list(frame.columns) == ["user_id", "predicted_purchases", "rank"]
    assert frame["rank"].tolist() == list(range(1, 1592))
    assert frame["predicted_purchases"].is_monotonic_decreasing
    assert len(at.dataframe[0].value) == 50
