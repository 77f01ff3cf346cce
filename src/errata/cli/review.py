"""`errata review` — review projects: create, serve, add annotators, export, report."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from errata.cli import app
from errata.cli._common import pct

review_app = typer.Typer(
    help="Review web app: annotators improve the label set.", no_args_is_help=True
)
app.add_typer(review_app, name="review")

PASSWORD_ENV = "ERRATA_REVIEW_PASSWORD"  # lets scripts set the admin password without a prompt


def _db_password() -> str:
    return str(typer.prompt("database password", hide_input=True))


def _password(prompt: str) -> str:
    return os.environ.get(PASSWORD_ENV) or typer.prompt(
        prompt, hide_input=True, confirmation_prompt=True
    )


@review_app.command("init")
def init(
    project: Annotated[Path, typer.Argument(help="New project directory.")],
    predictions: Annotated[
        list[str],
        typer.Option("--predictions", "-p", help="Predictions file (repeat for several models)."),
    ],
    labels: Annotated[
        str, typer.Option(help="Label set: original, real, shankar or a file.")
    ] = "real",
    images: Annotated[
        Path | None, typer.Option(help="Directory with the images (flat or ImageFolder).")
    ] = None,
    db: Annotated[
        str | None, typer.Option(help="SQLAlchemy URL (default: SQLite in PROJECT).")
    ] = None,
    order: Annotated[
        str,
        typer.Option(help="Row order of files without names: auto, filename or imagefolder."),
    ] = "auto",
    golden: Annotated[
        str, typer.Option(help="Golden questions: real, none or a JSON file.")
    ] = "none",
    audit_per_class: Annotated[
        int, typer.Option(min=0, max=50, help="Images per class in the label audit.")
    ] = 1,
    classify_images: Annotated[
        int, typer.Option(min=0, max=50_000, help="Images in the classify queue.")
    ] = 200,
    max_novel: Annotated[
        int, typer.Option(min=0, max=1_000_000, help="At most this many novel-prediction items.")
    ] = 5000,
    reviews_per_item: Annotated[int, typer.Option(min=1, max=100, help="Annotators per item.")] = 3,
    novel_ranking: Annotated[
        str,
        typer.Option(
            help="What orders the novel-prediction queue: 'agreement' (models agreeing, then "
            "their confidence) or 'cleanlab' (cleanlab's label quality under the zoo's "
            "probabilities; the labelissues extra)."
        ),
    ] = "agreement",
    admin: Annotated[str, typer.Option(help="Name of the first admin account.")] = "admin",
    ask_db_password: Annotated[
        bool,
        typer.Option(
            help="Prompt for the database password (else from --db, which is never stored, or "
            "$ERRATA_REVIEW_DB_PASSWORD)."
        ),
    ] = False,
) -> None:
    """Create a review project with its three queues and a first admin account."""
    from errata.cli._common import print_json
    from errata.review import init_project, storage
    from errata.review.security import split_db_password

    password = _password(f"password for admin '{admin}'")
    db_password = _db_password() if ask_db_password else None
    if db and db_password is None:
        db_password = split_db_password(db)[1]
    counts = init_project(
        project,
        labels=labels,
        predictions=predictions,
        images=images,
        db_url=db,
        db_password=db_password,
        golden=golden,
        order=order,
        audit_per_class=audit_per_class,
        classify_images=classify_images,
        max_novel=max_novel,
        reviews_per_item=reviews_per_item,
        novel_ranking=novel_ranking,
    )
    proj = storage.open_project(project, db_password=db_password)
    storage.add_annotator(proj, admin, password, admin=True)
    print_json({"project": str(project), "items": counts, "admin": admin})


@review_app.command("add-annotator")
def add_annotator(
    project: Annotated[Path, typer.Argument(help="Project directory.")],
    name: Annotated[str, typer.Argument(help="Log-in name.")],
    queues: Annotated[str, typer.Option(help="Comma-separated queues.")] = "novel,audit,classify",
    is_admin: Annotated[bool, typer.Option("--admin", help="Grant the admin page.")] = False,
    training: Annotated[
        bool, typer.Option(help="Show golden answers after each golden item.")
    ] = False,
) -> None:
    """Add an annotator (the password is prompted, or read from $ERRATA_REVIEW_PASSWORD)."""
    from errata.review import storage

    proj = storage.open_project(project)
    storage.add_annotator(
        proj,
        name,
        _password(f"password for '{name}'"),
        admin=is_admin,
        queues=[q for q in queues.split(",") if q],
        training=training,
    )
    typer.echo(f"added {name}")


@review_app.command("serve")
def serve(
    project: Annotated[Path, typer.Argument(help="Project directory.")],
    host: Annotated[str, typer.Option(help="Address to bind (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port.")] = 8000,
    db: Annotated[str | None, typer.Option(help="Override the project's database URL.")] = None,
    ask_db_password: Annotated[
        bool,
        typer.Option(help="Prompt for the database password (else $ERRATA_REVIEW_DB_PASSWORD)."),
    ] = False,
    allowed_host: Annotated[
        list[str] | None,
        typer.Option(
            help="A name the Host header may carry (repeat; default: 127.0.0.1, localhost, ::1 "
            "and the bound address)."
        ),
    ] = None,
    trusted_proxy: Annotated[
        str | None,
        typer.Option(
            help="Address(es) of the reverse proxy in front (comma-separated, CIDR allowed): "
            "its X-Forwarded-Proto/-For are believed, cookies are Secure over HTTPS."
        ),
    ] = None,
) -> None:
    """Run the review web app."""
    from errata.review import storage
    from errata.review.app import serve as run

    if trusted_proxy and "*" in trusted_proxy.split(","):
        from errata.exceptions import ErrataInputError

        raise ErrataInputError("--trusted-proxy: name the proxy's address; '*' would trust anyone")
    password = _db_password() if ask_db_password else None
    storage.open_project(project, db_url=db, db_password=password)  # fail early, clearly
    typer.echo(f"errata review: http://{host}:{port}/ (Ctrl-C to stop)", err=True)
    run(
        project,
        host=host,
        port=port,
        db_url=db,
        db_password=password,
        allowed_hosts=allowed_host or None,
        trusted_proxy=trusted_proxy,
    )


@review_app.command("account")
def account(
    project: Annotated[Path, typer.Argument(help="Project directory.")],
    name: Annotated[str, typer.Argument(help="Log-in name.")],
    action: Annotated[
        str,
        typer.Argument(help="password (prompted or $ERRATA_REVIEW_PASSWORD), disable or enable."),
    ],
) -> None:
    """Reset an annotator's password, or disable / re-enable the account (its sessions end)."""
    from errata.exceptions import ErrataInputError
    from errata.review import auth, storage

    proj = storage.open_project(project)
    user = storage.annotator_by_name(proj, name)
    if user is None:
        raise ErrataInputError(f"annotator '{name}': no such annotator in {project}")
    if action == "password":
        auth.set_password(proj, user.id, _password(f"new password for '{user.name}'"))
        auth.Throttle(proj).clear([auth.account_key(user.name)])
    elif action in ("disable", "enable"):
        auth.set_disabled(proj, user.id, action == "disable")
    else:
        raise ErrataInputError(f"action '{action}': expected password, disable or enable")
    ended = "; its sessions have ended" if action != "enable" else ""
    typer.echo(f"{user.name}: {action} done{ended}")


@review_app.command("export")
def export(
    project: Annotated[Path, typer.Argument(help="Project directory.")],
    out: Annotated[Path, typer.Option(help="Output JSON (Shankar et al. schema).")],
    method: Annotated[
        str, typer.Option(help="Aggregation: dawid-skene or majority.")
    ] = "dawid-skene",
    scope: Annotated[
        str, typer.Option(help="all images of the label set, or only reviewed ones.")
    ] = "all",
) -> None:
    """Aggregate the answers and write the label set for `errata analyze --labels`."""
    from errata.cli._common import print_json
    from errata.review import storage
    from errata.review.aggregation import method_of
    from errata.review.export import export_labels, scope_of

    counts = export_labels(
        storage.open_project(project),
        out,
        scope=scope_of(scope),  # checked in this order before: the project, scope, method
        method=method_of(method),
    )
    print_json({"out": str(out), **counts})


@review_app.command("report")
def report(
    project: Annotated[Path, typer.Argument(help="Project directory.")],
    method: Annotated[
        str, typer.Option(help="Aggregation: dawid-skene or majority.")
    ] = "dawid-skene",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Human vs model accuracy on the classify queue (MLA, dogs / other organisms / objects)."""
    from errata.cli._common import console, print_json
    from errata.review import storage
    from errata.review.aggregation import method_of
    from errata.review.report import GROUPS, human_vs_model

    res = human_vs_model(storage.open_project(project), method=method_of(method))
    if as_json:
        print_json(res)
        return
    from rich.table import Table

    table = Table(title=f"Human vs model on {res['images']} classify images")
    for col in ("who", "n", "accuracy (95 % CI)", "MLA (95 % CI)", *GROUPS):
        table.add_column(col)

    def with_ci(v: float, ci: list[float]) -> str:
        return f"{pct(v)} ({pct(ci[0], unit='')} – {pct(ci[1], unit='')})"

    for row in res["rows"]:
        table.add_row(
            row["who"],
            str(row["n"]),
            with_ci(row["accuracy"], row["accuracy_ci95"]),
            with_ci(row["mla"], row["mla_ci95"]),
            *(pct(row[g]) for g in GROUPS),
        )
    console().print(table)
