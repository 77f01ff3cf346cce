"""What ``errata predict`` runs (a shell): the models named on the command line (timm,
torchvision, local checkpoints) and a Super-Sub composite's spec file, read and checked."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from errata.exceptions import ErrataInputError, require

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
