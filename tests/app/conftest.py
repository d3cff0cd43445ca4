"""AppTest fixtures: stored runs on the sample logs, an isolated config, and captured downloads."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit import config as streamlit_config
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from mlwatch.config import load_config
from mlwatch.pipeline import run_monthly
from tests.conftest import ROOT, SAMPLE_LOGS, built_once

APP = str(ROOT / "app.py")


@pytest.fixture(autouse=True)
def served_through_navigation(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run every AppTest as a server does once app.py has called ``st.navigation``.

    AppTest re-creates Streamlit's page manager on each run, which then treats ``pages/`` as an
    automatic multipage app and runs a switched-to page without app.py (so without its login).
    A real server does that only until app.py has run once; tests/e2e/test_navigation.py checks
    that state in a real browser.
    """
    from streamlit.runtime.pages_manager import PagesManager

    original = PagesManager.__init__

    def init(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", init)


@pytest.fixture(scope="session")
def stored_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A state with the healthy April run and the broken May run (built once per test run)."""
    folder = built_once(tmp_path_factory, "app-state", _store_runs)
    return {"state": folder / "state", **json.loads((folder / "runs.json").read_text())}


def _store_runs(folder: Path) -> None:
    config = load_config(ROOT / "mlwatch.toml")
    closed = run_monthly(SAMPLE_LOGS, "2026-03", "2026-05", config, folder / "state")
    opened = run_monthly(SAMPLE_LOGS, "2026-03", "2026-04", config, folder / "state")
    (folder / "runs.json").write_text(json.dumps({"closed": closed.run_id, "open": opened.run_id}))


@pytest.fixture
def app_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[Path | None], Path]:
    """Point the app at a state folder and at a private copy of the config that allows the sample logs."""

    def configure(state: Path | None = None) -> Path:
        state = state or tmp_path / "empty-state"
        config = tmp_path / "mlwatch.toml"
        text = (
            (ROOT / "mlwatch.toml")
            .read_text()
            .replace('path = "sample_logs"', f'path = "{SAMPLE_LOGS}"')
            .replace('allowed = ["sample_logs"]', f'allowed = ["{SAMPLE_LOGS}"]')
        )
        config.write_text(text)
        streamlit_config.set_option("server.address", "127.0.0.1")  # as .streamlit/config.toml sets it
        monkeypatch.setenv("MLWATCH_STATE", str(state))
        monkeypatch.setenv("MLWATCH_CONFIG", str(config))
        return config

    return configure


@pytest.fixture
def private_state(stored_runs: dict[str, object], tmp_path: Path) -> Path:
    """A copy of the stored runs that a test may add runs to."""
    copy = tmp_path / "state"
    shutil.copytree(stored_runs["state"], copy)  # type: ignore[arg-type]
    return copy


def open_page(page: str, run_id: str | None = None, role: str | None = None) -> AppTest:
    """Run the app on ``page`` (a file under pages/) with ``run_id`` selected, in demo mode as ``role``."""
    at = AppTest.from_file(APP, default_timeout=120)
    if run_id:
        at.session_state["run_id"] = run_id
    if role:
        at.session_state["demo_role"] = role
    at.switch_page(f"pages/{page}")
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.fixture
def deferred(monkeypatch: pytest.MonkeyPatch) -> dict[str | None, Callable[[], bytes]]:
    """The callables of the download buttons whose file is made when clicked, keyed by file name: the browser's
    click runs one (Streamlit runs it on a thread of its own, outside the page's script)."""
    from streamlit.runtime.media_file_manager import MediaFileManager

    captured: dict[str | None, Callable[[], bytes]] = {}
    original = MediaFileManager.add_deferred

    def spy(self, data_callable, mimetype, coordinates, file_name=None, **kwargs):  # type: ignore[no-untyped-def]
        captured[file_name] = data_callable
        return original(self, data_callable, mimetype, coordinates, file_name=file_name, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", spy)
    return captured


@pytest.fixture
def downloads(monkeypatch: pytest.MonkeyPatch) -> dict[str | None, bytes]:
    """The bytes behind every download button rendered, keyed by file name."""
    captured: dict[str | None, bytes] = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def spy(self, path_or_data, mimetype, kind, filename=None):  # type: ignore[no-untyped-def]
        captured[filename] = path_or_data if isinstance(path_or_data, bytes) else str(path_or_data).encode()
        return original(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", spy)
    return captured
