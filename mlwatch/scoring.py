"""The model stage for every ``[model] kind``: mlwatch's own model trained on the reference month, the
team's scikit-learn or MLflow model, or its scoring job's output; and the honest reference-month
predictions the estimators learn from (``pipeline.run_monthly`` chains the stages)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from mlwatch.config import Config
from mlwatch.measure import Frames
from mlwatch.monthly.estimate import FIT_ROWS, SEED, HeldOut, held_out_predictions
from mlwatch.monthly.model import (
    TrainedModel,
    describe_model,
    evaluate_predictions,
    predict,
    seeded_sample,
    split_rows,
    train_model,
)
from mlwatch.monthly.scorers import FixedModel, ModelSource, Scorer, load_scorer, read_scores


@dataclass(frozen=True)
class ScoredModel:
    """What scored both months, how it is described, and its figures on the reference month.

    ``trained``: mlwatch's own model (stored with the run); ``scorer``: the team's model file or MLflow model;
    neither for a scoring job's output. ``reference_scored``: the reference month has predictions (a
    ``scores`` run without ``reference_scores`` has none: prediction drift and the estimates cannot be made).
    """

    source: ModelSource
    description: str
    train_rows: int
    validation: dict[str, float | None]
    trained: TrainedModel | None = None
    scorer: Scorer | None = None
    reference_scored: bool = True
    scores: pd.DataFrame | None = None  # the current month's scores as read (scores_coverage counts them)


@dataclass(frozen=True)
class PreparedModel:
    """The team's model loaded, or its scores read, before any log is: a wrong file fails in a second."""

    scorer: Scorer | None = None
    scores: tuple[pd.DataFrame, ModelSource] | None = None
    reference_scores: tuple[pd.DataFrame, ModelSource] | None = None


def for_months(config: Config, reference: str, current: str) -> Config:
    """The config with ``{month}`` in ``[model] scores`` and ``reference_scores`` replaced by the run's current and
    reference month (``scores = "scores/{month}.csv"`` serves every month, and backfill)."""
    model = config.model
    if model.kind != "scores":
        return config
    scores = str(model.scores).replace("{month}", current)
    ref = model.reference_scores.replace("{month}", reference) if model.reference_scores else None
    return replace(config, model=replace(model, scores=scores, reference_scores=ref))


def prepare_model(config: Config) -> PreparedModel:
    """Load the configured model or read the configured scores (nothing for mlwatch's own model).

    Raises:
        ConfigError: the model cannot be loaded or expects features the config does not build.
        InputError: a scores file is missing or malformed, or a score is not a non-negative number.
    """
    model = config.model
    if model.kind in ("sklearn", "mlflow"):
        return PreparedModel(scorer=load_scorer(model, list(config.features)))
    if model.kind == "scores":
        reference = read_scores(model.reference_scores, "model.reference_scores") if model.reference_scores else None
        return PreparedModel(scores=read_scores(str(model.scores), "model.scores"), reference_scores=reference)
    return PreparedModel()


def model_stage(
    frames: Frames, config: Config, stages: Callable[[str], None], prepared: PreparedModel | None = None
) -> ScoredModel:
    """Score both months with the configured model and add ``prediction`` to both tables.

    Args:
        prepared: the model or scores from ``prepare_model`` (loaded here when not given).

    Raises:
        ConfigError: the model cannot be loaded or expects features the config does not build.
        InputError: a scores file is missing or malformed, or the model's output is not a non-negative number.
    """
    names = list(config.features)
    kind = config.model.kind
    prepared = prepared or prepare_model(config)
    if kind == "builtin":
        stages("Training the model on the reference month")
        model = train_model(frames.reference, names)
        frames.reference["prediction"] = predict(model, frames.reference)
        frames.current["prediction"] = predict(model, frames.current)
        source = ModelSource("builtin", "", describe_model(model.estimator))
        return ScoredModel(source, describe_model(model.estimator), model.train_rows, model.validation, trained=model)
    if kind == "scores":
        return _scores(frames, prepared, stages)
    stages("Scoring both months with the team's model")
    scorer = prepared.scorer or load_scorer(config.model, names)
    frames.reference["prediction"] = scorer.predict_frame(frames.reference)
    frames.current["prediction"] = scorer.predict_frame(frames.current)
    validation = evaluate_predictions(frames.reference["target"].to_numpy(), frames.reference["prediction"].to_numpy())
    return ScoredModel(scorer.source, scorer.source.label, 0, validation, scorer=scorer)


def reference_held_out(frames: Frames, config: Config, model: ScoredModel) -> HeldOut | None:
    """Honest predictions of the reference month for the estimators, or None when there are none.

    mlwatch's own model: out-of-fold models trained like it, or, when it learnt from a sample leaving at least
    ``FIT_ROWS`` reference users unseen, its own predictions of those. The team's model was trained before
    the reference month, so its own predictions are honest, and it scores the zeroed-feature copies
    too. A scoring job's reference scores are honest but cannot score copies: no stress rows.
    """
    from sklearn.base import clone

    names = list(config.features)
    unseen = split_rows(len(frames.reference))[2] if len(frames.reference) >= 50 else []
    if model.trained is not None and len(unseen) >= FIT_ROWS:
        # The model learnt from a sample of a large month: the users it never saw score honestly with the
        # production model itself, as the team's own model does (no out-of-fold models to train).
        # The seeded sample ``held_out_predictions`` takes of them, taken here: only its rows are copied.
        sample = unseen[seeded_sample(len(unseen), FIT_ROWS, SEED)]
        return held_out_predictions(frames.reference.iloc[sample], names, model.trained.estimator, fitted=True)
    if model.trained is not None:
        return held_out_predictions(frames.reference, names, clone(model.trained.estimator))
    if model.scorer is not None:
        return held_out_predictions(frames.reference, names, FixedModel(model.scorer, names), fitted=True)
    if not model.reference_scored:
        return None
    scored = frames.reference[frames.reference["prediction"].notna()]
    if len(scored) > FIT_ROWS:
        scored = scored.sample(FIT_ROWS, random_state=0).sort_index()
    x = scored[names].to_numpy(dtype="float64")
    empty = np.zeros((0, len(names)))
    return HeldOut(x, scored["target"].to_numpy(dtype="float64"), scored["prediction"].to_numpy(dtype="float64"),
                   empty, np.zeros(0), tuple(names))  # fmt: skip


def _scores(frames: Frames, prepared: PreparedModel, stages: Callable[[str], None]) -> ScoredModel:
    stages("Matching the scoring job's output to the month's users")
    assert prepared.scores is not None
    current, source = prepared.scores
    frames.current["prediction"] = _matched(frames.current, current)
    validation: dict[str, float | None] = {"r2": None, "mae": None, "precision_top10": None}
    if prepared.reference_scores is not None:
        reference, ref_source = prepared.reference_scores
        frames.reference["prediction"] = _matched(frames.reference, reference)
        scored = frames.reference[frames.reference["prediction"].notna()]
        validation = evaluate_predictions(scored["target"].to_numpy(), scored["prediction"].to_numpy())
        source = ModelSource("scores", source.location, source.version, f"{source.digest}:{ref_source.digest}")
    else:
        frames.reference["prediction"] = np.nan
    reference_scored = prepared.reference_scores is not None
    return ScoredModel(source, source.label, 0, validation, reference_scored=reference_scored, scores=current)


def _matched(frame: pd.DataFrame, scores: pd.DataFrame) -> Any:
    """Each user's score (NaN for a user the scoring job did not score)."""
    by_user = scores.set_index("user_id")["prediction"]
    return frame["user_id"].astype("string").map(by_user).astype("float64").to_numpy()
