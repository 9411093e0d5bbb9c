"""Playwright driving Debian's Chromium, headless, against the real stack (tests/stack.py).
Screenshots go to test-artifacts/ (git-ignored)."""
import os

import pytest

from tests.conftest import ARTIFACTS

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-quic"]


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (./moorage install)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        the_browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                 args=CHROMIUM_ARGS)
        yield the_browser
        the_browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1360, "height": 860})
    the_page = context.new_page()
    the_page.set_default_timeout(20_000)
    yield the_page
    context.close()


@pytest.fixture
def shot():
    os.makedirs(ARTIFACTS, exist_ok=True)

    def save(page, name):
        page.screenshot(path=os.path.join(ARTIFACTS, f"{name}.png"), full_page=True)
    return save
