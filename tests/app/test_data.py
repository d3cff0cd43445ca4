"""Data page: ingest report, events per day, vocabulary, and the mapping fix that reopens the gate."""

from __future__ import annotations

import json
import tomllib

from mlwatch.state import store
from tests.app.conftest import open_page


def test_empty_state(app_env) -> None:
    app_env()
    assert "No run yet" in open_page("data.py").info[0].value


def test_ingest_report_and_vocabulary_of_the_broken_month(app_env, stored_runs) -> None:
    app_env(stored_runs["state"])
    at = open_page("data.py", stored_runs["closed"])
    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {
        "Rows read, all files": "164,210",
        "Rejected rows, all files": "29",
        "Events sent twice, all files": "177",
    }
    reasons = next(df.value for df in at.dataframe if "reason" in df.value.columns)
    assert dict(zip(reasons["reason"], reasons["rows"])) == {
        "invalid json": 8,
        "missing user id": 12,
        "bad timestamp": 9,
    }
    vocabulary = next(df.value for df in at.dataframe if "event" in df.value.columns)
    statuses = dict(zip(vocabulary["event"], vocabulary["status"]))
    assert statuses["user_login"] == "vanished" and statuses["user_login_from_pc"] == "new"
    assert len(at.get("plotly_chart")) == 1


def test_mapping_the_new_login_names_saves_the_config_and_opens_the_gate(app_env, private_state, stored_runs) -> None:
    config = app_env(private_state)
    at = open_page("data.py", stored_runs["closed"])
    # The likely feature is pre-selected for each new name.
    assert at.selectbox(key="map_user_login_from_mobile").value == "login"
    assert at.selectbox(key="map_user_login_from_pc").value == "login"
    # ... with the evidence for it, not name similarity alone.
    assert "It probably replaces `user_login`" in at.selectbox(key="map_user_login_from_mobile").help
    at.button(key="save_mapping").click().run()
    assert not at.exception and not at.error
    saved = tomllib.loads(config.read_text())
    assert saved["features"]["login"] == ["user_login", "user_login_from_mobile", "user_login_from_pc"]
    assert "# mlwatch configuration" in config.read_text()  # comments survive the save
    newest = store.list_runs(private_state)[0]
    assert at.session_state["run_id"] == newest.run_id and newest.gate == "open"
    assert newest.current_month == "2026-05"
    # The page says what happened and where to go next, and does not offer the same form again.
    assert at.success[0].value.startswith("New run stored: gate **OPEN**. May 2026 was checked again")
    assert not any(w.key and w.key.startswith("map_") for w in at.selectbox)
    at.button(key="new_run_export").click().run()
    assert at.title[0].value == "Export · May 2026" and len(at.get("download_button")) == 1
    # The original run, picked again, no longer offers names the config now maps.
    old = open_page("data.py", stored_runs["closed"])
    assert not any(w.key and w.key.startswith("map_") for w in old.selectbox)
    assert "are mapped in the config since this run was stored" in old.info[0].value


def test_the_timeline_shows_the_stop_and_the_names_that_replace_it_first(app_env, stored_runs) -> None:
    app_env(stored_runs["state"])
    at = open_page("data.py", stored_runs["closed"])
    # The names that vanished and the mapping that fixes them first, then the timeline that shows when.
    assert [h.value for h in at.subheader][:2] == ["Event names", "Event timeline"]
    changed, every = (e for e in at.expander if "user_login" in e.label or e.label.startswith("Every event name"))
    assert changed.label == "`user_login`, `user_login_from_mobile`, `user_login_from_pc`"
    notes = " ".join(m.value for m in changed.markdown)
    assert "`user_login` stopped on 2026-04-30 at 23:00 UTC" in notes
    assert "It probably replaces `user_login`" in notes
    (chart,) = changed.get("vega_lite_chart")
    spec = json.loads(chart.proto.spec)
    marks = [layer["mark"]["type"] if isinstance(layer["mark"], dict) else layer["mark"] for layer in spec["layer"]]
    assert marks == ["line", "rule", "text"]  # the counts, and the change point marked on them
    summary = store.read_summary(stored_runs["state"], stored_runs["closed"])
    names = set(summary.vocabulary.reference_counts) | set(summary.vocabulary.current_counts)
    assert every.label == f"Every event name ({len(names)}), events per month"
    totals = next(df.value for df in at.dataframe if "event name" in df.value.columns)
    assert totals.set_index("event name").loc["user_login", "events May 2026"] == 0


def test_a_healthy_month_says_nothing_changed(app_env, stored_runs) -> None:
    app_env(stored_runs["state"])
    at = open_page("data.py", stored_runs["open"])
    assert at.success[0].value.startswith("No event name stopped, started")
    assert at.expander[0].label.startswith("Every event name (")


def test_the_data_page_offers_the_data_contract_with_its_version(app_env, stored_runs, downloads) -> None:
    app_env(stored_runs["state"])
    at = open_page("data.py", stored_runs["closed"])
    (button,) = at.get("download_button")
    assert button.proto.label == "Download the data contract (version 1.0.0)"
    assert b"feature login depends on `user_login`" in downloads["mlwatch-contract-1.0.0.yaml"]
    assert any(c.value.startswith("Version 1.0.0 (not recorded yet") for c in at.caption)
