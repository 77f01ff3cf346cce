"""The shapes of what the storage functions read out for the pages and the export: plain dicts
at run time (the templates index them as before), typed here for the checker."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, TypedDict

if TYPE_CHECKING:
    from sqlalchemy import Row


class ItemView(TypedDict):
    """An item as one annotator sees it (:func:`errata.review.storage.item_view`)."""

    id: int
    queue: str
    file_name: str
    original: int  # the dataset's label, -1 when the image has none
    labels: list[int]
    candidates: list[int]
    golden: dict[int, int] | None  # expected answer per class of a golden item
    training: bool
    answers: dict[int, int]  # this annotator's answer code per class
    problematic: bool
    note: str
    done: bool  # this annotator has reviewed it
    leased: bool  # not done, and leased to them with more than half of the lease left


class QueuePosition(TypedDict):
    """Item ``k`` of ``n`` in one annotator's work on a queue, and the items they reviewed just
    before and after it (:func:`errata.review.storage.queue_position`)."""

    k: int
    n: int
    previous: int | None
    next: int | None


class AnnotatorRow(TypedDict):
    """One account as the admin page lists it (:func:`errata.review.storage.annotators`)."""

    id: int
    name: str
    is_admin: bool
    training: bool
    disabled: bool
    queues: list[str]  # in the order of QUEUES


class QueueProgress(TypedDict):
    """One queue: its items, those with at least one review, and the reviews."""

    items: int
    started: int
    reviews: int


class PersonProgress(TypedDict):
    """One annotator's reviews per queue and their scores on golden and training questions."""

    reviews: dict[str, int]
    golden_right: int
    golden_total: int
    training_right: int
    training_total: int
    training_done: int  # training tasks reviewed
    golden_accuracy: float | None  # None before any golden question
    training_score: float | None  # None before any training question


class Progress(TypedDict):
    """Per queue and per annotator name (:func:`errata.review.storage.progress`)."""

    queues: dict[str, QueueProgress]
    annotators: dict[str, PersonProgress]


def no_progress() -> PersonProgress:
    """The progress of an annotator who has reviewed nothing yet."""
    return {
        "reviews": {},
        "golden_right": 0,
        "golden_total": 0,
        "training_right": 0,
        "training_total": 0,
        "training_done": 0,
        "golden_accuracy": None,
        "training_score": None,
    }


class AnswerRows(TypedDict):
    """Every answer and every review's flags, for aggregation and export
    (:func:`errata.review.storage.answer_rows`)."""

    # (image file name, queue, class index, annotator id, answer code)
    answers: Sequence[Row[str, str, int, int, int]]
    # (image file name, problematic, note)
    reviews: Sequence[Row[str, bool, str]]
