"""WordNet proposals for the OOV stage: what else could the image show, near the prediction?

For a predicted class the proposals are (Peychev et al. 2023, stage "fine-grained OOV"):

* the predicted synset itself (so CLIP can confirm the prediction),
* its siblings: the other hyponyms of each of its hypernyms,
* the ImageNet classes that share a superclass with it,
* its ancestors strictly below a broad "meta" level (``dog``, ``bird``, ``device`` …, see
  :data:`META_SYNSETS`), at most :data:`MAX_ANCESTOR_STEPS` hypernym steps up.

Per error, proposals that are an ancestor of (or equal to) one of the image's labels are dropped,
since "it is a dog" is no mistake when the label is a husky. The vocabulary lists the 1000 classes
first, so a proposal ``v`` is out of vocabulary exactly when ``v >= 1000``.

The graph comes from :mod:`errata.taxonomy` (``wordnet()``, ``superclasses()``,
``same_superclass()``); tests may pass a small graph with the same methods.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from errata.exceptions import ErrataInputError
from errata.io.files import atomic_path
from errata.resources import N_CLASSES

# Broad levels: an ancestor counts as a proposal only strictly below one of these. Above them a
# word ("animal", "artifact") is too generic to be a fine-grained alternative to the prediction.
META_SYNSETS = {
    "n02084071": "dog",
    "n01503061": "bird",
    "n03183080": "device",
    "n04524313": "vehicle",
    "n00021265": "food",
    "n07555863": "food (solid)",
    "n04341686": "structure",
    "n03051540": "clothing",
    "n03094503": "container",
    "n00004475": "organism",
    "n00015388": "animal",
    "n01861778": "mammal",
    "n02512053": "fish",
    "n01661091": "reptile",
    "n02159955": "insect",
    "n03575240": "instrumentality",
    "n00021939": "artifact",
}
MAX_ANCESTOR_STEPS = (
    3  # hypernym steps up from the prediction; beyond that a word is no longer fine
)

if TYPE_CHECKING:
    from errata.openworld.clip import ClipModel


class Graph(Protocol):
    """The part of :func:`errata.taxonomy.wordnet` the proposals use (by wnid ``n%08d``)."""

    def lemmas(self, wnid: str) -> list[str]: ...
    def hypernyms(self, wnid: str) -> list[str]: ...
    def hyponyms(self, wnid: str) -> list[str]: ...
    def ancestors(self, wnid: str) -> list[str]: ...


@dataclass(frozen=True)
class Proposals:
    """Candidate synsets per predicted class, over one vocabulary.

    Attributes
    ----------
    wnids : ndarray of object, shape (V,)
        The vocabulary; the 1000 ImageNet classes first, in class-index order.
    lemmas : ndarray of object, shape (V,)
        The lemma used in the zero-shot prompt of each synset.
    indptr : ndarray of int64, shape (1001,)
    indices : ndarray of int32, shape (nnz,)
        Proposals of predicted class ``c``: ``indices[indptr[c]:indptr[c + 1]]`` (CSR).
    ancestors : ndarray of bool, shape (1000, V)
        ``ancestors[c, v]``: synset ``v`` is class ``c`` or one of its WordNet ancestors.
    same_superclass : ndarray of bool, shape (1000, 1000)
    superclass_members : ndarray of bool, shape (1000, S)
    superclass_names : ndarray of object, shape (S,)
    n_classes : int
        Number of classes (1000; fewer only in tests with a tiny taxonomy).
    """

    wnids: np.ndarray
    lemmas: np.ndarray
    indptr: np.ndarray
    indices: np.ndarray
    ancestors: np.ndarray
    same_superclass: np.ndarray
    superclass_members: np.ndarray
    superclass_names: np.ndarray
    n_classes: int = N_CLASSES

    def __len__(self) -> int:
        return len(self.wnids)

    @property
    def is_imagenet(self) -> np.ndarray:
        """``(V,)`` bool: the synset is one of the 1000 classes."""
        return np.arange(len(self.wnids)) < self.n_classes

    def of(self, class_index: int) -> list[str]:
        """Proposal wnids for one predicted class (before dropping the label's ancestors)."""
        wnids: list[str] = self.wnids[
            self.indices[self.indptr[class_index] : self.indptr[class_index + 1]]
        ].tolist()
        return wnids

    def prompts(self, template: str) -> list[str]:
        return [template.format(lemma=lem) for lem in self.lemmas]


def _first_lemma(graph: Graph, wnid: str) -> str:
    lem = graph.lemmas(wnid)
    if isinstance(lem, str):
        lem = lem.split(",")
    return str(next(iter(lem))).strip().replace("_", " ")


def _is_meta(graph: Graph, wnid: str) -> bool:
    """A broad level: listed in META_SYNSETS, or broad by size in the taxonomy's own sense."""
    is_broad = getattr(graph, "is_broad", None)
    return wnid in META_SYNSETS or bool(is_broad is not None and is_broad(wnid))


def _below_meta(graph: Graph, wnid: str) -> bool:
    return not _is_meta(graph, wnid) and any(_is_meta(graph, a) for a in graph.ancestors(wnid))


def _candidates(graph: Graph, wnid: str, same: list[str]) -> list[str]:
    out: dict[str, None] = {wnid: None}
    for h in graph.hypernyms(wnid):
        if _is_meta(graph, h):  # siblings under a broad level ("other dogs") are not fine-grained
            continue
        out.update(dict.fromkeys(graph.hyponyms(h)))
    out.update(dict.fromkeys(same))
    frontier, steps = [wnid], 0
    while frontier and steps < MAX_ANCESTOR_STEPS:
        frontier = [h for w in frontier for h in graph.hypernyms(w) if _below_meta(graph, h)]
        out.update(dict.fromkeys(frontier))
        steps += 1
    return list(out)


def build_proposals(
    *,
    graph: Graph | None = None,
    class_wnids: list[str] | None = None,
    same_superclass: np.ndarray | None = None,
    superclass_members: np.ndarray | None = None,
    superclass_names: np.ndarray | None = None,
) -> Proposals:
    """Build the proposals of every class, from :mod:`errata.taxonomy` unless given.

    Cost: one pass over the 1000 classes' WordNet neighbourhoods (well under a second); the
    result depends on no model or label set, so a study builds it once.
    """
    if graph is None or same_superclass is None or superclass_members is None:
        from errata import taxonomy  # built by the taxonomy layer; imported only when needed

        graph = graph if graph is not None else taxonomy.wordnet()
        sc = taxonomy.superclasses()
        same_superclass = (
            same_superclass
            if same_superclass is not None
            else np.asarray(taxonomy.same_superclass(), dtype=bool)
        )
        superclass_members = np.asarray(sc.members, dtype=bool)
        superclass_names = np.asarray(sc.names, dtype=object)
    if class_wnids is None:
        from errata import resources

        class_wnids = list(resources.classes().wnids)
    n_cls = len(class_wnids)
    same_superclass = np.asarray(same_superclass, dtype=bool)
    vocab: dict[str, int] = {w: i for i, w in enumerate(class_wnids)}
    rows: list[list[int]] = []
    for c, w in enumerate(class_wnids):  # once per class, not per image
        same = [class_wnids[j] for j in np.flatnonzero(same_superclass[c])]
        rows.append([vocab.setdefault(v, len(vocab)) for v in _candidates(graph, w, same)])
    wnids = np.array(list(vocab), dtype=object)
    ancestors = np.zeros((n_cls, len(wnids)), dtype=bool)
    for c, w in enumerate(class_wnids):
        hits = [vocab[a] for a in (*graph.ancestors(w), w) if a in vocab]
        ancestors[c, hits] = True
    indptr = np.zeros(n_cls + 1, dtype=np.int64)
    indptr[1:] = np.cumsum([len(r) for r in rows])
    names = (
        superclass_names
        if superclass_names is not None
        else np.array([f"superclass {s}" for s in range(superclass_members.shape[1])], object)
    )
    return Proposals(
        wnids=wnids,
        lemmas=np.array([_first_lemma(graph, w) for w in wnids], object),
        indptr=indptr,
        indices=np.concatenate(rows).astype(np.int32),
        ancestors=ancestors,
        same_superclass=same_superclass,
        superclass_members=np.asarray(superclass_members, dtype=bool),
        superclass_names=np.asarray(names, dtype=object),
        n_classes=n_cls,
    )


def text_embeddings(
    proposals: Proposals,
    clip: ClipModel,
    *,
    cache: str | Path | None = None,
    template: str | None = None,
) -> np.ndarray:
    """``(V, d)`` float32 normalised CLIP text embeddings of every proposal's prompt.

    Computed once per (model, weights, prompt, vocabulary) and cached in ``cache`` (a ``.npz``),
    so that a 1,000-model study encodes every prompt exactly once.
    """
    from errata.openworld.embeddings import PROMPT, encode_texts

    template = template or PROMPT
    key = {
        "model": clip.name,
        "weights": clip.weights,
        "template": template,
        "vocabulary": _vocab_digest(proposals),
    }
    if cache is not None and Path(cache).is_file():
        with np.load(cache, allow_pickle=False) as z:
            if json.loads(str(z["key"])) == key:
                cached: np.ndarray = z["vectors"].astype(np.float32)
                return cached
    vec = encode_texts(proposals.prompts(template), clip)
    if cache is not None:
        with atomic_path(cache) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, vectors=vec, wnids=proposals.wnids.astype(str), key=json.dumps(key))
    return vec


def load_text_embeddings(path: str | Path, proposals: Proposals) -> np.ndarray:
    """Text embeddings from a cache file written by :func:`text_embeddings`, checked against
    ``proposals``' vocabulary."""
    path = Path(path)
    if not path.is_file():
        raise ErrataInputError(f"{path}: no text-embedding cache")
    with np.load(path, allow_pickle=False) as z:
        if z["wnids"].astype(object).tolist() != proposals.wnids.tolist():
            raise ErrataInputError(
                f"{path}: text embeddings are for another proposal vocabulary; recompute them"
            )
        vectors: np.ndarray = z["vectors"].astype(np.float32)
        return vectors


def _vocab_digest(p: Proposals) -> str:
    import hashlib

    h = hashlib.sha256("\n".join(p.wnids.tolist()).encode()).hexdigest()
    return h[:16]
