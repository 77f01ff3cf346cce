"""`errata data` — the data directory and the registry of public files."""

from __future__ import annotations

from typing import Any

import typer

from errata.cli import app
from errata.cli._common import console, print_json

data_app = typer.Typer(
    help="List, fetch and locate the public data files errata knows.", no_args_is_help=True
)
app.add_typer(data_app, name="data")


@data_app.command("list")
def list_(
    json_: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """List the registry: name, present in the data directory or not, license, description."""
    from rich.table import Table

    from errata.io import data

    rows: list[dict[str, Any]] = [
        {
            "name": f.name,
            "present": data.is_present(f.name),
            "sha256_ok": data.verify(f.name),
            "path": str(data.local_path(f.name)),
            "url": f.url,
            "sha256": f.sha256,
            "license": f.license,
            "description": f.description,
        }
        for f in data.REGISTRY.values()
    ]
    if json_:
        print_json({"data_dir": str(data.data_dir()), "files": rows})
        return
    # The path goes on a line of its own, never wrapped or centred: a table title would be
    # laid out by the path's length (and folded when it is long).
    console().print(
        f"data directory: {data.data_dir()}  (set {data.ENV_VAR} to change)",
        soft_wrap=True,
        markup=False,
        highlight=False,
    )
    table = Table()
    table.add_column("name", no_wrap=True, min_width=max(len(r["name"]) for r in rows))
    for col in ("present", "license", "description"):
        table.add_column(col, overflow="fold")
    for r in rows:
        present = "-"
        if r["present"]:
            present = {True: "yes", False: "CHANGED (sha256 differs)", None: "yes"}[r["sha256_ok"]]
        table.add_row(str(r["name"]), present, str(r["license"]), str(r["description"]))
    console().print(table)


@data_app.command()
def fetch(
    names: list[str] = typer.Argument(..., help="Registry names (see `errata data list`)."),
) -> None:
    """Download files into the data directory, verifying their sha256."""
    from errata.io import data

    for name in names:
        p = data.fetch(name, progress=True)
        console().print(f"{name}: {p}")


@data_app.command()
def path(name: str = typer.Argument(..., help="Registry name (see `errata data list`).")) -> None:
    """Print the local path of a data file (error with instructions if it is missing)."""
    from errata.io import data

    print(data.path(name, verify=False))
