"""A state directory written by the previous release opens with its runs, sign-off and audit trail."""

from __future__ import annotations

import shutil
from pathlib import Path

from mlwatch.governance.signoff import gate_status
from mlwatch.state import store
from tests.conftest import ROOT

STATE_V3 = ROOT / "tests" / "fixtures" / "state_v3"


def test_a_state_of_the_previous_release_shows_its_runs_and_sign_off(tmp_path: Path) -> None:
    state = tmp_path / "state"
    shutil.copytree(STATE_V3, state)
    runs = store.list_runs(state)
    assert [r.current_month for r in runs] == ["2026-06", "2026-05", "2026-04"]
    may = next(r for r in runs if r.current_month == "2026-05")
    assert gate_status(state, may.run_id) == "signed_off"
    assert {a["action"] for a in store.read_audit(state)} == {"run", "signoff", "export", "actuals", "integrity"}
    assert sorted(p.name for p in state.iterdir() if p.is_file() and p.suffix == ".db") == ["mlwatch.db"]
