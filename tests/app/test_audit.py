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


def test_counts_read_as_words(app_env, stored_runs) -> None:
    app_env(stored_runs["state"])
    at = open_page("audit.py", role="approver")
    at.text_input(key="audit_run").set_value(stored_runs["closed"])
    at.selectbox(key="audit_action").set_value("run").run()
    assert len(at.dataframe[0].value) == 1  # the closed run's own "run" row
    assert at.caption[0].value.startswith("1 entry, oldest first")
    at.text_input(key="audit_run").set_value("")
    at.selectbox(key="audit_action").set_value("").run()
    assert at.caption[0].value.startswith(f"{len(at.dataframe[0].value):,} entries, oldest first")
