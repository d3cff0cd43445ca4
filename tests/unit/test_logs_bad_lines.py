"""One bad line (not UTF-8, or longer than the maximum) is a rejected row, never a refused run."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from mlwatch.config import Columns
from mlwatch.errors import InputError
from mlwatch.ingest.db import connect
from mlwatch.ingest.logs import read_events
from mlwatch.ingest.staging import MAX_LINE_BYTES

HEADER = b"event_id,user_id,event,timestamp\n"
FORMATS = ["a.jsonl", "a.jsonl.gz", "a.csv", "a.csv.gz"]


def _line(name: str, month: str, i: int, user: bytes | None = None) -> bytes:
    user = user if user is not None else f"u{i}".encode()
    stamp = f"2026-{month}-05T10:00:00Z".encode()
    if ".csv" in name:
        return b"%s-%d,%s,item_view,%s\n" % (month.encode(), i, user, stamp)
    return b'{"event_id": "%s-%d", "user_id": "%s", "event": "item_view", "timestamp": "%s"}\n' % (
        month.encode(),
        i,
        user,
        stamp,
    )


def _write(path: Path, lines: list[bytes]) -> Path:
    data = (HEADER if ".csv" in path.name else b"") + b"".join(lines)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data, compresslevel=1) if path.suffix == ".gz" else data)
    return path


def _read(source: Path):
    con = connect()
    report = read_events(con, source, Columns())
    users = sorted(row[0] for row in con.execute("SELECT user_id FROM events").fetchall())
    return report, users


@pytest.mark.parametrize("name", FORMATS)
def test_a_line_not_utf8_in_a_later_months_file_is_rejected_there_and_the_rest_is_read(
    tmp_path: Path, name: str
) -> None:
    _write(tmp_path / "2026-03" / name, [_line(name, "03", i) for i in range(10)])
    bad = _line(name, "05", 99, user=b"caf\xe9\xff")  # Latin-1 bytes
    lines = [_line(name, "05", i) for i in range(5)] + [bad] + [_line(name, "05", i) for i in range(5, 10)]
    later = _write(tmp_path / "2026-05" / name, lines)

    report, users = _read(tmp_path)

    assert report.rejected_by_reason == {"invalid_encoding": 1}
    assert report.rejected_by_file == {str(later): 1}
    assert report.rows_read == 21 and len(users) == 20  # every good line on both sides of the bad one
    (sample,) = report.sample
    assert (sample.file, sample.reason) == (str(later), "invalid_encoding")
    assert sample.line == (7 if ".csv" in name else 6)  # the header is line 1 of a CSV file
    assert "caf" in sample.text and "\ufffd" not in sample.text and sample.text.isprintable()


@pytest.mark.parametrize("name", FORMATS)
def test_a_50_mb_line_is_rejected_as_too_long_and_its_sample_is_cut(tmp_path: Path, name: str) -> None:
    huge = _line(name, "05", 99, user=b"x" * 50_000_000)
    path = _write(tmp_path / name, [_line(name, "05", i) for i in range(5)] + [huge] + [_line(name, "05", 5)])

    report, users = _read(path)

    assert report.rejected_by_reason == {"line_too_long": 1}
    assert report.rejected_by_file == {str(path): 1}
    assert report.rows_read == 7 and users == [f"u{i}" for i in range(6)]
    (sample,) = report.sample
    assert sample.reason == "line_too_long" and len(sample.text) <= 500 and sample.text.count("x") > 400


@pytest.mark.parametrize("end", [b"\n", b"\r\n"])
@pytest.mark.parametrize("extra", [0, 1])
@pytest.mark.parametrize("name", ["a.jsonl", "a.csv"])
def test_the_maximum_line_size_is_exact_on_any_line(tmp_path: Path, name: str, extra: int, end: bytes) -> None:
    # DuckDB counts the line break except on a file's first line; the rule does not.
    head = b'{"user_id": "big", "event": "x", "timestamp": "2026-05-01", "pad": "' if name == "a.jsonl" else b"b,big,"
    tail = b'"}' if name == "a.jsonl" else b",2026-05-01"
    line = head + b"y" * (MAX_LINE_BYTES + extra - len(head) - len(tail)) + tail
    assert len(line) == MAX_LINE_BYTES + extra
    lines = [_line(name, "05", 1).rstrip(b"\n") + end, line + end, _line(name, "05", 2).rstrip(b"\n") + end]
    path = _write(tmp_path / name, lines)
    if name == "a.csv":
        path.write_bytes(path.read_bytes().replace(b"\n", end, 1))  # the header's line break too

    report, users = _read(path)

    assert report.rows_read == 3
    assert report.rejected_by_reason == ({"line_too_long": 1} if extra else {})
    assert users == (["u1", "u2"] if extra else ["big", "u1", "u2"])


def test_a_bad_byte_in_a_csv_column_the_run_does_not_use_still_rejects_the_line(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(b"user_id,event,timestamp,country\nu1,x,2026-05-01,FR\nu2,x,2026-05-01,\xff\n")
    report, users = _read(path)
    assert report.rejected_by_reason == {"invalid_encoding": 1} and users == ["u1"]


@pytest.mark.parametrize(
    "line",
    [
        b'{"user_id": "u9", "event": "x", "timestamp": "2026-05-01",}',  # a trailing comma
        b'{"user_id": "u9", "event": "x", "timestamp": "2026-05-01", "tags": [1, 2, ]}',
        b'{"user_id": NaN, "event": "x", "timestamp": "2026-05-01"}',
        b'{"user_id": "u9", "event": "x", "timestamp": "2026-05-01", "score": -Infinity}',
        b'{"user_id": "u9", "event": "x", "timestamp": "2026-05-01"}\x01x',  # after the reader's delimiter
        b"\x01",
    ],
)
def test_lines_duckdb_would_take_but_that_are_not_json_are_invalid_json(tmp_path: Path, line: bytes) -> None:
    path = _write(tmp_path / "a.jsonl", [_line("a.jsonl", "05", 1), line + b"\n", _line("a.jsonl", "05", 2)])
    report, users = _read(path)
    assert report.rows_read == 3 and report.rejected_by_reason == {"invalid_json": 1}
    assert users == ["u1", "u2"]


def test_json_text_that_only_looks_lenient_inside_strings_is_valid(tmp_path: Path) -> None:
    line = b'{"user_id": "NaN,}", "event": "Infinity, ]", "timestamp": "2026-05-01", "note": "a \\",}"}\n'
    report, users = _read(_write(tmp_path / "a.jsonl", [line]))
    assert report.rejected_by_reason == {} and users == ["NaN,}"]


def test_a_file_of_only_bad_bytes_is_counted_not_taken_for_a_wrong_field_name(tmp_path: Path) -> None:
    _write(tmp_path / "good.jsonl", [_line("a.jsonl", "05", i) for i in range(3)])
    _write(tmp_path / "latin1.jsonl", [_line("a.jsonl", "05", 10 + i, user=b"\xe9") for i in range(3)])

    report, users = _read(tmp_path)

    assert report.rejected_by_reason == {"invalid_encoding": 3}
    assert users == ["u0", "u1", "u2"]


def test_reading_twice_on_one_connection_counts_each_bad_line_once(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.csv", [_line("a.csv", "05", 1), _line("a.csv", "05", 2, user=b"\xff")])
    con = connect()
    first = read_events(con, path, Columns())
    second = read_events(con, path, Columns())
    assert first.rejected_by_reason == second.rejected_by_reason == {"invalid_encoding": 1}
    assert second.rows_read == 2


def test_a_csv_header_not_utf8_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(b"user_id,\xe9vent,timestamp\nu1,x,2026-05-01\n")
    with pytest.raises(InputError, match=r"a\.csv: the CSV header is not UTF-8") as info:
        _read(path)
    assert "\n" not in str(info.value)
