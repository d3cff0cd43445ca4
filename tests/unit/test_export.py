"""The prospect list's pure parts: exact row counts, the seeded control group, and CSV cells a spreadsheet cannot run."""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest

from mlwatch.governance.export import neutralise, select_prospects, to_csv


def _ranked(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "user_id": [f"u{i}" for i in range(n)],
            "predicted_purchases": list(range(n, 0, -1)),
            "rank": list(range(1, n + 1)),
        }
    )


@pytest.mark.parametrize(
    ("top", "share", "expected"), [(100, None, 100), (5000, None, 1234), (None, 0.2, 247), (None, 1.0, 1234)]
)
def test_exact_row_counts_for_top_and_top_share(top, share, expected) -> None:
    assert len(select_prospects(_ranked(1234), top=top, top_share=share)) == expected


@pytest.mark.parametrize(("rows", "holdout"), [(1234, 0.1), (999, 0.15), (37, 0.3), (10, 0.05), (1000, 0.5)])
def test_control_share_is_within_one_row_and_spread_over_deciles(rows: int, holdout: float) -> None:
    chosen = select_prospects(_ranked(rows), holdout=holdout, seed=3, salt="run")
    control = chosen["group"] == "control"
    assert abs(control.sum() - holdout * rows) <= 1
    if rows >= 1000:
        per_decile = control.groupby(pd.qcut(chosen["rank"], 10, labels=False)).mean()
        assert per_decile.between(holdout - 0.02, holdout + 0.02).all()


def test_the_same_seed_gives_the_same_groups_and_another_seed_others() -> None:
    first = select_prospects(_ranked(500), holdout=0.2, seed=1, salt="run-a")
    assert first.equals(select_prospects(_ranked(500), holdout=0.2, seed=1, salt="run-a"))
    assert not first.equals(select_prospects(_ranked(500), holdout=0.2, seed=2, salt="run-a"))


def test_injection_prone_cells_are_neutralised() -> None:
    frame = pd.DataFrame(
        {
            "user_id": ['=HYPERLINK("x")', "+1", "-2", "@SUM(A1)", "\tx", "\rx", "ok", "a=b"],
            "predicted_purchases": [1.0] * 8,
        }
    )
    rows = list(csv.reader(io.StringIO(to_csv(frame).decode("utf-8"))))[1:]
    assert [r[0] for r in rows] == ['\'=HYPERLINK("x")', "'+1", "'-2", "'@SUM(A1)", "'\tx", "'\rx", "ok", "a=b"]
    assert neutralise(-1.5) == -1.5  # numbers stay numbers


@pytest.mark.parametrize(
    "cell",
    [
        "\n=1+1",
        "\r\n=cmd|' /C calc'!A0",
        " \n @SUM(A1)",
        "\u3000=1",
        "\x00=1",
        "＝1+1",
        "＋81",
        "－5",
        "＠SUM(A1)",
        "﹦1",
    ],
)
def test_formulas_after_line_breaks_or_in_full_width_are_neutralised(cell: str) -> None:
    # A Japanese spreadsheet treats ＝ like =; a line break before = still starts a formula in some readers.
    frame = pd.DataFrame({"user_id": [cell], "predicted_purchases": [1.0]})
    written = list(csv.reader(io.StringIO(to_csv(frame).decode("utf-8"))))[1][0]
    assert written == "'" + cell


@pytest.mark.parametrize("cell", ["u00012", "abc-1", "x＝y", "日本", " 42", "", "a@b.example"])
def test_ordinary_ids_are_written_as_they_are(cell: str) -> None:
    assert neutralise(cell) == cell
