"""Rejected proposals (the edge): ReaL's raw rater answers and Shankar-schema ``wrong`` labels,
read, merged per image and turned into the spurious-correlation evidence of
:class:`errata.core.spurious.Rejections` (kept in errata's disk cache).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from errata.core.names import as_names
from errata.core.sparse import Csr
from errata.core.spurious import REJECTION_ALPHA, Rejections
from errata.exceptions import ErrataInputError
from errata.io.annotations import resolve_path
from errata.io.checksums import sha256_of
from errata.io.files import cached_arrays
from errata.resources import N_CLASSES

if TYPE_CHECKING:
    from errata.io.evidence import Options

PROPOSAL_SOURCES = ("real-raters", "shankar")  # registry names "auto" uses when present
DEFAULT_RATERS = "real-raters"  # of those, the one the default evidence is measured with


def load_rater_answers(path: str | Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(file_names, label, rejected)`` per question of ReaL's raw rater data (``raters.npz``:
    ``tensor`` [raters, questions, 3] one-hot no/maybe/yes, ``info`` [questions, 2] file name
    and label). A question is rejected when most of the raters who answered it said no.

    The 85 × 184,962 × 3 tensor takes seconds to read; the three arrays derived from it are
    kept in errata's disk cache, keyed by the file's content.
    """
    import zipfile
    import zlib

    path = Path(path)
    try:
        key = bytes.fromhex(sha256_of(path))
    except OSError as exc:
        raise ErrataInputError(f"{path}: cannot read rater answers ({exc})") from None

    def build() -> dict[str, np.ndarray]:
        try:
            with np.load(path, allow_pickle=False) as z:
                if "tensor" not in z.files or "info" not in z.files:
                    raise ErrataInputError(
                        f"{path}: expected arrays 'tensor' (raters × questions × 3) and 'info' "
                        f"(questions × 2: file name, label); found {', '.join(z.files)}"
                    )
                tensor, info = z["tensor"], z["info"]
        except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as exc:
            raise ErrataInputError(
                f"{path}: not a readable .npz file, truncated or corrupt ({exc})"
            ) from None
        if tensor.ndim != 3 or tensor.shape[2] != 3 or info.shape != (tensor.shape[1], 2):
            raise ErrataInputError(
                f"{path}: 'tensor' has shape {tensor.shape} and 'info' {info.shape}; expected "
                "(raters, questions, 3) and (questions, 2)"
            )
        votes = tensor.sum(axis=0)  # (questions, 3): no, maybe, yes
        try:
            label = info[:, 1].astype(np.int64)
        except ValueError:
            raise ErrataInputError(f"{path}: 'info' labels must be class indices") from None
        if label.size and (label.min() < 0 or label.max() >= N_CLASSES):
            raise ErrataInputError(f"{path}: 'info' labels must be class indices 0-999")
        return {
            "file_names": as_names(info[:, 0]),
            "label": label.astype(np.int16),
            "rejected": votes[:, 0] * 2 > votes.sum(axis=1),
        }

    a = cached_arrays("rater-answers", key, build)
    return a["file_names"], a["label"], a["rejected"]


def rejections(sources: tuple[str | Path, ...], *, alpha: float = REJECTION_ALPHA) -> Rejections:
    """Rejected proposals from ReaL rater files (``.npz``) and Shankar-schema files (``.json``,
    their ``wrong`` labels), merged per image by file name.

    Deriving the counts and thresholds takes most of a second; they are kept in errata's disk
    cache, keyed by the sources' content, ``alpha`` and errata's evidence code (and, as every
    cached derivation, its version and this module's code), so a study pays a few
    milliseconds."""
    import hashlib
    import inspect

    from errata.core import cooccurrence as core_cooccurrence
    from errata.core import spurious as core_spurious

    paths = [resolve_path(v) for v in sources]
    digest = hashlib.sha256()
    for part in (
        repr(alpha),
        inspect.getsource(core_spurious),
        inspect.getsource(core_cooccurrence),
    ):
        digest.update(part.encode())
    for path in paths:
        try:
            digest.update(bytes.fromhex(sha256_of(path)))
        except OSError as exc:
            raise ErrataInputError(f"{path}: cannot read rater answers ({exc})") from None
        digest.update(path.suffix.encode())

    def build() -> dict[str, np.ndarray]:
        r = _rejections(tuple(paths), alpha)
        return {
            "name": np.array(r.name),
            "description": np.array(r.description),
            "file_names": r.file_names,
            "counts": r.counts,
            "expected": r.expected,
            "threshold": r.threshold,
            **{f"{k}_{f}": getattr(getattr(r, k), f) for k in _REJECTION_CSRS for f in _CSR},
        }

    a = cached_arrays("rejections", digest.digest(), build)
    return Rejections(
        name=str(a["name"]),
        file_names=a["file_names"],
        sets=Csr(a["sets_indptr"], a["sets_indices"]),
        rejected=Csr(a["rejected_indptr"], a["rejected_indices"]),
        unrejected=Csr(a["unrejected_indptr"], a["unrejected_indices"]),
        counts=a["counts"],
        expected=a["expected"],
        threshold=a["threshold"],
        alpha=alpha,
        description=str(a["description"]),
    )


_CSR = ("indptr", "indices")  # the arrays of a Csr, for the disk cache
_REJECTION_CSRS = ("sets", "rejected", "unrejected")  # the Csr fields of Rejections


def _rejections(sources: tuple[Path, ...], alpha: float) -> Rejections:
    from errata.core.names import NameIndex
    from errata.io.labels import real, shankar_wrong

    names_parts, set_parts, rej_parts, kept_parts, used = [], [], [], [], []
    for path in sources:
        if path.suffix == ".json":
            labels, names, wrong = shankar_wrong(path)
            rows = labels.positions(names)
            names_parts.append(names)
            set_parts.append(labels.evidence_sets.take(rows))
            rej_parts.append(wrong)
            kept_parts.append(Csr.empty(len(names)))  # its other answers are labels
            used.append(f"Shankar et al.'s wrong labels ({path.name})")
        else:
            q_names, q_label, q_rej = load_rater_answers(path)
            # ReaL ∪ original labels of the asked images; an empty ReaL set is no evidence
            asked = np.unique(q_names)
            rows = real().positions(asked)
            known = rows >= 0
            known[known] = real().evaluated[rows[known]]
            names, sets = asked[known], real().evidence_sets.take(rows[known])
            row = NameIndex.of(names).rows(q_names)
            keep = q_rej & (row >= 0)
            rejected = Csr.from_pairs(row[keep], q_label[keep], len(names))
            kept = ~q_rej & (row >= 0)
            names_parts.append(names)
            set_parts.append(sets)
            rej_parts.append(rejected)
            kept_parts.append(Csr.from_pairs(row[kept], q_label[kept], len(names)))
            used.append(f"ReaL raters' rejected proposals ({path.name})")
    all_names = np.concatenate(names_parts) if names_parts else np.array([], dtype=str)
    names = np.unique(all_names)
    index = NameIndex.of(names)

    def merged(parts: list[Csr]) -> Csr:
        rows = [index.rows(n)[p.row_ids] for n, p in zip(names_parts, parts)]
        cols = [p.indices.astype(np.int64) for p in parts]
        if not rows:
            return Csr.empty(len(names))
        return Csr.from_pairs(np.concatenate(rows), np.concatenate(cols), len(names))

    sets = merged(set_parts)
    rejected = merged(rej_parts)
    # a rejected proposal that is one of the image's labels is no evidence of another label
    other = ~sets.contains_at(rejected.row_ids, rejected.indices)
    rejected = Csr.from_pairs(rejected.row_ids[other], rejected.indices[other], len(names))
    # asked about and not rejected, and not a label: the image's own answer (SpuriousRule)
    unrejected = merged(kept_parts)
    other = ~sets.contains_at(unrejected.row_ids, unrejected.indices)
    other &= ~rejected.contains_at(unrejected.row_ids, unrejected.indices)
    unrejected = Csr.from_pairs(unrejected.row_ids[other], unrejected.indices[other], len(names))
    name = " + ".join("Shankar" if u.startswith("Shankar") else "ReaL raters" for u in used)
    return Rejections.of(
        name,
        names,
        sets,
        rejected,
        unrejected=unrejected,
        alpha=alpha,
        description=f"{'; '.join(used)}: pairs above chance at alpha {alpha}, leave-one-out",
    )


def proposal_sources(value: str | tuple[str | Path, ...] | None) -> tuple[str | Path, ...]:
    """The sources ``Options.proposals`` names (``"auto"``: those in the data directory)."""
    from errata.io import data

    if value == "auto":
        return tuple(n for n in PROPOSAL_SOURCES if data.is_present(n))
    return tuple(value or ())


def default_gaps(options: Options) -> list[str]:
    """What errata's default evidence lacks in this data directory, in words for the run's
    notes: the figures then differ from the defaults', and say so (never silently)."""
    from errata.io import data

    if not options.classify or options.proposals != "auto" or data.is_present(DEFAULT_RATERS):
        return []
    folder = data.data_dir()
    where = f"{folder} does not exist" if not folder.exists() else f"it is not in {folder}"
    return [
        f"rejected-proposal evidence not used: {DEFAULT_RATERS} ({data.entry(DEFAULT_RATERS).path})"
        f" is errata's default spurious-correlation evidence, and {where}; fewer errors are "
        f"spurious correlations than with the default (`errata data fetch {DEFAULT_RATERS}`, "
        "or --proposals none to make this the stated choice)"
    ]
