"""Login: a local account's name and password, or single sign-on when configured."""

from __future__ import annotations

import streamlit as st

from mlwatch.errors import AuthError, LoginLocked
from mlwatch.governance.auth import authenticate
from pages import _auth, _shared


def render() -> None:
    st.title("mlwatch")
    if st.session_state.pop("expired", None):
        st.info("Your session timed out after inactivity; please log in again.")
    if st.session_state.pop("account_disabled", None):
        st.warning("Your session ended: the account is disabled. Ask an administrator if this is a mistake.")
    if _auth.sso_configured():
        st.button("Log in with single sign-on", type="primary", on_click=st.login, key="sso_login")
        return
    with st.form("login"):
        name = st.text_input("Account name", key="login_name")
        password = st.text_input("Password", type="password", key="login_password")
        submitted = st.form_submit_button("Log in", type="primary")
    if not submitted:
        return
    try:
        user = authenticate(str(_shared.state_path()), name.strip(), password, client=_auth.client())
    except LoginLocked as exc:
        st.error(f"{str(exc)[:1].upper()}{str(exc)[1:]}.")
        return
    except AuthError:
        st.error("Wrong name or password.")
        return
    _auth.log_in(user)
    st.rerun()


_shared.guard_page()
render()
