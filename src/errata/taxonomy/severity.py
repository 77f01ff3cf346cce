"""Mistake severity: the height of the lowest common ancestor of two classes in WordNet.

Bertinetto et al., "Making Better Mistakes" (CVPR 2020), measure how bad a mistake is by the
height of the lowest common ancestor (LCA) of the true and the predicted class in the class
hierarchy: confusing two terriers (LCA ``terrier``) is milder than a terrier for a teapot (LCA
``whole``). Their hierarchies are trees with all leaves at one depth, where the height of a node is
its distance to the leaves. WordNet is a DAG with leaves at different depths, so errata uses the
definition that coincides with theirs on such trees and is well defined on a DAG:

    severity(a, b) = min over common ancestors c of max(d(a, c), d(b, c))

where ``d(x, c)`` is the *shortest* number of hypernym steps from ``x`` up to ``c`` over *all*
hypernym paths (a class is its own ancestor at distance 0). It is 0 on the diagonal, 1 for two
classes with the same parent, and symmetric. The common ancestor that attains it is the LCA.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from errata.taxonomy.wordnet import class_ancestry


@cache
def lca_height() -> np.ndarray:
    """``(1000, 1000)`` int16 mistake severity (LCA height, see the module docstring), cached.

    Computed level by level: the pairs first joined at height ``h`` are those with a common
    column in the ``(1000, A)`` "ancestor within ``h`` steps" matrix, found with one matrix
    product per level (about 20 levels).

    Examples
    --------
    >>> h = lca_height()
    >>> int(h[207, 207]), int(h[207, 208]), int(h[207, 849]) > int(h[207, 208])
    (0, 1, True)
    """
    dist = class_ancestry().distance
    shared = (dist >= 0).sum(axis=0) >= 2  # a column reached by one class joins no pair
    d = dist[:, shared]
    n = len(dist)
    out = np.full((n, n), -1, dtype=np.int16)
    np.fill_diagonal(out, 0)
    for h in range(1, int(dist.max()) + 1):
        within = ((d >= 0) & (d <= h)).astype(np.float32)
        joined = (within @ within.T) > 0
        out[joined & (out < 0)] = h
        if (out >= 0).all():
            break
    out.setflags(write=False)
    return out
