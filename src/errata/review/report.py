"""Human versus model accuracy on the *classify* queue (Shankar et al., "Evaluating Machine
Accuracy on ImageNet"): every annotator's choice and every model's top-1 on the same images,
scored against the reviewed multi-label set (correct ∪ unclear, problematic images left out),
overall and split into dogs / other organisms / objects.
"""

from __future__ import annotations

from typing import Literal, TypedDict

import numpy as np

from errata.resources import N_CLASSES
from errata.review import storage
from errata.review.aggregation import Method

DOG = "n02084071"  # WordNet "dog, domestic dog": Shankar et al.'s dog group
ORGANISM = "n00004475"  # WordNet "organism, being"
Group = Literal["dogs", "other organisms", "objects"]
GROUPS: tuple[Group, Group, Group] = ("dogs", "other organisms", "objects")

# one scored row: an annotator, all humans pooled, or a model; per group the accuracy (None when
# the group has no image) and the number of answers ("n dogs", ...)
HumanRow = TypedDict(
    "HumanRow",
    {
        "who": str,
        "n": int,
        "accuracy": float,
        "accuracy_ci95": list[float],
        "mla": float,
        "mla_ci95": list[float],
        "dogs": float | None,
        "n dogs": int,
        "other organisms": float | None,
        "n other organisms": int,
        "objects": float | None,
        "n objects": int,
    },
)


class HumanVsModel(TypedDict):
    """What :func:`human_vs_model` returns: the images scored and one row per who."""

    images: int
    rows: list[HumanRow]


def class_groups() -> np.ndarray:
    """``(1000,)`` group index into ``GROUPS`` per class, from the WordNet hierarchy."""
    try:
        from errata.taxonomy import class_ancestry

        anc = class_ancestry()
        dogs, organisms = anc.below(DOG), anc.below(ORGANISM)
    except Exception:  # taxonomy unavailable: ImageNet's index ranges (dogs 151-268, animals 0-397)
        idx = np.arange(N_CLASSES)
        dogs = (idx >= 151) & (idx <= 268)
        organisms = (idx <= 397) | (idx >= 983) & (idx <= 997)
    return np.where(dogs, 0, np.where(organisms, 1, 2))


def human_vs_model(project: storage.Project, *, method: Method = "dawid-skene") -> HumanVsModel:
    """Accuracy of humans and of each model on the classify images that humans answered.

    Returns
    -------
    HumanVsModel
        ``images``: number of images scored; ``rows``: one dict per annotator ("human: NAME"),
        for all humans pooled ("humans") and per model, with ``n``, ``accuracy``, ``mla`` (averaged
        per original class; an image whose original class is unknown counts in ``accuracy``
        only) and ``accuracy`` per group.
    """
    import pandas as pd
    from sqlalchemy import select

    from errata.core.scoring import Scores, answer_tally
    from errata.review.export import reviewed_labels
    from errata.review.models import Annotator, Answer, Image, Item, Model, Prediction

    labels, _ = reviewed_labels(project, method=method)
    with project.session() as s:
        human = pd.DataFrame(
            s.execute(
                select(Image.file_name, Annotator.name, Answer.class_index)
                .join(Item, Item.id == Answer.item_id)
                .join(Image, Image.id == Item.image_id)
                .join(Annotator, Annotator.id == Answer.annotator_id)
                .where(Item.queue == "classify")
            ).all(),
            columns=["file_name", "who", "choice"],
        )
        models = pd.DataFrame(
            s.execute(
                select(Image.file_name, Model.name, Prediction.top1)
                .join(Image, Image.id == Prediction.image_id)
                .join(Model, Model.id == Prediction.model_id)
            ).all(),
            columns=["file_name", "who", "choice"],
        )
    rows_l = labels.positions(human["file_name"].to_numpy(str)) if len(human) else np.zeros(0, int)
    human = human[rows_l >= 0]
    human = (
        human[labels.evaluated[labels.positions(human["file_name"].to_numpy(str))]]
        if len(human)
        else human
    )
    images = sorted(set(human["file_name"]))
    models = models[models["file_name"].isin(images)]
    groups = class_groups()
    out_rows: list[HumanRow] = []

    def score(name: str, df: pd.DataFrame) -> None:
        if df.empty:
            return
        r = labels.positions(df["file_name"].to_numpy(str))
        hits = labels.multi.contains_at(r, df["choice"].to_numpy(np.int64))
        orig = labels.original[r].astype(np.int64)
        g = groups[np.maximum(orig, 0)]
        # scored as models are (core.scoring): the accuracy over every answer is the label
        # accuracy; an image of unknown class counts in it, not in the MLA
        tally = answer_tally(np.zeros(len(r), np.int64), 1, orig, hits, N_CLASSES)
        v = Scores((name,), tally, label_name="answers", groups={}, classified=False).values
        share: list[float | None] = []
        count: list[int] = []
        for k in range(len(GROUPS)):
            m = g == k
            share.append(float(hits[m].mean()) if m.any() else None)
            count.append(int(m.sum()))
        row: HumanRow = {
            "who": name,
            "n": int(len(df)),
            "accuracy": float(v["label_accuracy"][0]),
            "accuracy_ci95": [float(v["label_accuracy_lo"][0]), float(v["label_accuracy_hi"][0])],
            "mla": float(v["mla"][0]),
            "mla_ci95": [float(v["mla_lo"][0]), float(v["mla_hi"][0])],
            "dogs": share[0],
            "n dogs": count[0],
            "other organisms": share[1],
            "n other organisms": count[1],
            "objects": share[2],
            "n objects": count[2],
        }
        out_rows.append(row)

    score("humans", human)
    for who, df in human.groupby("who"):
        score(f"human: {who}", df)
    for who, df in models.groupby("who"):
        score(str(who), df)
    return {"images": len(images), "rows": out_rows}
