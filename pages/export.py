"""Export: the prospect list, downloadable only when the gate is open or an approver signed the run off."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from mlwatch.errors import MlwatchError
from mlwatch.governance import signoff as so
from mlwatch.governance.export import build_export, export_filename, record_export, select_export
from mlwatch.present.report import check_detail, check_title, failed_checks
from mlwatch.summary import GateStatus, RunSummary
from pages import _shared

PREPARED_KEY = "export_prepared"  # a signed-off run's checked file: written only by _prepared


def _record(state: str, run_id: str, frame, data: bytes, name: str, holdout: float, seed: int) -> None:
    record_export(state, run_id, _shared.acting_user(), frame, data, name, holdout, seed, via="dashboard")


def _download(state: str, run: RunSummary, signoff: so.Signoff | None) -> None:
    st.subheader("Download")
    left, middle, right = st.columns(3)
    share = left.slider(
        "Share of the list to target", 0.05, 1.0, 1.0, 0.05, key="export_share", help="the best-ranked users first"
    )
    holdout = middle.slider(
        "Control group (held out)",
        0.0,
        0.5,
        0.1,
        0.01,
        key="export_holdout",
        help="a random share within each score decile, so the campaign's lift can be measured",
    )
    seed = right.number_input(
        "Seed",
        min_value=0,
        value=0,
        step=1,
        key="export_seed",
        help="the same seed always gives the same groups; it goes into the audit trail",
    )
    bom = st.checkbox("For Excel (UTF-8 with BOM)", key="export_bom")
    choice = {"top_share": share, "holdout": holdout, "seed": int(seed), "bom": bom}
    name = export_filename(_shared.run_record(run.run_id))
    if signoff is None:  # the file is written and recorded when the button is clicked, not on every redraw
        frame = _selected(state, run.run_id, choice)
        if frame is None:
            return
        data, on_click, args = _file_when_clicked(state, run.run_id, choice, name), "ignore", None
    else:
        prepared = _prepared(state, run.run_id, signoff, choice)
        if prepared is None:
            return
        frame, data = prepared
        on_click, args = _record, (state, run.run_id, frame, data, name, holdout, int(seed))
    control = int((frame["group"] == "control").sum())
    st.download_button(
        f"Download {len(frame):,} users ({len(frame) - control:,} campaign, {control:,} control)",
        data,
        file_name=name,
        mime="text/csv",
        type="primary",
        key="download_prospects",
        icon=":material/download:",
        on_click=on_click,
        args=args,
    )


def _selected(state: str, run_id: str, choice: dict) -> pd.DataFrame | None:
    """The selected list (for the button's counts), after the role and gate checks."""
    return _checked(select_export, state, run_id, {key: value for key, value in choice.items() if key != "bom"})


def _file_when_clicked(state: str, run_id: str, choice: dict, name: str) -> Callable[[], bytes]:
    """The CSV, made when the download button is clicked (Streamlit runs it on a thread of its own): the role
    and the gate are checked again then, and the export recorded with exactly the bytes sent."""
    user, prospects = _shared.acting_user(), _shared.prospects(state, run_id)

    def make() -> bytes:
        frame, data = build_export(state, run_id, user, prospects=prospects, **choice)
        record_export(state, run_id, user, frame, data, name, choice["holdout"], choice["seed"], via="dashboard")
        return data

    return make


def _build(state: str, run_id: str, choice: dict) -> tuple[pd.DataFrame, bytes] | None:
    """The selected list and its CSV, from the cached ranking, after the role and gate checks."""
    return _checked(build_export, state, run_id, choice)


def _checked(make: Callable[..., Any], state: str, run_id: str, choice: dict) -> Any:
    """``make`` (``select_export`` or ``build_export``) for the acting user on the cached ranking; a refusal
    (role, gate) is shown on the page and gives None."""
    try:
        return make(state, run_id, _shared.acting_user(), prospects=_shared.prospects(state, run_id), **choice)
    except MlwatchError as exc:
        st.error(str(exc))
        return None


def _prepared(state: str, run_id: str, signoff: so.Signoff, choice: dict) -> tuple[pd.DataFrame, bytes] | None:
    """A signed-off run's file, built when asked for: only then are its logs checked against the sign-off."""
    key = (run_id, signoff.id, tuple(sorted(choice.items())))
    if st.button(
        "Prepare the file",
        key="prepare_export",
        icon=":material/fact_check:",
        help="checks that the run's logs are unchanged since the sign-off, then builds the file",
    ):
        st.session_state.pop(PREPARED_KEY, None)
        built = _build(state, run_id, choice)
        if built is None:
            return None
        st.session_state[PREPARED_KEY] = (key, built)
    prepared = st.session_state.get(PREPARED_KEY)
    if prepared is None or prepared[0] != key:
        st.caption("The file is built once you ask for it, after checking that the logs did not change.")
        return None
    return prepared[1]


def _signoff_form(state: str, run: RunSummary) -> None:
    user = _shared.acting_user()
    if not (user and user.can("signoff")):
        who = _shared.approver_names()
        st.info(
            f"An approver can review the failures and sign this run off: {who}. Or fix the data (see **Data**) "
            "and run the checks again."
        )
        return
    newer = so.superseded_by(state, _shared.run_record(run.run_id))
    if newer is not None:
        st.warning(
            f"A newer run of this month exists (gate **{newer.gate}**, stored "
            f"{newer.created_at[:16].replace('T', ' ')} UTC): it was probably made after a fix. Sign off that run "
            "instead (pick it in the sidebar), unless you mean this older one.",
            icon=":material/update:",
        )
    problems = st.empty()  # what is still missing goes above the form, where the approver starts reading
    failures = failed_checks(run)
    with st.form("signoff"):
        st.markdown("**Accept each failed check**: tick every one; the list is released only if all are accepted.")
        accepted = []
        for check in failures:
            label = check.label
            if st.checkbox(f"**{check_title(check)}** `{label}`", key=f"accept_{label}", help=check.message):
                accepted.append(label)
        reason = st.text_area(
            "Why are these failures acceptable this month?",
            key="signoff_reason",
            placeholder="e.g. The login event was renamed upstream; login is not used by this month's campaign.",
        )
        confirmed = newer is not None and st.checkbox(
            "I sign off this older run although a newer run of the month exists", key="confirm_superseded"
        )
        submitted = st.form_submit_button("Sign off this run", type="primary", key="signoff_submit")
    if not submitted:
        return
    missing = [f"Tick **{check_title(c)}** (`{c.label}`)." for c in failures if c.label not in accepted]
    rules = _shared.app_config().auth
    words, length = len(reason.split()), len(reason.strip())
    if words < 5:
        missing.append("Write why these failures are acceptable this month, in a sentence of five words or more.")
    elif length < rules.min_reason_length:
        missing.append(f"Say a little more in the reason: this team asks for {rules.min_reason_length} characters.")
    if newer is not None and not confirmed:
        missing.append("Tick the box that you sign off this older run although a newer run exists.")
    if missing:
        problems.error("**Not signed off yet.** Still needed:\n\n" + "\n".join(f"- {m}" for m in missing))
        return
    try:
        so.sign_off(
            state, run.run_id, user, reason, rules, accepted=accepted, via="dashboard", confirm_superseded=confirmed
        )
    except MlwatchError as exc:
        problems.error(f"**Not signed off.** {str(exc)[:1].upper()}{str(exc)[1:]}.")
        return
    st.rerun()


def _signed_off(state: str, run: RunSummary) -> so.Signoff | None:
    active = so.active_signoff(state, run.run_id)
    if active is None:
        return None
    st.success(f"Signed off by **{active.approver}** on {active.at[:16].replace('T', ' ')} UTC: {active.reason}")
    user = _shared.acting_user()
    if user and user.can("revoke"):
        with st.form("revoke"):
            reason = st.text_input("Reason for revoking", key="revoke_reason")
            if st.form_submit_button("Revoke the sign-off"):
                try:
                    so.revoke(state, run.run_id, user, reason, via="dashboard")
                except MlwatchError as exc:
                    st.error(str(exc))
                    return active
                st.rerun()
    return active


def render() -> None:
    run = _shared.page_run("Export")
    if run is None:
        return
    state = str(_shared.state_path())
    if run.as_of:
        st.info(
            f"This run checked the month only up to {run.as_of} (month to date): its gate is provisional and its list "
            "is never exported. Run the complete month once it has ended, then export that run's list.",
            icon=":material/today:",
        )
        return
    status = so.gate_status(state, run.run_id)
    if status == GateStatus.CLOSED:
        # No ranked id of a closed, unsigned run reaches the browser: counts and reasons only.
        st.error(
            f"The download is blocked: this month's checks failed and nobody signed the run off. "
            f"The list of {run.features.users:,} users stays hidden until an approver does."
        )
        for check in failed_checks(run):
            st.markdown(f"- **{check_title(check)}**: {check.message}", help=check_detail(check))
        _signoff_form(state, run)
        return
    signoff = _signed_off(state, run) if status == GateStatus.SIGNED_OFF else None
    if status == GateStatus.SIGNED_OFF and signoff is None:
        return
    _preview(_shared.prospects(state, run.run_id))
    _download(state, run, signoff)


def _preview(prospects: pd.DataFrame) -> None:
    st.subheader(f"Prospect list: {len(prospects):,} users ranked by predicted purchases")
    st.dataframe(
        prospects.head(50),
        hide_index=True,
        width="stretch",
        key="prospects_preview",
        column_config={"predicted_purchases": st.column_config.NumberColumn(format="%.2f")},
    )


_shared.guard_page()
render()
