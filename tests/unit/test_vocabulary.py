"""Suggested feature for a new event name: the fix for a rename is one click away."""

from __future__ import annotations

import pytest

from mlwatch.config import DEFAULT_FEATURES
from mlwatch.monthly.vocabulary import suggest_feature


@pytest.mark.parametrize(
    ("name", "feature"),
    [
        ("user_login_from_mobile", "login"),
        ("user_login_from_pc", "login"),
        ("item_view_v2", "view"),
        ("add_to_cart_web", "cart"),
        ("purchase_completed", "purchase"),
        ("newsletter_signup", None),
    ],
)
def test_new_names_get_the_feature_they_most_likely_belong_to(name: str, feature: str | None) -> None:
    assert suggest_feature(name, DEFAULT_FEATURES) == feature
