"""Audit page: approvers and admins read and filter the trail and download it as CSV."""

from __future__ import annotations

import io

import pandas as pd

from mlwatch.config import AuthConfig
from mlwatch.governance.auth import User
from mlwatch.governance.export import export_prospects
from mlwatch.governance.signoff import failed_labels, revoke, sign_off
from mlwatch.state import store
from tests.app.conftest import open_page

REASON = "The login event was renamed upstream; login is not used by this month's campaign."


def test_audit_lists_and_filters_the_trail(app_env, stored_runs, downloads) -> None:
    app_env(stored_runs["state"])
    at = open_page("audit.py", role="approver")
    table = at.dataframe[0].value
    assert len(table) == len(store.read_audit(stored_runs["state"])) >= 2
    assert set(table["what"]) >= {"ran the checks"}
    at.text_input(key="audit_run").set_value(stored_runs["closed"]).run()
    filtered = at.dataframe[0].value
    assert set(filtered["run"]) == {stored_runs["closed"]}
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


def test_a_sign_off_reads_with_its_month_reason_and_the_export_it_released(
    app_env, private_state, stored_runs, tmp_path
) -> None:
    closed, opened = stored_runs["closed"], stored_runs["open"]
    ann, mia = User("ann", "approver"), User("mia", "marketer")
    sign_off(private_state, closed, ann, REASON, AuthConfig(), accepted=failed_labels(private_state, closed))
    export_prospects(private_state, closed, mia, tmp_path / "may.csv", holdout=0.1)
    revoke(private_state, closed, ann, "The mapping fix makes a clean run of May possible.")
    export_prospects(private_state, opened, mia, tmp_path / "april.csv")
    app_env(private_state)
    at = open_page("audit.py", role="admin")
    table = at.dataframe[0].value
    signed = table[table["what"] == "signed off"].iloc[0]
    assert (signed["who"], signed["month"], signed["reason"]) == ("ann", "May 2026", REASON)  # whole, not JSON
    exported = table[table["what"] == "exported the list"]
    assert list(exported["month"]) == ["May 2026", "April 2026"] and list(exported["file"]) == ["may.csv", "april.csv"]
    assert exported["rows"].iloc[0] == len(pd.read_csv(tmp_path / "may.csv"))
    at.selectbox(key="audit_month").set_value("2026-04").run()
    assert set(at.dataframe[0].value["month"]) == {"April 2026"}
    at.segmented_control(key="audit_view").set_value("Sign-offs and exports").run()
    releases = at.dataframe[0].value  # newest first
    assert list(releases["month"]) == ["April 2026", "May 2026"]
    april, may = releases.iloc[0], releases.iloc[1]
    assert april["released by"] == "gate open: no sign-off needed" and april["file"] == "april.csv"
    assert (may["released by"], may["reason"], may["exported by"], may["file"]) == ("ann", REASON, "mia", "may.csv")
    assert may["revoked"].startswith("by ann at ") and may["revoked"].endswith("a clean run of May possible.")
