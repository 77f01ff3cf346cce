"""The data directory and registry: paths, verified downloads, offline errors."""

from __future__ import annotations

import hashlib
import http.server
import threading
from pathlib import Path

import pytest

from errata.exceptions import ErrataInputError
from errata.io import data


@pytest.fixture()
def server(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A loopback HTTP server over a folder holding one file."""
    root = tmp_path / "www"
    root.mkdir()
    (root / "file.bin").write_bytes(b"payload")

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **k):  # type: ignore[no-untyped-def]
            super().__init__(*a, directory=str(root), **k)

        def log_message(self, *a):  # type: ignore[no-untyped-def]
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


def register(monkeypatch, url: str, sha: str | None) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setitem(
        data.REGISTRY,
        "test-file",
        data.DataFile("test-file", "sub/file.bin", url, sha, "CC0", "test"),
    )


def test_data_dir_follows_env(monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ERRATA_DATA_DIR", str(tmp_path))
    assert data.data_dir() == tmp_path
    assert data.local_path("real") == tmp_path / "real_raters" / "real.json"


def test_shared_data_is_found_and_verified(data_dir: Path) -> None:
    for name in ("cleanlab-resnet50", "real", "vit3b-mistakes", "real-scores"):
        assert data.path(name).exists()
        assert data.verify(name) is True, name


def test_missing_file_says_how_to_get_it(monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ERRATA_DATA_DIR", str(tmp_path))
    with pytest.raises(
        ErrataInputError,
        match=r"errata data fetch shankar.* or place https://\S+"
        r"human_accuracy_v3\.0\.0\.json at .*shankar/human_accuracy_v3\.0\.0\.json",
    ):
        data.path("shankar")


def test_fetch_verifies_hash(monkeypatch, tmp_path: Path, server: str) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ERRATA_DATA_DIR", str(tmp_path / "d"))
    register(monkeypatch, server + "file.bin", hashlib.sha256(b"payload").hexdigest())
    got = data.fetch("test-file")
    assert got.read_bytes() == b"payload" and data.verify("test-file") is True


def test_fetch_refuses_hash_mismatch(monkeypatch, tmp_path: Path, server: str) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ERRATA_DATA_DIR", str(tmp_path / "d"))
    register(monkeypatch, server + "file.bin", "0" * 64)
    with pytest.raises(ErrataInputError, match="sha256 does not match .* refused and not kept"):
        data.fetch("test-file")
    assert not (tmp_path / "d" / "sub" / "file.bin").exists()
    assert not [p for p in (tmp_path / "d").rglob("*") if p.is_file()]


def test_fetch_offline_names_url_and_path(monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ERRATA_DATA_DIR", str(tmp_path / "d"))
    register(monkeypatch, "http://127.0.0.1:9/file.bin", None)  # port 9 (discard): refused
    with pytest.raises(ErrataInputError) as info:
        data.fetch("test-file")
    msg = str(info.value)
    assert "http://127.0.0.1:9/file.bin" in msg and str(tmp_path / "d" / "sub" / "file.bin") in msg
    assert "\n" not in msg


def test_unknown_name_lists_known() -> None:
    with pytest.raises(
        ErrataInputError, match="unknown data file 'nope' \\(known: cleanlab-resnet50"
    ):
        data.entry("nope")


def test_missing_extra_is_one_line(tmp_path: Path) -> None:
    """Without the review extra, a review command says which pip install to run."""
    import subprocess
    import sys

    np_file = tmp_path / "p.npy"
    np_file.write_bytes(b"")
    code = (
        "import sys; sys.modules['sqlalchemy'] = None; sys.argv = ['errata', 'review', 'init', "
        f"{str(tmp_path / 'proj')!r}, '-p', {str(np_file)!r}]; "
        "from errata.cli import main; main()"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 2, done.stderr
    assert "pip install 'imagenet-errata[review]'" in done.stderr
    assert "Traceback" not in done.stderr
