"""Sign-off and export end to end: a closed run cannot leave the building unless an approver accepts it."""

from __future__ import annotations

import hashlib
import io
import shutil
from pathlib import Path

import pandas as pd
import pytest

from mlwatch.cli import main
from mlwatch.config import AuthConfig, Config
from mlwatch.errors import ExportBlocked, PermissionDenied, SignoffError
from mlwatch.governance.auth import User
from mlwatch.governance.export import build_export, export_prospects
from mlwatch.governance.mapping import map_events
from mlwatch.governance.signoff import active_signoff, failed_labels, gate_status, revoke, sign_off
from mlwatch.pipeline import run_monthly
from mlwatch.state import store
from tests.conftest import ROOT

ANN, BOB, MIA = User("ann", "approver"), User("bob", "approver"), User("mia", "marketer")
REASON = "The login event was renamed upstream; the campaign does not use logins."
RULES = AuthConfig()


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    from tests.conftest import generate_events, write_jsonl

    folder = tmp_path_factory.mktemp("logs")
    rows = generate_events(("2026-03", "2026-04", "2026-05"), users=2000, seed=11, renamed_login=["2026-05"])
    write_jsonl(folder / "events.jsonl", rows)
    state = tmp_path_factory.mktemp("state")
    closed = run_monthly(folder, "2026-03", "2026-05", Config(), state, started_by="carl")
    opened = run_monthly(folder, "2026-03", "2026-04", Config(), state, started_by="carl")
    assert closed.gate.status == "closed" and opened.gate.status == "open"
    return {"state": state, "closed": closed.run_id, "open": opened.run_id, "logs": folder}


@pytest.fixture
def state(runs: dict[str, object], tmp_path: Path) -> Path:
    copy = tmp_path / "state"
    shutil.copytree(runs["state"], copy)  # type: ignore[arg-type]
    return copy


def test_a_marketer_cannot_export_a_closed_run_by_any_path(state: Path, runs, tmp_path: Path, capsys) -> None:
    run_id = runs["closed"]
    with pytest.raises(ExportBlocked):
        export_prospects(state, run_id, MIA, tmp_path)
    with pytest.raises(ExportBlocked):
        build_export(state, run_id, ANN)  # not even an approver, before signing off
    assert main(["export", "--run", run_id, "--out", str(tmp_path), "--state", str(state)]) == 1
    assert "export refused" in capsys.readouterr().err
    assert list(tmp_path.glob("*.csv")) == []
    assert store.read_audit(state, action="export") == []


def test_sign_off_opens_revoke_closes_and_a_rerun_needs_a_new_sign_off(state: Path, runs, tmp_path: Path) -> None:
    run_id = runs["closed"]
    with pytest.raises(PermissionDenied):
        sign_off(state, run_id, MIA, REASON, RULES, accepted=failed_labels(state, run_id))
    sign_off(state, run_id, ANN, REASON, RULES, accepted=failed_labels(state, run_id))
    assert gate_status(state, run_id) == "signed_off"
    result = export_prospects(state, run_id, MIA, tmp_path)
    assert result.rows == store.get_run(state, run_id).users
    revoke(state, run_id, BOB, "New information: the campaign does use logins.")
    assert gate_status(state, run_id) == "closed"
    with pytest.raises(ExportBlocked):
        export_prospects(state, run_id, MIA, tmp_path)
    rerun = run_monthly(runs["logs"], "2026-03", "2026-05", Config(), state, started_by="carl")
    assert gate_status(state, rerun.run_id) == "closed" and active_signoff(state, rerun.run_id) is None
    actions = [row["action"] for row in store.read_audit(state) if row["run_id"] in (run_id, rerun.run_id)]
    assert actions == ["run", "signoff", "export", "revoke", "run"]


def test_the_reason_must_be_a_sentence(state: Path, runs) -> None:
    with pytest.raises(SignoffError, match="at least a sentence"):
        sign_off(state, runs["closed"], ANN, "ok", RULES, accepted=failed_labels(state, runs["closed"]))


def test_four_eyes_the_starter_or_the_mapping_author_cannot_sign_off(state: Path, runs, tmp_path: Path) -> None:
    with pytest.raises(SignoffError, match="four eyes"):
        sign_off(
            state,
            runs["closed"],
            User("carl", "approver"),
            REASON,
            RULES,
            accepted=failed_labels(state, runs["closed"]),
        )
    sign_off(
        state,
        runs["closed"],
        User("carl", "approver"),
        REASON,
        AuthConfig(allow_self_signoff=True),
        accepted=failed_labels(state, runs["closed"]),
    )
    config_path = tmp_path / "mlwatch.toml"
    shutil.copy(ROOT / "mlwatch.toml", config_path)
    config = map_events(state, config_path, {"user_login_from_mobile": "login"}, ANN)  # login still half missing
    mapped = run_monthly(runs["logs"], "2026-03", "2026-05", config, state, started_by="carl")
    assert mapped.gate.status == "closed"
    reason = "Half of the login events are mapped; the rest follows next month."
    with pytest.raises(SignoffError, match="four eyes: ann"):
        sign_off(state, mapped.run_id, ANN, reason, RULES, accepted=failed_labels(state, mapped.run_id))
    with pytest.raises(PermissionDenied):
        map_events(state, config_path, {"x": "login"}, MIA)


def test_a_run_signed_off_cannot_be_exported_once_its_logs_changed(state: Path, runs, tmp_path: Path) -> None:
    sign_off(state, runs["closed"], ANN, REASON, RULES, accepted=failed_labels(state, runs["closed"]))
    logs = Path(store.get_run(state, runs["closed"]).logs)
    extra = logs / "late.jsonl"
    extra.write_text('{"user_id": "u1", "event": "purchase", "timestamp": "2026-05-03T10:00:00Z"}\n')
    try:
        with pytest.raises(ExportBlocked, match="logs changed since this run was signed off"):
            export_prospects(state, runs["closed"], MIA, tmp_path)
    finally:
        extra.unlink()
    assert export_prospects(state, runs["closed"], MIA, tmp_path).rows > 0


def test_export_file_name_checksum_and_audit_record(state: Path, runs, tmp_path: Path, capsys) -> None:
    run_id = runs["open"]
    assert (
        main(
            [
                "export",
                "--run",
                run_id,
                "--out",
                str(tmp_path),
                "--top",
                "100",
                "--holdout",
                "0.1",
                "--seed",
                "7",
                "--bom",
                "--state",
                str(state),
            ]
        )
        == 0
    )
    path = tmp_path / f"prospects-2026-04-{run_id}.csv"
    data = path.read_bytes()
    assert data.startswith("\ufeff".encode())
    frame = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", dtype={"user_id": str})
    assert len(frame) == 100 and (frame["group"] == "control").sum() == 10
    record = store.read_audit(state, action="export")[-1]
    assert record["detail"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert record["detail"]["seed"] == 7 and record["detail"]["holdout"] == 0.1 and record["detail"]["rows"] == 100
    assert not list(tmp_path.glob(".*.part"))  # written atomically


def test_shipped_config_rules_apply_to_signoff(state: Path, runs, capsys) -> None:
    # The shipped mlwatch.toml asks for four eyes and a reason of at least 30 characters; `signoff --config` applies both.
    signoff = ["signoff", "--run", runs["closed"], "--state", str(state), "--config", str(ROOT / "mlwatch.toml")]
    signoff.append("--accept-all-failed")
    assert main([*signoff, "--by", "ann", "--reason", "We accept all the checks."]) == 2  # five words, 25 characters
    assert "(30 characters" in capsys.readouterr().err
    assert main([*signoff, "--by", "carl", "--reason", REASON]) == 2  # carl started the run
    assert "four eyes" in capsys.readouterr().err
    assert gate_status(state, runs["closed"]) == "closed"
    assert main([*signoff, "--by", "ann", "--reason", REASON]) == 0
    assert gate_status(state, runs["closed"]) == "signed_off"


def test_a_superseded_run_needs_an_explicit_confirmation_to_be_signed_off(state: Path, runs, capsys) -> None:
    old = runs["closed"]
    newer = run_monthly(runs["logs"], "2026-03", "2026-05", Config(), state, started_by="carl")  # e.g. after a fix
    signoff = ["signoff", "--run", old, "--by", "ann", "--reason", REASON, "--accept-all-failed", "--state", str(state)]
    assert main(signoff) == 2
    err = capsys.readouterr().err
    assert f"run {old} is superseded: a newer run of 2026-05 exists ({newer.run_id}, gate closed" in err
    assert "--confirm-superseded" in err and gate_status(state, old) == "closed"
    assert main([*signoff, "--confirm-superseded"]) == 0
    assert gate_status(state, old) == "signed_off"
    # The newest run of a month is not superseded, and a month-to-date run supersedes nothing.
    run_monthly(runs["logs"], "2026-03", "2026-05", Config(), state, as_of="2026-05-20")
    sign_off(state, newer.run_id, BOB, REASON, RULES, accepted=failed_labels(state, newer.run_id))
    assert gate_status(state, newer.run_id) == "signed_off"
