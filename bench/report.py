"""The results of ``make bench`` as Markdown: the targets table first, then each benchmark's table."""

from __future__ import annotations

from typing import Any

from bench.targets import STAGES, Target, markdown_table, mlwatch_seconds, stage_seconds


def markdown(results: dict[str, Any], targets: list[Target]) -> str:
    """The results as Markdown tables, each figure with its target beside it."""
    m = results["machine"]
    lines = [
        (
            f"Measured {results['started']} on {m['cores']} cores, {m['memory_gb']} GB ({m['cpu']}); "
            f"Python {m['python']}, DuckDB {m['duckdb']}, Evidently {m['evidently']}, "
            f"scikit-learn {m['scikit-learn']}. Whole benchmark: {results['seconds']:.0f} s."
        ),
        "",
        "### Targets (issue 16)",
        "",
        markdown_table(targets),
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
        (
            "The bare aggregation: one DuckDB query over every file the run reads, each user's events of each "
            "feature counted per month into a temporary table (best of the plan's repeats)."
        ),
        "",
        (
            "| users | events read | run | bare aggregation | run / bare (target ≤ 6x at 300k, ≤ 4x at 1M) "
            "| reading / bare (target ≤ 2.5x) | peak RSS | spilled | " + " | ".join(STAGES) + " |"
        ),
        "|---:|---:|---:|---:|---:|---:|---:|---:|" + "---:|" * len(STAGES),
    ]
    for r in results["scale"]:
        by_stage = {key: s for key in STAGES for s in r["stages"] if s["stage"].startswith(STAGES[key])}
        cells = [
            f"{by_stage[k]['seconds']:.1f} s / {_gb(by_stage[k]['peak_rss_bytes'])}" if k in by_stage else "–"
            for k in STAGES
        ]
        bare = r["bare"]["seconds"]
        lines.append(
            f"| {r['users_generated']:,} | {r['rows_read']:,} | {r['run_seconds']:.1f} s | {bare:.2f} s "
            f"| {r['run_seconds'] / bare:.1f}x | {(stage_seconds(r, 'ingest') or 0) / bare:.1f}x "
            f"| {_gb(r['peak_rss_bytes'])} | {_gb(r['spilled_bytes'])} | " + " | ".join(cells) + " |"
        )
    lines += _peer(results)
    lines += _startup(results["startup"])
    if "to_date" in results:
        lines += _to_date(results["to_date"])
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
            "| mlwatch (exact statistics + Evidently's statistic on a sample) | Evidently's DataDriftPreset on the full tables "
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
        f"### Page render time, stored {d['users']['current']:,}-user run (target: fresh session < 1.5 s)",
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
    if "floor" in p:
        floor = ", ".join(f"{kind} {timed['median']:.2f} s" for kind, timed in p["floor"].items())
        lines += [
            "",
            f"The floor (`bench.page_floor`, a Streamlit page holding nothing of mlwatch, fresh session, median): {floor}.",
        ]
    if "skipped" in p:
        lines.append(f"Browser timing skipped: {p['skipped']}.")
    if "readers" in p:
        lines += _readers(p["readers"], d["users"]["current"])
    return "\n".join(lines) + "\n"


def _peer(results: dict[str, Any]) -> list[str]:
    lines = [
        "",
        "### The peer pipeline: pandas, scikit-learn and Evidently's DataDriftPreset (target ≥ 4x at 1M users)",
        "",
        (
            "| users | peer: from imports to HTML saved | imports | read | features | model | drift + HTML "
            "| peer peak RSS | mlwatch: imports + run | peer / mlwatch |"
        ),
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    scale = {r["users_generated"]: r for r in results["scale"]}
    for peer in results["peer"]:
        run, steps = scale[peer["users_generated"]], peer["steps"]
        lines.append(
            f"| {peer['users_generated']:,} | {peer['seconds']:.1f} s | {steps['imports']:.1f} s "
            f"| {steps['read']:.1f} s | {steps['features']:.1f} s | {steps['model']:.1f} s | {steps['drift']:.1f} s "
            f"| {_gb(peer['peak_rss_bytes'])} | {mlwatch_seconds(run):.1f} s "
            f"| {peer['seconds'] / mlwatch_seconds(run):.1f}x |"
        )
    return lines


def _to_date(to_date: dict[str, Any]) -> list[str]:
    """The daily month-to-date run against the whole month (``bench.to_date``), stage by stage."""
    runs = (("first run of the state (days 1-19 read)", "warm"), ("day 20 (one new file)", "day"),
            ("whole month, fresh state", "month"))  # fmt: skip
    stages = list(to_date["month"]["stages"])
    lines = [
        "",
        (
            f"### Month to date, {to_date['users_generated']:,} users: the day-20 run against the whole month "
            f"(target ≤ 0.2x): {to_date['day_share_of_month']:.2f}x"
        ),
        "",
        "| run | rows read | run | " + " | ".join(_stage_title(stage) for stage in stages) + " |",
        "|---|---:|---:|" + "---:|" * len(stages),
    ]
    for label, key in runs:
        run = to_date[key]
        cells = " | ".join(f"{run['stages'].get(stage, 0):.2f} s" for stage in stages)
        lines.append(f"| {label} | {run['rows_read']:,} | {run['run_seconds']:.1f} s | {cells} |")
    return lines


def _stage_title(stage: str) -> str:
    """A stage's short column title (``ingest``, ``model``...; the timeline stage: ``timeline``)."""
    return next((key for key, name in STAGES.items() if stage.startswith(name)), "timeline")


def _startup(startup: dict[str, dict[str, Any]]) -> list[str]:
    lines = [
        "",
        "### Start-up (fresh processes, from start to the first stage or the answer; median / worst)",
        "",
        "| command | median / worst | target |",
        "|---|---:|---:|",
    ]
    for command, measured in startup.items():
        target = "< 1.5 s to the first stage" if command == "run" else "< 0.7 s"
        lines.append(f"| `python -m mlwatch {command}` | {_timing(measured)} (n={measured['n']}) | {target} |")
    return lines


def _readers(readers: dict[str, Any], users: int) -> list[str]:
    s = readers["seconds"]
    by_page = ", ".join(f"{page} {seconds:.2f} s" for page, seconds in s["by_page"].items())
    return [
        "",
        (
            f"### Many readers at once: {readers['sessions']} sessions opening {', '.join(readers['pages'])} "
            f"of the stored {users:,}-user run together (target: no error, server's page run < 1 s)"
        ),
        "",
        (
            "| errors | page runs in the server | median | p90 | worst | median by page | server RSS before → after "
            "| growth per session |"
        ),
        "|---:|---:|---:|---:|---:|---|---:|---:|",
        (
            f"| {len(readers['errors'])} | {readers['page_runs']} | {_seconds(s['median'])} | {_seconds(s['p90'])} "
            f"| {_seconds(s['worst'])} | {by_page} | {_gb(readers['rss_before_bytes'])} → "
            f"{_gb(readers['rss_after_bytes'])} | {readers['rss_per_session_bytes'] / 2**20:.1f} MB |"
        ),
        *(f"- error: {error}" for error in readers["errors"][:5]),
    ]


def _seconds(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f} s"


def _timing(measured: dict[str, float] | None) -> str:
    return f"{measured['median']:.2f} s / {measured['worst']:.2f} s" if measured else "–"


def _gb(size: int) -> str:
    return f"{size / 2**30:.2f} GB" if size >= 2**27 else f"{size / 2**20:.0f} MB"
