"""Export page speed and safety: the ranked list is read once per run, and a signed-off run's logs are
checked against the sign-off when the file is asked for (Prepare the file), not on every slider move."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pandas as pd
import pytest
import streamlit as st

import mlwatch.governance.export
from mlwatch.config import AuthConfig, load_config
from mlwatch.governance.auth import User
from mlwatch.governance.signoff import failed_labels, sign_off
from mlwatch.pipeline import run_monthly
from mlwatch.state import store
from tests.app.conftest import open_page
from tests.conftest import ROOT, SAMPLE_LOGS

REASON = "Login was renamed upstream and this month's campaign does not use logins."


@pytest.fixture(scope="module")
def signed_off(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path | str]:
    """The closed May run on a private copy of the sample logs, signed off by ann."""
    logs = tmp_path_factory.mktemp("logs") / "sample_logs"
    shutil.copytree(SAMPLE_LOGS, logs)
    state = tmp_path_factory.mktemp("signed-state")
    run_id = run_monthly(logs, "2026-03", "2026-05", load_config(ROOT / "mlwatch.toml"), state).run_id
    sign_off(state, run_id, User("ann", "approver"), REASON, AuthConfig(), accepted=failed_labels(state, run_id))
    return {"logs": logs, "state": state, "run_id": run_id}


@pytest.fixture
def state(signed_off: dict[str, Path | str], tmp_path: Path) -> Path:
    copy = tmp_path / "state"
    shutil.copytree(signed_off["state"], copy)
    return copy


@pytest.fixture
def log_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The log folders whose files were stat'ed to check a sign-off, one entry per check."""
    calls: list[str] = []
    original = mlwatch.governance.export.input_fingerprint

    def spy(logs, config):  # type: ignore[no-untyped-def]
        calls.append(logs)
        return original(logs, config)

    monkeypatch.setattr(mlwatch.governance.export, "input_fingerprint", spy)
    return calls


def test_a_signed_off_run_whose_logs_changed_refuses_the_file_when_asked(
    app_env, signed_off, state: Path, log_checks: list[str], downloads
) -> None:
    app_env(state)
    late = Path(signed_off["logs"]) / "2026-05" / "late.jsonl"
    late.write_text('{"user_id": "u1", "event": "purchase", "timestamp": "2026-05-03T10:00:00Z"}\n')
    try:
        at = open_page("export.py", str(signed_off["run_id"]), role="marketer")
        assert "Signed off by **ann**" in at.success[0].value
        at.slider(key="export_share").set_value(0.5).run()
        at.slider(key="export_holdout").set_value(0.2).run()
        assert log_checks == [] and not at.error  # no log file stat'ed while choosing
        at.button(key="prepare_export").click().run()
    finally:
        late.unlink()
    assert not at.exception
    assert any("the logs changed since this run was signed off" in e.value for e in at.error)
    assert not at.get("download_button") and len(log_checks) == 1
    assert not any(name and name.startswith("prospects") for name in downloads)
    assert store.read_audit(state, action="export") == []


def test_a_signed_off_run_downloads_after_prepare_and_records_each_download_once(
    app_env, signed_off, state: Path, log_checks: list[str], downloads
) -> None:
    app_env(state)
    run_id = str(signed_off["run_id"])
    at = open_page("export.py", run_id, role="marketer")
    assert not at.get("download_button")
    at.button(key="prepare_export").click().run()
    assert not at.exception and len(log_checks) == 1
    assert len(at.get("download_button")) == 1
    at.download_button(key="download_prospects").click().run()
    at.run()  # an ordinary redraw afterwards records nothing
    exports = store.read_audit(state, action="export")
    assert len(exports) == 1 and exports[0]["detail"]["via"] == "dashboard"
    run = store.get_run(state, run_id)
    frame = pd.read_csv(io.BytesIO(downloads[f"prospects-2026-05-{run_id}.csv"]), dtype={"user_id": str})
    assert len(frame) == run.users
    at.slider(key="export_share").set_value(0.5).run()  # another selection needs its own check
    assert not at.get("download_button") and len(log_checks) == 1


def test_moving_the_sliders_does_not_read_the_features_file_again(
    app_env, stored_runs, monkeypatch: pytest.MonkeyPatch
) -> None:
    app_env(stored_runs["state"])
    st.cache_data.clear()
    reads: list[str] = []
    original = store.read_features

    def spy(state, run_id, month):  # type: ignore[no-untyped-def]
        reads.append(month)
        return original(state, run_id, month)

    monkeypatch.setattr(store, "read_features", spy)
    at = open_page("export.py", stored_runs["open"], role="marketer")
    at.slider(key="export_share").set_value(0.5).run()
    at.slider(key="export_holdout").set_value(0.2).run()
    assert not at.exception and len(at.get("download_button")) == 1
    assert reads == ["current"]
