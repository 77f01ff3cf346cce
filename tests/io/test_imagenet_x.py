"""ImageNet-X factor annotations as non-prototypical evidence: files in the package's format,
written here, and the calibrated factors on the real expert rows."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import errata
from errata.core import categories as K
from errata.core.pipeline import classify, reasons
from errata.exceptions import ErrataInputError, MissingExtraError
from errata.io import annotations as EA
from tests import planted as P


def _write(path: Path, rows: dict[str, list[str]]) -> Path:
    """An annotation file in imagenet_x's multi-factor format: per image the factors set."""
    with path.open("w") as fh:
        for name, factors in rows.items():
            row = {"file_name": name, "class": 1, **{f: 0 for f in EA.IMAGENET_X_ALL_FACTORS}}
            row.update({f: 1 for f in factors})
            row |= {"justification": "planted", "one_word": "planted"}
            fh.write(json.dumps(row) + "\n")
    return path


def test_planted_factors_mark_non_prototypical_images(tmp_path: Path) -> None:
    names = [P.VAL.format(i + 1) for i in range(5)]
    path = _write(
        tmp_path / "x.jsonl",
        {
            names[0]: ["pattern", "pose"],  # a calibrated factor (pattern)
            names[1]: ["pose", "background"],  # common factors only: no evidence
            names[2]: ["subcategory", "texture"],  # named by the most telling one
            names[3]: [],
        },
    )
    got_names, factors = EA.load_imagenet_x(path)
    assert got_names.tolist() == names[:4] and factors.shape == (4, 16)
    labels = P.label_set([[100]] * 5, [100] * 5)
    tax = P.taxonomy({"A": [10, 11]})
    npx = EA.nonprototypical(labels, imagenet_x=path)
    from errata.core.evidence import make_context

    ctx = make_context(labels, tax, nonprototypical=npx)
    res = classify(ctx, np.array([200] * 5))
    cats = [K.NAMES[c] for c in res.category[0].tolist()]
    x = "non-prototypical (ImageNet-X)"
    assert cats == [x, "model failure", x, "model failure", "model failure"]
    text = dict(zip(res.errors.image.tolist(), reasons(ctx, res)))
    assert text[0] == "non-prototypical image: ImageNet-X factor 'pattern'"
    assert text[2] == "non-prototypical image: ImageNet-X factor 'texture'"


def test_bad_annotation_file_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"file_name": "a"}\nnot json\n')
    with pytest.raises(ErrataInputError, match=r"bad.jsonl: line 2 is not JSON"):
        EA.load_imagenet_x(bad)


def test_missing_extra_names_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    monkeypatch.setenv("ERRATA_DATA_DIR", str(tmp_path))
    with pytest.raises(MissingExtraError, match=r"--extra imagenetx|imagenet-errata\[imagenetx\]"):
        EA.imagenet_x_path(True)


def test_calibrated_factors_on_the_expert_rows(data_dir: Path) -> None:
    """The figures of the docs/benchmarks (in-sample: the factors were chosen on these rows)."""
    pytest.importorskip("imagenet_x")
    from errata.experts import expert_agreement

    a = expert_agreement("vit3b-mistakes", labels="real", options=errata.Options(imagenet_x=True))
    npc = a.summary["per_category"]["Non-prototypical"]
    # 21 calls since the default spurious rule keeps within the published band (its rejected
    # share leaves more errors to this stage; 18 with the rule before, 'above-chance')
    assert (npc["automated"], npc["both"], npc["expert"]) == (21, 4, 17)
    assert a.summary["agreement"] == pytest.approx(154 / 229)  # 157 with 'above-chance'
