"""What one write changed in a resource, path by path, and putting it back later.

An un-merge compares the version before the merge with the version the merge wrote: the
differences are what the merge did. It then puts back each difference only where the current
version still holds what the merge wrote there, so whatever anyone changed since is kept.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

Path = tuple[str | int, ...]


class _Missing:
    """An element that is not there (not the same as JSON null)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()


@dataclass(frozen=True, slots=True)
class Change:
    """At ``path``, ``before`` became ``after`` (either may be ``MISSING``)."""

    path: Path
    before: Any
    after: Any


def changes(
    before: dict[str, Any], after: dict[str, Any], *, ignoring: frozenset[str] = frozenset()
) -> list[Change]:
    """The smallest differing elements from ``before`` to ``after``, leaving out the top-level
    elements named in ``ignoring`` (``meta``). Arrays of different lengths differ whole."""
    found: list[Change] = []
    for key in _keys(before, after):
        if key not in ignoring:
            _diff(before.get(key, MISSING), after.get(key, MISSING), (key,), found)
    return found


def _diff(before: Any, after: Any, path: Path, found: list[Change]) -> None:
    if same(before, after):
        return
    if isinstance(before, dict) and isinstance(after, dict):
        for key in _keys(before, after):
            _diff(before.get(key, MISSING), after.get(key, MISSING), (*path, key), found)
    elif isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        for index, (old, new) in enumerate(zip(before, after, strict=True)):
            _diff(old, new, (*path, index), found)
    else:
        found.append(Change(path, before, after))


def _keys(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    return [*before, *(key for key in after if key not in before)]


def same(left: Any, right: Any) -> bool:
    """JSON equality: ``true`` is not ``1``, and ``1`` is not ``1.0``."""
    if type(left) is not type(right):
        return False
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(same(left[k], right[k]) for k in left)
    if isinstance(left, list):
        return len(left) == len(right) and all(map(same, left, right))
    return bool(left == right)


def value_at(document: Any, path: Path) -> Any:
    """The element at ``path``, or ``MISSING``."""
    for step in path:
        if not _holds(document, step):
            return MISSING
        document = document[step]
    return document


def _holds(parent: Any, step: str | int) -> bool:
    if isinstance(step, str):
        return isinstance(parent, dict) and step in parent
    return isinstance(parent, list) and 0 <= step < len(parent)


def revert(current: dict[str, Any], done: Iterable[Change]) -> tuple[dict[str, Any], list[Path]]:
    """``current`` with each change undone where it still holds the change's ``after``; and
    the paths put back. ``current`` itself is not modified."""
    restored = copy.deepcopy(current)
    put_back: list[Path] = []
    for change in done:
        if same(value_at(restored, change.path), change.after) and _put(
            restored, change.path, change.before
        ):
            put_back.append(change.path)
    return restored, put_back


def _put(document: dict[str, Any], path: Path, value: Any) -> bool:
    """Set (or, for ``MISSING``, remove) the element at ``path``; False when its parent is
    gone."""
    if not path:
        return False
    parent = value_at(document, path[:-1])
    step = path[-1]
    if isinstance(parent, dict) and isinstance(step, str):
        if value is MISSING:
            parent.pop(step, None)
        else:
            parent[step] = copy.deepcopy(value)
        return True
    if isinstance(parent, list) and isinstance(step, int) and step < len(parent):
        if value is MISSING:
            return False  # array lengths are compared whole, so this is never asked
        parent[step] = copy.deepcopy(value)
        return True
    return False
