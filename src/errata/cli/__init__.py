"""The `errata` command line: thin Typer shells over the public Python API.

Each command group lives in its own module under ``errata/cli/`` and is registered here. CLI
modules import numpy, pandas and the rest of errata *inside* their functions, so that
``errata --help`` stays fast. Every command turns :class:`~errata.exceptions.ErrataInputError`
and :class:`~errata.exceptions.MissingExtraError` into a one-line ``error: ...`` and exit code 2.
"""

from __future__ import annotations

import inspect
from typing import Any

import typer

from errata.cli._common import run_guarded

app = typer.Typer(
    name="errata",
    help="Tell an ImageNet classifier's real mistakes from the benchmark's noise.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        from errata import __version__

        print(f"errata {__version__}")
        raise typer.Exit(0)


@app.callback()
def _main(
    version: bool = typer.Option(
        False,
        "--version",
        help="Print errata's version and exit.",
        callback=_version,
        is_eager=True,
    ),
    no_verify: bool = typer.Option(
        False,
        "--no-verify",
        help="Use the data directory's registry files as they are, without checking their "
        "sha256 (as ERRATA_NO_VERIFY=1); by default a changed, truncated or replaced file is "
        "an error that says to fetch it again.",
    ),
) -> None:
    """Tell an ImageNet classifier's real mistakes from the benchmark's noise."""
    if no_verify:
        import os

        from errata.io.data import NO_VERIFY_ENV

        os.environ[NO_VERIFY_ENV] = "1"


# command modules register themselves on `app` (or add a sub-app) when imported
from errata.cli import analyze as _analyze  # noqa: E402,F401
from errata.cli import compare as _compare  # noqa: E402,F401
from errata.cli import data as _data  # noqa: E402,F401
from errata.cli import datasets as _datasets  # noqa: E402,F401
from errata.cli import diff as _diff  # noqa: E402,F401
from errata.cli import experts as _experts  # noqa: E402,F401
from errata.cli import labelissues as _labelissues  # noqa: E402,F401
from errata.cli import openworld as _openworld  # noqa: E402,F401
from errata.cli import predict as _predict  # noqa: E402,F401
from errata.cli import review as _review  # noqa: E402,F401
from errata.cli import supersub as _supersub  # noqa: E402,F401
from errata.cli import table as _table  # noqa: E402,F401
from errata.cli import taxonomy as _taxonomy  # noqa: E402,F401


def _reflow(doc: str) -> str:
    """A docstring with each paragraph on one line: Rich prints a help text's line breaks as
    they are, and the terminal would then wrap each line again mid-sentence."""
    paragraphs = inspect.cleandoc(doc).split("\n\n")
    return "\n\n".join(" ".join(x.strip() for x in p.splitlines()) for p in paragraphs)


def _reflow_help(typer_app: typer.Typer) -> None:
    """Every command's help (its docstring, unless it was given) reflowed by :func:`_reflow`."""
    for command in typer_app.registered_commands:
        if command.help is None and command.callback is not None and command.callback.__doc__:
            command.help = _reflow(command.callback.__doc__)
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            _reflow_help(group.typer_instance)


_reflow_help(app)


def _flags_without_type() -> None:
    """--help lists an on/off flag (--json, --rebuild, --help …) without a ``<bool>`` type: it
    takes no value, and the type column would say it does."""
    from typer.core import TyperOption

    shown = TyperOption.display_type_rich

    def display_type_rich(self: TyperOption, ctx: Any) -> str | None:
        if self.is_flag and self.metavar is None:
            return None
        return shown(self, ctx)

    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


_flags_without_type()


def main() -> None:
    """Console-script entry point."""
    run_guarded(app)


__all__ = ["app", "main"]
