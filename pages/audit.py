"""Audit: every run, sign-off, revocation, mapping, export, measurement, notification and account event, read-only."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from mlwatch.errors import MlwatchError
from mlwatch.governance.auth import require
from mlwatch.governance.export import to_csv
from mlwatch.state import store
from pages import _shared

ACTIONS = ("", *store.AUDIT_ACTIONS)  # "" shows every action


def render() -> None:
    st.title("Audit trail")
    try:
        require(_shared.acting_user(), "audit", _shared.state_path())
    except MlwatchError as exc:
        st.error(str(exc))
        return
    left, middle, right = st.columns(3)
    action = left.selectbox("Action", ACTIONS, format_func=lambda a: a or "all", key="audit_action")
    run_id = middle.text_input("Run id", key="audit_run").strip()
    actor = right.text_input("Who", key="audit_actor").strip()
    rows = store.read_audit(_shared.state_path(), action=action or None, run_id=run_id or None, actor=actor or None)
    table = pd.DataFrame(
        [
            {
                **{k: r[k] for k in ("id", "at", "actor", "action", "run_id")},
                "detail": json.dumps(r["detail"], sort_keys=True),
            }
            for r in rows
        ],
        columns=["id", "at", "actor", "action", "run_id", "detail"],
    )
    count = f"{len(table):,} {'entry' if len(table) == 1 else 'entries'}"
    st.caption(f"{count}, oldest first. Entries can never be edited or deleted.")
    st.dataframe(table, hide_index=True, width="stretch", key="audit_table")
    st.download_button(
        "Download as CSV",
        to_csv(table),
        file_name="mlwatch-audit.csv",
        mime="text/csv",
        key="download_audit",
        icon=":material/download:",
    )


_shared.guard_page()
render()
