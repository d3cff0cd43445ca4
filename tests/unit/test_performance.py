"""Actual performance against independent computations, and the campaign's effect against a control group."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import mean_absolute_error, mean_poisson_deviance, r2_score

from mlwatch.actuals import actual_metrics, campaign_effect

# Ten users: what they bought the next month and what the list predicted.
ACTUAL = np.array([0, 0, 1, 0, 3, 0, 2, 5, 0, 1], dtype=float)
PREDICTED = np.array([0.1, 0.3, 0.8, 0.2, 2.5, 0.05, 1.0, 4.0, 0.6, 0.4])


def test_r2_mae_and_poisson_deviance_match_scikit_learn() -> None:
    figures = actual_metrics(ACTUAL, PREDICTED)
    assert figures["users"] == 10
    assert figures["r2"] == pytest.approx(r2_score(ACTUAL, PREDICTED))
    assert figures["mae"] == pytest.approx(mean_absolute_error(ACTUAL, PREDICTED))
    assert figures["poisson_deviance"] == pytest.approx(mean_poisson_deviance(ACTUAL, PREDICTED))
    # By hand: MAE is the mean absolute difference.
    assert figures["mae"] == pytest.approx(np.mean(np.abs(ACTUAL - PREDICTED)))


def test_precision_and_lift_of_the_top_of_the_list_by_hand() -> None:
    figures = actual_metrics(ACTUAL, PREDICTED)
    # Top 10% = 1 user: the best prediction (4.0) bought 5, the most of anyone.
    assert figures["precision_top10"] == 1.0
    assert figures["lift_top10"] == pytest.approx(5 / ACTUAL.mean())
    # Top 20% = 2 users (4.0 and 2.5: bought 5 and 3); the 2 best buyers bought 5 and 3.
    assert figures["precision_top20"] == 1.0
    assert figures["lift_top20"] == pytest.approx(4 / ACTUAL.mean())


def test_a_list_in_the_wrong_order_has_no_precision_and_lift_below_one() -> None:
    reversed_list = -PREDICTED + 10  # the worst users first
    figures = actual_metrics(ACTUAL, reversed_list)
    assert figures["precision_top10"] == 0.0 and figures["precision_top20"] == 0.0
    assert figures["lift_top10"] == 0.0  # the top user (0.05 predicted before) bought nothing
    assert figures["r2"] == pytest.approx(r2_score(ACTUAL, reversed_list)) and figures["r2"] < 0


def test_precision_on_a_larger_list_matches_a_direct_count() -> None:
    rng = np.random.default_rng(3)
    actual = rng.poisson(rng.lognormal(0, 1, 1000)).astype(float)
    predicted = actual + rng.normal(0, 2, 1000)
    figures = actual_metrics(actual, predicted)
    for share in (10, 20):
        k = share * 10
        top_predicted = np.argsort(-predicted, kind="stable")[:k]
        cutoff = np.sort(actual)[-k]
        assert figures[f"precision_top{share}"] == pytest.approx(
            np.mean((actual[top_predicted] >= cutoff) & (actual[top_predicted] > 0))
        )
        assert figures[f"lift_top{share}"] == pytest.approx(actual[top_predicted].mean() / actual.mean())


def test_too_few_users_give_no_figures_rather_than_an_error() -> None:
    figures = actual_metrics(np.array([1.0]), np.array([0.5]))
    assert figures["r2"] is None and figures["mae"] is None and figures["precision_top10"] is None


def test_campaign_effect_is_the_difference_of_means_with_a_welch_interval() -> None:
    campaign = np.array([2, 3, 1, 4, 2, 3, 5, 2, 3, 3], dtype=float)  # mean 2.8
    control = np.array([1, 2, 0, 1, 2, 1, 3, 0, 1, 1], dtype=float)  # mean 1.2
    effect = campaign_effect(campaign, control)
    assert (effect["campaign_users"], effect["control_users"]) == (10, 10)
    assert effect["campaign_mean"] == pytest.approx(2.8) and effect["control_mean"] == pytest.approx(1.2)
    assert effect["difference"] == pytest.approx(1.6)
    welch = stats.ttest_ind(campaign, control, equal_var=False).confidence_interval(0.95)
    assert (effect["ci_low"], effect["ci_high"]) == (pytest.approx(welch.low), pytest.approx(welch.high))
    assert 0 < effect["ci_low"] < 1.6 < effect["ci_high"]  # the campaign measurably worked


def test_a_campaign_without_effect_has_an_interval_around_zero() -> None:
    rng = np.random.default_rng(0)
    effect = campaign_effect(rng.poisson(1.0, 5000).astype(float), rng.poisson(1.0, 500).astype(float))
    assert effect["ci_low"] < 0 < effect["ci_high"]
    assert effect["ci_high"] - effect["ci_low"] < 0.25


def test_a_control_group_too_small_gives_no_interval() -> None:
    effect = campaign_effect(np.array([1.0, 2.0, 3.0]), np.array([1.0]))
    assert effect["difference"] is None and effect["ci_low"] is None and effect["control_users"] == 1
