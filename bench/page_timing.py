"""Time to first render of the dashboard's pages from a stored run: in the server and in headless Chromium.

Usage: python -m bench.page_timing --state DIR [--repeat 5]
Every page a signed-in user can open (demo mode: the state has no accounts, so the local user is an
approver, who also sees the Audit page). ``server``: the page script's run time in Streamlit's AppTest
(reading the stored run, building every element), first with empty caches, then cached. ``browser``:
starts ``streamlit run app.py`` (through ``bench.timed_server``) on a free 127.0.0.1 port against
DIR and times, in a fresh browser session (nothing cached), from navigation to the page's key
element. ``switch``: in one session, from clicking a page in the sidebar to its key element, the
way a user moves from the Overview to another page. ``running``: the same click until the page is
complete, its key element drawn and Streamlit's "running" indicator gone (what a person waits for
before the page stops changing). One server serves every browser measurement.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench.timed_server import RUNS_ENV

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-quic",
    "--disable-sync",
]
# page path -> selector of the element whose appearance counts as "rendered" (the first one that matches)
PAGES = {
    "overview": "[data-testid='gate-status']",
    "drift": "[data-testid='stVegaLiteChart'] svg.marks >> nth=3",
    "data": ".js-plotly-plot",
    "model": ".js-plotly-plot",
    # an open run's download button, or the sign-off form of a closed one (the last thing the page draws)
    "export": "[data-testid='stDownloadButton'], [data-testid='stForm']",
    "history": ".js-plotly-plot",
    "audit": "[data-testid='stDataFrame']",
}


@dataclass(frozen=True)
class Server:
    """A running dashboard: its address, its process (for its memory) and the file its script runs are timed in."""

    url: str
    pid: int
    runs: Path

    def rss(self) -> int:
        """The server process's resident memory in bytes."""
        status = Path(f"/proc/{self.pid}/status").read_text()
        return next(int(line.split()[1]) * 1024 for line in status.splitlines() if line.startswith("VmRSS:"))


def chromium_path() -> str | None:
    """The Chromium to drive: ``MLWATCH_CHROMIUM``, else Debian's; None when there is none."""
    path = os.environ.get("MLWATCH_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    return path if Path(path).exists() else None


def measure(url: str, repeat: int, warm: bool = True, pages: tuple[str, ...] = tuple(PAGES)) -> dict[str, list[float]]:
    """Return the render times in seconds of each of ``pages``, ``repeat`` fresh sessions each.

    ``warm``: a first round fills the server's caches and is dropped (``--smoke`` skips it).
    """
    targets = {name: ("" if name == "overview" else name, PAGES[name]) for name in pages}
    return fresh_sessions(url, targets, repeat, warm)


def fresh_sessions(
    url: str, targets: dict[str, tuple[str, str]], repeat: int, warm: bool = True
) -> dict[str, list[float]]:
    """Per name of ``targets`` (name -> path under ``url``, selector of its key element), the seconds from
    navigating to the path in a new Chromium context until the element appears, ``repeat`` times.

    ``warm``: a first round is dropped.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        times: dict[str, list[float]] = {name: [] for name in targets}
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        for round_ in range(0 if warm else 1, repeat + 1):
            for name, (path, selector) in targets.items():
                context = browser.new_context(viewport={"width": 1400, "height": 1000})
                page = context.new_page()
                start = time.perf_counter()
                page.goto(f"{url}/{path}")
                page.locator(selector).first.wait_for(timeout=60_000)
                if round_:
                    times[name].append(time.perf_counter() - start)
                context.close()
        browser.close()
        return times


def summarise(times: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    """Median, worst and count of each name's times."""
    return {
        name: {"median": round(statistics.median(v), 2), "worst": round(max(v), 2), "n": len(v)}
        for name, v in times.items()
    }


SWITCH_PAGES = ("drift", "data", "model")


def measure_switch(
    url: str, repeat: int, warm: bool = True, pages: tuple[str, ...] = SWITCH_PAGES
) -> dict[str, list[float]]:
    """Return, per page of ``pages`` (of ``SWITCH_PAGES``), the times from a click in the sidebar on the
    Overview to the page's key element.

    One session: the Overview is loaded once, then reached again from the sidebar before each page.
    ``warm``: a first round loads the bundles and is dropped.
    """
    from playwright.sync_api import sync_playwright

    titles = {name: name.title() for name in pages}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        times: dict[str, list[float]] = {name: [] for name in titles}
        page.goto(url)
        for round_ in range(0 if warm else 1, repeat + 1):
            for name, title in titles.items():
                page.get_by_test_id("stSidebarNav").get_by_text("Overview", exact=True).click()
                page.locator(PAGES["overview"]).wait_for(timeout=60_000)
                start = time.perf_counter()
                page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()
                page.locator(PAGES[name]).first.wait_for(timeout=60_000)
                if round_:
                    times[name].append(time.perf_counter() - start)
        browser.close()
        return times


RUNNING_PAGES = {"Data": ".js-plotly-plot", "History": ".js-plotly-plot", "Drift": PAGES["drift"],
                 "Export": "h1:has-text('Export ·')"}  # fmt: skip


def measure_running(url: str, repeat: int) -> dict[str, list[float]]:
    """Return, per page, the times from a click in the sidebar on the Overview until the page has stopped running."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        times: dict[str, list[float]] = {name.lower(): [] for name in RUNNING_PAGES}
        for round_ in range(repeat + 1):  # the first round loads the bundles and fills the caches; dropped
            for title, selector in RUNNING_PAGES.items():
                page.goto(url)
                page.locator(PAGES["overview"]).wait_for(timeout=60_000)
                page.locator("[data-testid='stStatusWidget']").wait_for(state="detached", timeout=60_000)
                start = time.perf_counter()
                page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()
                page.locator(selector).first.wait_for(timeout=60_000)
                page.locator("[data-testid='stStatusWidget']").wait_for(state="detached", timeout=60_000)
                if round_:
                    times[title.lower()].append(time.perf_counter() - start)
        browser.close()
        return times


def measure_server(state: Path, repeat: int) -> dict[str, dict[str, float]]:
    """Return, per page, the AppTest run time with empty caches (``first``) and the median once cached."""
    from streamlit.testing.v1 import AppTest

    from mlwatch.state import store

    os.environ["MLWATCH_STATE"] = str(state)
    _serve_through_navigation()
    run_id = store.list_runs(state)[0].run_id
    results: dict[str, dict[str, float]] = {}
    for name in PAGES:
        times = []
        for _ in range(repeat + 1):
            app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
            app.session_state["run_id"] = run_id
            app.switch_page(f"pages/{name}.py")
            start = time.perf_counter()
            app.run()
            times.append(time.perf_counter() - start)
            if app.exception:
                raise RuntimeError(f"{name} page failed: {app.exception[0].message}")
        results[name] = {"first": round(times[0], 2), "cached": round(statistics.median(times[1:]), 2)}
    return results


def _serve_through_navigation() -> None:
    """AppTest re-creates the page manager each run, which would treat pages/ as an automatic
    multipage app; a running server stops doing so once app.py has called st.navigation."""
    from streamlit.runtime.pages_manager import PagesManager

    original = PagesManager.__init__

    def init(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    PagesManager.__init__ = init  # type: ignore[method-assign]


@contextlib.contextmanager
def serve(state: Path, runs: Path, script: str = "app.py") -> Iterator[Server]:
    """Start the dashboard (or another Streamlit ``script``) on a free 127.0.0.1 port against ``state``,
    its script runs timed into ``runs``; stopped on leaving."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    runs.unlink(missing_ok=True)
    env = {**os.environ, "MLWATCH_STATE": str(state), RUNS_ENV: str(runs)}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bench.timed_server",
            script,
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(url)
        yield Server(url, server.pid, runs)
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
    state = Path(args.state)
    for page, server in measure_server(state, args.repeat).items():
        print(f"server   {page:<9} first {server['first']:.2f} s  cached {server['cached']:.2f} s")
    with tempfile.TemporaryDirectory() as scratch, serve(state, Path(scratch) / "runs.jsonl") as running:
        for kind, measure_kind in (("browser", measure), ("switch", measure_switch), ("running", measure_running)):
            for page, values in measure_kind(running.url, args.repeat).items():
                print(
                    f"{kind:<8} {page:<9} median {statistics.median(values):.2f} s  worst {max(values):.2f} s"
                    f"  (n={len(values)})"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
