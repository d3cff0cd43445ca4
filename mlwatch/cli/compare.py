"""``compare``: the run's list (the champion) against a challenger model's on the same month, before any campaign."""

from __future__ import annotations

import argparse
import json

from mlwatch.cli.common import EXIT_OPEN, add_common
from mlwatch.state import store


def add_compare(commands: argparse._SubParsersAction) -> None:
    """The ``compare`` command's arguments."""
    compare = commands.add_parser(
        "compare", help="score a stored run's month with a challenger model and compare the two lists"
    )
    compare.add_argument("--run", required=True, help="the stored run whose list is the champion")
    compare.add_argument(
        "--challenger",
        required=True,
        help="a scikit-learn file (.skops), an MLflow URI (models:/NAME/VERSION, runs:/...) or a scores file "
        "or folder (CSV/Parquet with user_id, prediction)",
    )
    compare.add_argument("--allow-pickle", action="store_true", help="load a joblib challenger (it can run any code)")
    add_common(compare, config=False)
    compare.add_argument("--json", action="store_true", help="print one JSON object")
    compare.set_defaults(handler=_compare)


def _compare(args: argparse.Namespace) -> int:
    from mlwatch.monthly.compare import challenger_config, compare_models, save_comparison

    state = store.state_dir(args.state)
    comparison = compare_models(state, args.run, challenger_config(args.challenger, args.allow_pickle))
    save_comparison(state, comparison)
    if args.json:
        print(json.dumps(comparison.to_json()))
        return EXIT_OPEN
    print(f"{comparison.month}: {comparison.users:,} users scored by both models (run {comparison.run_id})")
    print(
        f"  champion:   {comparison.champion['kind']} {comparison.champion['location']} {comparison.champion['version']}"
    )
    print(f"  challenger: {comparison.challenger['kind']} {comparison.challenger['location']} "
          f"{comparison.challenger['version']}")  # fmt: skip
    for top, share in comparison.overlap.items():
        print(f"  {top[3:]}% of the list: {share:.0%} of the champion's users are also in the challenger's")
    correlation = comparison.rank_correlation
    print(f"  rank correlation (Spearman): {'n/a' if correlation is None else f'{correlation:.3f}'}")
    print(f"  top 10%: {comparison.entering:,} users would enter, {comparison.leaving:,} would leave")
    if comparison.actual:
        for model, figures in comparison.actual.items():
            lift, precision = figures.get("lift_top10"), figures.get("precision_top10")
            print(f"  {model:<10} actual lift of the top 10%: {_num(lift, 'x')}, precision: {_num(precision, '%')}")
    else:
        print("  actual performance: not yet (the month after it is not in the logs)")
    return EXIT_OPEN


def _num(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    return f"{value:.0%}" if unit == "%" else f"{value:.2f}x"
