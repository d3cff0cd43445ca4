"""Reading raw logs: every format, timestamp kind and field rule of the log contract."""

from __future__ import annotations

import gzip
from datetime import datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mlwatch.config import Columns
from mlwatch.errors import InputError
from mlwatch.ingest.db import connect
from mlwatch.ingest.files import find_log_files
from mlwatch.ingest.logs import read_events
from tests.conftest import write_csv, write_jsonl


def _read(source: Path | str, columns: Columns | None = None):
    con = connect()
    report = read_events(con, source, columns or Columns())
    events = con.execute("SELECT user_id, event, ts, event_id FROM events ORDER BY ts, user_id").df()
    return report, events


ROW = {"event_id": "e1", "user_id": "u1", "event": "item_view", "timestamp": "2026-03-05T10:00:00Z"}


@pytest.mark.parametrize("name", ["a.jsonl", "a.json", "a.ndjson", "a.jsonl.gz", "a.json.gz", "a.ndjson.gz"])
def test_json_lines_formats_are_read(tmp_path: Path, name: str) -> None:
    report, events = _read(write_jsonl(tmp_path / name, [ROW, {**ROW, "event_id": "e2", "user_id": "u2"}]))
    assert report.rows_read == 2 and report.rows_rejected == 0
    assert list(events.user_id) == ["u1", "u2"]


@pytest.mark.parametrize("name", ["a.csv", "a.csv.gz"])
def test_csv_formats_are_read_with_quoted_fields(tmp_path: Path, name: str) -> None:
    lines = ["e1,u1,item_view,2026-03-05T10:00:00Z", 'e2,"u,2","add_to_cart",2026-03-05T11:00:00Z']
    report, events = _read(write_csv(tmp_path / name, ["event_id", "user_id", "event", "timestamp"], lines))
    assert report.rows_read == 2 and report.rows_rejected == 0
    assert list(events.user_id) == ["u1", "u,2"]
    assert list(events.event) == ["item_view", "add_to_cart"]


def test_csv_columns_may_come_in_any_order_with_extra_columns(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", ["timestamp", "country", "event", "user_id"], ["2026-03-05,FR,purchase,42"])
    _, events = _read(path)
    assert events.iloc[0].user_id == "42" and events.iloc[0].event == "purchase"
    assert events.iloc[0].event_id is None


def test_parquet_with_native_timestamps_and_integer_ids(tmp_path: Path) -> None:
    table = pa.table(
        {
            "user_id": pa.array([7, 12345678901234], pa.int64()),
            "event": ["purchase", "item_view"],
            "timestamp": pa.array([datetime(2026, 3, 1, 9), datetime(2026, 3, 2, 23, 59)], pa.timestamp("us")),
        }
    )
    pq.write_table(table, tmp_path / "a.parquet")
    report, events = _read(tmp_path / "a.parquet")
    assert report.rows_read == 2
    assert list(events.user_id) == ["7", "12345678901234"]
    assert list(events.ts) == [pd.Timestamp("2026-03-01 09:00"), pd.Timestamp("2026-03-02 23:59")]


def test_only_surrounding_spaces_are_trimmed_and_a_blank_value_is_missing(tmp_path: Path) -> None:
    ids = [" u1 ", "u2", "\tu3", "u4\t", "\t", "", "   ", "\u00e9 ", "!u5", " \t "]
    table = pa.table(
        {
            "user_id": ids,
            "event": ["purchase"] * len(ids),
            "timestamp": pa.array([datetime(2026, 3, 1, 9, minute) for minute in range(len(ids))], pa.timestamp("us")),
        }
    )
    pq.write_table(table, tmp_path / "a.parquet")
    report, events = _read(tmp_path / "a.parquet")
    # tabs and other characters are part of the id; an empty or all-space id is a missing one
    assert list(events.user_id) == ["u1", "u2", "\tu3", "u4\t", "\t", "\u00e9", "!u5", "\t"]
    assert report.rejected_by_reason == {"missing_user_id": 2}


def test_parquet_timestamp_with_time_zone_is_converted_to_utc(tmp_path: Path) -> None:
    stamps = pd.to_datetime(["2026-03-01 01:30"]).tz_localize("Europe/Paris")
    pd.DataFrame({"user_id": ["a"], "event": ["x"], "timestamp": stamps}).to_parquet(tmp_path / "a.parquet")
    _, events = _read(tmp_path / "a.parquet")
    assert events.iloc[0].ts == pd.Timestamp("2026-03-01 00:30")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-03-05T10:00:00Z", "2026-03-05 10:00:00"),
        ("2026-03-05T10:00:00+02:00", "2026-03-05 08:00:00"),
        ("2026-03-05T10:00:00", "2026-03-05 10:00:00"),  # no offset means UTC
        ("2026-03-05 10:00:00.250", "2026-03-05 10:00:00.250"),
        ("2026-03-05", "2026-03-05 00:00:00"),
        (1772704800, "2026-03-05 10:00:00"),  # epoch seconds
        (1772704800250, "2026-03-05 10:00:00.250"),  # epoch milliseconds
        ("1772704800", "2026-03-05 10:00:00"),  # epoch seconds as a string
        (1772704800.5, "2026-03-05 10:00:00.500"),
    ],
)
def test_each_accepted_timestamp_form(tmp_path: Path, raw: object, expected: str) -> None:
    _, events = _read(write_jsonl(tmp_path / "a.jsonl", [{**ROW, "timestamp": raw}]))
    assert events.iloc[0].ts == pd.Timestamp(expected)


def test_timestamp_format_from_config_parses_custom_strings(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", ["user_id", "event", "timestamp"], ["1,x,2014-12-06 02"])
    _, events = _read(path, Columns(timestamp_format="%Y-%m-%d %H"))
    assert events.iloc[0].ts == pd.Timestamp("2014-12-06 02:00")


def test_json_numbers_as_user_ids_keep_their_decimal_digits(tmp_path: Path) -> None:
    rows = [{**ROW, "user_id": 12345678901234567}, {**ROW, "event_id": "e2", "user_id": 42}]
    _, events = _read(write_jsonl(tmp_path / "a.jsonl", rows))
    assert sorted(events.user_id) == ["12345678901234567", "42"]


def test_rejected_rows_are_counted_exactly_by_reason_and_file(tmp_path: Path) -> None:
    good = [{**ROW, "event_id": f"g{i}"} for i in range(5)]
    write_jsonl(
        tmp_path / "logs" / "a.jsonl",
        [
            *good,
            '{"user_id": "u1", "event": "x", "timestamp": "2026-03',  # truncated line
            "[1, 2]",  # valid JSON but not an object
            {"event": "x", "timestamp": "2026-03-05"},
            {"user_id": "  ", "event": "x", "timestamp": "2026-03-05"},
            {"user_id": "u1", "timestamp": "2026-03-05"},
            {"user_id": "u1", "event": "x"},
            {"user_id": "u1", "event": "x", "timestamp": "not-a-date"},
            {"user_id": "u1", "event": "x", "timestamp": "2026-02-30T10:00:00Z"},
            "",  # blank lines are not rows
        ],
    )
    write_csv(
        tmp_path / "logs" / "sub" / "b.csv",
        ["user_id", "event", "timestamp"],
        [
            "u1,x,2026-03-05",
            "u2,x",
            "u3,x,2026-03-05,extra",
            "u4,,2026-03-05",
        ],
    )
    report, events = _read(tmp_path / "logs")
    assert report.rows_read == 5 + 8 + 4
    assert report.rows_rejected == 11
    assert report.rejected_by_reason == {
        "invalid_json": 2,
        "invalid_csv": 2,
        "missing_user_id": 2,
        "missing_event": 2,
        "missing_timestamp": 1,
        "bad_timestamp": 2,
    }
    assert report.rejected_by_file == {
        str(tmp_path / "logs" / "a.jsonl"): 8,
        str(tmp_path / "logs" / "sub" / "b.csv"): 3,
    }
    assert len(events) == 6
    texts = {row.text for row in report.sample}
    assert "[1, 2]" in texts and "u2,x" in {t.strip() for t in texts}
    csv_lines = {row.line for row in report.sample if row.reason == "invalid_csv"}
    assert csv_lines == {3, 4}


def test_duplicate_event_ids_are_counted_and_only_the_first_is_used(tmp_path: Path) -> None:
    rows = [
        {**ROW, "event_id": "a", "timestamp": "2026-03-05T10:00:00Z", "event": "first"},
        {**ROW, "event_id": "a", "timestamp": "2026-03-05T10:00:01Z", "event": "second"},
        {**ROW, "event_id": "a", "timestamp": "2026-04-05T10:00:01Z", "event": "third"},
        {**ROW, "event_id": "b"},
        {**{k: v for k, v in ROW.items() if k != "event_id"}},
        {**{k: v for k, v in ROW.items() if k != "event_id"}},  # no id: never a duplicate
    ]
    report, events = _read(write_jsonl(tmp_path / "a.jsonl", rows))
    assert report.duplicates == 2
    assert report.duplicates_by_month == {"2026-03": 1, "2026-04": 1}
    assert len(events) == 4
    assert events[events.event_id == "a"].event.tolist() == ["first"]


def test_duplicates_across_files_and_formats(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "a.jsonl", [ROW])
    write_csv(
        tmp_path / "b.csv", ["event_id", "user_id", "event", "timestamp"], ["e1,u1,item_view,2026-03-05T10:00:00Z"]
    )
    report, events = _read(tmp_path)
    assert (report.rows_read, report.duplicates, len(events)) == (2, 1, 1)


def test_glob_selects_matching_files_only(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "x-1.jsonl", [ROW])
    write_jsonl(tmp_path / "y-1.jsonl", [{**ROW, "event_id": "e9"}])
    assert find_log_files(str(tmp_path / "x-*.jsonl")) == [tmp_path / "x-1.jsonl"]
    report, _ = _read(str(tmp_path / "*.jsonl"))
    assert report.rows_read == 2


def test_directory_ignores_other_files(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "a.jsonl", [ROW])
    (tmp_path / "README.md").write_text("not logs")
    assert find_log_files(tmp_path) == [tmp_path / "a.jsonl"]


def test_configured_column_names_are_used(tmp_path: Path) -> None:
    rows = [
        {"uid": "u1", "name": "login", "at": "2026-03-05", "id": "1"},
        {"uid": "u1", "name": "login", "at": "2026-03-05", "id": "1"},
    ]
    report, events = _read(write_jsonl(tmp_path / "a.jsonl", rows), Columns("uid", "name", "at", "id"))
    assert (len(events), report.duplicates) == (1, 1)


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda p: p / "nope", "no such file or directory"),
        (lambda p: (p / "logs.txt").write_text("x") and p / "logs.txt", "unknown log format"),
        (lambda p: (p / "d").mkdir() or p / "d", "no log files found"),
        (lambda p: (p / "e.jsonl").write_text("") or p / "e.jsonl", "every log file is empty"),
        (lambda p: write_csv(p / "c.csv", ["user_id", "event"], ["u1,x"]), "has no column 'timestamp'"),
        (
            lambda p: write_jsonl(p / "j.jsonl", [{"uid": "u1", "event": "x", "timestamp": "2026-03-01"}]),
            "no JSON row has the field 'user_id'",
        ),
        (lambda p: write_jsonl(p / "j.jsonl", ["{oops", "nope"]), "no valid event in 2 rows read (2 invalid json)"),
    ],
)
def test_bad_sources_raise_one_line_input_errors_naming_the_path(tmp_path: Path, setup, message: str) -> None:
    source = setup(tmp_path)
    with pytest.raises(InputError) as info:
        _read(source)
    text = str(info.value)
    assert message in text and "\n" not in text
    assert str(tmp_path) in text


def test_parquet_without_required_column_names_the_file(tmp_path: Path) -> None:
    pd.DataFrame({"user_id": ["a"], "timestamp": ["2026-03-01"]}).to_parquet(tmp_path / "p.parquet")
    with pytest.raises(InputError, match=r"p\.parquet: Parquet file has no column 'event'"):
        _read(tmp_path / "p.parquet")


def test_corrupted_gzip_names_the_file(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "good.jsonl.gz", [ROW])
    data = gzip.compress(b'{"user_id": "u", "event": "x", "timestamp": "2026-03-01"}\n' * 1000)
    (tmp_path / "bad.jsonl.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=r"bad\.jsonl\.gz: cannot read the logs"):
        _read(tmp_path)


@pytest.mark.parametrize(
    ("column", "expected"),
    [
        (pa.array(pd.to_datetime(["2026-03-05 00:00"]).tz_localize("America/New_York")), "2026-03-05 05:00"),
        (pa.array([datetime(2026, 3, 5).date()], pa.date32()), "2026-03-05 00:00"),
        (pa.array([1772704800], pa.int64()), "2026-03-05 10:00"),  # epoch seconds
        (pa.array([1772704800250], pa.int64()), "2026-03-05 10:00:00.250"),  # epoch milliseconds
        (pa.array(["2026-03-05T10:00:00+01:00"]), "2026-03-05 09:00"),
    ],
    ids=["timestamptz", "date", "epoch-s", "epoch-ms", "iso-text"],
)
def test_parquet_timestamp_column_of_each_type(tmp_path: Path, column: pa.Array, expected: str) -> None:
    pq.write_table(pa.table({"user_id": ["u1"], "event": ["x"], "timestamp": column}), tmp_path / "a.parquet")
    report, events = _read(tmp_path / "a.parquet")
    assert report.rows_rejected == 0
    assert events.iloc[0].ts == pd.Timestamp(expected)


def test_parquet_files_with_different_timestamp_types_are_read_together(tmp_path: Path) -> None:
    pq.write_table(
        pa.table(
            {
                "user_id": ["u1"],
                "event": ["x"],
                "event_id": ["a"],
                "timestamp": pa.array([datetime(2026, 3, 5, 10)], pa.timestamp("us")),
            }
        ),
        tmp_path / "a.parquet",
    )
    pq.write_table(
        pa.table({"user_id": ["u2", "u3"], "event": ["x", "x"], "timestamp": ["2026-03-06T10:00:00Z", "not a date"]}),
        tmp_path / "b.parquet",
    )
    report, events = _read(tmp_path)
    assert (report.rows_read, report.rows_rejected, report.rejected_by_reason) == (3, 1, {"bad_timestamp": 1})
    assert list(events.user_id) == ["u1", "u2"]


def test_a_line_of_spaces_is_invalid_json_while_an_empty_line_is_no_row(tmp_path: Path) -> None:
    report, events = _read(write_jsonl(tmp_path / "a.jsonl", [ROW, "", "   ", {**ROW, "event_id": "e2"}]))
    assert (report.rows_read, report.rows_rejected, report.rejected_by_reason) == (3, 1, {"invalid_json": 1})
    assert len(events) == 2


def test_many_distinct_ids_with_a_few_duplicates_are_found_exactly(tmp_path: Path) -> None:
    rows = [{**ROW, "event_id": f"id{i}", "user_id": f"u{i % 50}"} for i in range(20_000)]
    rows += [{**ROW, "event_id": f"id{i}", "event": "again"} for i in (3, 3, 777, 19_999)]
    report, events = _read(write_jsonl(tmp_path / "a.jsonl", rows))
    assert report.duplicates == 4
    assert len(events) == 20_000 and "again" not in set(events.event)


def test_events_beyond_the_memory_limit_spill_to_disk_with_the_same_result(tmp_path: Path) -> None:
    rows = [
        {
            "event_id": f"e{i:07d}",
            "user_id": f"user-{i % 5000:05d}",
            "event": "item_view",
            "timestamp": f"2026-03-{1 + i % 28:02d}T10:00:00Z",
        }
        for i in range(400_000)
    ]
    source = write_jsonl(tmp_path / "a.jsonl", rows)  # 44 MB of JSON
    con = connect(memory_limit="64MB", temp_directory=str(tmp_path / "spill"), threads=1)
    report = read_events(con, source, Columns())
    assert con.execute("SELECT count(*) FROM duckdb_temporary_files()").fetchall()[0][0] > 0  # it did spill
    per_user = con.execute("SELECT count(DISTINCT user_id), count(*) FROM events").fetchall()[0]
    assert (report.rows_read, report.rows_rejected, report.duplicates, per_user) == (400_000, 0, 0, (5000, 400_000))


def test_parquet_files_typed_differently_are_read_together(tmp_path: Path) -> None:
    pq.write_table(
        pa.table(
            {"user_id": pa.array([7], pa.int64()), "event": ["x"], "timestamp": pa.array([1772704800], pa.int64())}
        ),
        tmp_path / "a.parquet",
    )
    pq.write_table(
        pa.table({"user_id": ["u2"], "event": ["x"], "timestamp": ["2026-03-06T10:00:00Z"]}), tmp_path / "b.parquet"
    )
    report, events = _read(tmp_path)
    assert (report.rows_read, report.rows_rejected) == (2, 0)
    assert list(events.user_id) == ["7", "u2"]
    assert list(events.ts) == [pd.Timestamp("2026-03-05 10:00"), pd.Timestamp("2026-03-06 10:00")]


@pytest.mark.parametrize("raw", ["epoch", "infinity", "-infinity", "now"])
def test_words_duckdb_reads_as_dates_are_bad_timestamps(tmp_path: Path, raw: str) -> None:
    report, _ = _read(write_jsonl(tmp_path / "a.jsonl", [ROW, {**ROW, "event_id": "e2", "timestamp": raw}]))
    assert report.rejected_by_reason == {"bad_timestamp": 1}


def test_a_configured_format_wins_over_reading_digits_as_epoch_seconds(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", ["user_id", "event", "timestamp"], ["1,x,20260305", "2,x,1772704800"])
    _, events = _read(path, Columns(timestamp_format="%Y%m%d"))
    assert list(events.ts) == [pd.Timestamp("2026-03-05 00:00"), pd.Timestamp("2026-03-05 10:00")]


def test_duplicates_with_the_same_time_keep_the_first_line(tmp_path: Path) -> None:
    rows = [{**ROW, "event_id": "a", "event": name} for name in ("first", "second", "third")]
    rows += [{**ROW, "event_id": f"b{i}"} for i in range(50)]
    report, events = _read(write_jsonl(tmp_path / "a.jsonl", rows))
    assert report.duplicates == 2
    assert events[events.event_id == "a"].event.tolist() == ["first"]
