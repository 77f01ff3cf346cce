"""Helpers shared by the review tests (a module with a unique name, so that imports from test
files never pick up another directory's conftest)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pytest

PASSWORD = "correct horse battery"  # every test account's password
N_IMAGES = 40  # images in the synthetic project


def synthetic_inputs(tmp: Path) -> dict:
    """A 40-image label file, two models' predictions and a folder with two real PNG images.

    Planted: images 0-4 have a novel class (500 + i) predicted by *both* models (they must rank
    first in the novel queue); images 5-9 have one model predicting a novel class; the rest are
    predicted correctly by both models.
    """
    from PIL import Image as PILImage

    from errata.io.predictions import Predictions

    names = [f"ILSVRC2012_val_{i + 1:08d}.JPEG" for i in range(N_IMAGES)]
    label_of = [(i * 7) % 100 for i in range(N_IMAGES)]  # classes 0-99, few collisions
    labels = {"images": {n: {"correct": [c], "original": c} for n, c in zip(names, label_of)}}
    (tmp / "labels.json").write_text(json.dumps(labels))
    a = np.array(label_of, dtype=np.int16)
    b = a.copy()
    a[:5] = b[:5] = 500 + np.arange(5)
    a[5:10] = 600 + np.arange(5)
    scores = np.full((N_IMAGES, 1000), 1e-4, dtype=np.float32)
    scores[np.arange(N_IMAGES), a] = 0.9
    models = [
        Predictions(
            file_names=np.array(names, dtype=object), topk=a[:, None], scores=scores, name="model-a"
        ),
        Predictions(file_names=np.array(names, dtype=object), topk=b[:, None], name="model-b"),
    ]
    img_dir = tmp / "images"
    img_dir.mkdir()
    for n in names[:2]:
        PILImage.new("RGB", (64, 48), (200, 80, 40)).save(img_dir / n, format="PNG")
    (tmp / "secret.txt").write_text("top secret")
    golden = {names[20]: {str(label_of[20]): "correct", "900": "wrong"}}
    (tmp / "golden.json").write_text(json.dumps(golden))
    return {
        "names": names,
        "labels": tmp / "labels.json",
        "models": models,
        "images": img_dir,
        "golden": tmp / "golden.json",
        "label_of": label_of,
    }


def make_project(
    tmp: Path, *, db_url: str | None = None, reviews_per_item: int = 3, classify_images: int = 10
):
    """Create the synthetic project (admin 'admin', annotators 'ann1', 'ann2', trainee 'ann3')."""
    from errata.review import init_project, storage

    inputs = synthetic_inputs(tmp)
    init_project(
        tmp / "project",
        labels=inputs["labels"],
        predictions=inputs["models"],
        images=inputs["images"],
        db_url=db_url,
        golden=inputs["golden"],
        audit_per_class=1,
        classify_images=classify_images,
        reviews_per_item=reviews_per_item,
    )
    project = storage.open_project(tmp / "project")
    storage.add_annotator(project, "admin", PASSWORD, admin=True)
    storage.add_annotator(project, "ann1", PASSWORD)
    storage.add_annotator(project, "ann2", PASSWORD)
    storage.add_annotator(project, "ann3", PASSWORD, training=True)
    return project, inputs


def fresh_database(server: str) -> str:
    """The URL of a new, empty database on the test PostgreSQL ``server`` (a URL without a
    database name, as the ``postgres_server`` fixture yields)."""
    import uuid

    import sqlalchemy as sa

    name = "t_" + uuid.uuid4().hex[:12]
    eng = sa.create_engine(server + "/postgres", isolation_level="AUTOCOMMIT")
    with eng.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    eng.dispose()
    return f"{server}/{name}"


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "page has no CSRF token"
    return m.group(1)


def login(client, name: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    token = csrf_of(client.get("/login").text)
    return client.post(
        "/login",
        data={"name": name, "password": password, "csrf_token": token},
        follow_redirects=False,
    )


def data_dir() -> Path:
    d = os.environ.get("ERRATA_DATA_DIR")
    if not d or not Path(d, "real_raters").is_dir():
        pytest.skip("ERRATA_DATA_DIR is not set to the reference data (run through `make test`)")
    return Path(d)


def free_port() -> int:
    """A free loopback port. Under pytest-xdist (``make test`` runs two processes) each process
    keeps to a residue class of its own modulo their count, so two test processes never pick
    the same port, and a server never answers another process's test. (Tried at random in
    20000-59999: the kernel's own pick, a bind to port 0, favours even ports.)"""
    import os
    import random
    import socket

    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    own = int(worker[2:]) % count if worker[2:].isdigit() else 0
    for _ in range(200):
        port = random.randrange(20000 + own, 60000, count)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError("no free loopback port of this test process's own")


def start_server(project_dir: Path, *, timeout: float = 30.0):  # type: ignore[no-untyped-def]
    """Run ``errata review serve`` in a child process on a free loopback port; returns
    ``(process, base_url)`` once the log-in page answers; a port some other program took between
    the pick and the bind is picked again."""
    for _ in range(3):
        proc, url = _serve(project_dir, free_port(), timeout)
        if proc is not None:
            return proc, url
    raise RuntimeError(f"server did not start: {url}")


def _serve(project_dir: Path, port: int, timeout: float):  # type: ignore[no-untyped-def]
    """``(process, url)``, or ``(None, reason)`` when the port was taken meanwhile."""
    import subprocess
    import sys
    import time

    import httpx

    proc = subprocess.Popen(
        [sys.executable, "-m", "errata", "review", "serve", str(project_dir), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode()[-2000:]
            if "address already in use" in err.lower():
                return None, f"port {port} taken"
            raise RuntimeError(f"server exited: {err}")
        try:
            if httpx.get(url + "/login", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start in time")
