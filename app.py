"""mlwatch dashboard: page config, login, navigation by role and the shared sidebar; nothing else."""

from __future__ import annotations

import streamlit as st

from pages import _auth, _shared

st.set_page_config(page_title="mlwatch", page_icon=":material/shield:", layout="wide")

user = _auth.current_user(str(_shared.state_path()), _shared.app_config().auth)
if user is None:
    # Pages left out of st.navigation cannot be reached, not even by URL.
    login = st.navigation([st.Page("pages/login.py", title="Log in", icon=":material/login:")])
    with _shared.through_app():
        login.run()
    st.stop()

pages = {
    "This month": [
        st.Page("pages/overview.py", title="Overview", icon=":material/traffic:", default=True),
        st.Page("pages/data.py", title="Data", icon=":material/database:"),
        st.Page("pages/drift.py", title="Drift", icon=":material/compare_arrows:"),
        st.Page("pages/model.py", title="Model", icon=":material/model_training:"),
        st.Page("pages/export.py", title="Export", icon=":material/download:"),
    ],
    "Over time": [st.Page("pages/history.py", title="History", icon=":material/timeline:")],
}
if user.can("audit"):
    pages["Records"] = [st.Page("pages/audit.py", title="Audit", icon=":material/history:")]
page = st.navigation(pages)
_shared.set_acting_user(user)
_shared.sidebar(user)
with _shared.through_app():
    page.run()
