"""Each check at its threshold: just under passes, just over fails."""

from __future__ import annotations

import pytest

from mlwatch.checks.rules import (
    MonthLabels,
    check_drift,
    check_duplicates,
    check_estimated_mae,
    check_estimated_ranking,
    check_missing_rate,
    check_rejected_rows,
    check_vocabulary,
    check_volume,
    check_zero_rate,
)
from mlwatch.monthly.vocabulary import diff_vocabulary
from mlwatch.months import month_days
from mlwatch.summary import FeatureStats, IngestReport, MonthVolume, RankingEstimate

LABELS = MonthLabels.of("2026-03", "2026-05")
FEATURES = {"login": ("user_login",), "view": ("item_view", "page_view")}


def _stats(users: int, zeros: int = 0, missing: int = 0) -> FeatureStats:
    return FeatureStats(users, missing, zeros, 1.0, 1.0, 0.0, 5.0, {})


def _ingest(rows: int, rejected: int) -> IngestReport:
    return IngestReport(rows, rejected, 0, {"invalid_json": rejected} if rejected else {}, {}, {}, {})


@pytest.mark.parametrize(("rejected", "status"), [(0, "pass"), (100, "pass"), (101, "fail")])
def test_rejected_rows_fail_above_one_percent(rejected: int, status: str) -> None:
    result = check_rejected_rows(_ingest(10_000, rejected), 0.01)
    assert result.status == status
    assert result.value == pytest.approx(rejected / 10_000)


@pytest.mark.parametrize(("dups", "status"), [(5, "pass"), (6, "fail")])
def test_duplicates_fail_above_half_a_percent_of_the_current_month(dups: int, status: str) -> None:
    result = check_duplicates(
        {"reference": 0, "current": dups}, {"reference": 1000, "current": 1000 - dups}, 0.005, LABELS
    )
    assert result.status == status
    assert result.value == pytest.approx(dups / 1000) and result.reference == 0


def _activity(events: int, users: int, empty_days: int = 0) -> MonthVolume:
    days = [d.isoformat() for d in month_days("2026-05")]
    return MonthVolume(events, users, {d: (0 if i < empty_days else 1) for i, d in enumerate(days)})


@pytest.mark.parametrize(
    ("events", "users", "status"),
    [
        (2000, 100, "pass"),
        (2001, 100, "fail"),
        (500, 100, "pass"),
        (499, 100, "fail"),
        (1000, 201, "fail"),
        (1000, 49, "fail"),
    ],
)
def test_volume_fails_outside_half_to_double_the_reference(events: int, users: int, status: str) -> None:
    assert check_volume(_activity(1000, 100), _activity(events, users), 2.0, LABELS).status == status


def test_volume_fails_on_a_calendar_day_without_events() -> None:
    result = check_volume(_activity(1000, 100), _activity(1000, 100, empty_days=1), 2.0, LABELS)
    assert result.status == "fail" and "2026-05-01" in result.message


def test_vocabulary_fails_when_every_name_of_a_feature_vanishes_and_suggests_the_new_names() -> None:
    vocab = diff_vocabulary(
        {"user_login": 50, "item_view": 90, "page_view": 10},
        {"user_login_from_mobile": 30, "user_login_from_pc": 20, "item_view": 90, "page_view": 10},
        FEATURES,
    )
    result = check_vocabulary(vocab, FEATURES, LABELS)
    assert result.status == "fail"
    assert "No login event this month" in result.message
    assert "user_login_from_mobile (likely login)" in result.message
    assert vocab.new == ("user_login_from_mobile", "user_login_from_pc") and vocab.missing == ("user_login",)


def test_vocabulary_warns_when_one_of_several_names_vanishes() -> None:
    vocab = diff_vocabulary(
        {"user_login": 5, "item_view": 9, "page_view": 1}, {"user_login": 5, "item_view": 9}, FEATURES
    )
    result = check_vocabulary(vocab, FEATURES, LABELS)
    assert result.status == "warn" and "Event page_view (view) no longer occurs" in result.message


def test_vocabulary_reports_new_names_without_failing() -> None:
    vocab = diff_vocabulary(
        {"user_login": 5, "item_view": 9}, {"user_login": 5, "item_view": 9, "wishlist_add": 3}, FEATURES
    )
    result = check_vocabulary(vocab, FEATURES, LABELS)
    assert result.status == "pass" and "wishlist_add" in result.message


@pytest.mark.parametrize(
    ("ref_zeros", "cur_zeros", "status"),
    [
        (100, 300, "pass"),  # +20 points exactly: not more than 20
        (100, 301, "fail"),
        (300, 100, "pass"),
        (301, 100, "fail"),  # falls by more than 20 points
        (0, 1000, "fail"),
    ],
)
def test_zero_rate_fails_when_it_moves_more_than_20_points(ref_zeros: int, cur_zeros: int, status: str) -> None:
    result = check_zero_rate("login", _stats(1000, ref_zeros), _stats(1000, cur_zeros), 0.20, LABELS)
    assert result.status == status
    assert (result.value, result.reference) == (cur_zeros / 1000, ref_zeros / 1000)


def test_zero_rate_message_reads_for_a_marketer() -> None:
    result = check_zero_rate("login", _stats(1000, 120), _stats(1000, 1000), 0.20, LABELS)
    assert result.message.startswith("Login count is 0 for 100% of users this month (March 2026: 12%).")


@pytest.mark.parametrize(
    ("ref_missing", "cur_missing", "status"), [(10, 60, "pass"), (10, 61, "fail"), (60, 0, "pass")]
)
def test_missing_rate_fails_when_it_rises_more_than_5_points(ref_missing: int, cur_missing: int, status: str) -> None:
    result = check_missing_rate(
        "view", _stats(1000, missing=ref_missing), _stats(1000, missing=cur_missing), 0.05, LABELS
    )
    assert result.status == status


@pytest.mark.parametrize(("score", "status"), [(0.0999, "pass"), (0.1, "fail"), (1.5, "fail")])
def test_drift_fails_at_the_threshold(score: float, status: str) -> None:
    assert check_drift("view", score, 0.1, LABELS).status == status
    prediction = check_drift(None, score, 0.1, LABELS)
    assert prediction.name == "prediction_drift" and prediction.status == status


def test_drift_messages_say_what_moved_in_plain_words_and_keep_the_score_out() -> None:
    before = FeatureStats(1000, 0, 100, 2.31, 1.0, 0.0, 9.0, {})
    after = FeatureStats(1000, 0, 1000, 0.0, 0.0, 0.0, 0.0, {})
    failed = check_drift("login", 0.77, 0.1, LABELS, before, after)
    assert (
        failed.message
        == "Login counts changed a lot since March 2026: 0.00 per user on average this month against 2.31."
    )
    assert (failed.value, failed.threshold) == (0.77, 0.1)  # the score stays in the result, for the tooltip and JSON
    passed = check_drift(None, 0.02, 0.1, LABELS, before, before)
    assert (
        passed.message
        == "The model's predicted purchases are close to March 2026's (2.31 per user on average against 2.31)."
    )


def test_vocabulary_warns_only_when_the_renamed_events_are_mapped() -> None:
    features = {"login": ("user_login", "user_login_from_mobile", "user_login_from_pc")}
    vocab = diff_vocabulary({"user_login": 50}, {"user_login_from_mobile": 30, "user_login_from_pc": 20}, features)
    result = check_vocabulary(vocab, features, LABELS)
    assert result.status == "warn" and "user_login (login) no longer occurs" in result.message


@pytest.mark.parametrize(
    ("estimate", "fails", "status"),
    [(1.099, False, "pass"), (1.101, False, "warn"), (1.099, True, "pass"), (1.101, True, "fail")],
)
def test_estimated_mae_warns_past_the_ratio_and_fails_only_when_configured(
    estimate: float, fails: bool, status: str
) -> None:
    result = check_estimated_mae(estimate, estimate - 0.1, estimate + 0.1, 1.0, 1.10, fails, LABELS)
    assert (result.name, result.feature, result.status) == ("estimated_mae", None, status)
    assert (result.value, result.reference, result.threshold) == (estimate, 1.0, 1.10)
    assert f"{estimate:.2f} purchases per user" in result.message and "March 2026: 1.00" in result.message
    assert ("less accurate than usual" in result.message) == (status != "pass")


def _ranking(lift: float | None, predicted: float) -> RankingEstimate:
    """Reference month: held-out lift 4.0, its held-out predictions 0.8 purchases per user where users bought 1.0."""
    return RankingEstimate(0.1, lift, 4.0, predicted, 1.0, 0.8, 1.0, 1000, 1000)


@pytest.mark.parametrize(
    ("lift", "predicted", "fails", "status", "why"),
    [
        (3.41, 0.69, True, "pass", ""),  # lift 0.85x the reference's, calibration 0.86x: just inside 0.85
        (3.39, 0.8, True, "fail", "worse than usual"),  # the top of the list buys less than usual
        (4.2, 0.67, True, "fail", "input of the model probably broke"),  # ranking fine, predictions too low
        (3.39, 0.8, False, "warn", "worse than usual"),
    ],
)
def test_estimated_ranking_fails_when_the_lift_or_the_calibration_falls_below_the_share(
    lift: float, predicted: float, fails: bool, status: str, why: str
) -> None:
    result = check_estimated_ranking(_ranking(lift, predicted), 0.85, fails, LABELS)
    assert (result.name, result.feature, result.status) == ("estimated_ranking", None, status)
    assert (result.value, result.reference, result.threshold) == (lift, 4.0, 0.85)
    assert f"top 10% of the list is estimated to buy {lift:.1f}x" in result.message
    assert f"predicts {predicted:.2f} purchases per user where 1.00 are expected" in result.message
    assert (why in result.message) if why else ("probably" not in result.message)


def test_estimated_ranking_warns_without_a_value_when_no_purchase_is_expected() -> None:
    result = check_estimated_ranking(_ranking(None, 0.0), 0.85, True, LABELS)
    assert (result.status, result.value) == ("warn", None)
    assert "cannot be estimated: no purchase is expected" in result.message
