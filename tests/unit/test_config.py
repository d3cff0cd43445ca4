"""Config: the shipped file equals the defaults; bad keys and types name the key and the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlwatch.config import Config, load_config
from mlwatch.errors import ConfigError
from tests.conftest import ROOT


def test_shipped_config_equals_the_built_in_defaults() -> None:
    shipped = load_config(ROOT / "mlwatch.toml")
    assert shipped.to_dict() == Config().to_dict()
    assert shipped.features["login"] == ("user_login",)
    assert shipped.threshold("zero_rate_change") == 0.20 and shipped.threshold("drift") == 0.10


def test_per_feature_override_applies_to_that_feature_only(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[checks]\nzero_rate_change = 0.3\n[checks.login]\nzero_rate_change = 0.5\ndrift = 0.2\n")
    config = load_config(path)
    assert config.threshold("zero_rate_change", "login") == 0.5
    assert config.threshold("zero_rate_change", "view") == 0.3
    assert config.threshold("drift", "login") == 0.2 and config.threshold("drift", "cart") == 0.1


def test_features_map_several_event_names_and_any_number_of_features(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        '[features]\nlogin = ["user_login", "user_login_from_mobile"]\nspend = ["purchase"]\n'
        '[model]\ntarget = "spend"\n'
    )
    config = load_config(path)
    assert config.features == {"login": ("user_login", "user_login_from_mobile"), "spend": ("purchase",)}
    assert config.target_events() == ("purchase",)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[columns]\nuser = 'x'\n", "columns.user"),
        ("[checks]\nzero_rate = 0.2\n", "checks.zero_rate"),
        ("[checks]\ndrift = 'high'\n", "checks.drift"),
        ("[checks]\ndrift = true\n", "checks.drift"),
        ("[checks.logins]\ndrift = 0.2\n", "checks.logins"),
        ("[checks.login]\nvolume_ratio = 3\n", "checks.login.volume_ratio"),
        ("[features]\nlogin = 3\n", "features.login"),
        ("[features]\nlogin = []\n", "features.login"),
        ("[features]\nuser_id = ['x']\n", "features.user_id"),
        ("[model]\ntarget = 'revenue'\n", "model.target"),
        ("[model]\nkind = 'x'\n", "model.kind"),
        ("[columns]\nevent = 3\n", "columns.event"),
        ("[other]\n", "other"),
        ("[checks]\nestimated_mae_ratio = 'high'\n", "checks.estimated_mae_ratio"),
        ("[checks]\nestimated_mae_ratio = -1\n", "checks.estimated_mae_ratio"),
        ("[checks]\nestimated_mae_fails = 'yes'\n", "checks.estimated_mae_fails"),
        ("[checks]\nestimated_mae_fails = 1\n", "checks.estimated_mae_fails"),
        ("[checks]\nestimated_ranking_ratio = 1.2\n", "checks.estimated_ranking_ratio"),
        ("[checks]\nestimated_ranking_ratio = 0\n", "checks.estimated_ranking_ratio"),
        ("[checks]\nestimated_ranking_fails = 'no'\n", "checks.estimated_ranking_fails"),
        ("[history]\ncompare = 'last'\n", "history.compare"),
        ("[history]\ncompare = 1\n", "history.compare"),
        ("[history]\nreference = '2026-03'\n", "history.reference"),
        ("[notify]\nwebhook = 'hooks.slack.com/x'\n", "notify.webhook"),
        ("[notify]\nwebhook = 3\n", "notify.webhook"),
        ("[notify]\nfile = ['a', 'b']\n", "notify.file"),
        ("[notify]\nretries = 2.5\n", "notify.retries"),
        ("[notify]\nretries = 11\n", "notify.retries"),
        ("[notify]\nretries = -1\n", "notify.retries"),
        ("[notify]\ntimeout_seconds = 0\n", "notify.timeout_seconds"),
        ("[notify]\ntimeout_seconds = 'soon'\n", "notify.timeout_seconds"),
        ("[notify]\nchannel = '#data'\n", "notify.channel"),
        ("notify = 'https://x'\n", "notify"),
    ],
)
def test_bad_keys_and_types_name_the_key_and_file(tmp_path: Path, text: str, key: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert key in str(info.value) and str(path) in str(info.value)
    assert len(str(info.value).splitlines()) == 1


def test_history_notify_and_estimate_keys_are_read(tmp_path: Path) -> None:
    path = tmp_path / "mlwatch.toml"
    path.write_text(
        "[checks]\nestimated_mae_ratio = 1.25\nestimated_mae_fails = true\n"
        "estimated_ranking_ratio = 0.7\nestimated_ranking_fails = false\n"
        "[history]\ncompare = 'previous'\n"
        "[notify]\nwebhook = 'https://hooks.example.com/services/T0/B0/secret'\nfile = 'alerts.jsonl'\n"
        "retries = 0\ntimeout_seconds = 2.5\n"
    )
    config = load_config(path)
    assert (config.checks.estimated_mae_ratio, config.checks.estimated_mae_fails) == (1.25, True)
    assert (config.checks.estimated_ranking_ratio, config.checks.estimated_ranking_fails) == (0.7, False)
    assert config.history.compare == "previous"
    assert (config.notify.webhook, config.notify.file, config.notify.retries, config.notify.timeout_seconds) == (
        "https://hooks.example.com/services/T0/B0/secret",
        "alerts.jsonl",
        0,
        2.5,
    )
    # Where messages go is not part of a run: the secret webhook URL is never copied into stored runs.
    assert "notify" not in config.to_dict() and "secret" not in str(config.to_dict())


def test_missing_and_malformed_files_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "none.toml")
    (tmp_path / "broken.toml").write_text("[checks\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(tmp_path / "broken.toml")
