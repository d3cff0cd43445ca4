"""Who may use a run's list: ``signoff``, ``revoke``, ``export``, ``audit``."""

from __future__ import annotations

import argparse
import csv
import io
import json

from mlwatch.cli.common import EXIT_OPEN, add_common, cli_user
from mlwatch.config import load_config
from mlwatch.errors import MlwatchError
from mlwatch.state import store


def _add_run_and_approver(parser: argparse.ArgumentParser) -> None:
    """``--run`` and ``--by`` of the approver's commands (``signoff``, ``revoke``)."""
    parser.add_argument("--run", required=True, metavar="RUN_ID")
    parser.add_argument(
        "--by",
        required=True,
        metavar="NAME",
        help="the approver's account; its password is asked (or one line on stdin)",
    )


def add_signoff(commands: argparse._SubParsersAction) -> None:
    """The ``signoff`` command's arguments."""
    signoff = commands.add_parser("signoff", help="accept the failed checks of a closed run (approver)")
    _add_run_and_approver(signoff)
    signoff.add_argument("--reason", required=True, help="at least a sentence saying why the failures are acceptable")
    accept = signoff.add_mutually_exclusive_group()
    accept.add_argument(
        "--accept",
        action="append",
        metavar="CHECK",
        help="a failed check to accept, labelled as `run` prints it, e.g. zero_rate[login] (repeat for each)",
    )
    accept.add_argument("--accept-all-failed", action="store_true", help="accept every failed check of the run")
    signoff.add_argument(
        "--confirm-superseded",
        action="store_true",
        help="sign off this run although a newer run of the same month exists",
    )
    add_common(signoff)
    signoff.set_defaults(handler=_signoff)


def add_revoke(commands: argparse._SubParsersAction) -> None:
    """The ``revoke`` command's arguments."""
    revoke = commands.add_parser("revoke", help="withdraw a run's sign-off (approver)")
    _add_run_and_approver(revoke)
    revoke.add_argument("--reason", required=True)
    add_common(revoke, config=False)
    revoke.set_defaults(handler=_revoke)


def add_export(commands: argparse._SubParsersAction) -> None:
    """The ``export`` command's arguments."""
    export = commands.add_parser("export", help="write the prospect CSV of an open or signed-off run")
    export.add_argument("--run", required=True, metavar="RUN_ID")
    export.add_argument("--out", required=True, help="CSV file, or a folder for prospects-<month>-<run>.csv")
    size = export.add_mutually_exclusive_group()
    size.add_argument("--top", type=int, help="keep the best N users")
    size.add_argument("--top-share", type=float, help="keep the best share of users, e.g. 0.2")
    export.add_argument("--holdout", type=float, default=0.0, help="control group share, drawn within score deciles")
    export.add_argument("--seed", type=int, default=0, help="seed of the control group draw (recorded)")
    export.add_argument("--bom", action="store_true", help="start the file with a UTF-8 BOM (Excel)")
    export.add_argument(
        "--challenger",
        metavar="MODEL_OR_SCORES",
        help="send part of the list from a challenger model (as for compare); the CSV gets a model column",
    )
    export.add_argument("--split", type=float, default=0.5, help="the challenger's share of the users (default 0.5)")
    export.add_argument("--allow-pickle", action="store_true", help="load a joblib challenger (it can run any code)")
    export.add_argument(
        "--by",
        metavar="NAME",
        help="account to export as; its password is asked (or one line on stdin). Default: the shell user",
    )
    add_common(export, config=False)
    export.set_defaults(handler=_export)


def add_audit(commands: argparse._SubParsersAction) -> None:
    """The ``audit`` command's arguments."""
    audit = commands.add_parser("audit", help="print the audit trail")
    audit.add_argument("--run", metavar="RUN_ID")
    audit.add_argument("--action", choices=store.AUDIT_ACTIONS, help="only this action")
    audit.add_argument("--format", choices=("text", "csv", "json"), default="text")
    add_common(audit, config=False)
    audit.set_defaults(handler=_audit)


def _signoff(args: argparse.Namespace) -> int:
    from mlwatch.governance.signoff import failed_labels, sign_off

    state = store.state_dir(args.state)
    rules = load_config(args.config).auth
    user = cli_user(state, args.by, "approver")
    accepted = args.accept or []
    if args.accept_all_failed or not args.accept:
        failed = failed_labels(state, args.run) if store.get_run(state, args.run).gate != "open" else ()
        if failed and not args.accept_all_failed:
            raise MlwatchError(
                f"run {args.run}: accept each failed check with --accept CHECK or all with --accept-all-failed;"
                f" failed: {', '.join(failed)}"
            )
        accepted = list(failed)
    signed = sign_off(
        state, args.run, user, args.reason, rules, accepted=accepted, via="cli",
        confirm_superseded=args.confirm_superseded,
    )  # fmt: skip
    print(f"Run {args.run} signed off by {signed.approver}; accepted: {', '.join(signed.accepted)}")
    return EXIT_OPEN


def _revoke(args: argparse.Namespace) -> int:
    from mlwatch.governance.signoff import revoke

    state = store.state_dir(args.state)
    revoke(state, args.run, cli_user(state, args.by, "approver"), args.reason, via="cli")
    print(f"Sign-off of run {args.run} revoked: the gate is closed again")
    return EXIT_OPEN


def _export(args: argparse.Namespace) -> int:
    from mlwatch.governance.export import export_prospects
    from mlwatch.monthly.compare import challenger_config

    state = store.state_dir(args.state)
    challenger = challenger_config(args.challenger, args.allow_pickle) if args.challenger else None
    result = export_prospects(
        state,
        args.run,
        cli_user(state, args.by, "marketer"),
        args.out,
        top=args.top,
        top_share=args.top_share,
        holdout=args.holdout,
        seed=args.seed,
        bom=args.bom,
        challenger=challenger,
        split=args.split,
    )
    print(
        f"Wrote {result.rows:,} users ({result.campaign:,} campaign, {result.control:,} control) to {result.path}"
        f" (sha256 {result.checksum[:12]})"
    )
    return EXIT_OPEN


def _audit(args: argparse.Namespace) -> int:
    rows = store.read_audit(store.state_dir(args.state), action=args.action, run_id=args.run)
    if args.format == "json":
        print(json.dumps(rows))
    elif args.format == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["id", "at", "actor", "action", "run_id", "detail"])
        for row in rows:
            writer.writerow(
                [
                    row["id"],
                    row["at"],
                    row["actor"],
                    row["action"],
                    row["run_id"] or "",
                    json.dumps(row["detail"], sort_keys=True),
                ]
            )
        print(buffer.getvalue(), end="")
    else:
        for row in rows:
            detail = ", ".join(f"{k}={v}" for k, v in sorted(row["detail"].items()))
            print(
                f"{row['id']:>5}  {row['at']}  {row['actor']:<16} {row['action']:<12} {row['run_id'] or '-':<34} {detail}"
            )
    return EXIT_OPEN
