"""Reusable Playwright helper: Debian's chromium, headless, in a throw-away profile.

Playwright cannot download its own browsers on these machines, so this launches the system
``chromium`` (``/usr/bin/chromium``, Debian package ``chromium``; ``make test`` installs it) and
skips with a clear reason when it or Playwright is missing. ``tests/conftest.py`` makes the
``browser`` (session) and ``chromium_page`` (per test) fixtures available everywhere::

    @pytest.mark.browser
    def test_x(chromium_page):
        chromium_page.goto(url)
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM_ARGS = [  # quiet, offline, no GPU, usable as root in containers
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 900}  # screenshots are taken at this size


def chromium_executable() -> str | None:
    """Path of Debian's chromium: ``$ERRATA_CHROMIUM``, else ``chromium`` on PATH, else the
    Debian location."""
    for cand in (
        os.environ.get("ERRATA_CHROMIUM"),
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
        "/usr/bin/chromium",
    ):
        if cand and Path(cand).is_file() and os.access(cand, os.X_OK):
            return cand
    return None


@pytest.fixture(scope="session")
def playwright_session():  # type: ignore[no-untyped-def]
    """The test session's one Playwright: its sync API allows only one instance per thread, so
    every browser test (reports, review app) shares this one."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright package")
    with sync_api.sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright_session):  # type: ignore[no-untyped-def]
    """Headless Debian chromium for the whole session (each test opens its own context)."""
    exe = chromium_executable()
    if exe is None:
        pytest.skip(
            "Debian's chromium is not installed (apt-get install chromium; `make test` installs it)"
        )
    b = playwright_session.chromium.launch(executable_path=exe, headless=True, args=CHROMIUM_ARGS)
    yield b
    b.close()


@pytest.fixture
def chromium_page(browser):  # type: ignore[no-untyped-def]
    """A fresh page in a fresh (incognito) browser context, closed after the test."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def screenshot_dir(default: Path) -> Path:
    """Where tests save screenshots: ``$ERRATA_SCREENSHOTS`` when set (to look at them), else
    ``default``."""
    d = Path(os.environ.get("ERRATA_SCREENSHOTS") or default)
    d.mkdir(parents=True, exist_ok=True)
    return d
