"""Training tasks: golden items marked to be given to each annotator first, with feedback."""

from __future__ import annotations

from errata.exceptions import ErrataInputError
from errata.review.models import QUEUES, Item
from errata.review.storage.project import Project, begin_write


def set_training(
    project: Project, *, first: int | None = None, items: list[int] | None = None
) -> int:
    """Mark training tasks: the ``first`` golden items (by position) of each queue, replacing
    the marks there were, and/or the golden ``items`` given by id; returns how many items are
    training tasks now.

    Raises
    ------
    ErrataInputError
        A negative count, or an item id that is not a golden item (naming it).
    """
    from sqlalchemy import func, select, update

    with project.writing(), project.session() as s:
        begin_write(project, s)
        if first is not None:
            if first < 0:
                raise ErrataInputError(f"training tasks: {first} is not a count (0 or more)")
            s.execute(update(Item).values(training=False))
            for queue in QUEUES:
                ids = s.scalars(
                    select(Item.id)
                    .where(Item.queue == queue, Item.golden.is_not(None))
                    .order_by(Item.position)
                    .limit(first)
                ).all()
                if ids:
                    s.execute(update(Item).where(Item.id.in_(ids)).values(training=True))
        for item_id in items or []:
            item = s.get(Item, item_id)
            if item is None or item.golden is None:
                raise ErrataInputError(
                    f"training tasks: item {item_id} is not a golden item (only golden items, "
                    "whose expected answers are known, can be training tasks)"
                )
            item.training = True
        n = int(s.scalar(select(func.count(Item.id)).where(Item.training.is_(True))) or 0)
        s.commit()
    return n


def training_count(project: Project) -> dict[str, int]:
    """Training tasks per queue."""
    from sqlalchemy import func, select

    with project.read_session() as s:
        rows = s.execute(
            select(Item.queue, func.count(Item.id))
            .where(Item.training.is_(True))
            .group_by(Item.queue)
        ).all()
    return {str(q): int(n) for q, n in rows}
