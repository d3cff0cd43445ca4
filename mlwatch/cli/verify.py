"""``verify``: check the state against its hash chain (exit 0 intact, 1 tampered, 2 no state or no key)."""

from __future__ import annotations

import argparse
import json

from mlwatch.cli.common import EXIT_CLOSED, EXIT_OPEN, add_common
from mlwatch.state import store
from mlwatch.state.verification import verify_state


def add_verify(commands: argparse._SubParsersAction) -> None:
    """The ``verify`` command's arguments."""
    verify = commands.add_parser(
        "verify", help="check that no run, check, sign-off, account, audit record or artifact was changed"
    )
    add_common(verify, config=False)
    verify.add_argument("--json", action="store_true", help="print one JSON object")
    verify.set_defaults(handler=_verify)


def _verify(args: argparse.Namespace) -> int:
    state = store.state_dir(args.state)
    result = verify_state(state)
    if args.json:
        checked = {k: getattr(result, k) for k in ("audit_rows", "runs", "signoffs", "accounts", "files")}
        breaks = [{"record": b.record, "problem": b.problem, "message": b.message} for b in result.breaks]
        print(json.dumps({"intact": result.intact, "breaks": breaks, "checked": checked}))
    elif result.intact:
        print(
            f"State {state} intact: {result.audit_rows:,} audit records, {result.runs:,} runs ({result.files:,} files),"
            f" {result.signoffs:,} sign-offs, {result.accounts:,} accounts verified in {result.seconds:.1f} s"
        )
    else:
        for found in result.breaks:
            print(found.message)
    return EXIT_OPEN if result.intact else EXIT_CLOSED
