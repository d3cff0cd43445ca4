"""The typed run summary: one place turns it into the stored JSON and back, for this and the previous release."""

from __future__ import annotations

import json

import pytest

from mlwatch.summary import CheckResult, GateStatus, RankingEstimate, RunSummary, Status, check_label
from tests.conftest import ROOT

OLD_SUMMARIES = sorted((ROOT / "tests" / "fixtures" / "state_v3" / "runs").glob("*/summary.json"))


@pytest.mark.parametrize("path", OLD_SUMMARIES, ids=lambda p: p.parent.name[:7])
def test_a_summary_of_the_previous_release_reads_and_writes_back_unchanged(path) -> None:
    stored = json.loads(path.read_text())
    summary = RunSummary.from_json(stored)
    # Written back unchanged, plus the keys added since: no change point or renamed field known, a complete
    # month, and no ranking estimate (that release had no estimated_ranking check).
    ingest = {**stored["ingest"], "field_changes": []}
    assert summary.to_json() == {**stored, "ingest": ingest, "changes": [], "as_of": None, "ranking_estimate": None}
    assert list(summary.to_json())[:10] == [*list(stored)[:8], "changes", "as_of"]
    assert isinstance(summary.gate, GateStatus) and all(isinstance(c.status, Status) for c in summary.checks)
    assert summary.features.current["login"].users == stored["features"]["stats"]["current"]["login"]["users"]


def test_fields_say_what_the_keys_said() -> None:
    stored = json.loads(OLD_SUMMARIES[1].read_text())  # the closed May run
    summary = RunSummary.from_json(stored)
    assert summary.current_month == "2026-05" and summary.gate == GateStatus.CLOSED
    assert [c.label for c in summary.failed] == ["vocabulary", "zero_rate[login]", "drift[login]"]
    assert summary.vocabulary.missing == ("user_login",)
    assert summary.volume.current.events == stored["volume"]["current"]["events"]
    assert summary.estimate is not None and summary.estimate.rows == stored["estimate"]["rows"]


def test_a_summary_without_the_parts_added_later_still_reads() -> None:
    stored = json.loads(OLD_SUMMARIES[0].read_text())
    for key in ("histograms", "estimate", "seconds", "inputs_fingerprint"):
        stored.pop(key)
    stored["drift"].pop("sample")
    summary = RunSummary.from_json(stored)
    assert summary.estimate is None and summary.histograms == {} and summary.drift.reference_sample is None


def test_a_ranking_estimate_reads_back_with_its_calibrations() -> None:
    stored = json.loads(OLD_SUMMARIES[1].read_text())
    ranking = RankingEstimate(0.1, 3.3, 3.9, 0.19, 0.77, 0.76, 0.79, 1593, 1594)
    written = RunSummary.from_json({**stored, "ranking_estimate": ranking.to_json()})
    assert written.ranking == ranking
    assert written.to_json()["ranking_estimate"]["calibration"] == pytest.approx(0.19 / 0.77)
    assert ranking.relative_calibration == pytest.approx((0.19 / 0.77) / (0.76 / 0.79))


def test_check_labels_are_written_one_way() -> None:
    assert check_label("zero_rate", "login") == "zero_rate[login]"
    assert CheckResult("vocabulary", None, Status.FAIL, 1.0, 1.0, 0.0, "").label == "vocabulary"
