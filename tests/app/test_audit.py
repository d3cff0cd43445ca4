"""Audit page: approvers and admins read and filter the trail and download it as CSV."""

from __future__ import annotations

import io

import pandas as pd

from mlwatch.state import store
from tests.app.conftest import open_page


def test_audit_lists_and_filters_the_trail(app_env, stored_runs, downloads) -> None:
    app_env(stored_runs["state"])
    at = open_page("audit.py", role="approver")
    table = at.dataframe[0].value
    assert len(table) == len(store.read_audit(stored_runs["state"])) >= 2
    assert set(table["action"]) >= {"run"}
    at.text_input(key="audit_run").set_value(stored_runs["closed"]).run()
    filtered = at.dataframe[0].value
    assert set(filtered["run_id"]) == {stored_runs["closed"]}
    exported = pd.read_csv(io.BytesIO(downloads["mlwatch-audit.csv"]))
    assert len(exported) == len(filtered)


def test_admin_sees_the_audit_page(app_env, stored_runs) -> None:
    app_env(stored_runs["state"])
    at = open_page("audit.py", role="admin")
    assert at.title[0].value == "Audit trail"
