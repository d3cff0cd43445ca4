"""Run every benchmark on the same generated files and write the results beside each target.

Usage: python -m bench [--out bench/out] [--smoke]

Writes ``<out>/results.json`` and ``<out>/results.md`` (the table docs/BENCHMARKS.md quotes).
Generated logs are kept under ``<out>/data`` and reused when they exist (the generator is seeded).
``--smoke`` runs the same code paths on tiny data in about a minute; ``make test`` runs it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.generate import FORMATS, generate_logs

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Plan:
    """What to measure: the sizes of each benchmark."""

    feature_users: int  # feature build and line validation, every format
    feature_users_parquet: int  # feature build once more, larger, Parquet only
    scale_users: tuple[int, ...]  # whole runs, Parquet
    drift_users: int  # drift stage and page timing use the stored run of this size
    drift_sample: int
    repeat: int
    seeds: int
    page_repeat: int
    memory_limit: str


FULL = Plan(100_000, 1_000_000, (100_000, 1_000_000, 3_000_000), 1_000_000, 200_000, 3, 3, 5, "2GB")
SMOKE = Plan(2_000, 4_000, (3_000,), 3_000, 1_000, 1, 2, 1, "2GB")


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

    results["scale"] = []
    for users in plan.scale_users:
        _say(f"whole run, {users:,} users, parquet")
        state = out / "state" / str(users)
        shutil.rmtree(state, ignore_errors=True)
        measured = _subprocess_json(
            [
                "bench.scale",
                "--logs",
                str(_logs(out, users, "parquet")),
                "--state",
                str(state),
                "--config",
                str(config_path),
            ]
        )
        results["scale"].append({"users_generated": users, **measured})

    from bench.drift import compare_drift

    _say(f"drift stage, {plan.drift_users:,} users")
    drift_state = out / "state" / str(plan.drift_users)
    results["drift"] = compare_drift(drift_state, seeds=plan.seeds)
    results["pages"] = _pages(drift_state, plan.page_repeat)
    results["seconds"] = round(time.perf_counter() - started, 1)
    (out / "results.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    (out / "results.md").write_text(markdown(results), encoding="utf-8")
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


def _pages(state: Path, repeat: int) -> dict[str, Any]:
    from bench.page_timing import chromium_path, measure, measure_server, measure_switch

    _say("page render times, server (AppTest)")
    pages: dict[str, Any] = {"server": measure_server(state, repeat)}
    if chromium_path() is None:
        _say("browser timing skipped: no chromium (apt-get install -y chromium)")
        pages["skipped"] = "no chromium found; install it with apt-get install -y chromium"
        return pages
    _say("page render times, headless Chromium")
    for kind, times in (("browser", measure(state, repeat)), ("switch", measure_switch(state, repeat))):
        pages[kind] = {
            page: {"median": round(statistics.median(v), 2), "worst": round(max(v), 2), "n": len(v)}
            for page, v in times.items()
        }
    return pages


def machine() -> dict[str, Any]:
    """Cores, memory, CPU model and versions: the figures mean nothing without them."""
    import duckdb
    import evidently
    import sklearn

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
        "duckdb": duckdb.__version__,
        "evidently": evidently.__version__,
        "scikit-learn": sklearn.__version__,
    }


def markdown(results: dict[str, Any]) -> str:
    """The results as Markdown tables, each figure with its target beside it."""
    m = results["machine"]
    lines = [
        (
            f"Measured {results['started']} on {m['cores']} cores, {m['memory_gb']} GB ({m['cpu']}); "
            f"Python {m['python']}, DuckDB {m['duckdb']}, Evidently {m['evidently']}, "
            f"scikit-learn {m['scikit-learn']}. Whole benchmark: {results['seconds']:.0f} s."
        ),
        "",
    ]
    lines += [
        "### Feature build (one month's features and the next month's target)",
        "",
        (
            "| logs | events | bare GROUP BY over the files | mlwatch build | ratio (target ≤ 1.3) "
            "| pandas read + build | pandas build / mlwatch build (target ≥ 15) | ingest + build vs pandas |"
        ),
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for f in results["features"]:
        s = f["seconds"]
        mlwatch_total = s["mlwatch_ingest"] + s["mlwatch_build"]
        lines.append(
            f"| {f['users_generated']:,} users, {f['format']} | {f['rows']:,} | {s['bare_files']:.3f} s "
            f"| {s['mlwatch_build']:.3f} s | {s['mlwatch_build'] / s['bare_files']:.2f}x "
            f"(vs the same query on the table: {s['mlwatch_build'] / s['bare_table']:.2f}x) "
            f"| {s['pandas_read']:.2f} + {s['pandas_build']:.2f} s | {s['pandas_build'] / s['mlwatch_build']:.1f}x "
            f"| {mlwatch_total:.2f} s vs {s['pandas_read'] + s['pandas_build']:.2f} s: "
            f"{(s['pandas_read'] + s['pandas_build']) / mlwatch_total:.1f}x |"
        )
    v = results["validation"]["seconds"]
    lines += [
        "",
        f"### Rejected-row counting (clean JSON Lines, {results['validation']['rows']:,} events)",
        "",
        (
            "| lines read as text and validated | read_json, same validation | ratio (target ≤ 1.5) "
            "| bare read_json, no validation |"
        ),
        "|---:|---:|---:|---:|",
        (
            f"| {v['text_validated']:.3f} s | {v['read_json']:.3f} s | {v['text_validated'] / v['read_json']:.2f}x "
            f"| {v['read_json_bare']:.3f} s ({v['text_validated'] / v['read_json_bare']:.2f}x) |"
        ),
    ]
    lines += [
        "",
        "### Whole monthly run (Parquet; targets at 1M users: < 60 s, peak RSS < 4 GB)",
        "",
        "| users | events read | run | peak RSS | spilled | " + " | ".join(_STAGES) + " |",
        "|---:|---:|---:|---:|---:|" + "---:|" * len(_STAGES),
    ]
    for r in results["scale"]:
        by_stage = {s["stage"]: s for s in r["stages"]}
        cells = [
            f"{by_stage[k]['seconds']:.1f} s / {_gb(by_stage[k]['peak_rss_bytes'])}" if k in by_stage else "–"
            for k in _STAGES.values()
        ]
        lines.append(
            f"| {r['users_generated']:,} | {r['rows_read']:,} | {r['run_seconds']:.1f} s "
            f"| {_gb(r['peak_rss_bytes'])} | {_gb(r['spilled_bytes'])} | " + " | ".join(cells) + " |"
        )
    d = results["drift"]
    worst = max(d["max_score_difference"].values())
    lines += [
        "",
        (
            f"### Drift stage ({d['users']['current']:,} users; Evidently on a {d['sample_size']:,}-user "
            f"sample, seeds 0–{d['seeds'] - 1})"
        ),
        "",
        (
            "| mlwatch (exact statistics + sampled Evidently) | Evidently's DataDriftPreset on the full tables "
            "| speed-up (target ≥ 3) | mlwatch's Evidently metrics on the full tables "
            "| largest score difference (target ≤ 0.01) | same check statuses |"
        ),
        "|---:|---:|---:|---:|---:|---|",
        (
            f"| {d['seconds']['mlwatch']:.1f} s | {d['seconds']['evidently_full']:.1f} s "
            f"| {d['seconds']['evidently_full'] / d['seconds']['mlwatch']:.1f}x "
            f"| {d['seconds']['mlwatch_metrics_full']:.1f} s "
            f"({d['seconds']['mlwatch_metrics_full'] / d['seconds']['mlwatch']:.1f}x) | {worst:.4f} "
            f"| {'yes' if d['same_check_status'] else 'NO'} |"
        ),
        "",
        "| column | full-data score | largest difference of the sample | threshold |",
        "|---|---:|---:|---:|",
    ]
    for column, score in d["full_scores"].items():
        lines.append(
            f"| {column} | {score:.4f} | {d['max_score_difference'][column]:.4f} | {d['thresholds'][column]:g} |"
        )
    p = results["pages"]
    lines += [
        "",
        f"### Page render time, stored {d['users']['current']:,}-user run (target < 2 s)",
        "",
        (
            "| page | server, first (AppTest) | server, cached | browser, fresh session: median / worst "
            "| browser, page switch from the Overview: median / worst |"
        ),
        "|---|---:|---:|---:|---:|",
    ]
    for page, server in p["server"].items():
        lines.append(
            f"| {page} | {server['first']:.2f} s | {server['cached']:.2f} s "
            f"| {_timing(p.get('browser', {}).get(page))} | {_timing(p.get('switch', {}).get(page))} |"
        )
    if "skipped" in p:
        lines.append(f"Browser timing skipped: {p['skipped']}.")
    return "\n".join(lines) + "\n"


# column title -> stage name reported by the pipeline
_STAGES = {
    "ingest": "Reading the logs",
    "features": "Building the monthly features",
    "model": "Training the model on the reference month",
    "checks": "Checking the current month against the reference month",
    "estimate": "Estimating this month's error and ranking before its purchases are known",
    "store": "Storing the run",
}


def _timing(measured: dict[str, float] | None) -> str:
    return f"{measured['median']:.2f} s / {measured['worst']:.2f} s" if measured else "–"


def _gb(size: int) -> str:
    return f"{size / 2**30:.2f} GB" if size >= 2**27 else f"{size / 2**20:.0f} MB"


def _say(text: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    parser.add_argument("--smoke", action="store_true", help="tiny data, the same code paths (about a minute)")
    args = parser.parse_args(argv)
    results = run_all(args.out, SMOKE if args.smoke else FULL)
    print((args.out / "results.md").read_text(encoding="utf-8"))
    print(f"results: {args.out / 'results.json'} ({results['seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
