"""One item as an annotator sees it, where it stands in their work, and saving their review."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from errata.exceptions import ErrataInputError
from errata.review.models import Answer, Image, Item, Review
from errata.review.storage.project import Project, Refused, begin_write
from errata.review.storage.settings import lease_seconds, review_target
from errata.review.storage.views import ItemView, QueuePosition

if TYPE_CHECKING:
    from sqlalchemy import ScalarSelect, Select
    from sqlalchemy.sql.elements import ColumnElement


def item_view(project: Project, item_id: int, annotator_id: int) -> ItemView | None:
    """Everything the item page shows, with only this annotator's own answers (one query, and
    one more for the answers of an item they reviewed)."""
    from sqlalchemy import and_, select

    target, lease_s = review_target(project), lease_seconds(project)  # before the session
    with project.read_session() as s:
        row = s.execute(
            select(Item, Image, Review)
            .join(Image, Image.id == Item.image_id)
            .outerjoin(Review, and_(Review.item_id == Item.id, Review.annotator_id == annotator_id))
            .where(Item.id == item_id)
        ).first()
        if row is None:
            return None
        now, item, image = datetime.now(timezone.utc), row[0], row[1]
        review: Review | None = row[2]
        # answers are written with their review in one transaction: none without a review
        mine = (
            {}
            if review is None
            else dict(
                s.execute(
                    select(Answer.class_index, Answer.answer).where(
                        Answer.item_id == item_id, Answer.annotator_id == annotator_id
                    )
                ).all()
            )
        )
    return {
        "id": item.id,
        "queue": item.queue,
        "file_name": image.file_name,
        "original": int(image.original),
        "labels": _ints(image.labels),
        "candidates": _ints(item.candidates),
        "golden": parse_golden(item.golden),
        "training": bool(item.training),
        "answers": {int(k): int(v) for k, v in mine.items()},
        "problematic": bool(review.problematic) if review else False,
        "note": review.note if review else "",
        "done": review is not None,
        # as leases._held_fresh: the item page needs no write to keep it
        "leased": review is None
        and item.lease_annotator == annotator_id
        and item.n_reviews < target
        and _aware(item.lease_expires) > now + timedelta(seconds=lease_s / 2),
    }


def _ints(text: str | None) -> list[int]:
    return [int(t) for t in (text or "").split()]


def parse_golden(text: str | None) -> dict[int, int] | None:
    """``"12:2 40:0"`` → ``{12: CORRECT, 40: WRONG}`` (expected answers of a golden item)."""
    if text is None:
        return None
    return {int(c): int(a) for c, a in (t.split(":") for t in text.split())}


def queue_position(project: Project, item_id: int, annotator_id: int) -> QueuePosition:
    """Where an item stands in this annotator's work on its queue: ``k`` of ``n`` (``n`` = the
    items they reviewed plus those still open to them, which shrinks as others finish items),
    and the items they reviewed just before and after it (for going back and forth). One
    query of aggregates over indexes (their reviews by ``ix_reviews_annotator_order``, the
    queue's items by ``ix_items_queue_position``), not a row per review."""
    from sqlalchemy import func, or_, select
    from sqlalchemy.orm import aliased

    target, now = review_target(project), datetime.now(timezone.utc)
    this_item, this_review = aliased(Item), aliased(Review)  # uncorrelated: computed once
    queue = select(this_item.queue).where(this_item.id == item_id).scalar_subquery()
    reviewed = (
        select(this_review.id)
        .where(this_review.item_id == item_id, this_review.annotator_id == annotator_id)
        .scalar_subquery()
    )

    def mine(*where: ColumnElement[bool]) -> Select[int]:
        """This annotator's reviews of the queue's items (their ids by default)."""
        return (
            select(Review.id)
            .join(Item, Item.id == Review.item_id)
            .where(Review.annotator_id == annotator_id, Item.queue == queue, *where)
        )

    def count(q: Select[int]) -> ScalarSelect[int]:
        return select(func.count()).select_from(q.subquery()).scalar_subquery()

    # items open to anyone (still needing reviews, or golden; not held by someone else),
    # minus those of them this annotator already reviewed: two aggregates, no per-row probe
    open_to_all = (
        or_(Item.golden.is_not(None), Item.n_reviews < target),
        or_(
            Item.lease_annotator.is_(None),
            Item.lease_annotator == annotator_id,
            Item.lease_expires <= now,
        ),
    )
    n_open = select(func.count()).select_from(Item).where(Item.queue == queue, *open_to_all)
    before = mine(or_(reviewed.is_(None), Review.id < reviewed))
    with project.read_session() as s:
        row = s.execute(
            select(
                queue,
                reviewed,
                count(mine()),
                count(mine(Review.id < reviewed)),
                before.with_only_columns(Review.item_id)
                .order_by(Review.id.desc())
                .limit(1)
                .scalar_subquery(),
                mine(Review.id > reviewed)
                .with_only_columns(Review.item_id)
                .order_by(Review.id)
                .limit(1)
                .scalar_subquery(),
                n_open.scalar_subquery(),
                count(mine(*open_to_all)),
            )
        ).one()
    if row[0] is None:
        return {"k": 0, "n": 0, "previous": None, "next": None}
    n_done, open_now = int(row[2]), int(row[6] or 0) - int(row[7] or 0)
    previous = None if row[4] is None else int(row[4])
    if row[1] is not None:  # reviewed: where it stands among their reviews, by time
        return {
            "k": int(row[3]) + 1,
            "n": n_done + open_now,
            "previous": previous,
            "next": None if row[5] is None else int(row[5]),
        }
    return {"k": n_done + 1, "n": n_done + max(open_now, 1), "previous": previous, "next": None}


def save_review(
    project: Project,
    item_id: int,
    annotator_id: int,
    answers: dict[int, int],
    *,
    problematic: bool = False,
    note: str = "",
) -> dict[str, int]:
    """Store one annotator's answers for one item and mark it reviewed, in one transaction.

    ``answers`` maps class index → answer code. For *novel* and *audit* items only candidate
    classes are accepted; for *classify* items any class. A first review of a regular item is
    counted only while the item still needs reviews and no one else holds a live lease on its
    last one (so no item gets more than its target); a second save of the same item replaces the
    first (editing), except on golden items, whose answers are final. Saves of one item are
    serialised (the item's row is locked), and a duplicate that still reaches the unique
    constraint is answered as the review already stored. Returns the golden score
    ``{"right": r, "total": t}`` (zero for non-golden items).

    Raises
    ------
    ErrataInputError
        Unknown item, no answer, a class that is not a candidate, or an unknown answer code.
    Refused
        A golden item answered before, or a regular item that already has its reviews.
    """
    from sqlalchemy import delete, select
    from sqlalchemy.exc import IntegrityError

    if not answers:
        raise ErrataInputError(f"item {item_id}: no answer given; nothing was saved")
    target = review_target(project)  # before the transaction: reading it takes a connection
    with project.writing(), project.session() as s:
        begin_write(project, s)
        item = s.scalar(select(Item).where(Item.id == item_id).with_for_update())
        if item is None:
            raise ErrataInputError(f"item {item_id}: no such item")
        allowed = set(_ints(item.candidates)) if item.queue != "classify" else set(range(1000))
        for c, a in answers.items():
            if c not in allowed:
                raise ErrataInputError(f"item {item_id}: class {c} is not a candidate")
            if a not in (0, 1, 2, 3):
                raise ErrataInputError(f"item {item_id}: answer code {a} is not 0-3")
        golden = parse_golden(item.golden) or {}
        right = sum(1 for c, exp in golden.items() if answers.get(c) == exp)
        total = len(golden)
        now = datetime.now(timezone.utc)
        review = s.scalar(
            select(Review).where(Review.item_id == item_id, Review.annotator_id == annotator_id)
        )
        if review is not None and item.golden is not None:
            raise Refused(
                f"item {item_id}: your answer to this golden question was already saved "
                "(golden answers are final once given)"
            )
        if review is None and item.golden is None:
            other_lease = (
                item.lease_annotator is not None
                and item.lease_annotator != annotator_id
                and _aware(item.lease_expires) > now
            )
            if item.n_reviews >= target or (other_lease and item.n_reviews + 1 >= target):
                raise Refused(
                    f"item {item_id}: this image already has its {target} reviews (your lease "
                    "on it had expired and others answered it); your answer was not saved"
                )
        if review is not None:  # an edit: the answers saved with the review are replaced
            s.execute(
                delete(Answer).where(Answer.item_id == item_id, Answer.annotator_id == annotator_id)
            )
        s.add_all(
            [
                Answer(
                    item_id=item_id,
                    annotator_id=annotator_id,
                    class_index=c,
                    answer=a,
                    updated_at=now,
                )
                for c, a in answers.items()
            ]
        )
        if review is None:
            s.add(
                Review(
                    item_id=item_id,
                    annotator_id=annotator_id,
                    problematic=problematic,
                    note=note[:2000],
                    golden_right=right,
                    golden_total=total,
                    updated_at=now,
                )
            )
            item.n_reviews = item.n_reviews + 1
            if item.lease_annotator == annotator_id:
                item.lease_annotator, item.lease_expires = None, None
        else:
            review.problematic, review.note, review.updated_at = problematic, note[:2000], now
            review.golden_right, review.golden_total = right, total
        try:
            s.commit()
        except IntegrityError:  # the same review saved at the same moment by a second request
            s.rollback()
            stored = s.scalar(
                select(Review).where(Review.item_id == item_id, Review.annotator_id == annotator_id)
            )
            if stored is None:
                raise
            return {"right": int(stored.golden_right), "total": int(stored.golden_total)}
    return {"right": right, "total": total}


def _aware(t: datetime | None) -> datetime:
    """A stored time as an aware UTC datetime (SQLite gives them back naive)."""
    if t is None:
        return datetime.min.replace(tzinfo=timezone.utc)
    return t if t.tzinfo is not None else t.replace(tzinfo=timezone.utc)
