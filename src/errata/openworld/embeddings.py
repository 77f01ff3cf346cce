"""CLIP image and text embeddings (open_clip), computed once and cached on disk.

An embedding run writes a folder of shards (``shard-00000.npz`` …) plus ``manifest.json``. Each
shard is written atomically and skipped when present, so an interrupted run resumes where it
stopped; unreadable images are listed in their shard and never abort the run.

Precomputed embeddings from elsewhere load from one file in this schema (one row per image):

==============  ==========================================================================
``file_name``   str: the image's base name, e.g. ``n01440764_10026.JPEG`` (or ``file_names``,
                ``filenames``, ``files``: the names the prediction readers take)
``class_index`` int: ImageNet class 0..999, -1 when unknown (or a ``wnid`` str column)
``embedding``   float vector of the model's width (``.npz``: a 2-D array; Parquet: a list)
==============  ==========================================================================

``.npz`` files hold those three arrays; Parquet files those three columns, by name in any order
(a name given twice is an error, as in a prediction file). Vectors are L2-normalised on load,
so inner products are cosine similarities.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, NotRequired, TypedDict, cast

import numpy as np

from errata.exceptions import ErrataInputError
from errata.io.files import atomic_path, read_json, write_json
from errata.openworld.clip import DEFAULT_MODEL as DEFAULT_MODEL
from errata.openworld.clip import EXTRA as EXTRA
from errata.openworld.clip import TINY_MODEL as TINY_MODEL
from errata.openworld.clip import ClipModel as ClipModel
from errata.openworld.clip import _encode_images, _normalise
from errata.openworld.clip import encode_texts as encode_texts
from errata.openworld.clip import load_clip as load_clip

SHARD_SIZE = 4096  # images per shard: a few minutes of GPU work lost at most on interruption
PROMPT = "A photo of a {lemma}."  # zero-shot prompt for WordNet proposals


@dataclass(frozen=True)
class Embeddings:
    """Embeddings of ``n`` images.

    Attributes
    ----------
    file_names : ndarray of object, shape (n,)
    class_index : ndarray of int16, shape (n,)
        ImageNet class of each image, -1 when unknown (validation images need none).
    vectors : ndarray of float32, shape (n, d)
        L2-normalised image embeddings.
    model, weights : str
        The CLIP model and where its weights came from ("" when unknown).
    skipped : dict of file name -> reason
        Images that could not be decoded.
    """

    file_names: np.ndarray
    class_index: np.ndarray
    vectors: np.ndarray
    model: str = ""
    weights: str = ""
    skipped: dict[str, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.file_names)

    def rows_for(self, file_names: np.ndarray) -> np.ndarray:
        """``(m,)`` int64 row of each of ``file_names`` in this set, -1 where absent."""
        import pandas as pd

        rows: np.ndarray = pd.Index(self.file_names).get_indexer(
            np.asarray(file_names, dtype=object)
        )
        return rows


@dataclass(frozen=True)
class EmbedReport:
    """What an embedding run did: images, shards computed now and reused, images skipped."""

    out: Path
    n_images: int
    n_shards: int
    computed: int
    reused: int
    skipped: dict[str, str]
    model: str
    weights: str
    seconds: float


def embed_folder(
    images: str | Path,
    out: str | Path,
    *,
    clip: ClipModel,
    batch_size: int = 64,
    shard_size: int = SHARD_SIZE,
    workers: int = 0,
    progress: Callable[[int, int, str], None] | None = None,
    on_shard: Callable[[int, int], None] | None = None,
) -> EmbedReport:
    """Embed every image of an ImageNet-layout folder into shards under ``out``.

    Resumable: shards already in ``out`` are kept, the rest are computed. ``progress(done,
    total, model)`` is called with the images done so far (those of kept shards included) after
    each batch; ``on_shard(done, total)`` after each shard is written. Raising from either stops
    the run cleanly, as an interruption would.

    Raises
    ------
    ErrataInputError
        ``images`` has no images, or ``out`` holds embeddings of other images or another model.
    """
    import time

    from errata.io.images import digest, list_images
    from errata.openworld.images import iter_batches

    t0 = time.perf_counter()
    folder = list_images(images)
    out = Path(out)
    n = len(folder)
    n_shards = (n + shard_size - 1) // shard_size
    manifest: Manifest = {
        "format": "errata-embeddings/1",
        "model": clip.name,
        "weights": clip.weights,
        "images": str(folder.root),
        "n_images": n,
        "digest": digest(folder.paths),
        "shard_size": shard_size,
        "n_shards": n_shards,
    }
    _check_resume(out, manifest)
    write_json(out / "manifest.json", {**manifest, "complete": False})
    todo = [s for s in range(n_shards) if not (out / _shard_name(s)).exists()]
    images_done = n - sum(_shard_len(s, n, shard_size) for s in todo)
    if progress is not None:
        progress(images_done, n, clip.name)
    skipped: dict[str, str] = {}
    for done, s in enumerate(todo, start=n_shards - len(todo) + 1):
        lo, hi = s * shard_size, min(n, (s + 1) * shard_size)
        rows_l: list[np.ndarray] = []
        vecs_l: list[np.ndarray] = []
        bad: list[tuple[int, str]] = []
        for rows, batch, skip in iter_batches(
            folder.root,
            folder.paths[lo:hi],
            clip.preprocess,
            batch_size=batch_size,
            workers=workers,
        ):
            if batch is not None:
                rows_l.append(rows + lo)
                vecs_l.append(_encode_images(clip, batch))
            bad.extend((r + lo, e) for r, e in skip)
            images_done += len(rows) + len(skip)
            if progress is not None:
                progress(images_done, n, clip.name)
        rows_a = np.concatenate(rows_l) if rows_l else np.zeros(0, np.int64)
        vecs = np.concatenate(vecs_l) if vecs_l else np.zeros((0, 0), np.float32)
        bad_rows = np.array([r for r, _ in bad], dtype=np.int64)
        with atomic_path(out / _shard_name(s)) as tmp, open(tmp, "wb") as fh:
            np.savez(
                fh,
                file_name=folder.file_names[rows_a].astype(str),
                class_index=folder.class_index[rows_a],
                embedding=vecs.astype(np.float16),
                skipped_file_name=folder.file_names[bad_rows].astype(str),
                skipped_reason=np.array([e for _, e in bad], dtype=str),
            )
        skipped.update({str(folder.file_names[r]): e for r, e in bad})
        if on_shard is not None:
            on_shard(done, n_shards)
    for s in range(n_shards):  # skips listed in shards of earlier runs
        if s not in todo:
            with np.load(out / _shard_name(s), allow_pickle=False) as z:
                skipped.update(zip(z["skipped_file_name"].tolist(), z["skipped_reason"].tolist()))
    write_json(out / "manifest.json", {**manifest, "complete": True, "n_skipped": len(skipped)})
    return EmbedReport(
        out=out,
        n_images=n,
        n_shards=n_shards,
        computed=len(todo),
        reused=n_shards - len(todo),
        skipped=skipped,
        model=clip.name,
        weights=clip.weights,
        seconds=time.perf_counter() - t0,
    )


def _shard_name(s: int) -> str:
    return f"shard-{s:05d}.npz"


def _shard_len(s: int, n: int, size: int) -> int:
    return min(n, (s + 1) * size) - s * size


class Manifest(TypedDict):
    """``manifest.json`` of an embedding run (``complete`` and ``n_skipped``: written as the run
    ends, ``complete: false`` while it runs)."""

    format: str
    model: str
    weights: str
    images: str
    n_images: int
    digest: str
    shard_size: int
    n_shards: int
    complete: NotRequired[bool]
    n_skipped: NotRequired[int]


_RESUME_KEYS: tuple[Literal["model", "weights", "digest", "shard_size"], ...] = (
    "model",
    "weights",
    "digest",
    "shard_size",
)  # what a resumed run must share with the run that wrote the folder


def _read_manifest(path: Path) -> Manifest:
    man = read_json(path, what="the manifest of an `errata openworld embed` run")
    if not isinstance(man, dict) or not isinstance(man.get("n_shards"), int):
        raise ErrataInputError(
            f"{path}: not the manifest of an `errata openworld embed` run (no 'n_shards')"
        )
    return cast(Manifest, man)


def _check_resume(out: Path, manifest: Manifest) -> None:
    path = out / "manifest.json"
    if not path.exists():
        return
    try:
        old = _read_manifest(path)
    except ErrataInputError as exc:
        raise ErrataInputError(f"{exc}; remove {out} to start over") from None
    for key in _RESUME_KEYS:
        if old.get(key) != manifest[key]:
            raise ErrataInputError(
                f"{out}: holds embeddings made with {key}={old.get(key)!r}, this run has "
                f"{manifest[key]!r}; use another --out (or remove it to start over)"
            )


def load_embeddings(path: str | Path) -> Embeddings:
    """Load embeddings: an ``embed_folder`` output folder, or one ``.npz`` / Parquet file in the
    schema of the module docstring.

    Raises
    ------
    ErrataInputError
        Missing path, incomplete run, missing field, or vectors of the wrong shape.
    """
    path = Path(path)
    if path.is_dir():
        return _load_shards(path)
    if not path.is_file():
        raise ErrataInputError(f"{path}: no such embeddings file or folder")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        try:
            with np.load(path, allow_pickle=False) as z:
                cols = {k: z[k] for k in z.files}
        except Exception as exc:
            raise ErrataInputError(f"{path}: not a readable .npz archive ({exc})") from None
    elif suffix == ".parquet":
        import pyarrow.parquet as pq

        try:
            table = pq.ParquetFile(path).read()  # (pandas' reader refuses a name that repeats)
        except Exception as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ErrataInputError(f"{path}: not a readable Parquet file ({first})") from None
        names = table.column_names
        twice = next((c for c in names if names.count(c) > 1), None)
        if twice is not None:
            raise ErrataInputError(
                f"{path}: column '{twice}' appears {names.count(twice)} times; each column "
                "needs a name of its own"
            )
        df = table.to_pandas()
        cols = {str(c): df[c].to_numpy() for c in df.columns}
        if "embedding" in cols:
            try:
                cols["embedding"] = np.stack(cols["embedding"]) if len(df) else np.zeros((0, 0))
            except ValueError:
                raise ErrataInputError(
                    f"{path}: column 'embedding' holds vectors of different lengths"
                ) from None
    else:
        raise ErrataInputError(
            f"{path}: expected a folder from `errata openworld embed`, a .npz or a .parquet file"
        )
    return _from_columns(path, cols)


def _from_columns(path: Path, cols: dict[str, np.ndarray]) -> Embeddings:
    from errata import resources
    from errata.io.table_files import NAME_KEYS

    name_key = "file_name" if "file_name" in cols else next((k for k in NAME_KEYS if k in cols), "")
    for key in (name_key or "file_name", "embedding"):
        if key not in cols:
            raise ErrataInputError(
                f"{path}: no field {key!r} (found: {', '.join(cols)}; expected "
                "file_name, class_index or wnid, embedding)"
            )
    vec = np.asarray(cols["embedding"])
    names = np.asarray(cols[name_key]).astype(str).astype(object)
    if vec.ndim != 2 or len(vec) != len(names) or not np.issubdtype(vec.dtype, np.number):
        raise ErrataInputError(
            f"{path}: field 'embedding' has shape {vec.shape}, expected ({len(names)}, d) numbers"
        )
    if "class_index" in cols:
        cls = np.asarray(cols["class_index"]).astype(np.int64)
        bad = np.flatnonzero((cls < -1) | (cls > 999))
        if len(bad):
            raise ErrataInputError(
                f"{path}: row {bad[0]}, field 'class_index': {cls[bad[0]]} is "
                "not a class index 0..999 or -1"
            )
    elif "wnid" in cols:
        idx = {w: i for i, w in enumerate(resources.classes().wnids)}
        cls = np.array([idx.get(str(w), -1) for w in cols["wnid"]], dtype=np.int64)
    else:
        cls = np.full(len(names), -1, np.int64)
    meta = {
        k: str(np.asarray(cols[k]).item())
        for k in ("model", "weights")
        if k in cols and np.asarray(cols[k]).ndim == 0
    }
    return Embeddings(
        file_names=names,
        class_index=cls.astype(np.int16),
        vectors=_normalise(vec),
        model=meta.get("model", ""),
        weights=meta.get("weights", ""),
    )


def _load_shards(path: Path) -> Embeddings:
    mpath = path / "manifest.json"
    if not mpath.exists():
        raise ErrataInputError(f"{path}: no manifest.json (not an `errata openworld embed` output)")
    man = _read_manifest(mpath)
    missing = [
        _shard_name(s) for s in range(man["n_shards"]) if not (path / _shard_name(s)).exists()
    ]
    if missing or not man.get("complete"):
        raise ErrataInputError(
            f"{path}: incomplete embedding run ({len(missing)} of "
            f"{man['n_shards']} shards missing); run the same `errata openworld "
            "embed` command again to finish it"
        )
    names: list[np.ndarray] = []
    cls: list[np.ndarray] = []
    vecs: list[np.ndarray] = []
    skipped: dict[str, str] = {}
    for s in range(man["n_shards"]):
        with np.load(path / _shard_name(s), allow_pickle=False) as z:
            names.append(z["file_name"])
            cls.append(z["class_index"])
            if len(z["file_name"]):
                vecs.append(z["embedding"].astype(np.float32))
            skipped.update(zip(z["skipped_file_name"].tolist(), z["skipped_reason"].tolist()))
    vec = np.concatenate(vecs) if vecs else np.zeros((0, 0), np.float32)
    return Embeddings(
        file_names=np.concatenate(names).astype(object),
        class_index=np.concatenate(cls).astype(np.int16),
        vectors=_normalise(vec),
        model=man["model"],
        weights=man["weights"],
        skipped=skipped,
    )


def save_embeddings(emb: Embeddings, path: str | Path) -> Path:
    """Write embeddings as one ``.npz`` or ``.parquet`` file (documented schema), atomically."""
    path = Path(path)
    if path.suffix.lower() == ".parquet":
        import pandas as pd

        df = pd.DataFrame(
            {
                "file_name": emb.file_names.astype(str),
                "class_index": emb.class_index,
                "embedding": list(emb.vectors.astype(np.float32)),
            }
        )
        with atomic_path(path) as tmp:
            df.to_parquet(tmp, index=False)
        return path
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(
            fh,
            file_name=emb.file_names.astype(str),
            class_index=emb.class_index,
            embedding=emb.vectors,
            model=np.array(emb.model),
            weights=np.array(emb.weights),
        )
    return path
