"""The project's settings in the database's ``meta`` table (reviews per item, lease length),
cached per process for a few seconds."""

from __future__ import annotations

from errata.review.models import Meta
from errata.review.storage.project import (
    DEFAULT_REVIEWS_PER_ITEM,
    LEASE_SECONDS,
    SETTINGS_SECONDS,
    Project,
)


def get_meta(project: Project, key: str, default: str | None = None) -> str | None:
    with project.read_session() as s:
        row = s.get(Meta, key)
        return default if row is None else row.value


def set_meta(project: Project, key: str, value: str) -> None:
    with project.session() as s:
        s.merge(Meta(key=key, value=value))
        s.commit()
    project.settings_cache.pop(key, None)


def _setting(project: Project, key: str, default: int) -> int:
    """An integer setting of the meta table, read at most every ``SETTINGS_SECONDS`` (call it
    before opening a session: a read here takes a connection of its own)."""
    import time

    now = time.monotonic()
    cached = project.settings_cache.get(key)
    if cached is None or now - cached[1] > SETTINGS_SECONDS:
        cached = (get_meta(project, key), now)
        project.settings_cache[key] = cached
    return int(cached[0]) if cached[0] is not None else default


def review_target(project: Project) -> int:
    return _setting(project, "reviews_per_item", DEFAULT_REVIEWS_PER_ITEM)


def lease_seconds(project: Project) -> int:
    return _setting(project, "lease_seconds", LEASE_SECONDS)
