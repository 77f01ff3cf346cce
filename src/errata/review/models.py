"""The review database: tables for annotators, images, queue items, answers and reviews.

One schema for SQLite (default, a file in the project directory) and PostgreSQL (by SQLAlchemy
URL). Answers are one row per (item, annotator, class) so that two annotators never share a row and
an answer can be changed by writing the same row again; every write is one committed transaction
before the server acknowledges it.
"""

from __future__ import annotations

from datetime import datetime, timezone

from errata.exceptions import require

require("sqlalchemy", "review")  # a one-line error naming what installs the extra if missing

from sqlalchemy import (  # noqa: E402
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column  # noqa: E402

QUEUES = ("novel", "audit", "classify")  # the three queue kinds, see errata.review.queues
WRONG, UNCLEAR, CORRECT, DONT_KNOW = 0, 1, 2, 3  # answer codes (0-2 match ReaL's no/maybe/yes)
ANSWER_NAMES = {CORRECT: "correct", WRONG: "wrong", UNCLEAR: "unclear", DONT_KNOW: "dont_know"}
ANSWER_CODES = {v: k for k, v in ANSWER_NAMES.items()}


def _now() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    pass


class Meta(Base):
    """Project settings (label source, secret key, reviews per item), one key per row."""

    __tablename__ = "meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Annotator(Base):
    __tablename__ = "annotators"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    training: Mapped[bool] = mapped_column(Boolean, default=False)  # show golden answers after each
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    # an admin disabled the account: no log-in, every session revoked (None: never disabled,
    # as in a database made before the column existed)
    disabled: Mapped[bool | None] = mapped_column(Boolean, nullable=True, default=False)


class AuthSession(Base):
    """A logged-in browser: the SHA-256 of the random token its cookie carries (the token itself
    is never stored), times in seconds since the epoch for the idle and absolute timeouts."""

    __tablename__ = "sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    annotator_id: Mapped[int] = mapped_column(ForeignKey("annotators.id"), index=True)
    created: Mapped[float] = mapped_column(Float)
    last_seen: Mapped[float] = mapped_column(Float)
    address: Mapped[str] = mapped_column(String(64), default="")


class LoginThrottle(Base):
    """Failed log-ins per account (``account:<name>``) and per address (``address:<ip>``), and
    until when further attempts are refused (seconds since the epoch)."""

    __tablename__ = "login_throttle"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure: Mapped[float] = mapped_column(Float)
    locked_until: Mapped[float] = mapped_column(Float, default=0.0)


class Assignment(Base):
    """Which queues an annotator works on."""

    __tablename__ = "assignments"
    annotator_id: Mapped[int] = mapped_column(ForeignKey("annotators.id"), primary_key=True)
    queue: Mapped[str] = mapped_column(String(16), primary_key=True)


class Model(Base):
    __tablename__ = "models"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)


class Image(Base):
    """One image under review with the label set it had when the project was created."""

    __tablename__ = "images"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    file_name: Mapped[str] = mapped_column(String(255), unique=True)
    original: Mapped[int] = mapped_column(SmallInteger)  # original ImageNet label, -1 unknown
    labels: Mapped[str] = mapped_column(Text, default="")  # multi-labels, space-separated indices


class Prediction(Base):
    """Top-1 of each model on each project image (for the novel queue and the human-vs-model
    report)."""

    __tablename__ = "predictions"
    image_id: Mapped[int] = mapped_column(ForeignKey("images.id"), primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id"), primary_key=True)
    top1: Mapped[int] = mapped_column(SmallInteger)
    confidence: Mapped[float | None] = mapped_column(Float, nullable=True)


class Item(Base):
    """One image in one queue with its candidate labels; golden items carry expected answers."""

    __tablename__ = "items"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    queue: Mapped[str] = mapped_column(String(16))
    image_id: Mapped[int] = mapped_column(ForeignKey("images.id"))
    position: Mapped[int] = mapped_column(Integer)  # order within the queue, best first
    score: Mapped[float] = mapped_column(Float, default=0.0)  # ranking evidence (models agreeing)
    candidates: Mapped[str] = mapped_column(Text, default="")  # space-separated class indices
    golden: Mapped[str | None] = mapped_column(Text, nullable=True)  # "class:code ..." expected
    # a training task: a golden item that a new annotator is given before any other item of its
    # queue, with feedback after the answer (None: not one, as in a database made before)
    training: Mapped[bool | None] = mapped_column(Boolean, nullable=True, default=False)
    n_reviews: Mapped[int] = mapped_column(Integer, default=0)
    # the lease: one annotator at a time works on a regular item, until the lease expires (on
    # the item's own row, so that PostgreSQL's SKIP LOCKED re-check sees a lease just taken)
    lease_annotator: Mapped[int | None] = mapped_column(Integer, nullable=True)
    lease_expires: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    __table_args__ = (
        Index("ix_items_queue_position", "queue", "position"),
        # the item an annotator holds (looked up on every next-item and item page)
        Index("ix_items_lease_annotator", "lease_annotator"),
        # a queue's training tasks in order (looked up before every next item)
        Index("ix_items_queue_training", "queue", "training", "position"),
    )


class Skip(Base):
    """An annotator skipped an item: it is not offered to them again until they ask for their
    skipped items back."""

    __tablename__ = "skips"
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), primary_key=True)
    annotator_id: Mapped[int] = mapped_column(ForeignKey("annotators.id"), primary_key=True)
    skipped_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class Review(Base):
    """An annotator finished an item: problematic flag and note; golden score if golden."""

    __tablename__ = "reviews"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    annotator_id: Mapped[int] = mapped_column(ForeignKey("annotators.id"))
    problematic: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str] = mapped_column(Text, default="")
    golden_right: Mapped[int] = mapped_column(Integer, default=0)
    golden_total: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    __table_args__ = (
        UniqueConstraint("item_id", "annotator_id"),
        # an annotator's reviews in order: "item k of n", back and forth (index-only counts)
        Index("ix_reviews_annotator_order", "annotator_id", "id", "item_id"),
    )


class Answer(Base):
    """One annotator's answer about one candidate class of one item."""

    __tablename__ = "answers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    annotator_id: Mapped[int] = mapped_column(ForeignKey("annotators.id"))
    class_index: Mapped[int] = mapped_column(SmallInteger)
    answer: Mapped[int] = mapped_column(SmallInteger)  # WRONG / UNCLEAR / CORRECT / DONT_KNOW
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    __table_args__ = (UniqueConstraint("item_id", "annotator_id", "class_index"),)


class Posterior(Base):
    """Aggregated result per (image, class): probability the label is present, and the decision."""

    __tablename__ = "posteriors"
    image_id: Mapped[int] = mapped_column(ForeignKey("images.id"), primary_key=True)
    class_index: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    method: Mapped[str] = mapped_column(String(16), primary_key=True)
    present: Mapped[float] = mapped_column(Float)
    decision: Mapped[int] = mapped_column(SmallInteger)  # WRONG / UNCLEAR / CORRECT
    n_answers: Mapped[int] = mapped_column(Integer)
