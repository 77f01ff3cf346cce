"""Fixtures for the review app tests: a tiny synthetic project (no real data needed) and
logged-in test clients."""

from __future__ import annotations

import pytest

pytest.importorskip("fastapi", reason="needs the 'review' extra")

from review_helpers import login, make_project  # noqa: E402


@pytest.fixture
def project(tmp_path):
    proj, inputs = make_project(tmp_path)
    yield proj, inputs
    proj.engine.dispose()


@pytest.fixture
def client_for(project):
    """``client_for(name)`` → a TestClient logged in as ``name``."""
    from fastapi.testclient import TestClient

    from errata.review.app import create_app

    proj, _ = project
    app = create_app(proj)
    clients = []

    def make(name: str | None = None):  # type: ignore[no-untyped-def]
        c = TestClient(app, base_url="http://127.0.0.1")
        clients.append(c)
        if name:
            r = login(c, name)
            assert r.status_code == 303, r.text
        return c

    yield make
    for c in clients:
        c.close()
