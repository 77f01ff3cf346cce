"""Batch prediction (a shell): timm / torchvision models over an image folder, for one model or
a zoo. Optional extra ``imagenet-errata[predict]`` (timm, torchvision, torch; Ray for clusters).

Output, one file per model, ``<out>/<model>.npz`` (what
:func:`errata.io.predictions.load_predictions` reads):

=================  ==================================================================
``file_names``     (n,) str: image base names, ImageFolder order
``topk``           (n, 5) int16: the five highest-scoring classes, best first
``logits``         (n, 1000) float16, only with ``logits=True``
``model``          str: the model name; ``weights``: where the weights came from
``skipped_file_name``, ``skipped_reason``: images that could not be decoded
=================  ==================================================================

Work is cut into shards of images, each written atomically under ``<out>/.<model>.shards/`` and
skipped when present, so an interrupted run resumes; the model file appears only when every shard
is done. With Ray, (model, shard) pairs are tasks spread over the cluster.

Other test sets (``dataset=``): images are named by their class path (``n01498041/x.jpg``), and
on ImageNet-A/-R the ranking is restricted to the 200 classes (the logits stay as the model
gave them).

**Super-Sub** (:class:`SuperSubSpec`, ``errata predict --supersub spec.toml``): a superclass
model (one output per superclass of a taxonomy) and one specialist per superclass (one output per
class of that superclass, in class-index order), from local checkpoints, run as one composite
model: the superclass model chooses the superclass, its specialist the class
(:func:`errata.core.supersub.compose`). Its file holds ``topk`` (the specialist's ranking of the
chosen superclass first) and, with ``logits=True``, ``probs`` (the composite probability
``Σ_s p(s) p_s(c)``, float16) and ``superclass`` (the chosen one). The specialists see the
superclass model's preprocessing.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from errata.exceptions import ErrataInputError, require
from errata.io.files import atomic_path

EXTRA = "predict"  # the optional extra providing timm, torchvision, torch and ray
TOPK = 5  # ranks stored per image: enough for top-5 accuracy
SHARD_SIZE = 2048  # images per shard (and per Ray task)
Library = Literal["timm", "torchvision"]
_PREFIXES: dict[str, Library] = {
    "timm:": "timm",
    "tv:": "torchvision",
    "torchvision:": "torchvision",
}


def _file_id(name: str) -> str:
    """File-system-safe name of a model's output file."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)


@dataclass(frozen=True)
class ModelSpec:
    """One model to run: its name, library, optional local checkpoint, and the number of
    classes of its head when it is not ImageNet's 1000 (a Super-Sub superclass model or
    specialist)."""

    name: str
    library: Library
    checkpoint: str | None = None
    num_classes: int | None = None

    @property
    def file_id(self) -> str:
        """File-system-safe name of the model's output file."""
        return _file_id(self.name)


@dataclass(frozen=True)
class SuperSubSpec:
    """A Super-Sub composite (see the module docstring): ``superclass`` has one output per
    superclass of ``taxonomy``, ``specialists[s]`` one per class of superclass ``s`` (in the
    taxonomy's superclass order)."""

    name: str
    taxonomy: str
    superclass: ModelSpec
    specialists: tuple[ModelSpec, ...]

    @property
    def file_id(self) -> str:
        """File-system-safe name of the model's output file."""
        return _file_id(self.name)


def load_supersub_spec(path: str | Path) -> SuperSubSpec:
    """Read a Super-Sub composite from a TOML file::

        name = "supersub-resnet50"        # the output file's model name
        taxonomy = "supersub10"           # errata.taxonomy.TAXONOMIES
        [superclass]
        model = "resnet50"                # timm name (or tv:NAME)
        checkpoint = "super.pth"          # its head: one output per superclass
        [specialists.dog]                 # one table per superclass, by name
        model = "resnet50"
        checkpoint = "dog.pth"            # its head: one output per class of 'dog'

    Checkpoints are local files (state dicts); the heads' sizes follow from the taxonomy.

    Raises
    ------
    ErrataInputError
        A field missing or of the wrong type, an unknown taxonomy, a superclass without a
        specialist or a specialist for no superclass, a checkpoint that is not a file.
    """
    import sys

    from errata import taxonomy as T

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib

    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ErrataInputError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ErrataInputError(f"{path}: not a valid TOML file ({exc})") from None
    tax_name = data.get("taxonomy")
    if tax_name not in T.TAXONOMIES:
        raise ErrataInputError(
            f"{path}: taxonomy = {tax_name!r}; expected one of {', '.join(T.TAXONOMIES)}"
        )
    from errata.io.evidence import load_taxonomy

    tax = load_taxonomy(tax_name)
    names = [str(n) for n in np.asarray(tax.superclass_names).tolist()]
    sizes = np.asarray(tax.superclass_members).sum(axis=0).tolist()

    def model(entry: object, where: str, n_out: int) -> ModelSpec:
        if not isinstance(entry, dict) or not isinstance(entry.get("model"), str):
            raise ErrataInputError(
                f"{path}: [{where}]: expected model = 'name', checkpoint = 'file'"
            )
        ckpt = entry.get("checkpoint")
        if not isinstance(ckpt, str):
            raise ErrataInputError(
                f"{path}: [{where}]: checkpoint = 'file' is required (a Super-Sub model is "
                "trained for its superclasses; there are no library weights for it)"
            )
        ckpt_path = Path(ckpt) if Path(ckpt).is_absolute() else path.parent / ckpt
        if not ckpt_path.is_file():
            raise ErrataInputError(f"{path}: [{where}]: checkpoint {ckpt_path} not found")
        lib: Library = next(
            (v for k, v in _PREFIXES.items() if entry["model"].startswith(k)), "timm"
        )
        bare = entry["model"].split(":", 1)[1] if ":" in entry["model"] else entry["model"]
        return ModelSpec(name=bare, library=lib, checkpoint=str(ckpt_path), num_classes=n_out)

    specialists = data.get("specialists")
    if not isinstance(specialists, dict):
        raise ErrataInputError(f"{path}: missing [specialists.<superclass>] tables")
    unknown = sorted(set(specialists) - set(names))
    if unknown:
        raise ErrataInputError(
            f"{path}: [specialists.{unknown[0]}]: '{unknown[0]}' is not a superclass of "
            f"{tax_name} ({', '.join(names)})"
        )
    missing = [n for n in names if n not in specialists]
    if missing:
        raise ErrataInputError(
            f"{path}: no specialist for superclass '{missing[0]}' of {tax_name} "
            f"({len(missing)} missing); every superclass needs one"
        )
    name = data.get("name", path.stem)
    if not isinstance(name, str) or not name.strip():
        raise ErrataInputError(f"{path}: name = {name!r}; expected the model's name")
    return SuperSubSpec(
        name=name,
        taxonomy=tax_name,
        superclass=model(data.get("superclass"), "superclass", len(names)),
        specialists=tuple(
            model(specialists[n], f"specialists.{n}", k) for n, k in zip(names, sizes)
        ),
    )


@dataclass(frozen=True)
class PredictReport:
    """What one model's run did."""

    model: str
    path: Path
    n_images: int
    computed: int
    reused: int
    skipped: dict[str, str]
    seconds: float


def resolve_models(models: list[str] | str) -> list[ModelSpec]:
    """Model names (or a text file listing them, one per line: ``name [checkpoint]``, ``#``
    comments) to specs. A name is looked up in timm first, then torchvision; prefix it with
    ``tv:`` or ``timm:`` to choose.

    Raises
    ------
    ErrataInputError
        Unknown model name, with the closest known names.
    """
    import difflib

    timm = require("timm", EXTRA)
    tvm = require("torchvision.models", EXTRA)
    entries: list[tuple[str, str | None]] = []
    for m in [models] if isinstance(models, str) else models:
        p = Path(m)
        if p.is_file():
            for ln, line in enumerate(p.read_text(encoding="utf-8").splitlines(), start=1):
                parts = line.split("#", 1)[0].split()
                if len(parts) > 2:
                    raise ErrataInputError(f"{p}: line {ln}: expected 'model [checkpoint]'")
                if parts:
                    entries.append((parts[0], parts[1] if len(parts) == 2 else None))
        else:
            entries.append((m, None))
    if not entries:
        raise ErrataInputError("no models given (expected names or a file listing them)")
    tv_names = set(tvm.list_models(module=tvm))
    specs = []
    for name, ckpt in entries:
        lib: Library | None = next((v for k, v in _PREFIXES.items() if name.startswith(k)), None)
        bare = name.split(":", 1)[1] if lib else name
        if lib in (None, "timm") and timm.is_model(bare):
            lib = "timm"
        elif lib in (None, "torchvision") and bare in tv_names:
            lib = "torchvision"
        else:
            known = sorted(set(timm.list_models()) | tv_names)
            close = difflib.get_close_matches(bare, known, n=5, cutoff=0.6)
            raise ErrataInputError(
                f"unknown model {name!r}"
                + (
                    f"; close matches: {', '.join(close)}"
                    if close
                    else "; see timm.list_models() and torchvision.models.list_models()"
                )
            )
        if ckpt is not None and not Path(ckpt).is_file():
            raise ErrataInputError(f"{ckpt}: checkpoint for {name!r} not found")
        specs.append(ModelSpec(name=bare, library=lib, checkpoint=ckpt))
    return specs


_MODELS: dict[tuple, tuple[Any, Any, str]] = {}  # per process (and per Ray worker): load once


def load_model(
    spec: ModelSpec,
    *,
    pretrained: bool = True,
    device: str = "cpu",
) -> tuple[Any, Any, str]:
    """``(model, eval transform, weights description)``, cached per process.

    The transform is the model's own preprocessing: timm's resolved data config, or the
    torchvision weights' ``transforms()``.
    """
    key = (spec, pretrained, device)
    if key in _MODELS:
        return _MODELS[key]
    extra = {} if spec.num_classes is None else {"num_classes": spec.num_classes}
    try:
        if spec.library == "timm":
            timm = require("timm", EXTRA)
            model = timm.create_model(
                spec.name,
                pretrained=pretrained and spec.checkpoint is None,
                checkpoint_path=spec.checkpoint or "",
                **extra,
            )
            cfg = timm.data.resolve_model_data_config(model)
            transform = timm.data.create_transform(**cfg, is_training=False)
        else:
            tvm = require("torchvision.models", EXTRA)
            weights = tvm.get_model_weights(spec.name).DEFAULT
            model = tvm.get_model(
                spec.name, weights=weights if pretrained and not spec.checkpoint else None, **extra
            )
            if spec.checkpoint:
                import torch

                model.load_state_dict(torch.load(spec.checkpoint, map_location="cpu"))
            transform = weights.transforms()
    except (RuntimeError, KeyError, OSError, ValueError) as exc:
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
        # a state dict of another head says which tensor and shapes; that line, not the header
        telling = [ln for ln in lines if ln.startswith(("size mismatch", "Missing key"))]
        first = (telling or lines or [type(exc).__name__])[0]
        where = spec.checkpoint or f"{spec.library} weights"
        raise ErrataInputError(f"{where}: cannot load {spec.name!r} ({first[:200]})") from None
    weights_desc = (
        f"local checkpoint {spec.checkpoint}"
        if spec.checkpoint
        else f"{spec.library} pretrained"
        if pretrained
        else "random weights (smoke test)"
    )
    model.eval().to(device)
    _MODELS[key] = (model, transform, weights_desc)
    return _MODELS[key]


def run_shard(
    spec: ModelSpec | SuperSubSpec,
    root: str,
    paths: np.ndarray,
    file_names: np.ndarray,
    *,
    pretrained: bool,
    batch_size: int,
    device: str,
    logits: bool,
    workers: int,
    dataset: str = "imagenet-val",
) -> dict[str, np.ndarray]:
    """Predict one shard of images with one model; the unit of work locally and on Ray."""
    import torch

    from errata.core import datasets as D
    from errata.openworld.images import device_auto, device_batches

    device = device_auto(device)
    if isinstance(spec, SuperSubSpec):
        return _run_supersub(
            spec,
            root,
            paths,
            file_names,
            batch_size=batch_size,
            device=device,
            logits=logits,
            workers=workers,
        )
    mask = D.get(dataset).mask if D.get(dataset).subset is not None else None
    model, transform, weights = load_model(spec, pretrained=pretrained, device=device)
    rows_l: list = []
    top_l: list = []
    log_l: list = []
    bad: list[tuple[int, str]] = []
    with torch.inference_mode():
        for rows, batch in device_batches(
            Path(root),
            paths,
            transform,
            batch_size=batch_size,
            workers=workers,
            device=device,
            skipped=bad,
        ):
            if device == "cuda":  # mixed precision on GPU
                with torch.autocast("cuda", dtype=torch.float16):
                    out = model(batch)
            else:
                out = model(batch)
            out = out.float()
            if out.shape[1] != 1000:
                raise ErrataInputError(
                    f"model {spec.name!r} outputs {out.shape[1]} classes, "
                    "expected the 1000 ImageNet-1k classes"
                )
            rows_l.append(rows)
            ranked = out
            if mask is not None:  # a 200-class test set: the arg-max among its classes
                ranked = out.masked_fill(torch.from_numpy(~mask).to(out.device), float("-inf"))
            top_l.append(ranked.topk(TOPK, dim=1).indices.cpu().numpy().astype(np.int16))
            if logits:
                log_l.append(out.cpu().numpy().astype(np.float16))
    res = _shard_result(file_names, rows_l, top_l, bad, weights)
    if logits:
        res["logits"] = np.concatenate(log_l) if log_l else np.zeros((0, 1000), np.float16)
    return res


def _shard_result(
    file_names: np.ndarray,
    rows_l: list,
    top_l: list,
    bad: list[tuple[int, str]],
    weights: str,
) -> dict[str, np.ndarray]:
    """A shard's arrays (``file_names``, ``topk``, the skipped images, ``weights``) from its
    batches' image rows and ranked classes and the images that could not be decoded."""
    rows_a = np.concatenate(rows_l) if rows_l else np.zeros(0, np.int64)
    bad_rows = np.array([r for r, _ in bad], dtype=np.int64)
    return {
        "file_names": file_names[rows_a].astype(str),
        "topk": np.concatenate(top_l) if top_l else np.zeros((0, TOPK), np.int16),
        "skipped_file_name": file_names[bad_rows].astype(str),
        "skipped_reason": np.array([e for _, e in bad], dtype=str),
        "weights": np.array(weights),
    }


def _run_supersub(
    spec: SuperSubSpec,
    root: str,
    paths: np.ndarray,
    file_names: np.ndarray,
    *,
    batch_size: int,
    device: str,
    logits: bool,
    workers: int,
) -> dict[str, np.ndarray]:
    """One shard through a Super-Sub composite: the superclass model, every specialist, then
    :func:`errata.core.supersub.compose`."""
    import torch

    from errata.core.supersub import compose
    from errata.io.evidence import load_taxonomy
    from errata.openworld.images import device_batches

    members = np.asarray(load_taxonomy(spec.taxonomy).superclass_members, dtype=bool)
    sup_model, transform, _ = load_model(spec.superclass, pretrained=False, device=device)
    specialists = [load_model(m, pretrained=False, device=device)[0] for m in spec.specialists]
    rows_l: list = []
    top_l: list = []
    prob_l: list = []
    sup_l: list = []
    bad: list[tuple[int, str]] = []

    def run(model: Any, batch: Any, expected: int, what: str) -> np.ndarray:
        out = model(batch).float()
        if out.shape[1] != expected:
            raise ErrataInputError(
                f"{what}: the model outputs {out.shape[1]} classes; expected {expected}"
            )
        return out.cpu().numpy()

    with torch.inference_mode():
        for rows, batch in device_batches(
            Path(root),
            paths,
            transform,
            batch_size=batch_size,
            workers=workers,
            device=device,
            skipped=bad,
        ):
            sup = run(sup_model, batch, members.shape[1], f"{spec.name}: superclass model")
            outs = [
                run(m, batch, int(members[:, j].sum()), f"{spec.name}: specialist {j}")
                for j, m in enumerate(specialists)
            ]
            topk, chosen, probs = compose(sup, outs, members, k=TOPK)
            rows_l.append(rows)
            top_l.append(topk)
            sup_l.append(chosen.astype(np.int16))
            if logits:
                prob_l.append(probs.astype(np.float16))
    ckpts = ", ".join(m.checkpoint or "" for m in (spec.superclass, *spec.specialists))
    res = _shard_result(
        file_names,
        rows_l,
        top_l,
        bad,
        f"Super-Sub composite ({spec.taxonomy}) from local checkpoints {ckpts}",
    )
    if logits:
        res["probs"] = np.concatenate(prob_l) if prob_l else np.zeros((0, 1000), np.float16)
        res["superclass"] = np.concatenate(sup_l) if sup_l else np.zeros(0, np.int16)
    return res


def predict(
    models: list[str] | str | list[ModelSpec] | list[SuperSubSpec],
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

    specs: list[ModelSpec | SuperSubSpec] = (
        list(models)  # type: ignore[arg-type]
        if isinstance(models, list) and models and isinstance(models[0], (ModelSpec, SuperSubSpec))
        else list(resolve_models(models))  # type: ignore[arg-type]
    )
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
    opts = {
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
    results = runner(todo, folder, bounds, opts, ray)  # type: ignore[arg-type]
    for done, (spec, s, res) in enumerate(results, start=1):
        with atomic_path(_shard_dir(out, spec) / f"{s:05d}.npz") as tmp, open(tmp, "wb") as fh:
            np.savez(fh, **res)
        if progress is not None:
            progress(done, len(todo), spec.name)
        if on_shard is not None:
            on_shard(spec.name, s)
    recomputed = {spec.name: sum(1 for sp, _ in todo if sp == spec) for spec in specs}
    return [_finish(spec, out, len(bounds), n, recomputed[spec.name], t0) for spec in specs]


def _shard_dir(out: Path, spec: ModelSpec | SuperSubSpec) -> Path:
    return out / f".{spec.file_id}.shards"


def _run_local(todo: list, folder: Any, bounds: list, opts: dict, _: Any):  # type: ignore[no-untyped-def]
    for spec, s in todo:
        lo, hi = bounds[s]
        yield (
            spec,
            s,
            run_shard(
                spec, str(folder.root), folder.paths[lo:hi], folder.file_names[lo:hi], **opts
            ),
        )


def _run_ray(todo: list, folder: Any, bounds: list, opts: dict, address: str):  # type: ignore[no-untyped-def]
    import os

    # Ray's `uv run` hook would rebuild the driver's environment in every worker (without the
    # extras, so workers fail to start); the workers share this interpreter's environment instead.
    os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
    ray = require("ray", EXTRA)
    if not ray.is_initialized():
        ray.init(
            address=None if address in ("", "local") else address,
            include_dashboard=False,
            log_to_driver=False,
        )
    gpus = 1 if ray.cluster_resources().get("GPU", 0) > 0 else 0
    task = ray.remote(num_cpus=1, num_gpus=gpus)(run_shard)
    opts = {**opts, "workers": 0}  # one CPU per task: decode in the task itself
    pending = {}
    for spec, s in todo:
        lo, hi = bounds[s]
        ref = task.remote(
            spec, str(folder.root), folder.paths[lo:hi], folder.file_names[lo:hi], **opts
        )
        pending[ref] = (spec, s)
    while pending:
        done, _ = ray.wait(list(pending), num_returns=1)
        spec, s = pending.pop(done[0])
        try:
            res = ray.get(done[0])
        except ray.exceptions.RayTaskError as exc:
            cause = exc.cause if isinstance(getattr(exc, "cause", None), Exception) else None
            if isinstance(cause, ErrataInputError):
                raise ErrataInputError(str(cause)) from None
            raise
        yield spec, s, res


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
        np.savez(fh, **merged, model=np.array(spec.name), weights=parts[0]["weights"])  # type: ignore[arg-type]
    shutil.rmtree(_shard_dir(out, spec))
    return PredictReport(
        spec.name, final, n, computed, n_shards - computed, skipped, time.perf_counter() - t0
    )


__all__ = [
    "EXTRA",
    "ModelSpec",
    "SuperSubSpec",
    "load_supersub_spec",
    "PredictReport",
    "load_model",
    "predict",
    "resolve_models",
    "run_shard",
]
