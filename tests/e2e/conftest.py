"""One headless Chromium per test worker, shared by every browser test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.test_browser import CHROMIUM, CHROMIUM_ARGS, _require_chromium


@pytest.fixture(scope="session")
def chromium() -> Iterator[object]:
    """The browser; each test opens its own context (cookies, storage) and closes it."""
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
