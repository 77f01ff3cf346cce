"""errata's speed benchmarks (`make bench`): prints a table per section as it goes and writes
benchmarks/RESULTS.md and benchmarks/results.json.

Every errata figure is the wall time of a real command-line run (a subprocess in an environment
where Python caches compiled modules) and the child's peak RSS (GNU time's ``%M``, else the
``RUSAGE_CHILDREN`` of a one-command wrapper), the median of ``--repeat`` runs (one run for the
1,000-model studies). Each run starts from a fresh ``--out`` unless it measures extending one.

1. ``errata --help``.
2. ``errata analyze cleanlab-resnet50``: metrics only (``--no-errors``), with the error
   pipeline, and with errors written to ``--out`` (the row order is detected).
3. ``errata compare`` on 1,000-model zoos (``zoo.py``): the mixed zoo (ImageFolder and file-name
   ``.npy``, ``.npz`` with shuffled file names, top-5, float16 logits, CSV / Parquet subsets),
   all ImageFolder ``.npy``, all file-name ``.npy``.
4. ``errata compare`` on a 100-model zoo of each kind (4 models of 100 MB float16 logits), and
   on a single file: the fixed cost (start-up, label set, taxonomy, writing the study) that the
   per-model cost beyond it is counted from.
5. A growing zoo: a 1,000-model study, a rerun with nothing changed, the same study extended by
   10 new files, and ``compare`` on those 10 files alone (their own cost).
6. The row-wise reference (``tests/reference.py``, the anchor-style loop over images and models)
   timed in-process on two models of each kind: ``score_model`` seconds per model, and the
   one-time ``World`` build. Files are parsed with errata's loader, outside the timing. The
   reference's time for a whole zoo is extrapolated from these per-model figures (per kind,
   summed over the zoo's models, without the World build), and errata's speed-up is that over
   the wall time of the ``compare`` run, start-up and file reading included.

7. ``errata compare`` on 10,000 ImageFolder models × 50,000 images (one run, a fresh study):
   wall and CPU seconds, peak RSS, against the row-wise loop extrapolated; the zoo (~1 GB,
   ~5 CPU minutes to write) is kept in ``--cache`` between runs.

Every row gives the CPU seconds (user + sys, GNU time ``%U %S``) beside the wall time, and
results.json the 1-minute load average before each run: on a shared machine the wall time
says little without them.

Usage: python benchmarks/run.py [--repeat 3] [--keep DIR] [--quick] [--cache DIR]
[--only big,zoos,…]

``--keep DIR`` keeps the generated zoos in DIR (all of them: ~2.4 GB, ~50 s to write) and reuses
them on the next run (without ``--keep``: a temporary folder, removed at the end);
``--quick`` runs small sizes (50-model zoos, 10 models per kind, 200 for section 7) as a smoke
test, and leaves benchmarks/RESULTS.md alone (with ``--keep``, its results go into DIR), as
does ``--only`` (some of the sections: ``make bench BENCH_ARGS="--only big"``).
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))  # zoo.py
sys.path.insert(0, str(ROOT))  # tests/reference.py

import zoo  # noqa: E402

_SCRIPT = Path(sys.executable).parent / "errata"
# the console script users run; ``python -m errata`` when it is not installed next to Python
ERRATA = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "errata"]
# measure what users get: Python caching compiled modules (some shells switch that off)
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
GNU_TIME = "/usr/bin/time" if Path("/usr/bin/time").exists() else None
# fallback for machines without GNU time: the child's peak RSS through RUSAGE_CHILDREN of a
# wrapper that runs just this one command (and its wall time, measured around it)
WRAPPER = (
    "import resource, subprocess, sys, time\n"
    "t0 = time.perf_counter()\n"
    "rc = subprocess.run(sys.argv[1:]).returncode\n"
    "wall = time.perf_counter() - t0\n"
    "r = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "print(f'{wall} {r.ru_maxrss} {r.ru_utime} {r.ru_stime}', file=sys.stderr)\n"
    "sys.exit(rc)\n"
)
SECTIONS = ("startup", "analyze", "zoos", "kinds", "grow", "big")  # --only's keys
LOADS: list[float] = []  # the 1-min load average before each timed run (other work: noise)
GENERATED: list[float] = []  # seconds spent writing each zoo this run (none: all reused)
APPEND_SLACK_S = 1.0  # target: extending a study costs at most this on top of the new files


@dataclass
class Sizes:
    """How big each generated zoo is (``--quick`` shrinks them)."""

    zoo: int = 1000
    kind: int = 100
    logits: int = 4
    new: int = 10
    reference: int = 2  # models of each kind timed with the row-wise reference
    big: int = 10_000  # the large ImageFolder zoo of section 7


@dataclass
class Run:
    """One timed command: median wall time over the repeats, the largest peak RSS."""

    walls: list[float]
    peak_rss_mb: float
    stdout: str = ""
    load: list[float] = field(default_factory=list)  # 1-min load average before each run
    cpus: list[float] = field(default_factory=list)  # CPU seconds (user + sys) of each run

    @property
    def wall_s(self) -> float:
        return statistics.median(self.walls)

    @property
    def cpu_s(self) -> float | None:
        return statistics.median(self.cpus) if self.cpus else None


@dataclass
class Section:
    """A table of results: rows of dicts keyed like ``COLUMNS``."""

    key: str
    title: str
    note: str = ""
    rows: list[dict[str, Any]] = field(default_factory=list)


COLUMNS = [
    ("benchmark", "benchmark"),
    ("wall_s", "wall s"),
    ("range", "runs min–max s"),
    ("cpu_s", "CPU s"),
    ("peak_rss_mb", "peak RSS MB"),
    ("models_per_s", "models/s"),
    ("rowwise_s", "row-wise loop s (extrapolated)"),
    ("speedup", "speed-up"),
    ("target", "target"),
]


def run_once(cmd: list[str]) -> tuple[float, float, float, int, str, str]:
    """Run ``cmd`` once: (wall s, peak RSS MB, CPU s (user + sys), exit code, stdout, stderr
    without time's line)."""
    if GNU_TIME:
        full = [GNU_TIME, "-f", "%M %U %S", *cmd]
    else:
        full = [sys.executable, "-c", WRAPPER, *cmd]
    t0 = time.perf_counter()
    done = subprocess.run(full, capture_output=True, text=True, env=ENV)
    wall = time.perf_counter() - t0
    *rest, last = done.stderr.rstrip("\n").split("\n") or [""]
    try:
        if GNU_TIME:
            kb, user, system = map(float, last.split())
        else:
            wall, kb, user, system = map(float, last.split())
    except ValueError:
        raise SystemExit(f"benchmark command failed: {' '.join(cmd)}\n{done.stderr}") from None
    return wall, kb / 1024, user + system, done.returncode, done.stdout, "\n".join(rest)


def timed(
    cmd: list[str],
    repeat: int,
    *,
    before: Callable[[], None] | None = None,
    check: Callable[[str], None] | None = None,
) -> Run:
    """Time ``cmd`` ``repeat`` times.

    Parameters
    ----------
    cmd : list of str
        The command line.
    repeat : int
        Runs; the wall time reported is their median.
    before : callable, optional
        Run (untimed) before each run, e.g. to remove the previous run's ``--out``.
    check : callable, optional
        Called with each run's stdout; raises when the run did not do what it is meant to.

    Returns
    -------
    Run
        The wall times of all runs and the largest peak RSS.
    """
    walls, cpus, rss, out, load = [], [], 0.0, "", []
    for _ in range(repeat):
        if before is not None:
            before()
        load.append(os.getloadavg()[0])
        wall, peak, cpu, rc, out, err = run_once(cmd)
        if rc != 0:
            raise SystemExit(f"benchmark command failed ({rc}): {' '.join(cmd)}\n{err[-3000:]}")
        if check is not None:
            check(out)
        walls.append(wall)
        cpus.append(cpu)
        rss = max(rss, peak)
    LOADS.extend(load)
    return Run(walls=walls, peak_rss_mb=rss, stdout=out, load=load, cpus=cpus)


def expect_counts(**expected: int) -> Callable[[str], None]:
    """A ``check`` for ``compare --json``: the study's counts (scored, reused, failed …)."""

    def check(stdout: str) -> None:
        counts = json.loads(stdout)["counts"]
        wrong = {k: counts.get(k) for k, v in expected.items() if counts.get(k) != v}
        if wrong:
            raise SystemExit(f"compare counted {wrong}; expected {expected}")

    return check


def fresh(folder: Path) -> Callable[[], None]:
    """A ``before`` that removes ``folder`` (a previous run's study)."""
    return lambda: shutil.rmtree(folder, ignore_errors=True)


def timed_compare(
    src: Path, dest: Path, repeat: int, *, before: Callable[[], None] | None, **counts: int
) -> Run:
    """:func:`timed` ``errata compare SRC --out DEST --json``, checking the study's ``counts``
    (:func:`expect_counts`); ``before`` as for :func:`timed` (usually ``fresh(dest)``)."""
    cmd = [*ERRATA, "compare", str(src), "--out", str(dest), "--json"]
    return timed(cmd, repeat, before=before, check=expect_counts(**counts))


# -- zoos ------------------------------------------------------------------------------------


def _zoo_version() -> str:
    return hashlib.sha256((HERE / "zoo.py").read_bytes()).hexdigest()[:16]


def ensure_zoo(folder: Path, write: Callable[..., object], **kwargs: Any) -> Path:
    """``folder`` holding the zoo ``write(folder, **kwargs)`` writes, unless a previous run left a
    complete one (a marker next to it records the call and the version of zoo.py)."""
    marker = folder.with_name(folder.name + ".json")
    spec = {"write": write.__name__, **kwargs, "zoo_py": _zoo_version()}
    if folder.is_dir() and marker.exists() and json.loads(marker.read_text()) == spec:
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    marker.unlink(missing_ok=True)
    t0 = time.perf_counter()
    write(folder, **kwargs)
    size = sum(p.stat().st_size for p in folder.iterdir()) / 1e6
    print(
        f"  (generated {folder.name}: {len(list(folder.iterdir()))} files, {size:,.0f} MB"
        f" in {time.perf_counter() - t0:.1f} s)",
        flush=True,
    )
    marker.write_text(json.dumps(spec))
    GENERATED.append(time.perf_counter() - t0)
    return folder


def zoos(work: Path, sizes: Sizes) -> dict[str, Path]:
    """Every zoo the benchmark reads, by key: ``mixed``, ``imagefolder``, ``filename``,
    ``kind:<kind>``, ``new`` (the growing zoo's new files)."""
    base = work / "zoos"
    base.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    for seed, mix in enumerate(("mixed", "imagefolder", "filename")):
        out[mix] = ensure_zoo(
            base / f"{mix}-{sizes.zoo}", zoo.write_zoo, n_models=sizes.zoo, mix=mix, seed=seed
        )
    for i, kind in enumerate(zoo.KINDS):
        n = sizes.logits if kind == "logits_f16" else sizes.kind
        out[f"kind:{kind}"] = ensure_zoo(
            base / f"kind-{kind}-{n}", zoo.write_kind, kind=kind, n_models=n, seed=10 + i
        )
    # new models for the growing ImageFolder zoo, numbered after its models
    out["new"] = ensure_zoo(
        base / f"new-imagefolder-{sizes.new}",
        zoo.write_kind,
        kind="imagefolder_npy",
        n_models=sizes.new,
        seed=99,
        start=sizes.zoo,
    )
    return out


def _count(kinds: list[str]) -> dict[str, int]:
    """How many models of each kind ``kinds`` holds, in ``zoo.KINDS`` order."""
    return {k: kinds.count(k) for k in zoo.KINDS if k in kinds}


def link_files(src: Path, dst: Path) -> None:
    """Hard-link (else copy) every file of ``src`` into ``dst``: a zoo's files keep their size,
    modification time and content."""
    dst.mkdir(parents=True, exist_ok=True)
    for p in sorted(src.iterdir()):
        try:
            os.link(p, dst / p.name)
        except OSError:
            shutil.copy2(p, dst / p.name)


# -- the row-wise reference ------------------------------------------------------------------


def reference(kind_zoos: dict[str, Path], n_models: int) -> dict[str, Any]:
    """Time the row-wise reference in-process: the World build, then ``score_model`` on the
    first ``n_models`` files of each kind's zoo.

    Returns
    -------
    dict
        ``world_s``; per kind ``{"models", "s_per_model", "parse_s_per_model", "errors"}``
        (``errors``: the reference's error count of each model timed, by model name).
    """
    from errata import resources, taxonomy
    from errata.io.labels import load_labels
    from errata.io.predictions import load_predictions
    from tests.reference import World, score_model

    labels, tax = load_labels("real"), taxonomy.load()
    t0 = time.perf_counter()
    world = World.of(labels, tax)
    world_s = time.perf_counter() - t0
    original_of = dict(
        zip(resources.val_file_names().tolist(), resources.validation_labels().tolist())
    )
    print(f"  row-wise reference: World build {world_s:.2f} s", flush=True)
    kinds: dict[str, Any] = {}
    for kind, folder in kind_zoos.items():
        files = sorted(p for p in folder.iterdir() if p.is_file())[:n_models]
        score_s, parse_s, errors = [], [], {}
        for path in files:
            gc.collect()  # the previous model's garbage is not this one's cost
            t0 = time.perf_counter()
            pred = load_predictions(path, keep_scores=False)
            rows = dict(zip(pred.file_names.tolist(), pred.topk.tolist()))
            t1 = time.perf_counter()
            result = score_model(world, rows, original_of)
            t2 = time.perf_counter()
            parse_s.append(t1 - t0)
            score_s.append(t2 - t1)
            errors[pred.name] = int(result["errors"])
            del rows, result
        kinds[kind] = {
            "models": len(files),
            "s_per_model": statistics.mean(score_s),
            "s_runs": score_s,
            "parse_s_per_model": statistics.mean(parse_s),
            "errors": errors,
        }
        print(
            f"  row-wise reference: {kind:<16} {statistics.mean(score_s):6.2f} s per model"
            f" ({len(files)} models; parsing {statistics.mean(parse_s):.2f} s, not counted)",
            flush=True,
        )
    del world
    gc.collect()
    return {"world_s": world_s, "kinds": kinds}


def check_reference(ref: dict[str, Any], kind: str, study: Path) -> str:
    """Whether errata's study of a kind's zoo counts the same errors as the reference for the
    models the reference scored ("" when they agree, else a note)."""
    import pandas as pd

    models = pd.read_parquet(study / "models.parquet").set_index("model")
    theirs = ref["kinds"][kind]["errors"]
    bad = {m: (n, int(models.loc[m, "errors"])) for m, n in theirs.items()}
    bad = {m: v for m, v in bad.items() if v[0] != v[1]}
    return f"errors differ (reference, errata): {bad}" if bad else ""


# -- the benchmark ---------------------------------------------------------------------------


def fmt(value: Any, digits: int = 2) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        return value
    return f"{value:,.{digits}f}"


def cells(row: dict[str, Any]) -> list[str]:
    """One table row, formatted."""
    rng = row.get("walls_s") or []
    return [
        row["benchmark"],
        fmt(row.get("wall_s")),
        f"{min(rng):.2f}–{max(rng):.2f}" if len(rng) > 1 else "",
        fmt(row.get("cpu_s")),
        fmt(row.get("peak_rss_mb"), 0),
        fmt(row.get("models_per_s"), 1),
        fmt(row.get("rowwise_s"), 1),
        _times(row["speedup"]) if row.get("speedup") else "",
        row.get("target", ""),
    ]


def _times(x: float) -> str:
    return f"{x:,.0f}×" if x >= 10 else f"{x:.1f}×"


def markdown(section: Section) -> list[str]:
    lines = [f"## {section.title}", ""]
    if section.note:
        lines += [section.note, ""]
    lines.append("| " + " | ".join(h for _, h in COLUMNS) + " |")
    lines.append("|---|" + "---:|" * (len(COLUMNS) - 2) + "---|")
    lines += ["| " + " | ".join(cells(r)) + " |" for r in section.rows]
    return [*lines, ""]


def verdict(ok: bool, text: str) -> str:
    """``text: met`` or ``text: MISSED``."""
    return f"{text}: {'met' if ok else 'MISSED'}"


class Bench:
    """Runs the sections, printing each row as it is measured."""

    def __init__(self, repeat: int, big_repeat: int) -> None:
        self.repeat = repeat
        self.big_repeat = big_repeat  # for the 1,000-model studies
        self.sections: list[Section] = []

    def section(self, key: str, title: str, note: str = "") -> Section:
        s = Section(key, title, note)
        self.sections.append(s)
        print(f"\n{title}", flush=True)
        return s

    def add(
        self,
        section: Section,
        name: str,
        run: Run,
        *,
        models: int | None = None,
        rowwise_s: float | None = None,
        target: str = "",
        **extra: Any,
    ) -> dict[str, Any]:
        row: dict[str, Any] = {
            "benchmark": name,
            "wall_s": run.wall_s,
            "walls_s": run.walls,
            "cpu_s": run.cpu_s,
            "cpus_s": run.cpus,
            "peak_rss_mb": run.peak_rss_mb,
            "load_1min": run.load,
        }
        if models:
            row["models"] = models
            row["models_per_s"] = models / run.wall_s
        if rowwise_s is not None:
            row["rowwise_s"] = rowwise_s
            row["speedup"] = rowwise_s / run.wall_s
        row["target"] = target
        row.update(extra)
        section.rows.append(row)
        self.echo(row)
        return row

    @staticmethod
    def echo(row: dict[str, Any]) -> None:
        """Print one row as it is measured."""
        c = cells(row)
        unit = ["", " s", "", " CPU s", " MB", "/s", " s", "", ""]
        c = [f"{v}{u}" if v else "" for v, u in zip(c, unit)]
        c[2] = f"[{c[2]}]" if c[2] else ""
        print(
            f"  {c[0][:60]:<60} {c[1]:>8} {c[2]:>13} {c[3]:>12} {c[4]:>8} {c[5]:>8} {c[6]:>9}"
            f" {c[7]:>6}  {c[8]}",
            flush=True,
        )


def bench_analyze(b: Bench, ref: dict[str, Any], out: Path) -> None:
    """Section 2: one model, the reference ResNet-50."""
    one = ref["world_s"] + ref["kinds"]["imagefolder_npy"]["s_per_model"]
    s = b.section(
        "analyze",
        "2. One model: errata analyze cleanlab-resnet50 (50,000 top-1, order detected)",
        f"Row-wise loop: the reference's World build plus one ImageFolder model ({one:.2f} s),"
        " measured in section 6, without reading the file or importing anything.",
    )
    data_dir = os.environ.get("ERRATA_DATA_DIR")
    if not (data_dir and (Path(data_dir) / "cleanlab_resnet").is_dir()):
        print("  skipped: ERRATA_DATA_DIR does not hold cleanlab_resnet", flush=True)
        return
    base = [*ERRATA, "analyze", "cleanlab-resnet50"]
    b.add(s, "metrics only (--no-errors)", timed([*base, "--no-errors"], b.repeat))
    r = timed(base, b.repeat)
    target = verdict(r.wall_s < 1.0, "< 1 s")
    b.add(s, "metrics + error pipeline", r, rowwise_s=one, target=target)
    dest = out / "analyze"
    r = timed([*base, "--out", str(dest)], b.repeat, before=fresh(dest))
    b.add(s, "metrics + errors, writing --out", r, rowwise_s=one)


def bench_zoos(
    b: Bench, z: dict[str, Path], sizes: Sizes, per_model: dict[str, float], out: Path
) -> None:
    """Section 3: ``compare`` on the three big zoos, each into a fresh study."""
    s = b.section(
        "zoos",
        f"3. errata compare on {sizes.zoo:,}-model zoos × 50,000 images",
        "Row-wise loop: section 6's seconds per model of each kind, summed over the zoo's"
        " models (extrapolated). Target: < 10 s, peak RSS < 2 GB, ≥ 200× the row-wise loop.",
    )
    for mix in ("mixed", "imagefolder", "filename"):
        kinds = zoo.plan(sizes.zoo, mix)
        rowwise = sum(per_model[k] for k in kinds)
        dest = out / f"zoo-{mix}"
        r = timed_compare(
            z[mix], dest, b.big_repeat, before=fresh(dest), scored=sizes.zoo, failed=0
        )
        parts = [
            verdict(r.wall_s < 10, "< 10 s"),
            verdict(r.peak_rss_mb < 2048, "< 2 GB"),
            verdict(rowwise / r.wall_s >= 200, "≥ 200×"),
        ]
        what = ", ".join(f"{n} {k}" for k, n in _count(kinds).items())
        b.add(
            s,
            f"{mix} zoo ({what})",
            r,
            models=sizes.zoo,
            rowwise_s=rowwise,
            target="; ".join(parts),
            zoo=mix,
        )


def bench_kinds(b: Bench, kind_zoos: dict[str, Path], ref: dict[str, Any], out: Path) -> None:
    """Section 4: ``compare`` on a zoo of each kind of file."""
    s = b.section(
        "kinds",
        "4. errata compare per kind of file",
        "Each zoo holds one kind only (zoo.py's `write_kind`). Per model: the wall time,"
        " start-up included, over the models; beyond the fixed cost: the wall time less that of"
        " `compare` on one ImageFolder file (start-up, label set, taxonomy, writing the study),"
        " over the models. Row-wise loop: the zoo's models × section 6's seconds per model of the"
        " kind (extrapolated). The reference's error counts agree with errata's for the models it"
        " scored, unless the row says otherwise.",
    )
    first = sorted(kind_zoos["imagefolder_npy"].iterdir())[0]
    dest = out / "kind-one"
    r = timed_compare(first, dest, b.repeat, before=fresh(dest), scored=1, failed=0)
    fixed = r.wall_s
    b.add(s, "1 × imagefolder_npy (the fixed cost)", r, models=1)
    for kind, folder in kind_zoos.items():
        n = len(list(folder.iterdir()))
        dest = out / f"kind-{kind}"
        r = timed_compare(folder, dest, b.repeat, before=fresh(dest), scored=n, failed=0)
        disagree = check_reference(ref, kind, dest)
        if disagree:
            print(f"  WARNING {kind}: {disagree}", flush=True)
        b.add(
            s,
            f"{n} × {kind}: {1000 * r.wall_s / n:,.0f} ms per model,"
            f" {1000 * (r.wall_s - fixed) / n:,.0f} ms beyond the fixed cost"
            + (f" — {disagree}" if disagree else ""),
            r,
            models=n,
            rowwise_s=n * ref["kinds"][kind]["s_per_model"],
            kind=kind,
            s_per_model=r.wall_s / n,
            s_per_model_beyond_fixed=(r.wall_s - fixed) / n,
            reference_check=disagree or "same error counts",
        )


def bench_grow(
    b: Bench, z: dict[str, Path], sizes: Sizes, per_model: dict[str, float], work: Path
) -> None:
    """Section 5: a study that grows by a few files."""
    s = b.section(
        "grow",
        f"5. A growing zoo: {sizes.zoo:,} ImageFolder models, then {sizes.new} more",
        f"The zoo's files are linked into one folder and studied; then the {sizes.new} new files"
        " are linked in and `compare` runs again on (a copy of) the same --out, which scores"
        " only them. Target: the append costs < 1 s more than the new files alone.",
    )
    grow, study = work / "grow", work / "out" / "grow-study"
    shutil.rmtree(grow, ignore_errors=True)
    link_files(z["imagefolder"], grow)
    r = timed_compare(grow, study, 1, before=fresh(study), scored=sizes.zoo, failed=0)
    rowwise = sizes.zoo * per_model["imagefolder_npy"]
    b.add(s, f"study of {sizes.zoo:,} models", r, models=sizes.zoo, rowwise_s=rowwise)
    r = timed_compare(grow, study, b.repeat, before=None, scored=0, reused=sizes.zoo)
    b.add(s, "rerun, nothing changed", r)

    link_files(z["new"], grow)
    dest, alone = work / "out" / "grow-append", work / "out" / "new-alone"

    def copy_study() -> None:
        fresh(dest)()
        shutil.copytree(study, dest)

    r_append = timed_compare(
        grow, dest, b.repeat, before=copy_study, scored=sizes.new, reused=sizes.zoo, failed=0
    )
    r_own = timed_compare(
        z["new"], alone, b.repeat, before=fresh(alone), scored=sizes.new, failed=0
    )
    rowwise = sizes.new * per_model["imagefolder_npy"]
    limit = r_own.wall_s + APPEND_SLACK_S
    b.add(
        s,
        f"+ {sizes.new} new files, same --out",
        r_append,
        models=sizes.new,
        rowwise_s=rowwise,
        target=verdict(r_append.wall_s < limit, f"< {limit:.2f} s (own cost + 1 s)"),
        extra_s=r_append.wall_s - r_own.wall_s,
    )
    b.add(
        s, f"the {sizes.new} new files alone (own cost)", r_own, models=sizes.new, rowwise_s=rowwise
    )


BIG_TARGET_S = 30.0  # issue 22: 10,000 ImageFolder models × 50,000 images in under 30 s


def big_zoo(cache: Path, n_models: int) -> Path:
    """The large ImageFolder zoo (section 7), kept in ``cache`` between runs: ~1 GB and ~5 CPU
    minutes to write 10,000 models, so it is written once (again when zoo.py changes)."""
    cache.mkdir(parents=True, exist_ok=True)
    return ensure_zoo(
        cache / f"imagefolder-{n_models}",
        zoo.write_zoo,
        n_models=n_models,
        mix="imagefolder",
        seed=1,
    )


def bench_big(b: Bench, folder: Path, sizes: Sizes, per_model: dict[str, float], out: Path) -> None:
    """Section 7: ``compare`` on the large ImageFolder zoo, into a fresh study, beside the
    row-wise loop; wall and CPU seconds (a shared machine: the load says how much the wall
    time is someone else's), peak RSS."""
    n = sizes.big
    s = b.section(
        "big",
        f"7. errata compare on {n:,} ImageFolder models × 50,000 images",
        "One run into a fresh study (the zoo, `zoo.py` ImageFolder top-1 `.npy`, is kept in the"
        " cache folder between runs). CPU s is user + sys of the whole run: on 2 cores the wall"
        " time can be at best about half of it, and more when other work shares the cores (the"
        f" 1-minute load average before the run: {{load}}). Row-wise loop: {n:,} × section 6's"
        f" seconds per ImageFolder model (extrapolated). Target: < {BIG_TARGET_S:.0f} s.",
    )
    dest = out / "big"
    r = timed_compare(folder, dest, 1, before=fresh(dest), scored=n, failed=0)
    shutil.rmtree(dest, ignore_errors=True)  # a 10,000-model study is ~0.6 GB
    s.note = s.note.format(load=", ".join(f"{x:.1f}" for x in r.load))
    rowwise = n * per_model["imagefolder_npy"]
    b.add(
        s,
        f"{n:,} × imagefolder_npy",
        r,
        models=n,
        rowwise_s=rowwise,
        target=verdict(r.wall_s < BIG_TARGET_S, f"< {BIG_TARGET_S:.0f} s"),
    )


def reference_section(b: Bench, ref: dict[str, Any], n_zoo: int) -> None:
    """Section 6: the row-wise reference's figures (measured before the other sections)."""
    s = b.section(
        "reference",
        "6. The row-wise reference (tests/reference.py), in-process",
        "`score_model` on files parsed by errata's loader (parsing not counted); wall s is the"
        " mean seconds per model, runs min–max its spread over the models timed; row-wise loop:"
        f" {n_zoo:,} models of the kind (extrapolated).",
    )
    s.rows.append({"benchmark": "World build (once)", "wall_s": ref["world_s"]})
    for kind, v in ref["kinds"].items():
        s.rows.append(
            {
                "benchmark": f"score_model, {kind} ({v['models']} models)",
                "wall_s": v["s_per_model"],
                "walls_s": v["s_runs"],
                "models_per_s": 1 / v["s_per_model"],
                "rowwise_s": n_zoo * v["s_per_model"],
                "kind": kind,
                "parse_s_per_model": v["parse_s_per_model"],
            }
        )
    for row in s.rows:
        b.echo(row)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=None, help="runs per timing (default 3)")
    parser.add_argument("--keep", type=Path, default=None, help="keep (and reuse) the zoos here")
    parser.add_argument(
        "--quick", action="store_true", help="small sizes, a smoke test (results not kept)"
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(os.environ.get("ERRATA_BENCH_CACHE") or tempfile.gettempdir())
        / "errata-bench-cache",
        help="where the large zoo of section 7 is kept between runs (default: $ERRATA_BENCH_CACHE"
        " or <tmp>/errata-bench-cache)",
    )
    parser.add_argument(
        "--only",
        default="",
        help=f"comma-separated sections to run ({', '.join(SECTIONS)}; default: all); the"
        " row-wise reference always runs (results not kept unless every section ran)",
    )
    args = parser.parse_args(argv)
    only = [k for k in args.only.split(",") if k] or list(SECTIONS)
    unknown = sorted(set(only) - set(SECTIONS))
    if unknown:
        parser.error(f"--only: {', '.join(unknown)}; expected some of {', '.join(SECTIONS)}")
    partial = set(only) != set(SECTIONS)
    sizes = (
        Sizes(zoo=50, kind=10, logits=2, new=10, reference=1, big=200) if args.quick else Sizes()
    )
    repeat = args.repeat or (1 if args.quick else 3)
    work = args.keep.resolve() if args.keep else Path(tempfile.mkdtemp(prefix="errata-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    b = Bench(repeat, big_repeat=repeat if args.quick else 1)
    try:
        print(f"zoos in {work}", flush=True)
        z = zoos(work, sizes) if set(only) - {"big"} else {}
        if "big" in only:
            big = big_zoo(args.cache.resolve(), sizes.big)
        out = work / "out"
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir()
        # the reference first: every other section's row-wise figures come from it
        kind_zoos = {k.split(":", 1)[1]: p for k, p in z.items() if k.startswith("kind:")}
        if not kind_zoos:  # section 7 alone: its row-wise figure needs the ImageFolder kind
            kind_zoos = {"imagefolder_npy": big}
        ref = reference(kind_zoos, sizes.reference)
        per_model = {k: v["s_per_model"] for k, v in ref["kinds"].items()}

        if "startup" in only:
            s = b.section("startup", "1. Start-up")
            b.add(s, "errata --help", timed([*ERRATA, "--help"], repeat))
        if "analyze" in only:
            bench_analyze(b, ref, out)
        if "zoos" in only:
            bench_zoos(b, z, sizes, per_model, out)
        if "kinds" in only:
            bench_kinds(b, kind_zoos, ref, out)
        if "grow" in only:
            bench_grow(b, z, sizes, per_model, work)
        reference_section(b, ref, sizes.zoo)
        if "big" in only:
            bench_big(b, big, sizes, per_model, out)
    finally:
        shutil.rmtree(work if not args.keep else work / "grow", ignore_errors=True)

    meta = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "date": time.strftime("%Y-%m-%d"),
        "repeat": repeat,
        "quick": args.quick,
        "sections": only,
        "sizes": sizes.__dict__,
        "command": " ".join(Path(c).name for c in ERRATA),
        "rss_from": "GNU time %M" if GNU_TIME else "RUSAGE_CHILDREN",
        "zoos_generated_s": sum(GENERATED),
        "load_1min": [min(LOADS, default=0), max(LOADS, default=0)],
        "zoos_reused": not GENERATED,
        "total_s": time.perf_counter() - started,
    }
    write_results(
        b.sections, meta, work if args.quick and args.keep else None, args.quick or partial
    )
    return 0


def other_sections(text: str) -> list[str]:
    """The sections of RESULTS.md that other benchmark scripts write (their heading ends with
    ``(benchmarks/<script>.py)``, e.g. ``spurious_rules.py --write``): kept when the speed
    tables are rewritten."""
    import re

    parts = re.split(r"(?m)^(?=## )", text)
    return [p.rstrip("\n") + "\n" for p in parts if re.match(r"## .*\(benchmarks/\w+\.py\)\n", p)]


def write_results(
    sections: list[Section], meta: dict[str, Any], dest: Path | None, quick: bool
) -> None:
    """Print the tables and write RESULTS.md and results.json.

    Parameters
    ----------
    sections : list of Section
        The measured tables.
    meta : dict
        Machine, date, sizes and settings of the run.
    dest : Path or None
        Folder to write into; None: benchmarks/ (``quick``: nowhere, the figures of a smoke
        test are not results).
    quick : bool
        Whether this was a ``--quick`` run.
    """
    sizes = meta["sizes"]
    lines = [
        "# Benchmark results",
        "",
        f"`make bench` (`benchmarks/run.py`) on {meta['cpus']} CPUs ({meta['machine']}),"
        f" Python {meta['python']}, {meta['date']}; {meta['total_s'] / 60:.1f} min in all"
        + (
            " (zoos reused from an earlier run)."
            if meta["zoos_reused"]
            else f", {meta['zoos_generated_s']:.0f} s of it writing the zoos."
        )
        + f" Wall time is the median of {meta['repeat']} runs (1 for the"
        f" {sizes['zoo']:,}-model studies) of the real command line, start-up included; peak RSS"
        f" is the child's ({meta['rss_from']}). The row-wise loop is `tests/reference.py`, timed"
        f" on {sizes['reference']} model(s) of each kind in the same run (section 6) and"
        " extrapolated to each zoo, without its one-time World build and without parsing the"
        " files; speed-up is its time over errata's wall time. The zoos are synthetic"
        " (`zoo.py`) and in the page cache. The 1-minute load average before the timed runs"
        f" was {meta['load_1min'][0]:.1f}–{meta['load_1min'][1]:.1f}, the benchmark's own runs"
        " included (above ~2, other work shared the CPUs: the spread of the runs shows it).",
        "",
    ]
    for s in sections:
        lines += markdown(s)
    text = "\n".join(lines)
    print("\n" + text)
    if quick and dest is None:
        return
    folder = dest or HERE
    payload = {"meta": meta, "sections": {s.key: s.rows for s in sections}}
    (folder / "results.json").write_text(json.dumps(payload, indent=2) + "\n")
    results = folder / "RESULTS.md"
    kept = other_sections(results.read_text()) if results.exists() else []
    (folder / "RESULTS.md").write_text("\n".join([text, *kept]))
    print(f"written: {folder / 'RESULTS.md'}, {folder / 'results.json'}")


if __name__ == "__main__":
    sys.exit(main())
