"""One whole monthly run, timed and measured stage by stage, in a process of its own; and the bare aggregation.

Usage: python -m bench.scale --logs DIR --state DIR [--config FILE] [--reference 2026-03 --current 2026-04]
Prints one JSON object: seconds and peak resident memory (RSS) of each stage, the whole run's
wall time and peak RSS, the most DuckDB spilled to its temp folder, and the run's figures.
A thread samples /proc/self/statm every 20 ms, so a stage's peak is the highest RSS seen in it.

``bare_aggregation`` times the least any correct run must do with the same files: one DuckDB
query over every file the run reads, counting each user's events of each feature per month into a
temporary table, with the run's ``[engine]`` limits.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlwatch.config import Config

PAGE = os.sysconf("SC_PAGE_SIZE")


class _Sampler(threading.Thread):
    """Keeps the peak RSS of the current stage and the largest size of the spill folder."""

    def __init__(self, spill: Path) -> None:
        super().__init__(daemon=True)
        self.stage = "start"
        self.peaks: dict[str, int] = {}
        self.spill, self.spilled = spill, 0
        self._done = threading.Event()

    def run(self) -> None:
        tick = 0
        while not self._done.is_set():
            self.peaks[self.stage] = max(self.peaks.get(self.stage, 0), _rss())
            tick += 1
            if tick % 10 == 0:
                self.spilled = max(self.spilled, _folder_size(self.spill))
            self._done.wait(0.02)

    def stop(self) -> None:
        self._done.set()
        self.join()


def measure_run(logs: Path, state: Path, config_path: Path | None, reference: str, current: str) -> dict[str, Any]:
    """Run the monthly job once and return its stage timings and memory peaks."""
    started = time.perf_counter()
    from mlwatch.config import load_config
    from mlwatch.pipeline import run_monthly

    config = load_config(config_path)
    spill = Path(config.engine.temp_directory) if config.engine.temp_directory else state / "tmp"
    sampler = _Sampler(spill)
    sampler.start()
    stages: list[tuple[str, float]] = []

    def progress(stage: str) -> None:
        stages.append((stage, time.perf_counter()))
        sampler.stage = stage

    imported = time.perf_counter() - started
    run_started = time.perf_counter()
    result = run_monthly(logs, reference, current, config, state, progress=progress)
    ended = time.perf_counter()
    sampler.stop()
    bounds = [*stages, ("end", ended)]
    return {
        "users": result.summary.features.users,
        "reference_users": result.summary.features.reference_users,
        "rows_read": result.summary.ingest.rows_read,
        "gate": result.gate.status,
        "import_seconds": round(imported, 2),
        "run_seconds": round(ended - run_started, 2),
        "peak_rss_bytes": max(sampler.peaks.values()),
        "spilled_bytes": sampler.spilled,
        "memory_limit": config.engine.memory_limit,
        "stages": [
            {"stage": name, "seconds": round(bounds[i + 1][1] - at, 2), "peak_rss_bytes": sampler.peaks.get(name, 0)}
            for i, (name, at) in enumerate(stages)
        ],
        "run_id": result.run_id,
    }


def bare_aggregation(logs: Path, config: Config, repeat: int = 3) -> dict[str, Any]:
    """Seconds (best of ``repeat``) of one query over every log file into ``CREATE TEMP TABLE t``:
    per user and month, the events and each feature's events; and the rows (user-months) it made."""
    import tempfile

    from bench.features import events_source
    from mlwatch.ingest import db
    from mlwatch.ingest.files import find_log_files

    files = [str(p) for p in find_log_files(logs)]
    counts = ", ".join(
        f"count(*) FILTER (WHERE event IN ({', '.join(db.quote_literal(e) for e in events)})) AS {db.quote_ident(name)}"
        for name, events in config.features.items()
    )
    sql = f"""
        CREATE OR REPLACE TEMP TABLE t AS
        SELECT user_id, date_trunc('month', ts) AS month, count(*) AS events, {counts}
        FROM {events_source(files, "parquet")} GROUP BY ALL
    """
    times = []
    with tempfile.TemporaryDirectory() as spill:
        con = db.connect(memory_limit=config.engine.memory_limit, temp_directory=spill, threads=config.engine.threads)
        try:
            con.execute("SET enable_progress_bar = false")
            for _ in range(repeat):
                started = time.perf_counter()
                con.execute(sql)
                times.append(time.perf_counter() - started)
            rows = int(con.execute("SELECT count(*) FROM t").fetchall()[0][0])
        finally:
            con.close()
    return {"seconds": round(min(times), 3), "rows": rows, "files": len(files)}


def _rss() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * PAGE


def _folder_size(folder: Path) -> int:
    try:
        return sum(entry.stat().st_size for entry in folder.rglob("*") if entry.is_file())
    except OSError:  # DuckDB removes its files while we look
        return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--logs", type=Path, required=True)
    parser.add_argument("--state", type=Path, required=True)
    parser.add_argument("--config", type=Path)
    parser.add_argument("--reference", default="2026-03")
    parser.add_argument("--current", default="2026-04")
    args = parser.parse_args(argv)
    print(json.dumps(measure_run(args.logs, args.state, args.config, args.reference, args.current)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
