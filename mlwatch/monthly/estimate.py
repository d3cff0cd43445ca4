"""Estimated performance before actuals: direct loss estimation (DLE), in the style NannyML describes.

On the reference month, where each user's next-month purchases are known, a
second model learns each user's absolute error from the features and the
prediction. Applied to the current month, the mean of its estimates is the
estimated MAE, available a month before the actual MAE.

The errors it learns from are honest: out-of-fold predictions of models
trained like the production model on the other folds. The error model itself
is cross-fitted too, so its residuals on the reference month give a
calibration set for the interval.

Plain DLE assumes the link from inputs to error does not change, so it cannot
see errors caused by inputs broken in ways never seen in the reference month
(an event renamed, so a count becomes 0 for every user, makes users look
*less* active: their predicted error falls while their real error rises). The
error model is therefore also shown copies of the reference month in which
one feature at a time is zeroed, with the primary model's real errors on
them: it learns what a vanished event does to the predictions. These copies
carry a small weight, so where genuine reference rows exist they dominate.

Cost: the error model learns from a seeded uniform sample of at most
``FIT_ROWS`` reference users (its out-of-fold models, stress copies and
cross-fitting all run on the sample); only applying it to the current month
touches every user. A month of a million users costs a few seconds, not a
minute, and the interval accounts for the sample's size.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from sklearn.ensemble import HistGradientBoostingRegressor

from mlwatch.monthly.model import predict_rows, seeded_sample, thread_limit
from mlwatch.summary import MaeEstimate

FOLDS = 5
CALIBRATION_FOLDS = 3
CONFIDENCE = 0.90
BOOTSTRAP = 2000
STRESS_WEIGHT = 0.25
SEED = 0
# The error model learns from at most this many reference users (a seeded uniform sample); applying it to a
# million current users costs one prediction per distinct row (``model.predict_rows``).
FIT_ROWS = 30_000


@dataclass(frozen=True)
class ErrorModel:
    """A fitted error model and the calibration residuals of the reference month."""

    estimator: BinnedRegressor
    features: tuple[str, ...]
    residuals: np.ndarray
    reference_mae: float


@dataclass(frozen=True)
class HeldOut:
    """Honest predictions on (a sample of) the reference month, shared by the estimators of this module and
    ``ranking``: each user scored by a model trained like the production model on the other folds, and the
    same rows with one feature at a time zeroed (``stressed_*``, feature by feature), scored the same way."""

    x: np.ndarray
    y: np.ndarray
    prediction: np.ndarray
    stressed_x: np.ndarray
    stressed_prediction: np.ndarray
    features: tuple[str, ...]

    @property
    def stressed_y(self) -> np.ndarray:
        """The real next-month purchases of the stressed copies (those of the rows they copy)."""
        return np.tile(self.y, len(self.stressed_x) // len(self.y)) if len(self.y) else np.zeros(0)


def held_out_predictions(
    reference: pd.DataFrame,
    features: list[str],
    primary: Any,
    seed: int = SEED,
    max_rows: int | None = FIT_ROWS,
    fitted: bool = False,
) -> HeldOut:
    """Out-of-fold predictions of ``primary`` on the reference month, plainly and with each feature zeroed.

    Args:
        reference: the reference month's features and ``target`` (next-month purchases).
        primary: an unfitted scikit-learn regressor configured like the production model.
        max_rows: use a seeded uniform sample of at most this many users (None: every user).
        fitted: ``primary`` is the team's production model, trained before the reference month: its own
            predictions are honest, so it scores every row (and the zeroed copies) without refitting.
    """
    x = reference[features].to_numpy(dtype="float64")
    y = reference["target"].to_numpy(dtype="float64")
    if max_rows is not None and len(x) > max_rows:
        keep = seeded_sample(len(x), max_rows, seed)
        x, y = x[keep], y[keep]
    if fitted:
        stressed_x, stressed_prediction = _stressed(x, [primary], [np.arange(len(x))])
        return HeldOut(x, y, predict_rows(primary, x), stressed_x, stressed_prediction, tuple(features))
    with thread_limit(len(x)):
        return _held_out(x, y, features, primary, seed)


def _held_out(x: np.ndarray, y: np.ndarray, features: list[str], primary: Any, seed: int) -> HeldOut:
    from sklearn.base import clone
    from sklearn.model_selection import KFold

    folds = list(KFold(FOLDS, shuffle=True, random_state=seed).split(x)) if len(x) >= 2 * FOLDS else []
    if not folds:
        fitted = clone(primary).fit(x, y)
        models, tests, oof = [fitted], [np.arange(len(x))], fitted.predict(x)
    else:

        def fit(rows: np.ndarray) -> Any:
            with thread_limit(0):  # OpenMP's limit is per thread: one each, two threads at a time
                return clone(primary).fit(x[rows], y[rows])

        with ThreadPoolExecutor(2) as pool:  # independent fits, two at a time on two cores
            models = list(pool.map(fit, [train for train, _ in folds]))
        oof, tests = np.zeros(len(x)), [test for _, test in folds]
        for fold_model, test in zip(models, tests):
            oof[test] = fold_model.predict(x[test])
    stressed_x, stressed_prediction = _stressed(x, models, tests)
    return HeldOut(x, y, oof, stressed_x, stressed_prediction, tuple(features))


def fit_error_model(
    reference: pd.DataFrame,
    features: list[str],
    primary: Any,
    seed: int = SEED,
    stress: bool = True,
    max_rows: int | None = FIT_ROWS,
    held_out: HeldOut | None = None,
) -> ErrorModel:
    """Learn each user's absolute error on the reference month.

    Args:
        reference: the reference month's features and ``target`` (next-month purchases).
        primary: an unfitted scikit-learn regressor configured like the production model.
        max_rows: learn from a seeded uniform sample of at most this many users (None: every user).
        held_out: the reference month's held-out predictions when already computed (``held_out_predictions``).
    """
    held = held_out or held_out_predictions(reference, features, primary, seed, max_rows)
    with thread_limit(len(held.x)):
        return _fit_errors(held, seed, stress)


def estimate_mae(model: ErrorModel, current: pd.DataFrame, seed: int = SEED) -> MaeEstimate:
    """Estimate the MAE of ``current['prediction']`` before its actuals exist.

    The interval is bootstrapped from the calibration residuals (actual minus
    estimated absolute error of held-out reference users). It adds two
    uncertainties: the current month's own noise (the mean of as many
    residuals as the month has users) and the error model's, which learnt
    from one month of finite size (the spread of the mean residual over the
    reference month's users).
    """
    per_user = predict_errors(model, current)
    estimate = float(per_user.mean()) if len(per_user) else 0.0
    rng = np.random.default_rng(seed)
    # Centred: the mean residual of a cross-fitted error model is itself noisy, so it is not used as a correction.
    residuals = model.residuals - model.residuals.mean()
    noise = _bootstrap_means(rng, residuals, max(1, len(per_user)))
    learning = _bootstrap_means(rng, residuals, len(residuals))
    low, high = np.quantile(noise + learning, [(1 - CONFIDENCE) / 2, (1 + CONFIDENCE) / 2])
    return MaeEstimate(
        estimate,
        max(0.0, estimate + float(low)),
        max(0.0, estimate + float(high)),
        CONFIDENCE,
        model.reference_mae,
        len(per_user),
        len(model.residuals),
    )


def _bootstrap_means(rng: np.random.Generator, values: np.ndarray, size: int) -> np.ndarray:
    """Means of ``BOOTSTRAP`` resamples of ``size`` values (normal approximation for large sizes)."""
    if size * BOOTSTRAP <= 4_000_000:
        return rng.choice(values, size=(BOOTSTRAP, size), replace=True).mean(axis=1)
    return rng.normal(values.mean(), values.std() / np.sqrt(size), BOOTSTRAP)


def predict_errors(model: ErrorModel, frame: pd.DataFrame) -> np.ndarray:
    """Return each user's estimated absolute error (never below 0)."""
    if frame.empty:
        return np.zeros(0)
    inputs = _inputs(
        frame[list(model.features)].to_numpy(dtype="float64"), frame["prediction"].to_numpy(dtype="float64")
    )
    return np.clip(predict_rows(model.estimator, inputs), 0.0, None)


def _fit_errors(held: HeldOut, seed: int, stress: bool) -> ErrorModel:
    from sklearn.model_selection import KFold

    x, y, oof = held.x, held.y, held.prediction
    stressed_x = held.stressed_x if stress else np.zeros((0, x.shape[1]))
    stressed_pred = held.stressed_prediction if stress else np.zeros(0)
    stressed_y = held.stressed_y if stress else np.zeros(0)
    inputs = np.vstack([_inputs(x, oof), _inputs(stressed_x, stressed_pred)])
    errors = np.concatenate([np.abs(y - oof), np.abs(stressed_y - stressed_pred)])
    weights = np.concatenate([np.ones(len(x)), np.full(len(stressed_x), STRESS_WEIGHT)])
    genuine = np.arange(len(x))
    # Cross-fitted residuals on genuine rows: the calibration set of the interval.
    residuals = np.zeros(len(x))
    calibration_folds = (
        KFold(CALIBRATION_FOLDS, shuffle=True, random_state=seed + 1).split(x) if len(x) >= 2 * FOLDS else []
    )
    copies = x.shape[1] if len(stressed_x) else 0

    def fit(rows: np.ndarray | None) -> BinnedRegressor:
        keep = (
            np.arange(len(inputs))
            if rows is None
            else np.concatenate([rows, len(x) + _stressed_rows(rows, len(x), copies)]).astype(int)
        )
        with thread_limit(0):  # OpenMP's limit is per thread: one each, two threads at a time
            return _error_estimator(seed).fit(inputs[keep], errors[keep], sample_weight=weights[keep])

    # The calibration folds and the final model are independent fits: two at a time on two cores.
    folds = list(calibration_folds)
    with ThreadPoolExecutor(2) as pool:
        *fitted, estimator = pool.map(fit, [train for train, _ in folds] + [None])
    for fold, (_, test) in zip(fitted, folds):
        residuals[test] = errors[test] - np.clip(fold.predict(inputs[test]), 0.0, None)
    if not residuals.any():
        residuals = errors[genuine] - np.clip(estimator.predict(inputs[genuine]), 0.0, None)
    return ErrorModel(estimator, held.features, residuals, float(np.abs(y - oof).mean()) if len(y) else 0.0)


def _stressed(x: np.ndarray, models: list[Any], tests: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Copies of the reference rows with one feature zeroed, scored by the fold model that did not see them."""
    blocks_x, blocks_pred = [np.zeros((0, x.shape[1]))], [np.zeros(0)]
    for column in range(x.shape[1] if len(x) else 0):
        broken = x.copy()
        broken[:, column] = 0.0
        pred = np.zeros(len(x))
        for model, test in zip(models, tests):
            pred[test] = predict_rows(model, broken[test])
        blocks_x.append(broken)
        blocks_pred.append(pred)
    return np.vstack(blocks_x), np.concatenate(blocks_pred)


def _stressed_rows(rows: np.ndarray, n: int, columns: int) -> np.ndarray:
    """Indices (within the stressed block) of the copies of ``rows``."""
    return np.concatenate([rows + column * n for column in range(columns)] + [np.zeros(0, dtype=int)])


def _inputs(x: np.ndarray, prediction: np.ndarray) -> np.ndarray:
    return np.column_stack([x, prediction])


def _error_estimator(seed: int) -> BinnedRegressor:
    from sklearn.ensemble import HistGradientBoostingRegressor

    return BinnedRegressor(
        HistGradientBoostingRegressor(
            max_iter=100, learning_rate=0.05, max_leaf_nodes=15, min_samples_leaf=40, random_state=seed
        )
    )


class BinnedRegressor:
    """A gradient-boosting regressor that learns from each distinct row of its binned inputs once.

    Inputs with more than ``MAX_BINS`` distinct values are first cut at their weighted quantiles: the bins
    HistGradientBoosting makes of such a column itself, but scikit-learn sorts the column once for each of
    its 254 weighted quantiles (2 s of a million-user run's estimate), where one sort does here.

    Rows whose binned inputs are equal get the same prediction at every step of boosting, so they are
    learnt as one row weighing their summed weight, with their weighted mean target: for the squared error
    and the Poisson loss every sum of gradients and hessians, hence every split and leaf value, is the one
    the rows give separately (150,000 held-out rows and zeroed copies of a million-user month are 8,868
    distinct rows: the fits take a quarter of the time). What differs: ``min_samples_leaf`` counts distinct
    rows, and early stopping, which scikit-learn turns on above 10,000 rows, sees the distinct rows.
    """

    def __init__(self, estimator: HistGradientBoostingRegressor) -> None:
        self.estimator = estimator
        self.edges: list[np.ndarray | None] = []
        self.rows = (0, 0)  # rows given, distinct rows learnt from

    def fit(self, x: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None) -> BinnedRegressor:
        self.edges = [_quantile_edges(column, sample_weight) for column in x.T]
        binned = np.ascontiguousarray(self._bins(x), dtype="float64")
        weights = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype="float64")
        keep = weights > 0
        binned, targets, weights = binned[keep], np.asarray(y, dtype="float64")[keep], weights[keep]
        rows = binned.view(np.dtype((np.void, binned.dtype.itemsize * binned.shape[1]))).ravel()
        _, first, group = np.unique(rows, return_index=True, return_inverse=True)
        summed = np.bincount(group, weights=weights)
        mean_target = np.bincount(group, weights=weights * targets) / summed
        self.rows = (len(y), len(first))
        self.estimator.fit(binned[first], mean_target, sample_weight=summed)
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.estimator.predict(self._bins(x))

    def _bins(self, x: np.ndarray) -> np.ndarray:
        if all(edges is None for edges in self.edges):
            return x
        binned = x.copy()
        for column, edges in enumerate(self.edges):
            if edges is not None:
                values = x[:, column]
                binned[:, column] = np.where(np.isnan(values), np.nan, np.searchsorted(edges, values, side="left"))
        return binned


MAX_BINS = 255  # HistGradientBoosting's default


def _quantile_edges(column: np.ndarray, weights: np.ndarray | None) -> np.ndarray | None:
    """The bin edges of a column with more than ``MAX_BINS`` distinct values (None: the values are the bins)."""
    known = ~np.isnan(column)
    values = column[known]
    if len(np.unique(values)) <= MAX_BINS:
        return None
    share = np.linspace(0.0, 1.0, MAX_BINS + 1)[1:-1]
    used = weights[known] if weights is not None else None
    return np.unique(np.quantile(values, share, weights=used, method="inverted_cdf"))
