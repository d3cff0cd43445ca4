"""Audit: every run, sign-off, revocation, mapping, export, measurement, notification and account event, read-only."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from mlwatch.errors import MlwatchError
from mlwatch.governance.auth import require
from mlwatch.governance.export import to_csv
from mlwatch.months import month_name
from mlwatch.present.audit import ACTION_WORDS, audit_table, releases
from mlwatch.state import store
from pages import _shared

ACTIONS = ("", *store.AUDIT_ACTIONS)  # "" shows every action
VIEWS = ("Every entry", "Sign-offs and exports")


def render() -> None:
    st.title("Audit trail")
    try:
        require(_shared.acting_user(), "audit", _shared.state_path())
    except MlwatchError as exc:
        st.error(str(exc))
        return
    state = _shared.state_path()
    months = {r.run_id: r.current_month for r in _shared.runs()}
    view = st.segmented_control("View", VIEWS, default=VIEWS[0], key="audit_view", label_visibility="collapsed")
    if view == VIEWS[1]:
        _releases(state, months)
        return
    left, middle, right = st.columns(3)
    action = left.selectbox(
        "What", ACTIONS, format_func=lambda a: ACTION_WORDS.get(a, a) if a else "everything", key="audit_action"
    )
    month = middle.selectbox(
        "Month", ["", *sorted(set(months.values()), reverse=True)], format_func=lambda m: month_name(m) if m else "all",
        key="audit_month",
    )  # fmt: skip
    actor = right.text_input("Who", key="audit_actor").strip()
    with st.expander("Filter by run id", icon=":material/tag:"):
        run_id = st.text_input("Run id", key="audit_run").strip()
    entries = store.read_audit(state, action=action or None, run_id=run_id or None, actor=actor or None)
    if month:
        entries = [e for e in entries if months.get(e["run_id"] or "") == month]
    table = audit_table(entries, months)
    count = f"{len(table):,} {'entry' if len(table) == 1 else 'entries'}"
    st.caption(f"{count}, oldest first. Entries can never be edited or deleted.")
    st.dataframe(
        table.drop(columns=["action"]),
        hide_index=True,
        width="stretch",
        key="audit_table",
        column_config={"reason": st.column_config.TextColumn(width="large"), "details": st.column_config.TextColumn()},
    )
    _download(table, "mlwatch-audit.csv", "download_audit")


def _releases(state: Path, months: dict[str, str]) -> None:
    entries = [e for e in store.read_audit(state) if e["action"] in ("signoff", "revoke", "export")]
    table = releases(entries, months)
    st.caption(
        "Each sign-off with the exports it released, newest first. An export of a month whose checks passed needs "
        "no sign-off; a revoked sign-off releases nothing after its revocation."
    )
    if table.empty:
        st.info("No sign-off and no export yet.")
        return
    st.dataframe(
        table, hide_index=True, width="stretch", key="releases_table",
        column_config={"reason": st.column_config.TextColumn(width="large")},
    )  # fmt: skip
    _download(table, "mlwatch-signoffs-and-exports.csv", "download_releases")


def _download(table: pd.DataFrame, name: str, key: str) -> None:
    st.download_button(
        "Download as CSV", to_csv(table), file_name=name, mime="text/csv", key=key, icon=":material/download:"
    )


_shared.guard_page()
render()
