"""The review web app (a shell): annotators improve the label set, their answers are
aggregated, and the result is exported in Shankar et al.'s JSON schema for ``errata analyze``.

Modules: :mod:`~errata.review.models` (tables), :mod:`~errata.review.storage` (project and all
reads/writes), :mod:`~errata.review.queues` (novel / audit / classify queues),
:mod:`~errata.review.golden` (golden questions), :mod:`~errata.review.security`,
:mod:`~errata.review.auth` (sessions, log-in throttling), :mod:`~errata.review.app` (FastAPI;
its routes in :mod:`~errata.review.web`), :mod:`~errata.review.aggregation` (majority vote,
Dawid–Skene), :mod:`~errata.review.export`, :mod:`~errata.review.report` (human vs model).
Needs the ``review`` extra: ``pip install 'imagenet-errata[review]'``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from errata.review.aggregation import Method, dawid_skene, majority_vote  # noqa: F401

if TYPE_CHECKING:
    from errata.core.labelset import LabelSet
    from errata.io.predictions import Predictions


def init_project(
    path: str | Path,
    *,
    labels: str | Path | LabelSet = "real",
    predictions: Sequence[str | Path | Predictions],
    images: str | Path | None = None,
    db_url: str | None = None,
    db_password: str | None = None,
    golden: str | Path | None = None,
    order: str = "auto",
    queues: tuple[str, ...] = ("novel", "audit", "classify"),
    audit_per_class: int | None = None,
    classify_images: int | None = None,
    max_novel: int | None = None,
    reviews_per_item: int | None = None,
    novel_ranking: str = "agreement",
    seed: int = 0,
) -> dict[str, int]:
    """Create a review project and fill its queues; returns the number of items per queue.

    ``labels`` is a built-in name or path (see :func:`errata.io.labels.load_labels`); each of
    ``predictions`` a path or :class:`~errata.io.predictions.Predictions`; ``golden`` is ``"real"``,
    a JSON path or None; ``novel_ranking`` orders the novel-prediction queue by model agreement
    (``"agreement"``) or by cleanlab's label quality (``"cleanlab"``, the ``labelissues`` extra).
    """
    from errata.core.checks import ORDERS, choice
    from errata.exceptions import ErrataInputError
    from errata.io.labels import load_labels
    from errata.io.predictions import load_predictions
    from errata.review import golden as golden_mod
    from errata.review import queues as q
    from errata.review import storage

    q.check_novel_ranking(novel_ranking, queues)  # before the project folder is made
    label_set = load_labels(labels)
    stated = choice(order, ORDERS, keyword="order")  # as load_predictions checks it, typed
    preds = [load_predictions(p, order=stated) for p in predictions]
    names = [p.name for p in preds]
    if len(set(names)) != len(names):
        raise ErrataInputError(
            f"--predictions: two models share a name ({', '.join(names)}); rename the files"
        )
    gold = golden_mod.load_golden(golden)
    source = (
        str(Path(labels).resolve())
        if isinstance(labels, (str, Path)) and Path(labels).exists()
        else str(labels if isinstance(labels, str) else label_set.name)
    )
    settings = {"labels": source}
    if reviews_per_item:
        settings["reviews_per_item"] = str(reviews_per_item)
    project = storage.create_project(
        path, db_url=db_url, images=images, settings=settings, db_password=db_password
    )
    kwargs = {
        k: v
        for k, v in dict(
            audit_per_class=audit_per_class, classify_images=classify_images, max_novel=max_novel
        ).items()
        if v is not None
    }
    try:
        return q.build(
            project,
            label_set,
            preds,
            golden=gold,
            queues=queues,
            seed=seed,
            novel_ranking=novel_ranking,
            **kwargs,
        )
    finally:
        project.dispose()


__all__ = ["init_project", "dawid_skene", "majority_vote", "Method"]
