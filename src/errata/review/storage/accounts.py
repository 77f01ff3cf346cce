"""Annotator accounts and the queues each one works on."""

from __future__ import annotations

from collections.abc import Iterable

from errata.core.checks import choice
from errata.exceptions import ErrataInputError
from errata.review.models import QUEUES, Annotator, Assignment
from errata.review.security import differing_characters, name_skeleton, normalise_name
from errata.review.storage.project import Project
from errata.review.storage.views import AnnotatorRow


def add_annotator(
    project: Project,
    name: str,
    password: str,
    *,
    admin: bool = False,
    queues: Iterable[str] = QUEUES,
    training: bool = False,
) -> int:
    """Create an annotator with an argon2-hashed password and assign ``queues``; returns the id."""
    from errata.review.security import hash_password

    name = normalise_name(name)
    if not name or len(name) > 64:
        raise ErrataInputError(f"annotator name: expected 1-64 visible characters, got {len(name)}")
    if len(password) < 8:
        raise ErrataInputError("password: expected at least 8 characters")
    queues = [choice(q, QUEUES, keyword="queue") for q in queues]
    from sqlalchemy import select

    with project.session() as s:
        if s.scalar(select(Annotator.id).where(Annotator.name == name)) is not None:
            raise ErrataInputError(
                f"annotator '{name}' already exists (names are compared case-folded, NFKC, "
                "without invisible characters)"
            )
        skeleton = name_skeleton(name)
        for other in s.scalars(select(Annotator.name)).all():
            if name_skeleton(other) == skeleton:
                differs = differing_characters(name, other)
                raise ErrataInputError(
                    f"annotator '{name}' looks like the existing '{other}' (one Unicode "
                    f"confusable skeleton, UTS #39{'; ' + differs if differs else ''}): "
                    "choose another name"
                )
        a = Annotator(
            name=name, password_hash=hash_password(password), is_admin=admin, training=training
        )
        s.add(a)
        s.flush()
        s.add_all([Assignment(annotator_id=a.id, queue=q) for q in queues])
        s.commit()
        new_id = int(a.id)
    project.session_cache.invalidate()  # an id used before (SQLite reuses a deleted last id)
    return new_id


def set_assignments(
    project: Project, annotator_id: int, queues: Iterable[str], *, training: bool | None = None
) -> bool:
    """Set the queues (and training mode) of one annotator; False when there is no such one."""
    from sqlalchemy import delete

    queues = [q for q in queues if q in QUEUES]
    with project.session() as s:
        if s.get(Annotator, annotator_id) is None:
            return False
        s.execute(delete(Assignment).where(Assignment.annotator_id == annotator_id))
        s.add_all([Assignment(annotator_id=annotator_id, queue=q) for q in queues])
        if training is not None:
            a = s.get(Annotator, annotator_id)
            if a is not None:
                a.training = training
        s.commit()
    project.session_cache.invalidate()  # the old queues and training mode of this annotator
    return True


def annotators(project: Project) -> list[AnnotatorRow]:
    """Every account, by id, with its queues (the admin page's table)."""
    from sqlalchemy import select

    with project.read_session() as s:
        rows = s.scalars(select(Annotator).order_by(Annotator.id)).all()
        assign = s.execute(select(Assignment.annotator_id, Assignment.queue)).all()
    queues: dict[int, list[str]] = {}
    for aid, q in assign:
        queues.setdefault(aid, []).append(q)
    return [
        {
            "id": a.id,
            "name": a.name,
            "is_admin": a.is_admin,
            "training": a.training,
            "disabled": bool(a.disabled),
            "queues": sorted(queues.get(a.id, []), key=QUEUES.index),
        }
        for a in rows
    ]


def assigned_queues(project: Project, annotator_id: int) -> list[str]:
    """The queues one annotator works on (read in the last seconds: from the session cache,
    which :func:`set_assignments` empties)."""
    from sqlalchemy import select

    cache = project.session_cache
    generation, queues = cache.generation, cache.queues(annotator_id)
    if queues is None:
        with project.read_session() as s:
            queues = list(
                s.scalars(
                    select(Assignment.queue).where(Assignment.annotator_id == annotator_id)
                ).all()
            )
        cache.put_queues(annotator_id, queues, generation)
    return queues


def annotator_by_name(project: Project, name: str) -> Annotator | None:
    from sqlalchemy import select

    with project.read_session() as s:
        return s.scalar(select(Annotator).where(Annotator.name == normalise_name(name)))


def annotator_by_id(project: Project, annotator_id: int) -> Annotator | None:
    with project.read_session() as s:
        return s.get(Annotator, annotator_id)
