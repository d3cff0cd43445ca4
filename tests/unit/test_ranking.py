"""Estimated ranking and calibration before actuals, on generated months where the true figures are known.

The months are those of test_estimate.py: a buying intent shows in logins and purchases only, so a
month whose login event was renamed (every login count 0) really gets a worse list, and its
predictions fall far below what its users go on to buy. The ``estimated_ranking`` check must fail
such a month in every seed and pass the healthy month, and the estimates must be near the actual
figures measured a month later. bench/ranking_alarms.py measures the same over many more seeds: with
the sample's generator, 100 of 100 renamed months raised and 0 of 100 healthy months (about 1,600 users).
"""

from __future__ import annotations

import numpy as np
import pytest

from mlwatch.actuals import lift_at
from mlwatch.checks.rules import MonthLabels, check_estimated_ranking
from mlwatch.config import Thresholds
from mlwatch.monthly.estimate import held_out_predictions
from mlwatch.monthly.ranking import estimate_ranking, top_lift, vanished_shares
from tests.unit.test_estimate import FEATURES, SEEDS, _months, _primary, _score

LABELS = MonthLabels.of("2026-03", "2026-05")
SHARE = Thresholds().estimated_ranking_ratio


@pytest.fixture(scope="module")
def outcomes() -> list[dict[str, object]]:
    """Per seed: the estimate and the actual figures of a healthy month and of the same month with logins renamed."""
    found = []
    for seed in SEEDS:
        reference, current = _months(seed)
        model = _primary().fit(reference[FEATURES].to_numpy(dtype="float64"), reference["target"])
        held = held_out_predictions(reference, FEATURES, _primary())
        for name, month in (("healthy", current), ("broken", current.assign(login=0))):
            scored = _score(model, month)
            found.append(
                {
                    "month": name,
                    "estimate": estimate_ranking(held, scored),
                    "actual_lift": lift_at(scored["target"].to_numpy(), scored["prediction"].to_numpy(), 0.1),
                    "actual_mean": float(scored["target"].mean()),
                }
            )
    return found


def _of(outcomes: list[dict[str, object]], month: str) -> list[dict[str, object]]:
    return [o for o in outcomes if o["month"] == month]


def test_the_broken_month_fails_and_the_healthy_month_passes_in_every_seed(outcomes) -> None:
    statuses = {
        month: [check_estimated_ranking(o["estimate"], SHARE, True, LABELS).status for o in _of(outcomes, month)]
        for month in ("healthy", "broken")
    }
    assert statuses == {"healthy": ["pass"] * len(SEEDS), "broken": ["fail"] * len(SEEDS)}


def test_the_broken_month_is_seen_through_its_calibration(outcomes) -> None:
    # The predictions collapse towards 0 while the users go on buying as before.
    for o in _of(outcomes, "broken"):
        assert o["estimate"].relative_calibration < 0.6
        assert o["estimate"].predicted < 0.6 * o["actual_mean"]
    assert all(o["estimate"].relative_calibration > SHARE for o in _of(outcomes, "healthy"))


def test_the_estimates_are_near_what_the_users_really_bought(outcomes) -> None:
    for o in outcomes:
        estimate = o["estimate"]
        assert estimate.expected == pytest.approx(o["actual_mean"], rel=0.15)
        assert estimate.lift == pytest.approx(o["actual_lift"], rel=0.25)
    # On average the estimated lift is within a few percent of the actual lift, healthy or broken.
    errors = [abs(o["estimate"].lift / o["actual_lift"] - 1) for o in outcomes]
    assert np.mean(errors) < 0.10


def test_a_feature_that_reads_0_for_every_user_counts_as_vanished() -> None:
    reference = np.array([[0, 1], [2, 0], [3, 4], [5, 6]], dtype=float)  # login 0 for a quarter of users
    assert vanished_shares(reference, reference).tolist() == [0.0, 0.0]
    gone = np.array([[0, 1], [0, 2], [0, 3], [0, 0]], dtype=float)
    assert vanished_shares(reference, gone).tolist() == [1.0, 0.0]
    half = np.array([[0, 1], [0, 2], [3, 3], [4, 5]], dtype=float)  # half read 0: a third of the rest vanished
    assert vanished_shares(reference, half)[0] == pytest.approx(1 / 3)


def test_the_lift_is_unknown_when_nobody_is_expected_to_buy() -> None:
    # The check then warns with no value (tests/unit/test_checks.py) instead of dividing by zero.
    assert top_lift(np.zeros(20), np.arange(20.0)) is None
    assert top_lift(np.array([0.0] * 9 + [5.0]), np.arange(10.0)) == pytest.approx(10.0)
