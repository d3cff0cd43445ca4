"""Shared fixtures: a seeded event factory and writers for every log format."""

from __future__ import annotations

import gzip
import json
import os
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

# Under pytest-xdist each worker gets one core's share: with scikit-learn's OpenMP and numpy's BLAS
# starting a thread per core in every worker (and in the mlwatch/streamlit processes they start),
# two workers on two cores oversubscribe them and spin-wait; test_estimate.py ran 6x slower that way.
# Set before numpy is imported; a value already in the environment wins.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import pandas as pd
import pytest
from filelock import FileLock

from mlwatch.state import store

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_LOGS = ROOT / "sample_logs"
REAL_DATA = Path(os.environ.get("MLWATCH_REAL_DATA", ROOT.parent / "shared" / "data" / "real"))


# The longest modules, started first (``--dist loadfile --no-loadscope-reorder``, Makefile): each runs on one
# worker while the other takes the many short ones, and both workers finish together.
LONGEST_FIRST = (
    "tests/integration/test_spark_engine.py",
    "tests/integration/test_bench_smoke.py",
    "tests/e2e/test_personas.py",
    "tests/integration/test_own_model.py",
    "tests/integration/test_object_storage.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Put the longest modules' tests first (the sort is stable: every module keeps its own order)."""

    def rank(item: pytest.Item) -> int:
        path = item.nodeid.split("::")[0]
        return LONGEST_FIRST.index(path) if path in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)


def write_jsonl(path: Path, rows: Iterable[dict | str]) -> Path:
    """Write rows (dicts, or raw strings for malformed lines) as JSON Lines, gzipped for .gz."""
    text = "".join((row if isinstance(row, str) else json.dumps(row)) + "\n" for row in rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".gz":
        with gzip.open(path, "wt", encoding="utf-8") as handle:
            handle.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def write_csv(path: Path, header: list[str], lines: Iterable[str]) -> Path:
    """Write a CSV file from a header and raw lines (so malformed lines can be written)."""
    text = ",".join(header) + "\n" + "".join(line + "\n" for line in lines)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".gz":
        with gzip.open(path, "wt", encoding="utf-8") as handle:
            handle.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def generate_events(
    months: Iterable[str],
    users: int = 400,
    seed: int = 0,
    renamed_login: Iterable[str] = (),
    skip_days: dict[str, set[int]] | None = None,
    rates: dict[str, float] | None = None,
) -> list[dict]:
    """Seeded activity of ``users`` users over ``months``.

    Each user has a lognormal propensity; counts are Poisson around it and
    next-month purchases follow it, so healthy months look alike. In months of
    ``renamed_login``, ``user_login`` is emitted as ``user_login_from_mobile``
    or ``user_login_from_pc``. ``rates`` overrides the per-event rates (e.g. to make logins the main signal).
    """
    rng = np.random.default_rng(seed)
    propensity = rng.lognormal(0.0, 0.7, users)
    rates = rates or {"user_login": 3.0, "item_view": 12.0, "add_to_cart": 1.5, "purchase": 0.8, "search": 2.0}
    renamed = set(renamed_login)
    rows: list[dict] = []
    for month in months:
        days = pd.Period(month).days_in_month
        allowed = [d for d in range(1, days + 1) if d not in (skip_days or {}).get(month, set())]
        for user in range(users):
            if rng.random() < 0.1:
                continue
            for event, rate in rates.items():
                for _ in range(rng.poisson(rate * propensity[user])):
                    name = event
                    if event == "user_login" and month in renamed:
                        name = "user_login_from_mobile" if rng.random() < 0.6 else "user_login_from_pc"
                    day = allowed[int(rng.integers(len(allowed)))]
                    second = int(rng.integers(86400))
                    rows.append(
                        {
                            "event_id": f"{month}-{len(rows)}",
                            "user_id": f"u{user:05d}",
                            "event": name,
                            "timestamp": f"{month}-{day:02d}T{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}Z",
                        }
                    )
    return rows


@pytest.fixture
def make_logs(tmp_path: Path) -> Callable[..., Path]:
    """Write generated events as one JSONL file per month under a fresh folder; return the folder."""

    def make(months: Iterable[str] = ("2026-03", "2026-04", "2026-05"), **kwargs: object) -> Path:
        folder = tmp_path / "logs"
        rows = generate_events(months, **kwargs)  # type: ignore[arg-type]
        by_month: dict[str, list[dict]] = {}
        for row in rows:
            by_month.setdefault(row["timestamp"][:7], []).append(row)
        for month, month_rows in by_month.items():
            write_jsonl(folder / f"{month}.jsonl", month_rows)
        return folder

    return make


def built_once(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]) -> Path:
    """A folder that ``build`` fills once per test run; this worker gets its own copy.

    The workers of one pytest-xdist run share the parent of their base temp folders: the first
    worker to ask builds the folder there under a file lock, the others wait and copy it, so a
    test may change its copy without touching another worker's.
    """
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        folder = tmp_path_factory.mktemp(name)
        build(folder)
        return folder
    shared = tmp_path_factory.getbasetemp().parent / name
    done = shared.parent / f"{name}.done"
    with FileLock(f"{shared}.lock"):
        if not done.exists():
            shutil.rmtree(shared, ignore_errors=True)
            shared.mkdir()
            build(shared)
            done.touch()
    copy = tmp_path_factory.mktemp(name)
    shutil.copytree(shared, copy, dirs_exist_ok=True)
    return copy


@pytest.fixture(scope="session")
def backfilled_sample(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A state where ``python -m mlwatch backfill --json`` stored every month of the sample logs against 2026-03.

    Built once per test run, through the real command line; ``code`` and ``out`` are its exit code and JSON output.
    """
    folder = built_once(tmp_path_factory, "backfilled", _backfill_sample)
    result = json.loads((folder / "result.json").read_text())
    return {
        "state": folder / "state",
        "code": result["code"],
        "out": result["out"],
        "runs": {run["current_month"]: run["run_id"] for run in result["out"]["runs"]},
    }


def _backfill_sample(folder: Path) -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mlwatch",
            "backfill",
            "--logs",
            str(SAMPLE_LOGS),
            "--reference",
            "2026-03",
            "--config",
            str(ROOT / "mlwatch.toml"),
            "--state",
            str(folder / "state"),
            "--json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode in (0, 1), result.stderr
    (folder / "result.json").write_text(json.dumps({"code": result.returncode, "out": json.loads(result.stdout)}))


def run_record(run_id: str = "2026-05-x", **changes: object):
    """A stored run's row for tests that exercise the state without running the pipeline (a closed May run)."""
    values: dict[str, object] = {
        "run_id": run_id,
        "created_at": "2026-06-01T00:00:00+00:00",
        "reference_month": "2026-03",
        "current_month": "2026-05",
        "logs": "logs",
        "gate": "closed",
        "fingerprint": "f" * 64,
        "inputs_fingerprint": "i" * 64,
        "config": {"features": {}},
        "users": 10,
        "events": 100,
        "rows_read": 100,
        "rows_rejected": 0,
        "duplicates": 0,
        "started_by": "carl",
    }
    return store.RunRecord(**{**values, **changes})  # type: ignore[arg-type]


def run_args(logs: Path | str, current: str, state: Path | str, reference: str = "2026-03") -> list[str]:
    """The arguments of ``mlwatch run`` for ``current`` against ``reference`` (add ``--json``, ``--config``...)."""
    return ["run", "--logs", str(logs), "--reference", reference, "--current", current, "--state", str(state)]
