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


def test_the_page_says_what_scored_the_list_and_shows_a_stored_challenger(
    app_env, private_state, stored_runs, tmp_path
) -> None:
    import skops.io as sio
    from sklearn.linear_model import PoissonRegressor

    from mlwatch.config import ModelConfig
    from mlwatch.monthly.compare import compare_models, save_comparison
    from mlwatch.state import store

    run_id = stored_runs["open"]
    names = ["login", "view", "cart", "purchase"]
    march = store.read_features(private_state, run_id, "reference")
    sio.dump(PoissonRegressor().fit(march[names], march["target"]), tmp_path / "challenger.skops")
    comparison = compare_models(
        private_state, run_id, ModelConfig(kind="sklearn", path=str(tmp_path / "challenger.skops"))
    )
    save_comparison(private_state, comparison)
    app_env(private_state)
    at = open_page("model.py", run_id)
    assert at.markdown[0].value == "**Scored by** mlwatch's built-in model, trained on the reference month."
    assert "Champion and challenger" in [s.value for s in at.subheader]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Same users in the top 10%"] == f"{comparison.overlap['top10'] * 100:.1f}%"
    table = at.dataframe[0].value
    assert list(table["model"]) == ["champion", "challenger"] and table["precision_top10"].notna().all()


def test_a_run_scored_by_the_teams_model_says_which_file_and_version(
    app_env, private_state, stored_runs, tmp_path
) -> None:
    from mlwatch.config import Config, ModelConfig
    from mlwatch.pipeline import run_monthly
    from mlwatch.state import store
    from tests.conftest import SAMPLE_LOGS

    for month in ("reference", "current"):  # a scoring job's output: here, the stored run's own predictions
        frame = store.read_features(private_state, stored_runs["open"], month)
        frame[["user_id", "prediction"]].to_csv(tmp_path / f"scores-{month}.csv", index=False)
    model = ModelConfig(kind="scores", scores=str(tmp_path / "scores-current.csv"),
                        reference_scores=str(tmp_path / "scores-reference.csv"))  # fmt: skip
    result = run_monthly(SAMPLE_LOGS, "2026-03", "2026-04", Config(model=model), private_state, measure_actuals=False)
    app_env(private_state)
    at = open_page("model.py", result.run_id)
    version = result.summary.model.source["version"]
    assert at.markdown[0].value == (
        f"**Scored by the team's model**: scoring job's output `{tmp_path / 'scores-current.csv'}`, {version}."
    )
    assert version.startswith("sha256 ") and any(s.value.startswith("Its figures on March 2026") for s in at.subheader)
