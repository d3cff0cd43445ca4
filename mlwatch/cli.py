"""Command line: ``python -m mlwatch run|runs|sample``.

Exit codes: 0 gate open, 1 gate closed, 2 usage or input error (one line on stderr).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from mlwatch import store
from mlwatch.config import load_config
from mlwatch.errors import MlwatchError
from mlwatch.pipeline import RunResult, run_monthly

EXIT_OPEN, EXIT_CLOSED, EXIT_ERROR = 0, 1, 2
_SYMBOL = {"pass": "ok  ", "warn": "WARN", "fail": "FAIL"}


def main(argv: list[str] | None = None) -> int:
    """Run the command line and return its exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except MlwatchError as exc:
        print(f"mlwatch: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("mlwatch: interrupted; nothing was stored", file=sys.stderr)
        return EXIT_ERROR


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m mlwatch", description="Guard the monthly input data of an ML model.")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run the monthly checks and store the run")
    run.add_argument("--logs", required=True, help="log file, directory (read recursively) or glob")
    run.add_argument("--reference", required=True, metavar="YYYY-MM", help="reference month (the model trains on it)")
    run.add_argument("--current", required=True, metavar="YYYY-MM", help="month to check and score")
    _add_common(run)
    run.add_argument("--json", action="store_true", help="print one JSON object instead of the summary")
    run.set_defaults(handler=_run)

    runs = commands.add_parser("runs", help="list the stored runs, newest first")
    _add_common(runs, config=False)
    runs.add_argument("--json", action="store_true", help="print a JSON list")
    runs.set_defaults(handler=_runs)

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
    result = run_monthly(args.logs, args.reference, args.current, config, store.state_dir(args.state))
    if args.json:
        print(json.dumps(_contract_json(result)))
    else:
        print(_summary_text(result))
    return EXIT_OPEN if result.gate.is_open else EXIT_CLOSED


def _contract_json(result: RunResult) -> dict[str, object]:
    """The stored summary: DESIGN.md's keys first, then the detail the dashboard uses."""
    return result.summary


def _summary_text(result: RunResult) -> str:
    s = result.summary
    ingest = s["ingest"]
    lines = [
        f"mlwatch run {result.run_id}: reference {s['reference_month']}, current {s['current_month']}",
        f"Gate: {result.gate.status.upper()}"
        + (f" ({len(result.gate.failed)} check(s) failed)" if result.gate.failed else " (every check passed)"),
        "",
    ]
    for check in result.checks:
        label = f"{check.name}{'[' + check.feature + ']' if check.feature else ''}"
        lines.append(f"  {_SYMBOL[check.status]}  {label:<24} {check.message}")
    vocab = s["vocabulary"]
    if vocab["new"] or vocab["missing"]:
        lines += ["", f"New event names: {', '.join(vocab['new']) or 'none'}",
                  f"Vanished event names: {', '.join(vocab['missing']) or 'none'}"]
    lines += [
        "",
        f"Rows read {ingest['rows_read']:,} · rejected {ingest['rows_rejected']:,} · "
        f"duplicates {ingest['duplicates']:,} · users this month {s['features']['users']:,}",
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
        print(f"{r.run_id}  {r.reference_month} -> {r.current_month}  gate {r.gate:<6}  users {r.users:,}  {r.created_at}")
    return EXIT_OPEN


def _sample(args: argparse.Namespace) -> int:
    from mlwatch.sample import generate_sample

    files = generate_sample(Path(args.out), seed=args.seed)
    print(f"Wrote {len(files)} log files to {args.out}")
    return EXIT_OPEN
