"""Who may be on the dynamic support register, and how a rating changes (pure).

A person is added with their consent (an active Consent) or a recorded best-interests decision
(who decided, when and why); without either the entry is refused, saying what is missing, and
a keyworker is needed. Withdrawn consent takes them off the active register. Every change of
rating is kept with who, when and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.dsr.reviews import ReviewRefused, known_rating


class EntryRefused(ValueError):
    """An entry the register cannot take; ``missing`` names what it needs."""

    def __init__(self, message: str, missing: tuple[str, ...]) -> None:
        super().__init__(message)
        self.missing = missing


@dataclass(frozen=True, slots=True)
class BestInterests:
    decided_by: str  # "Practitioner/..."
    decided_at: datetime
    why: str


@dataclass(frozen=True, slots=True)
class RatingChange:
    rating: str
    at: datetime
    by: str
    why: str


def check_entry(
    *,
    consent_active: bool,
    best_interests: BestInterests | None,
    keyworker: str | None,
    now: datetime,
) -> str:
    """The basis of the entry ("consent" or "best-interests"); EntryRefused otherwise."""
    missing = []
    if not consent_active and best_interests is None:
        missing.append("consent or a best-interests decision")
    if best_interests is not None and not consent_active:
        if not best_interests.decided_by or not best_interests.why.strip():
            missing.append("who made the best-interests decision, and why")
        if best_interests.decided_at > now:
            raise EntryRefused("A best-interests decision cannot be in the future", ("date",))
    if not keyworker:
        missing.append("a keyworker")
    if missing:
        raise EntryRefused("The register needs " + " and ".join(missing), tuple(missing))
    return "consent" if consent_active else "best-interests"


def rated(
    history: list[RatingChange], change: RatingChange, *, registered: datetime
) -> list[RatingChange]:
    """The rating history with ``change`` added: a known rating, a reason, not before the
    registration nor before the last change."""
    try:
        known_rating(change.rating)
    except ReviewRefused as unknown:
        raise EntryRefused(str(unknown), ("rating",)) from unknown
    if not change.why.strip():
        raise EntryRefused("A change of rating needs its reason", ("reason",))
    if change.at < registered:
        raise EntryRefused("A rating cannot be before the registration", ("date",))
    if history and change.at < history[-1].at:
        raise EntryRefused("A rating cannot be before the last one", ("date",))
    return [*history, change]


def on_active_register(*, consent_active: bool, consent_withdrawn: bool, basis: str) -> bool:
    """Withdrawn consent takes a person off the active register (a best-interests entry stays
    until it is reviewed)."""
    if basis == "consent":
        return consent_active and not consent_withdrawn
    return True
