"""Drift: every feature's distribution in both months, zero and missing rates, and the Evidently report."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from mlwatch.errors import MlwatchError
from mlwatch.present import drift_report
from mlwatch.present.charts import histogram_chart
from mlwatch.present.report import drift_sample_text, drift_table, labels_of, rate_table, stats_table
from mlwatch.summary import RunSummary
from pages import _shared

STATUS_ICON = {"pass": ":material/check_circle:", "warn": ":material/warning:", "fail": ":material/cancel:"}
STATUS_TEXT = {"pass": "pass", "warn": "warn", "fail": "FAIL"}
PERCENT = st.column_config.NumberColumn(format="%.1f%%")
POINTS = st.column_config.NumberColumn(format="%+.1f")


def _rates(run: RunSummary) -> None:
    st.subheader("Share of users with 0")
    ref_label, cur_label = labels_of(run)
    zero = rate_table(run, "zero_rate")
    zero["status"] = zero["status"].map(STATUS_TEXT)
    st.dataframe(
        zero,
        hide_index=True,
        width="stretch",
        key="zero_rate_table",
        column_config={
            f"{ref_label} (%)": PERCENT,
            f"{cur_label} (%)": PERCENT,
            "change (points)": POINTS,
            "allowed change (points)": st.column_config.NumberColumn(format="± %.0f"),
        },
    )
    st.subheader("Share of users with no value")
    missing = rate_table(run, "missing_rate")
    missing["status"] = missing["status"].map(STATUS_TEXT)
    st.dataframe(
        missing,
        hide_index=True,
        width="stretch",
        column_config={
            f"{ref_label} (%)": PERCENT,
            f"{cur_label} (%)": PERCENT,
            "change (points)": POINTS,
            "allowed change (points)": st.column_config.NumberColumn(format="+ %.0f"),
        },
    )


def _features(run: RunSummary) -> None:
    histograms = _shared.histograms(str(_shared.state_path()), run.run_id)
    labels = labels_of(run)
    scores = drift_table(run).set_index("feature")
    st.caption(drift_sample_text(run))
    for name in run.features.names:
        score = scores.loc[name]
        st.subheader(f"{STATUS_ICON[score['status']]} {name}")
        chart, facts = st.columns([3, 2])
        chart.altair_chart(histogram_chart(histograms[name], name, labels), width="stretch", key=f"hist_{name}")
        facts.metric(
            "Drift score",
            f"{score['drift score']:.3f}",
            help="Evidently, normalised Wasserstein distance",
            delta=f"limit {score['threshold']:g}",
            delta_color="off",
            delta_arrow="off",
        )
        facts.table(_formatted(stats_table(run, name)))


def _formatted(stats: pd.DataFrame) -> pd.DataFrame:
    """Numbers as a reader wants them: users in thousands, the rest with two decimals, a dash for none."""

    def cell(row: str, value: float | None) -> str:
        if value is None or pd.isna(value):
            return "–"
        return f"{value:,.0f}" if row == "users" else f"{value:,.2f}"

    return pd.DataFrame(
        {month: [cell(row, v) for row, v in stats[month].items()] for month in stats}, index=stats.index
    )


def _evidently(run: RunSummary) -> None:
    st.subheader("Evidently report")
    state = str(_shared.state_path())
    if not drift_report.report_ready(state, run.run_id):
        st.caption(
            "Evidently's report of this month's drift is made from the run's stored features the first time "
            "someone asks for it (a few seconds at a million users), then kept for everyone."
        )
        if not st.button("Make the Evidently report", key="make_report", icon=":material/analytics:"):
            return
    try:
        with st.spinner("Making the Evidently report…"):
            html = _shared.report_html(state, run.run_id)
    except MlwatchError as exc:
        st.info(f"The Evidently report cannot be shown: {exc}.", icon=":material/info:")
        return
    st.download_button(
        "Download the Evidently report (HTML)",
        html,
        file_name=f"evidently-{run.run_id}.html",
        mime="text/html",
        key="download_report",
        icon=":material/download:",
    )
    if st.toggle("Show the report here", key="show_report"):
        st.components.v1.html(html, height=900, scrolling=True)


def render() -> None:
    run = _shared.page_run("Drift")
    if run is None:
        return
    _rates(run)
    _features(run)
    _evidently(run)


_shared.guard_page()
render()
