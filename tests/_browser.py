"""Reusable Playwright helper: Debian's chromium, headless, in a throw-away profile.

Playwright cannot download its own browsers on these machines, so this launches the system
``chromium`` (``/usr/bin/chromium``, Debian package ``chromium``; ``make test`` installs it) and
skips with a clear reason when it or Playwright is missing. Use the ``chromium_page`` fixture
(import it into a ``conftest.py``) or :func:`chromium_context` directly::

    from _browser import chromium_page  # noqa: F401  (in conftest.py)

    @pytest.mark.browser
    def test_x(chromium_page):
        chromium_page.goto(url)
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
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


@contextlib.contextmanager
def chromium_context(**context_options) -> Iterator:  # type: ignore[no-untyped-def]
    """A Playwright BrowserContext on headless chromium with a temporary user-data-dir."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright package")
    exe = chromium_executable()
    if exe is None:
        pytest.skip(
            "Debian's chromium is not installed (apt-get install chromium; `make test` installs it)"
        )
    profile = tempfile.mkdtemp(prefix="errata-chromium-")
    try:
        with sync_api.sync_playwright() as p:
            context = p.chromium.launch_persistent_context(
                profile,
                executable_path=exe,
                headless=True,
                args=CHROMIUM_ARGS,
                viewport=VIEWPORT,
                **context_options,
            )
            try:
                yield context
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def chromium_page():  # type: ignore[no-untyped-def]
    """A fresh page in headless chromium; closed with its profile after the test."""
    with chromium_context() as context:
        page = context.pages[0] if context.pages else context.new_page()
        page.set_default_timeout(15_000)
        yield page


def screenshot_dir(default: Path) -> Path:
    """Where tests save screenshots: ``$ERRATA_SCREENSHOTS`` when set (to look at them), else
    ``default``."""
    d = Path(os.environ.get("ERRATA_SCREENSHOTS") or default)
    d.mkdir(parents=True, exist_ok=True)
    return d
