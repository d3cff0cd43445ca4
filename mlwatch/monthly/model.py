"""The purchase model: a scikit-learn Poisson regressor trained on the reference month.

Cost at a million users: the model learns from a seeded uniform sample of at most ``FIT_ROWS`` users
(fitting every user took 4-6 s for a held-out R2 0.005 higher, within the noise of the figure; docs/BENCHMARKS.md),
and every prediction is made once per distinct feature row (``predict_rows``): monthly counts repeat, so a
million users have a few tens of thousands of distinct rows, and the predictions are exactly those of every row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from sklearn.ensemble import HistGradientBoostingRegressor

TOP_SHARE = 0.10
SEED = 0
# The model learns from a seeded uniform sample of at most this many of the reference month's training users.
FIT_ROWS = 100_000
# Below this many rows one thread is faster: OpenMP's start-up and spinning dominate (a 1,600-user fit: 4.0 s on
# both cores against 0.25 s on one, the same trees), worst on a busy machine.
SINGLE_THREAD_ROWS = 200_000


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
    the model fitted on the other four fifths (a seeded sample of ``FIT_ROWS`` of
    them when there are more) is the one used (refitting on every row would
    double the training time for no visible gain in ranking).
    """
    x, y = reference[features].to_numpy(dtype="float64"), reference["target"].to_numpy(dtype="float64")
    if len(reference) < 50:
        validation: dict[str, float | None] = {"r2": None, "mae": None, "precision_top10": None}
        return TrainedModel(_fit(x, y), tuple(features), len(reference), validation)
    fit, validate, _ = split_rows(len(x))
    estimator = _fit(x[fit], y[fit])
    validation = evaluate_predictions(y[validate], predict_rows(estimator, x[validate]))
    return TrainedModel(estimator, tuple(features), len(fit), validation)


def split_rows(rows: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``train_model``'s rows of a reference month of ``rows`` users (at least 50): the rows it fits, the fifth it
    validates on (in the split's order), and every row it never saw (the validation fifth and the rows left out of
    the fitted sample, in row order)."""
    from sklearn.model_selection import train_test_split

    fit, validate = train_test_split(np.arange(rows), test_size=0.2, random_state=SEED)
    if len(fit) <= FIT_ROWS:
        return fit, validate, np.sort(validate)
    keep = np.zeros(len(fit), dtype=bool)
    keep[seeded_sample(len(fit), FIT_ROWS, SEED)] = True
    return fit[keep], validate, np.sort(np.concatenate([validate, fit[~keep]]))


def seeded_sample(rows: int, size: int, seed: int) -> np.ndarray:
    """The positions, in order, of a seeded uniform sample of ``size`` of ``rows`` rows (every row when there are
    no more): the same arguments always give the same rows."""
    if rows <= size:
        return np.arange(rows)
    return np.sort(np.random.default_rng(seed).choice(rows, size=size, replace=False))


def describe_model(estimator: object) -> str:
    """The estimator as scikit-learn prints it with its non-default parameters, on one line."""
    return " ".join(repr(estimator).split())


def predict(model: TrainedModel, frame: pd.DataFrame) -> np.ndarray:
    """Return the predicted next-month purchase count of each row."""
    return predict_rows(model.estimator, frame[list(model.features)].to_numpy(dtype="float64"))


def predict_rows(estimator: Any, x: np.ndarray) -> np.ndarray:
    """``estimator.predict(x)``, computed once per distinct row of ``x`` (a deterministic model gives equal rows
    equal predictions, so the result is exactly the same)."""
    if len(x) < 1_000:
        with thread_limit(len(x)):
            return estimator.predict(x)
    groups = pd.DataFrame(x).groupby(list(range(x.shape[1])), sort=False, dropna=False).ngroup().to_numpy()
    first = np.unique(groups, return_index=True)[1]  # the first row of each group, in group order
    with thread_limit(len(first)):
        return estimator.predict(x[first])[groups]


def thread_limit(rows: int) -> Any:
    """One OpenMP thread for scikit-learn's work on fewer than ``SINGLE_THREAD_ROWS`` rows (a context manager)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1 if rows < SINGLE_THREAD_ROWS else None, user_api="openmp")


def evaluate_predictions(actual: np.ndarray, predicted: np.ndarray) -> dict[str, float | None]:
    """Return R2, MAE and the precision of the top 10% of the list.

    Precision of the top 10%: the share of the users ranked in the top 10% by
    prediction who are also in the top 10% by actual purchases (ties at the
    cut-off count as in; a user with no purchase never does).
    """
    from sklearn.metrics import mean_absolute_error, r2_score

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


def _fit(x: np.ndarray, y: np.ndarray) -> HistGradientBoostingRegressor:
    with thread_limit(len(x)):
        return _estimator().fit(x, y)


def _estimator() -> HistGradientBoostingRegressor:
    from sklearn.ensemble import HistGradientBoostingRegressor

    return HistGradientBoostingRegressor(loss="poisson", max_iter=200, learning_rate=0.05, random_state=SEED)
