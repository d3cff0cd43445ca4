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
PAGES = {"overview", "data", "drift", "model", "export", "history", "audit"}
PAGES_TITLES = {page.title() for page in PAGES}
# issue 16's figures, each a row of the targets table (the start of its title)
TARGETS = (
    "Whole run / bare aggregation",
    "Reading the logs / bare aggregation",
    "Peer pipeline / mlwatch whole run",
    "`mlwatch run` to its first stage",
    "`mlwatch runs` answers",
    "`mlwatch history` answers",
    "`mlwatch audit` answers",
    "Stage 'Training the model on the reference month'",
    "Stage 'Estimating'",
    "Stage 'Checking the current month against the reference month'",
    "Peak RSS of the whole run",
    "Month to date: the day-20 run / the whole-month run",
    "Whole run completes",
    *(f"{page.title()} page, fresh session" for page in PAGES),
    "Many readers at once: errors",
    "Many readers: server's page run",
    "Many readers: server RSS growth per session",
)


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

    # 2. Whole run: every row read, every stage timed, memory measured; the bare aggregation and the peer
    # pipeline on the same files (the peer read every row and saved its report).
    (scale,) = results["scale"]
    assert scale["rows_read"] == generated[f"{scale['users_generated']}/parquet"]
    assert {s["stage"] for s in scale["stages"]} >= STAGES
    assert scale["peak_rss_bytes"] > 50 * 2**20 and scale["run_seconds"] > 0
    assert scale["bare"]["rows"] >= scale["users"] and scale["bare"]["seconds"] > 0
    (peer,) = results["peer"]
    assert peer["users_generated"] == scale["users_generated"] and peer["rows"] == scale["rows_read"]
    assert peer["users"]["current"] == scale["users"] and peer["html_bytes"] > 10_000
    assert (tmp_path / f"peer-{peer['users_generated']}.html").stat().st_size == peer["html_bytes"]

    # Start-up: a run reached its first stage, and the light commands answered, in fresh processes.
    assert set(results["startup"]) == {"run", "runs", "history", "audit"}
    assert all(0 < timed["median"] < 60 for timed in results["startup"].values())

    # Month to date: the day-20 run (the rows of the files so far) against the whole month, both timed.
    to_date = results["to_date"]
    assert 0 < to_date["warm"]["rows_read"] < to_date["day"]["rows_read"] < to_date["month"]["rows_read"]
    assert to_date["day"]["as_of"].endswith("-20") and to_date["month"]["as_of"] is None
    assert to_date["day_share_of_month"] == round(to_date["day"]["run_seconds"] / to_date["month"]["run_seconds"], 3)

    # 3. Drift: the sample is smaller than the month, and both ways were timed on the stored run.
    drift = results["drift"]
    assert drift["sample_size"] == 1000 < drift["users"]["current"] == scale["users"]
    assert set(drift["max_score_difference"]) == {"login", "view", "cart", "purchase", "prediction"}
    assert drift["seconds"]["mlwatch"] > 0 and drift["seconds"]["evidently_full"] > 0

    # 4. Pages: every page a signed-in user can open, rendered by the server (AppTest) always, and in a real
    # browser when there is one (always under CI); then readers at once against the same server, without an error.
    pages = results["pages"]
    browser = os.environ.get("CI") == "true" or "skipped" not in pages
    assert set(pages["server"]) == PAGES
    assert all(page["first"] > 0 and page["cached"] > 0 for page in pages["server"].values())
    if browser:  # the smoke plan times one page of each kind in Chromium (the full plan: every page)
        assert set(pages["browser"]) == {"overview", "drift"} and set(pages["switch"]) == {"data"}
        assert all(page["median"] > 0 for kind in ("browser", "switch") for page in pages[kind].values())
        # the floor: Streamlit pages holding nothing of mlwatch, of each kind a dashboard page is, timed alike
        assert set(pages["floor"]) == {"text", "plotly", "vega"}
        assert all(timed["median"] > 0 and timed["n"] == 1 for timed in pages["floor"].values())
        readers = pages["readers"]
        assert readers["errors"] == []
        assert readers["page_runs"] >= readers["sessions"] * 3 and readers["seconds"]["median"] > 0

    # 5. The targets table: every figure of issue 16 with a measured number beside its target.
    rows = results["targets"]
    for figure in TARGETS:
        assert any(row["figure"].startswith(figure) for row in rows), figure
    timed = {page.title() for page in pages.get("browser", {})}
    for row in rows:
        assert row["target"], row
        page = row["figure"].split(" page, fresh session")[0]
        if row["figure"].startswith("Many readers"):
            expected = browser
        else:  # a page the smoke plan does not time in Chromium is said so, never met
            expected = page in timed or page not in PAGES_TITLES
        if expected:
            assert isinstance(row["value"], (int, float)) and row["measured"] != "not measured", row
        else:
            assert row["measured"] == "not measured" and row["met"] is None, row
    if browser:  # each timed page beside the floor of its kind
        assert next(r for r in rows if r["figure"].startswith("Drift page"))["measured"].endswith(
            f"(floor, a bare vega page: {pages['floor']['vega']['median']:.2f} s)"
        )
    report = (tmp_path / "results.md").read_text()
    assert "### Targets (issue 16)" in report and all(row["figure"] in report for row in rows)
    for target in (
        "target ≤ 1.3",
        "target ≥ 15",
        "target ≤ 1.5",
        "< 60 s",
        "target ≥ 3",
        "target ≤ 0.01",
        "target: fresh session < 1.5 s",
        "target ≥ 4x at 1M users",
    ):
        assert target in report
