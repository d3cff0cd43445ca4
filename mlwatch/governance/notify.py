"""Notifications: when a scheduled run closes the gate, tell the team (Slack-compatible webhook and/or a file).

Delivery never breaks a run: each failure is retried a few times with a
growing pause, then logged and recorded in the audit trail.
"""

from __future__ import annotations

import http.client
import json
import logging
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlwatch.config import NotifyConfig
from mlwatch.state import store
from mlwatch.summary import GateStatus, RunSummary

_LOG = logging.getLogger(__name__)
BACKOFF_SECONDS = 0.5


@dataclass(frozen=True)
class Delivery:
    """The outcome of sending one message to one destination."""

    target: str
    delivered: bool
    attempts: int
    error: str | None


def closed_gate_message(summary: RunSummary) -> dict[str, Any]:
    """Build the Slack-compatible message of a run whose gate closed (``text`` plus structured fields)."""
    failed = summary.failed
    names = ", ".join(c.label for c in failed)
    first = failed[0].message if failed else ""
    text = (
        f":no_entry: mlwatch: the gate is CLOSED for {summary.current_month}"
        f" (checked against {summary.reference_month}): {len(failed)} check(s) failed ({names})."
        f" {first} Do not use this month's prospect list until it is fixed or signed off."
        f" Run {summary.run_id}."
    )
    return {
        "text": text,
        "run_id": summary.run_id,
        "month": summary.current_month,
        "reference_month": summary.reference_month,
        "gate": str(summary.gate),
        "failed_checks": [{"name": c.name, "feature": c.feature, "message": c.message} for c in failed],
    }


def notify_closed(settings: NotifyConfig, summary: RunSummary, state: str | Path | None = None) -> list[Delivery]:
    """Send the closed-gate message of a run to every configured destination; never raises.

    Does nothing when the gate is open or no destination is configured. Each
    outcome is logged and, with ``state``, appended to the audit trail.
    """
    if summary.gate != GateStatus.CLOSED:
        return []
    message = closed_gate_message(summary)
    deliveries = []
    if settings.webhook:
        deliveries.append(post_webhook(settings.webhook, message, settings.retries, settings.timeout_seconds))
    if settings.file:
        deliveries.append(append_file(settings.file, message))
    for delivery in deliveries:
        _record(state, summary.run_id, delivery)
    return deliveries


def post_webhook(url: str, message: dict[str, Any], retries: int = 3, timeout: float = 5.0) -> Delivery:
    """POST ``message`` as JSON, retrying ``retries`` times after a failure (0.5 s, 1 s, 2 s, ... pauses)."""
    body = json.dumps(message).encode("utf-8")
    error = None
    for attempt in range(1, retries + 2):
        request = urllib.request.Request(
            url, data=body, method="POST", headers={"Content-Type": "application/json", "User-Agent": "mlwatch"}
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # the URL comes from the config
                response.read()
            return Delivery(_redact(url), True, attempt, None)
        except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
            error = _describe(exc)
            _LOG.warning("webhook %s: attempt %d failed (%s)", _redact(url), attempt, error)
        if attempt <= retries:
            time.sleep(BACKOFF_SECONDS * 2 ** (attempt - 1))
    _LOG.error("webhook %s: not delivered after %d attempt(s) (%s)", _redact(url), retries + 1, error)
    return Delivery(_redact(url), False, retries + 1, error)


def append_file(path: str | Path, message: dict[str, Any]) -> Delivery:
    """Append ``message`` as one JSON line (with the time it was written) to ``path``."""
    line = json.dumps({"at": datetime.now(UTC).isoformat(timespec="seconds"), **message})
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")
        return Delivery(str(path), True, 1, None)
    except OSError as exc:
        _LOG.warning("notification file %s: %s", path, exc)
        return Delivery(str(path), False, 1, _describe(exc))


def _record(state: str | Path | None, run_id: str, delivery: Delivery) -> None:
    if state is None:
        return
    try:
        with store.transaction(state) as con:
            store.append_audit(
                con,
                "mlwatch",
                "notify",
                run_id,
                {
                    "target": delivery.target,
                    "delivered": delivery.delivered,
                    "attempts": delivery.attempts,
                    "error": delivery.error,
                },
            )
    except Exception as exc:  # noqa: BLE001 (recording a notification must never break the run)
        _LOG.warning("notification of run %s not recorded in the audit trail: %s", run_id, exc)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return str(exc.reason)
    return f"{type(exc).__name__}: {exc}"


def _redact(url: str) -> str:
    """Keep the host, hide the path: a Slack webhook's path is its secret."""
    parts = url.split("/")
    return "/".join(parts[:3]) + ("/…" if len(parts) > 3 else "")
