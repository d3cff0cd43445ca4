"""Reading stored runs: ``history`` and ``runs`` (no engine is loaded)."""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

from mlwatch.cli.common import EXIT_OPEN, add_common
from mlwatch.errors import MlwatchError
from mlwatch.state import store


def add_history(commands: argparse._SubParsersAction) -> None:
    """The ``history`` command's arguments."""
    history = commands.add_parser("history", help="every month's checks and performance over time")
    history.add_argument("--feature", help="show only this feature's rates and drift")
    history.add_argument("--all-runs", action="store_true", help="every run, not only the newest of each month")
    add_common(history, config=False)
    history.add_argument("--json", action="store_true", help="print a JSON list, one object per run")
    history.set_defaults(handler=_history)


def add_runs(commands: argparse._SubParsersAction) -> None:
    """The ``runs`` command's arguments."""
    runs = commands.add_parser("runs", help="list the stored runs, newest first")
    add_common(runs, config=False)
    runs.add_argument("--json", action="store_true", help="print a JSON list")
    runs.set_defaults(handler=_runs)


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
