"""The sortable tables and the example images of the one-model report: every error (with its
thumbnail), the confused pairs, the superclasses, and the example grids per category and per
confused pair."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

import numpy as np

from errata.core import categories as K
from errata.report import _render as R
from errata.report.model_facts import ModelFacts, codes, confused_label

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from errata.analysis import Analysis

N_GRID = 12  # example images per category and per confused pair
N_GRID_PAIRS = 10  # confused pairs with an example grid (the most frequent)
GRID_SIZE = 320  # longer side of a grid image in pixels (shown small, full size on a click)
GRID_SHARE = 0.6  # of max_image_bytes for the grids; the table's thumbnails get the rest


class GridImage(TypedDict):
    file: str
    src: str  # a data: URI


class Grid(TypedDict):
    """One example grid: ``files`` it would show, then the ``images`` found of them."""

    kind: str  # "category" or "pair"
    id: str
    title: str
    color: str
    count: int
    files: list[str]
    images: list[GridImage]


class Pictures(TypedDict):
    """The example grids, the table's thumbnails (data URIs by file name) and what was shown."""

    grids: list[Grid]
    thumbs: dict[str, str]
    note: str


NO_IMAGES = (
    "No example images: give the validation images (errata analyze … --report "
    "FILE --images FOLDER, or model_report(…, images=FOLDER)) to see a grid of examples "
    "per category and per confused pair, and each error's thumbnail."
)


def example_images(
    analysis: Analysis, f: ModelFacts, images: str | Path | None, max_bytes: int, size: int
) -> Pictures:
    """The example grids (per category, per confused pair), the table's thumbnails and the
    line that says what was shown (or how to get images)."""
    err = analysis.errors_table
    assert err is not None
    n_err = err.num_rows
    if images is None:
        return {"grids": [], "thumbs": {}, "note": NO_IMAGES}
    from errata.io.images import list_images
    from errata.report.thumbnails import thumbnails

    listing = list_images(images, dataset=analysis.dataset.name)
    file_names = err.column("file_name").to_pylist()
    grids = grid_members(err, f)
    wanted = list(dict.fromkeys(n for g in grids for n in g["files"]))
    big, shown = thumbnails(
        images,
        wanted,
        max_bytes=int(GRID_SHARE * max_bytes),
        size=GRID_SIZE,
        dataset=analysis.dataset.name,
        listing=listing,
    )
    for g in grids:
        g["images"] = [{"file": n, "src": big[n]} for n in g["files"] if n in big]
    thumbs, stats = thumbnails(
        images,
        file_names,
        max_bytes=max_bytes - shown["bytes"],
        size=size,
        dataset=analysis.dataset.name,
        listing=listing,
    )
    note = (
        f"{sum(len(g['images']) for g in grids):,} example images in {len(grids)} grids "
        f"(click one to enlarge it); "
        f"{stats['embedded']:,} of {n_err:,} errors shown with a thumbnail "
        f"({(stats['bytes'] + shown['bytes']) / 1e6:.1f} MB in all; {stats['missing']:,} "
        "images not found"
        f"{'; size cap reached' if stats['capped'] else ''})."
    )
    return {"grids": [g for g in grids if g["images"]], "thumbs": thumbs, "note": note}


def grid_members(err: pa.Table, f: ModelFacts) -> list[Grid]:
    """Which errors each example grid shows: per error category (in the registry's order) and
    per confused pair (the :data:`N_GRID_PAIRS` most frequent), the first :data:`N_GRID` error
    images of it in table order (``files``), with ``kind``, ``title``, ``count`` and ``id``."""
    from errata import resources

    names = resources.classes().names
    files = np.asarray(err.column("file_name").to_pylist(), dtype=object)
    cats = np.asarray(err.column("category").to_pylist(), dtype=object)
    label = confused_label(err)
    top1 = err.column("top1").to_numpy().astype(np.int64)
    out: list[Grid] = []
    for c in K.ERRORS:
        hit = cats == c.name
        if hit.any():
            out.append(
                {
                    "kind": "category",
                    "id": f"grid-{c.key}",
                    "title": c.name,
                    "color": R.category_color(c.name),
                    "count": int(hit.sum()),
                    "files": list(files[hit][:N_GRID]),
                    "images": [],
                }
            )
    for i, (o, p) in enumerate(zip(f.pairs["original"], f.pairs["top1"], strict=True)):
        if i >= N_GRID_PAIRS:
            break
        hit = (label == o) & (top1 == p)
        out.append(
            {
                "kind": "pair",
                "id": f"grid-pair-{i + 1}",
                "title": f"{names[o] if o >= 0 else '—'} → {names[p]}",
                "color": R.category_color(f.pairs["category"].iloc[i]),
                "count": int(hit.sum()),
                "files": list(files[hit][:N_GRID]),
                "images": [],
            }
        )
    return out


ERROR_COLUMNS: list[R.Column] = [
    {"key": "file_name", "title": "file", "type": "text", "css": "mono"},
    {"key": "original", "title": "original label", "type": "class"},
    {"key": "labels", "title": "labels", "type": "classes"},
    {"key": "top1", "title": "prediction", "type": "class"},
    {
        "key": "category",
        "title": "category",
        "type": "lookup",
        "lookup": "categories",
        "filter": True,
        "swatch": True,
    },
    {"key": "reason", "title": "reason", "type": "lookup", "lookup": "reasons"},
    {
        "key": "severity",
        "title": "severity",
        "type": "num",
        "digits": 1,
        "help": "WordNet LCA height between the prediction and the closest label",
    },
]  # the error table's columns, after the thumbnail column when there are thumbnails


def error_table(err: pa.Table, names: list[str], thumbs: dict[str, str]) -> R.Table:
    """The table of every error (with a thumbnail column when there are thumbnails)."""
    file_names = err.column("file_name").to_pylist()
    reason_codes, reason_table = codes(err.column("reason"))
    cat_codes, cat_table = codes(err.column("category"))
    image: list[R.Column] = [{"key": "image", "title": "image", "type": "image"}]
    columns = (image if thumbs else []) + ERROR_COLUMNS
    sev = np.round(err.column("severity").to_numpy(zero_copy_only=False).astype(np.float64), 2)
    cols: list[list[R.Cell]] = [
        file_names,
        err.column("original").to_numpy().tolist(),
        [lst or [] for lst in err.column("labels").to_pylist()],
        err.column("top1").to_numpy().tolist(),
        list(cat_codes),
        list(reason_codes),
        [None if np.isnan(v) else float(v) for v in sev.tolist()],
    ]
    if thumbs:
        cols.insert(0, file_names)
    rows = [list(r) for r in zip(*cols, strict=False)] if err.num_rows else []
    return R.table(
        columns,
        rows,
        classes=names,
        categories=cat_table,
        reasons=reason_table,
        colors=[R.category_color(c) for c in cat_table],
        images=thumbs,
    )


PAIR_COLUMNS: list[R.Column] = [
    {
        "key": "original",
        "title": "label",
        "type": "class",
        "help": "the evidence label, else the original label, else the first multi-label",
    },
    {"key": "top1", "title": "prediction", "type": "class"},
    {"key": "count", "title": "errors", "type": "num"},
    {"key": "category", "title": "main category", "type": "text", "filter": True},
    {"key": "categories", "title": "all categories", "type": "text"},
]


def pair_table(pairs: pd.DataFrame, names: list[str]) -> R.Table:
    """The table of the most frequent confused pairs."""
    rows: list[list[R.Cell]] = [
        [int(o), int(p), int(n), c, d]
        for o, p, n, c, d in zip(
            pairs["original"],
            pairs["top1"],
            pairs["count"],
            pairs["category"],
            pairs["categories"],
            strict=True,
        )
    ]
    return R.table(PAIR_COLUMNS, rows, classes=names)


SUPERCLASS_COLUMNS: list[R.Column] = [
    {"key": "superclass", "title": "superclass", "type": "text"},
    {"key": "classes", "title": "classes", "type": "num"},
    {"key": "images", "title": "images", "type": "num"},
    {"key": "accuracy", "title": "accuracy", "type": "pct"},
    {"key": "errors", "title": "errors", "type": "num"},
    {"key": "fine_grained", "title": "fine-grained errors", "type": "num"},
]


def superclass_table(sc: pd.DataFrame) -> R.Table:
    """The table of every superclass's accuracy and errors."""
    return R.table(
        SUPERCLASS_COLUMNS,
        [
            [s, int(c), int(i), None if np.isnan(a) else float(a), int(e), int(g)]
            for s, c, i, a, e, g in sc.itertuples(index=False)
        ],
    )
