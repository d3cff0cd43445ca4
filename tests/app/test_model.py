"""Model page: training figures, the prediction distribution, actual performance when it exists."""

from __future__ import annotations

from tests.app.conftest import open_page


def test_empty_state(app_env) -> None:
    app_env()
    assert "No run yet" in open_page("model.py").info[0].value


def test_model_page_shows_held_out_and_actual_figures(app_env, stored_runs) -> None:
    app_env(stored_runs["state"])
    at = open_page("model.py", stored_runs["open"])
    labels = [m.label for m in at.metric]
    assert labels.count("R²") == 2  # held out on March, and actual on April (May is in the logs)
    assert any("Actual performance on April 2026 (purchases of 2026-05)" in s.value for s in at.subheader)
    assert len(at.get("plotly_chart")) == 1


def test_actuals_not_yet_available_are_said_plainly(app_env, tmp_path, make_logs) -> None:
    from mlwatch.config import Config
    from mlwatch.pipeline import run_monthly

    logs = make_logs(("2026-03", "2026-04", "2026-05"), users=300, seed=9)
    state = tmp_path / "state"
    result = run_monthly(logs, "2026-03", "2026-05", Config(), state)
    app_env(state)
    at = open_page("model.py", result.run_id)
    assert any("not available yet" in i.value for i in at.info)
