"""Shared sidebar, cached loaders and render helpers for the pages (the only Streamlit glue)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from mlwatch.config import Config, load_config
from mlwatch.errors import MlwatchError
from mlwatch.governance.auth import ROLES, User, list_users
from mlwatch.governance.export import prospect_list
from mlwatch.governance.signoff import gate_status, signed_off_ids
from mlwatch.ingest.access import allowed_roots, resolve_allowed_logs
from mlwatch.monthly.histograms import run_histograms
from mlwatch.monthly.timeline import read_timeline
from mlwatch.months import month_name
from mlwatch.present import drift_report
from mlwatch.present.runs import landing_run, newest_of_month, run_label
from mlwatch.state import store
from mlwatch.summary import RunSummary
from pages import _auth

RUN_KEY = "run_id"  # the selected run; written only by select_run and the picker's callback
PICKER_KEY = "run_picker"
NEW_RUN_KEY = "new_run"  # (run id, page) this session just stored there: written by start_run, cleared by _seen
ACTING_KEY = "acting_user"  # written only by set_acting_user, from app.py
_ENTRY = threading.local()  # set while app.py runs a page: a script run is per thread


@contextmanager
def through_app() -> Iterator[None]:
    """Mark the page that app.py runs now as reached through its navigation (app.py only)."""
    _ENTRY.active = True
    try:
        yield
    finally:
        _ENTRY.active = False


def guard_page() -> None:
    """Run a page only through app.py (its login and role checks); otherwise rerun through it.

    Until the entry script has called ``st.navigation`` once, a new Streamlit process runs a
    ``pages/`` folder as an automatic multipage app, so the first request of a new server
    could open ``/audit`` or ``/export`` directly. Every page calls this first.
    """
    if getattr(_ENTRY, "active", False):
        return
    from streamlit.runtime.pages_manager import PagesManager

    # What app.py's st.navigation does on its first call; the rerun then goes through app.py
    # to the same page (its URL is kept), behind the login.
    PagesManager.uses_pages_directory = False
    st.rerun()


def state_path() -> Path:
    """The state directory the app reads (``MLWATCH_STATE`` or ``.mlwatch``)."""
    return store.state_dir()


def config_path() -> Path:
    """The config file the app uses and saves mappings to (``MLWATCH_CONFIG`` or ``mlwatch.toml``)."""
    return Path(os.environ.get("MLWATCH_CONFIG", "mlwatch.toml"))


def app_config() -> Config:
    """The current config (the built-in defaults when the file does not exist)."""
    path = config_path()
    return load_config(path if path.exists() else None)


@st.cache_data(show_spinner=False, max_entries=64)
def summary(state: str, run_id: str) -> RunSummary:
    """A run's stored summary; runs are immutable, so the run id is a safe cache key."""
    return store.read_summary(state, run_id)


@st.cache_data(show_spinner=False, max_entries=8)
def features(state: str, run_id: str, month: str) -> pd.DataFrame:
    """A run's per-user feature table (``reference`` or ``current``)."""
    return store.read_features(state, run_id, month)


@st.cache_data(show_spinner=False, max_entries=8)
def prospects(state: str, run_id: str) -> pd.DataFrame:
    """A run's ranked prospect list (``user_id``, ``predicted_purchases``, ``rank``); runs are immutable."""
    return prospect_list(state, run_id)


@st.cache_data(show_spinner=False, max_entries=16)
def histograms(state: str, run_id: str) -> dict[str, Any]:
    """A run's histograms: stored in its summary; computed once from its feature tables for older runs."""
    run = summary(state, run_id)
    if run.histograms:
        return run.histograms
    reference, current = features(state, run_id, "reference"), features(state, run_id, "current")
    return run_histograms(reference, current, list(run.features.names))


@st.cache_data(show_spinner=False, max_entries=8)
def timeline(state: str, run_id: str) -> pd.DataFrame | None:
    """A run's hourly counts per event name, or None for a run stored before the timeline existed."""
    return read_timeline(store.run_path(state, run_id))


@st.cache_data(show_spinner=False, max_entries=4)
def report_html(state: str, run_id: str) -> str:
    """The Evidently report of a run: made from its stored features on first view, then kept.

    Raises:
        StateError: the run's features are missing (the message says how to make them again).
    """
    return drift_report.report_html(state, run_id)


def run_record(run_id: str) -> store.RunRecord:
    """The stored row of a run."""
    return store.get_run(state_path(), run_id)


def runs() -> list[store.RunRecord]:
    """Every stored run, newest first (read on each rerun: a scheduled run may have added one)."""
    return store.list_runs(state_path())


def select_run(run_id: str) -> None:
    """Make ``run_id`` the run every page shows (call before the sidebar is drawn, then rerun)."""
    st.session_state[RUN_KEY] = run_id


def set_acting_user(user: User) -> None:
    """Record who is using this session (app.py, after login)."""
    st.session_state[ACTING_KEY] = user


def acting_user() -> User | None:
    """The user of this session; mlwatch functions check their role."""
    return st.session_state.get(ACTING_KEY)


def sidebar(user: User) -> None:
    """Draw who is logged in and the run picker shared by every page."""
    _user_box(user)
    try:
        records = runs()
    except MlwatchError as exc:
        st.sidebar.error(str(exc))
        return
    if not records:
        st.sidebar.info("No runs yet.")
        return
    ids = [r.run_id for r in records]
    if st.session_state.get(RUN_KEY) not in ids:
        select_run(landing_run(records, date.today()))
    # Set before the widget is drawn, so a run selected by a page shows in the picker.
    st.session_state[PICKER_KEY] = st.session_state[RUN_KEY]
    by_id = {r.run_id: r for r in records}
    signed = signed_off_ids(state_path())
    newest = newest_of_month(records)
    st.sidebar.selectbox(
        "Run",
        ids,
        key=PICKER_KEY,
        on_change=_picked,
        format_func=lambda i: run_label(by_id[i], signed, newest),
        help="Each run checked one month against a reference month. Runs are immutable: a re-run is a new run, and "
        "an older run of the same month is marked superseded.",
    )
    if user.role != "marketer":  # where the state lives is for the people who run mlwatch
        st.sidebar.caption(f"State: `{state_path()}`")


def _user_box(user: User) -> None:
    if user.source == "demo":
        st.warning(
            "**Demo mode**: no account exists yet, so anyone on this machine may act as any role. "
            "Create accounts with `python -m mlwatch user add NAME --role ROLE` to require a login.",
            icon=":material/science:",
        )
        st.sidebar.selectbox("Act as (demo)", ROLES, index=ROLES.index(user.role), key=_auth.DEMO_ROLE_KEY)
        return
    st.sidebar.markdown(f"**{user.name}** · {user.role}")
    if user.source == "sso":
        st.sidebar.button("Log out", on_click=st.logout, key="logout")
    else:
        st.sidebar.button("Log out", on_click=_auth.log_out, key="logout")


def _picked() -> None:
    select_run(st.session_state[PICKER_KEY])


def start_run(
    logs: str,
    reference: str,
    current: str,
    config: Config,
    label: str,
    before: Callable[[], Config] | None = None,
    as_of: str | None = None,
    origin: str = "overview",
) -> None:
    """Run the monthly job from the dashboard, with its progress, then show the new run (or the error).

    Args:
        logs: the logs path asked for; refused unless inside ``[logs] allowed``.
        label: what the progress box says while it runs.
        before: a step to do first inside the same progress box (saving a mapping); returns the config to run with.
        as_of: a day of the current month for a month-to-date run (provisional: never exported).
        origin: the page that started it (``overview`` or ``data``): it then says the run was stored.
    """
    from mlwatch.pipeline import run_monthly

    with st.status(label, expanded=True) as status:
        try:
            allowed = config.logs.allowed_dirs()
            path = resolve_allowed_logs(logs, allowed)
            config = before() if before else config
            result = run_monthly(
                path,
                reference,
                current,
                config,
                state_path(),
                progress=st.write,
                user=acting_user(),
                within=allowed_roots(allowed),  # every file found, not only the folder asked for
                as_of=as_of,
            )
        except MlwatchError as exc:
            status.update(label="The run could not start", state="error")
            st.error(f"{exc}")
            return
        except Exception as exc:  # noqa: BLE001  (a bug must not show a traceback to a marketer)
            status.update(label="The run failed", state="error")
            st.error(
                f"The run failed unexpectedly ({type(exc).__name__}: {exc}). Nothing was stored; "
                "check the logs with the CLI and report the problem."
            )
            return
        status.update(label=f"Run stored: gate {result.gate.status}", state="complete")
    st.session_state[NEW_RUN_KEY] = (result.run_id, origin)
    select_run(result.run_id)
    st.rerun()


def current_run() -> RunSummary | None:
    """The summary of the selected run, or None when there is no run (pages then show their empty state)."""
    run_id = st.session_state.get(RUN_KEY)
    if not run_id:
        return None
    try:
        return summary(str(state_path()), run_id)
    except MlwatchError as exc:
        st.error(f"{exc}")
        return None


def new_run_notice(run: RunSummary, here: str) -> None:
    """On the page that started ``run`` (``here``: ``overview`` or ``data``), until the person moves on: say that
    the run was stored, its gate, and where to go next."""
    if st.session_state.get(NEW_RUN_KEY) != (run.run_id, here):
        return
    status = gate_status(state_path(), run.run_id)
    words = {"open": "the list may be used", "closed": "the checks still fail", "signed_off": "the list may be used"}
    st.success(
        f"New run stored: gate **{status.replace('_', ' ').upper()}**. {month_name(run.current_month)} was checked "
        f"again: {words[status]}.",
        icon=":material/task_alt:",
    )
    left, right, _ = st.columns([1, 1, 2])
    if here != "overview":
        with left:
            go("pages/overview.py", "Open the Overview", key="new_run_overview", icon=":material/traffic:",
               before=_seen)  # fmt: skip
    with right:
        go("pages/export.py", "Go to Export", key="new_run_export", icon=":material/download:", before=_seen)


def _seen() -> None:
    st.session_state.pop(NEW_RUN_KEY, None)


def page_run(title: str) -> RunSummary | None:
    """Draw a page's title with the run's month (``Data · May 2026``) and return the run, or show the
    empty state and return None."""
    run = current_run()
    st.title(title if run is None else f"{title} · {month_name(run.current_month)}")
    if run is None:
        empty_state()
    return run


def empty_state() -> None:
    """The friendly message shown when there is no run yet."""
    st.info(
        "No run yet. Open **Overview** and start one on the logs folder, or run "
        "`python -m mlwatch run --logs sample_logs --reference 2026-03 --current 2026-05` from a terminal."
    )


def go(
    page: str, label: str, key: str, primary: bool = False, icon: str | None = None, before: Callable | None = None
) -> None:
    """A button that opens another page (a file under pages/) of the navigation, after ``before`` if given."""
    if st.button(label, key=key, type="primary" if primary else "secondary", icon=icon):
        if before is not None:
            before()
        st.switch_page(page)


def approver_names() -> str:
    """Whom to ask for a sign-off: the active approvers' names, or the role when there is no account."""
    names = [u["name"] for u in list_users(state_path()) if u["role"] == "approver" and not u["disabled_at"]]
    return ", ".join(str(n) for n in names) if names else "an approver (an account with the approver role)"


def pct(share: float | None, digits: int = 1) -> str:
    """Format a share in 0..1 as a percentage."""
    return "n/a" if share is None else f"{share * 100:.{digits}f}%"


def number(value: float | None) -> str:
    """Format a count with thousands separators."""
    return "n/a" if value is None else f"{value:,.0f}"
