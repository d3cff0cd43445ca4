"""The gate: a pure function of the check results."""

from __future__ import annotations

from dataclasses import dataclass

from mlwatch.summary import CheckResult, GateStatus, Status


@dataclass(frozen=True)
class GateDecision:
    """Whether the month's list may be used, and the checks that decided it."""

    status: GateStatus
    failed: tuple[CheckResult, ...]
    warnings: tuple[CheckResult, ...]

    @property
    def is_open(self) -> bool:
        """True when no check failed."""
        return self.status == GateStatus.OPEN


def evaluate_gate(checks: list[CheckResult] | tuple[CheckResult, ...]) -> GateDecision:
    """Open the gate when no check failed; otherwise close it and list the failures."""
    failed = tuple(check for check in checks if check.status == Status.FAIL)
    warned = tuple(check for check in checks if check.status == Status.WARN)
    return GateDecision(GateStatus.CLOSED if failed else GateStatus.OPEN, failed, warned)
