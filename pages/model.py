"""Model: how it was trained, what it predicts this month, and how it did once actuals exist."""

from __future__ import annotations

import streamlit as st

from mlwatch.present.charts import prediction_figure
from mlwatch.present.report import labels_of
from pages import _shared


def _metrics(title: str, figures: dict | None, empty: str) -> None:
    st.subheader(title)
    if not figures or figures.get("r2") is None:
        st.info(empty)
        return
    r2, mae, precision = st.columns(3)
    r2.metric("R²", f"{figures['r2']:.3f}", help="1 is perfect, 0 is no better than predicting the average")
    mae.metric("Mean absolute error", f"{figures['mae']:.3f} purchases")
    precision.metric(
        "Precision of the top 10%",
        _shared.pct(figures["precision_top10"]),
        help="share of the top 10% of the list who really were among the top 10% buyers",
    )


def render() -> None:
    run = _shared.page_run("Model")
    if run is None:
        return
    model = run.model
    ref_label, cur_label = labels_of(run)
    st.caption(
        f"{model.kind} trained on {model.train_rows:,} users of {ref_label} (a fifth more held out "
        f"for the check below); target: each user's `{model.target}` count in the following month."
    )
    _metrics(f"Held-out check on {ref_label}", model.validation, "Too few users to hold some out.")
    histograms = _shared.histograms(str(_shared.state_path()), run.run_id)
    st.plotly_chart(
        prediction_figure(histograms["prediction"], (ref_label, cur_label)), width="stretch", key="predictions"
    )
    actuals = model.actuals_month
    _metrics(
        f"Actual performance on {cur_label}" + (f" (purchases of {actuals})" if actuals else ""),
        model.actual,
        "Actual performance is not available yet: it appears once the month after the current month is in the logs.",
    )


_shared.guard_page()
render()
