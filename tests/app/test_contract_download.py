"""The Data page's contract download (pages/_contract.py): the current contract, its version and what changed."""

from __future__ import annotations

import yaml
from open_data_contract_standard.model import OpenDataContractStandard
from streamlit.testing.v1 import AppTest

from mlwatch.config import load_config
from mlwatch.contract.version import record_contract
from mlwatch.governance.auth import User
from mlwatch.governance.mapping import map_events


def _page(run_id: str) -> None:
    import os

    from mlwatch.state import store
    from pages._contract import contract_download

    contract_download(store.read_summary(os.environ["MLWATCH_STATE"], run_id))


def render(run_id: str) -> AppTest:
    at = AppTest.from_function(_page, args=(run_id,), default_timeout=60).run()
    assert not at.exception, at.exception
    return at


def test_before_any_export_the_page_offers_version_1_0_0_measured_on_the_reference_month(
    app_env, stored_runs, downloads
) -> None:
    app_env(stored_runs["state"])
    at = render(stored_runs["closed"])
    (button,) = at.get("download_button")
    assert button.proto.label == "Download the data contract (version 1.0.0)"
    caption = at.caption[0].value
    assert caption.startswith("Version 1.0.0 (not recorded yet: `python -m mlwatch contract export` records it)")
    assert caption.endswith("first version. Usual shares measured on March 2026.")
    text = downloads["mlwatch-contract-1.0.0.yaml"].decode()
    OpenDataContractStandard.from_string(text)  # valid ODCS
    event = next(p for p in yaml.safe_load(text)["schema"][0]["properties"] if p["name"] == "event")
    assert "feature login depends on `user_login`" in [rule["name"] for rule in event["quality"]]


def test_a_saved_mapping_shows_the_new_version_and_what_changed(app_env, private_state, stored_runs, downloads) -> None:
    config_path = app_env(private_state)
    record_contract(private_state, load_config(config_path), "ann", "contract export")
    map_events(private_state, config_path, {"user_login_from_pc": "login"}, User("ann", "approver"))
    at = render(stored_runs["closed"])
    assert at.get("download_button")[0].proto.label == "Download the data contract (version 1.1.0)"
    caption = at.caption[0].value
    assert caption.startswith("Version 1.1.0 (recorded ") and " by ann): since 1.0.0: added: feature login" in caption
    assert "`user_login_from_pc`" in caption
    assert yaml.safe_load(downloads["mlwatch-contract-1.1.0.yaml"])["version"] == "1.1.0"
