"""Reading errata's curated TOML data files with one-line errors naming the entry."""

from __future__ import annotations

import sys

from errata import resources
from errata.exceptions import ErrataInputError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib


def load_toml(name: str, text: str | None = None) -> dict[str, object]:
    """Parse a TOML resource (or ``text`` given in its place, for tests and user files)."""
    raw = resources.read_bytes(name).decode("utf-8") if text is None else text
    try:
        return tomllib.loads(raw)
    except tomllib.TOMLDecodeError as exc:
        raise ErrataInputError(f"{name}: not valid TOML ({exc})") from None


def class_ref(source: str, where: str, ref: object) -> int:
    """Class index of a ``"wnid name"`` reference; the name must match the class list."""
    cls = resources.classes()
    if not isinstance(ref, str) or not ref.strip():
        raise ErrataInputError(f"{source}: {where}: expected a string 'wnid name', got {ref!r}")
    wnid, _, name = ref.strip().partition(" ")
    try:
        index = cls.index_of(wnid)
    except KeyError:
        raise ErrataInputError(
            f"{source}: {where}: unknown class WordNet id {wnid!r} "
            "(not one of the 1000 ImageNet classes)"
        ) from None
    if name and name != cls.names[index]:
        raise ErrataInputError(f"{source}: {where}: {wnid} is {cls.names[index]!r}, not {name!r}")
    return index
