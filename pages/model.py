"""Model: how it was trained, what it predicts this month, and how it did once actuals exist."""

from __future__ import annotations

import streamlit as st

from mlwatch.monthly.compare import read_comparisons
from mlwatch.monthly.scorers import ModelSource
from mlwatch.present.charts import prediction_figure
from mlwatch.present.report import labels_of
from mlwatch.summary import RunSummary
from pages import _shared

KIND_WORDS = {"sklearn": "scikit-learn file", "mlflow": "MLflow model", "scores": "scoring job's output"}


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
    source = ModelSource.from_json(model.source) or ModelSource("builtin")
    if source.kind == "builtin":
        st.markdown(f"**Scored by** {source.label}.")
        st.caption(
            f"{model.kind} trained on {model.train_rows:,} users of {ref_label} (a fifth more held out "
            f"for the check below); target: each user's `{model.target}` count in the following month."
        )
        title, empty = f"Held-out check on {ref_label}", "Too few users to hold some out."
    else:
        st.markdown(f"**Scored by the team's model**: {KIND_WORDS[source.kind]} `{source.location}`, {source.version}.")
        st.caption(
            f"mlwatch did not train it: the list is the one this model gives. Target: each user's `{model.target}` "
            "count in the following month. A changed model file refuses the export of a signed-off run."
        )
        title = f"Its figures on {ref_label} (purchases of the following month)"
        empty = "No figures on the reference month: [model] reference_scores is not set."
    changed = next((c for c in run.checks if c.name == "model_changed"), None)
    if changed is not None and changed.status != "pass":
        st.warning(changed.message, icon=":material/swap_horiz:")
    _metrics(title, model.validation, empty)
    histograms = _shared.histograms(str(_shared.state_path()), run.run_id)
    if histograms.get("prediction"):
        st.plotly_chart(
            prediction_figure(histograms["prediction"], (ref_label, cur_label)), width="stretch", key="predictions"
        )
    _comparisons(run)
    actuals = model.actuals_month
    _metrics(
        f"Actual performance on {cur_label}" + (f" (purchases of {actuals})" if actuals else ""),
        model.actual,
        "Actual performance is not available yet: it appears once the month after the current month is in the logs.",
    )


def _comparisons(run: RunSummary) -> None:
    comparisons = read_comparisons(_shared.state_path(), run.run_id)
    if not comparisons:
        st.caption(
            "Compare a challenger with this list before the campaign: "
            f"`python -m mlwatch compare --run {run.run_id} --challenger MODEL_OR_SCORES`."
        )
        return
    st.subheader("Champion and challenger")
    newest = comparisons[0]
    st.markdown(
        f"**Challenger**: {ModelSource(**newest.challenger).label}, compared {newest.at[:16].replace('T', ' ')} UTC "
        f"on {newest.users:,} users."
    )
    top10, top20, correlation = st.columns(3)
    top10.metric("Same users in the top 10%", _shared.pct(newest.overlap.get("top10")),
                 help=f"{newest.entering:,} users would enter the top 10%, {newest.leaving:,} would leave it")  # fmt: skip
    top20.metric("Same users in the top 20%", _shared.pct(newest.overlap.get("top20")))
    correlation.metric(
        "Rank correlation", "n/a" if newest.rank_correlation is None else f"{newest.rank_correlation:.3f}",
        help="Spearman's, over every user both models scored: 1 is the same order",
    )  # fmt: skip
    if newest.actual:
        st.dataframe(
            [{"model": model, **figures} for model, figures in newest.actual.items()],
            hide_index=True,
            width="stretch",
            key="comparison_actual",
        )
    else:
        st.caption("Both models' actual precision and lift appear once the month after this one is in the logs.")


_shared.guard_page()
render()
