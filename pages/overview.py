"""Overview: is this month's list trustworthy? The gate, the failed checks, key figures."""

from __future__ import annotations

from datetime import date

import streamlit as st

from mlwatch.governance.signoff import gate_status
from mlwatch.months import month_name, previous_month
from mlwatch.present.report import (
    check_detail,
    check_title,
    evidence_page,
    failed_checks,
    labels_of,
    mapping_can_fix,
)
from mlwatch.present.timeline_charts import change_sentences
from mlwatch.summary import GateStatus, RunSummary
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
            submitted = st.form_submit_button("Run the checks", type="primary", key="start_run")
        if submitted:
            _start_run(logs, reference.strip(), current.strip(), as_of.strip() or None)


def _start_run(logs: str, reference: str, current: str, as_of: str | None = None) -> None:
    label = "Running the monthly checks…" if as_of is None else f"Running the checks up to {as_of}…"
    _shared.start_run(logs, reference, current, _shared.app_config(), label, as_of=as_of)


def _gate_banner(run: RunSummary, status: GateStatus) -> None:
    color, title, text = GATE_STYLE[status]
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


def _next_step(run: RunSummary, status: GateStatus) -> None:
    """What this person should do now, with a button to the page where it is done."""
    month = labels_of(run)[1]
    if run.as_of:
        return  # the banner's note says it: a provisional alarm, never exported
    if status != GateStatus.CLOSED:
        _shared.go("pages/export.py", f"Download {month}'s list", key="next_download", primary=True,
                   icon=":material/download:")  # fmt: skip
        return
    failures = failed_checks(run)
    evidence = evidence_page(failures)
    user = _shared.acting_user()
    if user and user.can("signoff"):
        fixable = mapping_can_fix(failures)
        st.error(
            f"Do not use {month}'s list yet. "
            + ("Map the renamed events and run the checks again, or " if fixable else "Fix the data and re-run, or ")
            + "review the failures and sign the run off if they do not matter this month.",
            icon=":material/block:",
        )
        left, right = st.columns(2)
        with left:
            label = "Fix the event mapping" if fixable else "See the evidence"
            _shared.go(f"pages/{evidence}", label, key="next_fix", primary=True, icon=":material/build:")
        with right:
            _shared.go("pages/export.py", "Review and sign off", key="next_signoff", icon=":material/approval:")
        return
    who = _shared.approver_names()
    st.error(
        f"Do not use {month}'s list. Ask {who} to review the failures: they can have the data fixed or sign the run "
        "off, and this page then says the list may be used.",
        icon=":material/block:",
    )
    _shared.go(f"pages/{evidence}", "See what went wrong", key="next_evidence", primary=True,
               icon=":material/search:")  # fmt: skip


def _figures(run: RunSummary) -> None:
    ref_label, cur_label = labels_of(run)
    ingest, volume = run.ingest, run.volume
    users, events, duplicates, rejected = st.columns(4)
    users.metric(
        f"Users, {cur_label}",
        _shared.number(run.features.users),
        help=f"{run.features.reference_users:,} in {ref_label}",
    )
    events.metric(
        f"Events, {cur_label}",
        _shared.number(volume.current.events),
        help=f"{volume.reference.events:,} in {ref_label}",
    )
    duplicates.metric(
        f"Events sent twice, {cur_label}",
        _shared.number(ingest.duplicates_by_month.get(run.current_month, 0)),
        help=f"counted once; {ingest.duplicates_by_month.get(run.reference_month, 0):,} in {ref_label}",
    )
    months = run.months_in_logs
    span = f"{month_name(months[0])} to {month_name(months[-1])}" if months else "every month read"
    rejected.metric(
        "Unreadable rows, all files read",
        _shared.number(ingest.rows_rejected),
        help=f"{_shared.pct(ingest.rows_rejected / max(1, ingest.rows_read), 3)} of the {ingest.rows_read:,} rows "
        f"read ({span}); the Data page lists them",
    )


def render() -> None:
    run = _shared.current_run()
    if run is None:
        st.title("Overview")
        _shared.empty_state()
        _start_run_form(expanded=True)
        return
    ref_label, cur_label = labels_of(run)
    st.title(cur_label)
    st.caption(f"Overview: {cur_label} checked against {ref_label}")
    _shared.new_run_notice(run, here="overview")
    status = gate_status(_shared.state_path(), run.run_id)
    _gate_banner(run, status)
    _next_step(run, status)
    _what_changed(run)
    failures = failed_checks(run)
    if failures:
        st.subheader(f"{len(failures)} check(s) failed in {cur_label}")
        for check in failures:
            st.markdown(f"- **{check_title(check)}**: {check.message}", help=check_detail(check))
    for check in run.warnings:
        st.warning(f"**{check_title(check)}**: {check.message}", icon=":material/warning:")
    _figures(run)
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
