"""Overview: is this month's list trustworthy? The gate, the failed checks, key figures."""

from __future__ import annotations

from datetime import date

import streamlit as st

from mlwatch.governance.signoff import gate_status
from mlwatch.months import previous_month
from mlwatch.present.report import check_detail, check_title, failed_checks, labels_of
from mlwatch.present.timeline_charts import change_sentences
from mlwatch.summary import RunSummary
from pages import _shared

GATE_STYLE = {
    "open": ("#1b7f3b", "GATE OPEN", "Every check passed: this month's prospect list may be used."),
    "signed_off": (
        "#8a5a00",
        "SIGNED OFF",
        "Checks failed, but an approver accepted them (see Export): the list may be used.",
    ),
    "closed": (
        "#b3261e",
        "GATE CLOSED",
        "Do not use this month's prospect list until the failures below are fixed or an approver signs it off.",
    ),
}


def _start_run_form(expanded: bool) -> None:
    user = _shared.acting_user()
    if not (user and user.can("run")):
        return
    config = _shared.app_config()
    today = date.today().strftime("%Y-%m")
    with st.expander("Start a new run", expanded=expanded, icon=":material/play_arrow:"):
        with st.form("start_run"):
            logs = st.text_input(
                "Logs folder",
                value=config.logs.path,
                key="start_logs",
                help=f"Allowed folders: {', '.join(config.logs.allowed_dirs())}",
            )
            left, right = st.columns(2)
            reference = left.text_input(
                "Reference month (YYYY-MM)", value=previous_month(today, 3), key="start_reference"
            )
            current = right.text_input("Current month (YYYY-MM)", value=previous_month(today, 1), key="start_current")
            as_of = st.text_input(
                "Month to date: up to this day (YYYY-MM-DD, optional)",
                key="start_as_of",
                help="Check the current month's days so far against the same days of the reference month. "
                "The gate is provisional: it alerts, and its list is never exported.",
            )
            submitted = st.form_submit_button("Run the checks", type="primary")
        if submitted:
            _start_run(logs, reference.strip(), current.strip(), as_of.strip() or None)


def _start_run(logs: str, reference: str, current: str, as_of: str | None = None) -> None:
    label = "Running the monthly checks…" if as_of is None else f"Running the checks up to {as_of}…"
    _shared.start_run(logs, reference, current, _shared.app_config(), label, as_of=as_of)


def _gate_banner(run: RunSummary) -> None:
    color, title, text = GATE_STYLE[gate_status(_shared.state_path(), run.run_id)]
    ref_label, cur_label = labels_of(run)
    st.markdown(
        f"<div data-testid='gate-status' style='background:{color};color:white;padding:1.2rem 1.5rem;"
        f"border-radius:0.6rem;margin-bottom:1rem'><div style='font-size:2.4rem;font-weight:800'>{title}</div>"
        f"<div style='font-size:1.1rem'>{cur_label} checked against {ref_label}. {text}</div></div>",
        unsafe_allow_html=True,
    )
    if run.as_of:
        st.info(
            f"Month to date: {cur_label} up to {run.as_of}, against the same days of {ref_label}. The gate is "
            "provisional: it raises the alarm early, and this run's list is never exported.",
            icon=":material/today:",
        )


def _what_changed(run: RunSummary) -> None:
    if not run.changes and not run.ingest.field_changes:
        return
    st.subheader("What changed")
    for sentence in [*change_sentences(run.changes), *(c.message for c in run.ingest.field_changes)]:
        st.markdown(f"- {sentence}")
    st.caption("The Data page shows each change on the event timeline.")


def render() -> None:
    st.title("Overview")
    run = _shared.current_run()
    if run is None:
        _shared.empty_state()
        _start_run_form(expanded=True)
        return
    _gate_banner(run)
    _what_changed(run)
    failures = failed_checks(run)
    if failures:
        st.subheader(f"{len(failures)} check(s) failed")
        for check in failures:
            st.markdown(f"- **{check_title(check)}**: {check.message}", help=check_detail(check))
    warnings = run.warnings
    for check in warnings:
        st.warning(f"**{check_title(check)}**: {check.message}", icon=":material/warning:")
    ingest = run.ingest
    users, events, rejected, duplicates = st.columns(4)
    volume = run.volume
    users.metric(
        "Users this month",
        _shared.number(run.features.users),
        help=f"{run.features.reference_users:,} in the reference month",
    )
    events.metric(
        "Events this month",
        _shared.number(volume.current.events),
        help=f"{volume.reference.events:,} in the reference month",
    )
    rejected.metric(
        "Rejected rows",
        _shared.number(ingest.rows_rejected),
        help=f"{_shared.pct(ingest.rows_rejected / max(1, ingest.rows_read), 3)} of {ingest.rows_read:,} rows read",
    )
    duplicates.metric("Duplicate events", _shared.number(ingest.duplicates), help="re-sent events, counted once")
    with st.expander("Every check", icon=":material/checklist:"):
        st.dataframe(
            [
                {"check": check_title(c), "status": str(c.status), "message": c.message, "name": c.label}
                for c in run.checks
            ],
            hide_index=True,
            width="stretch",
        )
    user = _shared.acting_user()
    if user and user.role != "marketer":  # run ids and paths are for the people who run and fix the checks
        st.caption(f"Run `{run.run_id}` · logs `{run.logs}` · stored {run.created_at}")
    _start_run_form(expanded=False)


_shared.guard_page()
render()
