"""Fixtures for the review app tests: a tiny synthetic project (no real data needed) and
logged-in test clients."""

from __future__ import annotations

import pytest

pytest.importorskip("fastapi", reason="needs the 'review' extra")

import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for the _browser helper
from review_helpers import fresh_database, login, make_project  # noqa: E402


@pytest.fixture(scope="session")
def template_project(tmp_path_factory):
    """The synthetic project built once (argon2 hashing is deliberately slow); tests get copies."""
    tmp = tmp_path_factory.mktemp("template")
    proj, inputs = make_project(tmp)
    proj.dispose()
    return tmp / "project", inputs


@pytest.fixture
def project(template_project, tmp_path):
    """A fresh copy of the synthetic project (its own SQLite file) for one test."""
    import shutil

    from errata.review import storage

    src, inputs = template_project
    dst = tmp_path / "project"
    shutil.copytree(src, dst)
    proj = storage.open_project(dst)
    yield proj, inputs
    proj.dispose()


def _logged_in_clients(proj):  # type: ignore[no-untyped-def]
    """Yield ``make(name)`` → a TestClient of ``proj``'s app, logged in as ``name`` (none when
    ``name`` is None); every client made is closed afterwards."""
    from fastapi.testclient import TestClient

    from errata.review.app import create_app

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


@pytest.fixture
def client_for(project):
    """``client_for(name)`` → a TestClient logged in as ``name``."""
    yield from _logged_in_clients(project[0])


@pytest.fixture(scope="session")
def postgres_server():
    """A PostgreSQL server started from Debian's binaries in a temporary directory, for this test
    session only (as the ``postgres`` user when running as root, since initdb refuses root)."""
    import glob
    import os
    import pwd
    import shutil
    import subprocess

    from review_helpers import free_port

    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not bins:
        pytest.skip(
            "PostgreSQL binaries not found under /usr/lib/postgresql/*/bin "
            "(Debian package 'postgresql'; `make test` installs it)"
        )
    bindir = os.path.dirname(bins[-1])
    import tempfile
    from pathlib import Path

    # not under pytest's tmp dir: that is private to root, and the server runs as 'postgres'
    base = Path(tempfile.mkdtemp(prefix="errata-pg-"))
    data = base / "data"
    prefix: list[str] = []
    if os.geteuid() == 0:
        try:
            pw = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' user to run initdb as")
        os.chown(base, pw.pw_uid, pw.pw_gid)
        os.chmod(base, 0o700)
        prefix = [shutil.which("runuser") or "runuser", "-u", "postgres", "--"]

    class PortTaken(Exception):
        """pg_ctl could not bind the port picked (another program took it meanwhile)."""

    def run(*cmd: str, retry: bool = False) -> None:
        r = subprocess.run(prefix + list(cmd), capture_output=True, text=True, timeout=60)
        if r.returncode:
            log = base / "log"
            if retry and log.exists() and "already in use" in log.read_text(errors="replace"):
                log.unlink()
                raise PortTaken(cmd[0])
            shutil.rmtree(base, ignore_errors=True)
            raise RuntimeError(f"{cmd[0]} failed: {r.stderr.strip()[-1000:]}")

    run(
        f"{bindir}/initdb",
        "-D",
        str(data),
        "-A",
        "trust",
        "-U",
        "postgres",
        "--no-sync",
        "-E",
        "UTF8",
    )
    # a port some other program took between the pick and the bind is picked again
    for attempt in range(3):
        port = free_port()
        opts = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off"
        try:
            run(
                f"{bindir}/pg_ctl",
                "-D",
                str(data),
                "-o",
                opts,
                "-l",
                str(base / "log"),
                "-w",
                "-t",
                "30",
                "start",
                retry=attempt < 2,
            )
            break
        except PortTaken:
            continue
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run(
            prefix + [f"{bindir}/pg_ctl", "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend_project(request, tmp_path):
    """The synthetic project on SQLite and on a fresh PostgreSQL database."""
    db_url = None
    if request.param == "postgres":
        db_url = fresh_database(request.getfixturevalue("postgres_server"))
    proj, inputs = make_project(tmp_path, db_url=db_url)
    yield proj, inputs
    proj.dispose()


@pytest.fixture
def backend_client_for(backend_project):
    """``backend_client_for(name)`` → a TestClient logged in as ``name``, on SQLite and on
    PostgreSQL (the app of :func:`backend_project`)."""
    yield from _logged_in_clients(backend_project[0])
