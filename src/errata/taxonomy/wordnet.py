"""The WordNet 3.0 noun graph that errata ships (``resources/wordnet.tsv.gz``).

The extract holds the 1000 ImageNet classes, all their hypernym ancestors, and the descendants of
every ancestor that is not *broad* (see ``tools/build_wordnet.py``), so siblings and
out-of-vocabulary proposals are available without NLTK or a WordNet download. Ids are WordNet
noun ids ``n%08d`` (the offset in ``data.noun``), exactly as ImageNet spells its classes.

WordNet's noun hierarchy is a DAG: 38 of the 1000 classes have two hypernyms (``dog`` is both a
``canine`` and a ``domestic animal``). Every function here follows *all* hypernym links, so an
ancestor reached through any path counts, at its shortest distance.
"""

from __future__ import annotations

import gzip
from collections import deque
from dataclasses import dataclass
from functools import cache

import numpy as np

from errata import resources
from errata.exceptions import ErrataInputError

RESOURCE = "wordnet.tsv.gz"  # built by tools/build_wordnet.py
BROAD = 2000  # a synset with more descendants (full WordNet) is a "meta" node; subtree not kept


def _csr(links: list[list[int]], n: int) -> tuple[np.ndarray, np.ndarray]:
    sizes = np.fromiter((len(x) for x in links), dtype=np.int64, count=n)
    indptr = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    indices = np.fromiter((j for x in links for j in x), dtype=np.int32, count=int(indptr[-1]))
    return indptr, indices


@dataclass(frozen=True, eq=False)
class WordNetGraph:
    """Noun synsets with lemmas, definitions and hypernym / hyponym links.

    Attributes
    ----------
    wnids : ndarray of object, shape (N,)
        Sorted WordNet ids; node ``i`` is ``wnids[i]``.
    n_descendants : ndarray of int32, shape (N,)
        Number of hyponym descendants in *full* WordNet. When it is at most ``BROAD`` the whole
        subtree is in the extract, so :meth:`descendants` is complete.
    """

    wnids: np.ndarray
    n_descendants: np.ndarray
    _lemmas: tuple[str, ...]
    _definitions: tuple[str, ...]
    _parents: tuple[np.ndarray, np.ndarray]
    _children: tuple[np.ndarray, np.ndarray]
    _index: dict[str, int]

    def __len__(self) -> int:
        return len(self.wnids)

    def __contains__(self, wnid: object) -> bool:
        return wnid in self._index

    def index(self, wnid: str) -> int:
        """Node number of ``wnid``; :class:`ErrataInputError` when it is not in the extract."""
        try:
            return self._index[wnid]
        except (KeyError, TypeError):
            raise ErrataInputError(
                f"WordNet id {wnid!r}: not a noun synset of errata's WordNet 3.0 extract "
                "(expected 'n' and 8 digits, e.g. n02084071)"
            ) from None

    def lemmas(self, wnid: str) -> list[str]:
        """All lemma names, WordNet's order (``["dog", "domestic dog", "Canis familiaris"]``)."""
        return self._lemmas[self.index(wnid)].split(", ")

    def name(self, wnid: str) -> str:
        """The first lemma, the synset's usual name."""
        return self._lemmas[self.index(wnid)].split(", ")[0]

    def definition(self, wnid: str) -> str:
        """WordNet's gloss without its example sentences."""
        return self._definitions[self.index(wnid)]

    def _links(self, which: tuple[np.ndarray, np.ndarray], node: int) -> np.ndarray:
        indptr, indices = which
        return indices[indptr[node] : indptr[node + 1]]

    def hypernyms(self, wnid: str) -> list[str]:
        """Direct hypernyms (one or more; none for ``entity``)."""
        return [self.wnids[j] for j in self._links(self._parents, self.index(wnid))]

    def hyponyms(self, wnid: str) -> list[str]:
        """Direct hyponyms that are in the extract (all of them unless the node is broad)."""
        return [self.wnids[j] for j in self._links(self._children, self.index(wnid))]

    def _bfs(self, start: int, which: tuple[np.ndarray, np.ndarray]) -> dict[int, int]:
        dist = {start: 0}
        queue = deque([start])
        while queue:
            node = queue.popleft()
            for nxt in self._links(which, node).tolist():
                if nxt not in dist:
                    dist[nxt] = dist[node] + 1
                    queue.append(nxt)
        return dist

    def ancestor_distances(self, wnid: str) -> dict[str, int]:
        """Every ancestor (through all hypernym paths) with its shortest distance; self is 0."""
        return {self.wnids[j]: d for j, d in self._bfs(self.index(wnid), self._parents).items()}

    def ancestors(self, wnid: str) -> list[str]:
        """All ancestors through every hypernym path, nearest first (self excluded)."""
        return list(self.ancestor_distances(wnid))[1:]

    def descendants(self, wnid: str) -> list[str]:
        """All descendants in the extract, nearest first (self excluded)."""
        dist = self._bfs(self.index(wnid), self._children)
        return [self.wnids[j] for j in list(dist)[1:]]

    def is_broad(self, wnid: str) -> bool:
        """True for "meta" nodes (``artifact``, ``device``) whose subtree the extract trims."""
        return bool(self.n_descendants[self.index(wnid)] > BROAD)

    def paths(self, wnid: str) -> list[list[str]]:
        """Every hypernym path from the root ``entity`` down to ``wnid`` (a DAG has several)."""
        parents = self.hypernyms(wnid)
        if not parents:
            return [[wnid]]
        return [p + [wnid] for parent in parents for p in self.paths(parent)]


@cache
def wordnet() -> WordNetGraph:
    """The WordNet 3.0 noun graph shipped with errata (cached; about 21,000 synsets).

    Examples
    --------
    >>> g = wordnet()
    >>> g.name("n02084071"), g.hypernyms("n02084071")
    ('dog', ['n01317541', 'n02083346'])
    """
    text = gzip.decompress(resources.read_bytes(RESOURCE)).decode("utf-8")
    rows = [line.split("\t") for line in text.splitlines()[1:]]
    wnids = np.array([r[0] for r in rows], dtype=object)
    index = {w: i for i, w in enumerate(wnids.tolist())}
    parents = [[index[h] for h in r[1].split()] for r in rows]
    children: list[list[int]] = [[] for _ in rows]
    for i, ps in enumerate(parents):
        for p in ps:
            children[p].append(i)
    n_desc = np.array([int(r[2]) for r in rows], dtype=np.int32)
    for arr in (wnids, n_desc):
        arr.setflags(write=False)
    return WordNetGraph(
        wnids=wnids,
        n_descendants=n_desc,
        _lemmas=tuple(r[3] for r in rows),
        _definitions=tuple(r[4] for r in rows),
        _parents=_csr(parents, len(rows)),
        _children=_csr(children, len(rows)),
        _index=index,
    )


@dataclass(frozen=True, eq=False)
class ClassAncestry:
    """Shortest hypernym distance from each of the 1000 classes to each of their ancestors.

    Attributes
    ----------
    wnids : ndarray of object, shape (A,)
        Every synset that is an ancestor-or-self of at least one class.
    distance : ndarray of int16, shape (1000, A)
        ``distance[c, a]`` = shortest number of hypernym steps from class ``c`` up to node ``a``
        (0 for the class itself), ``-1`` when ``a`` is not an ancestor of ``c``.
    """

    wnids: np.ndarray
    distance: np.ndarray

    def column(self, wnid: str) -> int:
        """Column of ``wnid``, ``-1`` when it is not an ancestor of any class."""
        hits = np.flatnonzero(self.wnids == wnid)
        return int(hits[0]) if len(hits) else -1

    def below(self, wnid: str) -> np.ndarray:
        """``(1000,)`` bool: classes equal to or descending from ``wnid``."""
        col = self.column(wnid)
        if col < 0:
            wordnet().index(wnid)  # unknown id -> ErrataInputError
            return np.zeros(resources.N_CLASSES, dtype=bool)
        return self.distance[:, col] >= 0


@cache
def class_ancestry() -> ClassAncestry:
    """The :class:`ClassAncestry` of the 1000 classes (cached)."""
    g = wordnet()
    per_class = [g.ancestor_distances(w) for w in resources.classes().wnids]
    cols = sorted(set().union(*per_class))
    col_of = {w: j for j, w in enumerate(cols)}
    dist = np.full((resources.N_CLASSES, len(cols)), -1, dtype=np.int16)
    rows = np.repeat(np.arange(resources.N_CLASSES), [len(d) for d in per_class])
    flat_cols = np.fromiter(
        (col_of[w] for d in per_class for w in d), dtype=np.int64, count=len(rows)
    )
    flat_dist = np.fromiter(
        (v for d in per_class for v in d.values()), dtype=np.int16, count=len(rows)
    )
    dist[rows, flat_cols] = flat_dist
    wn_arr = np.array(cols, dtype=object)
    for arr in (wn_arr, dist):
        arr.setflags(write=False)
    return ClassAncestry(wnids=wn_arr, distance=dist)
