"""The gate is a pure function of the check results."""

from __future__ import annotations

from mlwatch.checks.gate import evaluate_gate
from mlwatch.checks.rules import CheckResult


def _check(name: str, status: str) -> CheckResult:
    return CheckResult(name, None, status, 0.0, 0.0, 0.1, f"{name} {status}")


def test_gate_is_open_when_nothing_fails_even_with_warnings() -> None:
    decision = evaluate_gate([_check("volume", "pass"), _check("vocabulary", "warn")])
    assert decision.status == "open" and decision.is_open
    assert [c.name for c in decision.warnings] == ["vocabulary"]


def test_gate_closes_on_any_failure_and_lists_every_failure() -> None:
    checks = [_check("volume", "fail"), _check("vocabulary", "pass"), _check("drift", "fail")]
    decision = evaluate_gate(checks)
    assert decision.status == "closed" and not decision.is_open
    assert [c.name for c in decision.failed] == ["volume", "drift"]


def test_gate_of_no_checks_is_open() -> None:
    assert evaluate_gate([]).is_open
