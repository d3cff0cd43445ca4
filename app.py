"""mlwatch dashboard: page config, navigation and the shared sidebar; nothing else."""

from __future__ import annotations

import streamlit as st

from pages import _shared

st.set_page_config(page_title="mlwatch", page_icon=":material/shield:", layout="wide")

pages = {
    "This month": [
        st.Page("pages/overview.py", title="Overview", icon=":material/traffic:", default=True),
        st.Page("pages/data.py", title="Data", icon=":material/database:"),
        st.Page("pages/drift.py", title="Drift", icon=":material/compare_arrows:"),
        st.Page("pages/model.py", title="Model", icon=":material/model_training:"),
        st.Page("pages/export.py", title="Export", icon=":material/download:"),
    ],
}
page = st.navigation(pages)
_shared.sidebar()
page.run()
