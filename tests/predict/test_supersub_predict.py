"""`errata predict --supersub`: a superclass model and one specialist per superclass, from
checkpoints of tiny random-weight timm models, run as one composite; and prediction on the
200-class test sets (class paths, restricted ranking)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from errata import resources, taxonomy
from errata.exceptions import ErrataInputError

pytest.importorskip("timm", reason="needs the 'predict' extra (uv sync --extra predict)")

WNIDS = resources.classes().wnids
CLASSES = (207, 15, 6, 400)  # golden retriever (dog), robin (bird), stingray (fish), gown (none)


@pytest.fixture(scope="module")
def class_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Images in class folders; file names repeat across folders, as in ImageNet-R."""
    from PIL import Image

    root = tmp_path_factory.mktemp("imgs")
    rng = np.random.default_rng(0)
    for c in CLASSES:
        (root / WNIDS[c]).mkdir()
        for k in range(3):
            Image.fromarray(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)).save(
                root / WNIDS[c] / f"art_{k}.jpg"
            )
    return root


def write_spec(
    folder: Path, tiny_model: str, *, skip: str | None = None, wrong: str | None = None
) -> Path:
    """A composite of random-weight tiny timm models, saved as checkpoints."""
    import timm
    import torch

    sc = taxonomy.supersub10()
    torch.manual_seed(0)
    torch.save(timm.create_model(tiny_model, num_classes=len(sc)).state_dict(), folder / "s.pth")
    lines = [
        'name = "tiny-supersub"',
        'taxonomy = "supersub10"',
        "[superclass]",
        f'model = "{tiny_model}"',
        'checkpoint = "s.pth"',
    ]
    for j, name in enumerate(sc.names.tolist()):
        k = int(sc.members[:, j].sum()) + (1 if name == wrong else 0)
        torch.save(timm.create_model(tiny_model, num_classes=k).state_dict(), folder / f"{j}.pth")
        if name != skip:
            lines += [
                f'[specialists."{name}"]',
                f'model = "{tiny_model}"',
                f'checkpoint = "{j}.pth"',
            ]
    (folder / "spec.toml").write_text("\n".join(lines) + "\n")
    return folder / "spec.toml"


def test_composite_is_the_superclass_model_then_its_specialist(
    class_folder: Path, tmp_path: Path, tiny_model: str
) -> None:
    import torch

    from errata.core.supersub import compose
    from errata.io.images import list_images
    from errata.openworld.images import iter_batches
    from errata.predict import load_model, load_supersub_spec, predict

    spec = load_supersub_spec(write_spec(tmp_path, tiny_model))
    (rep,) = predict(
        [spec],
        class_folder,
        tmp_path / "out",
        batch_size=4,
        shard_size=5,
        device="cpu",
        logits=True,
        dataset="imagenet-v2",
    )
    with np.load(rep.path) as z:
        names, topk, probs, chosen = z["file_names"], z["topk"], z["probs"], z["superclass"]
        assert str(z["weights"]).startswith("Super-Sub composite (supersub10)")
    assert names[0] == f"{WNIDS[6]}/art_0.jpg" and len(names) == 12  # class paths, sorted
    # the same images through the same models, composed by hand
    folder = list_images(class_folder, dataset="imagenet-v2")
    members = taxonomy.load("supersub10").superclass_members
    sup, transform, _ = load_model(spec.superclass, pretrained=False)
    with torch.inference_mode():
        ((_, batch, _),) = iter_batches(folder.root, folder.paths, transform, batch_size=12)
        outs = [load_model(m, pretrained=False)[0](batch).numpy() for m in spec.specialists]
        want_topk, want_sup, want_p = compose(sup(batch).numpy(), outs, members, k=5)
    np.testing.assert_array_equal(topk, want_topk)
    np.testing.assert_array_equal(chosen, want_sup)
    np.testing.assert_allclose(probs.astype(np.float32), want_p, atol=2e-3)
    assert members[topk[:, 0], chosen].all()  # the class is in the chosen superclass
    # errata reads the composite like any model (the ranked classes, not the probabilities)
    import errata

    a = errata.analyze(rep.path, dataset="imagenet-v2")
    assert a.metrics["top1"]["images"] == 12 and a.predictions.k == 5


def test_bad_composites(tmp_path: Path, tiny_model: str, class_folder: Path) -> None:
    from errata.predict import load_supersub_spec, predict

    (tmp_path / "a").mkdir()
    with pytest.raises(ErrataInputError, match="no specialist for superclass 'fungus'"):
        load_supersub_spec(write_spec(tmp_path / "a", tiny_model, skip="fungus"))
    (tmp_path / "b").mkdir()
    spec = load_supersub_spec(write_spec(tmp_path / "b", tiny_model, wrong="fish"))
    with pytest.raises(ErrataInputError, match=r"cannot load 'test_resnet'.*size mismatch"):
        predict([spec], class_folder, tmp_path / "out", device="cpu", dataset="imagenet-v2")
    bad = tmp_path / "bad.toml"
    bad.write_text('taxonomy = "wordnet"\n')
    with pytest.raises(ErrataInputError, match="taxonomy = 'wordnet'; expected one of"):
        load_supersub_spec(bad)
    bad.write_text('taxonomy = "supersub10"\n[superclass]\nmodel = "x"\n[specialists.cats]\n')
    with pytest.raises(ErrataInputError, match=r"\[specialists.cats\]: 'cats' is not a superclass"):
        load_supersub_spec(bad)
    text = (tmp_path / "b" / "spec.toml").read_text().replace('checkpoint = "s.pth"', "")
    (tmp_path / "b" / "spec.toml").write_text(text)
    with pytest.raises(ErrataInputError, match=r"\[superclass\]: checkpoint = 'file' is required"):
        load_supersub_spec(tmp_path / "b" / "spec.toml")


def test_predict_on_imagenet_a_ranks_its_200_classes(
    class_folder: Path, tmp_path: Path, tiny_model: str
) -> None:
    import torch

    from errata.core import datasets as D
    from errata.predict import predict

    a_folder = tmp_path / "a"
    for c in (6, 15):  # ImageNet-A classes only
        (a_folder / WNIDS[c]).mkdir(parents=True)
        for f in (class_folder / WNIDS[c]).iterdir():
            (a_folder / WNIDS[c] / f.name).write_bytes(f.read_bytes())
    torch.manual_seed(0)
    (rep,) = predict(
        [tiny_model],
        a_folder,
        tmp_path / "out",
        pretrained=False,
        device="cpu",
        logits=True,
        dataset="imagenet-a",
    )
    with np.load(rep.path) as z:
        assert z["file_names"].tolist()[:2] == [f"{WNIDS[6]}/art_0.jpg", f"{WNIDS[6]}/art_1.jpg"]
        mask = D.get("imagenet-a").mask
        assert mask[z["topk"]].all()
        logits = z["logits"].astype(np.float32)
        want = np.where(mask, logits, -np.inf).argmax(axis=1)
        np.testing.assert_array_equal(z["topk"][:, 0], want)
    tench = tmp_path / "t" / WNIDS[0]  # not an ImageNet-A class
    tench.mkdir(parents=True)
    (tench / "x.jpg").write_bytes((a_folder / WNIDS[6] / "art_0.jpg").read_bytes())
    with pytest.raises(ErrataInputError, match="not one of the 200 ImageNet-A classes"):
        predict(
            [tiny_model],
            tmp_path / "t",
            tmp_path / "o2",
            pretrained=False,
            device="cpu",
            dataset="imagenet-a",
        )
