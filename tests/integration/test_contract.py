"""The data contract a producing team's CI runs: exported from the seed's healthy April, checked on samples.

Real files in tmp_path, read by DuckDB; the exported contract is validated by the ODCS package's
model and by `datacontract lint` (datacontract-cli), as a producer's CI would run it.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from open_data_contract_standard.model import OpenDataContractStandard

from mlwatch.cli import main
from mlwatch.contract.version import current_contract
from tests.conftest import ROOT, SAMPLE_LOGS, generate_events, write_jsonl

CONTACT = "ml-team@example.com"
MODEL = "purchase model"
HEALTHY_DAY = SAMPLE_LOGS / "2026-04" / "events-2026-04-14.jsonl.gz"
RENAMED_DAY = SAMPLE_LOGS / "2026-05" / "events-2026-05-14.jsonl.gz"


@pytest.fixture(scope="module")
def contract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The contract of the shipped config with a [contract] table, measured on the sample's April."""
    folder = tmp_path_factory.mktemp("contract")
    config = folder / "mlwatch.toml"
    config.write_text(
        (ROOT / "mlwatch.toml").read_text()
        + f'\n[contract]\nowner = "web-platform"\ncontact = "{CONTACT}"\nmodel = "{MODEL}"\n'
    )
    out = folder / "contract.yaml"
    code = main(
        ["contract", "export", "--config", str(config), "--state", str(folder / "state"),
         "--logs", str(SAMPLE_LOGS), "--month", "2026-04", "--out", str(out)]
    )  # fmt: skip
    assert code == 0
    return out


def check(contract: Path, sample: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = main(["contract", "check", "--contract", str(contract), "--logs", str(sample)])
    return code, capsys.readouterr().out.splitlines()


def healthy_rows() -> list[dict]:
    with gzip.open(HEALTHY_DAY, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def test_the_seeds_login_rename_fails_naming_the_event_the_feature_and_the_contact(
    contract: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, lines = check(contract, RENAMED_DAY, capsys)
    assert code == 1
    assert len(lines) == 1  # one line per break
    (line,) = lines
    assert line.startswith("feature login depends on `user_login`; this sample has `user_login_from_mobile`,")
    assert "`user_login_from_pc` instead" in line and f"tell {CONTACT} before shipping" in line
    assert MODEL in line


def test_a_healthy_sample_passes(contract: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = check(contract, HEALTHY_DAY, capsys)
    assert (code, lines) == (0, [])


def test_a_field_renamed_in_part_of_the_sample_fails_naming_the_new_field(
    contract: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = healthy_rows()
    cut = len(rows) * 7 // 10  # the producer's new release writes `userId` from here on
    renamed = [{("userId" if k == "user_id" else k): v for k, v in row.items()} for row in rows[cut:]]
    code, lines = check(contract, write_jsonl(tmp_path / "sample.jsonl", rows[:cut] + renamed), capsys)
    assert code == 1
    (line,) = lines
    missing = len(renamed) + sum(not row.get("user_id") for row in rows[:cut])  # the seed has a few bad rows too
    share = round(100 * missing / len(rows))
    assert line.startswith(f"`user_id` is missing from {share}% of rows ({missing:,} of {len(rows):,});")
    assert "they carry `userId` instead" in line and CONTACT in line


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_file_whose_header_renamed_the_field_fails_for_every_row(
    suffix: str, contract: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [row for row in healthy_rows() if row.get("user_id") and row.get("timestamp")][:300]
    frame = pd.DataFrame(rows).rename(columns={"user_id": "userId"}).assign(page="home")  # and an unrelated column
    sample = tmp_path / f"sample{suffix}"
    if suffix == ".csv":
        frame.to_csv(sample, index=False)
    else:
        frame.to_parquet(sample, index=False)
    code, out = check(contract, sample, capsys)
    assert code == 1
    assert out == [
        (
            f"`user_id` is missing from 100% of rows (300 of 300); they carry `userId` instead: {MODEL} reads"
            f" `user_id` to count each user's events; tell {CONTACT} before shipping"
        )
    ]


def test_a_new_unrelated_event_name_passes_with_a_note(
    contract: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = healthy_rows()
    extra = [{**row, "event": "wishlist_add", "event_id": f"w{i}"} for i, row in enumerate(rows[:60])]
    code, lines = check(contract, write_jsonl(tmp_path / "sample.jsonl", rows + extra), capsys)
    assert code == 0
    events = sum(bool(row.get("event")) for row in rows + extra)
    assert lines == [
        (
            f"note: new event name `wishlist_add` ({len(extra) / events:.1%} of this sample's events) is not in the"
            f" contract; no feature of {MODEL} depends on it, so nothing breaks"
        )
    ]


def test_unparseable_timestamps_and_a_share_far_outside_its_range_fail(
    contract: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [r for i, r in enumerate(healthy_rows()) if r["event"] != "item_view" or i % 10 == 0]  # views lost
    for row in rows[::10]:
        row["timestamp"] = "14/04/2026 12:00"
    code, lines = check(contract, write_jsonl(tmp_path / "sample.jsonl", rows), capsys)
    assert code == 1
    assert len(lines) == 2
    assert lines[0].startswith("`timestamp` cannot be read as a time in 10% of rows")
    assert "e.g. `14/04/2026 12:00`" in lines[0]
    assert lines[1].startswith("`item_view` is ") and "far outside its usual range" in lines[1]
    assert "feature view of purchase model" in lines[1]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, "contract file not found"),
        ("schema: [unclosed", "not valid YAML"),
        ("- just\n- a list\n", "not an ODCS v3 data contract"),
        ("apiVersion: v3.2.0\nkind: DataContract\nid: x\nversion: 1.0.0\nstatus: active\n", "not written by"),
    ],
)
def test_bad_input_exits_2_with_one_line_naming_the_file(
    text: str | None, expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "contract.yaml"
    if text is not None:
        path.write_text(text)
    assert main(["contract", "check", "--contract", str(path), "--logs", str(HEALTHY_DAY)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"mlwatch: error: {path}: ") and expected in err and "\n" not in err


def test_an_empty_sample_exits_2(contract: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty.jsonl").write_text("")
    assert main(["contract", "check", "--contract", str(contract), "--logs", str(tmp_path / "empty.jsonl")]) == 2
    assert "the sample has no rows" in capsys.readouterr().err


def test_the_contract_names_fields_dependencies_consumer_and_usual_figures(contract: Path) -> None:
    document = yaml.safe_load(contract.read_text())
    assert (document["apiVersion"], document["kind"], document["version"]) == ("v3.2.0", "DataContract", "1.0.0")
    assert document["support"][0]["url"] == f"mailto:{CONTACT}"
    assert document["team"]["members"] == [{"username": "web-platform", "role": "owner"}]
    (events,) = document["schema"]
    fields = {p["name"]: (p["logicalType"], p["required"]) for p in events["properties"]}
    assert fields == {
        "user_id": ("string", True),
        "event": ("string", True),
        "timestamp": ("timestamp", True),
        "event_id": ("string", False),
    }
    event = next(p for p in events["properties"] if p["name"] == "event")
    login = next(q for q in event["quality"] if q["name"] == "feature login depends on `user_login`")
    custom = {c["property"]: c["value"] for c in login["customProperties"]}
    assert custom["consumer"] == MODEL and custom["feature"] == "login" and custom["event"] == "user_login"
    low, high = login["mustBeBetween"]
    assert low < 100 * custom["usualShare"] < high
    (volume,) = events["quality"]
    assert volume["metric"] == "rowCount" and "April 2026" in volume["description"]


def test_the_contract_validates_with_the_odcs_model_and_datacontract_lint(contract: Path) -> None:
    parsed = OpenDataContractStandard.from_file(str(contract))
    assert parsed.version == "1.0.0" and parsed.schema_[0].name == "events"
    lint = subprocess.run(
        [str(Path(sys.executable).with_name("datacontract")), "lint", str(contract)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert "Data contract is valid" in lint.stdout


def test_a_run_with_changed_features_records_the_next_version_and_the_export_says_what_changed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    logs = write_jsonl(tmp_path / "logs" / "events.jsonl", generate_events(("2026-03", "2026-04"), users=200))
    state, out, config = tmp_path / "state", tmp_path / "contract.yaml", tmp_path / "mlwatch.toml"
    assert main(["contract", "export", "--state", str(state), "--out", str(out)]) == 0  # the defaults: 1.0.0
    config.write_text(
        '[features]\nlogin = ["user_login", "user_login_from_pc"]\nview = ["item_view"]\ncart = ["add_to_cart"]\n'
        'purchase = ["purchase"]\n'
    )
    capsys.readouterr()
    run = ["run", "--logs", str(logs), "--reference", "2026-03", "--current", "2026-04", "--json"]
    assert main([*run, "--config", str(config), "--state", str(state)]) in (0, 1)
    run_id = json.loads(capsys.readouterr().out)["run_id"]
    version = current_contract(state)
    assert version is not None and (version.version, version.cause) == ("1.1.0", f"run {run_id}")
    assert main(["verify", "--state", str(state)]) == 0  # the contract rows are part of the chained audit trail
    assert main(["contract", "export", "--config", str(config), "--state", str(state), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Version 1.1.0: since 1.0.0: added: feature login depends on `user_login_from_pc`." in printed
    assert yaml.safe_load(out.read_text())["version"] == "1.1.0"
