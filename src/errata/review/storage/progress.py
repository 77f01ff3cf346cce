"""Read-outs over the whole project: progress per queue and annotator, every answer for
aggregation and export, an image's original label (for whoever may see it)."""

from __future__ import annotations

from errata.review.models import QUEUES, Annotator, Answer, Assignment, Image, Item, Review
from errata.review.storage.project import Project
from errata.review.storage.views import (
    AnswerRows,
    PersonProgress,
    Progress,
    QueueProgress,
    no_progress,
)


def progress(project: Project) -> Progress:
    """Per queue: items, items with at least one review, reviews; per annotator: reviews per
    queue and golden accuracy."""
    from sqlalchemy import case, func, select

    with project.session() as s:
        per_queue = s.execute(
            select(
                Item.queue,
                func.count(Item.id),
                func.sum(case((Item.n_reviews > 0, 1), else_=0)),
                func.sum(Item.n_reviews),
            ).group_by(Item.queue)
        ).all()
        per_ann = s.execute(
            select(
                Annotator.name,
                Item.queue,
                func.count(Review.id),
                func.sum(Review.golden_right),
                func.sum(Review.golden_total),
                func.sum(case((Item.training.is_(True), Review.golden_right), else_=0)),
                func.sum(case((Item.training.is_(True), Review.golden_total), else_=0)),
                func.sum(case((Item.training.is_(True), 1), else_=0)),
            )
            .join(Review, Review.annotator_id == Annotator.id)
            .join(Item, Item.id == Review.item_id)
            .group_by(Annotator.name, Item.queue)
        ).all()
    queues: dict[str, QueueProgress] = {q: {"items": 0, "started": 0, "reviews": 0} for q in QUEUES}
    for q, n, started, reviews in per_queue:
        queues[q] = {"items": int(n), "started": int(started or 0), "reviews": int(reviews or 0)}
    people: dict[str, PersonProgress] = {}
    for name, q, n, right, total, t_right, t_total, t_done in per_ann:
        p = people.setdefault(name, no_progress())
        p["reviews"][q] = int(n)
        p["golden_right"] += int(right or 0)
        p["golden_total"] += int(total or 0)
        p["training_right"] += int(t_right or 0)
        p["training_total"] += int(t_total or 0)
        p["training_done"] += int(t_done or 0)
    for p in people.values():
        p["golden_accuracy"] = (
            (p["golden_right"] / p["golden_total"]) if p["golden_total"] else None
        )
        # the training score: right answers over the questions of the training tasks done
        p["training_score"] = (
            (p["training_right"] / p["training_total"]) if p["training_total"] else None
        )
    return {"queues": queues, "annotators": people}


def answer_rows(project: Project) -> AnswerRows:
    """All answers as parallel lists (image file name, class, annotator, answer code), plus the
    problematic votes per image, for aggregation and export."""
    from sqlalchemy import select

    with project.session() as s:
        rows = s.execute(
            select(
                Image.file_name, Item.queue, Answer.class_index, Answer.annotator_id, Answer.answer
            )
            .join(Item, Item.id == Answer.item_id)
            .join(Image, Image.id == Item.image_id)
        ).all()
        flags = s.execute(
            select(Image.file_name, Review.problematic, Review.note)
            .join(Item, Item.id == Review.item_id)
            .join(Image, Image.id == Item.image_id)
        ).all()
    return {"answers": rows, "reviews": flags}


def image_original(project: Project, file_name: str) -> int | None:
    """Original label of a project image, None when the project has no such image."""
    from sqlalchemy import select

    with project.read_session() as s:
        return s.scalar(select(Image.original).where(Image.file_name == file_name))


def image_original_for(project: Project, file_name: str, annotator_id: int) -> int | None:
    """Original label of a project image that is the picture of an item in one of the
    annotator's queues; None otherwise (no such image, or none of their queues holds it)."""
    from sqlalchemy import select

    with project.read_session() as s:
        original = s.scalar(
            select(Image.original)
            .join(Item, Item.image_id == Image.id)
            .join(Assignment, Assignment.queue == Item.queue)
            .where(Image.file_name == file_name, Assignment.annotator_id == annotator_id)
            .limit(1)
        )
    return None if original is None else int(original)
