"""The class-hierarchy browser of the classify queue: the 1000 classes as a tree of their WordNet
hypernyms (each class under its longest hypernym path, the taxonomic one for animals), with
chains of single-child nodes folded into one ("living thing › organism") so that every level is
a real choice."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache


@dataclass
class Node:
    """One node of the browser: a WordNet synset, an ImageNet class when ``index`` is set."""

    names: list[str]  # the folded chain, broadest first
    wnid: str
    index: int | None = None
    children: list[Node] = field(default_factory=list)
    n_classes: int = 0


@cache
def class_tree() -> tuple[Node, ...]:
    """The top-level nodes of the browser (built once; about 1,500 nodes)."""
    from errata import resources, taxonomy

    table = resources.classes()
    g = taxonomy.wordnet()
    root = Node(names=[], wnid="")
    by_path: dict[tuple[str, ...], Node] = {}
    for i, wnid in enumerate(table.wnids):
        path = max(g.paths(wnid), key=len)  # the longest: the taxonomic one, for animals
        parent = root
        for depth in range(len(path)):
            key = tuple(path[: depth + 1])
            node = by_path.get(key)
            if node is None:
                node = by_path[key] = Node(names=[g.name(path[depth])], wnid=path[depth])
                parent.children.append(node)
            parent = node
        parent.index = i
        parent.names = [table.names[i]]
    _fold(root)
    top = root.children
    while len(top) == 1 and top[0].index is None:  # "entity" alone: start below it
        top = top[0].children
    return tuple(top)


def _fold(node: Node) -> int:
    """Fold single-child chains, sort children by name, count the classes under each node."""
    for k, child in enumerate(node.children):
        while child.index is None and len(child.children) == 1:
            only = child.children[0]
            only.names = child.names + only.names
            child = node.children[k] = only
        _fold(child)
    node.children.sort(key=lambda c: c.names[-1].casefold())
    node.n_classes = (node.index is not None) + sum(c.n_classes for c in node.children)
    return node.n_classes


def matching(query: str) -> set[int]:
    """Classes whose name, synonyms, WordNet id or definition contain ``query`` (case-folded)."""
    from errata import resources

    q = " ".join(query.casefold().split())
    if not q:
        return set()
    t = resources.classes()
    return {
        i
        for i in range(len(t.wnids))
        if q in t.lemmas[i].casefold() or q == t.wnids[i] or q in t.definitions[i].casefold()
    }


def subtree_has(node: Node, wanted: set[int]) -> bool:
    return (node.index in wanted) or any(subtree_has(c, wanted) for c in node.children)


__all__ = ["Node", "class_tree", "matching", "subtree_has"]
