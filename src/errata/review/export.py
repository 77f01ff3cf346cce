"""Aggregating the project's answers into a label set and exporting it in Shankar et al.'s JSON
schema, which ``errata analyze --labels FILE`` reads.

Per (image, class) question, the answers Correct / Unclear / Wrong (Don't know is left out) are
aggregated with majority vote or Dawid–Skene; Dawid–Skene uses one prior for labels that were in
the image's label set and one for new candidates, as the ReaL data shows it should
(``benchmarks/real_aggregation.py``). The decision: present with probability ≥ 0.8 → correct (the
ReaL threshold), ≤ 0.2 → wrong, otherwise unclear. Answers of the *classify* queue measure human
accuracy and do not change labels. An image is problematic when at least half of its reviews flag
it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypedDict

import numpy as np
from numpy.typing import NDArray

from errata.core.checks import choice
from errata.io.files import write_text
from errata.resources import N_CLASSES
from errata.review import storage
from errata.review.aggregation import Method, dawid_skene, majority_vote, method_of
from errata.review.models import CORRECT, DONT_KNOW, UNCLEAR, WRONG

if TYPE_CHECKING:
    from errata.core.labelset import LabelSet
    from errata.core.sparse import Csr

Scope = Literal["all", "reviewed"]
SCOPES: tuple[Scope, Scope] = ("all", "reviewed")
PRESENT_THRESHOLD = 0.8  # ReaL: a label is in the set when its posterior is at least this
ABSENT_THRESHOLD = 0.2  # below this a reviewed label is recorded as wrong
PROBLEMATIC_SHARE = 0.5  # share of an image's reviews that must flag it problematic


class AggregatedAnswers(TypedDict):
    """The aggregated answers, one entry per question q = (image, class) answered at least once
    (:func:`aggregate_answers`)."""

    file_names: NDArray[np.object_]  # (q,) image file names
    class_index: NDArray[np.int64]  # (q,)
    present: NDArray[np.float64]  # (q,) probability that the label is present
    decision: NDArray[np.int64]  # (q,) WRONG / UNCLEAR / CORRECT
    n_answers: NDArray[np.int64]  # (q,)
    problematic: dict[str, str]  # flagged image -> its reviewers' notes


def aggregate_answers(
    project: storage.Project, *, method: Method = "dawid-skene", store: bool = True
) -> AggregatedAnswers:
    """AggregatedAnswers all label answers of the project.

    Returns
    -------
    AggregatedAnswers
        ``file_names`` (q,), ``class_index`` (q,), ``present`` (q,) probability the label is
        present, ``decision`` (q,) WRONG/UNCLEAR/CORRECT, ``n_answers`` (q,), and ``problematic``
        {file name: note} — one entry per question q = (image, class) with at least one answer.
        With ``store``, the posteriors are written to the ``posteriors`` table.
    """
    import pandas as pd

    method = method_of(method)  # "Majority" is majority; anything else a one-line error
    rows = storage.answer_rows(project)
    df = pd.DataFrame(
        rows["answers"], columns=["file_name", "queue", "class_index", "annotator", "answer"]
    )
    df = df[(df["queue"] != "classify") & (df["answer"] != DONT_KNOW)]
    keys = df["file_name"].astype(str) + "\t" + df["class_index"].astype(str)
    item, uniq = pd.factorize(keys)
    worker = pd.factorize(df["annotator"])[0]
    answer = df["answer"].to_numpy(np.int64)
    n_items = len(uniq)
    q_file = np.array([u.split("\t")[0] for u in uniq], dtype=object)
    q_class = np.array([int(u.split("\t")[1]) for u in uniq], dtype=np.int64)
    initial = _initial_labels(project, q_file, q_class)
    counts = np.zeros((n_items, 3))
    np.add.at(counts, (item, answer), 1)
    if n_items == 0:
        present = np.zeros(0)
        decision = np.zeros(0, dtype=np.int64)
    elif method == "majority":
        present = majority_vote(item, worker, answer, n_items=n_items).posteriors[:, 1]
        decision = _plurality(counts)
    else:  # dawid-skene
        present = dawid_skene(
            item, worker, answer, n_items=n_items, groups=initial.astype(np.int64)
        ).posteriors[:, 1]
        decision = np.where(
            present >= PRESENT_THRESHOLD,
            CORRECT,
            np.where(present <= ABSENT_THRESHOLD, WRONG, UNCLEAR),
        )
    reviews = pd.DataFrame(rows["reviews"], columns=["file_name", "problematic", "note"])
    reviews["problematic"] = reviews["problematic"].astype(bool)
    share = reviews.groupby("file_name")["problematic"].mean()
    notes = (
        reviews.loc[reviews["problematic"].to_numpy()]
        .groupby("file_name")["note"]
        .agg(lambda s: " | ".join(x for x in s if x))
    )
    flagged = share[share >= PROBLEMATIC_SHARE].index
    out: AggregatedAnswers = {
        "file_names": q_file,
        "class_index": q_class,
        "present": present,
        "decision": decision,
        "n_answers": counts.sum(axis=1).astype(np.int64),
        "problematic": {f: notes.get(f, "") for f in flagged},
    }
    if store:
        _store(project, out, method)
    return out


def _plurality(counts: np.ndarray) -> np.ndarray:
    """Most frequent of WRONG/UNCLEAR/CORRECT per row; a tie is UNCLEAR."""
    best = counts.argmax(axis=1)
    tie = (counts == counts.max(axis=1, keepdims=True)).sum(axis=1) > 1
    return np.where(tie, UNCLEAR, best)


def _initial_labels(
    project: storage.Project,
    file_names: np.ndarray,
    classes: np.ndarray,
) -> np.ndarray:
    """Whether each (image, class) question was in the image's label set at project creation."""
    from sqlalchemy import select

    from errata.review.models import Image

    with project.session() as s:
        labels = dict(s.execute(select(Image.file_name, Image.labels)).all())
    return np.array(
        [str(c) in labels.get(f, "").split() for f, c in zip(file_names, classes)], dtype=bool
    )


def _store(project: storage.Project, agg: AggregatedAnswers, method: str) -> None:
    from sqlalchemy import delete, insert, select

    from errata.review.models import Image, Posterior

    with project.session() as s:
        ids = dict(s.execute(select(Image.file_name, Image.id)).all())
        s.execute(delete(Posterior).where(Posterior.method == method))
        if len(agg["file_names"]):
            s.execute(
                insert(Posterior),
                [
                    {
                        "image_id": ids[f],
                        "class_index": int(c),
                        "method": method,
                        "present": float(p),
                        "decision": int(d),
                        "n_answers": int(n),
                    }
                    for f, c, p, d, n in zip(
                        agg["file_names"],
                        agg["class_index"],
                        agg["present"],
                        agg["decision"],
                        agg["n_answers"],
                    )
                ],
            )
        s.commit()


def reviewed_labels(
    project: storage.Project,
    *,
    method: Method = "dawid-skene",
    scope: Scope = "all",
    agg: AggregatedAnswers | None = None,
) -> tuple[LabelSet, Csr]:
    """The project's label set with the aggregated answers applied (a :class:`LabelSet`), and
    the per-question *wrong* decisions as a :class:`~errata.core.sparse.Csr`."""
    from errata.core.labelset import LabelSet
    from errata.core.sparse import Csr
    from errata.io.labels import load_labels

    source = storage.get_meta(project, "labels") or "real"
    base = load_labels(source)
    agg = agg if agg is not None else aggregate_answers(project, method=method)
    rows = base.positions(agg["file_names"])
    known = rows >= 0
    r, c, d = rows[known], agg["class_index"][known], agg["decision"][known]
    n_cls = base.correct.n_classes
    decided = r.astype(np.int64) * n_cls + c

    def revise(labels: Csr, decision: int) -> Csr:
        """The base labels with every decided (image, class) set to ``decision``."""
        keys = labels.row_ids * n_cls + labels.indices
        keep = keys[~np.isin(keys, decided)]
        keys = np.concatenate([keep, decided[d == decision]])
        return Csr.from_pairs(keys // n_cls, keys % n_cls, len(base), n_classes=n_cls)

    correct, unclear = revise(base.correct, CORRECT), revise(base.unclear, UNCLEAR)
    wrong = revise(Csr.empty(len(base), n_classes=n_cls), WRONG)
    problematic = base.problematic.copy()
    prow = base.positions(np.array([str(x) for x in agg["problematic"]], dtype=str))
    problematic[prow[prow >= 0]] = True
    out = LabelSet(
        name=f"{base.name}+review",
        file_names=base.file_names,
        correct=correct,
        unclear=unclear,
        problematic=problematic,
        original=base.original,
        imagenet_m=base.imagenet_m,
        source=f"review project {project.path}",
    )
    if scope == "reviewed":
        keep = np.zeros(len(base), dtype=bool)
        keep[r] = True
        keep[prow[prow >= 0]] = True
        return out.take(keep), wrong.take(keep)
    return out, wrong


def to_shankar_json(
    labels: LabelSet, wrong: Csr, problematic_notes: dict[str, str]
) -> dict[str, object]:
    """The Shankar et al. schema: ``initial_annots`` {file: {correct, wrong, unclear}} with WordNet
    ids, ``problematic_images`` {file: note}, and ``imagenet_m`` when the set has it."""
    from errata import resources

    wnids = np.array(resources.classes().wnids, dtype=object)

    def lists(sets: Csr) -> list[list[str]]:
        return [
            w.tolist() for w in np.split(wnids[sets.indices.astype(np.int64)], sets.indptr[1:-1])
        ]

    correct, unclear, wrong_l = lists(labels.correct), lists(labels.unclear), lists(wrong)
    annots = {
        str(f): {"correct": c, "wrong": w, "unclear": u}
        for f, c, w, u in zip(labels.file_names, correct, wrong_l, unclear)
    }
    problematic = {
        str(f): problematic_notes.get(str(f), "") for f in labels.file_names[labels.problematic]
    }
    out: dict[str, object] = {"initial_annots": annots, "problematic_images": problematic}
    if labels.imagenet_m is not None:
        out["imagenet_m"] = [str(f) for f in labels.file_names[labels.imagenet_m]]
    return out


def scope_of(text: str) -> Scope:
    """``text`` as an export scope (``all`` or ``reviewed``, without regard to case); a one-line
    :class:`~errata.exceptions.ErrataInputError` otherwise."""
    return choice(text, SCOPES, keyword="scope")


def export_labels(
    project: storage.Project,
    out: str | Path,
    *,
    method: Method = "dawid-skene",
    scope: Scope = "all",
) -> dict[str, int]:
    """Write the reviewed label set to ``out`` (Shankar JSON), atomically; returns counts."""
    scope = scope_of(scope)
    agg = aggregate_answers(project, method=method)
    labels, wrong = reviewed_labels(project, method=method, scope=scope, agg=agg)
    doc = to_shankar_json(labels, wrong, agg["problematic"])
    write_text(out, json.dumps(doc))  # atomic, with the usual permissions: meant to be shared
    d = agg["decision"]
    return {
        "images": len(labels),
        "questions": int(len(d)),
        "correct": int((d == CORRECT).sum()),
        "unclear": int((d == UNCLEAR).sum()),
        "wrong": int((d == WRONG).sum()),
        "problematic": int(labels.problematic.sum()),
    }


assert N_CLASSES == 1000
