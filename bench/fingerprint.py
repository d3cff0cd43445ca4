"""The cost of the input fingerprint a sign-off is bound to: SHA-256 of every log file against stat only.

Usage: python -m bench.fingerprint --logs DIR [--repeat 3]
Prints one JSON object: the files and bytes hashed, the best time of ``input_fingerprint``
(path, size and SHA-256 of each file) and of the stat-only fingerprint of earlier releases,
and the hashing rate. Files are read once first, so the figures are for logs in the page cache,
as they are right after a run has read them.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlwatch.ingest.files import _stat_fingerprint, file_sha256, find_log_files, input_fingerprint


def measure_fingerprint(logs: Path, repeat: int = 3) -> dict[str, Any]:
    """Time both fingerprints of the logs at ``logs`` (best of ``repeat``)."""
    files = find_log_files(logs)
    size = sum(path.stat().st_size for path in files)
    for path in files:  # warm the page cache, as the run's read does
        file_sha256(path)
    sha = _best(repeat, lambda: input_fingerprint(str(logs), {}))
    stat = _best(repeat, lambda: _stat_fingerprint(str(logs), {}))
    return {
        "files": len(files),
        "bytes": size,
        "seconds": {"sha256_v2": round(sha, 3), "stat_only": round(stat, 4)},
        "mb_per_second": round(size / 1e6 / sha),
    }


def _best(repeat: int, run: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--logs", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    print(json.dumps(measure_fingerprint(args.logs, args.repeat)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
