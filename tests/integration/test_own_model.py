"""The team's own model or scores: a real scikit-learn model saved with skops and joblib, the same model
logged and registered in MLflow (SQLite store, local artifacts, no server), and its scoring job's output.

The "production" model is fitted once on the sample's March features and April purchases; each kind must
rank the list exactly as that model does, and each wrong file must fail the way the README says.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlwatch.config import AuthConfig, load_config
from mlwatch.errors import ExportBlocked
from mlwatch.governance.auth import User
from mlwatch.governance.export import export_prospects, prospect_list
from mlwatch.governance.signoff import failed_labels, sign_off
from mlwatch.ingest.logs import read_events
from mlwatch.monthly.features import build_features
from mlwatch.pipeline import connect, load_logs, run_monthly
from mlwatch.state import store
from tests.conftest import ROOT, SAMPLE_LOGS, built_once

NAMES = ["login", "view", "cart", "purchase"]
REASON = "The login rename is known; the campaign of this month does not depend on logins at all."


def _fit(frame: pd.DataFrame, alpha: float):  # type: ignore[no-untyped-def]
    from sklearn.linear_model import PoissonRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), PoissonRegressor(alpha=alpha)).fit(frame[NAMES], frame["target"])


def _build(folder: Path) -> None:
    import joblib
    import mlflow
    import skops.io as sio

    config = load_config(ROOT / "mlwatch.toml")
    con = connect(config, folder / "scratch")
    read_events(con, str(SAMPLE_LOGS), config.columns)
    months = {m: build_features(con, m, config.features, config.target_events()) for m in ("2026-03", "2026-04")}
    con.close()
    march = months["2026-03"]
    model, other = _fit(march, 1.0), _fit(march, 0.01)
    sio.dump(model, folder / "model.skops")
    sio.dump(other, folder / "other.skops")
    joblib.dump(model, folder / "model.joblib")
    extra = march.assign(wishlist=march["cart"])
    sio.dump(_fit_with(extra, [*NAMES, "wishlist"]), folder / "wishlist.skops")
    for month, frame in months.items():
        scores = pd.DataFrame({"user_id": frame["user_id"], "prediction": model.predict(frame[NAMES])})
        scores.to_csv(folder / f"scores-{month}.csv", index=False)
    mlflow.set_tracking_uri(f"sqlite:///{folder / 'mlflow.db'}")
    experiment = mlflow.create_experiment("buyers", artifact_location=(folder / "artifacts").as_uri())
    with mlflow.start_run(experiment_id=experiment):
        mlflow.sklearn.log_model(
            model, name="model", input_example=march[NAMES].head(3), registered_model_name="buyers"
        )


def _fit_with(frame: pd.DataFrame, columns: list[str]):  # type: ignore[no-untyped-def]
    from sklearn.linear_model import PoissonRegressor

    return PoissonRegressor().fit(frame[columns], frame["target"])


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return built_once(tmp_path_factory, "own-models", _build)


@pytest.fixture
def april(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> tuple[Path, str]:
    """A private copy of a state with April's run by mlwatch's own model (built once): (state, run id)."""
    import shutil

    built = built_once(tmp_path_factory, "own-models-april", _store_april)
    shutil.copytree(built / "state", tmp_path / "state")
    return tmp_path / "state", (built / "run_id").read_text()


def _store_april(folder: Path) -> None:
    result = run_monthly(SAMPLE_LOGS, "2026-03", "2026-04", load_config(ROOT / "mlwatch.toml"), folder / "state",
                         measure_actuals=False)  # fmt: skip
    (folder / "run_id").write_text(result.run_id)


def _config(tmp_path: Path, model_lines: str) -> Path:
    text = (ROOT / "mlwatch.toml").read_text().replace("[model]\n", f"[model]\n{model_lines}\n", 1)
    path = tmp_path / "mlwatch.toml"
    path.write_text(text)
    return path


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mlwatch", *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, **(env or {})}, check=False)  # fmt: skip


def test_each_kind_ranks_the_list_with_the_teams_model(models: Path, tmp_path: Path, monkeypatch) -> None:
    import skops.io as sio

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{models / 'mlflow.db'}")
    kinds = {
        "sklearn": f'kind = "sklearn"\npath = "{models / "model.skops"}"',
        "mlflow": 'kind = "mlflow"\nuri = "models:/buyers/1"',
        "scores": f'kind = "scores"\nscores = "{models / "scores-{month}.csv"}"\n'  # {month}: each run's own
        f'reference_scores = "{models / "scores-{month}.csv"}"',
    }
    model = sio.load(models / "model.skops", trusted=sio.get_untrusted_types(file=models / "model.skops"))
    state = tmp_path / "state"
    loaded = load_logs(SAMPLE_LOGS, load_config(ROOT / "mlwatch.toml"), state)
    try:
        results = {}
        for kind, lines in kinds.items():
            (tmp_path / kind).mkdir()
            config = load_config(_config(tmp_path / kind, lines))
            results[kind] = run_monthly(SAMPLE_LOGS, "2026-03", "2026-04", config, state, loaded=loaded,
                                        measure_actuals=False)  # fmt: skip
    finally:
        loaded.con.close()
    april = store.read_features(state, results["sklearn"].run_id, "current")
    expected = pd.Series(model.predict(april[NAMES]), index=april["user_id"]).sort_values(
        ascending=False, kind="stable"
    )
    for kind, result in results.items():
        summary = result.summary
        assert summary.gate == "open", (kind, [c.label for c in summary.failed])
        listed = prospect_list(state, result.run_id)
        assert np.allclose(listed["predicted_purchases"].head(50), expected.head(50).to_numpy()), kind
        assert summary.model.source["kind"] == kind
    assert results["mlflow"].summary.model.source["version"] == "version 1"
    assert results["sklearn"].summary.model.source["digest"] == _sha256(models / "model.skops")
    # The team's model scored on the reference month: the same held-out figures whichever way it came in.
    r2 = {kind: result.summary.model.validation["r2"] for kind, result in results.items()}
    assert r2["sklearn"] == pytest.approx(r2["mlflow"]) == pytest.approx(r2["scores"])
    coverage = next(c for c in results["scores"].checks if c.name == "scores_coverage")
    assert coverage.status == "pass" and coverage.value == 1.0
    assert "scores_coverage" not in {c.name for c in results["sklearn"].checks}
    assert all(any(c.name == "model_changed" for c in result.checks) for result in results.values())


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (
            'kind = "sklearn"\npath = "{models}/wishlist.skops"',
            (
                "the model expects features mlwatch does not build: wishlist (the model's: login, view, cart, "
                "purchase, wishlist; the config's [features]: login, view, cart, purchase)"
            ),
        ),
        ('kind = "sklearn"\npath = "{models}/model.joblib"', "a joblib or pickle file can run any code when loaded"),
        ('kind = "sklearn"\npath = "{models}/missing.skops"', "model.path = {models}/missing.skops: no such file"),
        ('kind = "scores"\nscores = "{models}/negative.csv"', "1 prediction(s) are not a non-negative number"),
        ('kind = "mlflow"', "model.kind = 'mlflow' needs model.uri"),
    ],
)
def test_a_wrong_model_is_one_line_before_any_log_is_read(
    models: Path, tmp_path: Path, lines: str, expected: str
) -> None:
    (models / "negative.csv").write_text("user_id,prediction\nu000001,0.5\nu000002,-1.5\n")
    config = _config(tmp_path, lines.format(models=models))
    result = _cli("run", "--logs", str(tmp_path / "no-logs-here"), "--reference", "2026-03", "--current", "2026-04",
                  "--config", str(config), "--state", str(tmp_path / "state"))  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert expected.format(models=models) in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "state" / "runs").exists()


def test_a_trusted_joblib_file_loads_only_with_allow_pickle(models: Path, tmp_path: Path) -> None:
    from mlwatch.scoring import prepare_model

    lines = f'kind = "sklearn"\npath = "{models / "model.joblib"}"\nallow_pickle = true'
    prepared = prepare_model(load_config(_config(tmp_path, lines)))
    assert prepared.scorer is not None and prepared.scorer.features == tuple(NAMES)


def test_a_wrong_months_scores_close_the_gate(models: Path, tmp_path: Path) -> None:
    # The scoring job ran on March's users: 17% of its scores match nobody active in April.
    lines = f'kind = "scores"\nscores = "{models / "scores-2026-03.csv"}"'
    result = run_monthly(SAMPLE_LOGS, "2026-03", "2026-04", load_config(_config(tmp_path, lines)), tmp_path / "s",
                         measure_actuals=False)  # fmt: skip
    coverage = next(c for c in result.checks if c.name == "scores_coverage")
    assert result.gate.status == "closed" and coverage.status == "fail"
    assert "match no user of the month. The scoring job probably ran on another month's users" in coverage.message
    prediction_drift = next(c for c in result.checks if c.name == "prediction_drift")
    assert prediction_drift.status == "warn" and prediction_drift.value is None
    assert "set [model] reference_scores" in prediction_drift.message
    # Users without a score are not in the list.
    scored = int(result.summary.features.users * coverage.value)
    assert len(prospect_list(tmp_path / "s", result.run_id)) == scored


def test_another_model_warns_and_a_changed_model_file_refuses_the_signed_off_export(
    models: Path, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    model = tmp_path / "production.skops"
    model.write_bytes((models / "model.skops").read_bytes())
    config = load_config(_config(tmp_path, f'kind = "sklearn"\npath = "{model}"'))
    april = run_monthly(SAMPLE_LOGS, "2026-03", "2026-04", config, state, measure_actuals=False)
    model.write_bytes((models / "other.skops").read_bytes())  # the team deploys another model for May
    may = run_monthly(SAMPLE_LOGS, "2026-03", "2026-05", config, state, measure_actuals=False)
    changed = next(c for c in may.checks if c.name == "model_changed")
    before, after = april.summary.model.source["version"], may.summary.model.source["version"]
    assert changed.status == "warn" and before != after
    assert f"{after}), before sklearn {model} ({before})" in changed.message
    sign_off(
        state, may.run_id, User("ana", "approver"), REASON, AuthConfig(), accepted=failed_labels(state, may.run_id)
    )
    export_prospects(state, may.run_id, User("mia", "marketer"), tmp_path / "may.csv")
    model.write_bytes((models / "model.skops").read_bytes())  # swapped after the sign-off
    with pytest.raises(ExportBlocked, match=rf"the model that scored it changed \(sklearn {model}\)"):
        export_prospects(state, may.run_id, User("mia", "marketer"), tmp_path / "again.csv")


def test_compare_a_challenger_before_the_campaign(models: Path, april: tuple[Path, str]) -> None:
    import skops.io as sio

    state, run_id = april
    result = _cli("compare", "--run", run_id, "--challenger", str(models / "model.skops"), "--state", str(state),
                  "--json")  # fmt: skip
    assert result.returncode == 0, result.stderr
    compared = json.loads(result.stdout)
    # The same figures computed here from the stored list and the challenger's own predictions.
    frame = store.read_features(state, run_id, "current")
    challenger = sio.load(models / "model.skops", trusted=sio.get_untrusted_types(file=models / "model.skops"))
    ours, theirs = frame["prediction"].to_numpy(), challenger.predict(frame[NAMES])
    k = int(np.ceil(0.1 * len(frame)))
    top_ours, top_theirs = set(np.argsort(-ours, kind="stable")[:k]), set(np.argsort(-theirs, kind="stable")[:k])
    assert compared["overlap"]["top10"] == pytest.approx(len(top_ours & top_theirs) / k)
    assert compared["entering"] == compared["leaving"] == k - len(top_ours & top_theirs)
    assert compared["rank_correlation"] == pytest.approx(pd.Series(ours).corr(pd.Series(theirs), method="spearman"))
    # April's purchases of May are in the logs: both models' real precision, side by side.
    assert compared["actual"]["champion"]["precision_top10"] is not None
    assert compared["actual"]["challenger"]["precision_top10"] is not None
    assert compared["challenger"]["digest"] == _sha256(models / "model.skops")
    assert len(list((state / "comparisons" / run_id).glob("*.json"))) == 1  # kept for the Model page
    text = _cli("compare", "--run", run_id, "--challenger", str(models / "scores-2026-04.csv"), "--state",
                str(state))  # fmt: skip
    assert text.returncode == 0 and "10% of the list: " in text.stdout and "challenger: scores " in text.stdout


def test_a_split_export_sends_half_the_list_from_each_model_and_measures_each(
    models: Path, april: tuple[Path, str], tmp_path: Path
) -> None:
    import skops.io as sio

    state, run_id = april
    out = tmp_path / "split.csv"
    result = _cli("export", "--run", run_id, "--out", str(out), "--challenger", str(models / "model.skops"),
                  "--split", "0.5", "--holdout", "0.2", "--seed", "3", "--state", str(state))  # fmt: skip
    assert result.returncode == 0, result.stderr
    exported = pd.read_csv(out, dtype={"user_id": str})
    arms = {name: arm for name, arm in exported.groupby("model")}
    assert set(arms) == {"champion", "challenger"} and len(exported) == store.get_run(state, run_id).users
    assert abs(len(arms["challenger"]) / len(exported) - 0.5) < 0.05  # a seeded coin per user
    # Each arm is ranked by its own model, with its own control group of 20%.
    stored = store.read_features(state, run_id, "current").set_index("user_id")
    challenger = sio.load(models / "model.skops", trusted=sio.get_untrusted_types(file=models / "model.skops"))
    theirs = pd.Series(challenger.predict(stored[NAMES]), index=stored.index)
    for name, scores in (("champion", stored["prediction"]), ("challenger", theirs)):
        arm = arms[name].sort_values("rank")
        assert np.allclose(arm["predicted_purchases"], scores[arm["user_id"]].to_numpy(), atol=1e-4)  # CSV rounding
        assert arm["predicted_purchases"].is_monotonic_decreasing
        assert (arm["group"] == "control").mean() == pytest.approx(0.2, abs=0.01)
    detail = store.read_audit(state, action="export")[-1]["detail"]
    assert detail["split"] == 0.5 and detail["challenger"]["digest"] == _sha256(models / "model.skops")
    # May's purchases are in the logs: each model's list is measured against its own control group.
    measured = _cli("actuals", "--logs", str(SAMPLE_LOGS), "--run", run_id, "--recompute", "--state", str(state))
    assert measured.returncode == 0, measured.stderr
    history = json.loads(_cli("history", "--state", str(state), "--json").stdout)
    campaigns = history[0]["actual"]["campaigns"]
    assert sorted(c["model"] for c in campaigns) == ["challenger", "champion"]
    assert all(c["campaign_users"] > 0 and c["control_users"] > 0 for c in campaigns)
