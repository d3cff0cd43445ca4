"""Start-up: how soon ``python -m mlwatch run`` reaches its first stage, and how soon the light commands answer.

Usage: python -m bench.startup --logs DIR --state DIR [--config FILE] [--repeat 5]
Prints one JSON object. Each figure is the median wall time of ``repeat`` fresh processes, from just
before the process is started (interpreter start-up included) until:

- ``run``: the run's first stage starts. ``python -m bench.startup --probe run ...`` runs the real
  command line (``mlwatch.cli.main``) with a hook on ``run_monthly``'s progress that prints a marker
  line at the first stage and ends the process there, so nothing is read or stored; the state is a
  scratch folder.
- ``runs``, ``history``, ``audit``: the command has printed its answer and exited (``--state``: the
  stored run's state).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MARKER = "bench.startup: first stage:"
LIGHT_COMMANDS = ("runs", "history", "audit")  # the commands that only read the stored state


def measure_startup(
    logs: Path, stored_state: Path, scratch: Path, config: Path | None, repeat: int = 5
) -> dict[str, dict[str, Any]]:
    """Time ``run`` to its first stage on ``logs`` and each light command on ``stored_state``.

    Returns, per command, the median and worst seconds and how many processes were timed.
    """
    run_args = ["run", "--logs", str(logs), "--reference", "2026-03", "--current", "2026-04", "--state", str(scratch)]
    if config is not None:
        run_args += ["--config", str(config)]
    shutil.rmtree(scratch, ignore_errors=True)
    times = {"run": [_until_first_stage(run_args) for _ in range(repeat)]}
    for command in LIGHT_COMMANDS:
        times[command] = [_until_exit([command, "--state", str(stored_state)]) for _ in range(repeat)]
    shutil.rmtree(scratch, ignore_errors=True)
    return {
        command: {"median": round(statistics.median(v), 3), "worst": round(max(v), 3), "n": len(v)}
        for command, v in times.items()
    }


def _until_first_stage(args: list[str]) -> float:
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.startup", "--probe", *args],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    lines = []
    for line in process.stderr:
        if line.startswith(MARKER):
            seconds = time.perf_counter() - started
            process.wait(timeout=60)
            return seconds
        lines.append(line)
    process.wait(timeout=60)
    raise RuntimeError(f"python -m mlwatch {' '.join(args)} ended before its first stage: {''.join(lines[-3:])}")


def _until_exit(args: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "mlwatch", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"python -m mlwatch {' '.join(args)} failed: {done.stderr.strip()[-300:]}")
    return seconds


def _probe(argv: list[str]) -> int:
    """The command line as ``python -m mlwatch`` runs it, ended at the run's first stage."""
    from mlwatch import pipeline

    run_monthly = pipeline.run_monthly

    def until_first_stage(*args: Any, progress: Any = None, **kwargs: Any) -> Any:
        def first(stage: str) -> None:
            print(f"{MARKER} {stage}", file=sys.stderr, flush=True)
            os._exit(0)  # nothing read, nothing stored

        return run_monthly(*args, progress=first, **kwargs)

    pipeline.run_monthly = until_first_stage
    from mlwatch.cli import main

    return main(argv)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--probe"]:
        return _probe(argv[1:])
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--logs", type=Path, required=True)
    parser.add_argument("--state", type=Path, required=True, help="a state with a stored run (for the light commands)")
    parser.add_argument("--config", type=Path)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    scratch = args.state.parent / f".{args.state.name}-startup"
    print(json.dumps(measure_startup(args.logs, args.state, scratch, args.config, args.repeat)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
