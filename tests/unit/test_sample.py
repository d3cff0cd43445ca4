"""The bundled sample logs are exactly what ``python -m mlwatch sample`` generates, byte for byte."""

from __future__ import annotations

from pathlib import Path

from mlwatch.ingest.sample import generate_sample
from tests.conftest import SAMPLE_LOGS


def test_the_bundled_sample_is_exactly_what_the_generator_writes(tmp_path: Path) -> None:
    files = generate_sample(tmp_path / "sample")
    bundled = sorted(p.relative_to(SAMPLE_LOGS) for p in SAMPLE_LOGS.rglob("*") if p.is_file())
    assert [p.relative_to(tmp_path / "sample") for p in files] == bundled
    assert all((tmp_path / "sample" / p).read_bytes() == (SAMPLE_LOGS / p).read_bytes() for p in bundled)
