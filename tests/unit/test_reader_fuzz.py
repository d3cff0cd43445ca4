"""Property-based fuzzing of the log reader against an oracle written from DESIGN.md's raw log contract.

Hypothesis draws a small recipe (a seed, the files and their formats, the share and kinds of bad
lines, a few odd values of its own); a seeded generator expands it into LINES lines mixing
valid rows with truncated JSON, wrong types, huge and empty fields, bad bytes, odd timestamps,
blank lines and repeated event ids, over JSON Lines, CSV and gzip files. ``read_events`` reads
them through DuckDB; the oracle below reads the same bytes with the standard library only
(json, csv, gzip, datetime). They must agree on every count: nothing valid lost, nothing
invalid counted.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import random
import re
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlwatch.config import Columns
from mlwatch.ingest import staging
from mlwatch.ingest.db import connect
from mlwatch.ingest.logs import read_events

LINES = 10_000  # lines per example
EXAMPLES = 40  # examples per run: 400,000 lines, about 25 s on one core
MAX_LINE = 2_000  # the reader's maximum line size during the test, so that long lines stay cheap
EVENTS = ("user_login", "item_view", "add_to_cart", "purchase")
FORMATS = ("jsonl", "jsonl.gz", "csv", "csv.gz")
BAD_KINDS = (
    "truncated",
    "wrong_type",
    "empty_field",
    "missing_field",
    "bad_bytes",
    "too_long",
    "bad_timestamp",
    "blank",
    "not_an_object",
    "bad_csv",
)
_EPOCH = datetime(1970, 1, 1)
_MAX_EPOCH_S = 7_258_118_400  # 2200-01-01: the contract's range of epoch seconds
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")
# ISO 8601 extended format: digits alone are epoch numbers, never a basic-format date like 20260305.
_ISO = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?)?(Z|[+-][0-9]{2}(:?[0-9]{2})?)?"
)


# ---------------------------------------------------------------- the recipe Hypothesis draws


@dataclass(frozen=True)
class Recipe:
    """What one example writes; the seeded generator expands it into LINES lines."""

    seed: int
    formats: tuple[str, ...]
    bad_share: float
    bad_kinds: tuple[str, ...]
    duplicate_share: float
    odd_values: tuple[str, ...]  # user ids and event names drawn by Hypothesis
    odd_times: tuple[str, ...]  # timestamps drawn by Hypothesis


@st.composite
def recipes(draw: st.DrawFn) -> Recipe:
    """A recipe: the files, the mix of bad lines, and odd values of Hypothesis's own choosing."""
    text = st.text(st.characters(exclude_characters="\r\n"), max_size=12)
    moments = st.datetimes(min_value=datetime(1950, 1, 1), max_value=datetime(2150, 12, 31))
    offsets = st.integers(-14 * 60, 14 * 60).map(lambda m: m - m % 15)
    stamps = st.tuples(moments, st.one_of(st.none(), offsets), st.booleans()).map(_iso)
    return Recipe(
        seed=draw(st.integers(0, 2**32 - 1)),
        formats=tuple(draw(st.lists(st.sampled_from(FORMATS), min_size=1, max_size=4))),
        bad_share=draw(st.sampled_from([0.0, 0.001, 0.05, 0.3])),
        bad_kinds=tuple(draw(st.lists(st.sampled_from(BAD_KINDS), min_size=1, max_size=6, unique=True))),
        duplicate_share=draw(st.sampled_from([0.0, 0.01, 0.2])),
        odd_values=tuple(draw(st.lists(text, max_size=8))),
        odd_times=tuple(draw(st.lists(stamps, max_size=8))),
    )


def _iso(drawn: tuple[datetime, int | None, bool]) -> str:
    moment, offset, space = drawn
    text = moment.isoformat(sep=" " if space else "T")
    if offset is None:
        return text
    sign, minutes = ("+" if offset >= 0 else "-"), abs(offset)
    return f"{text}{sign}{minutes // 60:02d}:{minutes % 60:02d}"


# ---------------------------------------------------------------- the seeded generator


@dataclass
class _Writer:
    """Expands a recipe into lines, one file at a time."""

    recipe: Recipe
    rng: random.Random
    ids: list[str] = field(default_factory=list)

    def event_id(self) -> str | None:
        if self.ids and self.rng.random() < self.recipe.duplicate_share:
            return self.rng.choice(self.ids)
        if self.rng.random() < 0.05:
            return None
        self.ids.append(f"e{len(self.ids)}")
        return self.ids[-1]

    def user_id(self) -> object:
        pick = self.rng.random()
        if pick < 0.03 and self.recipe.odd_values:
            return self.rng.choice(self.recipe.odd_values)
        if pick < 0.15:
            return self.rng.randrange(0, 10**18)  # a JSON number, read as its decimal string
        return f"u{self.rng.randrange(300)}"

    def timestamp(self) -> object:
        pick = self.rng.random()
        moment = datetime(2026, 3, 1) + timedelta(seconds=self.rng.randrange(92 * 86400))
        seconds = int((moment - _EPOCH).total_seconds())
        if pick < 0.03 and self.recipe.odd_times:
            return self.rng.choice(self.recipe.odd_times)
        forms = [
            moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
            moment.strftime("%Y-%m-%dT%H:%M:%S") + self.rng.choice(["+02:00", "-05:30", "+00:00", "+14:00"]),
            moment.strftime("%Y-%m-%d %H:%M:%S"),  # no offset means UTC
            moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[: -self.rng.randrange(1, 6)] + "Z",
            moment.strftime("%Y-%m-%d"),
            seconds,
            seconds * 1000 + self.rng.randrange(1000),
            str(seconds),
            seconds + self.rng.choice([0.5, 0.25]),
        ]
        return self.rng.choice(forms)

    def row(self) -> dict[str, object]:
        row: dict[str, object] = {"user_id": self.user_id(), "event": self.rng.choice(EVENTS)}
        row["timestamp"] = self.timestamp()
        event_id = self.event_id()
        if event_id is not None:
            row["event_id"] = event_id
        if self.rng.random() < 0.03 and self.recipe.odd_values:
            row["event"] = self.rng.choice(self.recipe.odd_values)
        return row

    def bad_row(self, kind: str) -> dict[str, object] | bytes:
        row = self.row()
        rng = self.rng
        if kind == "wrong_type":
            key = rng.choice(["user_id", "event", "timestamp", "event_id"])
            row[key] = rng.choice([True, False, None, [1, 2], {"a": 1}, 1.5, 0])
            if key != "user_id" and rng.random() < 0.2:
                row[key] = -1e30  # its text differs between engines ('-1e+30', '-1e30'): not as a user id
        elif kind == "empty_field":
            row[rng.choice(["user_id", "event", "timestamp", "event_id"])] = rng.choice(["", "   ", " x "])
        elif kind == "missing_field":
            row.pop(rng.choice(["user_id", "event", "timestamp"]))
        elif kind == "bad_timestamp":
            row["timestamp"] = rng.choice(
                ["2026-02-30T10:00:00Z", "2026-13-01", "not-a-date", "epoch", "now", "2026-03-05T25:00:00",
                 "99999999999", "-1", "1e9", "", "T10:00", str(_MAX_EPOCH_S * 1000 + 5)]
            )  # fmt: skip
        elif kind == "too_long":
            row["user_id"] = "x" * rng.randrange(MAX_LINE - 60, MAX_LINE + 200)
        elif kind == "bad_bytes":
            return rng.choice([b"\xff", b"caf\xe9", b"\xc3(", b"\xed\xa0\x80"])  # a marker, placed by the format
        elif kind == "blank":
            return rng.choice([b"", b"   ", b"\t"])
        return row


def _json_line(writer: _Writer, kind: str | None) -> bytes:
    rng = writer.rng
    if kind is None:
        return json.dumps(writer.row()).encode()
    if kind == "truncated":
        line = json.dumps(writer.row()).encode()
        return line[: rng.randrange(1, len(line) - 1)]
    if kind == "not_an_object":
        return rng.choice(
            [b"[1, 2]", b'"text"', b"42", b"null", b"{}x", b'{"user_id": "u1",}',
             b'{"user_id": "u1", "event": "x", "timestamp": "2026-03-05"}\x01x']
        )  # fmt: skip
    if kind == "bad_csv":
        return b"u1,item_view,2026-03-05"
    bad = writer.bad_row(kind)
    if isinstance(bad, bytes):
        if kind == "bad_bytes":
            return json.dumps(writer.row()).encode().replace(b'"event"', b'"ev' + bad + b'nt"', 1)
        return bad
    return json.dumps(bad).encode()


def _csv_line(writer: _Writer, kind: str | None, header: list[str]) -> bytes:
    rng = writer.rng
    if kind in ("truncated", "bad_csv", "not_an_object"):
        fields = _csv_fields(writer.row(), header)
        if rng.random() < 0.5:
            fields = fields[: rng.randrange(len(fields))]
        else:
            fields = [*fields, "extra"]
        return _csv_text(fields)
    row = writer.row() if kind is None else writer.bad_row(kind)
    if isinstance(row, bytes):
        if kind == "bad_bytes":
            return _csv_text(_csv_fields(writer.row(), header)).replace(b",", b"," + row, 1)
        return row
    return _csv_text(_csv_fields(row, header))


def _csv_fields(row: dict[str, object], header: list[str]) -> list[str]:
    values = {key: "" if value is None else json.dumps(value) if not isinstance(value, str) else value
              for key, value in row.items()}  # fmt: skip
    return [values.get(name, "") for name in header]


def _csv_text(fields: list[str]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(fields)
    return out.getvalue().encode()


def write_logs(recipe: Recipe, folder: Path) -> list[Path]:
    """Write the recipe's files under ``folder``; return them."""
    rng = random.Random(recipe.seed)
    writer = _Writer(recipe, rng)
    paths, per_file = [], -(-LINES // len(recipe.formats))  # at least LINES lines in all
    for index, fmt in enumerate(recipe.formats):
        path = folder / f"{index:02d}" / f"part.{fmt}"
        path.parent.mkdir(parents=True)
        header = ["event_id", "user_id", "event", "timestamp", "country"][: rng.choice([4, 5])]
        if rng.random() < 0.3:
            header = header[1:]  # no event id column
        rng.shuffle(header)
        lines = [b",".join(name.encode() for name in header)] if fmt.startswith("csv") else []
        for _ in range(per_file):
            kind = rng.choice(recipe.bad_kinds) if rng.random() < recipe.bad_share else None
            lines.append(_csv_line(writer, kind, header) if fmt.startswith("csv") else _json_line(writer, kind))
        end = b"\r\n" if rng.random() < 0.2 else b"\n"
        data = end.join(lines) + (end if rng.random() < 0.9 else b"")
        path.write_bytes(gzip.compress(data, compresslevel=1) if fmt.endswith(".gz") else data)
        paths.append(path)
    return paths


# ---------------------------------------------------------------- the oracle (standard library only)


@dataclass
class Expected:
    """What the contract says reading the files gives."""

    rows_read: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    rejected_by_file: Counter[str] = field(default_factory=Counter)
    valid: list[tuple[datetime, str, int, str, str | None]] = field(default_factory=list)

    def outcome(self) -> tuple[int, dict[str, int], dict[str, int], int, dict[tuple[str, str], int]]:
        """Rows read, rejected by reason and by file, duplicates, and events per user and month."""
        first: dict[str, tuple[datetime, str, int]] = {}
        for ts, path, line, _, event_id in self.valid:
            if event_id is not None and (event_id not in first or (ts, path, line) < first[event_id]):
                first[event_id] = (ts, path, line)
        kept = [v for v in self.valid if v[4] is None or first[v[4]] == v[:3]]
        per_user = Counter((user, ts.strftime("%Y-%m")) for ts, _, _, user, _ in kept)
        duplicates = len(self.valid) - len(kept)
        return self.rows_read, dict(self.rejected), dict(self.rejected_by_file), duplicates, dict(per_user)


def oracle(paths: list[Path]) -> Expected:
    """Read the files by the raw log contract, line by line."""
    expected = Expected()
    for path in paths:
        data = path.read_bytes()
        data = gzip.decompress(data) if path.name.endswith(".gz") else data
        lines = data.split(b"\n")
        if lines[-1] == b"":
            lines.pop()
        is_csv = ".csv" in path.name
        header = next(csv.reader([lines[0].rstrip(b"\r").decode()])) if is_csv else []
        for number, line in enumerate(lines, start=1):
            raw = line.removesuffix(b"\r")
            if (is_csv and number == 1) or raw == b"":
                continue  # the header; an empty line is no row
            expected.rows_read += 1
            reason, fields = _parse_line(raw, header, len(line) - len(raw) + 1)
            if reason is None:
                reason, row = _validate(fields)
            if reason is not None:
                expected.rejected[reason] += 1
                expected.rejected_by_file[str(path)] += 1
            else:
                expected.valid.append((row[2], str(path), number, row[0], row[3]))
    return expected


def _parse_line(raw: bytes, header: list[str], line_break: int) -> tuple[str | None, dict[str, object]]:
    """A line's reason to be rejected before its fields are looked at, else its fields.

    The size rule (staging.py): a JSON line over MAX_LINE bytes, line break excluded; a CSV line
    whose fields and commas are over MAX_LINE (quotes not counted), or which with its line break
    is over MAX_LINE + 2 bytes (the limit DuckDB is given).
    """
    if len(raw) > MAX_LINE and not header or len(raw) + line_break > MAX_LINE + 2:
        return "line_too_long", {}
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return "invalid_encoding", {}
    if header:
        record = next(csv.reader([text]), [])
        if len(record) != len(header):
            return "invalid_csv", {}
        if sum(len(value.encode()) for value in record) + len(record) - 1 > MAX_LINE:
            return "line_too_long", {}
        return None, dict(zip(header, record))
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except ValueError:
        return "invalid_json", {}
    if not isinstance(value, dict):
        return "invalid_json", {}
    return None, value


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def _validate(fields: dict[str, object]) -> tuple[str | None, tuple[str, str, datetime, str | None]]:
    user, event = _text(fields.get("user_id")), _text(fields.get("event"))
    stamp, event_id = _text(fields.get("timestamp")), _text(fields.get("event_id"))
    if user is None:
        return "missing_user_id", ("", "", _EPOCH, None)
    if event is None:
        return "missing_event", ("", "", _EPOCH, None)
    if stamp is None:
        return "missing_timestamp", ("", "", _EPOCH, None)
    ts = _timestamp(stamp)
    if ts is None:
        return "bad_timestamp", ("", "", _EPOCH, None)
    return None, (user, event, ts, event_id)


def _text(value: object) -> str | None:
    """A field as the contract reads it: strings trimmed of spaces, numbers as their decimal string."""
    if value is None:
        return None
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, int | float):
        text = repr(value)
    elif isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, separators=(",", ":"))
    return text.strip(" ") or None


def _timestamp(text: str) -> datetime | None:
    """ISO 8601 (extended format) with or without offset (none means UTC), or epoch seconds or milliseconds."""
    if _ISO.fullmatch(text):
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            moment = None
        if moment is not None:
            return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment
    if not _NUMBER.fullmatch(text):
        return None
    number = float(text)
    if abs(number) >= 100_000_000_000:
        return _EPOCH + timedelta(microseconds=round(number * 1000)) if abs(number) < _MAX_EPOCH_S * 1000 else None
    return _EPOCH + timedelta(microseconds=round(number * 1_000_000)) if abs(number) < _MAX_EPOCH_S else None


# ---------------------------------------------------------------- the property


def read_outcome(paths: list[Path], folder: Path) -> tuple[int, dict[str, int], dict[str, int], int, dict]:
    """What ``read_events`` reports for the files, in the oracle's terms."""
    con = connect(threads=1)
    try:
        with mock.patch.object(staging, "MAX_LINE_BYTES", MAX_LINE):
            report = read_events(con, folder, Columns())
        per_user = con.execute("SELECT user_id, strftime(ts, '%Y-%m'), count(*) FROM events GROUP BY ALL").fetchall()
    finally:
        con.close()
    return (
        report.rows_read,
        report.rejected_by_reason,
        report.rejected_by_file,
        report.duplicates,
        {(user, month): count for user, month, count in per_user},
    )


@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(recipes())
def test_the_reader_agrees_with_the_contract_on_every_count(recipe: Recipe) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        paths = write_logs(recipe, folder)
        expected = oracle(paths).outcome()
        got = read_outcome(paths, folder)
    names = ("rows read", "rejected by reason", "rejected by file", "duplicates", "events per user and month")
    for name, want, have in zip(names, expected, got):
        assert have == want, f"{name} differ"
