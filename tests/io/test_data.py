"""The data directory and registry: paths, verified downloads, offline errors."""

from __future__ import annotations

import hashlib
import http.server
import json
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
    """Without the review extra, a review command says what installs it: in the project's own
    environment (this one, made by make env, which has no pip) make env / uv sync."""
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
    assert "'make env'" in done.stderr
    assert "uv sync --frozen --inexact --extra review" in done.stderr
    assert "pip install" not in done.stderr  # the project's environment has no pip
    assert "Traceback" not in done.stderr


def test_install_hint_fits_the_environment(tmp_path: Path) -> None:
    from errata.exceptions import install_hint

    project = tmp_path / "errata"
    (project / ".venv").mkdir(parents=True)
    (project / "uv.lock").write_text("")
    (project / "pyproject.toml").write_text('[project]\nname = "imagenet-errata"\n')
    assert "uv sync --frozen --inexact --extra predict" in install_hint(
        "predict", prefix=str(project / ".venv")
    )
    other = tmp_path / "venv"
    assert install_hint("predict", prefix=str(other), has_pip=True) == (
        "pip install 'imagenet-errata[predict]'"
    )
    assert install_hint("predict", prefix=str(other), has_pip=False) == (
        "uv pip install 'imagenet-errata[predict]'"
    )
    # another project's .venv is not errata's
    (project / "pyproject.toml").write_text('[project]\nname = "something-else"\n')
    assert "pip install" in install_hint("predict", prefix=str(project / ".venv"), has_pip=True)


# --- verification when used, memoised (issue 20) ------------------------------------------------


def _copy_registry_file(src_dir: Path, dst_dir: Path, name: str) -> Path:
    entry = data.REGISTRY[name]
    target = dst_dir / entry.path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes((src_dir / entry.path).read_bytes())
    return target


def test_a_changed_registry_file_is_refused_when_used(  # type: ignore[no-untyped-def]
    data_dir: Path, tmp_path: Path, monkeypatch
) -> None:
    import numpy as np

    monkeypatch.setenv(data.ENV_VAR, str(tmp_path))
    target = _copy_registry_file(data_dir, tmp_path, "cleanlab-resnet50")
    assert data.path("cleanlab-resnet50") == target  # the same bytes: verified
    pred = np.load(target)
    pred[:5000] = (pred[:5000] + 1) % 1000
    np.save(target, pred)
    with pytest.raises(ErrataInputError) as info:
        data.path("cleanlab-resnet50")
    assert str(info.value) == (
        f"{target}: its sha256 is not the registry's for 'cleanlab-resnet50' (the file was "
        "changed, truncated or replaced); run `errata data fetch cleanlab-resnet50` to download "
        "it again, or `errata --no-verify ...` to use it as it is"
    )
    monkeypatch.setenv(data.NO_VERIFY_ENV, "1")  # the explicit opt-out
    assert data.path("cleanlab-resnet50") == target
    import errata

    assert errata.analyze("cleanlab-resnet50").metrics["top1"]["value"] < 0.70


def test_the_hash_is_memoised_on_the_file_identity(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import os

    from errata.io import checksums, files

    path = tmp_path / "f.bin"
    path.write_bytes(b"a" * 1000)
    calls: list[Path] = []
    real = files.sha256_file

    def counted(p):  # type: ignore[no-untyped-def]
        calls.append(Path(p))
        return real(p)

    monkeypatch.setattr(files, "sha256_file", counted)
    first = checksums.sha256_of(path)
    assert checksums.sha256_of(path) == first and len(calls) == 1  # warm: no read
    st = os.stat(path)
    path.write_bytes(b"b" * 1000)  # same size; the modification time put back
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert checksums.sha256_of(path) == hashlib.sha256(b"b" * 1000).hexdigest()
    assert len(calls) == 2  # the ctime moved: hashed again
    memo = json.loads((files.cache_dir() / checksums.MEMO_NAME).read_text())
    assert memo[str(path.resolve())][:5] == checksums.identity(os.stat(path))


def test_a_data_directory_that_is_a_file_is_an_error(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "f").write_text("x")
    monkeypatch.setenv(data.ENV_VAR, str(tmp_path / "f"))
    with pytest.raises(ErrataInputError, match="is a file, not a folder"):
        data.data_dir()
