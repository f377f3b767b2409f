"""References to one Patient made references to another, anywhere in a resource.

Every ``Reference.reference`` is looked at, in extensions, backbone elements and contained
resources too: relative (``Patient/a``), absolute under this server's base
(``https://.../fhir/Patient/a``) and versioned (``Patient/a/_history/3``). References to
other servers, and logical references by identifier, are left as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

_HISTORY = "/_history/"


@dataclass(frozen=True, slots=True)
class Redirect:
    """Which patient's references become which, as seen from one FHIR base."""

    source_id: str
    target_id: str
    base_url: str = ""  # absolute references under this base name this server's resources
    # The target's version a versioned reference to the source names; None: no version.
    target_version: int | None = None

    def apply(self, reference: str) -> str | None:
        """``reference`` pointed at the target, in the same form (relative, absolute,
        versioned); None when it does not name the source."""
        prefix = self._prefix(reference)
        local, history, version = reference[len(prefix) :].partition(_HISTORY)
        if local != f"Patient/{self.source_id}" or (history and not version):
            return None
        pointed = f"{prefix}Patient/{self.target_id}"
        if history and self.target_version is not None:
            pointed += f"{_HISTORY}{self.target_version}"
        return pointed

    def _prefix(self, reference: str) -> str:
        base = self.base_url.rstrip("/") + "/" if self.base_url else ""
        return base if base and reference.startswith(base) else ""


def redirect(value: Any, to: Redirect) -> tuple[Any, int]:
    """A copy of ``value`` (a resource or any part of one) with every reference to the
    source pointed at the target, and how many references that changed."""
    if isinstance(value, dict):
        changed = 0
        copy: dict[str, Any] = {}
        for key, child in value.items():
            if key == "reference" and isinstance(child, str):
                pointed = to.apply(child)
                copy[key] = child if pointed is None else pointed
                changed += pointed is not None
            else:
                copy[key], count = redirect(child, to)
                changed += count
        return copy, changed
    if isinstance(value, list):
        items = [redirect(child, to) for child in value]
        return [item for item, _ in items], sum(count for _, count in items)
    return value, 0
