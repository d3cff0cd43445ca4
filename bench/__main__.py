"""Run every benchmark on the same generated files and write the results beside each target.

Usage: python -m bench [--out bench/out] [--smoke]

Writes ``<out>/results.json`` and ``<out>/results.md`` (the tables docs/BENCHMARKS.md quotes), and
``<out>/targets.md``: issue 16's targets table (figure | measured | target | met), also printed last.
Generated logs are kept under ``<out>/data`` and reused when they exist (the generator is seeded).
``--smoke`` runs the same code paths on tiny data in about a minute; ``make test`` runs it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.generate import FORMATS, generate_logs
from bench.page_timing import PAGES, SWITCH_PAGES
from bench.report import markdown
from bench.targets import markdown_table, target_rows

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Plan:
    """What to measure: the sizes of each benchmark."""

    feature_users: int  # feature build and line validation, every format
    feature_users_parquet: int  # feature build once more, larger, Parquet only
    scale_users: tuple[int, ...]  # whole runs and the bare aggregation, Parquet
    peer_users: tuple[int, ...]  # the peer pipeline, on the same files as the whole run
    target_users: tuple[int, int]  # the sizes issue 16's "300k" and "1M" targets are read at
    drift_users: int  # drift stage, start-up, page timing and readers use the stored run of this size
    to_date_users: int  # a daily month-to-date run against the whole month (bench.to_date)
    drift_sample: int
    repeat: int
    seeds: int
    page_repeat: int  # also the start-up processes timed per command
    readers: int  # sessions opening their pages at once
    warm_pages: bool  # page timing drops a first round that fills the server's caches
    memory_limit: str
    # the pages timed in Chromium (fresh sessions; moving to them from the Overview); the server's page
    # runs (AppTest) are timed for every page
    browser_pages: tuple[str, ...] = tuple(PAGES)
    switch_pages: tuple[str, ...] = SWITCH_PAGES


FULL = Plan(
    feature_users=100_000,
    feature_users_parquet=1_000_000,
    scale_users=(100_000, 300_000, 1_000_000, 3_000_000),
    peer_users=(300_000, 1_000_000),
    target_users=(300_000, 1_000_000),
    drift_users=1_000_000,
    to_date_users=1_000_000,
    drift_sample=200_000,
    repeat=3,
    seeds=3,
    page_repeat=5,
    readers=20,
    warm_pages=True,
    memory_limit="2GB",
)
SMOKE = Plan(
    feature_users=2_000,
    feature_users_parquet=4_000,
    scale_users=(3_000,),
    peer_users=(3_000,),
    target_users=(3_000, 3_000),
    drift_users=3_000,
    to_date_users=3_000,
    drift_sample=1_000,
    repeat=1,
    seeds=2,
    page_repeat=1,
    readers=2,
    warm_pages=False,
    memory_limit="2GB",
    # one page of each kind: the loops are the same for every page (make test's time, pytest's budget)
    browser_pages=("overview", "drift"),
    switch_pages=("data",),
)


def run_all(out: Path, plan: Plan) -> dict[str, Any]:
    """Generate the logs, run each benchmark, and return every figure."""
    from mlwatch.config import load_config

    out.mkdir(parents=True, exist_ok=True)
    config_path = out / "bench.toml"
    config_path.write_text(
        f'[engine]\nmemory_limit = "{plan.memory_limit}"\n\n[drift]\nsample_size = {plan.drift_sample}\n'
    )
    config = load_config(config_path)
    results: dict[str, Any] = {"machine": machine(), "plan": plan.__dict__, "started": time.strftime("%Y-%m-%d %H:%M")}
    started = time.perf_counter()

    from bench.features import compare_feature_build, compare_line_validation

    features = []
    for fmt in FORMATS:
        logs = _logs(out, plan.feature_users, fmt)
        _say(f"feature build, {plan.feature_users:,} users, {fmt}")
        features.append(
            {"users_generated": plan.feature_users, **compare_feature_build(logs, fmt, config, plan.repeat)}
        )
    _say(f"feature build, {plan.feature_users_parquet:,} users, parquet")
    logs = _logs(out, plan.feature_users_parquet, "parquet")
    features.append(
        {"users_generated": plan.feature_users_parquet, **compare_feature_build(logs, "parquet", config, plan.repeat)}
    )
    results["features"] = features
    _say("line validation, JSON Lines")
    results["validation"] = {
        "users_generated": plan.feature_users,
        **compare_line_validation(_logs(out, plan.feature_users, "jsonl"), config, plan.repeat),
    }

    from bench.scale import bare_aggregation

    results["scale"], results["peer"] = [], []
    for users in plan.scale_users:
        logs = _logs(out, users, "parquet")
        _say(f"bare aggregation, {users:,} users, parquet")
        bare = bare_aggregation(logs, config, plan.repeat)
        _say(f"whole run, {users:,} users, parquet")
        state = out / "state" / str(users)
        shutil.rmtree(state, ignore_errors=True)
        measured = _subprocess_json(
            ["bench.scale", "--logs", str(logs), "--state", str(state), "--config", str(config_path)]
        )
        results["scale"].append({"users_generated": users, **measured, "bare": bare})
        if users in plan.peer_users:
            _say(f"peer pipeline, {users:,} users, parquet")
            peer = _subprocess_json(["bench.peer", "--logs", str(logs), "--html", str(out / f"peer-{users}.html")])
            results["peer"].append({"users_generated": users, **peer})

    from bench.drift import compare_drift
    from bench.startup import measure_startup

    _say(f"drift stage, {plan.drift_users:,} users")
    drift_state = out / "state" / str(plan.drift_users)
    results["drift"] = compare_drift(drift_state, seeds=plan.seeds)
    _say("start-up of the command line")
    results["startup"] = measure_startup(
        _logs(out, plan.drift_users, "parquet"), drift_state, out / "state" / "startup", config_path, plan.page_repeat
    )
    results["pages"] = _pages(drift_state, plan, out / "script_runs.jsonl")
    _say(f"month to date: the day-20 run against the whole month, {plan.to_date_users:,} users")
    shutil.rmtree(out / "to_date", ignore_errors=True)  # the files of each day arrive again
    source = _logs(out, plan.to_date_users, "parquet")
    to_date = ["bench.to_date", "--source", str(source), "--out", str(out / "to_date"), "--config", str(config_path)]
    results["to_date"] = {"users_generated": plan.to_date_users, **_subprocess_json(to_date)}
    results["seconds"] = round(time.perf_counter() - started, 1)
    targets = target_rows(results, plan.target_users)
    results["targets"] = [target.__dict__ for target in targets]
    (out / "results.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    (out / "results.md").write_text(markdown(results, targets), encoding="utf-8")
    (out / "targets.md").write_text(markdown_table(targets), encoding="utf-8")
    return results


def _logs(out: Path, users: int, fmt: str) -> Path:
    """The generated logs of ``users`` users in ``fmt``; generated once, reused afterwards."""
    root = out / "data" / str(users)
    folder, done = root / fmt, root / f".{fmt}.done"
    if not done.exists():
        shutil.rmtree(folder, ignore_errors=True)
        _say(f"generating {users:,} users, {fmt}")
        logs = generate_logs(root, users, fmt)
        done.write_text(json.dumps({"rows": logs.rows, "files": logs.files}))
    return folder


def _subprocess_json(module_args: list[str]) -> dict[str, Any]:
    """Run a benchmark module in a fresh process (its peak memory is its own) and parse its JSON."""
    done = subprocess.run([sys.executable, "-m", *module_args], cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"python -m {' '.join(module_args)} failed: {done.stderr.strip().splitlines()[-1:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _pages(state: Path, plan: Plan, runs: Path) -> dict[str, Any]:
    """Page render times in AppTest, then in Chromium against one server, which the readers share afterwards."""
    from bench.page_floor import measure_floor
    from bench.page_timing import chromium_path, measure, measure_server, measure_switch, serve, summarise
    from bench.readers import measure_readers

    _say("page render times, server (AppTest)")
    pages: dict[str, Any] = {"server": measure_server(state, plan.page_repeat)}
    if chromium_path() is None:
        _say("browser timing skipped: no chromium (apt-get install -y chromium)")
        pages["skipped"] = "no chromium found; install it with apt-get install -y chromium"
        return pages
    with serve(state, runs) as server:
        _say("page render times, headless Chromium")
        for kind, timing, names in (
            ("browser", measure, plan.browser_pages),
            ("switch", measure_switch, plan.switch_pages),
        ):
            pages[kind] = summarise(timing(server.url, plan.page_repeat, plan.warm_pages, names))
        _say(f"{plan.readers} readers at once")
        pages["readers"] = measure_readers(server, plan.readers, warm=False)  # the page timing filled the caches
    _say("the floor: Streamlit pages holding nothing of mlwatch, headless Chromium")
    pages["floor"] = measure_floor(plan.page_repeat)
    return pages


def machine() -> dict[str, Any]:
    """Cores, memory, CPU model and versions: the figures mean nothing without them (the versions from the
    installed packages' metadata: importing Evidently alone takes several seconds)."""
    from importlib.metadata import version

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory = next(
        int(line.split()[1]) * 1024
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    return {
        "cores": os.cpu_count(),
        "memory_gb": round(memory / 2**30, 1),
        "cpu": cpu,
        "python": platform.python_version(),
        "duckdb": version("duckdb"),
        "evidently": version("evidently"),
        "scikit-learn": version("scikit-learn"),
    }


def _say(text: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    parser.add_argument("--smoke", action="store_true", help="tiny data, the same code paths (about a minute)")
    args = parser.parse_args(argv)
    results = run_all(args.out, SMOKE if args.smoke else FULL)
    print((args.out / "results.md").read_text(encoding="utf-8"))
    print("Targets (issue 16):\n")
    print((args.out / "targets.md").read_text(encoding="utf-8"))
    print(f"results: {args.out / 'results.json'} ({results['seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
