"""The prospect list: released only for an open or signed-off run, with a seeded control group.

The CSV is spreadsheet-safe (OWASP CSV injection), written atomically, and
every export is recorded: who, when, which run, how many rows, the holdout
share, the seed and the file's SHA-256.
"""

from __future__ import annotations

import csv
import hashlib
import math
import os
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlwatch.config import ModelConfig
from mlwatch.errors import ExportBlocked, InputError, MlwatchError
from mlwatch.governance.auth import User, require
from mlwatch.governance.signoff import gate_status, refuse_month_to_date
from mlwatch.ingest.files import input_fingerprint, inputs_unchanged
from mlwatch.state import store, verification
from mlwatch.summary import GateStatus

# A spreadsheet runs a cell as a formula when it starts with one of these, also after leading
# blanks or line breaks, and (Japanese spreadsheets) with their full-width forms, which NFKC folds in.
_FORMULA_STARTS = ("=", "+", "-", "@")
_CONTROL_STARTS = ("\t", "\r", "\n")
DECILES = 10


@dataclass(frozen=True)
class ExportResult:
    """What was exported and where."""

    path: Path
    rows: int
    campaign: int
    control: int
    checksum: str
    seed: int


def prospect_list(state: str | Path, run_id: str) -> pd.DataFrame:
    """Return the run's ranked prospects (``user_id``, ``predicted_purchases``, ``rank``), for preview.

    Users the scoring job did not score (``[model] kind = "scores"``) have no prediction and are not listed.
    """
    features = store.read_features(state, run_id, "current")
    features = features[features["prediction"].notna()]
    return rank_prospects(features["user_id"], features["prediction"].to_numpy())


def rank_prospects(user_ids: pd.Series, predicted: np.ndarray) -> pd.DataFrame:
    """Return the prospect list: ``user_id``, ``predicted_purchases``, ``rank`` (1 = best), best first."""
    frame = pd.DataFrame({"user_id": user_ids.to_numpy(), "predicted_purchases": predicted})
    frame = frame.sort_values(["predicted_purchases", "user_id"], ascending=[False, True], kind="stable")
    frame["rank"] = np.arange(1, len(frame) + 1)
    return frame.reset_index(drop=True)


def select_prospects(
    prospects: pd.DataFrame,
    top: int | None = None,
    top_share: float | None = None,
    holdout: float = 0.0,
    seed: int = 0,
    salt: str = "",
) -> pd.DataFrame:
    """Keep the best ``top`` users (or ``top_share`` of them) and mark a control group.

    The control group is a seeded random ``holdout`` share drawn within score
    deciles of the kept list (largest-remainder allocation, so the total is
    the requested share rounded to the nearest row): the same inputs and seed
    always give the same groups.

    Raises:
        InputError: both or invalid sizes, or a holdout outside 0..0.9.
    """
    if top is not None and top_share is not None:
        raise InputError("give --top or --top-share, not both")
    if top is not None and top < 1:
        raise InputError("--top must be at least 1")
    if top_share is not None and not 0 < top_share <= 1:
        raise InputError("--top-share must be in (0, 1], e.g. 0.2 for the best fifth")
    if not 0 <= holdout <= 0.9:
        raise InputError("--holdout must be between 0 and 0.9, e.g. 0.1 for a 10% control group")
    count = len(prospects)
    if top is not None:
        count = min(top, count)
    elif top_share is not None:
        count = max(1, round(top_share * len(prospects)))
    chosen = prospects.head(count).copy()
    chosen["group"] = "campaign"
    control = _control_rows(len(chosen), holdout, seed, salt)
    chosen.iloc[control, chosen.columns.get_loc("group")] = "control"
    return chosen.reset_index(drop=True)


def split_prospects(
    champion: pd.DataFrame,
    challenger: pd.DataFrame,
    split: float,
    top: int | None = None,
    top_share: float | None = None,
    holdout: float = 0.0,
    seed: int = 0,
    salt: str = "",
) -> pd.DataFrame:
    """Half the campaign (``split``) from each model: every user is drawn into one arm at random (seeded), each
    arm is ranked by its own model and selected and held out as ``select_prospects`` does, so next month's
    purchases measure each model's list against its own control group.

    Args:
        champion, challenger: each model's ranked list (``rank_prospects``) of the same users.
        split: the share of users drawn into the challenger's arm.

    Raises:
        InputError: a split outside (0, 1), or as ``select_prospects``.
    """
    if not 0 < split < 1:
        raise InputError("--split must be between 0 and 1, e.g. 0.5 for half the list from each model")
    users = np.sort(champion["user_id"].astype(str).to_numpy())
    draw = _rng(seed, f"split:{salt}").random(len(users)) < split
    in_challenger = set(users[draw])
    arms = []
    for name, ranked, share in (("champion", champion, 1 - split), ("challenger", challenger, split)):
        mine = ranked[ranked["user_id"].astype(str).isin(in_challenger) == (name == "challenger")]
        mine = rank_prospects(mine["user_id"], mine["predicted_purchases"].to_numpy())
        size = None if top is None else max(1, round(top * share))
        chosen = select_prospects(mine, size, top_share, holdout, seed, salt=f"{salt}:{name}")
        arms.append(chosen.assign(model=name))
    return pd.concat(arms, ignore_index=True)


def export_prospects(
    state: str | Path,
    run_id: str,
    user: User | None,
    out: str | Path,
    top: int | None = None,
    top_share: float | None = None,
    holdout: float = 0.0,
    seed: int = 0,
    bom: bool = False,
    via: str = "cli",
    challenger: ModelConfig | None = None,
    split: float = 0.5,
) -> ExportResult:
    """Write the prospect CSV of a run and record the export in the audit trail.

    ``out`` is a file, or a folder to write ``prospects-<month>-<run_id>.csv`` into. With ``challenger``,
    ``split`` of the users form its arm (``split_prospects``); the CSV gets a ``model`` column.

    Raises:
        PermissionDenied: the user may not export.
        ExportBlocked: the gate is closed and not signed off, or the signed-off inputs changed.
    """
    actor = require(user, "export", state)
    arms = None
    if challenger is not None:
        from mlwatch.monthly.compare import challenger_predictions

        _check_gate(state, run_id)  # before the challenger is loaded: a closed run's users are not scored
        both, source = challenger_predictions(state, run_id, challenger)
        arms = (both, source, split)
    frame, data = build_export(state, run_id, actor, top, top_share, holdout, seed, bom, arms=arms)
    run = store.get_run(state, run_id)
    path = Path(out)
    if path.is_dir():
        path = path / export_filename(run)
    _write_atomically(path, data)
    extra = {"split": split, "challenger": arms[1].to_json()} if arms else None
    return record_export(state, run_id, actor, frame, data, str(path), holdout, seed, via, extra)


def build_export(
    state: str | Path,
    run_id: str,
    user: User | None,
    top: int | None = None,
    top_share: float | None = None,
    holdout: float = 0.0,
    seed: int = 0,
    bom: bool = False,
    prospects: pd.DataFrame | None = None,
    arms: tuple[pd.DataFrame, Any, float] | None = None,
) -> tuple[pd.DataFrame, bytes]:
    """Return the selected list and its CSV bytes, after every gate and role check.

    The inputs of a signed-off run are checked against the sign-off here (each log file is
    stat'ed), so call it when the file is asked for, not on every redraw.

    Args:
        prospects: the run's ranked list (``prospect_list``), when the caller holds it already.

    Raises:
        PermissionDenied, ExportBlocked: as for ``export_prospects``.
    """
    frame = select_export(state, run_id, user, top, top_share, holdout, seed, prospects, arms)
    return frame, to_csv(frame, bom)


def select_export(
    state: str | Path,
    run_id: str,
    user: User | None,
    top: int | None = None,
    top_share: float | None = None,
    holdout: float = 0.0,
    seed: int = 0,
    prospects: pd.DataFrame | None = None,
    arms: tuple[pd.DataFrame, Any, float] | None = None,
) -> pd.DataFrame:
    """``build_export``'s list without its CSV, after the same checks: what the Export page shows before anyone
    asks for the file (writing a million rows' CSV takes seconds).

    Raises:
        PermissionDenied, ExportBlocked: as for ``export_prospects``.
    """
    require(user, "export", state)
    _check_gate(state, run_id)
    if arms is not None:  # champion and challenger, each on its own random part of the users
        both, _, split = arms
        ours = rank_prospects(both["user_id"], both["prediction"].to_numpy())
        theirs = rank_prospects(both["user_id"], both["challenger"].to_numpy())
        return split_prospects(ours, theirs, split, top, top_share, holdout, seed, salt=run_id)
    ranked = prospect_list(state, run_id) if prospects is None else prospects
    return select_prospects(ranked, top, top_share, holdout, seed, salt=run_id)


def record_export(
    state: str | Path,
    run_id: str,
    user: User,
    frame: pd.DataFrame,
    data: bytes,
    file: str,
    holdout: float,
    seed: int,
    via: str,
    extra: dict[str, Any] | None = None,
) -> ExportResult:
    """Store the export's groups and append it to the exports table and the audit trail (``extra``: a split
    export's share and challenger, recorded with it)."""
    checksum = hashlib.sha256(data).hexdigest()
    control = int((frame["group"] == "control").sum())
    folder = Path(state) / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    at = datetime.now(UTC)
    groups_file = folder / f"{run_id}-{at.strftime('%Y%m%dT%H%M%S%f')}-{checksum[:8]}.parquet"
    frame.to_parquet(groups_file, index=False)
    with store.transaction(state) as con:
        con.execute(
            """INSERT INTO exports (run_id, actor, at, rows, control_rows, holdout, seed, checksum, file, groups_file)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [
                run_id,
                user.name,
                at.isoformat(timespec="seconds"),
                len(frame),
                control,
                holdout,
                seed,
                checksum,
                file,
                str(groups_file),
            ],
        )
        store.append_audit(
            con,
            user.name,
            "export",
            run_id,
            {
                "rows": len(frame),
                "control_rows": control,
                "holdout": holdout,
                "seed": seed,
                "sha256": checksum,
                "file": file,
                "via": via,
                **(extra or {}),
            },
        )
    return ExportResult(Path(file), len(frame), len(frame) - control, control, checksum, seed)


def to_csv(frame: pd.DataFrame, bom: bool = False) -> bytes:
    """Render the list as CSV with every text cell neutralised against spreadsheet formulas."""
    safe = frame.copy()
    for column in safe.columns:
        if safe[column].dtype == object:
            safe[column] = safe[column].map(neutralise)
    # Every text cell quoted: a stray carriage return cannot split a row in a spreadsheet.
    text = safe.to_csv(index=False, float_format="%.6f", lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)
    return ("\ufeff" if bom else "").encode("utf-8") + text.encode("utf-8")


def neutralise(value: object) -> object:
    """Prefix a cell that a spreadsheet would run as a formula with a single quote (OWASP, widened).

    Dangerous: a cell starting with a tab, carriage return or line break, or whose first character
    after leading blanks and control characters is ``=``, ``+``, ``-`` or ``@`` in any width
    (``＝``, ``＋``, ``－``, ``＠``, ``﹦``: whatever Unicode NFKC folds to them).
    """
    if not isinstance(value, str) or not value:
        return value
    if value.startswith(_CONTROL_STARTS):
        return "'" + value
    first = next((c for c in value if not (c.isspace() or unicodedata.category(c) == "Cc")), "")
    if unicodedata.normalize("NFKC", first).startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def export_filename(run: store.RunRecord) -> str:
    """The file name of a run's list: it carries the month and the run id."""
    return f"prospects-{run.current_month}-{run.run_id}.csv"


def _check_gate(state: str | Path, run_id: str) -> None:
    verification.require_intact(state, run_id, ExportBlocked)  # the rows the gate reads are what was stored
    refuse_month_to_date(state, run_id, ExportBlocked)
    status = gate_status(state, run_id)
    if status == GateStatus.CLOSED:
        raise ExportBlocked(
            f"run {run_id}: the gate is closed and the run is not signed off; "
            "an approver must sign it off before the list can be exported"
        )
    if status == GateStatus.SIGNED_OFF:
        _check_inputs_unchanged(state, run_id)


def _check_inputs_unchanged(state: str | Path, run_id: str) -> None:
    run = store.get_run(state, run_id)
    try:
        # This module's input_fingerprint is passed so that the page test can count the log checks.
        unchanged = inputs_unchanged(run.inputs_fingerprint, run.logs, run.config, fingerprint=input_fingerprint)
    except MlwatchError as exc:
        raise ExportBlocked(f"run {run_id}: its logs cannot be checked against the sign-off ({exc})") from exc
    if not unchanged:
        raise ExportBlocked(
            f"run {run_id}: {_what_changed(state, run)} since this run was signed off; start a new run and have it "
            "signed off"
        )


def _what_changed(state: str | Path, run: store.RunRecord) -> str:
    """``the logs changed``, or which model or scores file changed when the run was scored by the team's model."""
    model = run.config.get("model", {})
    if model.get("kind", "builtin") == "builtin":
        return "the logs changed"
    from mlwatch.monthly.scorers import model_digest

    recorded = (store.read_summary(state, run.run_id).model.source or {}).get("digest")
    if model_digest(model) != recorded:
        where = model.get("path") or model.get("uri") or model.get("scores")
        return f"the model that scored it changed ({model['kind']} {where})"
    return "the logs changed"


def _control_rows(rows: int, holdout: float, seed: int, salt: str) -> np.ndarray:
    if rows == 0 or holdout == 0:
        return np.array([], dtype=int)
    wanted = round(holdout * rows)
    deciles = np.array_split(np.arange(rows), min(DECILES, rows))
    exact = [holdout * len(d) for d in deciles]
    counts = [math.floor(x) for x in exact]
    remainders = sorted(range(len(deciles)), key=lambda i: (counts[i] - exact[i], i))
    for i in remainders[: wanted - sum(counts)]:
        counts[i] += 1
    rng = _rng(seed, salt)
    picks = [rng.choice(decile, size=count, replace=False) for decile, count in zip(deciles, counts) if count]
    return np.sort(np.concatenate(picks)) if picks else np.array([], dtype=int)


def _rng(seed: int, salt: str) -> np.random.Generator:
    """A generator fixed by the seed and a salt (the run id): the same export always draws the same users."""
    return np.random.default_rng([seed, int.from_bytes(hashlib.sha256(salt.encode()).digest()[:8], "big")])


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.part")
    try:
        with open(temporary, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise InputError(f"{path}: cannot write the export ({exc.strerror}); choose a writable folder") from exc
