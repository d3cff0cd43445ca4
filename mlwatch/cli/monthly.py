"""The monthly job's commands: ``run``, ``backfill``, ``actuals``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from mlwatch.cli.common import EXIT_CLOSED, EXIT_OPEN, add_common, shell_user
from mlwatch.config import Config, load_config
from mlwatch.errors import MlwatchError
from mlwatch.state import store

if TYPE_CHECKING:  # the engines load only when these commands run
    from mlwatch.pipeline import RunResult
    from mlwatch.summary import RunSummary

_SYMBOL = {"pass": "ok  ", "warn": "WARN", "fail": "FAIL"}


def add_run(commands: argparse._SubParsersAction) -> None:
    """The ``run`` command's arguments."""
    run = commands.add_parser("run", help="run the monthly checks and store the run")
    run.add_argument(
        "--logs",
        required=True,
        help="log file, directory (read recursively) or glob; or an s3://, gs:// or az:// prefix, object or glob",
    )
    run.add_argument("--reference", required=True, metavar="YYYY-MM", help="reference month (the model trains on it)")
    run.add_argument("--current", required=True, metavar="YYYY-MM", help="month to check and score")
    run.add_argument(
        "--as-of",
        metavar="YYYY-MM-DD",
        help="month to date: check the current month's days up to this one against the same days of the reference"
        " month (a provisional gate: it alerts, its list is never exported)",
    )
    add_common(run)
    run.add_argument("--json", action="store_true", help="print one JSON object instead of the summary")
    run.set_defaults(handler=_run)


def add_backfill(commands: argparse._SubParsersAction) -> None:
    """The ``backfill`` command's arguments."""
    backfill = commands.add_parser("backfill", help="run every month found in the logs after the reference month")
    backfill.add_argument(
        "--logs",
        required=True,
        help="log file, directory (read recursively) or glob; or an s3://, gs:// or az:// prefix, object or glob",
    )
    backfill.add_argument(
        "--reference",
        required=True,
        metavar="YYYY-MM",
        help='reference month ([history] compare = "previous": the first one)',
    )
    backfill.add_argument("--force", action="store_true", help="run again months already stored with the same inputs")
    backfill.add_argument(
        "--daily",
        metavar="YYYY-MM",
        help="instead, run this month to date for each of its days (--as-of each day), reading the logs once: "
        "History shows the day each check first failed",
    )
    backfill.add_argument("--since", metavar="YYYY-MM-DD", help="with --daily: the first day to run")
    backfill.add_argument("--until", metavar="YYYY-MM-DD", help="with --daily: the last day to run")
    add_common(backfill)
    backfill.add_argument("--json", action="store_true", help="print one JSON object instead of the summary")
    backfill.set_defaults(handler=_backfill)


def add_actuals(commands: argparse._SubParsersAction) -> None:
    """The ``actuals`` command's arguments."""
    actuals = commands.add_parser("actuals", help="measure stored runs against the purchases of their next month")
    actuals.add_argument("--logs", required=True, help="logs that contain the months after the runs' months")
    actuals.add_argument("--run", metavar="RUN_ID", action="append", help="only this run (repeatable)")
    actuals.add_argument("--recompute", action="store_true", help="measure again runs already measured")
    add_common(actuals)
    actuals.add_argument("--json", action="store_true", help="print a JSON list")
    actuals.set_defaults(handler=_actuals)


def _run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    state = store.state_dir(args.state)
    from mlwatch.pipeline import run_monthly

    result = run_monthly(
        args.logs, args.reference, args.current, config, state, started_by=f"cli:{shell_user()}", as_of=args.as_of
    )
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
    from mlwatch.backfill import backfill, backfill_daily

    config = load_config(args.config)
    state = store.state_dir(args.state)
    progress = None if args.json else lambda text: print(f"Running {text}…", file=sys.stderr)
    if (args.since or args.until) and not args.daily:
        raise MlwatchError("--since and --until go with --daily YYYY-MM")
    if args.daily:
        done = backfill_daily(
            args.logs, args.reference, args.daily, config, state, since=args.since, until=args.until,
            force=args.force, started_by=f"cli:{shell_user()}", progress=progress,
        )  # fmt: skip
    else:
        done = backfill(
            args.logs, args.reference, config, state, force=args.force, started_by=f"cli:{shell_user()}",
            progress=progress,
        )  # fmt: skip
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
                            "as_of": r.summary.as_of,
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
            month = f"{r.summary.current_month} to {r.summary.as_of}" if r.summary.as_of else r.summary.current_month
            print(
                f"{month} vs {r.summary.reference_month}: gate {r.gate.status:<6} {r.run_id}"
                + (f"  failed: {failed}" if failed else "")
            )
        for ref, cur, run_id in done.skipped:
            print(f"{cur} vs {ref}: already stored as {run_id} (skipped; --force runs it again)")
        if not done.results and not done.skipped:
            print("Nothing to run.")
    return EXIT_OPEN if done.all_open else EXIT_CLOSED


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
        f"mlwatch run {result.run_id}: reference {s.reference_month}, current {s.current_month}"
        + (f" to date ({s.as_of}; provisional: its list is never exported)" if s.as_of else ""),
        f"Gate: {result.gate.status.upper()}"
        + (f" ({len(result.gate.failed)} check(s) failed)" if result.gate.failed else " (every check passed)"),
        "",
    ]
    if s.changes:
        lines += ["What changed:", *(f"  {change.message}" for change in s.changes), ""]
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
