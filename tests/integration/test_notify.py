"""Notifications of a closed gate (webhook on 127.0.0.1, file), and the estimated_mae check deciding the gate."""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from mlwatch.cli import main
from mlwatch.governance import notify
from mlwatch.state import store
from tests.conftest import generate_events, run_args, write_jsonl


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """March and April healthy, May with the login event renamed (2,000 users: a healthy month opens the gate)."""
    folder = tmp_path_factory.mktemp("logs")
    rows = generate_events(("2026-03", "2026-04", "2026-05"), users=2000, seed=1, renamed_login=("2026-05",))
    for month in ("2026-03", "2026-04", "2026-05"):
        write_jsonl(folder / f"{month}.jsonl", [r for r in rows if r["timestamp"].startswith(month)])
    return folder


class _Hook:
    """A local Slack-like webhook that records every POST."""

    def __init__(self) -> None:
        self.received: list[dict[str, object]] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hook.received.append(
                    {"path": self.path, "type": self.headers["Content-Type"], "body": json.loads(body)}
                )
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/services/T000/B000/secret"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)


@pytest.fixture
def hook() -> Iterator[_Hook]:
    server = _Hook()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()
    server.thread.join(timeout=5)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed when the block ends: nothing listens there


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mlwatch.toml"
    path.write_text(text)
    return path


def _run(capsys, logs: Path, state: Path, config: Path, current: str) -> tuple[int, dict, str]:
    code = main(
        [
            *run_args(logs, current, state),
            "--config",
            str(config),
            "--json",
        ]
    )
    captured = capsys.readouterr()
    return code, json.loads(captured.out), captured.err


def test_a_closed_gate_posts_the_slack_message_and_writes_the_file(logs, hook, tmp_path, capsys) -> None:
    alerts = tmp_path / "alerts" / "mlwatch.jsonl"
    config = _config(tmp_path, f'[notify]\nwebhook = "{hook.url}"\nfile = "{alerts}"\n')
    code, run, err = _run(capsys, logs, tmp_path / "state", config, "2026-05")
    assert code == 1 and run["gate"] == "closed" and err == ""
    assert len(hook.received) == 1
    message = hook.received[0]
    assert message["path"] == "/services/T000/B000/secret" and message["type"] == "application/json"
    body = message["body"]
    assert "CLOSED for 2026-05" in body["text"] and "zero_rate[login]" in body["text"] and run["run_id"] in body["text"]
    assert body["run_id"] == run["run_id"] and body["gate"] == "closed" and body["month"] == "2026-05"
    assert {"name": "zero_rate", "feature": "login"}.items() <= next(
        c for c in body["failed_checks"] if c["name"] == "zero_rate"
    ).items()
    written = [json.loads(line) for line in alerts.read_text().splitlines()]
    assert len(written) == 1 and written[0]["run_id"] == run["run_id"] and written[0]["text"] == body["text"]
    audit = store.read_audit(tmp_path / "state", action="notify", run_id=run["run_id"])
    assert sorted(a["detail"]["delivered"] for a in audit) == [True, True]
    assert all("secret" not in json.dumps(a["detail"]) for a in audit)  # the webhook's path is its secret


def test_an_open_gate_sends_nothing(logs, hook, tmp_path, capsys) -> None:
    alerts = tmp_path / "alerts.jsonl"
    config = _config(tmp_path, f'[notify]\nwebhook = "{hook.url}"\nfile = "{alerts}"\n')
    code, run, _ = _run(capsys, logs, tmp_path / "state", config, "2026-04")
    assert code == 0 and run["gate"] == "open"
    assert hook.received == [] and not alerts.exists()


def test_an_unreachable_webhook_or_unwritable_file_is_retried_logged_and_does_not_fail_the_run(
    logs, tmp_path, capsys, caplog, monkeypatch
) -> None:
    monkeypatch.setattr(notify, "BACKOFF_SECONDS", 0.05)  # the pauses only; the retries are real
    url = f"http://127.0.0.1:{_closed_port()}/hook"
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the notification folder should be")
    config = _config(
        tmp_path,
        f'[notify]\nwebhook = "{url}"\nretries = 2\ntimeout_seconds = 2\nfile = "{blocker / "alerts.jsonl"}"\n',
    )
    with caplog.at_level(logging.WARNING, logger="mlwatch.governance.notify"):
        code, run, err = _run(capsys, logs, tmp_path / "state", config, "2026-05")
    assert code == 1 and run["gate"] == "closed"  # the gate decides the exit code, not the delivery
    assert (
        "notification to http://127.0.0.1" in err and "failed after 3 attempt(s)" in err and "the run is stored" in err
    )
    attempts = [r for r in caplog.records if "attempt" in r.getMessage() and "failed" in r.getMessage()]
    assert len(attempts) == 3
    assert any(
        r.levelno == logging.ERROR and "not delivered after 3 attempt(s)" in r.getMessage() for r in caplog.records
    )
    assert store.get_run(tmp_path / "state", run["run_id"]).gate == "closed"
    audit = store.read_audit(tmp_path / "state", action="notify", run_id=run["run_id"])
    assert [(a["detail"]["delivered"], a["detail"]["attempts"]) for a in audit] == [(False, 3), (False, 1)]
    assert f"notification to {blocker / 'alerts.jsonl'} failed after 1 attempt(s)" in err


@pytest.mark.parametrize(("fails", "code", "status"), [("false", 0, "warn"), ("true", 1, "fail")])
def test_estimated_mae_past_its_ratio_warns_by_default_and_fails_when_configured(
    logs, tmp_path, capsys, fails: str, code: int, status: str
) -> None:
    # A ratio of 0.5 is passed by any honest estimate of a healthy month.
    config = _config(tmp_path, f"[checks]\nestimated_mae_ratio = 0.5\nestimated_mae_fails = {fails}\n")
    exit_code, run, _ = _run(capsys, logs, tmp_path / "state", config, "2026-04")
    estimated = next(c for c in run["checks"] if c["name"] == "estimated_mae")
    assert (exit_code, estimated["status"]) == (code, status)
    assert [c["name"] for c in run["checks"] if c["status"] == "fail"] == (
        ["estimated_mae"] if status == "fail" else []
    )
    assert estimated["value"] > 0.5 * estimated["reference"] and estimated["threshold"] == 0.5
    assert run["estimate"]["lower"] <= estimated["value"] <= run["estimate"]["upper"]
