"""Accounts: ``user add``, ``user list``, ``user disable``."""

from __future__ import annotations

import argparse
import sys

from mlwatch.cli.common import EXIT_OPEN, add_common, read_password, shell_user
from mlwatch.errors import MlwatchError
from mlwatch.governance import auth
from mlwatch.state import store


def add_user(commands: argparse._SubParsersAction) -> None:
    """The ``user`` command's arguments."""
    user = commands.add_parser("user", help="manage accounts (add, list, disable)")
    user_commands = user.add_subparsers(dest="user_command", required=True)
    add = user_commands.add_parser("add", help="create an account; the password is prompted or read from stdin")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=auth.ROLES)
    add_common(add, config=False)
    add.set_defaults(handler=_user_add)
    listing = user_commands.add_parser("list", help="list accounts")
    add_common(listing, config=False)
    listing.set_defaults(handler=_user_list)
    disable = user_commands.add_parser("disable", help="disable an account")
    disable.add_argument("name")
    add_common(disable, config=False)
    disable.set_defaults(handler=_user_disable)


def _user_add(args: argparse.Namespace) -> int:
    password = read_password(f"Password for {args.name}: ")
    if sys.stdin.isatty() and read_password("Repeat it: ") != password:
        raise MlwatchError("the two passwords differ; nothing was created")
    user = auth.add_user(store.state_dir(args.state), args.name, args.role, password, actor=f"cli:{shell_user()}")
    print(f"Account {user.name} ({user.role}) created")
    return EXIT_OPEN


def _user_list(args: argparse.Namespace) -> int:
    for row in auth.list_users(store.state_dir(args.state)):
        status = f"disabled {row['disabled_at']}" if row["disabled_at"] else "active"
        print(f"{row['name']:<24} {row['role']:<9} {status}  created {row['created_at']}")
    return EXIT_OPEN


def _user_disable(args: argparse.Namespace) -> int:
    auth.disable_user(store.state_dir(args.state), args.name, actor=f"cli:{shell_user()}")
    print(f"Account {args.name} disabled")
    return EXIT_OPEN
