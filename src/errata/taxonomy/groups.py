"""Coarse groups of the 1000 classes, for per-group figures.

- ``"wordnet"``: ``organism`` (descendants of ``organism.n.01``), ``artifact`` (descendants of
  ``artifact.n.01``), ``other`` (the rest: food, geological formations, fruit, ...).
- ``"shankar"``: Shankar et al. (2020)'s split: ``dogs`` (descendants of ``dog.n.01``),
  ``other organisms`` (the other organisms), ``objects`` (everything else).
"""

from __future__ import annotations

from functools import cache

import numpy as np

from errata.taxonomy.wordnet import class_ancestry

ORGANISM = "n00004475"  # organism.n.01
ARTIFACT = "n00021939"  # artifact.n.01
DOG = "n02084071"  # dog.n.01


@cache
def groups() -> dict[str, np.ndarray]:
    """Group of each class under each split: ``{"wordnet": (1000,), "shankar": (1000,)}``.

    No class descends from both ``organism`` and ``artifact``, so the WordNet groups partition
    the classes; organism is tested first all the same.

    Examples
    --------
    >>> g = groups()
    >>> g["wordnet"][207], g["shankar"][207], g["shankar"][281]
    ('organism', 'dogs', 'other organisms')
    """
    anc = class_ancestry()
    organism, artifact, dog = anc.below(ORGANISM), anc.below(ARTIFACT), anc.below(DOG)
    wordnet = np.select([organism, artifact], ["organism", "artifact"], "other").astype(object)
    shankar = np.select([dog, organism], ["dogs", "other organisms"], "objects").astype(object)
    for arr in (wordnet, shankar):
        arr.setflags(write=False)
    return {"wordnet": wordnet, "shankar": shankar}
