"""Many readers at once: browser sessions opening the Overview, Drift and Data pages of a stored run together.

Usage: python -m bench.readers --state DIR [--sessions 20]
Starts the dashboard (``bench.page_timing.serve``: one server on a free 127.0.0.1 port, each script
run timed in the server by ``bench.timed_server``), opens one warm-up session that fills the caches,
then starts ``--sessions`` headless Chromium contexts at the same time. Each opens the Overview, then
Drift and Data from the sidebar, waiting for each page's key element and for the page to stop
running. On 2 cores the browsers take most of the CPU, so the figure is the server's own time for
each script run (a page opened by a reader), not the time a browser shows it.

Reports the errors (an exception shown on a page, a script run that raised, a session that failed),
the median and 90th percentile of the server's script runs, and the server's resident memory before
the sessions and once all of them have opened their pages (still connected): its growth per session.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.page_timing import CHROMIUM_ARGS, PAGES, Server, chromium_path, serve
from bench.timed_server import read_runs

READER_PAGES = ("Overview", "Drift", "Data")
TIMEOUT_MS = 180_000  # 20 browsers on 2 cores: slow, but never stuck


def measure_readers(server: Server, sessions: int, warm: bool = True) -> dict[str, Any]:
    """Open ``sessions`` reader sessions at once against ``server`` and return what the server did meanwhile.

    ``warm``: open the pages once beforehand, so the caches are filled before the memory is read
    (not needed when the page timing ran on this server already).
    """
    if warm:
        asyncio.run(_readers(server.url, 1))
    offset = server.runs.stat().st_size if server.runs.exists() else 0
    rss_before = server.rss()
    failures, rss_after = asyncio.run(_readers(server.url, sessions, server))
    runs = read_runs(server.runs, offset)
    completed = [r for r in runs if not r["rerun"] and r["page"] in READER_PAGES]
    seconds = sorted(r["seconds"] for r in completed)
    errors = failures + [f"{r['page']}: {r['error']}" for r in runs if r["error"]]
    return {
        "sessions": sessions,
        "pages": list(READER_PAGES),
        "errors": errors,
        "script_runs": len(runs),
        "page_runs": len(completed),
        "seconds": {
            "median": round(statistics.median(seconds), 3) if seconds else None,
            "p90": round(_p90(seconds), 3) if seconds else None,
            "worst": round(seconds[-1], 3) if seconds else None,
            "by_page": {
                page: round(statistics.median(v), 3)
                for page in READER_PAGES
                if (v := [r["seconds"] for r in completed if r["page"] == page])
            },
        },
        "rss_before_bytes": rss_before,
        "rss_after_bytes": rss_after,
        "rss_per_session_bytes": (rss_after - rss_before) // sessions,
    }


async def _readers(url: str, sessions: int, server: Server | None = None) -> tuple[list[str], int]:
    """Run the sessions together; return their failures and the server's RSS once every one has read its pages."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        contexts = [await browser.new_context(viewport={"width": 1400, "height": 1000}) for _ in range(sessions)]
        for context in contexts:
            context.set_default_timeout(TIMEOUT_MS)  # navigation included: 20 page loads at once take a while
        outcomes = await asyncio.gather(*(_read(context, url) for context in contexts), return_exceptions=True)
        rss = server.rss() if server else 0  # every session still connected
        for context in contexts:
            await context.close()
        await browser.close()
    failures = [f"session {i}: {type(o).__name__}: {o}" for i, o in enumerate(outcomes) if isinstance(o, Exception)]
    failures += [f"session {i}: {o}" for i, o in enumerate(outcomes) if isinstance(o, str)]
    return failures, rss


async def _read(context: Any, url: str) -> str | None:
    """One reader: the Overview, then Drift and Data from the sidebar. Returns what went wrong, if anything."""
    page = await context.new_page()
    await page.goto(url, wait_until="commit")  # then wait for the page itself, not every asset
    for title in READER_PAGES:
        if title != "Overview":
            await page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()
        await page.locator(PAGES[title.lower()]).first.wait_for()
        await page.locator("[data-testid='stStatusWidget']").wait_for(state="detached")
        if await page.get_by_test_id("stException").count():
            return f"{title}: {await page.get_by_test_id('stException').first.inner_text()}"
    return None


def _p90(ordered: list[float]) -> float:
    """The nearest-rank 90th percentile of sorted values."""
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--state", type=Path, required=True)
    parser.add_argument("--sessions", type=int, default=20)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch, serve(args.state, Path(scratch) / "runs.jsonl") as server:
        print(json.dumps(measure_readers(server, args.sessions)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
