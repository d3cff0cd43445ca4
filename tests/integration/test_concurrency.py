"""Two sessions signing off and exporting at once, a CLI run writing meanwhile: nothing lost or corrupted."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

from mlwatch.config import AuthConfig, Config
from mlwatch.errors import SignoffError
from mlwatch.governance.auth import User
from mlwatch.governance.export import export_prospects
from mlwatch.governance.signoff import failed_labels, gate_status, sign_off
from mlwatch.pipeline import run_monthly
from mlwatch.state import store
from tests.conftest import ROOT, run_args

EXPORTS = 8


REASON = "Known upstream rename; this month's list is fine to use."


def test_parallel_signoffs_exports_and_a_cli_run_lose_nothing(make_logs, tmp_path: Path) -> None:
    logs = make_logs(("2026-03", "2026-04", "2026-05"), users=300, seed=21, renamed_login=["2026-05"])
    state = tmp_path / "state"
    first = run_monthly(logs, "2026-03", "2026-05", Config(), state).run_id
    second = run_monthly(logs, "2026-03", "2026-05", Config(), state).run_id
    out = tmp_path / "out"
    out.mkdir()
    errors: list[BaseException] = []

    def session(user: User, run_id: str) -> None:
        try:
            # Two runs of one month: the first is superseded by the second, and signed off knowingly.
            accepted = failed_labels(state, run_id)
            sign_off(state, run_id, user, REASON, AuthConfig(), accepted=accepted, confirm_superseded=True)
            for seed in range(EXPORTS):
                export_prospects(
                    state,
                    run_id,
                    User(f"mkt-{user.name}", "marketer"),
                    out / f"{run_id}-{seed}.csv",
                    holdout=0.1,
                    seed=seed,
                    via="dashboard",
                )
        except BaseException as exc:  # noqa: BLE001 (collected and asserted on in the main thread)
            errors.append(exc)

    def reader(stop: threading.Event) -> None:
        try:
            while not stop.is_set():
                store.list_runs(state)
                store.read_audit(state)
                gate_status(state, first)
        except BaseException as exc:  # noqa: BLE001 (collected and asserted on in the main thread)
            errors.append(exc)

    cli = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlwatch",
            *run_args(logs, "2026-04", state),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    stop = threading.Event()
    threads = [
        threading.Thread(target=session, args=(User("ann", "approver"), first)),
        threading.Thread(target=session, args=(User("bob", "approver"), second)),
        threading.Thread(target=reader, args=(stop,)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads[:2]:
        thread.join(timeout=240)
    # 0 or 1 (gate open or closed): the run was stored either way; 2 would be an error.
    assert cli.wait(timeout=240) in (0, 1), cli.stderr.read() if cli.stderr else ""
    stop.set()
    threads[2].join(timeout=30)
    assert errors == []

    audit = store.read_audit(state)
    assert sum(a["action"] == "run" for a in audit) == 3
    assert sum(a["action"] == "signoff" for a in audit) == 2
    assert sum(a["action"] == "export" for a in audit) == 2 * EXPORTS
    assert [a["id"] for a in audit] == sorted(a["id"] for a in audit)
    with sqlite3.connect(state / "mlwatch.db") as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert con.execute("SELECT count(*) FROM exports").fetchone()[0] == 2 * EXPORTS
    assert len(list(out.glob("*.csv"))) == 2 * EXPORTS
    assert gate_status(state, first) == gate_status(state, second) == "signed_off"


def test_two_approvers_signing_off_the_same_run_at_once_record_one_sign_off(make_logs, tmp_path: Path) -> None:
    logs = make_logs(("2026-03", "2026-04", "2026-05"), users=300, seed=22, renamed_login=["2026-05"])
    state = tmp_path / "state"
    run_id = run_monthly(logs, "2026-03", "2026-05", Config(), state).run_id
    outcomes: list[str] = []
    barrier = threading.Barrier(4)

    def approve(name: str) -> None:
        barrier.wait()
        try:
            sign_off(state, run_id, User(name, "approver"), REASON, AuthConfig(), accepted=failed_labels(state, run_id))
            outcomes.append("signed")
        except SignoffError as exc:
            outcomes.append("refused" if "already signed off" in str(exc) else str(exc))

    threads = [threading.Thread(target=approve, args=(name,)) for name in ("ann", "bob", "cid", "dee")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["refused", "refused", "refused", "signed"]
    assert sum(a["action"] == "signoff" for a in store.read_audit(state)) == 1
