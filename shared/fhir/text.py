"""How text is folded for string search: the one definition both indexing and searching use."""

from __future__ import annotations

import unicodedata

MAX_INDEXED_LENGTH = 200


def fold(text: str) -> str:
    """Case, accents and runs of whitespace folded away: "  Ŝmith-Jones " -> "smith-jones"."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.casefold().split())[:MAX_INDEXED_LENGTH]
