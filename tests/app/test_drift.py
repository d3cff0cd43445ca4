"""Drift page: zero-rate table, one histogram per feature on shared bins, the Evidently report."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow as pa

from mlwatch.present.charts import CURRENT_COLOR, REFERENCE_COLOR
from tests.app.conftest import open_page


def reference_users(stored_runs: dict) -> int:
    """Users of the reference month of the closed run, from its stored features."""
    from mlwatch.state import store

    return len(store.read_features(stored_runs["state"], stored_runs["closed"], "reference"))


def _chart(element) -> tuple[dict, pd.DataFrame]:
    """A Vega-Lite chart's spec and the data the browser receives."""
    return json.loads(element.proto.spec), pa.ipc.open_stream(element.proto.datasets[0].data.data).read_pandas()


def test_empty_state(app_env) -> None:
    app_env()
    assert "No run yet" in open_page("drift.py").info[0].value


def test_zero_rate_table_and_histograms_of_the_broken_month(app_env, stored_runs, downloads) -> None:
    app_env(stored_runs["state"])
    at = open_page("drift.py", stored_runs["closed"])
    zero = at.dataframe[0].value.set_index("feature")
    assert zero.loc["login", "May 2026 (%)"] == 100.0
    assert round(zero.loc["login", "March 2026 (%)"], 1) == 9.1
    assert zero.loc["login", "status"] == "FAIL" and zero.loc["view", "status"] == "pass"
    charts = [_chart(element) for element in at.get("vega_lite_chart")]
    assert [spec["title"] for spec, _ in charts] == [
        f"{f}: events per user" for f in ("login", "view", "cart", "purchase")
    ]
    spec, data = charts[0]
    assert spec["encoding"]["x"]["title"] == "login events per user in the month"
    assert spec["encoding"]["y"]["title"] == "share of users (%)"
    assert spec["encoding"]["color"]["scale"] == {
        "domain": ["March 2026", "May 2026"],
        "range": [REFERENCE_COLOR, CURRENT_COLOR],
    }
    shares = data.set_index(["month", "bin"])["share"]
    assert shares[("May 2026", "0")] == 100.0 and round(shares[("March 2026", "0")], 1) == 9.1  # same bins, both months
    assert set(data.month) == {"March 2026", "May 2026"} and shares["May 2026"].sum() == 100.0
    login_stats = at.table[0].value
    assert list(login_stats.columns) == ["March 2026", "May 2026"]
    assert login_stats.loc["users", "March 2026"] == f"{reference_users(stored_runs):,}"
    assert login_stats.loc["p50", "May 2026"] == "0.00" and login_stats.loc["mean", "May 2026"] == "0.00"
    scores = {m.label: m.value for m in at.metric}
    assert "Drift score" in scores
    _make_report(at)  # the first visitor of a run asks for Evidently's report; later ones find it made
    assert b"<html" in downloads[f"evidently-{stored_runs['closed']}.html"][:2000].lower()


def test_report_embeds_on_request(app_env, stored_runs) -> None:
    app_env(stored_runs["state"])
    at = open_page("drift.py", stored_runs["open"])
    assert not at.get("iframe")
    _make_report(at)
    at.toggle(key="show_report").set_value(True).run()
    assert not at.exception
    assert len(at.get("iframe")) == 1


def _make_report(at) -> None:  # type: ignore[no-untyped-def]
    """Click "Make the Evidently report" when the run has none yet (the session's shared state may have it)."""
    if [b for b in at.button if b.key == "make_report"]:
        at.button(key="make_report").click().run()
        assert not at.exception
    assert [b for b in at.get("download_button") if "Evidently" in str(b.proto.label)]
