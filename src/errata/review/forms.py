"""Reading the item form: the class an annotator types in the classify queue (an index, a name,
a synonym or a WordNet id) and the answers to the candidate labels, with errors an annotator can
act on. Pure functions over the class table; the app keeps what was typed when one is raised."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache

from errata.exceptions import ErrataInputError
from errata.review.models import ANSWER_CODES

_OPTION = re.compile(r"^\s*(\d{1,3})\s*:")  # "281: tabby (n02123045)", as the list offers it
_WNID = re.compile(r"\((n\d{8})\)\s*$")


def _key(text: str) -> str:
    return " ".join(text.replace("_", " ").casefold().split())


@cache
def _index() -> dict[str, tuple[int, ...]]:
    """Every way of naming a class (index, WordNet id, name, each synonym; case-folded) → the
    classes it names (a few synonyms name two classes, as 'crane' the bird and the machine)."""
    from errata import resources

    table = resources.classes()
    out: dict[str, set[int]] = {}
    for i, (wnid, name, lemmas) in enumerate(zip(table.wnids, table.names, table.lemmas)):
        for k in {str(i), wnid, name, *lemmas.split(",")}:
            if _key(k):
                out.setdefault(_key(k), set()).add(i)
    return {k: tuple(sorted(v)) for k, v in out.items()}


def class_option(index: int) -> str:
    """How the class list shows a class: ``"281: tabby (n02123045)"``."""
    from errata import resources

    table = resources.classes()
    return f"{index}: {table.names[index]} ({table.wnids[index]})"


def class_options() -> list[tuple[str, str]]:
    """(value, synonyms) of the 1000 classes, for the autocompletion list."""
    from errata import resources

    table = resources.classes()
    return [(class_option(i), table.lemmas[i]) for i in range(len(table.wnids))]


def parse_class(text: str) -> int:
    """The class an annotator typed: an entry of the list (``281: tabby (n02123045)``), an index
    (``281``), a WordNet id (``n02123045``), the name or any synonym (``tabby``, ``Tabby Cat``).

    Raises
    ------
    ErrataInputError
        Nothing typed, no such class, or a synonym of more than one class (naming them).
    """
    text = (text or "").strip()
    if not text:
        raise ErrataInputError("class: nothing typed; type a class name, synonym or WordNet id")
    m = _OPTION.match(text)
    if m and int(m.group(1)) < 1000:
        return int(m.group(1))
    m = _WNID.search(text)
    found = _index().get(_key(m.group(1) if m else text), ())
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        names = "; ".join(class_option(i) for i in found)
        raise ErrataInputError(
            f"class: '{text}' names {len(found)} classes ({names}); pick one from the list"
        )
    raise ErrataInputError(
        f"class: '{text}' is not one of the 1000 classes (type a name, a synonym or a WordNet "
        "id and pick from the list)"
    )


def parse_answers(form: Mapping[str, str], candidates: list[int]) -> dict[int, int]:
    """Answer codes per candidate class from the form's ``a_<class>`` fields (unanswered ones
    are left out)."""
    answers: dict[int, int] = {}
    for c in candidates:
        value = form.get(f"a_{c}")
        if value:
            if value not in ANSWER_CODES:
                raise ErrataInputError(
                    f"field a_{c}: '{value}' is not one of {', '.join(ANSWER_CODES)}"
                )
            answers[c] = ANSWER_CODES[value]
    return answers


__all__ = ["class_option", "class_options", "parse_answers", "parse_class"]
