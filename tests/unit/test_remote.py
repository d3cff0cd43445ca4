"""Store URLs without a store (what a browser user may name, credentials in URLs, object names); --as-of with Spark."""

from __future__ import annotations

import pytest

from mlwatch.errors import InputError
from mlwatch.ingest.access import allowed_roots, resolve_allowed_logs
from mlwatch.ingest.files import find_log_files, format_of
from mlwatch.ingest.remote import ObjectPath, inside, is_remote, split_url

ALLOWED = ("s3://lake/events/", "gs://archive/clicks")


@pytest.mark.parametrize(
    "requested", ["s3://lake/events/", "s3://lake/events/2026-05", "gs://archive/clicks/2026/a.jsonl.gz"]
)
def test_a_store_prefix_inside_an_allowed_one_is_accepted_as_written(requested: str) -> None:
    assert resolve_allowed_logs(requested, ALLOWED) == requested


@pytest.mark.parametrize(
    ("requested", "words"),
    [
        ("s3://lake/events-private/", "outside the log prefixes"),  # a longer name is not inside
        ("s3://other/events/", "outside the log prefixes"),
        ("s3://lake/events/../secrets/", "'..' is not allowed"),
        ("s3://lake/events/*/x.jsonl", "patterns are not allowed"),
        ("az://lake/events/", "outside the log prefixes"),
    ],
)
def test_a_browser_user_cannot_leave_the_allowed_prefixes(requested: str, words: str) -> None:
    with pytest.raises(InputError, match=words.replace("(", r"\(").replace("*", r"\*")):
        resolve_allowed_logs(requested, ALLOWED)


def test_allowed_roots_keep_store_prefixes_and_resolve_folders(tmp_path) -> None:
    roots = allowed_roots(("s3://lake/events/", "logs"), tmp_path)
    assert roots == ("s3://lake/events/", (tmp_path / "logs").resolve())


def test_credentials_in_a_url_are_refused_without_repeating_them() -> None:
    with pytest.raises(InputError) as caught:
        split_url("s3://AKIA:hunter2-secret@lake/events/")
    assert "hunter2-secret" not in str(caught.value) and "AWS_ACCESS_KEY_ID" in str(caught.value)
    with pytest.raises(InputError, match="credentials in a logs URL"):
        find_log_files("s3://AKIA:hunter2-secret@lake/events/")


def test_objects_are_named_and_typed_like_files() -> None:
    obj = ObjectPath("s3://lake/events/2026-05/a.JSONL.gz", 10, "etag")
    assert (obj.name, obj.parent, str(obj), obj.scheme) == ("a.JSONL.gz", "s3://lake/events/2026-05", obj.url, "s3")
    assert format_of(obj) == "json" and format_of(ObjectPath("gs://b/x.parquet", 1, "1")) == "parquet"
    assert is_remote("abfss://c/x") and is_remote("GS://b/x") and not is_remote("/data/s3://x")
    assert inside("s3://lake/events/a.jsonl", ["s3://lake/events/"]) and not inside(
        "s3://lake/eventsx", ["s3://lake/events"]
    )


def test_a_month_to_date_run_with_the_spark_engine_says_to_use_duckdb_before_reading(tmp_path) -> None:
    from mlwatch.config import Config, EngineConfig
    from mlwatch.pipeline import run_monthly

    config = Config(engine=EngineConfig(kind="spark"))
    with pytest.raises(
        InputError, match='--as-of .* needs the events by day: run it with \\[engine\\] kind = "duckdb"'
    ):
        run_monthly("s3://lake/none/", "2026-03", "2026-05", config, tmp_path, as_of="2026-05-10")
