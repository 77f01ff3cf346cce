"""Resolving a user's class query (index, WordNet id or name) to a class index."""

from __future__ import annotations

from functools import cache

from errata import resources
from errata.exceptions import ErrataInputError
from errata.resources import N_CLASSES


@cache
def _by_name() -> dict[str, tuple[int, ...]]:
    """Lower-cased first name -> classes, then any lemma -> classes for names not taken."""
    cls = resources.classes()
    names: dict[str, list[int]] = {}
    for i, n in enumerate(cls.names):
        names.setdefault(n.lower(), []).append(i)
    lemmas: dict[str, list[int]] = {}
    for i, lem in enumerate(cls.lemmas):
        for x in lem.split(", "):
            lemmas.setdefault(x.lower(), []).append(i)
    out = {k: tuple(v) for k, v in lemmas.items()}
    out.update({k: tuple(v) for k, v in names.items()})  # a first name beats other lemmas
    return out


def class_index(query: int | str) -> int:
    """Class index of ``query``: an index (``207``), a WordNet id (``n02099601``) or a name.

    Names match a class's first name or any of its lemmas, case-insensitively; an ambiguous
    name (``crane`` the bird and the machine) raises :class:`ErrataInputError` listing the
    candidates with their WordNet ids.

    Examples
    --------
    >>> class_index("golden retriever"), class_index("n02099601"), class_index("207")
    (207, 207, 207)
    """
    cls = resources.classes()
    text = str(query).strip()
    if text.lstrip("-").isdigit():
        index = int(text)
        if not 0 <= index < N_CLASSES:
            raise ErrataInputError(f"class {text}: index out of range 0..{N_CLASSES - 1}")
        return index
    if len(text) == 9 and text[0] == "n" and text[1:].isdigit():
        try:
            return cls.index_of(text)
        except KeyError:
            raise ErrataInputError(
                f"class {text}: not one of the 1000 ImageNet WordNet ids"
            ) from None
    hits = _by_name().get(text.lower(), ())
    if len(hits) == 1:
        return hits[0]
    if not hits:
        raise ErrataInputError(
            f"class {text!r}: no class has this name, index or WordNet id "
            "(try `errata taxonomy superclasses` to browse)"
        )
    listed = ", ".join(
        f"{i} {cls.names[i]} ({cls.wnids[i]}: {cls.definitions[i][:40]})" for i in hits
    )
    raise ErrataInputError(
        f"class {text!r} is ambiguous: {listed}; give the index or the WordNet id"
    )
