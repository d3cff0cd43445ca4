"""Audit page filter: every action mlwatch records can be chosen, including actuals and notifications."""

from __future__ import annotations

import shutil
from pathlib import Path

from mlwatch.state import store
from tests.app.conftest import open_page
from tests.conftest import ROOT


def test_the_action_filter_offers_actuals_and_notify_and_filters_by_them(app_env, tmp_path: Path) -> None:
    state = tmp_path / "state"
    shutil.copytree(ROOT / "tests" / "fixtures" / "state_v3", state)
    app_env(state)
    at = open_page("audit.py", role="approver")
    action = at.selectbox(key="audit_action")
    assert {"measured the actual performance", "sent an alert"} <= set(action.options)
    action.set_value("actuals").run()
    assert not at.exception
    table = at.dataframe[0].value
    actuals = store.read_audit(state, action="actuals")
    assert len(actuals) == 2
    assert set(table["what"]) == {"measured the actual performance"}
    assert sorted(table["run"]) == sorted(a["run_id"] for a in actuals)
