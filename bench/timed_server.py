"""``streamlit run`` with every script run timed in the server: ``python -m bench.timed_server app.py [options]``.

Appends one JSON line per script run to the file named by ``MLWATCH_BENCH_RUNS``: the page's title,
the session, the run's wall seconds in the server, whether it raised (``error``) and whether it was
stopped by a rerun (``rerun``). Nothing of the app changes: the hook wraps the script runner's call
of the script and records the title of the page ``st.navigation`` ran.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

RUNS_ENV = "MLWATCH_BENCH_RUNS"


def install(path: Path) -> None:
    """Time every script run of this process's Streamlit server into ``path``."""
    from streamlit.navigation.page import Page
    from streamlit.runtime.scriptrunner import script_runner

    lock, current = threading.Lock(), threading.local()  # a session's script runs in a thread of its own
    run_page, run_script = Page.run, script_runner.exec_func_with_error_handling

    def page_run(self: Page) -> None:
        current.page = self.title
        run_page(self)

    def timed(func: Any, ctx: Any) -> Any:
        current.page = None
        started = time.perf_counter()
        result = run_script(func, ctx)
        seconds = time.perf_counter() - started
        _, _, rerun, _, uncaught = result
        record = {
            "page": current.page,
            "session": ctx.session_id,
            "seconds": round(seconds, 4),
            "error": None if uncaught is None else f"{type(uncaught).__name__}: {uncaught}",
            "rerun": rerun is not None,
        }
        with lock, path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
        return result

    Page.run = page_run  # type: ignore[method-assign]
    script_runner.exec_func_with_error_handling = timed


def read_runs(path: Path, offset: int = 0) -> list[dict[str, Any]]:
    """The script runs recorded in ``path`` from byte ``offset`` on."""
    if not path.exists():
        return []
    with path.open("rb") as handle:
        handle.seek(offset)
        return [json.loads(line) for line in handle.read().decode("utf-8").splitlines() if line]


def main() -> int:
    install(Path(os.environ[RUNS_ENV]))
    from streamlit.web import cli

    sys.argv = ["streamlit", "run", *sys.argv[1:]]
    return cli.main()


if __name__ == "__main__":
    sys.exit(main())
