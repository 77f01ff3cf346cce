"""Run the golden cases and render each one's behaviour as text.

Each case's record holds its command line, exit status, stdout, stderr and every file it wrote,
changed or removed in the working folder (JSON, CSV and text as written; Parquet as its schema,
row count and a digest of its values, with the rows when there are few; other files as their
sha256). Only what must vary between runs is normalised, by :func:`normalise`:

- the working folder, the data directory, the cache directory and the project root, written
  as ``<WORK>``, ``<DATA>``, ``<CACHE>`` and ``<ROOT>``;
- in JSON files, the values of the manifest's file-state keys (``mtime_ns``, ``ctime_ns``,
  ``inode`` …; see :data:`STAT_KEYS`), which the file system chooses.

The commands run as subprocesses of the ``errata`` script beside the running Python, with an
environment of their own (no ``COLUMNS``, so output is laid out as for a pipe), one after
another in one folder (later cases read what earlier ones wrote); the cases that share no
state run in two more folders at the same time (:func:`groups`).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.golden.cases import CASES, ROOT, Case, make_inputs

EXPECTED = Path(__file__).resolve().parent / "expected"
INLINE_LIMIT = 64_000  # bytes of text kept inline; longer text is recorded as its sha256
ROWS_INLINE = 12  # Parquet tables of at most this many rows are recorded row by row
STAT_KEYS = frozenset(
    {"mtime", "mtime_ns", "ctime", "ctime_ns", "inode", "ino", "dev", "st_mtime", "st_ctime"}
)
TIMES: dict[str, float] = {}  # seconds per case of the last run (not part of the records)
TEXT_SUFFIXES = {".json", ".csv", ".txt", ".tsv", ".md", ".html", ".svg", ".toml", ".jsonl"}


def errata_script() -> str:
    """The ``errata`` entry point of the environment the tests run in."""
    beside = Path(sys.executable).with_name("errata")
    if beside.exists():
        return str(beside)
    found = shutil.which("errata")
    if found is None:
        raise RuntimeError("no errata script beside the Python that runs the tests")
    return found


def available(case: Case) -> bool:
    """Whether the optional modules a case needs are installed."""
    return all(importlib.util.find_spec(m) is not None for m in case.needs)


PART_TAG = re.compile(r"(?<=part-)[0-9a-f]{8}(?=-\d{4}\.parquet)")


class Normaliser:
    """Replace the run's own paths by placeholders (longest first, resolved and as given), and
    the random tag of each ``compare`` run's error parts (``part-1f3a9c0e-0000.parquet``) by
    its rank of first appearance in the whole run (``part-<tag1>-0000.parquet``)."""

    def __init__(self, **places: Path) -> None:
        pairs: dict[str, str] = {}
        for label, path in places.items():
            for form in {str(path), str(path.resolve())}:
                pairs[form] = f"<{label.upper()}>"
        self._pairs = sorted(pairs.items(), key=lambda kv: -len(kv[0]))
        self._tags: dict[str, str] = {}

    def _tag(self, match: re.Match[str]) -> str:
        return self._tags.setdefault(match.group(0), f"<tag{len(self._tags) + 1}>")

    def __call__(self, text: str) -> str:
        for raw, label in self._pairs:
            text = text.replace(raw, label)
        return PART_TAG.sub(self._tag, text)


def _scrub_json(value: object) -> object:
    """File-state values as ``<stat>``; a list of part names (ordered by their random tags)
    sorted by the normalised names."""
    if isinstance(value, dict):
        return {k: ("<stat>" if k in STAT_KEYS else _scrub_json(v)) for k, v in value.items()}
    if isinstance(value, list):
        if value and all(isinstance(v, str) and "part-<tag" in v for v in value):
            return sorted(value)
        return [_scrub_json(v) for v in value]
    return value


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _text_block(text: str) -> str:
    data = text.encode()
    if len(data) > INLINE_LIMIT:
        return f"sha256 {_sha(data)} ({len(data)} bytes, {text.count(chr(10))} lines)\n"
    return text if text.endswith("\n") or not text else text + "\n<no newline at end>\n"


def _render_json(text: str) -> str:
    """JSON text as written, or when it holds file-state values or part lists, re-serialised
    with them normalised."""
    try:
        parsed = json.loads(text)
    except ValueError:
        return _text_block(text)
    scrubbed = _scrub_json(parsed)
    if scrubbed == parsed:
        return _text_block(text)  # as written, byte for byte
    return "(file-state values scrubbed; re-serialised)\n" + _text_block(
        json.dumps(scrubbed, indent=1, ensure_ascii=False, sort_keys=False)
    )


def _render_parquet(path: Path, norm: Normaliser) -> str:
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    lines = [f"{f.name}: {f.type}" for f in table.schema]
    digest = hashlib.sha256()
    for column in table.column_names:
        values = table.column(column).to_pylist()
        digest.update(norm(json.dumps([column, values], default=repr)).encode())
    out = [f"parquet: {table.num_rows} rows, {table.num_columns} columns", *lines]
    out.append(f"values sha256 {digest.hexdigest()}")
    if table.num_rows <= ROWS_INLINE:
        for row in table.to_pylist():
            out.append(norm(json.dumps(row, default=repr, ensure_ascii=False)))
    return "\n".join(out) + "\n"


def render_file(path: Path, norm: Normaliser) -> str:
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return _render_parquet(path, norm)
    raw = path.read_bytes()
    if suffix == ".json":
        return _render_json(norm(raw.decode()))
    if suffix in TEXT_SUFFIXES or not raw:
        try:
            return _text_block(norm(raw.decode()))
        except UnicodeDecodeError:
            pass
    return f"sha256 {_sha(raw)} ({len(raw)} bytes)\n"


def _state(work: Path) -> dict[str, tuple[int, int, int]]:
    """Every file under ``work``: its size, modification time and inode."""
    out: dict[str, tuple[int, int, int]] = {}
    for path in work.rglob("*"):
        if path.is_file() and not path.is_symlink():
            st = path.stat()
            out[path.relative_to(work).as_posix()] = (st.st_size, st.st_mtime_ns, st.st_ino)
    return out


def environment(work: Path, data: Path, cache: Path) -> dict[str, str]:
    """The commands' environment: fixed locale, the data and cache directories, no COLUMNS."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(work),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TZ": "UTC",
        "ERRATA_DATA_DIR": str(data),
        "ERRATA_CACHE_DIR": str(cache),
        "TMPDIR": str(work.parent / "tmp"),
    }
    Path(env["TMPDIR"]).mkdir(exist_ok=True)
    return env


def run_case(case: Case, work: Path, env: dict[str, str], norm: Normaliser) -> str:
    """Run one case in ``work`` and return its record."""
    before = _state(work)
    done = subprocess.run(
        [errata_script(), *case.args],
        cwd=work,
        env=env,
        capture_output=True,
        stdin=subprocess.DEVNULL,
        timeout=600,
    )
    after = _state(work)
    parts = [
        f"$ errata {shlex.join(case.args)}\n",
        f"exit {done.returncode}\n",
        "--- stdout\n",
        _render_json(norm(done.stdout.decode(errors="backslashreplace"))),
        "--- stderr\n",
        _text_block(norm(done.stderr.decode(errors="backslashreplace"))),
    ]
    changed = [rel for rel in after if before.get(rel) != after[rel]]
    for rel in sorted(changed, key=lambda r: (r.split("/")[:-1], norm(r))):
        kind = "wrote" if rel not in before else "rewrote"
        parts.append(f"--- {kind} {norm(rel)}\n")
        parts.append(render_file(work / rel, norm))
    for rel in sorted(norm(r) for r in set(before) - set(after)):
        parts.append(f"--- removed {rel}\n")
    return "".join(parts)


def groups(cases: Iterable[Case]) -> dict[str, list[Case]]:
    """The cases split into independent sequences, each run in a folder of its own: the ones
    that read or write a study (``study/``, ``study_bad/``) in order, the others (which only
    read the inputs or write a folder no later case reads) dealt out in turn to two more."""
    out: dict[str, list[Case]] = {"study": [], "a": [], "b": []}
    for case in cases:
        if any(arg.startswith("study") for arg in case.args):
            out["study"].append(case)
        else:
            out["ab"[(len(out["a"]) + len(out["b"])) % 2]].append(case)
    return out


def _run_group(base: Path, data: Path, cases: list[Case]) -> dict[str, str | None]:
    work = base / "work"
    cache = base / "cache"
    work.mkdir(parents=True)
    cache.mkdir()
    make_inputs(work, data)
    env = environment(work, data, cache)
    norm = Normaliser(work=work, data=data, cache=cache, root=ROOT)
    records: dict[str, str | None] = {}
    for case in cases:
        start = time.perf_counter()
        records[case.name] = run_case(case, work, env, norm) if available(case) else None
        TIMES[case.name] = time.perf_counter() - start
    return records


def run_all(base: Path, data: Path, cases: Iterable[Case] = CASES) -> dict[str, str | None]:
    """Run every case (``None`` for a case whose optional modules are missing): each group of
    :func:`groups` in a thread, with the inputs written into ``base/<group>/work`` and a cache
    directory of its own."""
    cases = list(cases)
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = [
            pool.submit(_run_group, base / name, data, group)
            for name, group in groups(cases).items()
            if group
        ]
        merged: dict[str, str | None] = {}
        for future in futures:
            merged.update(future.result())
    return {case.name: merged[case.name] for case in cases}


def expected_path(case: Case) -> Path:
    return EXPECTED / f"{case.name}.txt"


def safe_name(name: str) -> bool:
    return re.fullmatch(r"[a-z0-9][a-z0-9-]*", name) is not None
