"""What the open-world (fine-grained OOV) stage leaves to the other stages: counted on an expert
review's errors (:func:`open_world_limits`), and the sentence a run without the stage states
(:func:`open_world_caveat`), counted on the ViT-3B review when it is in the data directory."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, TypedDict

import numpy as np

from errata.exceptions import ErrataInputError
from errata.experts.vocabulary import NO_EXPERT
from errata.io.annotations import resolve_path
from errata.io.evidence import Options

if TYPE_CHECKING:
    from errata.core.scoring import ErrorSummary

OOV_EXPERT = "Fine-grained error with OOV"  # the category only the open-world stage can call
SPURIOUS_EXPERT = "Spurious Correlation"
REVIEW = "vit3b-mistakes"  # the expert review the open-world caveat counts on
OPENWORLD_DOCS = "the docs' extras page, 'Images: the open-world OOV stage'"


class OpenWorldLimits(TypedDict):
    """:func:`open_world_limits`: counts on the errors of one expert review."""

    stage_ran: bool
    errors: int
    expert_oov: int
    filed_as: dict[str, int]
    disagreements: int
    oov_disagreements: int
    spurious_called: int
    spurious_rejected: int
    spurious_rejected_oov: int
    disagreements_by_expert_category: dict[str, int]
    note: str


def open_world_limits(automated: np.ndarray, expert: np.ndarray, *, ran: bool) -> OpenWorldLimits:
    """What the open-world stage leaves to the other stages, counted on the errors (shape
    ``(n,)`` each, one vocabulary): the experts' fine-grained-OOV errors, how the pipeline filed
    them, their part of all disagreements and of the pipeline's spurious calls the experts
    reject, and one sentence that says so (``note``).

    >>> lim = open_world_limits(np.array(["S", "S", "model failure"]),
    ...     np.array(["Fine-grained error with OOV", "S", "Fine-grained error with OOV"]),
    ...     ran=False)
    >>> lim["expert_oov"], lim["filed_as"], lim["disagreements"]
    (2, {'S': 1, 'model failure': 1}, 2)
    """
    a, e = np.asarray(automated).astype(str), np.asarray(expert).astype(str)
    oov = e == OOV_EXPERT
    kinds, counts = np.unique(a[oov], return_counts=True)
    order = np.argsort(-counts, kind="stable")
    filed = {str(kinds[i]): int(counts[i]) for i in order}
    disagree = int((a != e).sum())
    called = a == SPURIOUS_EXPERT
    wrong_spurious = int((called & (e != SPURIOUS_EXPERT)).sum())
    spurious_oov = int((called & oov).sum())
    by_expert = {
        str(cat): int(((e == cat) & (a != e)).sum()) for cat in np.unique(e[a != e]).tolist()
    }
    out: OpenWorldLimits = {
        "stage_ran": ran,
        "errors": len(a),
        "expert_oov": int(oov.sum()),
        "filed_as": filed,
        "disagreements": disagree,
        "oov_disagreements": int((oov & (a != e)).sum()),
        "spurious_called": int(called.sum()),
        "spurious_rejected": wrong_spurious,
        "spurious_rejected_oov": spurious_oov,
        "disagreements_by_expert_category": dict(sorted(by_expert.items(), key=lambda kv: -kv[1])),
        "note": "",
    }
    out["note"] = _limits_note(out)
    return out


def _limits_note(x: OpenWorldLimits) -> str:
    """The limits in one sentence, from the counts."""
    if not x["expert_oov"]:
        return "no expert fine-grained-OOV error among these rows"
    filed = ", ".join(f"{n} {cat}" for cat, n in x["filed_as"].items())
    where = (
        "the open-world stage ran"
        if x["stage_ran"]
        else "the open-world stage did not run (needs --openworld: CLIP embeddings of the images)"
    )
    text = (
        f"{x['expert_oov']} of the {x['errors']} errors are fine-grained OOV for the experts and "
        f"{where}: errata files them as {filed}. They are {x['oov_disagreements']} of the "
        f"{x['disagreements']} disagreements"
    )
    if x["spurious_rejected"]:
        text += (
            f", and {x['spurious_rejected_oov']} of the {x['spurious_rejected']} spurious "
            f"calls the experts reject (of {x['spurious_called']} spurious calls)"
        )
    ranked = list(x["disagreements_by_expert_category"].items())
    if ranked and ranked[0][0] == OOV_EXPERT and x["oov_disagreements"]:
        after = f" (next: {ranked[1][0]}, {ranked[1][1]})" if len(ranked) > 1 else ""
        text += (
            ": the open-world stage is where the largest part of the remaining disagreement "
            f"sits{after}"
        )
    return text


def open_world_caveat(options: Options | None = None) -> str:
    """The sentence a run without the fine-grained-OOV stage states near its category table:
    what the stage needs, and — when the ViT-3B expert review is in the data directory — how
    many of that review's errors are fine-grained OOV for the experts and how many of them
    errata, without the stage, files as spurious correlation (counted by
    :func:`~errata.experts.expert_agreement` under ReaL with the run's evidence ``options``,
    default: errata's default), so that the run's spurious-correlation and model-failure shares
    are read as including OOV errors. Without the review the sentence has no counts."""
    need = (
        "fine-grained OOV did not run: the stage needs the images and CLIP weights "
        f"(--openworld; {OPENWORLD_DOCS}), so"
    )
    tail = "this run's spurious-correlation and model-failure shares include OOV errors"
    lim = _review_limits(options or Options())
    if lim is None or not lim["expert_oov"]:
        return f"{need} {tail} (the experts file such errors as fine-grained OOV)"
    spurious = lim["filed_as"].get(SPURIOUS_EXPERT, 0)
    failure = lim["filed_as"].get(NO_EXPERT, 0)
    return (
        f"{need} {tail}: on the ViT-3B expert review (ReaL labels) {lim['expert_oov']} of "
        f"the {lim['errors']} errors are fine-grained OOV for the experts, and errata "
        f"without the stage files {spurious} of them as spurious correlation and {failure} "
        "as model failure"
    )


_LIMITS: dict[Options, OpenWorldLimits | None] = {}  # _review_limits, per options


def open_world_note(summary: ErrorSummary, options: Options | None = None) -> str:
    """:func:`open_world_caveat` when the run's error summary (:meth:`Scores.summary
    <errata.core.scoring.Scores.summary>`) says fine-grained OOV did not run, else ``""``."""
    oov = summary.get("categories", {}).get("fine-grained OOV")
    return open_world_caveat(options) if oov is not None and oov.get("status") else ""


def _review_limits(options: Options) -> OpenWorldLimits | None:
    """:func:`open_world_limits` of the ViT-3B review under ``options`` without the open-world
    stage (``None`` when the review is not in the data directory or cannot be read);
    memoised per options."""
    from errata.experts.agreement import expert_agreement
    from errata.io import data

    try:
        present = data.local_path(REVIEW).is_file()
    except ErrataInputError:
        return None
    if not present:
        return None
    review = data.local_path(REVIEW).resolve()
    experts = tuple(e for e in options.experts if resolve_path(e).resolve() != review)
    opts = dataclasses.replace(options, openworld=None, experts=experts)
    key: Options | None = opts
    try:
        hash(opts)
    except TypeError:  # options holding an unhashable value (e.g. an array) are not memoised
        key = None
    if key is not None and key in _LIMITS:
        return _LIMITS[key]
    try:
        lim: OpenWorldLimits | None = expert_agreement(REVIEW, labels="real", options=opts).summary[
            "limits"
        ]["open_world"]
    except ErrataInputError:
        lim = None
    if key is not None:
        _LIMITS[key] = lim
    return lim
