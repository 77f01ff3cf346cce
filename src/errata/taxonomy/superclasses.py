"""Superclasses: groups of semantically close classes, read from ``superclasses.toml``.

A wrong prediction that shares a superclass with one of the image's labels is a *fine-grained*
error; a co-occurring pair inside one superclass is never called *spurious*. The groups are
curated data (WordNet roots plus listed exceptions, each with its reason), so a reviewer can read
and change what errata calls fine-grained without touching code.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
from numpy.typing import ArrayLike

from errata import resources
from errata.core.checks import choice
from errata.core.evidence import first_shared_of, same_superclass_of
from errata.exceptions import ErrataInputError
from errata.resources import N_CLASSES
from errata.taxonomy._toml import class_ref, load_toml
from errata.taxonomy.wordnet import class_ancestry, wordnet

RESOURCE = "superclasses.toml"  # the curated definitions
_KEYS = {"name", "roots", "lemmas", "classes", "exclude", "why"}  # keys of one [[superclass]]
_TOP_KEYS = {"superclass", "cover_every_class", "disjoint"}  # allowed top-level keys


@dataclass(frozen=True, eq=False)
class Superclasses:
    """The superclass definitions resolved over the 1000 classes.

    Attributes
    ----------
    names : ndarray of object, shape (S,)
        Superclass names in file order.
    members : ndarray of bool, shape (1000, S)
        ``members[c, s]``: class ``c`` belongs to superclass ``s``. Every row has at least one
        True; a class may belong to several superclasses.
    reasons : ndarray of object, shape (S,)
        The ``why`` of each superclass (``""`` when it is a plain WordNet subtree).
    roots : tuple of tuple of str
        The WordNet roots of each superclass.
    predicates : tuple of tuple of tuple of str
        The lemma predicates of each superclass (each predicate a tuple of lemmas).
    exceptions : dict
        ``(class_index, superclass_index) -> reason`` for every listed inclusion with a reason
        and every exclusion: the judgement calls.
    """

    names: np.ndarray
    members: np.ndarray
    reasons: np.ndarray
    roots: tuple[tuple[str, ...], ...]
    exceptions: dict[tuple[int, int], str]
    predicates: tuple[tuple[tuple[str, ...], ...], ...] = ()

    def __len__(self) -> int:
        return len(self.names)

    def index(self, name: str) -> int:
        """Position of the superclass called ``name``."""
        hits = np.flatnonzero(self.names == name)
        if not len(hits):
            raise ErrataInputError(
                f"superclass {name!r}: unknown (see `errata taxonomy superclasses`)"
            )
        return int(hits[0])

    def superclasses_of(self, class_index: int) -> list[str]:
        """Names of the superclasses that ``class_index`` belongs to."""
        names: list[str] = self.names[self.members[int(class_index)]].tolist()
        return names

    def members_of(self, name: str) -> np.ndarray:
        """Class indices of superclass ``name``."""
        return np.flatnonzero(self.members[:, self.index(name)])


TOMLTable = dict[str, object]  # a parsed TOML table, its values still to be checked


@dataclass
class _Entry:
    """One ``[[superclass]]`` entry resolved: its member classes and what it says about them."""

    name: str
    column: np.ndarray  # (1000,) bool: its members
    reason: str
    roots: tuple[str, ...]
    predicates: tuple[tuple[str, ...], ...]
    exceptions: dict[tuple[int, int], str]  # (class, superclass) -> reason


def parse_superclasses(data: TOMLTable, *, source: str = RESOURCE) -> Superclasses:
    """Resolve parsed TOML into :class:`Superclasses`, validating every entry.

    A superclass's members are the classes below its ``roots``, the classes matching one of
    its ``lemmas`` predicates (:func:`lemma_members`) and its listed ``classes``, minus its
    ``exclude`` list. Raises :class:`ErrataInputError` naming the entry for an unknown key,
    WordNet id or lemma, a name that does not match its id, a duplicate or missing name, an
    exclusion without a reason, an empty superclass, (unless the file says
    ``cover_every_class = false``) a class that ends up in no superclass, or (when it says
    ``disjoint = true``) a class in two superclasses.
    """
    unknown_top = set(data) - _TOP_KEYS
    if unknown_top:
        raise ErrataInputError(
            f"{source}: unknown top-level key {sorted(unknown_top)[0]!r} "
            f"(expected {', '.join(sorted(_TOP_KEYS))})"
        )
    cover = data.get("cover_every_class", True)
    if not isinstance(cover, bool):
        raise ErrataInputError(f"{source}: cover_every_class must be true or false")
    entries = data.get("superclass")
    if not isinstance(entries, list) or not entries:
        raise ErrataInputError(f"{source}: expected [[superclass]] entries")
    disjoint = data.get("disjoint", False)
    if not isinstance(disjoint, bool):
        raise ErrataInputError(f"{source}: disjoint = {disjoint!r}; expected true or false")
    parsed: list[_Entry] = []
    for pos, entry in enumerate(entries, start=1):
        parsed.append(_parse_entry(entry, pos, [e.name for e in parsed], source))
    names = [e.name for e in parsed]
    members = np.stack([e.column for e in parsed], axis=1)
    if disjoint and (members.sum(axis=1) > 1).any():
        c = int(np.flatnonzero(members.sum(axis=1) > 1)[0])
        both = [names[j] for j in np.flatnonzero(members[c])[:2]]
        raise ErrataInputError(
            f"{source}: {resources.classes().label(c)} is in superclasses {both[0]!r} and "
            f"{both[1]!r}, but the file says disjoint = true"
        )
    orphans = np.flatnonzero(~members.any(axis=1))
    if len(orphans) and cover:
        cls = resources.classes()
        listed = ", ".join(cls.label(int(c)) for c in orphans[:5])
        raise ErrataInputError(f"{source}: {len(orphans)} classes are in no superclass: {listed}")
    members.setflags(write=False)
    return Superclasses(
        names=np.array(names, dtype=object),
        members=members,
        reasons=np.array([e.reason for e in parsed], dtype=object),
        roots=tuple(e.roots for e in parsed),
        exceptions={k: v for e in parsed for k, v in e.exceptions.items()},
        predicates=tuple(e.predicates for e in parsed),
    )


def _parse_entry(entry: object, pos: int, names: list[str], source: str) -> _Entry:
    """Entry ``pos`` (from 1) of the file, checked; ``names``: the entries before it."""
    name = entry.get("name") if isinstance(entry, dict) else None
    where = f"superclass {name!r} (entry {pos})" if name else f"entry {pos}"
    if not isinstance(entry, dict) or not isinstance(name, str) or not name.strip():
        raise ErrataInputError(f"{source}: {where}: missing 'name'")
    if name in names:
        raise ErrataInputError(
            f"{source}: {where}: duplicate name (also entry {names.index(name) + 1})"
        )
    unknown = set(entry) - _KEYS
    if unknown:
        raise ErrataInputError(
            f"{source}: {where}: unknown key {sorted(unknown)[0]!r} "
            f"(expected {', '.join(sorted(_KEYS))})"
        )
    col, roots = _roots_column(entry, source, where)
    preds = []
    for pred in _list(entry, "lemmas", source, where):
        lemmas = [pred] if isinstance(pred, str) else pred
        if (
            not isinstance(lemmas, list)
            or not lemmas
            or not all(isinstance(x, str) and x for x in lemmas)
        ):
            raise ErrataInputError(
                f"{source}: {where}: lemmas: each predicate is a lemma or a list of "
                f"lemmas, got {pred!r}"
            )
        col |= lemma_members(tuple(lemmas), source=source, where=f"{where}: lemmas")
        preds.append(tuple(lemmas))
    s = len(names)
    exceptions: dict[tuple[int, int], str] = {}
    for item in _list(entry, "classes", source, where):
        ref, why = (item.get("class"), item.get("why")) if isinstance(item, dict) else (item, None)
        c = class_ref(source, f"{where}: classes", ref)
        col[c] = True
        if why:
            exceptions[(c, s)] = str(why)
    for item in _list(entry, "exclude", source, where):
        if not isinstance(item, dict) or not item.get("why"):
            raise ErrataInputError(
                f"{source}: {where}: exclude: each entry needs "
                "{ class = 'wnid name', why = 'reason' }"
            )
        c = class_ref(source, f"{where}: exclude", item.get("class"))
        col[c] = False
        exceptions[(c, s)] = "excluded: " + str(item["why"])
    if not col.any():
        raise ErrataInputError(f"{source}: {where}: empty superclass (no roots or classes)")
    return _Entry(
        name=name,
        column=col,
        reason=str(entry.get("why", "")),
        roots=tuple(roots),
        predicates=tuple(preds),
        exceptions=exceptions,
    )


def _roots_column(entry: TOMLTable, source: str, where: str) -> tuple[np.ndarray, list[str]]:
    """``(1000,)`` bool: the classes below the entry's ``roots``, and the roots' WordNet ids."""
    graph, ancestry = wordnet(), class_ancestry()
    col = np.zeros(N_CLASSES, dtype=bool)
    roots = []
    for ref in _list(entry, "roots", source, where):
        wnid, _, lemma = str(ref).strip().partition(" ")
        if wnid not in graph:
            raise ErrataInputError(f"{source}: {where}: roots: unknown WordNet id {wnid!r}")
        if lemma and lemma not in graph.lemmas(wnid):
            raise ErrataInputError(
                f"{source}: {where}: roots: {wnid} is {graph.name(wnid)!r}, not {lemma!r}"
            )
        below = ancestry.below(wnid)
        if not below.any():
            raise ErrataInputError(
                f"{source}: {where}: roots: {wnid} {graph.name(wnid)} "
                "has no ImageNet class below it"
            )
        col |= below
        roots.append(wnid)
    return col, roots


@cache
def lemma_matrix() -> tuple[np.ndarray, tuple[str, ...], tuple[tuple[str, ...], ...]]:
    """What lemma predicates are evaluated on (cached; also read by
    ``tools/derive_peychev2023.py``, which chooses the predicates of ``peychev2023.toml``).

    Returns
    -------
    matrix : ndarray of bool, shape (1000, V)
        ``matrix[c, v]``: lemma ``v`` names a hypernym of class ``c`` (the class itself
        included), through any hypernym path. Read-only.
    lemmas : tuple of str
        The lemma of each column, sorted.
    synsets : tuple of tuple of str
        The lemmas of each synset that is a hypernym of some class (``class_ancestry()``
        order), each in WordNet's order.
    """
    graph, ancestry = wordnet(), class_ancestry()
    below = ancestry.distance >= 0
    node_lemmas = tuple(tuple(graph.lemmas(w)) for w in ancestry.wnids.tolist())
    vocab = tuple(sorted({x for lem in node_lemmas for x in lem}))
    col = {x: i for i, x in enumerate(vocab)}
    mat = np.zeros((below.shape[0], len(vocab)), dtype=bool)
    for j, lem in enumerate(node_lemmas):  # ~2,000 ancestor synsets, never a loop over images
        rows = np.flatnonzero(below[:, j])
        for x in lem:
            mat[rows, col[x]] = True
    mat.setflags(write=False)
    return mat, vocab, node_lemmas


@cache
def _lemma_column() -> dict[str, int]:
    """The column of each lemma in :func:`lemma_matrix`."""
    return {x: i for i, x in enumerate(lemma_matrix()[1])}


def lemma_members(lemmas: tuple[str, ...], *, source: str = "", where: str = "") -> np.ndarray:
    """``(1000,)`` bool: the classes that satisfy a lemma predicate — every lemma in
    ``lemmas`` names some hypernym of the class (the class itself included).

    This is how Peychev et al. (2023) define their superclasses; a predicate of two lemmas
    picks one sense of a polysemous lemma (``["crane", "bird"]``).

    Examples
    --------
    >>> from errata import resources
    >>> m = lemma_members(("poodle",))
    >>> [resources.classes().names[c] for c in np.flatnonzero(m)]
    ['toy poodle', 'miniature poodle', 'standard poodle']
    >>> int(lemma_members(("crane",)).sum()), int(lemma_members(("crane", "bird")).sum())
    (2, 1)
    """
    mat, col = lemma_matrix()[0], _lemma_column()
    missing = [x for x in lemmas if x not in col]
    if missing:
        prefix = f"{source}: {where}: " if source else ""
        raise ErrataInputError(
            f"{prefix}lemma {missing[0]!r} names no hypernym of any ImageNet class "
            "(WordNet 3.0 lemmas are case-sensitive, with spaces: 'hunting dog')"
        )
    return np.asarray(mat[:, [col[x] for x in lemmas]].all(axis=1), dtype=bool)


def _list(entry: TOMLTable, key: str, source: str, where: str) -> list[object]:
    value = entry.get(key, [])
    if not isinstance(value, list):
        raise ErrataInputError(f"{source}: {where}: '{key}' must be a list")
    return value


def load_superclasses(text: str | None = None, *, source: str = RESOURCE) -> Superclasses:
    """Parse and validate superclass definitions (errata's own file unless ``text`` is given)."""
    return parse_superclasses(load_toml(source, text), source=source)


FILES = {
    "errata": RESOURCE,  # errata's own, tuned for agreement with expert reviewers
    "peychev2023": "peychev2023.toml",  # the published pipeline's, reconstructed
    "supersub10": "supersub10.toml",  # the 10 of "Superclassing ImageNet", from WordNet
}  # taxonomy name -> its superclass file in the package resources


@cache
def superclasses(taxonomy: str = "errata") -> Superclasses:
    """The superclasses of the taxonomy called ``taxonomy`` (:data:`FILES`), cached.

    Examples
    --------
    >>> sc = superclasses()
    >>> sc.superclasses_of(207)  # golden retriever
    ['dog']
    """
    return load_superclasses(source=FILES[choice(taxonomy, FILES, keyword="taxonomy")])


@cache
def same_superclass(taxonomy: str = "errata") -> np.ndarray:
    """``(1000, 1000)`` bool: True where two classes share at least one superclass of
    ``taxonomy`` (cached per name). Symmetric; in errata's taxonomy every class is in some
    superclass, so the diagonal is True.
    """
    out = same_superclass_of(superclasses(taxonomy).members)
    out.setflags(write=False)
    return out


@cache
def _first_shared() -> np.ndarray:
    out = first_shared_of(superclasses().members)
    out.setflags(write=False)
    return out


def shared_superclass(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    """Index of one superclass shared by classes ``a`` and ``b`` (``-1`` when none), elementwise.

    Parameters
    ----------
    a, b : array_like of int
        Class indices, broadcast against each other (e.g. predictions and labels).

    Returns
    -------
    ndarray of int16
        The first shared superclass in file order; look its name up in ``superclasses().names``.
    """
    a_arr, b_arr = np.asarray(a), np.asarray(b)
    for arr, label in ((a_arr, "a"), (b_arr, "b")):
        if arr.size and (
            not np.issubdtype(arr.dtype, np.integer) or arr.min() < 0 or arr.max() >= N_CLASSES
        ):
            raise ErrataInputError(f"shared_superclass: {label} must hold class indices 0..999")
    shared: np.ndarray = _first_shared()[a_arr, b_arr]
    return shared
