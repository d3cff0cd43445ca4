"""mlwatch dashboard: page config, login, navigation by role and the shared sidebar; nothing else."""

from __future__ import annotations

import streamlit as st

from views import _auth, _shared

st.set_page_config(page_title="mlwatch", page_icon=":material/shield:", layout="wide")

user = _auth.current_user(str(_shared.state_path()), _shared.app_config().auth)
if user is None:
    # Pages left out of st.navigation cannot be reached, not even by URL.
    st.navigation([st.Page("views/login.py", title="Log in", icon=":material/login:")]).run()
    st.stop()

pages = {
    "This month": [
        st.Page("views/overview.py", title="Overview", icon=":material/traffic:", default=True),
        st.Page("views/data.py", title="Data", icon=":material/database:"),
        st.Page("views/drift.py", title="Drift", icon=":material/compare_arrows:"),
        st.Page("views/model.py", title="Model", icon=":material/model_training:"),
        st.Page("views/export.py", title="Export", icon=":material/download:"),
    ],
    "Over time": [st.Page("views/history.py", title="History", icon=":material/timeline:")],
}
if user.can("audit"):
    pages["Records"] = [st.Page("views/audit.py", title="Audit", icon=":material/history:")]
page = st.navigation(pages)
_shared.set_acting_user(user)
_shared.sidebar(user)
page.run()
