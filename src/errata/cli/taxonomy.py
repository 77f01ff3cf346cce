"""`errata taxonomy` — inspect the class taxonomy: one class, the superclasses, an export."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, TypedDict

import typer

from errata.cli import app
from errata.cli._common import console, print_json, taxonomy_opt

taxonomy_app = typer.Typer(
    help="Inspect the class taxonomy: WordNet, superclasses, groups, overlaps, co-occurrence.",
    no_args_is_help=True,
)
app.add_typer(taxonomy_app, name="taxonomy")

TOP_COOCCURRING = 10  # co-occurring classes listed by `show`


class ClassSuperclass(TypedDict):
    """One superclass of a class (``taxonomy show --json``): why, the judgement, its size."""

    name: str
    why: str
    judgement: str
    members: int


class Overlap(TypedDict):
    """An overlapping pair: a label, the prediction that counts as overlapping, and why."""

    label: str
    prediction: str
    why: str


# "class" is a keyword: the functional form
Cooccurring = TypedDict("Cooccurring", {"class": str, "images": int, "spurious_pair": bool})


class ClassRecord(TypedDict):
    """:func:`class_record` (``errata taxonomy show --json``)."""

    taxonomy: str
    index: int
    wnid: str
    name: str
    lemmas: list[str]
    definition: str
    wordnet_paths: list[list[str]]
    superclasses: list[ClassSuperclass]
    groups: dict[str, str]
    overlaps: list[Overlap]
    cooccurring: list[Cooccurring]
    images_in_real: int


class SuperclassRow(TypedDict):
    """One superclass (``taxonomy superclasses --json``, the JSON export)."""

    name: str
    size: int
    roots: list[str]
    lemmas: list[list[str]]
    why: str
    members: list[str]


class ClassRow(TypedDict):
    """One class of the export: its superclasses and groups."""

    index: int
    wnid: str
    name: str
    superclasses: list[str]
    wordnet_group: str
    shankar_group: str


def class_record(index: int, taxonomy_name: str = "errata") -> ClassRecord:
    """Everything the taxonomy knows about one class, as plain data."""
    import numpy as np

    from errata import resources, taxonomy

    cls = resources.classes()
    g = taxonomy.wordnet()
    sc = taxonomy.superclasses(taxonomy_name)
    wnid = cls.wnids[index]
    counts = taxonomy.real_cooccurrence()
    row = counts[index].copy()
    row[index] = 0
    top = np.argsort(-row, kind="stable")[:TOP_COOCCURRING]
    spurious = taxonomy.spurious_pairs(counts, taxonomy=taxonomy_name)
    ov = taxonomy.overlaps()
    return {
        "taxonomy": taxonomy_name,
        "index": index,
        "wnid": wnid,
        "name": cls.names[index],
        "lemmas": g.lemmas(wnid),
        "definition": g.definition(wnid),
        "wordnet_paths": [[f"{w} {g.name(w)}" for w in p] for p in g.paths(wnid)],
        "superclasses": [
            {
                "name": n,
                "why": sc.reasons[s],
                "judgement": sc.exceptions.get((index, s), ""),
                "members": len(sc.members_of(n)),
            }
            for s, n in enumerate(sc.names)
            if sc.members[index, s]
        ],
        "groups": {k: v[index] for k, v in taxonomy.groups().items()},
        "overlaps": [
            {"label": cls.label(a), "prediction": cls.label(b), "why": w}
            for (a, b), w in sorted(ov.reasons.items())
            if index in (a, b)
        ],
        "cooccurring": [
            {
                "class": cls.label(int(j)),
                "images": int(row[j]),
                "spurious_pair": bool(spurious[index, j]),
            }
            for j in top
            if row[j] > 0
        ],
        "images_in_real": int(counts[index, index]),
    }


@taxonomy_app.command()
def show(
    query: str = typer.Argument(..., help="Class index, WordNet id or name."),
    json_: bool = typer.Option(False, "--json", help="Print JSON instead of text."),
    taxonomy: str = taxonomy_opt(),
) -> None:
    """One class: WordNet path, superclasses, groups, overlaps, top co-occurring classes."""
    from errata.taxonomy import class_index

    rec = class_record(class_index(query), taxonomy)
    if json_:
        print_json(rec)
        return
    out = console()
    out.print(f"{rec['index']} {rec['name']} ({rec['wnid']}): {rec['definition']}")
    out.print(f"lemmas: {', '.join(rec['lemmas'])}")
    for path in rec["wordnet_paths"]:
        out.print("path: " + " > ".join(w.split(" ", 1)[1] for w in path))
    for s in rec["superclasses"]:
        note = f" — {s['judgement']}" if s["judgement"] else ""
        out.print(f"superclass: {s['name']} ({s['members']} classes){note}")
    out.print("groups: " + ", ".join(f"{k}={v}" for k, v in rec["groups"].items()))
    for o in rec["overlaps"]:
        out.print(f"overlap: label {o['label']} -> prediction {o['prediction']}: {o['why']}")
    out.print(f"co-occurring in ReaL ({rec['images_in_real']} images hold this class):")
    for c in rec["cooccurring"]:
        flag = "  spurious pair" if c["spurious_pair"] else ""
        out.print(f"  {c['images']:5d}  {c['class']}{flag}")


@taxonomy_app.command("superclasses")
def superclasses_(
    json_: bool = typer.Option(False, "--json", help="Print JSON."),
    taxonomy: str = taxonomy_opt(),
) -> None:
    """All superclasses: name, size and members."""
    from rich.table import Table

    from errata.taxonomy import SUPERCLASS_FILES

    rows = _superclass_rows(taxonomy)
    if json_:
        print_json(rows)
        return
    file = SUPERCLASS_FILES[taxonomy]
    table = Table(title=f"{len(rows)} superclasses of '{taxonomy}' (src/errata/resources/{file})")
    for col in ("name", "size", "members"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(r["name"], str(r["size"]), ", ".join(m.split(" (")[0] for m in r["members"]))
    console().print(table)


def _superclass_rows(name: str = "errata") -> list[SuperclassRow]:
    from errata import resources, taxonomy

    cls = resources.classes()
    sc = taxonomy.superclasses(name)
    return [
        {
            "name": n,
            "size": len(sc.members_of(n)),
            "roots": list(sc.roots[s]),
            "lemmas": [list(p) for p in sc.predicates[s]],
            "why": sc.reasons[s],
            "members": [cls.label(int(c)) for c in sc.members_of(n)],
        }
        for s, n in enumerate(sc.names)
    ]


@taxonomy_app.command()
def export(
    format_: str = typer.Option("json", "--format", help="json or csv."),
    out: Annotated[
        Path | None, typer.Option("--out", help="File to write (default: stdout).")
    ] = None,
    taxonomy: str = taxonomy_opt(),
) -> None:
    """Export the taxonomy: per class its superclasses and groups (csv), or everything (json)."""
    from errata.core.checks import choice

    writers = {"json": _export_json, "csv": _export_csv}
    text = writers[choice(format_, writers, keyword="format")](taxonomy)
    if out is None:
        print(text, end="")
        return
    from errata.io.files import write_text

    write_text(out, text)
    console(stderr=True).print(f"wrote {out}")


def _class_rows(name: str = "errata") -> list[ClassRow]:
    from errata import resources, taxonomy

    cls = resources.classes()
    sc = taxonomy.superclasses(name)
    grp = taxonomy.groups()
    return [
        {
            "index": i,
            "wnid": cls.wnids[i],
            "name": cls.names[i],
            "superclasses": sc.superclasses_of(i),
            "wordnet_group": grp["wordnet"][i],
            "shankar_group": grp["shankar"][i],
        }
        for i in range(len(cls.wnids))
    ]


def _export_json(name: str = "errata") -> str:
    import json

    from errata import resources, taxonomy

    cls = resources.classes()
    doc = {
        "classes": _class_rows(name),
        "superclasses": _superclass_rows(name),
        "overlaps": [
            {"label": cls.label(a), "prediction": cls.label(b), "why": w}
            for (a, b), w in sorted(taxonomy.overlaps().reasons.items())
        ],
    }
    return json.dumps(doc, indent=1, ensure_ascii=False) + "\n"


def _export_csv(name: str = "errata") -> str:
    import csv
    import io

    buf = io.StringIO()
    rows = _class_rows(name)
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({**r, "superclasses": "|".join(r["superclasses"])})
    return buf.getvalue()
