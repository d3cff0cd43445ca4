"""A state written by the previous release (tests/fixtures/state_v3) still opens on every page."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mlwatch.monthly.drift import drift_scores
from mlwatch.state import store
from tests.app.conftest import open_page
from tests.conftest import ROOT

FIXTURE = ROOT / "tests" / "fixtures" / "state_v3"


@pytest.fixture
def old_state(tmp_path: Path) -> Path:
    copy = tmp_path / "state"
    shutil.copytree(FIXTURE, copy)  # opening migrates the database: never open the fixture itself
    return copy


def _run_of(state: Path, month: str) -> str:
    return next(r.run_id for r in store.list_runs(state) if r.current_month == month)


@pytest.mark.parametrize(
    "page", ["overview.py", "data.py", "drift.py", "model.py", "export.py", "history.py", "audit.py"]
)
def test_every_page_opens_a_run_of_the_previous_release(app_env, old_state, page) -> None:
    app_env(old_state)
    at = open_page(page, _run_of(old_state, "2026-05"), role="approver")
    assert not at.exception
    assert at.title, "the page drew nothing"


def test_the_overview_of_an_old_closed_run_shows_its_gate_and_failures(app_env, old_state) -> None:
    app_env(old_state)
    at = open_page("overview.py", _run_of(old_state, "2026-05"), role="marketer")
    assert "SIGNED OFF" in at.markdown[0].value  # signed off by ana with the previous release
    assert any("Login count is 0 for 100% of users" in m.value for m in at.markdown)


def test_a_run_whose_evidently_report_was_removed_gets_it_made_again_from_its_features(app_env, old_state) -> None:
    app_env(old_state)
    run_id = _run_of(old_state, "2026-04")
    at = open_page("drift.py", run_id, role="approver")
    assert not at.exception and not at.info
    assert not [b for b in at.get("download_button") if "Evidently" in str(b.proto.label)]  # not made on sight
    assert not (old_state / "runs" / run_id / "cache").exists()
    at.button(key="make_report").click().run()
    assert not at.exception and not at.info
    assert [b for b in at.get("download_button") if "Evidently" in str(b.proto.label)]
    again = open_page("drift.py", run_id, role="approver")  # the next visitor finds it made
    assert [b for b in again.get("download_button") if "Evidently" in str(b.proto.label)]
    made = json.loads((old_state / "runs" / run_id / "cache" / "report.json").read_text())
    stored = json.loads((old_state / "runs" / run_id / "report.json").read_text())  # what that release's run kept
    columns = list(store.read_summary(old_state, run_id).drift.scores)
    assert drift_scores(made, columns) == pytest.approx(drift_scores(stored, columns), rel=1e-12)


def test_a_run_whose_features_are_missing_says_how_to_make_the_report_again(app_env, old_state) -> None:
    app_env(old_state)
    run_id = _run_of(old_state, "2026-04")
    (old_state / "runs" / run_id / "features_current.parquet").unlink()
    at = open_page("drift.py", run_id, role="approver")
    at.button(key="make_report").click().run()
    assert not at.exception
    message = " ".join(i.value for i in at.info)
    assert "features_current.parquet" in message and "start the run again" in message
    assert not [b for b in at.get("download_button") if "Evidently" in str(b.proto.label)]
