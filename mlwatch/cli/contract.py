"""The ``contract`` commands: ``contract export`` writes the data contract, ``contract check`` checks a sample.

``contract check`` is what the producing team's CI runs: exit 0 when the sample breaks nothing the
model depends on, 1 with one line per break, 2 on bad input (a missing or invalid contract, no sample).
"""

from __future__ import annotations

import argparse
import json
import sys

from mlwatch.cli.common import EXIT_CLOSED, EXIT_OPEN, add_common, shell_user
from mlwatch.config import load_config
from mlwatch.months import month_name
from mlwatch.state import store


def add_contract(commands: argparse._SubParsersAction) -> None:
    """The ``contract export`` and ``contract check`` commands' arguments."""
    contract = commands.add_parser(
        "contract", help="the data contract (ODCS v3) of the events the model depends on, for the teams producing them"
    )
    actions = contract.add_subparsers(dest="contract_command", required=True)
    export = actions.add_parser("export", help="write the contract: fields, depended-on event names, usual shares")
    export.add_argument("--out", required=True, metavar="FILE", help="where to write the contract (YAML)")
    export.add_argument("--logs", help="logs to measure the usual shares and daily volume on (with --month)")
    export.add_argument("--month", metavar="YYYY-MM", help="the month of --logs to measure (a healthy one)")
    add_common(export)
    export.set_defaults(handler=_export)
    check = actions.add_parser(
        "check", help="check a sample of new events against a contract: exit 1 with one line per break"
    )
    check.add_argument("--contract", required=True, metavar="FILE", help="the contract written by contract export")
    check.add_argument("--logs", required=True, metavar="SAMPLE", help="sample of new events: file, folder or glob")
    check.add_argument("--json", action="store_true", help="print one JSON object instead of lines")
    check.set_defaults(handler=_check)


def _export(args: argparse.Namespace) -> int:
    from mlwatch.contract.build import export_contract

    config = load_config(args.config)
    state = store.state_dir(args.state)
    exported = export_contract(config, state, f"cli:{shell_user()}", logs=args.logs, month=args.month, out=args.out)
    version = exported.version
    measured = (
        f"usual shares and daily volume of {month_name(exported.profile.month)}"
        if exported.profile
        else "no measured month (pass --logs and --month for usual shares and daily volume)"
    )
    print(f"Contract {version.version} of {version.terms.model} written to {args.out}: {measured}.")
    print(f"Version {version.version}: {version.what_changed()}.")
    return EXIT_OPEN


def _check(args: argparse.Namespace) -> int:
    from mlwatch.contract.check import check_sample, read_contract

    contract = read_contract(args.contract)
    result = check_sample(contract, args.logs)
    if args.json:
        print(
            json.dumps(
                {
                    "contract_version": result.version,
                    "model": result.model,
                    "passed": result.passed,
                    "rows": result.rows,
                    "breaks": [vars(f) | {"instead": list(f.instead)} for f in result.breaks],
                    "notes": [vars(f) | {"instead": list(f.instead)} for f in result.notes],
                }
            )
        )
        return EXIT_OPEN if result.passed else EXIT_CLOSED
    for finding in result.breaks:
        print(finding.message)
    for finding in result.notes:
        print(f"note: {finding.message}")
    verdict = "passes" if result.passed else f"breaks the contract ({len(result.breaks)} break(s) above)"
    print(
        f"mlwatch: {args.logs}: {result.rows:,} rows checked against contract {result.version} of {result.model}:"
        f" the sample {verdict}",
        file=sys.stderr,
    )
    return EXIT_OPEN if result.passed else EXIT_CLOSED
