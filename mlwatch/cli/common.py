"""What every command shares: exit codes, the common options, who is acting."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from mlwatch.errors import MlwatchError
from mlwatch.governance import auth

EXIT_OPEN, EXIT_CLOSED, EXIT_ERROR = 0, 1, 2


def add_common(parser: argparse.ArgumentParser, config: bool = True) -> None:
    """Add ``--config`` (unless ``config`` is False) and ``--state``."""
    if config:
        parser.add_argument("--config", help="mlwatch.toml (default: built-in defaults)")
    parser.add_argument("--state", help="state directory (default: $MLWATCH_STATE or .mlwatch)")


def cli_user(state: Path, name: str | None, role_without_accounts: str) -> auth.User:
    """The acting user of a command: an account when accounts exist, else a trusted local user."""
    if not auth.has_accounts(state):
        return auth.User(name or f"cli:{shell_user()}", role_without_accounts, source="cli")
    if name is None:
        return auth.User(f"cli:{shell_user()}", "marketer", source="cli")
    found = auth.find_user(state, name)
    if found is None:
        raise MlwatchError(f"no active account named {name!r}; see `python -m mlwatch user list`")
    return auth.User(found.name, found.role, source="cli")


def shell_user() -> str:
    """The login name of whoever runs the command."""
    return os.environ.get("USER") or os.environ.get("USERNAME") or "unknown"
