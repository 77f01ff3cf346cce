"""Choosing an annotator's next item and leasing it to them: one annotator at a time per
regular item, skips, and what is held by others."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING

from errata.review.models import Assignment, Item, Review, Skip
from errata.review.storage.accounts import assigned_queues
from errata.review.storage.project import Project, begin_write
from errata.review.storage.settings import lease_seconds, review_target

if TYPE_CHECKING:
    from sqlalchemy import Select
    from sqlalchemy.sql.elements import ColumnElement


def _open_to(annotator_id: int, target: int, now: datetime) -> ColumnElement[bool]:
    """SQL condition: an item this annotator may be given now (golden items go to everyone;
    a regular item still needs reviews and nobody else holds a live lease on it)."""
    from sqlalchemy import and_, exists, or_

    mine = exists().where(Review.item_id == Item.id, Review.annotator_id == annotator_id)
    free = or_(
        Item.lease_annotator.is_(None),
        Item.lease_annotator == annotator_id,
        Item.lease_expires <= now,
    )
    return and_(~mine, or_(Item.golden.is_not(None), and_(Item.n_reviews < target, free)))


def next_item(project: Project, annotator_id: int, queue: str) -> int | None:
    """The item this annotator works on next in ``queue``, leased to them; None when nothing
    is left for them.

    The item they already hold (a live lease) comes first, its lease renewed; otherwise the
    first item by position that they have neither reviewed nor skipped, that still needs
    reviews and that nobody else holds. The lease is taken in the same transaction as the
    choice (``BEGIN IMMEDIATE`` on SQLite, ``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so two
    annotators asking at once never get the same regular item and no item is given out more
    often than it needs reviews. Golden items are shown to everyone and take no lease.
    """
    from datetime import timedelta

    from sqlalchemy import exists, select

    # the settings first: a session open while they are read would hold a second connection
    target, lease_s = review_target(project), lease_seconds(project)
    with project.read_session() as s:  # both reads in one round trip
        training, fresh = s.execute(
            select(
                _next_training(annotator_id, queue).scalar_subquery(),
                _held_fresh(annotator_id, target, lease_s, queue=queue).scalar_subquery(),
            )
        ).one()
    if training is not None:  # training tasks first (golden: no lease, found by a read)
        return int(training)
    if fresh is not None:  # the item they hold, far from expiry: no write needed
        return int(fresh)
    if queue not in assigned_queues(project, annotator_id):  # (from the session cache)
        return None
    with project.writing(), project.lease_session() as s:
        begin_write(project, s, durable=False)
        now = datetime.now(timezone.utc)
        until = now + timedelta(seconds=lease_s)
        skipped = exists().where(Skip.item_id == Item.id, Skip.annotator_id == annotator_id)
        held = s.scalar(
            select(Item)
            .where(
                Item.queue == queue,
                Item.lease_annotator == annotator_id,
                Item.lease_expires > now,
                _open_to(annotator_id, target, now),
            )
            .order_by(Item.position)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        item = held
        for _ in range(5):  # a row another transaction changed under us is re-checked, not given
            if item is not None:
                break
            item = s.scalar(
                select(Item)
                .where(Item.queue == queue, ~skipped, _open_to(annotator_id, target, now))
                .order_by(Item.position)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
            if item is None and project.sqlite:
                break
        if item is None:
            return None
        if item.golden is None:
            item.lease_annotator, item.lease_expires = annotator_id, until
        item_id = int(item.id)
        s.commit()
        return item_id


def _next_training(annotator_id: int, queue: str) -> Select[int]:
    """The first training task of ``queue`` this annotator has neither answered nor skipped."""
    from sqlalchemy import exists, select, true

    mine = exists().where(Review.item_id == Item.id, Review.annotator_id == annotator_id)
    skipped = exists().where(Skip.item_id == Item.id, Skip.annotator_id == annotator_id)
    assigned = exists().where(Assignment.annotator_id == annotator_id, Assignment.queue == queue)
    return (
        select(Item.id)
        .where(
            Item.queue == queue,
            Item.training == true(),  # '= true', which the (queue, training) index serves
            Item.golden.is_not(None),
            ~mine,
            ~skipped,
            assigned,
        )
        .order_by(Item.position)
        .limit(1)
    )


def _held_fresh(
    annotator_id: int,
    target: int,
    lease_s: int,
    *,
    queue: str | None = None,
    item_id: int | None = None,
) -> Select[int]:
    """The item (of ``queue``, or ``item_id``) this annotator holds with more than half of its
    lease left: found by a read alone, no write needed."""
    from datetime import timedelta

    from sqlalchemy import exists, select

    now = datetime.now(timezone.utc)
    half = now + timedelta(seconds=lease_s / 2)
    mine = exists().where(Review.item_id == Item.id, Review.annotator_id == annotator_id)
    q = select(Item.id).where(
        Item.lease_annotator == annotator_id,
        Item.lease_expires > half,
        Item.n_reviews < target,
        ~mine,
    )
    q = q.where(Item.queue == queue) if queue is not None else q.where(Item.id == item_id)
    return q.order_by(Item.position).limit(1)


def renew_lease(project: Project, item_id: int, annotator_id: int) -> bool:
    """Renew (or take back, when nobody else took it meanwhile) this annotator's lease on a
    regular item; True while the item is theirs to answer. Golden items and items they already
    reviewed need no lease (True)."""
    from datetime import timedelta

    from sqlalchemy import select, update
    from sqlalchemy.engine import CursorResult

    target, lease_s = review_target(project), lease_seconds(project)  # before any session is open
    with project.read_session() as s:
        if s.scalar(_held_fresh(annotator_id, target, lease_s, item_id=item_id)) is not None:
            return True  # held, and far from expiry: no write needed
    with project.writing(), project.lease_session() as s:
        begin_write(project, s, durable=False)
        item = s.get(Item, item_id)
        if item is None:
            return False
        mine = s.scalar(
            select(Review.id).where(Review.item_id == item_id, Review.annotator_id == annotator_id)
        )
        if item.golden is not None or mine is not None:
            return True
        now = datetime.now(timezone.utc)
        res = s.execute(
            update(Item)
            .where(Item.id == item_id, _open_to(annotator_id, target, now))
            .values(
                lease_annotator=annotator_id,
                lease_expires=now + timedelta(seconds=lease_s),
            )
        )
        s.commit()
        assert isinstance(res, CursorResult)  # what an UPDATE returns
        return bool(res.rowcount)


def release_lease(project: Project, item_id: int, annotator_id: int, *, skip: bool = False) -> None:
    """Give an item back (its lease, if this annotator holds it); with ``skip`` it is also not
    offered to them again until :func:`unskip`."""
    from sqlalchemy import select, update

    with project.writing(), project.lease_session() as s:
        begin_write(project, s, durable=False)
        s.execute(
            update(Item)
            .where(Item.id == item_id, Item.lease_annotator == annotator_id)
            .values(lease_annotator=None, lease_expires=None)
        )
        if skip and s.get(Item, item_id) is not None:
            have = s.scalar(
                select(Skip.item_id).where(
                    Skip.item_id == item_id, Skip.annotator_id == annotator_id
                )
            )
            if have is None:
                s.add(Skip(item_id=item_id, annotator_id=annotator_id))
        s.commit()


def leased_to_others(project: Project, annotator_id: int, queue: str) -> int:
    """Items of ``queue`` this annotator could still review that others hold right now (they
    come back when those annotators finish, skip, or let the lease lapse)."""
    from sqlalchemy import exists, func, select

    target, now = review_target(project), datetime.now(timezone.utc)
    with project.read_session() as s:
        mine = exists().where(Review.item_id == Item.id, Review.annotator_id == annotator_id)
        return int(
            s.scalar(
                select(func.count())
                .select_from(Item)
                .where(
                    Item.queue == queue,
                    Item.golden.is_(None),
                    ~mine,
                    Item.n_reviews < target,
                    Item.lease_annotator != annotator_id,
                    Item.lease_expires > now,
                )
            )
            or 0
        )


def skipped_count(project: Project, annotator_id: int, queue: str) -> int:
    from sqlalchemy import func, select

    with project.read_session() as s:
        return int(
            s.scalar(
                select(func.count())
                .select_from(Skip)
                .join(Item, Item.id == Skip.item_id)
                .where(Skip.annotator_id == annotator_id, Item.queue == queue)
            )
            or 0
        )


def unskip(project: Project, annotator_id: int, queue: str) -> int:
    """Offer this annotator's skipped items of ``queue`` again; returns how many."""
    from sqlalchemy import delete, select
    from sqlalchemy.engine import CursorResult

    with project.writing(), project.lease_session() as s:
        begin_write(project, s, durable=False)
        ids = select(Item.id).where(Item.queue == queue)
        res = s.execute(
            delete(Skip).where(Skip.annotator_id == annotator_id, Skip.item_id.in_(ids))
        )
        s.commit()
        assert isinstance(res, CursorResult)  # what a DELETE returns
        return int(res.rowcount or 0)
