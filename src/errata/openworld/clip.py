"""CLIP models (open_clip) for the open-world stage: loaded by name with their preprocessing
and tokenizer (``weights`` says where the weights came from), and texts and images encoded as
L2-normalised float32 vectors, so inner products are cosine similarities."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Protocol

import numpy as np

from errata.exceptions import ErrataInputError, require

if TYPE_CHECKING:
    import torch

    from errata.openworld.images import Transform

EXTRA = "openworld"  # the optional extra that provides open_clip, torch and faiss
DEFAULT_MODEL = "ViT-L-14-336"  # the CLIP model of Peychev et al.'s OOV stage
TINY_MODEL = "errata-tiny-clip"  # random-weight smoke-test config shipped in model_configs/
_CONFIG_DIR = Path(__file__).parent / "model_configs"


Tokenizer = Callable[[list[str]], "torch.Tensor"]  # texts -> their token ids


class ClipNet(Protocol):
    """What errata calls on an open_clip model."""

    def encode_image(self, images: torch.Tensor) -> torch.Tensor: ...

    def encode_text(self, tokens: torch.Tensor) -> torch.Tensor: ...


@dataclass(frozen=True)
class ClipModel:
    """A loaded open_clip model with its preprocessing and tokenizer.

    ``weights`` says in words where the weights came from (open_clip download tag, local
    checkpoint, or random), and is recorded in every output made with the model.
    """

    name: str
    weights: str
    model: ClipNet
    preprocess: Transform
    tokenizer: Tokenizer
    device: str


def _open_clip() -> ModuleType:
    open_clip: ModuleType = require("open_clip", EXTRA)
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


def _encode_images(clip: ClipModel, batch: torch.Tensor) -> np.ndarray:
    import torch

    with torch.inference_mode():
        batch = batch.to(clip.device, non_blocking=True)
        if clip.device == "cuda":  # mixed precision on GPU; embeddings are stored as float16 anyway
            with torch.autocast("cuda", dtype=torch.float16):
                vec = clip.model.encode_image(batch)
        else:
            vec = clip.model.encode_image(batch)
    return _normalise(vec.float().cpu().numpy())
