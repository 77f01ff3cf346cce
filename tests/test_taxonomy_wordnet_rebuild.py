"""Rebuilding the WordNet extract from Debian's WordNet 3.0 gives the shipped resource."""

from __future__ import annotations

import gzip
import importlib.util
import json
from pathlib import Path

import pytest

from errata import resources

ROOT = Path(__file__).resolve().parent.parent


def _tool():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(
        "build_wordnet", ROOT / "tools" / "build_wordnet.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_wordnet_extract_rebuilds_identically(tmp_path: Path) -> None:
    pytest.importorskip("nltk", reason="NLTK (dev group) is needed to rebuild the extract")
    tool = _tool()
    wordnet_dir = tool.default_wordnet_dir()
    if not (wordnet_dir / "data.noun").is_file():
        pytest.skip(
            f"WordNet 3.0 not installed at {wordnet_dir} (Debian: wordnet-base "
            "wordnet-sense-index; `make test` installs them)"
        )
    built = tool.build(tmp_path, wordnet_dir)
    shipped = gzip.decompress(resources.read_bytes("wordnet.tsv.gz"))
    assert gzip.decompress(built.read_bytes()) == shipped
    sidecar = json.loads((tmp_path / "wordnet.tsv.gz.source.json").read_text())
    assert sidecar["synsets"] == resources.source_of("wordnet.tsv.gz")["synsets"]
    assert set(sidecar["source"]["debian_packages"]) == {"wordnet-base", "wordnet-sense-index"}
