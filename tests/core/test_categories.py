"""The category registry: one record per category, and everything derived from it."""

from __future__ import annotations

import re

from errata.core import categories as K
from errata.io.annotations import EXPERT_CATEGORIES


def test_records_are_distinct_and_complete() -> None:
    for attr in ("name", "key", "short", "color"):
        values = [getattr(c, attr) for c in K.CATEGORIES]
        assert len(set(values)) == len(values), attr
    for c in K.CATEGORIES:
        assert re.fullmatch(r"#[0-9A-Fa-f]{6}", c.color) and c.description
        assert c.is_error == (c.stage is not None) == (c.reason is not None), c.name
    assert [c.tier for c in K.CATEGORIES][-1] == "excluded"  # transition matrices rely on it
    assert K.CATEGORIES[-2].name == "model failure"  # the stage that claims what is left


def test_precedence_follows_the_tiers() -> None:
    order = ["correct", "overlap", "minor", "explainable", "failure", "excluded"]
    tiers = [order.index(c.tier) for c in K.CATEGORIES]
    assert tiers == sorted(tiers)


def test_mla_variants_accept_ever_more_categories() -> None:
    variants = list(K.mla_variants().values())
    for (_, smaller), (_, larger) in zip(variants, variants[1:]):
        assert set(smaller) < set(larger)
    assert set(variants[0][1]) == set(K.CORRECT_CODES)
    assert not set(variants[-1][1]) & {K.CODE["model failure"], K.EXCLUDED}


def test_every_expert_category_maps_to_errata_categories() -> None:
    mapping = K.expert_agreement_map()
    assert set(mapping) == set(EXPERT_CATEGORIES)
    for errata_names in mapping.values():
        assert all(n in K.NAMES for n in errata_names)


def test_shells_derive_from_the_registry() -> None:
    """Reports, CLI tables and Parquet columns use the records, not lists of their own."""
    from errata.report import _render

    assert all(_render.category_color(c.name) == c.color for c in K.CATEGORIES)
    from errata.cli._tables import error_tables

    summary = {
        "errors": 1,
        "excluded": 0,
        "categories": {
            c.name: {"count": 0, "share": 0.0 if c.is_error else None} for c in K.CATEGORIES
        },
        "groups": {
            "wordnet": {
                "organism": {
                    "errors": 0,
                    "images": 0,
                    "categories": {c.name: 0 for c in K.CATEGORIES},
                }
            }
        },
    }
    tables = error_tables(summary)
    assert tables[0].row_count == len(K.CATEGORIES)  # zero categories keep their row
    assert [col.header for col in tables[1].columns][2:] == [c.short for c in K.ERRORS]
