"""The least a fresh browser session of any Streamlit page costs on this machine (docs/BENCHMARKS.md, "Pages").

Usage: python -m bench.page_floor [--repeat 5]

Serves a page that holds nothing of mlwatch (no state read, no figure computed) in the three forms the
dashboard's pages take: one line of text, one small Plotly chart (the Data, Model and History pages
draw Plotly) and one small Vega-Lite chart (Drift), and times each as ``bench.page_timing`` times the
dashboard's pages: a new Chromium context, from navigation to the element. The server runs each
script in milliseconds, so what is measured is Streamlit's own first load in the browser; a
dashboard page in a fresh session cannot be faster than the floor of its kind. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from bench.page_timing import chromium_path, fresh_sessions, serve, summarise

# what the page draws -> the element whose appearance counts as rendered (as in bench.page_timing.PAGES)
KINDS = {
    "text": "[data-testid='floor-text']",
    "plotly": ".js-plotly-plot",
    "vega": "[data-testid='stVegaLiteChart'] svg.marks",
}
# the kind of each dashboard page's key element (bench.page_timing.PAGES): its floor
PAGE_KINDS = {"overview": "text", "drift": "vega", "data": "plotly", "model": "plotly", "export": "text",
              "history": "plotly", "audit": "text"}  # fmt: skip
_APP = """
import streamlit as st

kind = st.query_params.get("kind", "text")
if kind == "plotly":
    import plotly.graph_objects as go

    st.plotly_chart(go.Figure(go.Bar(x=[1, 2, 3], y=[3, 1, 2])))
elif kind == "vega":
    st.bar_chart({"n": [3, 1, 2]})
else:
    st.html('<p data-testid="floor-text">ready</p>')
"""


def measure_floor(repeat: int) -> dict[str, dict[str, float]]:
    """Per kind of page, the median and worst of ``repeat`` fresh sessions (after one dropped round that
    starts the server's script and the browser's disk cache, as ``bench.page_timing`` does with ``warm``)."""
    with tempfile.TemporaryDirectory(prefix="mlwatch-floor-") as folder:
        app = Path(folder) / "floor.py"
        app.write_text(_APP, encoding="utf-8")
        with serve(Path(folder), Path(folder) / "runs.jsonl", script=str(app)) as server:
            targets = {kind: (f"?kind={kind}", selector) for kind, selector in KINDS.items()}
            return summarise(fresh_sessions(server.url, targets, repeat))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    if chromium_path() is None:
        print("no chromium found; install it with apt-get install -y chromium", file=sys.stderr)
        return 2
    print(json.dumps(measure_floor(args.repeat)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
