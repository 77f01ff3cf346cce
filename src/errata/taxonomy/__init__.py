"""Layer 4 — the taxonomy of the 1000 classes: WordNet, superclasses, groups, overlaps,
co-occurrence and mistake severity.

Everything is read from package resources (no NLTK, no WordNet download), computed with numpy
over whole arrays, and cached: the first call pays, later calls are free.

==========================  =======================================================================
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
from errata.taxonomy.superclasses import (
    Superclasses,
    load_superclasses,
    same_superclass,
    shared_superclass,
    superclasses,
)
from errata.taxonomy.wordnet import BROAD, ClassAncestry, WordNetGraph, class_ancestry, wordnet

__all__ = [
    "BROAD",
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
    "overlaps",
    "real_cooccurrence",
    "real_sets",
    "same_superclass",
    "shared_superclass",
    "spurious_pairs",
    "superclasses",
    "wordnet",
]
