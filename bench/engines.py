"""The same monthly run with both engines, DuckDB and Spark (``local[2]``), on generated logs (docs/BENCHMARKS.md).

Usage: python -m bench.engines --users 100000 1000000 [--out bench/out/engines] [--memory 8GB]

Each run is ``bench.scale`` in a process of its own; a thread here samples the resident memory (RSS)
of that process and all its children (Spark's JVM and its Python workers) every 100 ms. Prints one
JSON object: per size and engine the run's wall time, each stage's time, the peak RSS of the whole
process tree, and whether both engines' per-user feature tables are identical.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd

from bench.generate import generate_logs

PAGE = os.sysconf("SC_PAGE_SIZE")


def compare(users: int, out: Path, memory: str) -> dict[str, Any]:
    """Generate Parquet logs of ``users`` users (kept for reuse) and run both engines on them."""
    logs = out / f"logs-{users}"
    if not (logs / "parquet").exists():
        generate_logs(logs, users, "parquet")
    results: dict[str, Any] = {"users": users}
    for kind in ("duckdb", "spark"):
        config = out / f"{kind}.toml"
        config.write_text(f'[engine]\nkind = "{kind}"\nmaster = "local[2]"\nmemory_limit = "{memory}"\n')
        state = out / f"state-{users}-{kind}"
        results[kind] = _measure(logs / "parquet", state, config)
    results["identical_features"] = all(
        pd.read_parquet(_run_folder(out, users, "duckdb", month)).equals(
            pd.read_parquet(_run_folder(out, users, "spark", month))
        )
        for month in ("reference", "current")
    )
    return results


def _measure(logs: Path, state: Path, config: Path) -> dict[str, Any]:
    args = [sys.executable, "-m", "bench.scale", "--logs", str(logs), "--state", str(state), "--config", str(config)]
    started = time.perf_counter()
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    sampler = _TreeSampler(process.pid)
    sampler.start()
    stdout, _ = process.communicate()
    sampler.done.set()
    sampler.join()
    if process.returncode != 0:
        raise RuntimeError(f"bench.scale failed for {config}")
    measured = json.loads(stdout)
    (state / "bench.json").write_text(stdout)
    return {
        "wall_seconds": round(time.perf_counter() - started, 1),
        "run_seconds": measured["run_seconds"],
        "stages": {s["stage"]: s["seconds"] for s in measured["stages"]},
        "peak_tree_rss_bytes": sampler.peak,
        "rows_read": measured["rows_read"],
        "users": measured["users"],
        "gate": measured["gate"],
        "run_id": measured["run_id"],
    }


def _run_folder(out: Path, users: int, kind: str, month: str) -> Path:
    state = out / f"state-{users}-{kind}"
    run_id = json.loads((state / "bench.json").read_text())["run_id"]
    return state / "runs" / run_id / f"features_{month}.parquet"


class _TreeSampler(threading.Thread):
    """The highest total RSS of a process and its descendants."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak = pid, 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.peak = max(self.peak, sum(_rss(pid) for pid in _tree(self.pid)))
            self.done.wait(0.1)


def _tree(root: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, parent in parents.items() if parent in frontier]
        found += frontier
    return found


def _rss(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--out", type=Path, default=Path("bench/out/engines"))
    parser.add_argument("--memory", default="8GB", help="[engine] memory_limit: DuckDB's limit and Spark's heap")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    results = [compare(users, args.out, args.memory) for users in args.users]
    print(json.dumps({"results": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
