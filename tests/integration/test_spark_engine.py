"""Both engines give identical results: DuckDB here, Spark (a real JVM, ``local[2]``, and a standalone cluster).

Every Spark test is in this one module: ``--dist loadfile`` keeps them on one pytest-xdist worker, so one
JVM and one Spark session serve them all. Compared: ``ingest`` (rows read, rejected by reason and by file,
duplicates), ``vocabulary``, the per-user feature tables (exactly) and every check result, on the sample
logs, on a generated month with every kind of bad row, and on the real Tmall log.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mlwatch.cli import main
from tests.conftest import REAL_DATA, ROOT, SAMPLE_LOGS, generate_events, run_args, write_jsonl

pytestmark = pytest.mark.xdist_group("spark")
TMALL = REAL_DATA / "tmall_brand_behavior_2013" / "t_alibaba_data.csv"
_VOLATILE = ("run_id", "created_at", "logs", "inputs_fingerprint", "fingerprint", "seconds")


@pytest.fixture(scope="module", autouse=True)
def _one_spark_session() -> Iterator[None]:
    """The module's tests share the session the first Spark run starts; it stops after the last one."""
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.fail("Java not found: .ci/run installs openjdk-17-jre-headless")
    yield
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        active.stop()


def test_sample_logs_give_identical_results_with_both_engines(tmp_path: Path) -> None:
    duck, spark = _both(tmp_path, SAMPLE_LOGS, "2026-03", "2026-05")
    assert spark["code"] == duck["code"] == 1  # the login rename closes May's gate with either engine
    _assert_identical(duck, spark)
    assert spark["summary"]["ingest"]["rejected_by_reason"] == {"bad_timestamp": 9, "invalid_json": 8,
                                                                "missing_user_id": 12}  # fmt: skip


def test_the_real_tmall_log_gives_identical_results(tmp_path: Path) -> None:
    if not TMALL.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"real data not found at {TMALL}")
        pytest.skip(f"real data not found at {TMALL}")
    converted = tmp_path / "tmall.csv"
    with TMALL.open(newline="") as source, converted.open("w", newline="") as target:
        writer = csv.writer(target)
        writer.writerow(["user_id", "event", "timestamp"])
        for row in csv.DictReader(source):
            month, day = (int(part) for part in row["visit_datetime"].split("-"))
            writer.writerow([row["user_id"], row["type"], f"2013-{month:02d}-{day:02d}"])
    config = '[columns]\nevent_id = ""\n[features]\nview = ["0"]\npurchase = ["1"]\nfavourite = ["2"]\ncart = ["3"]\n'
    duck, spark = _both(tmp_path, converted, "2013-05", "2013-07", config)
    _assert_identical(duck, spark)
    assert spark["summary"]["ingest"]["rows_read"] == 182_880 and spark["summary"]["features"]["users"] == 815


def test_every_kind_of_bad_row_gives_identical_results_through_a_standalone_master_and_worker(
    tmp_path: Path,
) -> None:
    # Last in the module: the session moves from local[2] to the cluster (the same driver JVM).
    logs = _bad_month(tmp_path / "logs")
    with _standalone_cluster(tmp_path) as master:
        duck, spark = _both(tmp_path, logs, "2026-03", "2026-05", master=master)
        from pyspark.sql import SparkSession

        active = SparkSession.getActiveSession()
        assert active is not None and active.sparkContext.master == master
        assert active.sparkContext.statusTracker().getExecutorInfos()  # tasks ran on the worker's executor
        active.stop()
    _assert_identical(duck, spark)
    reasons = spark["summary"]["ingest"]["rejected_by_reason"]
    assert set(reasons) == {"invalid_json", "invalid_csv", "invalid_encoding", "line_too_long", "missing_user_id",
                            "missing_event", "missing_timestamp", "bad_timestamp"}  # fmt: skip
    assert spark["summary"]["ingest"]["duplicates"] == 5
    renamed = spark["summary"]["ingest"]["field_changes"]
    assert [(c["key"], c["new_fields"], c["since"]) for c in renamed] == [("user_id", ["uid"], "2026-05-20T00:00:00Z")]
    rejected_files = spark["summary"]["ingest"]["rejected_by_file"]
    assert set(rejected_files) == {str(logs / "bad.jsonl"), str(logs / "bad.csv")}


def _both(
    tmp_path: Path, logs: Path, reference: str, current: str, config: str = "", master: str = "local[2]"
) -> tuple[dict, dict]:
    out = {}
    for kind in ("duckdb", "spark"):
        path = tmp_path / f"{kind}.toml"
        path.write_text(config + f'[engine]\nkind = "{kind}"\nmaster = "{master}"\n')
        state = tmp_path / f"state-{kind}"
        started = time.perf_counter()
        code, summary, err = _cli([*run_args(logs, current, state, reference), "--json", "--config", str(path)])
        assert summary is not None, err
        out[kind] = {"code": code, "summary": summary, "state": state, "seconds": time.perf_counter() - started}
    return out["duckdb"], out["spark"]


def _assert_identical(duck: dict[str, Any], spark: dict[str, Any]) -> None:
    a, b = duck["summary"], spark["summary"]
    assert spark["code"] == duck["code"]
    for key in ("rows_read", "rows_rejected", "duplicates", "rejected_by_reason", "rejected_by_file", "rows_by_file",
                "duplicates_by_month"):  # fmt: skip
        assert b["ingest"][key] == a["ingest"][key], key
    assert _sample(b) == _sample(a)
    assert b["vocabulary"] == a["vocabulary"]
    assert b["checks"] == a["checks"]
    assert b["gate"] == a["gate"] and b["changes"] == a["changes"]
    for month in ("reference", "current"):
        left = pd.read_parquet(duck["state"] / "runs" / a["run_id"] / f"features_{month}.parquet")
        right = pd.read_parquet(spark["state"] / "runs" / b["run_id"] / f"features_{month}.parquet")
        pd.testing.assert_frame_equal(right, left, check_exact=True)
    assert _comparable(b) == _comparable(a)  # and everything else the run reports


def _sample(summary: dict[str, Any]) -> list[tuple]:
    """The quarantine sample, in its order (both engines order rows of a file without line numbers as read)."""
    return [(r["file"], r["line"], r["reason"], r["text"]) for r in summary["ingest"]["rejected_sample"]]


def _comparable(summary: dict[str, Any]) -> dict[str, Any]:
    data = {k: v for k, v in summary.items() if k not in _VOLATILE}
    data["ingest"] = {k: v for k, v in data["ingest"].items() if k != "rejected_sample"}
    return data


def _cli(args: list[str]) -> tuple[int, Any, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(args)
    text = out.getvalue()
    return code, json.loads(text) if text.strip().startswith("{") else None, err.getvalue()


def _bad_month(folder: Path) -> Path:
    """Three healthy generated months, May partly gzipped and in Parquet, and files with every kind of bad row."""
    rows = generate_events(("2026-03", "2026-04", "2026-05"), users=300, seed=5)
    may = [r for r in rows if r["timestamp"].startswith("2026-05")]
    write_jsonl(folder / "2026-03.jsonl", [r for r in rows if r["timestamp"].startswith("2026-03")])
    write_jsonl(folder / "2026-04.jsonl", [r for r in rows if r["timestamp"].startswith("2026-04")])
    write_jsonl(folder / "2026-05a.jsonl.gz", may[: len(may) // 2])
    rest = may[len(may) // 2 :]
    table = pa.table({k: [r[k] for r in rest] for k in ("event_id", "user_id", "event")})
    stamps = pd.to_datetime([r["timestamp"] for r in rest], utc=True)
    pq.write_table(table.append_column("timestamp", pa.array(stamps)), folder / "2026-05b.parquet")
    text = [json.dumps(row) for row in may[:5]] + [  # five of May's events sent twice
        '{"user_id": "u00001", "event": "item_view", "timestamp": "2026-05-03T10:00:00Z"',  # cut short
        '{"user_id": "u00001", "event": "item_view", "timestamp": "2026-05-03T10:00:00Z",}',  # trailing comma
        '{"user_id": NaN, "event": "item_view", "timestamp": "2026-05-03T10:00:00Z"}',
        "[1, 2, 3]",
        '{"event": "item_view", "timestamp": "2026-05-03T10:00:00Z"}',
        '{"user_id": "   ", "event": "item_view", "timestamp": "2026-05-03T10:00:00Z"}',
        '{"user_id": "u00002", "timestamp": "2026-05-03T10:00:00Z"}',
        '{"user_id": "u00002", "event": "item_view"}',
        '{"user_id": "u00002", "event": "item_view", "timestamp": "yesterday"}',
        '{"user_id": "u00002", "event": "item_view", "timestamp": "2026-02-30T10:00:00Z"}',
        '{"user_id": 12345, "event": "purchase", "timestamp": 1777777777}',  # a number id, epoch seconds
        '{"user_id": "u00003", "event": "purchase", "timestamp": 1777777777000}',  # epoch milliseconds
        '{"user_id": "u00003", "event": "purchase", "timestamp": "2026-05-04 23:30:00-02:00"}',  # an offset
        '{"user_id": "u00004", "event": "add_to_cart", "timestamp": "2026-05-06"}',  # a date only
    ]
    # From May 20 a producer sends the user id as "uid": 30 rows without user_id, found as a renamed field.
    text += [json.dumps({"uid": f"u{n:05d}", "event": "item_view", "timestamp": f"2026-05-20T{n % 24:02d}:00:00Z"})
             for n in range(30)]  # fmt: skip
    path = folder / "bad.jsonl"
    path.write_bytes(
        "\n".join(text).encode()
        + b'\n{"user_id": "u00005", "event": "item_\xff\xfe", "timestamp": "2026-05-05T00:00:00Z"}\n'
        + b'{"user_id": "u00005", "event": "item_view", "timestamp": "2026-05-05T00:00:00Z", "pad": "'
        + b"x" * 10_000_001
        + b'"}\n'
    )
    (folder / "bad.csv").write_bytes(
        b"user_id,event,timestamp,event_id\n"
        b"u00006,item_view,2026-05-06T00:00:00Z,c1\n"
        b'u00006,"item_view,2026-05-06T00:00:00Z,c2\n'
        b"u00007,item_view\n"
        b"u00008,item_view,2026-05-06T01:00:00Z,c3,extra\n"
        b",item_view,2026-05-06T00:00:00Z,c4\n"
        b"u00009,\xff\xfe,2026-05-06T00:00:00Z,c5\n"
        b"u00009,purchase,1778000000,c6\n"
    )
    with gzip.open(folder / "empty.jsonl.gz", "wb"):
        pass
    return folder


@contextlib.contextmanager
def _standalone_cluster(tmp_path: Path) -> Iterator[str]:
    """A Spark standalone master and one worker on 127.0.0.1 (pyspark's own spark-class), stopped after."""
    import pyspark

    home = Path(pyspark.__file__).parent
    master_port, worker_port = _free_port(), _free_port()
    env = {**os.environ, "SPARK_HOME": str(home), "SPARK_LOG_DIR": str(tmp_path / "spark-logs"),
           "SPARK_LOCAL_IP": "127.0.0.1", "PYSPARK_PYTHON": sys.executable,
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}  # fmt: skip
    spark_class = str(home / "bin" / "spark-class")
    master = subprocess.Popen(
        [spark_class, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(master_port),
         "--webui-port", str(_free_port())],
        env=env, stdout=subprocess.DEVNULL, stderr=(tmp_path / "master.log").open("w"),
    )  # fmt: skip
    url = f"spark://127.0.0.1:{master_port}"
    worker = None
    try:
        _wait_for_port(master_port)
        worker = subprocess.Popen(
            [spark_class, "org.apache.spark.deploy.worker.Worker", url, "--host", "127.0.0.1", "--port",
             str(worker_port), "--webui-port", str(_free_port()), "--cores", "2", "--memory", "1g",
             "--work-dir", str(tmp_path / "spark-work")],
            env=env, stdout=subprocess.DEVNULL, stderr=(tmp_path / "worker.log").open("w"),
        )  # fmt: skip
        _wait_for_port(worker_port)
        yield url
    finally:
        for process in (worker, master):
            if process is not None:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()


def _wait_for_port(port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise AssertionError(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f} s")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
