"""``sample``: write the generated sample logs."""

from __future__ import annotations

import argparse
from pathlib import Path

from mlwatch.cli.common import EXIT_OPEN


def add_sample(commands: argparse._SubParsersAction) -> None:
    """The ``sample`` command's arguments."""
    sample = commands.add_parser("sample", help="write the generated sample logs")
    sample.add_argument("--out", required=True, help="folder to write the logs to")
    sample.add_argument("--seed", type=int, default=7, help="random seed (default 7: the bundled sample)")
    sample.set_defaults(handler=_sample)


def _sample(args: argparse.Namespace) -> int:
    from mlwatch.ingest.sample import generate_sample

    files = generate_sample(Path(args.out), seed=args.seed)
    print(f"Wrote {len(files)} log files to {args.out}")
    return EXIT_OPEN
