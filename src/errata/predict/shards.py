"""One shard of images through one model (a shell over PyTorch): models loaded once per
process, shards run locally or as Ray tasks, each written atomically so a run resumes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

import numpy as np
from numpy.typing import NDArray

from errata.exceptions import ErrataInputError, require
from errata.predict.spec import EXTRA, TOPK, ModelSpec, SuperSubSpec

if TYPE_CHECKING:
    import torch

    from errata.io.images import ImageFolder
    from errata.openworld.images import Transform

Loaded = tuple["torch.nn.Module", "Transform", str]  # (model, eval transform, weights)
Spec = ModelSpec | SuperSubSpec
ShardArrays = dict[str, np.ndarray]  # a shard's named arrays, as written into its .npz
BatchStep = Callable[["torch.Tensor"], ShardArrays]  # one decoded batch -> its arrays
Todo = list[tuple[Spec, int]]  # (model, shard) pairs still to run

_MODELS: dict[tuple[ModelSpec, bool, str], Loaded] = {}  # per process (and Ray worker): load once


class ShardOptions(TypedDict):
    """The keywords of :func:`run_shard` that are the same for every shard of a run."""

    pretrained: bool
    batch_size: int
    device: str
    logits: bool
    workers: int
    dataset: str


def load_model(
    spec: ModelSpec,
    *,
    pretrained: bool = True,
    device: str = "cpu",
) -> Loaded:
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
    spec: Spec,
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
) -> ShardArrays:
    """Predict one shard of images with one model; the unit of work locally and on Ray."""
    from errata.openworld.images import device_auto

    device = device_auto(device)
    if isinstance(spec, SuperSubSpec):
        transform, step, weights = _supersub_step(spec, device=device, logits=logits)
        empty = {
            "probs": np.zeros((0, 1000), np.float16),
            "superclass": np.zeros(0, np.int16),
        }
    else:
        transform, step, weights = _model_step(
            spec, pretrained=pretrained, device=device, logits=logits, dataset=dataset
        )
        empty = {"logits": np.zeros((0, 1000), np.float16)}
    rows, parts, bad = _infer(
        root, paths, transform, step, batch_size=batch_size, workers=workers, device=device
    )
    bad_rows = np.array([r for r, _ in bad], dtype=np.int64)
    res: ShardArrays = {
        "file_names": file_names[rows].astype(str),
        "topk": _joined(parts, "topk", np.zeros((0, TOPK), np.int16)),
        "skipped_file_name": file_names[bad_rows].astype(str),
        "skipped_reason": np.array([e for _, e in bad], dtype=str),
        "weights": np.array(weights),
    }
    if logits:
        res.update({key: _joined(parts, key, none) for key, none in empty.items()})
    return res


def _infer(
    root: str,
    paths: np.ndarray,
    transform: Transform,
    step: BatchStep,
    *,
    batch_size: int,
    workers: int,
    device: str,
) -> tuple[NDArray[np.int64], dict[str, list[np.ndarray]], list[tuple[int, str]]]:
    """Run ``step`` on every decoded batch of ``paths``: the rows of the images decoded, each
    array ``step`` returned (by name, one entry per batch) and the images skipped."""
    import torch

    from errata.openworld.images import device_batches

    rows_l: list[NDArray[np.int64]] = []
    parts: dict[str, list[np.ndarray]] = {}
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
            arrays = step(batch)
            rows_l.append(rows)
            for key, value in arrays.items():
                parts.setdefault(key, []).append(value)
    return (np.concatenate(rows_l) if rows_l else np.zeros(0, np.int64)), parts, bad


def _joined(parts: dict[str, list[np.ndarray]], key: str, empty: np.ndarray) -> np.ndarray:
    """The batches' arrays under ``key`` end to end, ``empty`` when no batch decoded."""
    return np.concatenate(parts[key]) if parts.get(key) else empty


def _model_step(
    spec: ModelSpec, *, pretrained: bool, device: str, logits: bool, dataset: str
) -> tuple[Transform, BatchStep, str]:
    """One ImageNet-1k model's transform, batch step (its ranking, and its logits when asked)
    and weights description."""
    import torch

    from errata.core import datasets

    test_set = datasets.get(dataset)
    mask = test_set.mask if test_set.subset is not None else None
    model, transform, weights = load_model(spec, pretrained=pretrained, device=device)

    def step(batch: torch.Tensor) -> ShardArrays:
        out: torch.Tensor
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
        ranked = out
        if mask is not None:  # a 200-class test set: the arg-max among its classes
            ranked = out.masked_fill(torch.from_numpy(~mask).to(out.device), float("-inf"))
        arrays = {"topk": ranked.topk(TOPK, dim=1).indices.cpu().numpy().astype(np.int16)}
        if logits:
            arrays["logits"] = out.cpu().numpy().astype(np.float16)
        return arrays

    return transform, step, weights


def _supersub_step(
    spec: SuperSubSpec, *, device: str, logits: bool
) -> tuple[Transform, BatchStep, str]:
    """A Super-Sub composite's transform (the superclass model's), batch step (the superclass
    model, every specialist, then :func:`errata.core.supersub.compose`) and weights
    description."""
    from errata.core.supersub import compose
    from errata.io.evidence import load_taxonomy

    members = np.asarray(load_taxonomy(spec.taxonomy).superclass_members, dtype=bool)
    sup_model, transform, _ = load_model(spec.superclass, pretrained=False, device=device)
    specialists = [load_model(m, pretrained=False, device=device)[0] for m in spec.specialists]

    def run(model: torch.nn.Module, batch: torch.Tensor, expected: int, what: str) -> np.ndarray:
        out: torch.Tensor = model(batch).float()
        if out.shape[1] != expected:
            raise ErrataInputError(
                f"{what}: the model outputs {out.shape[1]} classes; expected {expected}"
            )
        scores: np.ndarray = out.cpu().numpy()
        return scores

    def step(batch: torch.Tensor) -> ShardArrays:
        sup = run(sup_model, batch, members.shape[1], f"{spec.name}: superclass model")
        outs = [
            run(m, batch, int(members[:, j].sum()), f"{spec.name}: specialist {j}")
            for j, m in enumerate(specialists)
        ]
        topk, chosen, probs = compose(sup, outs, members, k=TOPK)
        arrays = {"topk": topk, "superclass": chosen.astype(np.int16)}
        if logits:
            arrays["probs"] = probs.astype(np.float16)
        return arrays

    ckpts = ", ".join(m.checkpoint or "" for m in (spec.superclass, *spec.specialists))
    weights = f"Super-Sub composite ({spec.taxonomy}) from local checkpoints {ckpts}"
    return transform, step, weights


def _shard_dir(out: Path, spec: Spec) -> Path:
    return out / f".{spec.file_id}.shards"


def _run_local(
    todo: Todo,
    folder: ImageFolder,
    bounds: list[tuple[int, int]],
    opts: ShardOptions,
    _: str | None,
) -> Iterator[tuple[Spec, int, ShardArrays]]:
    for spec, s in todo:
        lo, hi = bounds[s]
        yield (
            spec,
            s,
            run_shard(
                spec, str(folder.root), folder.paths[lo:hi], folder.file_names[lo:hi], **opts
            ),
        )


def _run_ray(
    todo: Todo,
    folder: ImageFolder,
    bounds: list[tuple[int, int]],
    opts: ShardOptions,
    address: str | None,
) -> Iterator[tuple[Spec, int, ShardArrays]]:
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
    task_opts: ShardOptions = {**opts, "workers": 0}  # one CPU per task: decode in the task
    pending = {}
    for spec, s in todo:
        lo, hi = bounds[s]
        ref = task.remote(
            spec, str(folder.root), folder.paths[lo:hi], folder.file_names[lo:hi], **task_opts
        )
        pending[ref] = (spec, s)
    while pending:
        done, _ = ray.wait(list(pending), num_returns=1)
        spec, s = pending.pop(done[0])
        try:
            res: ShardArrays = ray.get(done[0])
        except ray.exceptions.RayTaskError as exc:
            cause = exc.cause if isinstance(getattr(exc, "cause", None), Exception) else None
            if isinstance(cause, ErrataInputError):
                raise ErrataInputError(str(cause)) from None
            raise
        yield spec, s, res
