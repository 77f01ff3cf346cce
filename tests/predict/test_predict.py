"""`errata predict`: output format, resumption, bad input, and a small local Ray cluster."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from errata.exceptions import ErrataInputError

pytest.importorskip("timm", reason="needs the 'predict' extra (uv sync --extra predict)")


def _run(image_dir: Path, out: Path, model: str, **kw):
    import torch

    from errata.predict import predict

    torch.manual_seed(0)
    return predict(
        [model] if isinstance(model, str) else model,
        image_dir,
        out,
        pretrained=False,
        batch_size=4,
        shard_size=6,
        device="cpu",
        **kw,
    )


def test_predict_writes_loadable_predictions(image_dir: Path, tmp_path: Path, tiny_model) -> None:
    from errata.io.predictions import load_predictions

    (rep,) = _run(image_dir, tmp_path / "out", tiny_model, logits=True)
    assert rep.path == tmp_path / "out" / f"{tiny_model}.npz"
    assert list(rep.skipped) == ["ILSVRC2012_val_00000021.JPEG"]
    with np.load(rep.path, allow_pickle=False) as z:
        assert z["topk"].shape == (20, 5) and z["topk"].dtype == np.int16
        assert z["logits"].shape == (20, 1000)
        best = np.argsort(-z["logits"].astype(np.float32), axis=1, kind="stable")[:, 0]
        np.testing.assert_array_equal(z["topk"][:, 0], best)
        assert str(z["weights"]).startswith("random weights")
    preds = load_predictions(rep.path)
    assert len(preds) == 20 and preds.file_names[0] == "ILSVRC2012_val_00000001.JPEG"
    assert not list((tmp_path / "out").glob(".*"))  # shards are removed once merged


def test_predict_resumes(image_dir: Path, tmp_path: Path, tiny_model) -> None:
    out = tmp_path / "out"

    class Stop(Exception):
        pass

    def stop(model: str, shard: int) -> None:
        if shard == 1:
            raise Stop

    with pytest.raises(Stop):
        _run(image_dir, out, tiny_model, on_shard=stop)
    assert not (out / f"{tiny_model}.npz").exists()
    (rep,) = _run(image_dir, out, tiny_model)
    assert (rep.computed, rep.reused) == (2, 2)
    (again,) = _run(image_dir, out, tiny_model)
    assert again.computed == 0
    (fresh,) = _run(image_dir, tmp_path / "fresh", tiny_model)
    with np.load(rep.path) as a, np.load(fresh.path) as b:
        np.testing.assert_array_equal(a["topk"], b["topk"])  # same seed, same random weights


def test_bad_input(tmp_path: Path, tiny_model) -> None:
    from errata.predict import resolve_models

    with pytest.raises(ErrataInputError, match="unknown model 'resnet5O'.*resnet50"):
        resolve_models(["resnet5O"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(ErrataInputError, match="no images found"):
        _run(tmp_path / "empty", tmp_path / "out", tiny_model)
    listing = tmp_path / "models.txt"
    listing.write_text(f"# a zoo\n{tiny_model}\ntv:resnet18  # torchvision\n")
    specs = resolve_models(str(listing))
    assert [(s.name, s.library) for s in specs] == [
        (tiny_model, "timm"),
        ("resnet18", "torchvision"),
    ]


@pytest.mark.slow
def test_ray_local_cluster(image_dir: Path, tmp_path: Path, tiny_model) -> None:
    import time

    import timm
    import torch

    ray = pytest.importorskip("ray", reason="needs the 'predict' extra (ray)")
    # random weights differ per process: share them through a checkpoint (tests that path too)
    ckpt = tmp_path / "tiny.pth"
    torch.save(timm.create_model(tiny_model, pretrained=False).state_dict(), ckpt)
    listing = tmp_path / "zoo.txt"
    listing.write_text(f"{tiny_model} {ckpt}\n")
    t0 = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        (rep,) = _run(image_dir, tmp_path / "ray", str(listing), ray="local")
    finally:
        ray.shutdown()
    assert time.perf_counter() - t0 < 150, "a 2-CPU local Ray run of 4 tiny tasks took too long"
    (local,) = _run(image_dir, tmp_path / "local", str(listing))
    with np.load(rep.path) as a, np.load(local.path) as b:
        assert a["file_names"].tolist() == b["file_names"].tolist()
        assert str(a["weights"]) == f"local checkpoint {ckpt}"
        np.testing.assert_array_equal(a["topk"], b["topk"])
