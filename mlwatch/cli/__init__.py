"""Command line: ``python -m mlwatch run|backfill|history|actuals|compare|runs|signoff|revoke|export|audit|verify|user|sample|contract``.

Exit codes: 0 gate open (or done), 1 gate closed (or export refused, or ``contract check`` found a break),
2 usage or input error (one line on stderr).
"""

from __future__ import annotations

import argparse
import sys

from mlwatch.cli import accounts, compare, contract, governance, monthly, sample, stored, verify
from mlwatch.cli.common import EXIT_CLOSED, EXIT_ERROR
from mlwatch.errors import ExportBlocked, MlwatchError

# One parser per command, each defined beside its handler; this order is the order of --help.
COMMANDS = (
    monthly.add_run,
    monthly.add_backfill,
    stored.add_history,
    monthly.add_actuals,
    compare.add_compare,
    stored.add_runs,
    governance.add_signoff,
    governance.add_revoke,
    governance.add_export,
    governance.add_audit,
    verify.add_verify,
    accounts.add_user,
    sample.add_sample,
    contract.add_contract,
)


def main(argv: list[str] | None = None) -> int:
    """Run the command line and return its exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except ExportBlocked as exc:
        print(f"mlwatch: export refused: {exc}", file=sys.stderr)
        return EXIT_CLOSED
    except MlwatchError as exc:
        print(f"mlwatch: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("mlwatch: interrupted; nothing was stored", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:  # noqa: BLE001 (a scheduler must read 2, not 1 = "gate closed", from a crash)
        print(
            f"mlwatch: error: unexpected {type(exc).__name__}: {' '.join(str(exc).split())}; this is a bug in mlwatch,"
            " please report it with the command you ran",
            file=sys.stderr,
        )
        return EXIT_ERROR


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mlwatch", description="Guard the monthly input data of an ML model."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for add in COMMANDS:
        add(commands)
    return parser
