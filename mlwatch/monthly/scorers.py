"""The team's own model or scores: load a scikit-learn file (skops, or joblib when allowed) or an MLflow
model, read a scoring job's output, and say exactly what scored a run (kind, location, version, digest)."""

from __future__ import annotations

import glob
import hashlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from mlwatch.config import ModelConfig
from mlwatch.errors import ConfigError, InputError

# A skops file may create these libraries' classes without being trusted by name: they run no code of the
# file's author (arbitrary classes could). Anything else needs ``[model] trusted_types``.
TRUSTED_MODULES = ("sklearn.", "numpy.", "scipy.")


@dataclass(frozen=True)
class ModelSource:
    """What scored a run: ``kind``, where it came from, a version for people and an exact digest.

    ``digest``: the SHA-256 of the model or scores file(s), or the MLflow model's uuid.
    """

    kind: str
    location: str = ""
    version: str = ""
    digest: str = ""

    def to_json(self) -> dict[str, str]:
        """The run JSON's ``model.source`` object."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> ModelSource | None:
        """Read it back (None for runs of releases that did not record it)."""
        return cls(**data) if data else None

    @property
    def label(self) -> str:
        """One line for people: ``sklearn model.skops (sha256 1a2b3c4d5e6f)``."""
        if self.kind == "builtin":
            return "mlwatch's built-in model, trained on the reference month"
        return f"{self.kind} {self.location} ({self.version})"


@dataclass(frozen=True)
class Scorer:
    """A fitted model that predicts from named feature columns."""

    model: Any
    features: tuple[str, ...]  # the columns the model expects, by name
    source: ModelSource
    dtypes: dict[str, str] | None = None  # an MLflow signature's column types (counts are whole numbers)

    def predict_frame(self, frame: pd.DataFrame) -> np.ndarray:
        """Predict each row of ``frame`` (it must hold the model's feature columns).

        Raises:
            InputError: the model's output is not one non-negative number per user.
        """
        output = self.model.predict(frame[list(self.features)].astype(self.dtypes or "float64"))
        return checked_predictions(output, len(frame), self.source.label)


class FixedModel:
    """A scorer seen as a fitted regressor on arrays in the config's feature order (for the estimators)."""

    def __init__(self, scorer: Scorer, columns: Sequence[str]) -> None:
        self.scorer, self.columns = scorer, list(columns)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predict rows given in the config's feature order."""
        return self.scorer.predict_frame(pd.DataFrame(x, columns=self.columns))


def load_scorer(model: ModelConfig, built: Sequence[str]) -> Scorer:
    """Load the configured scikit-learn or MLflow model and check that mlwatch builds every feature it expects.

    Raises:
        ConfigError: the file or URI cannot be loaded, a joblib file without ``allow_pickle``, untrusted types
            in a skops file, or features the model expects that the config does not build.
    """
    if model.kind == "sklearn":
        loaded, source = _load_sklearn(model)
        names = getattr(loaded, "feature_names_in_", None)
        if names is None:
            raise ConfigError(
                f"model.path = {model.path}: the model has no feature names; fit it on a pandas DataFrame whose "
                "columns are mlwatch's feature names"
            )
        expected = tuple(str(n) for n in names)
    elif model.kind == "mlflow":
        loaded, source, expected, dtypes = _load_mlflow(str(model.uri))
    else:
        raise ConfigError(f"model.kind = {model.kind!r} has no model file to load")
    missing = [name for name in expected if name not in built]
    if missing:
        raise ConfigError(
            f"{source.location}: the model expects features mlwatch does not build: {', '.join(missing)} "
            f"(the model's: {', '.join(expected)}; the config's [features]: {', '.join(built)}); "
            "map them in [features] or use a model fitted on those"
        )
    return Scorer(loaded, expected, source, dtypes if model.kind == "mlflow" else None)


def read_scores(path: str, what: str) -> tuple[pd.DataFrame, ModelSource]:
    """Read a scoring job's output: CSV or Parquet file(s) of ``user_id, prediction`` (a file, folder or glob).

    Args:
        what: the config key it comes from, for messages (``model.scores``).

    Raises:
        InputError: no file, a missing column, a repeated user or a prediction that is not a non-negative number.
    """
    files = _score_files(path, what)
    con = duckdb.connect()
    try:
        frames = []
        for file in files:
            reader = "read_parquet" if file.suffix == ".parquet" else "read_csv"
            options = "" if reader == "read_parquet" else ", header = true, all_varchar = true"
            frames.append(con.execute(f"SELECT * FROM {reader}(?{options})", [str(file)]).df())
    except duckdb.Error as exc:
        raise InputError(f"{what} = {path}: cannot read the scores ({' '.join(str(exc).split())[:200]})") from exc
    finally:
        con.close()
    scores = pd.concat(frames, ignore_index=True)
    absent = [c for c in ("user_id", "prediction") if c not in scores.columns]
    if absent:
        raise InputError(f"{what} = {path}: no {' or '.join(absent)} column; the scores need user_id and prediction")
    scores = scores[["user_id", "prediction"]].astype({"user_id": "string"})
    scores["prediction"] = pd.to_numeric(scores["prediction"], errors="coerce")
    checked_predictions(scores["prediction"].to_numpy(), len(scores), f"{what} = {path}")
    repeated = scores["user_id"].duplicated()
    if repeated.any():
        raise InputError(f"{what} = {path}: user {scores['user_id'][repeated].iloc[0]} has more than one score")
    digest = _files_digest(files)
    return scores, ModelSource("scores", path, f"sha256 {digest[:12]}", digest)


def model_digest(model: dict[str, Any]) -> str:
    """What identifies the model a stored config names, now (for the inputs fingerprint a sign-off binds to):
    the SHA-256 of its file(s) or its MLflow uuid; empty for the built-in model.

    Raises:
        InputError: the model or scores file is gone.
    """
    kind = model.get("kind", "builtin")
    if kind == "sklearn":
        return _files_digest([_existing(str(model["path"]), "model.path")])
    if kind == "scores":
        parts = [_files_digest(_score_files(str(model[key]), f"model.{key}"))
                 for key in ("scores", "reference_scores") if model.get(key)]  # fmt: skip
        return ":".join(parts)
    if kind == "mlflow":
        return _mlflow_info(str(model["uri"]))[0]
    return ""


def checked_predictions(values: Any, rows: int, name: str) -> np.ndarray:
    """The model's output as floats, after checking it is one finite, non-negative number per user.

    Raises:
        InputError: naming the model and what is wrong.
    """
    try:
        output = np.asarray(values, dtype="float64")
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name}: the predictions are not numbers ({exc})") from exc
    if output.ndim == 2 and output.shape[1] == 1:
        output = output[:, 0]
    if output.shape != (rows,):
        raise InputError(f"{name}: expected one prediction per user ({rows:,}), got shape {output.shape}")
    bad = ~np.isfinite(output) | (output < 0)
    if bad.any():
        raise InputError(
            f"{name}: {int(bad.sum()):,} prediction(s) are not a non-negative number (e.g. {output[bad][0]!r}); "
            "mlwatch ranks users by predicted purchases"
        )
    return output


def _load_sklearn(model: ModelConfig) -> tuple[Any, ModelSource]:
    path = _existing(str(model.path), "model.path")
    digest = _files_digest([path])
    source = ModelSource("sklearn", str(model.path), f"sha256 {digest[:12]}", digest)
    if path.suffix == ".skops":
        import skops.io as sio

        try:
            untrusted = sio.get_untrusted_types(file=path)
            unknown = [t for t in untrusted if not t.startswith(TRUSTED_MODULES) and t not in model.trusted_types]
            if unknown:
                raise ConfigError(
                    f"model.path = {model.path}: the file would create classes that are not scikit-learn's, "
                    f"NumPy's or SciPy's: {', '.join(unknown)}; if you trust them, list them in "
                    "[model] trusted_types"
                )
            return sio.load(path, trusted=untrusted), source
        except ConfigError:
            raise
        except Exception as exc:
            raise ConfigError(f"model.path = {model.path}: cannot load the skops file ({exc})") from exc
    if not model.allow_pickle:
        raise ConfigError(
            f"model.path = {model.path}: a joblib or pickle file can run any code when loaded; save the model "
            "with skops (skops.io.dump(model, 'model.skops')), or set [model] allow_pickle = true if you trust it"
        )
    import joblib

    try:
        return joblib.load(path), source
    except Exception as exc:
        raise ConfigError(f"model.path = {model.path}: cannot load the file ({exc})") from exc


# MLflow signature types -> the pandas dtypes its schema enforcement accepts without a lossy cast.
_MLFLOW_DTYPES = {"long": "int64", "integer": "int32", "double": "float64", "float": "float32"}


def _load_mlflow(uri: str) -> tuple[Any, ModelSource, tuple[str, ...], dict[str, str]]:
    uuid, version = _mlflow_info(uri)
    import mlflow.pyfunc

    try:
        loaded = mlflow.pyfunc.load_model(uri)
    except Exception as exc:
        raise ConfigError(f"model.uri = {uri}: cannot load the MLflow model ({' '.join(str(exc).split())})") from exc
    schema = loaded.metadata.get_input_schema()
    if schema is None or not schema.has_input_names():
        raise ConfigError(
            f"model.uri = {uri}: the model has no input signature; log it with a signature or an input_example "
            "whose columns are mlwatch's feature names"
        )
    names = tuple(schema.input_names())
    types = {n: _MLFLOW_DTYPES.get(str(t.name if hasattr(t, "name") else t), "float64")
             for n, t in zip(names, schema.input_types())}  # fmt: skip
    return loaded, ModelSource("mlflow", uri, version, uuid), names, types


def _mlflow_info(uri: str) -> tuple[str, str]:
    """The MLflow model's uuid and a version for people (``version 3``, or the run id)."""
    import mlflow.models

    try:
        info = mlflow.models.get_model_info(uri)
    except Exception as exc:
        raise ConfigError(f"model.uri = {uri}: no such MLflow model ({' '.join(str(exc).split())[:200]})") from exc
    version = f"version {uri.rsplit('/', 1)[1]}" if uri.startswith("models:/") and uri.count("/") >= 2 else ""
    version = version or (f"run {info.run_id}" if info.run_id else f"model {info.model_uuid}")
    return str(info.model_uuid), version


def _score_files(path: str, what: str) -> list[Path]:
    target = Path(path)
    if target.is_dir():
        files = sorted(p for p in target.rglob("*") if p.is_file() and p.suffix in (".csv", ".parquet"))
    elif any(c in path for c in "*?["):
        files = sorted(p for p in map(Path, glob.glob(path)) if p.is_file())
    else:
        files = [_existing(path, what)]
    if not files:
        raise InputError(f"{what} = {path}: no CSV or Parquet file of scores there")
    return files


def _existing(path: str, what: str) -> Path:
    target = Path(path)
    if not target.is_file():
        raise InputError(f"{what} = {path}: no such file")
    return target


def _files_digest(files: Sequence[Path]) -> str:
    """The SHA-256 of a file (as ``sha256sum`` prints it), or of its files' digests in order for several."""
    digests = []
    for file in files:
        with file.open("rb") as handle:
            digests.append(hashlib.file_digest(handle, "sha256").hexdigest())
    return digests[0] if len(digests) == 1 else hashlib.sha256("\n".join(digests).encode()).hexdigest()
