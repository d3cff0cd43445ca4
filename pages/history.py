"""History: every month's checks, volumes and model performance over time; any month opens from a chart."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from mlwatch.errors import MlwatchError
from mlwatch.months import month_name
from mlwatch.present import history_charts as charts
from mlwatch.present.report import history_columns
from mlwatch.state.history import (
    History,
    campaign_table,
    first_failures,
    history_table,
    load_history,
    metric_frame,
    month_to_date,
    state_version,
)
from mlwatch.summary import RunSummary
from pages import _shared

OPEN_PICKER_KEY = "history_month"
FEATURE_KEY = "history_feature"
VIEW_KEY = "history_view"
VIEWS = ("Data checks", "Volume and ingest", "Model performance", "Month to date")


@st.cache_data(show_spinner=False, max_entries=4)
def _load(state: str, version: tuple[int, ...]) -> tuple[History, pd.DataFrame]:
    """The history and its long metric table; ``version`` changes whenever the state is written."""
    history = load_history(state)
    return history, metric_frame(history)


def _open(run_id: str) -> None:
    _shared.select_run(run_id)
    st.switch_page("pages/overview.py")


def _chart(figure: Any, key: str, history: History) -> None:
    """Draw a figure; clicking a point opens that month's run on the Overview page."""
    event = st.plotly_chart(figure, width="stretch", key=key, on_select="rerun", selection_mode="points")
    points = event.selection.points if event and event.selection else []
    if points:
        point = points[0]
        run_id = point.get("customdata")
        if isinstance(run_id, list):
            run_id = run_id[0] if run_id else None
        _open(run_id or history.run_of(str(point.get("x"))) or "")


def _month_picker(history: History, selected: RunSummary | None) -> None:
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    months = list(reversed(history.months))
    if selected is not None and selected.current_month in months and OPEN_PICKER_KEY not in st.session_state:
        st.session_state[OPEN_PICKER_KEY] = selected.current_month  # the month the sidebar shows
    month = left.selectbox(
        "Open a month",
        months,
        key=OPEN_PICKER_KEY,
        format_func=lambda m: f"{month_name(m)} · gate {next(r['gate'] for r in history.runs if r['month'] == m)}",
        help="Or click a point on any chart.",
    )
    if right.button("Open on Overview", key="history_open", icon=":material/open_in_new:"):
        _open(history.run_of(month) or "")


def _checks_tab(history: History, frame: pd.DataFrame, selected: RunSummary | None) -> None:
    features = list(dict.fromkeys(frame["feature"].dropna()))  # in the config's order
    if not features:
        return
    failing = [c.feature for c in (selected.failed if selected else ()) if c.feature in features]
    if failing and FEATURE_KEY not in st.session_state:
        st.session_state[FEATURE_KEY] = failing[0]  # open on what broke in the sidebar's month
    feature = st.selectbox("Feature", features, key=FEATURE_KEY, format_func=lambda f: f.replace("_", " ").capitalize())
    left, right = st.columns(2)
    with left:
        _chart(charts.check_figure(frame, "zero_rate", feature), "chart_zero_rate", history)
        _chart(charts.check_figure(frame, "drift", feature), "chart_drift", history)
    with right:
        _chart(charts.check_figure(frame, "missing_rate", feature), "chart_missing_rate", history)
        _chart(charts.check_figure(frame, "prediction_drift"), "chart_prediction_drift", history)


def _volume_tab(history: History, frame: pd.DataFrame) -> None:
    left, right = st.columns(2)
    with left:
        _chart(charts.check_figure(frame, "events"), "chart_events", history)
        _chart(charts.check_figure(frame, "rejected_rows"), "chart_rejected", history)
    with right:
        _chart(charts.check_figure(frame, "users"), "chart_users", history)
        _chart(charts.check_figure(frame, "duplicates"), "chart_duplicates", history)
    st.caption(
        "Rejected rows are a share of every row read by that month's run (rejected lines often have no "
        "usable timestamp, so they cannot be given a month)."
    )


def _performance_tab(history: History, frame: pd.DataFrame) -> None:
    left, right = st.columns(2)
    with left:
        _chart(charts.mae_figure(frame), "chart_mae", history)
    with right:
        _chart(charts.ranking_figure(frame), "chart_lift", history)
    st.caption(
        "The estimates come before the month's purchases are known: the error by direct loss estimation, the "
        "lift of the top 10% and the purchases per user from a model of what users really buy, learnt on the "
        "reference month's held-out users (also with one event at a time missing). The actual figures appear "
        "once the following month is in the logs. Where both exist, compare them to see how far the "
        "estimates can be trusted."
    )
    _chart(charts.calibration_figure(frame), "chart_calibration", history)
    if not frame["metric"].str.startswith("actual_").any():
        st.info(
            "No actual performance yet: it is measured once the month after a run's month is complete in the "
            "logs (`python -m mlwatch actuals --logs PATH`, or any later run or backfill)."
        )
        return
    left, right = st.columns(2)
    with left:
        _chart(
            charts.actual_figure(frame, ("r2",), "Actual R² of the list", "R² (1 = perfect, 0 = average)"),
            "chart_r2",
            history,
        )
        _chart(
            charts.actual_figure(
                frame,
                ("precision_top10", "precision_top20"),
                "Precision of the top of the list",
                "users also among the top buyers (%)",
                percent=True,
            ),
            "chart_precision",
            history,
        )
    with right:
        _chart(
            charts.actual_figure(
                frame, ("poisson_deviance",), "Actual Poisson deviance", "mean Poisson deviance (lower is better)"
            ),
            "chart_deviance",
            history,
        )
    campaigns = campaign_table(history)
    if not campaigns.empty:
        st.subheader("Campaign vs control group")
        st.caption(
            "Actual purchases per user the month after the export; the interval is a 95% Welch interval. "
            "An interval that includes 0 means the campaign's effect is not shown yet."
        )
        st.dataframe(campaigns, hide_index=True, width="stretch")


def render() -> None:
    st.title("History")
    state = str(_shared.state_path())
    try:
        history, frame = _load(state, state_version(state))
    except MlwatchError as exc:
        st.error(f"{exc}")
        return
    if not history.runs:
        st.info(
            "No runs yet. Store a run per month with "
            "`python -m mlwatch backfill --logs sample_logs --reference 2026-03`, then come back."
        )
        return
    compare = _shared.app_config().history.compare
    st.caption(
        f"{len(history.runs)} month(s), the newest run of each. Backfill compares each month with "
        + ("a fixed reference month." if compare == "reference" else "the month before it.")
        + " Red points are failed checks; dashed lines are the limits."
    )
    selected = _shared.current_run()
    _month_picker(history, selected)
    table = history_columns(pd.DataFrame(history_table(history)))
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        key="history_table",
        column_config={
            c: st.column_config.NumberColumn(c, format="percent")
            for c in table.columns
            if c.endswith((" count 0", " unknown"))
        },
    )
    # Only the chosen view is drawn: a page of every chart would keep the browser busy for seconds.
    view = st.segmented_control("View", VIEWS, default=VIEWS[0], key=VIEW_KEY, label_visibility="collapsed")
    if view == "Volume and ingest":
        _volume_tab(history, frame)
    elif view == "Model performance":
        _performance_tab(history, frame)
    elif view == "Month to date":
        _month_to_date_tab(state)
    else:
        _checks_tab(history, frame, selected)


def _month_to_date_tab(state: str) -> None:
    months = month_to_date(state)
    if not months:
        st.info(
            "No month-to-date run yet. A daily `python -m mlwatch run ... --as-of YYYY-MM-DD` (or "
            "`backfill --daily YYYY-MM`) shows here on which day each check first failed."
        )
        return
    month = st.selectbox("Month", sorted(months, reverse=True), key="history_mtd_month")
    days = months[month]
    first = first_failures(days)
    if first:
        st.markdown("**First failed:** " + "; ".join(f"`{label}` on {day}" for label, day in first.items()))
    else:
        st.success(f"No check failed in {len(days)} month-to-date run(s) of {month}.")
    st.altair_chart(charts.month_to_date_chart(days), width="stretch", key="history_mtd_chart")


_shared.guard_page()
render()
