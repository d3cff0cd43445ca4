"""Logs in S3: a real S3 API (moto's server on 127.0.0.1) holding the sample logs, read through the CLI.

The run from ``s3://`` must say exactly what the run from the local files says; a sign-off is
bound to the objects' ETags; a wrong bucket, missing credentials or a denied object is a one-line
error naming the URL, and no secret is ever printed or stored.
"""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from moto.server import ThreadedMotoServer

from mlwatch.cli import main
from mlwatch.config import AuthConfig
from mlwatch.errors import InputError
from mlwatch.governance.auth import User
from mlwatch.governance.signoff import failed_labels, sign_off
from mlwatch.ingest.access import allowed_roots, resolve_allowed_logs
from mlwatch.ingest.files import find_log_files
from tests.conftest import SAMPLE_LOGS, run_args

BUCKET = "lake"
PREFIX = f"s3://{BUCKET}/events/"
SECRET = "s3cr3t-Never-Shown-0123456789"
REASON = "The login event was renamed upstream; the campaign does not use logins."
# Keys that name the run or where its files were, not what it found.
_VOLATILE = ("run_id", "created_at", "logs", "inputs_fingerprint", "fingerprint", "seconds")


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A moto S3 server on a free port of 127.0.0.1 with the sample logs under ``s3://lake/events/``."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AWS_ENDPOINT_URL", endpoint)
        env.setenv("AWS_ACCESS_KEY_ID", "AKIAMLWATCHTEST")
        env.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
        env.setenv("AWS_DEFAULT_REGION", "us-east-1")
        env.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance-role lookup on this machine
        client = boto3.client("s3")
        client.create_bucket(Bucket=BUCKET)
        for path in sorted(SAMPLE_LOGS.rglob("*")):
            if path.is_file():
                client.upload_file(str(path), BUCKET, f"events/{path.relative_to(SAMPLE_LOGS).as_posix()}")
        try:
            yield {"endpoint": endpoint, "client": client, "env": env}
        finally:
            server.stop()


@pytest.fixture(scope="module")
def runs(lake: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """May against March from the local sample logs and from S3, each through ``mlwatch run --json``."""
    out = {}
    for name, logs in (("local", str(SAMPLE_LOGS)), ("s3", PREFIX)):
        state = tmp_path_factory.mktemp(f"state-{name}")
        code, summary, err = _run_cli([*run_args(logs, "2026-05", state), "--json"])
        out[name] = {"code": code, "summary": summary, "err": err, "state": state}
    return out


def test_a_run_from_s3_says_exactly_what_the_run_from_local_files_says(runs: dict[str, Any]) -> None:
    local, remote = runs["local"], runs["s3"]
    assert remote["code"] == local["code"] == 1  # the sample's May: the login rename closes the gate
    assert remote["summary"]["logs"] == PREFIX
    assert _comparable(remote["summary"], PREFIX) == _comparable(local["summary"], f"{SAMPLE_LOGS}/")
    files = remote["summary"]["ingest"]["rows_by_file"]
    assert len(files) == len(list(SAMPLE_LOGS.rglob("*.jsonl.gz"))) and all(f.startswith(PREFIX) for f in files)


def test_a_changed_object_refuses_the_export_of_a_signed_off_run(
    runs: dict[str, Any], lake: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state, run_id = runs["s3"]["state"], runs["s3"]["summary"]["run_id"]
    sign_off(state, run_id, User("ann", "approver"), REASON, AuthConfig(), accepted=failed_labels(state, run_id))
    assert _export(state, run_id, tmp_path / "before") == 0
    client, key = lake["client"], "events/2026-05/events-2026-05-10.jsonl.gz"
    original = client.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    client.put_object(Bucket=BUCKET, Key=key, Body=original[:-1] + bytes([original[-1] ^ 1]))  # same size
    try:
        capsys.readouterr()
        assert _export(state, run_id, tmp_path / "refused") == 1
        err = capsys.readouterr().err
        assert err.startswith("mlwatch: export refused:") and "logs changed" in err
        assert not list((tmp_path / "refused").glob("*.csv")) if (tmp_path / "refused").exists() else True
    finally:
        client.put_object(Bucket=BUCKET, Key=key, Body=original)
    assert _export(state, run_id, tmp_path / "after") == 0  # the same bytes again: the same ETag


@pytest.mark.parametrize(
    ("logs", "words"),
    [
        ("s3://no-such-bucket/events/", "no such bucket"),
        (f"s3://{BUCKET}/no-such-prefix/", "no such bucket, prefix or object"),
        (f"s3://{BUCKET}/events/2026-05/*.parquet", "no log objects found"),
    ],
)
def test_a_wrong_bucket_or_prefix_is_a_one_line_error_naming_it(
    lake: dict[str, Any], tmp_path: Path, logs: str, words: str
) -> None:
    code, out, err = _run_cli(run_args(logs, "2026-05", tmp_path / "state"))
    assert code == 2 and out is None
    assert err.count("\n") == 1 and logs in err and words in err
    assert not (tmp_path / "state" / "runs").exists() or not list((tmp_path / "state" / "runs").iterdir())


def test_missing_credentials_are_a_one_line_error_saying_which_variables_to_set(
    lake: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    code, _, err = _run_cli(run_args(PREFIX, "2026-05", tmp_path / "state"))
    assert code == 2 and err.count("\n") == 1
    assert PREFIX in err and "no credentials" in err and "AWS_ACCESS_KEY_ID" in err


def test_a_denied_object_is_a_one_line_error_naming_it(lake: dict[str, Any], tmp_path: Path) -> None:
    denied = "events/2026-05/events-2026-05-07.jsonl.gz"
    keys = _limited_user(lake["endpoint"], denied)
    env: pytest.MonkeyPatch = lake["env"]
    original = {"AWS_ACCESS_KEY_ID": "AKIAMLWATCHTEST", "AWS_SECRET_ACCESS_KEY": SECRET}
    env.setenv("AWS_ACCESS_KEY_ID", keys["AccessKeyId"])
    env.setenv("AWS_SECRET_ACCESS_KEY", keys["SecretAccessKey"])
    requests.post(f"{lake['endpoint']}/moto-api/reset-auth", data=b"0", timeout=10).raise_for_status()
    try:
        code, _, err = _run_cli(run_args(f"{PREFIX}2026-05/", "2026-05", tmp_path / "state"))
    finally:
        requests.post(f"{lake['endpoint']}/moto-api/reset-auth", data=b"inf", timeout=10).raise_for_status()
        for name, value in original.items():
            env.setenv(name, value)
    assert code == 2 and err.count("\n") == 1
    assert f"s3://{BUCKET}/{denied}" in err and "access denied" in err
    assert keys["SecretAccessKey"] not in err


def test_a_browser_run_reads_only_objects_under_the_allowed_prefixes(lake: dict[str, Any]) -> None:
    month = f"{PREFIX}2026-05/"
    assert resolve_allowed_logs(month, (PREFIX,)) == month
    found = find_log_files(month, within=allowed_roots((PREFIX, "sample_logs")))
    assert len(found) == 31 and all(str(f).startswith(month) for f in found)
    with pytest.raises(InputError, match="outside the log prefixes this dashboard may read"):
        find_log_files(month, within=allowed_roots((f"s3://{BUCKET}/events/2026-04/",)))


def test_no_secret_is_printed_or_stored_with_a_run(runs: dict[str, Any]) -> None:
    remote = runs["s3"]
    assert SECRET not in json.dumps(remote["summary"]) and SECRET not in remote["err"]
    for path in remote["state"].rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


def test_credentials_inside_a_logs_url_are_refused_before_anything_is_read(tmp_path: Path) -> None:
    code, _, err = _run_cli(run_args(f"s3://AKIA:{SECRET}@{BUCKET}/events/", "2026-05", tmp_path / "state"))
    assert code == 2 and err.count("\n") == 1 and "credentials in a logs URL are not accepted" in err
    assert SECRET not in err


def test_backfill_reads_the_same_bucket(lake: dict[str, Any], tmp_path: Path) -> None:
    month = f"s3://{BUCKET}/events/2026-0[345]/*.jsonl.gz"  # a glob: March to May, no June
    code, out, err = _run_cli(
        ["backfill", "--logs", month, "--reference", "2026-03", "--state", str(tmp_path), "--json"]
    )
    assert code == 1, err
    assert [(r["current_month"], r["gate"]) for r in out["runs"]] == [("2026-04", "open"), ("2026-05", "closed")]


def _comparable(summary: dict[str, Any], prefix: str) -> dict[str, Any]:
    """The summary without what names the run or its place, file names made relative to the logs."""
    text = json.dumps({k: v for k, v in summary.items() if k not in _VOLATILE}, sort_keys=True)
    return json.loads(text.replace(json.dumps(prefix)[1:-1], "<logs>/"))


def _run_cli(args: list[str]) -> tuple[int, Any, str]:
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(args)
    text = out.getvalue()
    return code, json.loads(text) if text.strip().startswith("{") else None, err.getvalue()


def _export(state: Path, run_id: str, out: Path) -> int:
    return main(["export", "--run", run_id, "--out", str(out), "--state", str(state)])


def _limited_user(endpoint: str, denied_key: str) -> dict[str, str]:
    """An IAM user who may read the bucket except one object (moto enforces it once auth is on)."""
    iam = boto3.client("iam", endpoint_url=endpoint)
    iam.create_user(UserName="analyst")
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/{denied_key}"},
        ],
    }
    iam.put_user_policy(UserName="analyst", PolicyName="read-lake", PolicyDocument=json.dumps(policy))
    return iam.create_access_key(UserName="analyst")["AccessKey"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
