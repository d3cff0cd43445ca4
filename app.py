"""mlwatch dashboard: page config, navigation and the shared sidebar; nothing else."""

from __future__ import annotations

import streamlit as st

from views import _shared

st.set_page_config(page_title="mlwatch", page_icon=":material/shield:", layout="wide")

pages = {
    "This month": [
        st.Page("views/overview.py", title="Overview", icon=":material/traffic:", default=True),
        st.Page("views/data.py", title="Data", icon=":material/database:"),
        st.Page("views/drift.py", title="Drift", icon=":material/compare_arrows:"),
        st.Page("views/model.py", title="Model", icon=":material/model_training:"),
        st.Page("views/export.py", title="Export", icon=":material/download:"),
    ],
}
page = st.navigation(pages)
_shared.sidebar()
page.run()
