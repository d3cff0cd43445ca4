"""Who is using the app: local accounts, single sign-on, or the local demo mode (Streamlit glue only)."""

from __future__ import annotations

import time

import streamlit as st

from mlwatch.config import AuthConfig
from mlwatch.errors import MlwatchError
from mlwatch.governance import auth

USER_KEY = "user"
SEEN_KEY = "last_seen"
DEMO_ROLE_KEY = "demo_role"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def sso_configured() -> bool:
    """True when ``[auth]`` is set in .streamlit/secrets.toml, so ``st.login`` can be used."""
    try:
        return "auth" in st.secrets
    except Exception:  # noqa: BLE001  (no secrets file at all: Streamlit raises its own error types)
        return False


def current_user(state: str, rules: AuthConfig) -> auth.User | None:
    """Return the signed-in user, or None when a login is needed; enforces the inactivity timeout."""
    if sso_configured():
        return _sso_user(rules)
    try:
        accounts = auth.has_accounts(state)
    except MlwatchError as exc:
        st.error(f"{exc}")
        st.stop()
    if not accounts:
        return _demo_user()
    user = st.session_state.get(USER_KEY)
    if user is None:
        return None
    now = time.monotonic()
    if now - st.session_state.get(SEEN_KEY, now) > rules.session_timeout_minutes * 60:
        log_out()
        st.session_state["expired"] = True
        return None
    # The account as it is now: a disabled account loses its session, a new role applies at once.
    current = auth.refresh(state, user)
    if current is None:
        log_out()
        st.session_state["account_disabled"] = True
        return None
    st.session_state[USER_KEY] = current
    st.session_state[SEEN_KEY] = now
    return current


def log_in(user: auth.User) -> None:
    """Start a session for ``user``."""
    st.session_state[USER_KEY] = user
    st.session_state[SEEN_KEY] = time.monotonic()
    st.session_state.pop("expired", None)


def client() -> str:
    """Who is connecting, for the login throttle: ``browser:<address>`` (unknown behind some proxies)."""
    return f"browser:{st.context.ip_address or 'unknown'}"


def log_out() -> None:
    """End the session."""
    st.session_state.pop(USER_KEY, None)
    st.session_state.pop(SEEN_KEY, None)


def demo_allowed() -> bool:
    """Demo mode (no accounts) only serves a browser on this machine."""
    return str(st.get_option("server.address") or "") in LOOPBACK


def _demo_user() -> auth.User | None:
    if not demo_allowed():
        st.error(
            "No account exists and this server listens beyond 127.0.0.1: create one with "
            "`python -m mlwatch user add NAME --role admin`, or start the app with --server.address 127.0.0.1."
        )
        st.stop()
    role = st.session_state.get(DEMO_ROLE_KEY, "approver")
    return auth.User(f"demo-{role}", role, source="demo")


def _sso_user(rules: AuthConfig) -> auth.User | None:
    if not st.user.is_logged_in:
        return None
    email = str(st.user.get("email") or "")
    role = auth.role_for_email(email, rules.approvers, rules.admins, rules.marketers, rules.default_role)
    if role is None:
        st.error(
            f"{email or 'This account'} has no role in mlwatch; ask an administrator to add it to [auth] in the config."
        )
        if st.button("Log out"):
            st.logout()
        st.stop()
    return auth.User(email, role, source="sso")
