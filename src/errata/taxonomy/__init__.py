"""Layer 4 — taxonomy (work in progress)."""
from errata.taxonomy.wordnet import WordNetGraph, class_ancestry, wordnet  # noqa: F401
