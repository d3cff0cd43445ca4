"""The purchase model: a scikit-learn Poisson regressor trained on the reference month."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.metrics import mean_absolute_error, r2_score
from sklearn.model_selection import train_test_split

TOP_SHARE = 0.10
SEED = 0


@dataclass(frozen=True)
class TrainedModel:
    """A fitted model with the figures measured on a held-out fifth of the reference month."""

    estimator: HistGradientBoostingRegressor
    features: tuple[str, ...]
    train_rows: int
    validation: dict[str, float | None]


def train_model(reference: pd.DataFrame, features: list[str]) -> TrainedModel:
    """Fit a Poisson gradient-boosting regressor of ``target`` on the features.

    A fifth of the users is held out to report R2, MAE and top-10% precision;
    the model fitted on the other four fifths is the one used (refitting on
    every row would double the training time for no visible gain in ranking).
    """
    x, y = reference[features].to_numpy(dtype="float64"), reference["target"].to_numpy(dtype="float64")
    if len(reference) < 50:
        validation: dict[str, float | None] = {"r2": None, "mae": None, "precision_top10": None}
        return TrainedModel(_estimator().fit(x, y), tuple(features), len(reference), validation)
    x_fit, x_val, y_fit, y_val = train_test_split(x, y, test_size=0.2, random_state=SEED)
    estimator = _estimator().fit(x_fit, y_fit)
    return TrainedModel(estimator, tuple(features), len(y_fit), evaluate_predictions(y_val, estimator.predict(x_val)))


def describe_model(estimator: object) -> str:
    """The estimator as scikit-learn prints it with its non-default parameters, on one line."""
    return " ".join(repr(estimator).split())


def predict(model: TrainedModel, frame: pd.DataFrame) -> np.ndarray:
    """Return the predicted next-month purchase count of each row."""
    return model.estimator.predict(frame[list(model.features)].to_numpy(dtype="float64"))


def evaluate_predictions(actual: np.ndarray, predicted: np.ndarray) -> dict[str, float | None]:
    """Return R2, MAE and the precision of the top 10% of the list.

    Precision of the top 10%: the share of the users ranked in the top 10% by
    prediction who are also in the top 10% by actual purchases (ties at the
    cut-off count as in; a user with no purchase never does).
    """
    actual = np.asarray(actual, dtype="float64")
    predicted = np.asarray(predicted, dtype="float64")
    if len(actual) < 2:
        return {"r2": None, "mae": None, "precision_top10": None}
    k = max(1, math.ceil(TOP_SHARE * len(actual)))
    top_predicted = np.argsort(-predicted, kind="stable")[:k]
    cutoff = np.sort(actual)[::-1][k - 1]
    hits = np.sum((actual[top_predicted] >= cutoff) & (actual[top_predicted] > 0))
    return {
        "r2": float(r2_score(actual, predicted)),
        "mae": float(mean_absolute_error(actual, predicted)),
        "precision_top10": float(hits / k),
    }


def _estimator() -> HistGradientBoostingRegressor:
    return HistGradientBoostingRegressor(loss="poisson", max_iter=200, learning_rate=0.05, random_state=SEED)
