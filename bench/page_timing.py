"""Time to first render of the dashboard's pages from a stored run, in headless Chromium.

Usage: python -m bench.page_timing --state DIR [--repeat 5]
Starts ``streamlit run app.py`` on a free 127.0.0.1 port against DIR (which must hold a run)
and prints, per page, the median and worst time from navigation to the page's key element.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-quic", "--disable-sync"]
# page path -> selector of the element whose appearance counts as "rendered"
PAGES = {
    "overview": "[data-testid='gate-status']",
    "drift": ".js-plotly-plot >> nth=3",
    "data": ".js-plotly-plot",
    "model": ".js-plotly-plot",
}


def chromium_path() -> str | None:
    """The Chromium to drive: ``MLWATCH_CHROMIUM``, else Debian's; None when there is none."""
    path = os.environ.get("MLWATCH_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    return path if Path(path).exists() else None


def measure(state: Path, repeat: int) -> dict[str, list[float]]:
    """Return the render times in seconds of each page, ``repeat`` fresh sessions each."""
    from playwright.sync_api import sync_playwright

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "MLWATCH_STATE": str(state)}
    server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
                               "--server.address", "127.0.0.1"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(url)
        times: dict[str, list[float]] = {page: [] for page in PAGES}
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium_path(),
                                                 args=CHROMIUM_ARGS)
            for round_ in range(repeat + 1):  # the first round warms the server's caches and is dropped
                for page_name, selector in PAGES.items():
                    context = browser.new_context(viewport={"width": 1400, "height": 1000})
                    page = context.new_page()
                    start = time.perf_counter()
                    page.goto(f"{url}/{'' if page_name == 'overview' else page_name}")
                    page.locator(selector).wait_for(timeout=60_000)
                    if round_:
                        times[page_name].append(time.perf_counter() - start)
                    context.close()
            browser.close()
        return times
    finally:
        server.terminate()
        server.wait(timeout=10)


def _wait(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("streamlit did not start")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--state", required=True)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    for page, values in measure(Path(args.state), args.repeat).items():
        print(f"{page:<9} median {statistics.median(values):.2f} s  worst {max(values):.2f} s  (n={len(values)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
