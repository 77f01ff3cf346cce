"""One shard of images through one model (a shell over PyTorch): models loaded once per
process, shards run locally or as Ray tasks, each written atomically so a run resumes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from errata.exceptions import ErrataInputError, require
from errata.predict.spec import EXTRA, TOPK, ModelSpec, SuperSubSpec

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
