"""Export: the prospect list, downloadable only when the gate is open."""

from __future__ import annotations

import streamlit as st

from mlwatch.errors import MlwatchError
from mlwatch.export import export_allowed, prospect_list, prospects_csv
from mlwatch.report import failed_checks
from views import _shared


def render() -> None:
    st.title("Export")
    run = _shared.current_run()
    if run is None:
        _shared.empty_state()
        return
    state = _shared.state_path()
    prospects = prospect_list(state, run["run_id"])
    st.subheader(f"Prospect list: {len(prospects):,} users ranked by predicted purchases")
    st.dataframe(prospects.head(50), hide_index=True, width="stretch", key="prospects_preview",
                 column_config={"predicted_purchases": st.column_config.NumberColumn(format="%.2f")})
    if not export_allowed(state, run["run_id"]):
        st.error("The download is blocked: this month's checks failed.")
        for check in failed_checks(run):
            st.markdown(f"- **{_shared.check_label(check)}**: {check['message']}")
        st.info("An approver (a data scientist) can review the failures and sign the run off; "
                "or fix the data (see **Data**) and run the checks again.")
        return
    try:
        data = prospects_csv(state, run["run_id"])
    except MlwatchError as exc:
        st.error(str(exc))
        return
    st.download_button("Download the prospect list (CSV)", data, type="primary", key="download_prospects",
                       file_name=f"prospects-{run['current_month']}-{run['run_id']}.csv", mime="text/csv",
                       icon=":material/download:")


render()
