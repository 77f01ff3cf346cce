"""The shared names of errata.core.checks: the registries are keyed by them, and choice()
accepts exactly them (any case) and refuses anything else in one line listing them."""

from __future__ import annotations

import pytest

from errata import taxonomy
from errata.core import checks, pipeline
from errata.core import datasets as D
from errata.exceptions import ErrataInputError, command_line
from errata.io import evidence, labels, orders
from errata.taxonomy.superclasses import FILES as SUPERCLASS_FILES


def test_registries_are_keyed_by_the_shared_names() -> None:
    assert tuple(D.DATASETS) == checks.DATASETS
    assert D.DEFAULT in checks.DATASETS
    assert tuple(taxonomy.TAXONOMIES) == checks.TAXONOMIES == tuple(SUPERCLASS_FILES)
    assert tuple(labels.BUILTIN) == checks.LABEL_SETS
    assert tuple(evidence.PRESETS) == checks.PRESETS == pipeline.PRESETS
    assert tuple(orders.ORDERS) == checks.STATED_ORDERS == checks.ORDERS[1:]
    assert D.OUTSIDE == checks.OUTSIDE == ("error", "map")
    assert checks.INTERVALS == ("wilson", "bootstrap")


@pytest.mark.parametrize(
    "names",
    [checks.ORDERS, checks.OUTSIDE, checks.INTERVALS, checks.TAXONOMIES, checks.DATASETS],
)
def test_choice_takes_each_name_in_any_case(names: tuple[str, ...]) -> None:
    for name in names:
        assert checks.choice(name, names, keyword="x") == name
        assert checks.choice(name.upper(), names, keyword="x") == name


def test_choice_refuses_in_one_line_naming_the_argument() -> None:
    with pytest.raises(ErrataInputError) as e:
        checks.choice("nope", checks.OUTSIDE, keyword="outside")
    assert str(e.value) == "outside: 'nope' is not one of error, map"
    with pytest.raises(ErrataInputError) as e:
        checks.choice("imagefolde", checks.ORDERS, keyword="order_b")
    assert str(e.value) == (
        "order_b: 'imagefolde' is not one of auto, filename, imagefolder; "
        "did you mean 'imagefolder'?"
    )
    before = command_line(True)
    try:
        with pytest.raises(ErrataInputError, match=r"^--order-b: 3 is not|^--order-b: '3'"):
            checks.choice(3, checks.ORDERS, keyword="order_b")
    finally:
        command_line(before)


def test_public_functions_check_with_it() -> None:
    """The entries refuse another name with the helper's message (not a KeyError)."""
    from errata.io.predictions import load_predictions

    with pytest.raises(ErrataInputError, match="^outside: 'x' is not one of error, map$"):
        load_predictions("cleanlab-resnet50", outside="x")  # type: ignore[arg-type]
    with pytest.raises(ErrataInputError, match="^order: 'x' is not one of auto, filename"):
        load_predictions("cleanlab-resnet50", order="x")  # type: ignore[arg-type]
    with pytest.raises(ErrataInputError, match="^taxonomy: 'x' is not one of errata"):
        taxonomy.superclasses("x")
    with pytest.raises(ErrataInputError, match="^interval: 'x' is not one of wilson, bootstrap"):
        evidence.Options(interval="x")  # type: ignore[arg-type]
