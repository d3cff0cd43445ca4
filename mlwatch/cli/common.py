"""What every command shares: exit codes, the common options, who is acting."""

from __future__ import annotations

import argparse
import getpass
import os
import pwd
import sys
from pathlib import Path

from mlwatch.governance import auth

EXIT_OPEN, EXIT_CLOSED, EXIT_ERROR = 0, 1, 2


def add_common(parser: argparse.ArgumentParser, config: bool = True) -> None:
    """Add ``--config`` (unless ``config`` is False) and ``--state``."""
    if config:
        parser.add_argument("--config", help="mlwatch.toml (default: built-in defaults)")
    parser.add_argument("--state", help="state directory (default: $MLWATCH_STATE or .mlwatch)")


def cli_user(state: Path, name: str | None, role_without_accounts: str) -> auth.User:
    """The acting user of a command.

    Without accounts (the demo mode), a trusted local user. Once accounts exist, ``--by NAME``
    acts as that account only after its password (prompted, or one line on stdin, as
    ``user add`` reads it): the identity recorded is the account's name, as the dashboard
    records it. Without ``--by``, the shell user ``cli:<login>`` acts as a marketer.

    Raises:
        LoginLocked, AuthError: too many recent failures, or a wrong name or password.
    """
    if not auth.has_accounts(state):
        return auth.User(name or f"cli:{shell_user()}", role_without_accounts, source="cli")
    if name is None:
        return auth.User(f"cli:{shell_user()}", "marketer", source="cli")
    password = read_password(f"Password for {name}: ")
    return auth.authenticate(state, name, password, client=f"cli:{shell_user()}")


def read_password(prompt: str) -> str:
    """A password: prompted without echo on a terminal, else the first line of stdin (scripts, tests)."""
    if sys.stdin.isatty():
        return getpass.getpass(prompt)
    return sys.stdin.readline().rstrip("\n")


def shell_user() -> str:
    """The login name of whoever runs the command: from the environment, else the operating system's
    account of the process (cron and systemd often set no ``USER``)."""
    for variable in ("USER", "LOGNAME", "USERNAME"):
        if os.environ.get(variable):
            return os.environ[variable]
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except (KeyError, OSError):
        return f"uid-{os.getuid()}"
