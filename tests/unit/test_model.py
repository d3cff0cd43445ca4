"""The model learns next-month purchases, and its list metrics mean what they say."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlwatch.governance.export import rank_prospects
from mlwatch.monthly.model import evaluate_predictions, predict, split_rows, train_model


def _frame(seed: int, users: int = 2000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    propensity = rng.lognormal(0, 0.8, users)
    return pd.DataFrame(
        {
            "user_id": [f"u{i}" for i in range(users)],
            "view": rng.poisson(10 * propensity),
            "purchase": rng.poisson(propensity),
            "target": rng.poisson(propensity),
        }
    )


def test_model_trained_on_one_month_predicts_the_next_better_than_the_mean() -> None:
    model = train_model(_frame(0), ["view", "purchase"])
    assert model.validation["r2"] > 0.3
    test = _frame(1)
    metrics = evaluate_predictions(test["target"].to_numpy(), predict(model, test))
    assert metrics["r2"] > 0.3
    assert metrics["precision_top10"] > 0.3  # random would be about 0.1
    assert (predict(model, test) >= 0).all()  # Poisson loss: counts are never negative


def test_precision_of_the_top_ten_percent() -> None:
    actual = np.array([5, 4, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 3])  # 20 users: top 10% = 2
    perfect = actual.astype(float)
    assert evaluate_predictions(actual, perfect)["precision_top10"] == 1.0
    half = np.zeros(20)
    half[[0, 2]] = [9, 8]  # one of the two picks is a real top buyer
    assert evaluate_predictions(actual, half)["precision_top10"] == 0.5
    assert evaluate_predictions(actual, perfect)["mae"] == 0.0


def test_prospects_are_ranked_best_first_with_stable_ties() -> None:
    ranked = rank_prospects(pd.Series(["b", "a", "c"]), np.array([1.0, 1.0, 2.0]))
    assert ranked.user_id.tolist() == ["c", "a", "b"]
    assert ranked["rank"].tolist() == [1, 2, 3]
    assert ranked.predicted_purchases.tolist() == pytest.approx([2.0, 1.0, 1.0])


def test_predictions_made_once_per_distinct_row_are_exactly_the_models_predictions() -> None:
    model = train_model(_frame(0), ["view", "purchase"])
    users = _frame(2, users=30_000)  # counts repeat: far fewer distinct rows than users
    x = users[["view", "purchase"]].to_numpy(dtype="float64")
    assert len(np.unique(x, axis=0)) < len(x) / 10
    assert np.array_equal(predict(model, users), model.estimator.predict(x))


def test_a_large_month_is_learnt_from_a_seeded_sample_and_validated_on_its_held_out_fifth(monkeypatch) -> None:
    monkeypatch.setattr("mlwatch.monthly.model.FIT_ROWS", 1_000)
    month = _frame(3, users=4_000)
    model = train_model(month, ["view", "purchase"])
    assert model.train_rows == 1_000  # not the 3,200 of the four fifths
    assert train_model(month, ["view", "purchase"]).validation == model.validation  # seeded
    fit, validate, unseen = split_rows(len(month))
    assert len(fit) == 1_000 and len(validate) == 800 and len(unseen) == 3_000
    assert not set(fit) & set(unseen) and set(validate) <= set(unseen)
    assert model.validation["r2"] > 0.3  # still learns from the sample
