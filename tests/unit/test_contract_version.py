"""The contract's version: semver from what changed in [columns], [features] and [contract], kept in the audit trail."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from mlwatch.config import Columns, Config, ContractConfig, load_config
from mlwatch.contract.version import current_contract, record_contract, record_if_tracked
from mlwatch.errors import ConfigError
from mlwatch.governance.auth import User
from mlwatch.governance.mapping import map_events
from mlwatch.state import store
from mlwatch.state.verification import verify_state

BASE = Config()


def with_login(*events: str) -> Config:
    return BASE.with_features({**BASE.features, "login": events})


def test_the_first_export_records_1_0_0_in_the_audit_trail_and_the_state_verifies(tmp_path: Path) -> None:
    version = record_contract(tmp_path, BASE, "ann", "contract export")
    assert (version.version, version.what_changed(), version.recorded_by) == ("1.0.0", "first version", "ann")
    (row,) = store.read_audit(tmp_path, action="contract")
    assert row["detail"]["version"] == "1.0.0" and row["detail"]["cause"] == "contract export"
    assert verify_state(tmp_path).intact


@pytest.mark.parametrize(
    ("config", "version", "changed"),
    [
        (
            with_login("user_login", "user_login_from_pc"),
            "1.1.0",
            "added: feature login depends on `user_login_from_pc`",
        ),
        (with_login("user_login_from_pc"), "2.0.0", "removed: feature login no longer depends on `user_login`"),
        (replace(BASE, columns=Columns(user_id="userId")), "2.0.0", "renamed field: `user_id` is now `userId`"),
        (
            replace(BASE, contract=ContractConfig(contact="ml@example.com")),
            "1.0.1",
            "contact: (none) -> ml@example.com",
        ),
    ],
)
def test_an_added_dependency_is_minor_a_removed_one_major_a_new_contact_a_patch(
    tmp_path: Path, config: Config, version: str, changed: str
) -> None:
    record_contract(tmp_path, BASE, "ann", "contract export")
    bumped = record_contract(tmp_path, config, "bob", "contract export")
    assert bumped.version == version and bumped.previous == "1.0.0"
    assert changed in bumped.what_changed()
    assert [r["detail"]["version"] for r in store.read_audit(tmp_path, action="contract")] == ["1.0.0", version]


def test_the_same_terms_record_nothing_new(tmp_path: Path) -> None:
    record_contract(tmp_path, BASE, "ann", "contract export")
    assert record_if_tracked(tmp_path, Config(), "cli:cron", "run x").version == "1.0.0"
    assert len(store.read_audit(tmp_path, action="contract")) == 1


def test_before_the_first_export_a_run_or_mapping_records_no_contract(tmp_path: Path) -> None:
    assert record_if_tracked(tmp_path, with_login("a"), "cli:cron", "run x") is None
    assert current_contract(tmp_path) is None and store.read_audit(tmp_path, action="contract") == []


def test_saving_a_mapping_bumps_the_minor_version_and_says_what_changed(tmp_path: Path) -> None:
    config_path = tmp_path / "mlwatch.toml"
    config_path.write_text('[contract]\ncontact = "ml@example.com"\n')
    state = tmp_path / "state"
    record_contract(state, load_config(config_path), "ann", "contract export")
    map_events(state, config_path, {"user_login_from_pc": "login"}, User("ann", "approver"))
    version = current_contract(state)
    assert version is not None and version.version == "1.1.0"
    assert version.cause == f"mapping saved to {config_path}" and version.recorded_by == "ann"
    assert version.what_changed() == "since 1.0.0: added: feature login depends on `user_login_from_pc`"
    assert verify_state(state).intact


def test_the_contract_table_of_the_config_rejects_unknown_keys(tmp_path: Path) -> None:
    path = tmp_path / "mlwatch.toml"
    path.write_text('[contract]\nowner = "web"\nemail = "x@example.com"\n')
    with pytest.raises(ConfigError, match=r"unknown key contract\.email; known keys: contact, model, owner"):
        load_config(path)
    path.write_text('[contract]\nowner = "web-platform"\n')
    assert load_config(path).contract == ContractConfig(owner="web-platform")
