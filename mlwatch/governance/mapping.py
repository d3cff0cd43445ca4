"""Changing the event-to-feature mapping: an approver's act, saved to the config and audited."""

from __future__ import annotations

from pathlib import Path

from mlwatch.config import Config, load_config, save_features
from mlwatch.contract.version import record_if_tracked
from mlwatch.errors import ConfigError
from mlwatch.governance.auth import User, require
from mlwatch.state import store


def map_events(state: str | Path, config_path: str | Path, additions: dict[str, str], user: User | None) -> Config:
    """Add event names to features (``{"user_login_from_pc": "login"}``) and save the config.

    Raises:
        PermissionDenied: the user may not edit mappings.
        ConfigError: an unknown feature, or the config cannot be saved.
    """
    actor = require(user, "map", state)
    path = Path(config_path)
    config = load_config(path) if path.exists() else Config()
    features = {name: list(events) for name, events in config.features.items()}
    added: dict[str, str] = {}
    for event, feature in additions.items():
        if feature not in features:
            raise ConfigError(f"{path}: no feature {feature!r} to map {event!r} to; use one of {', '.join(features)}")
        if event not in features[feature]:
            features[feature].append(event)
            added[event] = feature
    new_config = save_features(path, {name: tuple(events) for name, events in features.items()})
    with store.transaction(state) as con:
        store.append_audit(
            con,
            actor.name,
            "mapping",
            None,
            {
                "config": str(path),
                "added": added,
                "features": new_config.to_dict()["features"],
            },
        )
    record_if_tracked(state, new_config, actor.name, cause=f"mapping saved to {path}")  # a new minor version
    return new_config
