"""Bringing an existing review database up to the current tables, columns and indexes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from errata.exceptions import ErrataInputError, require
from errata.review.models import Base

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine


def migrate(engine: Engine) -> list[str]:
    """Bring an existing database up to the current tables: create missing tables, add
    missing nullable columns (``ALTER TABLE ... ADD COLUMN``) and missing indexes; returns the
    columns added.

    Raises
    ------
    ErrataInputError
        When a missing column cannot be added in place (not nullable and without a default).
    """
    sa = require("sqlalchemy", "review")
    Base.metadata.create_all(engine)  # missing tables; a no-op on existing ones
    inspector = sa.inspect(engine)
    added: list[str] = []
    with engine.begin() as conn:
        for table in Base.metadata.sorted_tables:
            have = {c["name"] for c in inspector.get_columns(table.name)}
            for col in table.columns:
                if col.name in have:
                    continue
                if not col.nullable:
                    raise ErrataInputError(
                        f"database: table {table.name} lacks column {col.name}, which cannot "
                        "be added in place; create a new project with `errata review init`"
                    )
                kind = col.type.compile(dialect=engine.dialect)
                conn.exec_driver_sql(f"ALTER TABLE {table.name} ADD COLUMN {col.name} {kind}")
                added.append(f"{table.name}.{col.name}")
    for table in Base.metadata.sorted_tables:  # indexes added since (create_all skips them)
        for index in table.indexes:
            index.create(engine, checkfirst=True)
    return added
