"""The straightforward reference: the error pipeline and the metrics as a row-wise Python loop,
image by image and model by model, the way the published pipeline (Peychev et al. 2023) is
written. It shares no code with ``errata.core``: tests compare the vectorised core with it, and
``make bench`` times it as the anchor the core is measured against.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

CORRECT, CORRECT_MULTI, EXCLUDED = "correct", "correct multi-label", "excluded"
OVERLAP, FINE, SPURIOUS = "overlapping classes", "fine-grained", "spurious correlation"
NONPROTO, NONPROTO_X, FAILURE = "non-prototypical", "non-prototypical (ImageNet-X)", "model failure"
ERRORS = (OVERLAP, FINE, "fine-grained OOV", SPURIOUS, NONPROTO, NONPROTO_X, FAILURE)
MIN_COUNT = 3  # errata's default spurious rule (errata.core.evidence.DEFAULT_SPURIOUS)
PUBLISHED_MIN_COUNT = 2  # the published pipeline's (Peychev et al. 2023)
# rejected proposals (errata's default): raters rejected the prediction on at least SHARE of the
# other images holding the label (of the evaluated images, original labels added) ...
SHARE = 0.10
MIN_REJECTED = 2  # ... and on at least this many other images
REJECTION = "share"  # or "poisson": above chance (the rule 'above-chance'), at ALPHA
ALPHA = 0.01  # rejected above chance: chance reaches the count with probability below this


@dataclass
class Rejected:
    """Rejected proposals, row-wise: per image name its labels and the proposals raters
    rejected (not among its labels), the pair counts and the marginals chance is taken from."""

    sets: dict[str, set[int]]
    rejected: dict[str, set[int]]
    answered: dict[str, set[int]]  # asked about and not rejected (not among its labels)
    counts: Counter  # (label, proposal) -> images
    holding: Counter  # label -> images holding it
    rate: dict[int, float]  # proposal -> share of images where it was rejected
    _threshold: dict[tuple[int, int], int] = field(default_factory=dict)

    @classmethod
    def of(
        cls, names: Any, label: Any, rejected: Any, real: list[list[int]], original: Any
    ) -> Rejected:
        """From the raw questions (file name, label, rejected) and the ReaL label lists and
        original labels in file-name order (images with an empty ReaL set are left out)."""
        sets: dict[str, set[int]] = {}
        rej: dict[str, set[int]] = defaultdict(set)
        kept: dict[str, set[int]] = defaultdict(set)
        for n, lab, r in zip(names.tolist(), label.tolist(), rejected.tolist()):
            number = int(n[len("ILSVRC2012_val_") :][:8]) - 1
            if not real[number]:
                continue
            sets[n] = set(real[number]) | {int(original[number])}
            (rej if r else kept)[n].add(int(lab))
        answered = {n: kept[n] - sets[n] - rej[n] for n in kept}
        counts: Counter = Counter()
        holding: Counter = Counter()
        seen: Counter = Counter()
        for n, s in sets.items():
            r_n = rej.get(n, set()) - s
            rej[n] = r_n
            for a in s:
                holding[a] += 1
                for b in r_n:
                    counts[(a, b)] += 1
            for b in r_n:
                seen[b] += 1
        rate = {b: c / len(sets) for b, c in seen.items()}
        return cls(
            sets=sets,
            rejected=dict(rej),
            answered=answered,
            counts=counts,
            holding=holding,
            rate=rate,
        )

    def threshold(self, a: int, b: int) -> int:
        if (a, b) not in self._threshold:
            lam = self.holding[a] * self.rate.get(b, 0.0)
            lam = float(lam)
            k, below = 0, 0.0  # below = P(X < k)
            while True:
                if 1.0 - below < ALPHA - 1e-15 and k >= MIN_REJECTED:
                    break
                below += math.exp(-lam) * lam**k / math.factorial(k) if lam > 0 else float(k == 0)
                k += 1
                if k > 10_000:
                    break
            self._threshold[(a, b)] = max(k, MIN_REJECTED)
        return self._threshold[(a, b)]


@dataclass
class World:
    """Everything the loop reads, as plain Python structures."""

    names: list[str]  # file name of each label-set image
    multi: list[set[int]]  # correct ∪ unclear
    original: list[int]  # -1 unknown
    problematic: list[bool]
    overlap: set[tuple[int, int]]  # (label, prediction)
    supers: list[frozenset[int]]  # superclasses of each class
    lca: list[list[int]]
    groups: dict[str, list[str]]  # split -> group of each class
    nonproto: dict[int, tuple[str, bool]]  # image -> (source, from ImageNet-X)
    cooc: Counter  # (a, b) -> images holding both (evaluated images, original added)
    rejected: Rejected | None = None

    @classmethod
    def of(
        cls,
        labels: Any,
        taxonomy: Any,
        nonproto: dict[int, tuple[str, bool]] | None = None,
        rejected: Rejected | None = None,
    ) -> World:
        multi = [set(c) | set(u) for c, u in zip(labels.correct.lists(), labels.unclear.lists())]
        original = [int(o) for o in labels.original]
        problematic = [bool(p) for p in labels.problematic]
        cooc: Counter = Counter()
        for s, o, p in zip(multi, original, problematic):
            if p or not s:
                continue
            full = s | ({o} if o >= 0 else set())
            for a in full:
                for b in full:
                    cooc[(a, b)] += 1
        members = taxonomy.superclass_members
        supers = [frozenset(np.flatnonzero(members[c]).tolist()) for c in range(members.shape[0])]
        return cls(
            names=[str(n) for n in labels.file_names],
            multi=multi,
            original=original,
            problematic=problematic,
            overlap={(int(a), int(b)) for a, b in zip(*np.nonzero(taxonomy.overlap))},
            supers=supers,
            lca=np.asarray(taxonomy.lca_height).tolist(),
            groups={k: [str(g) for g in v] for k, v in taxonomy.groups.items()},
            nonproto=nonproto or {},
            cooc=cooc,
            rejected=rejected,
        )


def classify_image(w: World, i: int, pred: int) -> tuple[str, int, int, float]:
    """(category, evidence label, evidence count, severity) of one prediction."""
    s = w.multi[i]
    if w.problematic[i] or not s:
        return EXCLUDED, -1, -1, float("nan")
    if pred in s:
        return (CORRECT if pred == w.original[i] else CORRECT_MULTI), -1, -1, float("nan")
    own = s | ({w.original[i]} if w.original[i] >= 0 else set())
    labels = sorted(own - {pred})
    severity = float(min(w.lca[lab][pred] for lab in labels))
    for lab in labels:
        if (lab, pred) in w.overlap:
            return OVERLAP, lab, -1, severity
    for lab in labels:
        if w.supers[lab] & w.supers[pred]:
            return FINE, lab, -1, severity
    r = w.rejected
    # the per-image check: raters asked about the prediction here and did not reject it
    answered = r is not None and pred in r.answered.get(w.names[i], set())
    for lab in labels:
        if answered or w.supers[lab] & w.supers[pred]:
            continue
        count = w.cooc[(lab, pred)] - (lab in own and pred in own)
        if count >= MIN_COUNT:
            return SPURIOUS, lab, count, severity
        if r is not None:
            name = w.names[i]
            mine = lab in r.sets.get(name, set()) and pred in r.rejected.get(name, set())
            count = r.counts[(lab, pred)] - mine
            if REJECTION == "poisson":
                won = count >= r.threshold(lab, pred)
            else:  # the other images holding the label: its co-occurrence count, less this one
                others = w.cooc[(lab, lab)] - 1
                won = count >= MIN_REJECTED and count >= SHARE * others
            if won:
                return SPURIOUS, lab, count, severity
    if i in w.nonproto:
        return (NONPROTO_X if w.nonproto[i][1] else NONPROTO), -1, -1, severity
    return FAILURE, -1, -1, severity


def classify_published(
    w: World,
    i: int,
    pred: int,
    sources: dict[str, set[int]],
    oov: frozenset[tuple[int, int]] = frozenset(),
) -> tuple[str, int, int]:
    """(category, evidence label, evidence count) of one prediction under the published
    procedure, written from the paper's description (Peychev et al. 2023, Sec. 3), not from
    errata's code: problematic images and images without a label are left out; a prediction
    that is the original label (and accepted) is correct; then, in this order, a collapsed
    mapping of one of the image's labels (overlapping classes), one of the image's labels
    (correct multi-label), a shared superclass (fine-grained), an out-of-vocabulary object
    (``oov``: the (image, prediction) pairs an open-world model would claim), a pair that
    shares no superclass and co-occurs in at least two label sets of ``sources`` (file name →
    labels) other than the image's own (spurious correlation), the expert non-prototypical
    lists, else model failure."""
    s = w.multi[i]
    if w.problematic[i] or not s:
        return EXCLUDED, -1, -1
    if pred == w.original[i] and pred in s:
        return CORRECT, -1, -1
    own = s | ({w.original[i]} if w.original[i] >= 0 else set())
    labels = sorted(own - {pred})
    for lab in labels:
        if (lab, pred) in w.overlap:
            return OVERLAP, lab, -1
    if pred in s:
        return CORRECT_MULTI, -1, -1
    for lab in labels:
        if w.supers[lab] & w.supers[pred]:
            return FINE, lab, -1
    if (i, pred) in oov:
        return "fine-grained OOV", -1, -1
    name = w.names[i]
    for lab in labels:
        if w.supers[lab] & w.supers[pred]:
            continue
        count = sum(lab in t and pred in t for n, t in sources.items() if n != name)
        if count >= PUBLISHED_MIN_COUNT:
            return SPURIOUS, lab, count
    if i in w.nonproto and not w.nonproto[i][1]:
        return NONPROTO, -1, -1
    return FAILURE, -1, -1


def score_model(
    w: World, rows: dict[str, list[int]], original_of: dict[str, int]
) -> dict[str, Any]:
    """One model, given as ``{file name: ranked classes}``: its categories and figures."""
    index = {n: i for i, n in enumerate(w.names)}
    top1_hits = top1_n = top5_hits = top5_n = 0
    for name, ranked in rows.items():
        o = original_of.get(name, -1)
        if o >= 0:
            top1_n += 1
            top1_hits += ranked[0] == o
            if len(ranked) >= 5:
                top5_n += 1
                top5_hits += o in ranked[:5]
    per_image: dict[int, tuple[str, int, int, float]] = {}
    for name, ranked in rows.items():
        if name in index:
            per_image[index[name]] = classify_image(w, index[name], ranked[0])
    counts = Counter(c for c, *_ in per_image.values())
    evaluated = [i for i, (c, *_) in per_image.items() if c != EXCLUDED]
    correct = [i for i in evaluated if per_image[i][0] in (CORRECT, CORRECT_MULTI)]

    def class_avg(accepted: tuple[str, ...]) -> float:
        per: dict[int, list[bool]] = defaultdict(list)
        for i in evaluated:
            if w.original[i] >= 0:
                per[w.original[i]].append(per_image[i][0] in accepted)
        return sum(sum(v) / len(v) for v in per.values()) / len(per) if per else float("nan")

    base = (CORRECT, CORRECT_MULTI)
    errors = [v for v in per_image.values() if v[0] in ERRORS]
    groups: dict[str, Counter] = {}
    for split, of_class in w.groups.items():
        c: Counter = Counter()
        for i, (cat, *_) in per_image.items():
            g = of_class[w.original[i]] if w.original[i] >= 0 else "unknown"
            c[(g, cat)] += 1
        groups[split] = c
    return {
        "top1": top1_hits / top1_n if top1_n else float("nan"),
        "top5": top5_hits / top5_n if top5_n else None,
        "label_accuracy": len(correct) / len(evaluated) if evaluated else float("nan"),
        "mla": class_avg(base),
        "mla_overlap": class_avg((*base, OVERLAP)),
        "mla_minor": class_avg((*base, OVERLAP, FINE, "fine-grained OOV")),
        "mla_explainable": class_avg(
            (*base, OVERLAP, FINE, "fine-grained OOV", SPURIOUS, NONPROTO, NONPROTO_X)
        ),
        "counts": dict(counts),
        "errors": len(errors),
        "mean_severity": float(np.mean([v[3] for v in errors])) if errors else float("nan"),
        "groups": groups,
        "per_image": per_image,
    }
