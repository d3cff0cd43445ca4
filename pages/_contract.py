"""The data contract on the Data page: the current contract for download, with its version and what changed."""

from __future__ import annotations

import streamlit as st

from mlwatch.contract.build import ExportedContract, offer_contract
from mlwatch.errors import MlwatchError
from mlwatch.months import month_name
from mlwatch.state.history import state_version
from mlwatch.summary import RunSummary
from pages import _shared


@st.cache_data(show_spinner=False, max_entries=8)
def _offer(state: str, run_id: str, month: str, stamp: tuple) -> ExportedContract:
    """The contract built and validated once per run, state version and config file (``stamp`` changes with
    either: it is part of the cache key), not on every rerun of the Data page."""
    return offer_contract(state, _shared.app_config(), _shared.timeline(state, run_id), month)


def contract_download(run: RunSummary) -> None:
    """A download button for the contract of the current config, its usual shares measured on the run's
    reference month, and a caption with its version, what changed and how the producing teams use it."""
    state = str(_shared.state_path())
    config = _shared.config_path()
    stamp = (state_version(state), config.stat().st_mtime_ns if config.exists() else 0)
    try:
        offered = _offer(state, run.run_id, run.reference_month, stamp)
    except MlwatchError as exc:
        st.error(f"The data contract cannot be built: {exc}", icon=":material/error:")
        return
    version = offered.version
    st.download_button(
        f"Download the data contract (version {version.version})",
        data=offered.text,
        file_name=f"mlwatch-contract-{version.version}.yaml",
        mime="application/yaml",
        key="contract_download",
        icon=":material/handshake:",
        help="An ODCS v3 YAML contract: the event fields and the event names each feature depends on, for the"
        " teams that produce the events. Their CI runs `python -m mlwatch contract check` on it.",
    )
    if version.recorded:
        when = f"recorded {version.recorded_at[:10]} by {version.recorded_by}"  # type: ignore[index]
    elif version.previous is None:
        when = "not recorded yet: `python -m mlwatch contract export` records it"
    else:
        when = "not recorded yet: the next run or `python -m mlwatch contract export` records it"
    measured = (
        f"Usual shares measured on {month_name(offered.profile.month)}."
        if offered.profile
        else "No usual shares: this run has no event timeline."
    )
    st.caption(f"Version {version.version} ({when}): {version.what_changed()}. {measured}")
