"""Estimated ranking and calibration of the list before its actuals: what the campaign depends on.

The campaign takes the top of the list (its ranking) and plans on the purchases the list predicts
(its calibration). An estimated MAE can read "better than usual" on a broken month: when an input
breaks, the predictions collapse towards 0 and lose little absolute error where most users buy
nothing. So this module estimates the two figures themselves.

A purchase model learns each reference user's real next-month purchases from the features and the
honest (out-of-fold) prediction (``estimate.HeldOut``). A per-user model cannot tell a user who
never logs in from a feed that broke, but the month can: when a feature reads 0 for far more users
than in the reference month, that share of users has lost it (``vanished_shares``). The purchase
model therefore also learns from the reference month's copies with that feature zeroed (scored by
the fold models, paired with the users' real purchases), weighted by that share: a month whose
logins all read 0 is estimated from reference users whose logins were zeroed, so it learns what
such users really buy. A healthy month's shares are about 0 and it learns from genuine rows only.
On the current month the model gives each user's expected purchases; then

- the estimated lift of the top ``TOP_SHARE`` is the expected purchases of the top of the list
  (ranked by the production model's predictions) over everyone's expected purchases;
- the calibration is the list's mean prediction over the mean expected purchases.

A broken input shows mostly in the calibration (the predictions fall far below what the same users
are expected to buy); the ranking on the remaining features is often only a little worse. The
check (``checks/rules.py``) compares both with the reference month's held-out figures. Cost: one
gradient-boosting fit on the rows ``estimate`` already sampled and scored, and one prediction per
current user (of a seeded sample beyond ``SCORE_ROWS``).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from mlwatch.monthly.estimate import SEED, BinnedRegressor, HeldOut
from mlwatch.monthly.model import predict_rows, seeded_sample, thread_limit
from mlwatch.summary import RankingEstimate

TOP_SHARE = 0.10
# The expected purchases of at most this many current users (a seeded uniform sample) estimate the means: the
# sample's top 10% holds 10,000 users (about 1% noise on the lift), and scoring a million users on a busy
# 2-core machine took 5 s where the sample takes under 2 s.
SCORE_ROWS = 100_000


def estimate_ranking(held: HeldOut, current: pd.DataFrame, seed: int = SEED) -> RankingEstimate:
    """Estimate the lift of the top of ``current['prediction']``'s list and its calibration, before actuals.

    The top of the list is taken over every current user; the expected purchases, which are means, are
    computed on a seeded uniform sample of at most ``SCORE_ROWS`` of them.

    Args:
        held: the reference month's held-out predictions, plain and with each feature zeroed.
        current: the current month's features and ``prediction``.
    """
    x, y, oof = held.x, held.y, held.prediction
    predicted = current["prediction"].to_numpy(dtype="float64")
    in_top = np.zeros(len(predicted), dtype=bool)
    in_top[np.argsort(-predicted, kind="stable")[: max(1, math.ceil(TOP_SHARE * len(predicted)))]] = True
    rows = seeded_sample(len(current), SCORE_ROWS, seed)
    expected = expected_purchases(held, current.iloc[rows], seed)
    return RankingEstimate(
        share=TOP_SHARE,
        lift=_lift(expected, in_top[rows]),
        reference_lift=top_lift(y, oof),
        predicted=float(predicted.mean()) if len(predicted) else 0.0,
        expected=float(expected.mean()) if len(expected) else 0.0,
        reference_predicted=float(oof.mean()) if len(oof) else 0.0,
        reference_actual=float(y.mean()) if len(y) else 0.0,
        rows=len(current),
        fitted_on=len(x),
    )


def _lift(purchases: np.ndarray, in_top: np.ndarray) -> float | None:
    if not in_top.any() or not len(purchases) or purchases.mean() <= 0:
        return None
    return float(purchases[in_top].mean() / purchases.mean())


def expected_purchases(held: HeldOut, current: pd.DataFrame, seed: int = SEED) -> np.ndarray:
    """Each current user's estimated next-month purchases (never below 0), learnt from the reference month's
    held-out rows and zeroed-feature copies, weighted as the current month mixes them (``vanished_shares``)."""
    if current.empty or not len(held.y) or held.y.sum() <= 0:
        return np.zeros(len(current))
    x_current = current[list(held.features)].to_numpy(dtype="float64")
    vanished = vanished_shares(held.x, x_current)
    inputs = np.vstack([_inputs(held.x, held.prediction), _inputs(held.stressed_x, held.stressed_prediction)])
    target = np.concatenate([held.y, held.stressed_y])
    if len(held.stressed_x):
        weights = np.concatenate(
            [np.full(len(held.y), max(0.0, 1.0 - vanished.sum())), np.repeat(vanished, len(held.y))]
        )
    else:  # a scoring job's output: no copies with a feature zeroed, so the genuine rows alone
        weights = np.ones(len(held.y))
    used = weights > 0  # a healthy month learns from the genuine rows only: no time spent on copies it ignores
    scored = _inputs(x_current, current["prediction"].to_numpy(dtype="float64"))
    with thread_limit(int(used.sum())):
        estimator = _purchase_estimator(seed).fit(inputs[used], target[used], sample_weight=weights[used])
    return np.clip(predict_rows(estimator, scored), 0.0, None)


def vanished_shares(reference: np.ndarray, current: np.ndarray) -> np.ndarray:
    """Per feature, the share of the current month's users whose count looks vanished rather than truly 0.

    The rise of the feature's zero share, over the share that could still rise:
    ``(zeros now - zeros before) / (1 - zeros before)``, in 0..1 (1: every user reads 0; the shares sum to
    at most 1). A healthy month's shares are about 0, so its estimate learns from genuine rows only.
    """
    before = (reference == 0).mean(axis=0) if len(reference) else np.zeros(reference.shape[1])
    now = (current == 0).mean(axis=0) if len(current) else before
    room = 1.0 - before
    shares = np.clip(np.divide(now - before, room, out=np.zeros_like(room), where=room > 0), 0.0, 1.0)
    return shares / shares.sum() if shares.sum() > 1 else shares


def top_lift(purchases: np.ndarray, ranking: np.ndarray, share: float = TOP_SHARE) -> float | None:
    """Mean ``purchases`` of the top ``share`` by ``ranking`` over everyone's (None when nobody buys).

    The same definition as the measured lift of ``mlwatch.actuals.lift_at``.
    """
    if not len(purchases) or purchases.mean() <= 0:
        return None
    top = np.argsort(-ranking, kind="stable")[: max(1, math.ceil(share * len(purchases)))]
    return float(purchases[top].mean() / purchases.mean())


def _inputs(x: np.ndarray, prediction: np.ndarray) -> np.ndarray:
    return np.column_stack([x, prediction])


def _purchase_estimator(seed: int) -> BinnedRegressor:
    from sklearn.ensemble import HistGradientBoostingRegressor

    return BinnedRegressor(
        HistGradientBoostingRegressor(
            loss="poisson", max_iter=100, learning_rate=0.05, max_leaf_nodes=15, min_samples_leaf=40, random_state=seed
        )
    )
