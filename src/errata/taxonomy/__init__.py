"""Facts — the taxonomy of the 1000 classes: WordNet, superclasses, groups, overlaps,
co-occurrence and mistake severity.

Everything is read from package resources (no NLTK, no WordNet download), computed with numpy
over whole arrays, and cached: the first call pays, later calls are free.

==========================  =======================================================================
:func:`load`                a taxonomy by name as the arrays the error pipeline reads
:func:`wordnet`             WordNet 3.0 noun graph: lemmas, definitions, hypernyms, ancestors, ...
:func:`superclasses`        curated groups of close classes (``superclasses.toml``)
:func:`same_superclass`     ``(1000, 1000)`` bool, two classes share a superclass
:func:`shared_superclass`   index of one shared superclass, vectorised (``-1`` none)
:func:`overlaps`            ``allowed[label, prediction]`` overlapping classes (``overlaps.toml``)
:func:`groups`              WordNet organism/artifact/other and Shankar dogs/other organisms/objects
:func:`cooccurrence_counts` label-pair counts over multi-label sets; :func:`spurious_pairs`
:func:`lca_height`          ``(1000, 1000)`` mistake severity (LCA height, Bertinetto et al. 2020)
:func:`class_index`         resolve an index, WordNet id or name
==========================  =======================================================================
"""

from functools import cache, partial

import numpy as np

from errata.core.checks import choice
from errata.core.evidence import Taxonomy
from errata.taxonomy.classes import class_index
from errata.taxonomy.cooccurrence import (
    SPURIOUS_MIN_COUNT,
    cooccurrence_counts,
    leave_one_out,
    real_cooccurrence,
    real_sets,
    spurious_pairs,
)
from errata.taxonomy.groups import groups
from errata.taxonomy.overlaps import Overlaps, load_overlaps, overlaps
from errata.taxonomy.severity import lca_height
from errata.taxonomy.superclasses import FILES as SUPERCLASS_FILES
from errata.taxonomy.superclasses import (
    Superclasses,
    lemma_members,
    load_superclasses,
    same_superclass,
    shared_superclass,
    superclasses,
)
from errata.taxonomy.wordnet import BROAD, ClassAncestry, WordNetGraph, class_ancestry, wordnet


def _build(name: str) -> Taxonomy:
    from errata import resources

    sc = superclasses(name)
    return Taxonomy(
        name=name,
        class_names=np.asarray(resources.classes().names, dtype=str),
        overlap=np.asarray(overlaps(), dtype=bool),
        superclass_members=np.asarray(sc.members, dtype=bool),
        superclass_names=np.asarray(sc.names, dtype=str),
        lca_height=np.asarray(lca_height(), dtype=np.int16),
        groups={k: np.asarray(v, dtype=str) for k, v in groups().items()},
    )


# name -> builder of the arrays the pipeline reads: errata's own superclasses (the default,
# chosen for agreement with expert reviewers), the published pipeline's, reconstructed, and the
# 10 of "Superclassing ImageNet" (338 classes; the others in none)
TAXONOMIES = {name: partial(_build, name) for name in SUPERCLASS_FILES}
# the package resources the taxonomies are built from (the key of their disk cache)
SOURCES = ("classes.tsv", "wordnet.tsv.gz", *SUPERCLASS_FILES.values(), "overlaps.toml")


def supersub10() -> Superclasses:
    """The 10 superclasses of Wen et al.'s "Superclassing ImageNet" (2022) as errata derives them
    from WordNet (``resources/supersub10.toml`` says how and why; cached).

    Examples
    --------
    >>> sc = supersub10()
    >>> sizes = sc.members.sum(axis=0)
    >>> len(sc), int(sizes[sc.index("dog")]), int(sizes[sc.index("bird")])
    (10, 116, 52)
    """
    return superclasses("supersub10")


@cache
def load(name: str = "errata") -> Taxonomy:
    """The taxonomy called ``name`` (:data:`TAXONOMIES`) as :class:`~errata.core.evidence.Taxonomy`
    arrays, cached.

    Examples
    --------
    >>> t = load()
    >>> t.name, t.superclass_members.shape[0], bool(t.same_superclass[207, 208])
    ('errata', 1000, True)
    """
    return TAXONOMIES[choice(name, TAXONOMIES, keyword="taxonomy")]()


__all__ = [
    "BROAD",
    "SOURCES",
    "TAXONOMIES",
    "Taxonomy",
    "load",
    "SPURIOUS_MIN_COUNT",
    "ClassAncestry",
    "Overlaps",
    "Superclasses",
    "WordNetGraph",
    "class_ancestry",
    "class_index",
    "cooccurrence_counts",
    "groups",
    "lca_height",
    "leave_one_out",
    "load_overlaps",
    "load_superclasses",
    "lemma_members",
    "SUPERCLASS_FILES",
    "overlaps",
    "real_cooccurrence",
    "real_sets",
    "same_superclass",
    "shared_superclass",
    "spurious_pairs",
    "superclasses",
    "supersub10",
    "wordnet",
]
