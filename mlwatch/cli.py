"""Command line: ``python -m mlwatch run|backfill|history|actuals|runs|signoff|revoke|export|audit|user|sample``.

Exit codes: 0 gate open (or done), 1 gate closed (or export refused), 2 usage or input error
(one line on stderr).
"""

from __future__ import annotations

import argparse
import csv
import getpass
import io
import json
import math
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlwatch.config import Config, load_config
from mlwatch.errors import ExportBlocked, MlwatchError
from mlwatch.governance import auth
from mlwatch.state import store

if TYPE_CHECKING:  # the engines load only for the commands that run them
    from mlwatch.pipeline import RunResult
    from mlwatch.summary import RunSummary

EXIT_OPEN, EXIT_CLOSED, EXIT_ERROR = 0, 1, 2
_SYMBOL = {"pass": "ok  ", "warn": "WARN", "fail": "FAIL"}


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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mlwatch", description="Guard the monthly input data of an ML model."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run the monthly checks and store the run")
    run.add_argument("--logs", required=True, help="log file, directory (read recursively) or glob")
    run.add_argument("--reference", required=True, metavar="YYYY-MM", help="reference month (the model trains on it)")
    run.add_argument("--current", required=True, metavar="YYYY-MM", help="month to check and score")
    _add_common(run)
    run.add_argument("--json", action="store_true", help="print one JSON object instead of the summary")
    run.set_defaults(handler=_run)

    backfill = commands.add_parser("backfill", help="run every month found in the logs after the reference month")
    backfill.add_argument("--logs", required=True, help="log file, directory (read recursively) or glob")
    backfill.add_argument(
        "--reference",
        required=True,
        metavar="YYYY-MM",
        help='reference month ([history] compare = "previous": the first one)',
    )
    backfill.add_argument("--force", action="store_true", help="run again months already stored with the same inputs")
    _add_common(backfill)
    backfill.add_argument("--json", action="store_true", help="print one JSON object instead of the summary")
    backfill.set_defaults(handler=_backfill)

    history = commands.add_parser("history", help="every month's checks and performance over time")
    history.add_argument("--feature", help="show only this feature's rates and drift")
    history.add_argument("--all-runs", action="store_true", help="every run, not only the newest of each month")
    _add_common(history, config=False)
    history.add_argument("--json", action="store_true", help="print a JSON list, one object per run")
    history.set_defaults(handler=_history)

    actuals = commands.add_parser("actuals", help="measure stored runs against the purchases of their next month")
    actuals.add_argument("--logs", required=True, help="logs that contain the months after the runs' months")
    actuals.add_argument("--run", metavar="RUN_ID", action="append", help="only this run (repeatable)")
    actuals.add_argument("--recompute", action="store_true", help="measure again runs already measured")
    _add_common(actuals)
    actuals.add_argument("--json", action="store_true", help="print a JSON list")
    actuals.set_defaults(handler=_actuals)

    runs = commands.add_parser("runs", help="list the stored runs, newest first")
    _add_common(runs, config=False)
    runs.add_argument("--json", action="store_true", help="print a JSON list")
    runs.set_defaults(handler=_runs)

    signoff = commands.add_parser("signoff", help="accept the failed checks of a closed run (approver)")
    signoff.add_argument("--run", required=True, metavar="RUN_ID")
    signoff.add_argument("--by", required=True, metavar="NAME", help="the approver's account name")
    signoff.add_argument("--reason", required=True, help="at least a sentence saying why the failures are acceptable")
    accept = signoff.add_mutually_exclusive_group()
    accept.add_argument(
        "--accept",
        action="append",
        metavar="CHECK",
        help="a failed check to accept, labelled as `run` prints it, e.g. zero_rate[login] (repeat for each)",
    )
    accept.add_argument("--accept-all-failed", action="store_true", help="accept every failed check of the run")
    _add_common(signoff)
    signoff.set_defaults(handler=_signoff)

    revoke = commands.add_parser("revoke", help="withdraw a run's sign-off (approver)")
    revoke.add_argument("--run", required=True, metavar="RUN_ID")
    revoke.add_argument("--by", required=True, metavar="NAME")
    revoke.add_argument("--reason", required=True)
    _add_common(revoke, config=False)
    revoke.set_defaults(handler=_revoke)

    export = commands.add_parser("export", help="write the prospect CSV of an open or signed-off run")
    export.add_argument("--run", required=True, metavar="RUN_ID")
    export.add_argument("--out", required=True, help="CSV file, or a folder for prospects-<month>-<run>.csv")
    size = export.add_mutually_exclusive_group()
    size.add_argument("--top", type=int, help="keep the best N users")
    size.add_argument("--top-share", type=float, help="keep the best share of users, e.g. 0.2")
    export.add_argument("--holdout", type=float, default=0.0, help="control group share, drawn within score deciles")
    export.add_argument("--seed", type=int, default=0, help="seed of the control group draw (recorded)")
    export.add_argument("--bom", action="store_true", help="start the file with a UTF-8 BOM (Excel)")
    export.add_argument("--by", metavar="NAME", help="account to export as (default: the shell user)")
    _add_common(export, config=False)
    export.set_defaults(handler=_export)

    audit = commands.add_parser("audit", help="print the audit trail")
    audit.add_argument("--run", metavar="RUN_ID")
    audit.add_argument("--action", choices=store.AUDIT_ACTIONS, help="only this action")
    audit.add_argument("--format", choices=("text", "csv", "json"), default="text")
    _add_common(audit, config=False)
    audit.set_defaults(handler=_audit)

    user = commands.add_parser("user", help="manage accounts (add, list, disable)")
    user_commands = user.add_subparsers(dest="user_command", required=True)
    add = user_commands.add_parser("add", help="create an account; the password is prompted or read from stdin")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=auth.ROLES)
    _add_common(add, config=False)
    add.set_defaults(handler=_user_add)
    listing = user_commands.add_parser("list", help="list accounts")
    _add_common(listing, config=False)
    listing.set_defaults(handler=_user_list)
    disable = user_commands.add_parser("disable", help="disable an account")
    disable.add_argument("name")
    _add_common(disable, config=False)
    disable.set_defaults(handler=_user_disable)

    sample = commands.add_parser("sample", help="write the generated sample logs")
    sample.add_argument("--out", required=True, help="folder to write the logs to")
    sample.add_argument("--seed", type=int, default=7, help="random seed (default 7: the bundled sample)")
    sample.set_defaults(handler=_sample)
    return parser


def _add_common(parser: argparse.ArgumentParser, config: bool = True) -> None:
    if config:
        parser.add_argument("--config", help="mlwatch.toml (default: built-in defaults)")
    parser.add_argument("--state", help="state directory (default: $MLWATCH_STATE or .mlwatch)")


def _run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    state = store.state_dir(args.state)
    from mlwatch.pipeline import run_monthly

    result = run_monthly(args.logs, args.reference, args.current, config, state, started_by=f"cli:{_shell_user()}")
    _notify(config, result.summary, state)
    if args.json:
        print(json.dumps(result.summary.to_json()))  # the contract's keys, then the detail the dashboard uses
    else:
        print(_summary_text(result))
    return EXIT_OPEN if result.gate.is_open else EXIT_CLOSED


def _notify(config: Config, summary: RunSummary, state: Path) -> None:
    from mlwatch.governance.notify import notify_closed

    for delivery in notify_closed(config.notify, summary, state):
        if not delivery.delivered:
            print(
                f"mlwatch: warning: notification to {delivery.target} failed after {delivery.attempts} attempt(s)"
                f" ({delivery.error}); the run is stored",
                file=sys.stderr,
            )


def _backfill(args: argparse.Namespace) -> int:
    from mlwatch.backfill import backfill

    config = load_config(args.config)
    state = store.state_dir(args.state)
    done = backfill(
        args.logs,
        args.reference,
        config,
        state,
        force=args.force,
        started_by=f"cli:{_shell_user()}",
        progress=None if args.json else lambda text: print(f"Running {text}…", file=sys.stderr),
    )
    if done.results:  # only the newest month is news: a first backfill must not send one message per past month
        _notify(config, max(done.results, key=lambda r: r.summary.current_month).summary, state)
    if args.json:
        print(
            json.dumps(
                {
                    "runs": [
                        {
                            "run_id": r.run_id,
                            "reference_month": r.summary.reference_month,
                            "current_month": r.summary.current_month,
                            "gate": r.gate.status,
                            "failed": [c.label for c in r.gate.failed],
                        }
                        for r in done.results
                    ],
                    "skipped": [
                        {"reference_month": ref, "current_month": cur, "run_id": run_id}
                        for ref, cur, run_id in done.skipped
                    ],
                }
            )
        )
    else:
        for r in done.results:
            failed = ", ".join(c.label for c in r.gate.failed)
            print(
                f"{r.summary.current_month} vs {r.summary.reference_month}: gate {r.gate.status:<6} {r.run_id}"
                + (f"  failed: {failed}" if failed else "")
            )
        for ref, cur, run_id in done.skipped:
            print(f"{cur} vs {ref}: already stored as {run_id} (skipped; --force runs it again)")
        if not done.results and not done.skipped:
            print("Nothing to run.")
    return EXIT_OPEN if done.all_open else EXIT_CLOSED


def _history(args: argparse.Namespace) -> int:
    from mlwatch.state.history import history_table, load_history

    state = store.state_dir(args.state)
    history = load_history(state, all_runs=args.all_runs)
    if args.json:
        print(json.dumps(history.to_json()))
        return EXIT_OPEN
    if not history.runs:
        print("No runs yet: store some with `python -m mlwatch backfill --logs PATH --reference YYYY-MM`.")
        return EXIT_OPEN
    features = {c["feature"] for run in history.runs for c in run["checks"] if c["feature"]}
    if args.feature and args.feature not in features:
        raise MlwatchError(
            f"--feature {args.feature}: no stored run has it; known features: {', '.join(sorted(features))}"
        )
    table = history_table(history, args.feature)
    print(_format_table(table))
    return EXIT_OPEN


def _format_table(rows: list[dict[str, Any]]) -> str:
    def cell(column: str, value: Any) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "-"
        if column.startswith(("zero_rate", "missing_rate")):
            return f"{value * 100:.1f}%"
        if isinstance(value, float):
            return f"{value:.3f}"
        if isinstance(value, int):
            return f"{value:,}"
        return str(value)

    columns = list(dict.fromkeys(key for row in rows for key in row))  # a month without a feature leaves a gap
    cells = [[cell(c, row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)) for r in cells]
    return "\n".join(line.rstrip() for line in lines)


def _actuals(args: argparse.Namespace) -> int:
    from mlwatch.actuals import update_actuals
    from mlwatch.pipeline import load_logs

    config = load_config(args.config)
    state = store.state_dir(args.state)
    loaded = load_logs(args.logs, config, state)
    try:
        measured = update_actuals(loaded.con, state, None, run_ids=args.run, recompute=args.recompute)
    finally:
        loaded.con.close()
    if args.json:
        print(json.dumps([{"run_id": p.run_id, "actuals_month": p.actuals_month, **p.metrics} for p in measured]))
        return EXIT_OPEN
    if not measured:
        print("No run to measure: every stored run is measured already, or its next month is not complete in the logs.")
    for p in measured:
        m = p.metrics
        print(
            f"{p.run_id}: purchases of {p.actuals_month}: R2 {m['r2']:.3f} · MAE {m['mae']:.3f} · "
            f"precision top 10% {m['precision_top10']:.1%} · lift top 10% {m['lift_top10'] or 0:.2f}x"
        )
    return EXIT_OPEN


def _summary_text(result: RunResult) -> str:
    s = result.summary
    ingest = s.ingest
    lines = [
        f"mlwatch run {result.run_id}: reference {s.reference_month}, current {s.current_month}",
        f"Gate: {result.gate.status.upper()}"
        + (f" ({len(result.gate.failed)} check(s) failed)" if result.gate.failed else " (every check passed)"),
        "",
    ]
    for check in result.checks:
        lines.append(f"  {_SYMBOL[check.status]}  {check.label:<24} {check.message}")
    vocab = s.vocabulary
    if vocab.new or vocab.missing:
        lines += [
            "",
            f"New event names: {', '.join(vocab.new) or 'none'}",
            f"Vanished event names: {', '.join(vocab.missing) or 'none'}",
        ]
    lines += [
        "",
        (
            f"Rows read {ingest.rows_read:,} · rejected {ingest.rows_rejected:,} · "
            f"duplicates {ingest.duplicates:,} · users this month {s.features.users:,}"
        ),
        f"Stored in {result.path}",
    ]
    return "\n".join(lines)


def _runs(args: argparse.Namespace) -> int:
    records = store.list_runs(store.state_dir(args.state))
    if args.json:
        print(json.dumps([{k: v for k, v in vars(r).items() if k != "config"} for r in records]))
        return EXIT_OPEN
    if not records:
        print("No runs yet: start one with `python -m mlwatch run --logs PATH --reference YYYY-MM --current YYYY-MM`.")
    for r in records:
        print(
            f"{r.run_id}  {r.reference_month} -> {r.current_month}  gate {r.gate:<6}  users {r.users:,}  {r.created_at}"
        )
    return EXIT_OPEN


def _sample(args: argparse.Namespace) -> int:
    from mlwatch.ingest.sample import generate_sample

    files = generate_sample(Path(args.out), seed=args.seed)
    print(f"Wrote {len(files)} log files to {args.out}")
    return EXIT_OPEN


def _cli_user(state: Path, name: str | None, role_without_accounts: str) -> auth.User:
    """The acting user of a command: an account when accounts exist, else a trusted local user."""
    if not auth.has_accounts(state):
        return auth.User(name or f"cli:{_shell_user()}", role_without_accounts, source="cli")
    if name is None:
        return auth.User(f"cli:{_shell_user()}", "marketer", source="cli")
    found = auth.find_user(state, name)
    if found is None:
        raise MlwatchError(f"no active account named {name!r}; see `python -m mlwatch user list`")
    return auth.User(found.name, found.role, source="cli")


def _shell_user() -> str:
    return os.environ.get("USER") or os.environ.get("USERNAME") or "unknown"


def _signoff(args: argparse.Namespace) -> int:
    from mlwatch.governance.signoff import failed_labels, sign_off

    state = store.state_dir(args.state)
    rules = load_config(args.config).auth
    user = _cli_user(state, args.by, "approver")
    accepted = args.accept or []
    if args.accept_all_failed or not args.accept:
        failed = failed_labels(state, args.run) if store.get_run(state, args.run).gate != "open" else ()
        if failed and not args.accept_all_failed:
            raise MlwatchError(
                f"run {args.run}: accept each failed check with --accept CHECK or all with --accept-all-failed;"
                f" failed: {', '.join(failed)}"
            )
        accepted = list(failed)
    signed = sign_off(state, args.run, user, args.reason, rules, accepted=accepted, via="cli")
    print(f"Run {args.run} signed off by {signed.approver}; accepted: {', '.join(signed.accepted)}")
    return EXIT_OPEN


def _revoke(args: argparse.Namespace) -> int:
    from mlwatch.governance.signoff import revoke

    state = store.state_dir(args.state)
    revoke(state, args.run, _cli_user(state, args.by, "approver"), args.reason, via="cli")
    print(f"Sign-off of run {args.run} revoked: the gate is closed again")
    return EXIT_OPEN


def _export(args: argparse.Namespace) -> int:
    from mlwatch.governance.export import export_prospects

    state = store.state_dir(args.state)
    result = export_prospects(
        state,
        args.run,
        _cli_user(state, args.by, "marketer"),
        args.out,
        top=args.top,
        top_share=args.top_share,
        holdout=args.holdout,
        seed=args.seed,
        bom=args.bom,
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


def _user_add(args: argparse.Namespace) -> int:
    if sys.stdin.isatty():
        password = getpass.getpass(f"Password for {args.name}: ")
        if getpass.getpass("Repeat it: ") != password:
            raise MlwatchError("the two passwords differ; nothing was created")
    else:
        password = sys.stdin.readline().rstrip("\n")
    user = auth.add_user(store.state_dir(args.state), args.name, args.role, password, actor=f"cli:{_shell_user()}")
    print(f"Account {user.name} ({user.role}) created")
    return EXIT_OPEN


def _user_list(args: argparse.Namespace) -> int:
    for row in auth.list_users(store.state_dir(args.state)):
        status = f"disabled {row['disabled_at']}" if row["disabled_at"] else "active"
        print(f"{row['name']:<24} {row['role']:<9} {status}  created {row['created_at']}")
    return EXIT_OPEN


def _user_disable(args: argparse.Namespace) -> int:
    auth.disable_user(store.state_dir(args.state), args.name, actor=f"cli:{_shell_user()}")
    print(f"Account {args.name} disabled")
    return EXIT_OPEN
