"""Embedding runs: shapes, resumption after an interruption, skipped images, file schemas."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from errata.exceptions import ErrataInputError

pytest.importorskip("open_clip", reason="needs the 'openworld' extra (uv sync --extra openworld)")
pytest.importorskip("faiss", reason="needs the 'openworld' extra (uv sync --extra openworld)")


def test_embed_shapes_and_skips(image_dir: Path, tiny_clip, tmp_path: Path, class_wnids) -> None:
    from errata.openworld import embed_folder, load_embeddings

    rep = embed_folder(image_dir, tmp_path / "emb", clip=tiny_clip, batch_size=5, shard_size=7)
    assert rep.n_images == 25 and rep.n_shards == 4 and rep.computed == 4 and rep.reused == 0
    assert list(rep.skipped) == [f"{class_wnids[0]}_broken0.JPEG"]
    assert "weights" in rep.weights or "random" in rep.weights
    emb = load_embeddings(tmp_path / "emb")
    assert emb.vectors.shape == (24, 32) and emb.vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(emb.vectors, axis=1), 1, atol=1e-3)
    from errata import resources

    expected = {resources.classes().index_of(w) for w in class_wnids}
    assert set(emb.class_index.tolist()) == expected
    assert emb.skipped == rep.skipped and emb.model == "errata-tiny-clip"


def test_resume_after_interruption(image_dir: Path, tiny_clip, tmp_path: Path, class_wnids) -> None:
    from errata.openworld import embed_folder, load_embeddings

    out = tmp_path / "emb"

    class Stop(Exception):
        pass

    def stop_after_two(done: int, total: int) -> None:
        if done == 2:
            raise Stop

    with pytest.raises(Stop):
        embed_folder(
            image_dir, out, clip=tiny_clip, batch_size=5, shard_size=7, on_shard=stop_after_two
        )
    assert sorted(p.name for p in out.glob("shard-*.npz")) == ["shard-00000.npz", "shard-00001.npz"]
    assert not list(out.glob(".*.tmp"))  # no half-written shard left behind
    with pytest.raises(ErrataInputError, match="incomplete"):
        load_embeddings(out)
    (out / ".shard-00002.npz.abc.tmp").write_bytes(b"half a file from a killed process")
    mtimes = {p.name: p.stat().st_mtime_ns for p in out.glob("shard-*.npz")}
    rep = embed_folder(image_dir, out, clip=tiny_clip, batch_size=5, shard_size=7)
    assert (rep.computed, rep.reused) == (2, 2)
    assert all(out.joinpath(n).stat().st_mtime_ns == t for n, t in mtimes.items())
    resumed = load_embeddings(out)
    full = embed_folder(image_dir, tmp_path / "full", clip=tiny_clip, batch_size=5, shard_size=7)
    ref = load_embeddings(full.out)
    assert resumed.file_names.tolist() == ref.file_names.tolist()
    np.testing.assert_allclose(resumed.vectors, ref.vectors, atol=2e-3)
    assert list(resumed.skipped) == [f"{class_wnids[0]}_broken0.JPEG"]


def test_resume_refuses_other_images(
    image_dir: Path, tiny_clip, tmp_path: Path, folder_maker
) -> None:
    from errata.openworld import embed_folder

    embed_folder(image_dir, tmp_path / "emb", clip=tiny_clip, shard_size=100)
    other = folder_maker(tmp_path / "other", per_class=2)
    with pytest.raises(ErrataInputError, match="another --out"):
        embed_folder(other, tmp_path / "emb", clip=tiny_clip, shard_size=100)


@pytest.mark.parametrize("suffix", [".npz", ".parquet"])
def test_file_schema_round_trip(suffix: str, tmp_path: Path) -> None:
    from errata.openworld import Embeddings, load_embeddings, save_embeddings

    rng = np.random.default_rng(1)
    emb = Embeddings(
        file_names=np.array(["a.JPEG", "b.JPEG", "c.JPEG"], dtype=object),
        class_index=np.array([3, -1, 999], dtype=np.int16),
        vectors=rng.normal(size=(3, 8)).astype(np.float32),
    )
    back = load_embeddings(save_embeddings(emb, tmp_path / f"e{suffix}"))
    assert back.file_names.tolist() == emb.file_names.tolist()
    assert back.class_index.tolist() == [3, -1, 999]
    np.testing.assert_allclose(np.linalg.norm(back.vectors, axis=1), 1, atol=1e-5)
    np.testing.assert_array_equal(
        back.rows_for(np.array(["c.JPEG", "zz", "a.JPEG"], object)), [2, -1, 0]
    )


def test_file_schema_errors(tmp_path: Path) -> None:
    from errata.openworld import load_embeddings

    np.savez(tmp_path / "bad.npz", file_name=np.array(["a"]), vectors=np.zeros((1, 4)))
    with pytest.raises(ErrataInputError, match="no field 'embedding'"):
        load_embeddings(tmp_path / "bad.npz")
    np.savez(
        tmp_path / "cls.npz",
        file_name=np.array(["a"]),
        embedding=np.ones((1, 4)),
        class_index=np.array([1000]),
    )
    with pytest.raises(ErrataInputError, match="row 0, field 'class_index'"):
        load_embeddings(tmp_path / "cls.npz")


def test_bad_input(tmp_path: Path, tiny_clip) -> None:
    import torch

    from errata.openworld import embed_folder, load_clip

    (tmp_path / "empty" / "n01440764").mkdir(parents=True)
    (tmp_path / "empty" / "notes.txt").write_text("no images here")
    with pytest.raises(ErrataInputError, match="no images found"):
        embed_folder(tmp_path / "empty", tmp_path / "out", clip=tiny_clip)
    assert not (tmp_path / "out").exists()
    with pytest.raises(ErrataInputError, match="close matches: ViT-L-14-336"):
        load_clip("ViT-L-14-33", pretrained=None)
    bad = tmp_path / "bad.pt"
    torch.save({"visual.proj": torch.zeros(3, 3)}, bad)
    with pytest.raises(ErrataInputError, match="does not fit open_clip model 'errata-tiny-clip'"):
        load_clip("errata-tiny-clip", checkpoint=bad, device="cpu")
    good = tmp_path / "good.pt"
    torch.save(tiny_clip.model.state_dict(), good)
    clip = load_clip("errata-tiny-clip", checkpoint=good, device="cpu")
    assert clip.weights == f"local checkpoint {good}"


@pytest.mark.parametrize("key", ["file_names", "filenames", "files"])
def test_the_file_name_field_takes_the_prediction_readers_names(key: str, tmp_path: Path) -> None:
    """Embeddings saved as predictions are (``np.savez(..., file_names=...)``), or a Parquet
    file whose columns come in any order under those names, load as the schema's own."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from errata.openworld import load_embeddings

    vec = np.eye(3, 4)
    np.savez(tmp_path / "e.npz", embedding=vec, **{key: np.array(["a", "b", "c"])})
    columns = {"embedding": [list(v) for v in vec], "class_index": [1, -1, 5], key: ["a", "b", "c"]}
    pq.write_table(pa.table(columns), tmp_path / "e.parquet")
    for suffix in (".npz", ".parquet"):
        back = load_embeddings(tmp_path / f"e{suffix}")
        assert back.file_names.tolist() == ["a", "b", "c"], suffix
    assert back.class_index.tolist() == [1, -1, 5]


def test_a_parquet_column_named_twice_is_refused(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from errata.openworld import load_embeddings

    arrays = [pa.array(["a", "b"]), pa.array([[1.0, 0.0], [0.0, 1.0]]), pa.array(["x", "y"])]
    pq.write_table(
        pa.table(arrays, names=["file_name", "embedding", "file_name"]), tmp_path / "e.parquet"
    )
    with pytest.raises(ErrataInputError) as info:
        load_embeddings(tmp_path / "e.parquet")
    assert str(info.value) == (
        f"{tmp_path}/e.parquet: column 'file_name' appears 2 times; each column needs a name of "
        "its own"
    )
