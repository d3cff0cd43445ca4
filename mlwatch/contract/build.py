"""Export the contract: measure a month of the logs, number the version, write validated ODCS v3 YAML.

``export_contract`` is ``contract export``; ``offer_contract`` gives the Data page the current
contract of a stored run (measured on its reference month) without reading the logs again.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from mlwatch.config import Config
from mlwatch.contract.document import contract_document, document_yaml, validate_document
from mlwatch.contract.profile import MonthProfile, profile_events, profile_timeline
from mlwatch.contract.version import ContractVersion, current_contract, plan_version, record_contract
from mlwatch.errors import InputError, MlwatchError
from mlwatch.ingest import db
from mlwatch.ingest.logs import read_events
from mlwatch.months import parse_month
from mlwatch.state import store


@dataclass(frozen=True)
class ExportedContract:
    """A contract's YAML text, its version and the month its figures were measured on (if any)."""

    text: str
    version: ContractVersion
    profile: MonthProfile | None


def export_contract(
    config: Config,
    state: str | Path,
    actor: str,
    logs: str | Path | None = None,
    month: str | None = None,
    out: str | Path | None = None,
) -> ExportedContract:
    """Build the contract of ``config`` (figures measured on ``month`` of ``logs``), record its version, write it.

    The document is validated before its version is recorded or the file is written.

    Raises:
        InputError: ``logs`` without ``month`` (or the reverse), unusable logs, or no event in ``month``.
        MlwatchError: ``out`` cannot be written.
    """
    if (logs is None) != (month is None):
        raise InputError("--logs and --month go together: the month of the logs to measure the usual shares on")
    profile = measure_month(logs, month, config, state) if logs is not None and month is not None else None
    planned = plan_version(current_contract(state), config)
    render_contract(config, planned, profile)  # a contract that does not validate is never recorded
    version = record_contract(state, config, actor, cause="contract export")
    exported = ExportedContract(render_contract(config, version, profile), version, profile)
    if out is not None:
        _write(Path(out), exported.text)
    return exported


def offer_contract(state: str | Path, config: Config, hourly: pd.DataFrame | None, month: str) -> ExportedContract:
    """The current contract of ``config`` for download, its figures measured on ``month`` of a run's timeline.

    Nothing is recorded: when the config changed since the recorded version, the version returned is the
    next one, not yet ``recorded`` (the next run or export records it).
    """
    version = plan_version(current_contract(state), config)
    profile = profile_timeline(hourly, month) if hourly is not None else None
    if profile is not None and not profile.events:
        profile = None
    return ExportedContract(render_contract(config, version, profile), version, profile)


def render_contract(config: Config, version: ContractVersion, profile: MonthProfile | None) -> str:
    """The validated YAML text of the contract.

    Raises:
        ValueError: the document does not validate against ODCS v3 (a bug in mlwatch).
    """
    document = contract_document(
        version.terms, version, profile, config.checks.rejected_rows, config.columns.timestamp_format
    )
    validate_document(document)
    return document_yaml(document)


def measure_month(logs: str | Path, month: str, config: Config, state: str | Path) -> MonthProfile:
    """Read the logs through the same readers as a run and measure ``month``.

    Raises:
        InputError: unusable logs, or no valid event in ``month`` (the message names the months there are).
    """
    parse_month(month)
    engine = config.engine
    temp = Path(engine.temp_directory) if engine.temp_directory else store.state_dir(state) / "tmp"
    temp.mkdir(parents=True, exist_ok=True)
    con = db.connect(memory_limit=engine.memory_limit, temp_directory=str(temp), threads=engine.threads)
    try:
        with db.engine_errors(str(logs)):
            read_events(con, str(logs), config.columns)
            profile = profile_events(con, month)
            months = [
                m for (m,) in con.execute("SELECT DISTINCT strftime(ts, '%Y-%m') FROM events ORDER BY 1").fetchall()
            ]
    finally:
        con.close()
    if not profile.events:
        raise InputError(f"{logs}: no valid event in {month}; pick a month the logs cover ({', '.join(months)})")
    return profile


def _write(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise MlwatchError(
            f"{path}: cannot write the contract ({exc.strerror or exc}); pass a writable --out", path=str(path)
        ) from exc
