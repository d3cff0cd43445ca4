"""Champion and challenger: score a stored run's month with a second model and compare the two lists before
any campaign (top-list overlap, rank correlation, who enters and leaves the list, and, once the month's
purchases are known, both models' precision and lift); comparisons are kept with the state."""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlwatch.config import ModelConfig
from mlwatch.errors import InputError, StateError
from mlwatch.monthly.scorers import ModelSource, load_scorer, read_scores
from mlwatch.state import store

SHARES = (0.10, 0.20)
COMPARISONS = "comparisons"  # <state>/comparisons/<run id>/<stamp>.json: not one of a run's sealed artifacts
MOVERS = 20  # users entering and leaving the top 10% listed by id


@dataclass(frozen=True)
class Comparison:
    """The current list (champion) against a challenger's on the same users of the same month."""

    run_id: str
    month: str
    champion: dict[str, str]
    challenger: dict[str, str]
    users: int
    overlap: dict[str, float]  # "top10": share of the champion's top 10% also in the challenger's
    rank_correlation: float | None  # Spearman's, over every user both scored
    entering: int  # users in the challenger's top 10% but not the champion's
    leaving: int
    entering_ids: list[str] = field(default_factory=list)
    leaving_ids: list[str] = field(default_factory=list)
    actual: dict[str, dict[str, float | None]] | None = None  # per model, once the month's purchases are known
    at: str = ""

    def to_json(self) -> dict[str, Any]:
        """The comparison as ``compare --json`` prints it and the state keeps it."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Comparison:
        """Read a stored comparison."""
        return cls(**data)


def challenger_config(spec: str, allow_pickle: bool = False) -> ModelConfig:
    """The challenger's model config from a command-line value: an MLflow URI (``models:/``, ``runs:/``), a
    scores file or folder (CSV/Parquet), or a scikit-learn file (``.skops``; joblib with ``allow_pickle``)."""
    if spec.startswith(("models:/", "runs:/", "mlflow-artifacts:/")):
        return ModelConfig(kind="mlflow", uri=spec)
    path = Path(spec)
    if path.is_dir() or path.suffix in (".csv", ".parquet"):
        return ModelConfig(kind="scores", scores=spec)
    return ModelConfig(kind="sklearn", path=spec, allow_pickle=allow_pickle)


def compare_models(state: str | Path, run_id: str, challenger: ModelConfig) -> Comparison:
    """Score the run's current month with ``challenger`` and compare its list with the run's.

    Raises:
        StateError: no such run.
        ConfigError, InputError: the challenger cannot be loaded or scored, or scores no user of the month.
    """
    run = store.get_run(state, run_id)
    summary = store.read_summary(state, run_id)
    frame, source = challenger_predictions(state, run_id, challenger)
    ours, theirs = frame["prediction"].to_numpy(), frame["challenger"].to_numpy()
    ids = frame["user_id"].astype(str).to_numpy()
    tops = {share: (_top(ours, share), _top(theirs, share)) for share in SHARES}
    champion_top, challenger_top = tops[SHARES[0]]
    entering, leaving = (
        sorted(set(ids[challenger_top]) - set(ids[champion_top])),
        sorted(set(ids[champion_top]) - set(ids[challenger_top])),
    )
    actual = None
    if "actual" in frame:
        from mlwatch.actuals import actual_metrics

        bought = frame["actual"].to_numpy(float)
        actual = {"champion": _kept(actual_metrics(bought, ours)), "challenger": _kept(actual_metrics(bought, theirs))}
    return Comparison(
        run_id=run_id,
        month=run.current_month,
        champion=(ModelSource.from_json(summary.model.source) or ModelSource("builtin")).to_json(),
        challenger=source.to_json(),
        users=len(ids),
        overlap={f"top{round(s * 100)}": len(np.intersect1d(a, b)) / len(a) for s, (a, b) in tops.items()},
        rank_correlation=_spearman(ours, theirs),
        entering=len(entering),
        leaving=len(leaving),
        entering_ids=entering[:MOVERS],
        leaving_ids=leaving[:MOVERS],
        actual=actual,
        at=datetime.now(UTC).isoformat(timespec="seconds"),
    )


def challenger_predictions(state: str | Path, run_id: str, challenger: ModelConfig) -> tuple[pd.DataFrame, ModelSource]:
    """The run's current month with both models' predictions (``prediction``, ``challenger``), for the users both
    scored, and what the challenger is.

    Raises:
        ConfigError, InputError: the challenger cannot be loaded or scored, or scores no user of the month.
    """
    summary = store.read_summary(state, run_id)
    frame = store.read_features(state, run_id, "current")
    frame = frame[frame["prediction"].notna()].reset_index(drop=True)
    if challenger.kind == "scores":
        scores, source = read_scores(str(challenger.scores), "--challenger")
        theirs = frame["user_id"].astype("string").map(scores.set_index("user_id")["prediction"]).to_numpy(float)
    else:
        scorer = load_scorer(challenger, list(summary.features.names))
        theirs, source = scorer.predict_frame(frame), scorer.source
    both = ~np.isnan(theirs)
    if not both.any():
        raise InputError(f"--challenger {source.location}: it scores no user of {summary.current_month}")
    frame = frame[both].reset_index(drop=True)
    frame["challenger"] = theirs[both]
    return frame, source


def save_comparison(state: str | Path, comparison: Comparison) -> Path:
    """Keep a comparison beside the state (written whole or not at all); returns its file."""
    folder = store.state_dir(state) / COMPARISONS / comparison.run_id
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{comparison.at.replace(':', '').replace('-', '')}.json"
    handle, temp = tempfile.mkstemp(dir=folder, suffix=".tmp")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        json.dump(comparison.to_json(), out, indent=1)
    os.replace(temp, path)
    return path


def read_comparisons(state: str | Path, run_id: str) -> list[Comparison]:
    """The run's stored comparisons, newest first (none: an empty list)."""
    folder = store.state_dir(state) / COMPARISONS / run_id
    found = []
    for path in sorted(folder.glob("*.json"), reverse=True) if folder.is_dir() else []:
        try:
            found.append(Comparison.from_json(json.loads(path.read_text(encoding="utf-8"))))
        except (ValueError, TypeError) as exc:
            raise StateError(f"{path}: not a comparison mlwatch wrote ({exc}); remove the file") from exc
    return found


def _top(scores: np.ndarray, share: float) -> np.ndarray:
    return np.argsort(-scores, kind="stable")[: max(1, math.ceil(share * len(scores)))]


def _spearman(a: np.ndarray, b: np.ndarray) -> float | None:
    if len(a) < 3:
        return None
    ranks_a, ranks_b = pd.Series(a).rank().to_numpy(), pd.Series(b).rank().to_numpy()
    if ranks_a.std() == 0 or ranks_b.std() == 0:
        return None
    return float(np.corrcoef(ranks_a, ranks_b)[0, 1])


def _kept(metrics: dict[str, Any]) -> dict[str, float | None]:
    keys = ("precision_top10", "precision_top20", "lift_top10", "lift_top20", "r2")
    return {key: metrics.get(key) for key in keys}
