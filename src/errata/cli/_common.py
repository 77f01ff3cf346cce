"""Helpers shared by the CLI modules: error handling, the console, progress bars, JSON output."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from errata.core.checks import Order, Outside
    from errata.io.evidence import Options

import typer

PIPE_WIDTH = 200  # columns of output that goes to a pipe or file (unless $COLUMNS says)


def console(stderr: bool = False) -> Console:
    """The Rich console. Output to a pipe or a file is laid out PIPE_WIDTH columns wide (or
    $COLUMNS), so tables keep their names whole where a terminal's 80 columns would cut them."""
    import os

    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    width = None
    if not stream.isatty():
        columns = os.environ.get("COLUMNS", "")
        width = int(columns) if columns.isdigit() and int(columns) > 0 else PIPE_WIDTH
    # markup off: tables and messages carry file, model and class names that may hold "[...]";
    # the few styled lines pass markup=True with their data escaped
    return Console(stderr=stderr, highlight=False, markup=False, width=width)


@contextlib.contextmanager
def progress_bar(label: str, *, disable: bool = False) -> Iterator[Callable[[int, int, str], None]]:
    """A progress bar on stderr for the block, driven by the callback it yields:
    ``progress(done, total, what)``, the progress convention of errata's library functions.

    The bar shows ``label what``, the bar, done/total, the time elapsed and the time remaining,
    and is gone when the block ends; ``disable`` (``--json``) draws nothing.
    """
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    err = console(stderr=True)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=disable or not err.is_terminal,  # no bar drawn into a pipe or a log file
    ) as bar:
        task = bar.add_task(label, total=None)

        def progress(done: int, total: int, what: str) -> None:
            bar.update(task, completed=done, total=total, description=f"{label} {what[:30]:<30}")

        yield progress


def plural(n: int, word: str) -> str:
    """``plural(1, "model") == "1 model"``, ``plural(1200, "model") == "1,200 models"``."""
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def pct(value: float | None, digits: int = 1, *, unit: str = " %", missing: str = "—") -> str:
    """A share (0-1) as a percentage for the tables: ``pct(0.7273, 2) == "72.73 %"``;
    ``missing`` for None or NaN. ``unit=""`` where the column header says %."""
    if value is None or value != value:
        return missing
    return f"{100 * float(value):.{digits}f}{unit}"


def print_json(obj: object) -> None:
    """``obj`` as JSON on stdout: strict JSON (no NaN; null where a figure has no value)."""
    from errata.io import jsontext

    sys.stdout.write(jsontext.dumps(obj, finite=True) + "\n")


def written_json(written: Mapping[str, object]) -> dict[str, dict[str, str]]:
    """The ``"written"`` piece of a command's JSON output: each file written, as a string."""
    return {"written": {k: str(v) for k, v in written.items()}}


def print_written(written: Mapping[str, object], width: int) -> None:
    """Print each file written as ``key: path``, the keys right-aligned to ``width``."""
    c = console()
    for key, path in written.items():
        c.print(f"{key:>{width}}: {path}", soft_wrap=True)


LABELS_HELP = (
    "Ground truth: 'real' (ImageNet-ReaL, the default on imagenet-val), 'original' (the "
    "default on other test sets: each image's class folder), 'shankar' (needs the Shankar "
    "file in the data directory; on imagenet-v2 its ImageNetV2 part) or a label file (.json: "
    "Shankar schema or errata's; .csv: file_name,labels[,unclear,problematic] or "
    "file_name,label); on other test sets also a folder of class folders."
)
DATASET_HELP = (
    "Test set: 'imagenet-val' (default; the 50,000 validation images), 'imagenet-v2', "
    "'imagenet-a' or 'imagenet-r' (200-class subsets: scores are restricted to the 200 "
    "classes before the arg-max). Outside the validation set an image is its class folder "
    "and file name ('n01498041/x.jpg'), and the class folder is its label."
)
OUTSIDE_HELP = (
    "ImageNet-A/-R files of top-1/top-k classes: a top-1 class outside the 200 is an 'error' "
    "(default), or with 'map' the row takes its best-ranked class inside the 200 (rows that "
    "rank none keep their prediction, an error)."
)
ORDER_HELP = (
    "Row order of files without file names: 'auto' (default: the order in which the top-1 "
    "predictions fit the original labels), 'filename' (val_00000001 first) or 'imagefolder' "
    "(sorted by class, as torchvision's ImageFolder). A stated order that does not fit is an "
    "error."
)


# Options that several commands share, declared once (each returns a fresh typer.Option).
def labels_opt(help: str = LABELS_HELP) -> Any:  # noqa: A002 (typer's keyword)
    return typer.Option(None, "--labels", "-l", help=help, show_default=False)


def dataset_opt(help: str = DATASET_HELP) -> Any:  # noqa: A002
    return typer.Option("imagenet-val", "--dataset", "-d", help=help)


def outside_opt(help: str = OUTSIDE_HELP) -> Any:  # noqa: A002
    return typer.Option("error", "--outside", help=help)


def dataset_option(name: str, *, outside: str = "error") -> tuple[str, Outside]:
    """Validate --dataset and --outside (one-line errors otherwise)."""
    from errata.core import datasets as D
    from errata.core.checks import OUTSIDE, choice
    from errata.exceptions import ErrataInputError

    ds = D.get(name)
    checked = choice(outside, OUTSIDE, keyword="outside")
    if checked != "error" and ds.subset is None:
        raise ErrataInputError(
            f"--outside: only for the 200-class test sets (imagenet-a, imagenet-r), not {ds.name}"
        )
    return ds.name, checked


def order_opt(help: str = ORDER_HELP) -> Any:  # noqa: A002
    return typer.Option("auto", "--order", help=help)


def experts_opt() -> Any:
    return typer.Option(
        None,
        "--experts",
        help="Expert file(s) in the dough-bagel schema, or registry names such as "
        "vit3b-mistakes; their 'Non-prototypical' rows mark non-prototypical images.",
    )


def imagenet_x_opt() -> Any:
    return typer.Option(
        False,
        "--imagenet-x",
        help="Also mark errors on images that ImageNet-X annotates with texture, subcategory or "
        "pattern (the factors calibrated against expert non-prototypical rows) as "
        "non-prototypical: the imagenetx extra's annotations (CC BY-NC 4.0), else the "
        "registry file imagenet-x-val-top-factor.",
    )


TAXONOMY_HELP = (
    "Superclasses that decide what is fine-grained: 'errata' (default: errata's own, chosen "
    "for agreement with expert reviewers), 'peychev2023' (the published pipeline's "
    "superclasses, 161 in the paper, reconstructed from WordNet lemma predicates, for figures "
    "comparable with Peychev et al. 2023) or 'supersub10' (the 10 superclasses of "
    "Superclassing ImageNet, 338 classes)."
)


def taxonomy_opt(help: str = TAXONOMY_HELP) -> Any:  # noqa: A002
    return typer.Option("errata", "--taxonomy", "-t", help=help)


def taxonomy_option(name: str) -> str:
    """Validate --taxonomy (one-line error naming the option otherwise)."""
    from errata.core.checks import TAXONOMIES, choice

    return choice(name, TAXONOMIES, keyword="taxonomy")


INTERVAL_HELP = (
    "95 % interval of accuracies over images: 'wilson' (Wilson score, right for any number of "
    "images) or 'bootstrap' (percentile, --bootstrap resamples, --seed)."
)


def interval_opt(help: str = INTERVAL_HELP) -> Any:  # noqa: A002
    return typer.Option("wilson", "--interval", help=help)


MAX_RESAMPLES = 1_000_000  # errata.io.evidence.MAX_RESAMPLES, here so that --help loads no numpy


def seed_opt() -> Any:
    return typer.Option(0, "--seed", min=0, help="Seed of --interval bootstrap (0 or more).")


def proposals_opt() -> Any:
    return typer.Option(
        ["auto"],
        "--proposals",
        help="Rater answers to labels that models proposed, whose rejected proposals are "
        "spurious-correlation evidence: 'auto' (default: ReaL's rater data, real-raters, and "
        "Shankar's file when they are in the data directory), 'none', or registry names / "
        "files (raters.npz; a Shankar-schema .json). Repeatable.",
    )


def openworld_opt() -> Any:
    return typer.Option(
        None,
        "--openworld",
        help="Folder of cached CLIP arrays (val/, index/, texts.npz) for the fine-grained OOV "
        "stage; needs the openworld extra.",
    )


PRESET_HELP = (
    "Run a published pipeline step for step: 'peychev2023' (Peychev et al. 2023: collapsed "
    "mappings before the multi-labels, the peychev2023 superclasses, co-occurrence in ReaL's "
    "label sets outside Shankar et al.'s images, no rejected-proposal evidence, the expert "
    "non-prototypical lists in the data directory, per-group counts by any label), for figures "
    "that stand beside the 962 published models. Flags the preset fixes (--taxonomy, "
    "--proposals, --experts, --imagenet-x) are refused with it; add --labels shankar and "
    "--openworld where you have them."
)


def preset_opt(help: str = PRESET_HELP) -> Any:  # noqa: A002
    return typer.Option(None, "--preset", help=help, show_default=False)


PRESET_FLAGS = {
    "preset": "--preset",
    "taxonomy": "--taxonomy",
    "proposals": "--proposals",
    "experts": "--experts",
    "imagenet_x": "--imagenet-x",
    "cooccurrence": "--cooccurrence",
}


def plots_opt(help: str = "Write every plot as SVG and PNG into this folder.") -> Any:  # noqa: A002
    return typer.Option(None, "--plots", help=help)


def json_opt(help: str = "Print JSON instead of tables (for scripts).") -> Any:  # noqa: A002
    return typer.Option(False, "--json", help=help)


def order_option(order: str, *, flag: str = "--order") -> Order:
    """Validate an order option (one-line error otherwise)."""
    from errata.core.checks import ORDERS, choice

    return choice(order, ORDERS, keyword=flag.lstrip("-").replace("-", "_"))


def report_option(report: Path | None) -> Path | None:
    """Validate --report: an HTML file name (one-line error otherwise)."""
    from errata.exceptions import ErrataInputError

    if report is not None and report.suffix.lower() not in (".html", ".htm"):
        raise ErrataInputError(f"--report {report}: expected an .html file name")
    return report


def make_options(
    *,
    expert_files: list[str] | None = None,
    imagenet_x: bool = False,
    openworld: str | Path | None = None,
    classify: bool = True,
    interval: str = "wilson",
    n_resamples: int = 1000,
    seed: int = 0,
    taxonomy: str = "errata",
    proposals: list[str] | None = None,
    preset: str | None = None,
    experts_flag: str = "--experts",
) -> Options:
    """The :class:`errata.Options` of the flags shared by analyze, compare, diff and experts;
    with ``preset``, a flag it fixes is a one-line error naming the flag."""
    from errata.core.checks import PRESETS, TAXONOMIES, choice
    from errata.exceptions import ErrataInputError
    from errata.io.evidence import Options, preset_clash

    taxonomy = choice(taxonomy, TAXONOMIES, keyword="taxonomy")
    if preset is not None:
        preset = choice(preset, PRESETS, keyword="preset")
    chosen: str | tuple[str, ...] = "auto"
    if proposals and proposals != ["auto"]:
        chosen = () if proposals == ["none"] else tuple(proposals)
    bad = preset_clash(
        preset,
        flags=PRESET_FLAGS | {"experts": experts_flag},
        taxonomy=taxonomy,
        proposals=chosen,
        experts=tuple(expert_files or ()),
        imagenet_x=bool(imagenet_x),
    )
    if bad:
        raise ErrataInputError(bad)

    return Options(
        classify=classify,
        experts=tuple(expert_files or ()),
        imagenet_x=bool(imagenet_x),
        openworld=openworld,
        interval=interval,
        n_resamples=n_resamples,
        seed=seed,
        taxonomy=taxonomy,
        proposals=chosen,
        preset=preset,
    )


def _usage_line(exc: Exception) -> str:
    """A command-line usage mistake as one line that says where the help is."""
    ctx = getattr(exc, "ctx", None)
    command = getattr(ctx, "command_path", None) or "errata"
    message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
    message = " ".join(str(message).split())  # one line
    return f"{command}: {message} (see '{command} --help')"


def run_guarded(app: typer.Typer) -> None:
    """Run the Typer app: errata's input errors and command-line usage mistakes become one line
    on stderr and exit status 2, an interruption exits 130, and nothing prints a traceback."""
    try:
        _run(app)
    except BrokenPipeError:  # `errata … | head`: the reader left early; not an error of ours
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # no second error when Python flushes stdout
        sys.exit(0)


def printable(text: str) -> str:
    """``text`` as a terminal can print it: bytes of a name that is not UTF-8 (held as
    surrogates) as ``\\xe9`` escapes."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


PATH_ENV = ("ERRATA_DATA_DIR", "ERRATA_CACHE_DIR", "XDG_CACHE_HOME", "HOME")  # folders errata uses


def not_utf8(args: list[str]) -> str | None:
    """The one-line error for the first command-line argument, the current folder or the folder
    of :data:`PATH_ENV` that is not UTF-8 text (a name in another encoding), or None: errata
    writes names into JSON and Parquet, and hands paths to DuckDB and Arrow, as UTF-8."""
    import os

    try:
        here = os.getcwd()
    except OSError:
        here = ""
    named = [(f"argument {i}", a) for i, a in enumerate(args, 1)]
    if args and not {"--help", "--version"} & set(args):  # help reads and writes no file
        named.append(("the current folder", here))
        named += [(f"${k}", os.environ[k]) for k in PATH_ENV if k in os.environ]
    for what, text in named:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return (
                f"{what} '{printable(text)}': not UTF-8 text; errata needs file and folder names "
                "in UTF-8 (rename it)"
            )
    return None


def _run(app: typer.Typer) -> None:
    from typer._click import exceptions as click_exc

    from errata.exceptions import ErrataInputError, MissingExtraError

    def one_line(message: str) -> None:
        from rich.markup import escape  # messages carry file names and "[extra]" brackets

        message = printable(message)
        console(stderr=True).print(
            f"[bold red]error:[/] {escape(message)}", soft_wrap=True, markup=True
        )

    bad = not_utf8(sys.argv[1:])
    if bad:
        one_line(bad)
        sys.exit(2)
    from errata.exceptions import command_line

    before = command_line(True)  # messages name flags (--rebuild), not keywords (rebuild=True)
    try:
        code = app(standalone_mode=False, prog_name="errata")  # returns typer.Exit codes
        if isinstance(code, int) and code:
            sys.exit(code)
    except (ErrataInputError, MissingExtraError) as exc:
        one_line(str(exc))
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        console(stderr=True).print("aborted")
        sys.exit(130)
    except click_exc.NoArgsIsHelpError as exc:  # `errata` or `errata data` alone: the help
        exc.show()
        sys.exit(0)
    except click_exc.ClickException as exc:  # usage: missing argument, unknown option, …
        one_line(_usage_line(exc))
        sys.exit(2)
    except BrokenPipeError:
        raise
    except OSError as exc:  # the file system refused a path: a name too long, a loop, …
        where = exc.filename if exc.filename is not None else "a file"
        one_line(f"{where}: {exc.strerror or exc}")
        sys.exit(2)
    finally:
        command_line(before)
