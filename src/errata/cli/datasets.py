"""`errata datasets` — the test sets errata scores, and the class lists of the subsets."""

from __future__ import annotations

from typing import Literal

import typer

from errata.cli import app
from errata.cli._common import console, json_opt, print_json

datasets_app = typer.Typer(
    help="The test sets --dataset accepts, and the class lists of ImageNet-A and -R.",
    no_args_is_help=True,
)
app.add_typer(datasets_app, name="datasets")


def _show(
    rows: list[dict[str, object]],
    *,
    json_: bool,
    title: str,
    right: tuple[str, ...] = (),
    overflow: Literal["fold", "ellipsis"] = "ellipsis",
) -> None:
    """Print the rows as JSON, or as a table of their keys (those in ``right`` right-aligned)."""
    if json_:
        print_json(rows)
        return
    from rich.table import Table

    t = Table(title=title, title_justify="left")
    for col in rows[0]:
        t.add_column(col, justify="right" if col in right else "left", overflow=overflow)
    for r in rows:
        t.add_row(*[str(v) for v in r.values()])
    console().print(t)


@datasets_app.command("list")
def list_(json_: bool = json_opt()) -> None:
    """Each test set: name, classes, how its images are known, where its labels come from."""
    from errata.core import datasets as D

    rows: list[dict[str, object]] = [
        {
            "name": d.name,
            "title": d.title,
            "classes": d.n_classes,
            "images": "ILSVRC2012_val_XXXXXXXX (by number)"
            if d.validation
            else "<class folder>/<file name>",
            "labels": ", ".join(
                [
                    f"{d.label_sets[0]}{'' if d.validation else ': class folders'} (default)",
                    *d.label_sets[1:],
                    "files" if d.validation else "files, image folders",
                ]
            ),
        }
        for d in D.DATASETS.values()
    ]
    _show(rows, json_=json_, title="test sets (--dataset)", overflow="fold")


@datasets_app.command("classes")
def classes(
    name: str = typer.Argument(..., help="imagenet-a or imagenet-r (or any test set)."),
    json_: bool = json_opt(),
) -> None:
    """The classes of a test set in its own order: position (the column of a model with a
    head of that many classes), WordNet id, index in the 1000, name. A file that numbers the
    200 classes 0-199 converts with this table (position → class_index)."""
    from errata import resources
    from errata.core import datasets as D
    from errata.exceptions import choose

    ds = D.get(choose(name, D.DATASETS, keyword="test set"))
    cls = resources.classes()
    rows = [
        {"position": i, "wnid": cls.wnids[c], "class_index": int(c), "name": cls.names[c]}
        for i, c in enumerate(ds.classes.tolist())
    ]
    _show(
        rows,
        json_=json_,
        title=f"{ds.class_list()} ({ds.name})",
        right=("position", "class_index"),
    )
