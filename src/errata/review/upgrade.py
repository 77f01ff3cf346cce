"""Data upgrades of projects made by older versions, run when a project is opened (after the
schema's in-place migration, :func:`errata.review.storage.migrate`).

* **The original label among the novel candidates.** Novel-queue items are built with the
  image's original ImageNet label among their candidates (:mod:`errata.review.queues`), so that
  an annotator can say whether the dataset's own label holds; items made before that lack it.
  They get it appended (the candidates' order otherwise kept; answers and reviews untouched),
  once: a ``meta`` row records that the project was checked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from errata.review.models import Image, Item, Meta

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

NOVEL_ORIGINALS_DONE = "upgrade.novel_original_in_candidates"  # the meta key, once checked


def novel_originals(engine: Engine) -> int:
    """Append the image's original label (when known) to every novel item's candidates that
    lack it; returns how many items changed (0 once done: later calls only read one row)."""
    from sqlalchemy import select, update
    from sqlalchemy.exc import IntegrityError
    from sqlalchemy.orm import Session

    with Session(engine) as s:
        if s.get(Meta, NOVEL_ORIGINALS_DONE) is not None:
            return 0
        rows = s.execute(
            select(Item.id, Item.candidates, Image.original)
            .join(Image, Image.id == Item.image_id)
            .where(Item.queue == "novel", Image.original >= 0)
        ).all()
        changed = [
            {"id": item_id, "candidates": f"{cands} {orig}".strip()}
            for item_id, cands, orig in rows
            if str(int(orig)) not in (cands or "").split()
        ]
        if changed:
            s.execute(update(Item), changed)
        s.merge(Meta(key=NOVEL_ORIGINALS_DONE, value=str(len(changed))))
        try:
            s.commit()
        except IntegrityError:  # another process opening the project did it at the same moment
            s.rollback()
            return 0
    return len(changed)
