"""``errata predict``'s run (a shell): the models' shards planned, run and joined into one
``.npz`` per model (see :mod:`errata.predict`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from errata.exceptions import ErrataInputError
from errata.io.files import atomic_path
from errata.predict.shards import ShardOptions, _run_local, _run_ray, _shard_dir
from errata.predict.spec import SHARD_SIZE, ModelSpec, PredictReport, SuperSubSpec, resolve_models


def predict(
    models: str | Sequence[str] | Sequence[ModelSpec | SuperSubSpec],
    images: str | Path,
    out: str | Path,
    *,
    pretrained: bool = True,
    logits: bool = False,
    batch_size: int = 64,
    shard_size: int = SHARD_SIZE,
    device: str = "auto",
    workers: int = 0,
    ray: str | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    on_shard: Callable[[str, int], None] | None = None,
    dataset: str = "imagenet-val",
) -> list[PredictReport]:
    """Predict every image of ``images`` with every model; write ``<out>/<model>.npz``.

    Parameters
    ----------
    models : names, a file listing them, ModelSpecs, or SuperSubSpecs (composites)
    images : ImageNet-layout folder (class folders or flat)
    out : output folder
    pretrained : bool
        Download the library's pretrained weights (``False``: random weights, for smoke tests).
    logits : bool
        Also store the (n, 1000) logits as float16.
    ray : str, optional
        ``"local"`` starts a local Ray cluster, ``"auto"`` or ``"ray://host:port"`` joins one; an
        already initialised Ray session is used as is. ``None``: one process.
    progress : callable(done, total, model), optional
        Called with the (model, shard) pairs done and to do in this run, after each is written.
    on_shard : callable(model, shard), optional
        Called after each shard is written (raising from it, or from ``progress``, stops the run
        cleanly).
    dataset : str
        The test set of the images (:mod:`errata.core.datasets`): how they are named, and on
        ImageNet-A/-R the 200 classes the ranking is restricted to.

    Raises
    ------
    ErrataInputError
        Unknown model, no images, or an output folder made from other images.
    """
    from errata.io.images import digest, list_images

    specs = _specs(models)
    from errata.core import datasets as D

    if D.get(dataset).subset is not None and any(isinstance(s, SuperSubSpec) for s in specs):
        raise ErrataInputError(
            f"--supersub: a Super-Sub composite predicts the classes of its taxonomy, not the "
            f"200 of {D.get(dataset).title}"
        )
    folder = list_images(images, dataset=dataset)
    out = Path(out)
    n = len(folder)
    bounds = [(lo, min(n, lo + shard_size)) for lo in range(0, n, shard_size)]
    fingerprint = f"{digest(folder.paths)}-{shard_size}"
    t0 = time.perf_counter()
    todo: list[tuple[ModelSpec | SuperSubSpec, int]] = []
    for spec in specs:
        if (out / f"{spec.file_id}.npz").exists():
            continue
        sdir = _shard_dir(out, spec)
        if (
            sdir.exists()
            and (sdir / "images.txt").exists()
            and (sdir / "images.txt").read_text().strip() != fingerprint
        ):
            raise ErrataInputError(
                f"{sdir}: partial results for other images or shard size; "
                "remove it or use another --out"
            )
        sdir.mkdir(parents=True, exist_ok=True)
        (sdir / "images.txt").write_text(fingerprint + "\n")
        todo.extend((spec, s) for s in range(len(bounds)) if not (sdir / f"{s:05d}.npz").exists())
    opts: ShardOptions = {
        "pretrained": pretrained,
        "batch_size": batch_size,
        "device": device,
        "logits": logits,
        "workers": workers,
        "dataset": dataset,
    }
    if progress is not None:
        progress(0, len(todo), "")
    runner = _run_ray if ray is not None else _run_local
    results = runner(todo, folder, bounds, opts, ray)
    for done, (spec, s, res) in enumerate(results, start=1):
        with atomic_path(_shard_dir(out, spec) / f"{s:05d}.npz") as tmp, open(tmp, "wb") as fh:
            np.savez(fh, allow_pickle=True, **res)
        if progress is not None:
            progress(done, len(todo), spec.name)
        if on_shard is not None:
            on_shard(spec.name, s)
    recomputed = {spec.name: sum(1 for sp, _ in todo if sp == spec) for spec in specs}
    return [_finish(spec, out, len(bounds), n, recomputed[spec.name], t0) for spec in specs]


def _finish(
    spec: ModelSpec | SuperSubSpec, out: Path, n_shards: int, n: int, computed: int, t0: float
) -> PredictReport:
    import shutil

    final = out / f"{spec.file_id}.npz"
    if final.exists() and computed == 0 and not _shard_dir(out, spec).exists():
        with np.load(final, allow_pickle=False) as z:
            skipped = dict(zip(z["skipped_file_name"].tolist(), z["skipped_reason"].tolist()))
        return PredictReport(spec.name, final, n, 0, n_shards, skipped, 0.0)
    parts = []
    for s in range(n_shards):
        with np.load(_shard_dir(out, spec) / f"{s:05d}.npz", allow_pickle=False) as z:
            parts.append({k: z[k] for k in z.files})
    merged = {k: np.concatenate([p[k] for p in parts]) for k in parts[0] if k != "weights"}
    skipped = dict(zip(merged["skipped_file_name"].tolist(), merged["skipped_reason"].tolist()))
    with atomic_path(final) as tmp, open(tmp, "wb") as fh:
        np.savez(
            fh,
            allow_pickle=True,
            **merged,
            model=np.array(spec.name),
            weights=parts[0]["weights"],
        )
    shutil.rmtree(_shard_dir(out, spec))
    return PredictReport(
        spec.name, final, n, computed, n_shards - computed, skipped, time.perf_counter() - t0
    )


def _specs(
    models: str | Sequence[str] | Sequence[ModelSpec | SuperSubSpec],
) -> list[ModelSpec | SuperSubSpec]:
    """``predict``'s ``models`` as specs: names (or a file listing them) resolved, specs as
    given; a list mixing names and specs is refused."""
    if isinstance(models, str):
        return list(resolve_models(models))
    names = [m for m in models if isinstance(m, str)]
    specs = [m for m in models if isinstance(m, (ModelSpec, SuperSubSpec))]
    if names and specs:
        raise ErrataInputError("models: give model names or specs, not a mix of both")
    if len(names) + len(specs) != len(models):
        raise ErrataInputError("models: each must be a model name, a ModelSpec or a SuperSubSpec")
    return specs if specs else list(resolve_models(names))
