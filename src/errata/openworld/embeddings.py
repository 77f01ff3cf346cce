"""CLIP image and text embeddings (open_clip), computed once and cached on disk.

An embedding run writes a folder of shards (``shard-00000.npz`` …) plus ``manifest.json``. Each
shard is written atomically and skipped when present, so an interrupted run resumes where it
stopped; unreadable images are listed in their shard and never abort the run.

Precomputed embeddings from elsewhere load from one file in this schema (one row per image):

==============  ==========================================================================
``file_name``   str: the image's base name, e.g. ``n01440764_10026.JPEG``
``class_index`` int: ImageNet class 0..999, -1 when unknown (or a ``wnid`` str column)
``embedding``   float vector of the model's width (``.npz``: a 2-D array; Parquet: a list)
==============  ==========================================================================

``.npz`` files hold those three arrays; Parquet files those three columns. Vectors are
L2-normalised on load, so inner products are cosine similarities.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from errata.exceptions import ErrataInputError, require
from errata.io.files import atomic_path, read_json, write_json

EXTRA = "openworld"  # the optional extra that provides open_clip, torch and faiss
DEFAULT_MODEL = "ViT-L-14-336"  # the CLIP model of Peychev et al.'s OOV stage
TINY_MODEL = "errata-tiny-clip"  # random-weight smoke-test config shipped in model_configs/
SHARD_SIZE = 4096  # images per shard: a few minutes of GPU work lost at most on interruption
PROMPT = "A photo of a {lemma}."  # zero-shot prompt for WordNet proposals
_CONFIG_DIR = Path(__file__).parent / "model_configs"


@dataclass(frozen=True)
class ClipModel:
    """A loaded open_clip model with its preprocessing and tokenizer.

    ``weights`` says in words where the weights came from (open_clip download tag, local
    checkpoint, or random), and is recorded in every output made with the model.
    """

    name: str
    weights: str
    model: Any
    preprocess: Any
    tokenizer: Any
    device: str


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

        return pd.Index(self.file_names).get_indexer(np.asarray(file_names, dtype=object))


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


def _open_clip() -> Any:
    open_clip = require("open_clip", EXTRA)
    if TINY_MODEL not in open_clip.list_models():
        open_clip.add_model_config(str(_CONFIG_DIR))
    return open_clip


def load_clip(
    model: str = DEFAULT_MODEL,
    *,
    pretrained: str | None = "auto",
    checkpoint: str | Path | None = None,
    device: str = "auto",
) -> ClipModel:
    """Load an open_clip model.

    Parameters
    ----------
    model : str
        An open_clip model name (``open_clip.list_models()``), e.g. ``"ViT-L-14-336"``, or
        ``"errata-tiny-clip"`` (random weights, for smoke tests).
    pretrained : str or None
        open_clip weight tag to download (``"openai"``); ``"auto"`` picks the model's first tag;
        ``None`` or ``"random"`` leaves the weights random. Ignored when ``checkpoint`` is given.
    checkpoint : path, optional
        A local checkpoint file (state dict) for ``model``; used instead of any download.
    device : str
        ``"auto"`` (GPU when available), ``"cpu"``, ``"cuda"``, ...

    Raises
    ------
    ErrataInputError
        Unknown model (with close matches), missing checkpoint, a checkpoint that does not fit the
        model config, or a download that failed.
    """
    import difflib
    import logging
    import warnings

    from errata.openworld.images import device_auto

    open_clip = _open_clip()
    names = open_clip.list_models()
    if model not in names:
        close = difflib.get_close_matches(model, names, n=5, cutoff=0.5)
        raise ErrataInputError(
            f"unknown open_clip model {model!r}"
            + (f"; close matches: {', '.join(close)}" if close else "; see open_clip.list_models()")
        )
    dev = device_auto(device)
    if checkpoint is not None:
        ckpt = Path(checkpoint)
        if not ckpt.is_file():
            raise ErrataInputError(f"{ckpt}: checkpoint file not found")
        tag: str | None = str(ckpt)
        weights = f"local checkpoint {ckpt}"
    else:
        tags = open_clip.list_pretrained_tags_by_model(model)
        tag = (tags[0] if tags else None) if pretrained == "auto" else pretrained
        tag = None if tag == "random" else tag
        weights = f"open_clip download '{tag}'" if tag else "random weights (smoke test only)"
    try:
        # open_clip logs "initialized randomly" on the root logger; `weights` says it instead
        logging.disable(logging.WARNING)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            net, _, preprocess = open_clip.create_model_and_transforms(
                model, pretrained=tag, device=dev
            )
    except (RuntimeError, KeyError, ValueError, OSError, EOFError) as exc:
        first = str(exc).strip().splitlines()
        detail = next(
            (
                ln.strip()
                for ln in first
                if "size mismatch" in ln or "Missing" in ln or "Unexpected" in ln
            ),
            first[0] if first else type(exc).__name__,
        )
        if checkpoint is not None:
            raise ErrataInputError(
                f"{checkpoint}: checkpoint does not fit open_clip model {model!r} ({detail[:200]})"
            ) from None
        raise ErrataInputError(
            f"could not load weights '{tag}' for {model!r} ({detail[:200]}); "
            "offline, pass --checkpoint FILE"
        ) from None
    finally:
        logging.disable(logging.NOTSET)
    net.eval()
    return ClipModel(
        name=model,
        weights=weights,
        model=net,
        preprocess=preprocess,
        tokenizer=open_clip.get_tokenizer(model),
        device=dev,
    )


def encode_texts(texts: list[str], clip: ClipModel, *, batch_size: int = 256) -> np.ndarray:
    """``(len(texts), d)`` float32 L2-normalised text embeddings."""
    import torch

    out = []
    with torch.inference_mode():
        for s in range(0, len(texts), batch_size):
            tok = clip.tokenizer(texts[s : s + batch_size]).to(clip.device)
            out.append(clip.model.encode_text(tok).float().cpu().numpy())
    vec = np.concatenate(out) if out else np.zeros((0, 0), np.float32)
    return _normalise(vec)


def _normalise(vec: np.ndarray) -> np.ndarray:
    vec = np.asarray(vec, dtype=np.float32)
    norm = np.linalg.norm(vec, axis=1, keepdims=True)
    return vec / np.where(norm > 0, norm, 1)


def _encode_images(clip: ClipModel, batch: Any) -> np.ndarray:
    import torch

    with torch.inference_mode():
        batch = batch.to(clip.device, non_blocking=True)
        if clip.device == "cuda":  # mixed precision on GPU; embeddings are stored as float16 anyway
            with torch.autocast("cuda", dtype=torch.float16):
                vec = clip.model.encode_image(batch)
        else:
            vec = clip.model.encode_image(batch)
    return _normalise(vec.float().cpu().numpy())


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
    manifest = {
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
        rows_l: list = []
        vecs_l: list = []
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


def _read_manifest(path: Path) -> dict[str, Any]:
    man = read_json(path, what="the manifest of an `errata openworld embed` run")
    if not isinstance(man, dict) or not isinstance(man.get("n_shards"), int):
        raise ErrataInputError(
            f"{path}: not the manifest of an `errata openworld embed` run (no 'n_shards')"
        )
    return man


def _check_resume(out: Path, manifest: dict) -> None:
    path = out / "manifest.json"
    if not path.exists():
        return
    try:
        old = _read_manifest(path)
    except ErrataInputError as exc:
        raise ErrataInputError(f"{exc}; remove {out} to start over") from None
    for key in ("model", "weights", "digest", "shard_size"):
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
        import pandas as pd

        try:
            df = pd.read_parquet(path)
        except Exception as exc:
            raise ErrataInputError(f"{path}: not a readable Parquet file ({exc})") from None
        cols = {c: df[c].to_numpy() for c in df.columns}
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

    for key in ("file_name", "embedding"):
        if key not in cols:
            raise ErrataInputError(
                f"{path}: no field {key!r} (found: {', '.join(cols)}; expected "
                "file_name, class_index or wnid, embedding)"
            )
    vec = np.asarray(cols["embedding"])
    names = np.asarray(cols["file_name"]).astype(str).astype(object)
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
    names: list = []
    cls: list = []
    vecs: list = []
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
