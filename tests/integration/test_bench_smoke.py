"""`make bench-smoke`: every benchmark's code path on tiny data, so the benchmark never rots."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

STAGES = {
    "Reading the logs",
    "Building the monthly features",
    "Training the model on the reference month",
    "Checking the current month against the reference month",
    "Storing the run",
}


def test_smoke_benchmark_measures_every_figure_and_writes_the_report(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads((tmp_path / "results.json").read_text())

    # 1. Feature build: each format built the same table as pandas (the benchmark checks it) from every row.
    generated = {
        p.parent.name + "/" + p.name[1:-5]: json.loads(p.read_text())["rows"]
        for p in (tmp_path / "data").glob("*/.*.done")
    }
    assert [f["format"] for f in results["features"]] == ["parquet", "csv", "jsonl", "parquet"]
    for feature in results["features"]:
        assert feature["rows"] == generated[f"{feature['users_generated']}/{feature['format']}"]
        assert 0 < feature["users"] <= feature["users_generated"]
        assert all(seconds > 0 for seconds in feature["seconds"].values())
    assert results["validation"]["rows"] == generated[f"{results['validation']['users_generated']}/jsonl"]

    # 2. Whole run: every row read, every stage timed, memory measured.
    (scale,) = results["scale"]
    assert scale["rows_read"] == generated[f"{scale['users_generated']}/parquet"]
    assert {s["stage"] for s in scale["stages"]} >= STAGES
    assert scale["peak_rss_bytes"] > 50 * 2**20 and scale["run_seconds"] > 0

    # 3. Drift: the sample is smaller than the month, and both ways were timed on the stored run.
    drift = results["drift"]
    assert drift["sample_size"] == 1000 < drift["users"]["current"] == scale["users"]
    assert set(drift["max_score_difference"]) == {"login", "view", "cart", "purchase", "prediction"}
    assert drift["seconds"]["mlwatch"] > 0 and drift["seconds"]["evidently_full"] > 0

    # 4. Pages: rendered by the server (AppTest) always, and in a real browser when there is one (always under CI).
    pages = results["pages"]
    assert set(pages["server"]) == {"overview", "drift", "data", "model"}
    assert all(page["first"] > 0 and page["cached"] > 0 for page in pages["server"].values())
    if os.environ.get("CI") == "true" or "skipped" not in pages:
        assert set(pages["browser"]) == {"overview", "drift", "data", "model"}
        assert set(pages["switch"]) == {"drift", "data", "model"}
        assert all(page["median"] > 0 for kind in ("browser", "switch") for page in pages[kind].values())

    report = (tmp_path / "results.md").read_text()
    for target in (
        "target ≤ 1.3",
        "target ≥ 15",
        "target ≤ 1.5",
        "< 60 s",
        "target ≥ 3",
        "target ≤ 0.01",
        "target < 2 s",
    ):
        assert target in report
