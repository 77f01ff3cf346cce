"""Build errata's compact WordNet 3.0 noun extract from Debian's WordNet packages.

Usage:  python tools/build_wordnet.py [--wordnet-dir DIR] [--out DIR]

Reads WordNet 3.0 as installed by the Debian packages ``wordnet-base`` and ``wordnet-sense-index``
(``$WNSEARCHDIR``, else ``/usr/share/wordnet``) through NLTK's WordNet reader, and writes into
src/errata/resources/ (or DIR):

- wordnet.tsv.gz              one row per noun synset the taxonomy may need, sorted by id:
                              ``wnid`` (``n%08d``, the noun offset, as ImageNet spells it),
                              ``hypernyms`` (space-separated wnids, sorted),
                              ``n_descendants`` (hyponym descendants in *full* WordNet),
                              ``lemmas`` (``, ``-separated, underscores as spaces), ``definition``.
- wordnet.tsv.gz.source.json  source packages and versions, the WordNet 3.0 license.

Which synsets: the 1000 ImageNet classes, all their hypernym ancestors, all descendants of the
classes, and all descendants of every ancestor that is not *broad* (at most ``BROAD`` descendants
in full WordNet), so siblings, same-superclass synsets and out-of-vocabulary proposals below the
broad level are available; then every hypernym of a kept synset, so the extract is closed
upwards (``puppy`` is a ``dog`` and a ``young mammal``). Broad nodes (``entity``, ``artifact``,
``device``, ...) keep their row but not their whole subtree; ``n_descendants`` says whether a
row's subtree is complete. Instance nouns (``Eiffel Tower`` as an instance of ``tower``) are left
out: an instance of a class is that class, never a new concept, and ImageNet's hierarchy uses
class hypernyms only.

NLTK is needed here only (the dev dependency group); errata itself reads the extract with the
standard library. Re-running on the same WordNet gives the same decompressed content (the gzip
stream has mtime 0 too, but compressed bytes could differ between zlib builds, so the rebuild test
compares content).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "src" / "errata" / "resources"
CLASSES = ROOT / "src" / "errata" / "resources" / "classes.tsv"
RESOURCE = "wordnet.tsv.gz"
DEBIAN_WORDNET = "/usr/share/wordnet"  # where Debian's wordnet-base installs the database
DEBIAN_PACKAGES = ("wordnet-base", "wordnet-sense-index")  # recorded in the sidecar
BROAD = 2000  # an ancestor with more descendants than this is a "meta" node (device: 2760)
HEADER = "wnid\thypernyms\tn_descendants\tlemmas\tdefinition"

# The 45 standard lexicographer file names; NLTK's reader needs this file, Debian omits it.
LEXNAMES = (
    "adj.all adj.pert adv.all noun.Tops noun.act noun.animal noun.artifact noun.attribute "
    "noun.body noun.cognition noun.communication noun.event noun.feeling noun.food noun.group "
    "noun.location noun.motive noun.object noun.person noun.phenomenon noun.plant "
    "noun.possession noun.process noun.quantity noun.relation noun.shape noun.state "
    "noun.substance noun.time verb.body verb.change verb.cognition verb.communication "
    "verb.competition verb.consumption verb.contact verb.creation verb.emotion verb.motion "
    "verb.perception verb.possession verb.social verb.stative verb.weather adj.ppl"
).split()
POS_NUMBER = {"noun": 1, "verb": 2, "adj": 3, "adv": 4}

LICENSE_TEXT = (
    "WordNet Release 3.0. This software and database is being provided to you, the LICENSEE, "
    "by Princeton University under the following license. By obtaining, using and/or copying "
    "this software and database, you agree that you have read, understood, and will comply with "
    "these terms and conditions.: Permission to use, copy, modify and distribute this software "
    "and database and its documentation for any purpose and without fee or royalty is hereby "
    "granted, provided that you agree to comply with the following copyright notice and "
    "statements, including the disclaimer, and that the same appear on ALL copies of the "
    "software, database and documentation, including modifications that you make for internal "
    "use or for distribution. WordNet 3.0 Copyright 2006 by Princeton University. All rights "
    'reserved. THIS SOFTWARE AND DATABASE IS PROVIDED "AS IS" AND PRINCETON UNIVERSITY MAKES '
    "NO REPRESENTATIONS OR WARRANTIES, EXPRESS OR IMPLIED. BY WAY OF EXAMPLE, BUT NOT "
    "LIMITATION, PRINCETON UNIVERSITY MAKES NO REPRESENTATIONS OR WARRANTIES OF MERCHANT- "
    "ABILITY OR FITNESS FOR ANY PARTICULAR PURPOSE OR THAT THE USE OF THE LICENSED SOFTWARE, "
    "DATABASE OR DOCUMENTATION WILL NOT INFRINGE ANY THIRD PARTY PATENTS, COPYRIGHTS, "
    "TRADEMARKS OR OTHER RIGHTS. The name of Princeton University or Princeton may not be used "
    "in advertising or publicity pertaining to distribution of the software and/or database. "
    "Title to copyright in this software, database and any associated documentation shall at "
    "all times remain with Princeton University and LICENSEE agrees to preserve same."
)


def default_wordnet_dir() -> Path:
    """``$WNSEARCHDIR`` (WordNet's own variable), else Debian's install location."""
    return Path(os.environ.get("WNSEARCHDIR") or DEBIAN_WORDNET)


def debian_versions() -> dict[str, str]:
    """Installed version of each Debian WordNet package (``"not installed"`` when absent)."""
    dpkg = shutil.which("dpkg-query")
    out = {}
    for pkg in DEBIAN_PACKAGES:
        version = "not installed"
        if dpkg:
            done = subprocess.run(
                [dpkg, "-W", "-f", "${Version}", pkg], capture_output=True, text=True
            )
            if done.returncode == 0 and done.stdout.strip():
                version = done.stdout.strip()
        out[pkg] = version
    return out


def _open_reader(wordnet_dir: Path, tmp: Path):  # type: ignore[no-untyped-def]
    """NLTK's WordNet reader over a private copy of ``wordnet_dir`` plus a ``lexnames`` file.

    NLTK only reads corpora below a directory on ``nltk.data.path`` and refuses symlinks that
    leave it, so the files are copied.
    """
    import nltk
    from nltk.corpus.reader.wordnet import WordNetCorpusReader

    corpus = tmp / "corpora" / "wordnet"
    corpus.mkdir(parents=True)
    for f in wordnet_dir.iterdir():
        if f.is_file():
            shutil.copyfile(f, corpus / f.name)
    (corpus / "lexnames").write_text(
        "".join(f"{i:02d}\t{n}\t{POS_NUMBER[n.split('.')[0]]}\n" for i, n in enumerate(LEXNAMES))
    )
    nltk.data.path.insert(0, str(tmp))

    class _EnglishOnly(WordNetCorpusReader):  # type: ignore[misc]
        def map_wn(self, version: str = "wordnet") -> None:
            """Skip the sense-key mapping for multilingual data (8 s; not used here)."""
            return None

    import warnings

    with warnings.catch_warnings():  # "multilingual functions are not available": not needed
        warnings.simplefilter("ignore")
        return _EnglishOnly(str(corpus), None)


def read_nouns(wordnet_dir: Path) -> dict[int, tuple[list[int], list[str], str]]:
    """Every non-instance noun synset: offset -> (hypernym offsets, lemma names, definition)."""
    with tempfile.TemporaryDirectory() as tmp:
        wn = _open_reader(wordnet_dir, Path(tmp))
        if wn.get_version() != "3.0":
            raise SystemExit(f"{wordnet_dir}: expected WordNet 3.0, found {wn.get_version()}")
        nouns = {}
        for s in wn.all_synsets("n"):
            hypers = sorted({h.offset() for h in s.hypernyms()})  # NLTK returns set order
            if not hypers and s.instance_hypernyms():
                continue
            nouns[s.offset()] = (
                hypers,
                [lem.replace("_", " ") for lem in s.lemma_names()],
                s.definition(),
            )
    return nouns


def _closure(start: int, links: dict[int, list[int]]) -> set[int]:
    seen: set[int] = set()
    stack = list(links.get(start, ()))
    while stack:
        node = stack.pop()
        if node not in seen:
            seen.add(node)
            stack.extend(links.get(node, ()))
    return seen


def select(
    nouns: dict[int, tuple[list[int], list[str], str]],
    class_offsets: list[int],
) -> tuple[list[int], dict[int, int]]:
    """The synsets to keep (sorted) and the full-WordNet descendant count of each."""
    parents = {o: v[0] for o, v in nouns.items()}
    children: dict[int, list[int]] = {}
    for o, hypers in parents.items():
        for h in hypers:
            children.setdefault(h, []).append(o)
    missing = [o for o in class_offsets if o not in nouns]
    if missing:
        raise SystemExit(f"classes not among WordNet 3.0 nouns: {missing[:5]}")
    ancestors = set().union(*(_closure(o, parents) for o in class_offsets))
    keep = set(ancestors) | set(class_offsets)
    for o in class_offsets:
        keep |= _closure(o, children)
    for a in ancestors:
        below = _closure(a, children)
        if len(below) <= BROAD:
            keep |= below
    keep |= set().union(*(_closure(o, parents) for o in list(keep)))  # closed under hypernyms
    counts = {o: len(_closure(o, children)) for o in keep}
    return sorted(keep), counts


def render(
    nouns: dict[int, tuple[list[int], list[str], str]], keep: list[int], counts: dict[int, int]
) -> str:
    lines = [HEADER]
    for o in keep:
        hypers, lemmas, definition = nouns[o]
        fields = [
            f"n{o:08d}",
            " ".join(f"n{h:08d}" for h in hypers),
            str(counts[o]),
            ", ".join(lemmas),
            definition,
        ]
        if any(("\t" in f or "\n" in f) for f in fields):
            raise SystemExit(f"n{o:08d}: tab or newline inside a field")
        lines.append("\t".join(fields))
    return "\n".join(lines) + "\n"


def build(out: Path, wordnet_dir: Path) -> Path:
    """Write the extract and its sidecar into ``out``; return the extract's path."""
    if not (wordnet_dir / "data.noun").is_file():
        raise SystemExit(
            f"{wordnet_dir}: no data.noun; install the Debian packages "
            f"{' '.join(DEBIAN_PACKAGES)} or set WNSEARCHDIR"
        )
    rows = CLASSES.read_text(encoding="utf-8").splitlines()[1:]
    class_offsets = [int(r.split("\t")[1][1:]) for r in rows]
    nouns = read_nouns(wordnet_dir)
    keep, counts = select(nouns, class_offsets)
    text = render(nouns, keep, counts)
    out.mkdir(parents=True, exist_ok=True)
    path = out / RESOURCE
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0))
    tmp.replace(path)
    meta = {
        "resource": RESOURCE,
        "description": "compact WordNet 3.0 noun graph: the 1000 ImageNet classes, their "
        "hypernym ancestors, and the descendants of every ancestor with at most "
        f"{BROAD} descendants; columns {HEADER.replace(chr(9), ', ')}",
        "synsets": len(keep),
        "source": {
            "debian_packages": debian_versions(),
            "wordnet_version": "3.0",
            "reader": "nltk.corpus.reader.wordnet.WordNetCorpusReader",
        },
        "license": "WordNet 3.0 license (Princeton University)",
        "license_text": LICENSE_TEXT,
        "generated_by": "tools/build_wordnet.py",
    }
    side = path.with_name(path.name + ".source.json")
    side.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wordnet-dir", type=Path, default=default_wordnet_dir())
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    path = build(args.out, args.wordnet_dir)
    print(f"{path} written ({path.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
