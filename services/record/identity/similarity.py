"""How alike two names, birth dates, postcodes and phone numbers are, allowing for the ways
people mistype them. Pure functions on strings; the caller has folded names already.
"""

from __future__ import annotations

import re
from functools import lru_cache

_WINKLER_PREFIX = 4
_WINKLER_SCALE = 0.1
_TOKEN_PENALTY = 0.95  # a name that only shares one part ("Smith" vs "Smith-Jones")
# One keystroke wrong (a letter changed, added, dropped or two swapped) is the commonest typo;
# Jaro-Winkler undervalues it in short names ("Wei" / "Wie": 0.60), so it counts at least this.
_ONE_EDIT = 0.9
_NOT_NAME = re.compile(r"[^a-z ]")


def jaro(a: str, b: str) -> float:
    """Jaro similarity in 0..1: shared characters near each other, fewer transpositions."""
    if a == b:
        return 1.0
    if not a or not b:
        return 0.0
    window = max(0, max(len(a), len(b)) // 2 - 1)
    used = [False] * len(b)
    matched_a: list[str] = []
    for i, char in enumerate(a):
        for j in range(max(0, i - window), min(len(b), i + window + 1)):
            if not used[j] and b[j] == char:
                used[j] = True
                matched_a.append(char)
                break
    if not matched_a:
        return 0.0
    matched_b = [b[j] for j in range(len(b)) if used[j]]
    transpositions = sum(x != y for x, y in zip(matched_a, matched_b, strict=True)) / 2
    m = len(matched_a)
    return (m / len(a) + m / len(b) + (m - transpositions) / m) / 3


def jaro_winkler(a: str, b: str) -> float:
    """Jaro-Winkler similarity in 0..1: Jaro, boosted for a shared prefix of up to 4."""
    similarity = jaro(a, b)
    prefix = 0
    for x, y in zip(a[:_WINKLER_PREFIX], b[:_WINKLER_PREFIX], strict=False):
        if x != y:
            break
        prefix += 1
    return similarity + prefix * _WINKLER_SCALE * (1 - similarity)


def edit_distance(a: str, b: str) -> int:
    """Damerau-Levenshtein distance (optimal string alignment): insertions, deletions,
    substitutions and swaps of two adjacent letters, each costing one."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[len(b)]


def name_key(folded: str) -> str:
    """A folded name reduced to letters and single spaces: "o'brien-smith" -> "obrien smith"."""
    spaced = folded.replace("-", " ")
    return " ".join(_NOT_NAME.sub("", spaced).split())


@lru_cache(maxsize=8192)
def name_similarity(a: str, b: str) -> float:
    """1.0 only for the same name; otherwise the Jaro-Winkler similarity of the whole names
    (spaces and hyphens ignored, at least 0.9 for a single typo) or, a little lower, the best
    of their parts. Never more than 0.99 for names that differ."""
    if not a or not b:
        return 0.0
    whole_a, whole_b = a.replace(" ", ""), b.replace(" ", "")
    if whole_a == whole_b:
        return 1.0
    best = jaro_winkler(whole_a, whole_b)
    if best < _ONE_EDIT and _one_edit_apart(whole_a, whole_b):
        best = _ONE_EDIT
    parts_a, parts_b = a.split(), b.split()
    if len(parts_a) > 1 or len(parts_b) > 1:
        parts = max(jaro_winkler(x, y) for x in parts_a for y in parts_b)
        best = max(best, parts * _TOKEN_PENALTY)
    return min(best, 0.99)


def _one_edit_apart(a: str, b: str) -> bool:
    if max(len(a), len(b)) < 3 or abs(len(a) - len(b)) > 1:
        return False
    return edit_distance(a, b) == 1


def initial_matches(a: str, b: str) -> bool:
    """One name is a bare initial of the other: "m" and "margaret"."""
    short, long = sorted((a, b), key=len)
    return len(short) == 1 and len(long) > 1 and long[0] == short


def compare_dates(a: str, b: str) -> str:
    """How two FHIR dates (YYYY, YYYY-MM or YYYY-MM-DD) compare: "exact", "transposed"
    (day and month swapped), "one-digit" (one digit of YYYYMMDD differs), "partial" (the
    less precise one agrees with the other as far as it goes) or "different"."""
    if a == b:
        return "exact"
    digits_a, digits_b = a.replace("-", ""), b.replace("-", "")
    if len(digits_a) != len(digits_b):
        shorter = min(digits_a, digits_b, key=len)
        longer = max(digits_a, digits_b, key=len)
        return "partial" if longer.startswith(shorter) else "different"
    if len(digits_a) == 8 and _transposed(digits_a, digits_b):
        return "transposed"
    if sum(x != y for x, y in zip(digits_a, digits_b, strict=True)) == 1:
        return "one-digit"
    return "different"


def _transposed(a: str, b: str) -> bool:
    year_a, month_a, day_a = a[:4], a[4:6], a[6:]
    year_b, month_b, day_b = b[:4], b[4:6], b[6:]
    return year_a == year_b and month_a == day_b and day_a == month_b and month_a != day_a


def postcode_key(text: str) -> str:
    """A UK postcode as letters and digits only, upper case: "po4 0le" -> "PO40LE"."""
    return "".join(char for char in text.upper() if char.isascii() and char.isalnum())


def outward_code(key: str) -> str:
    """The outward code of a postcode key ("PO40LE" -> "PO4"); the inward code is always
    three characters. Empty when the key is too short to be a full postcode."""
    return key[:-3] if len(key) >= 5 else ""


def phone_key(text: str) -> str:
    """The last ten digits of a phone number: "+44 7700 900123" and "07700 900123" agree."""
    digits = "".join(char for char in text if "0" <= char <= "9")
    return digits[-10:] if len(digits) >= 10 else ""
