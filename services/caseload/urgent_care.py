"""The use of urgent care, case finding's second signal: emergency admissions and emergency
department attendances in the last 12 months, from a person's Encounters (pure).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from shared.fhir.terms import ACT_CODE, ACT_PRIORITY, ADMIT_SOURCE, has_coding

_INPATIENT = frozenset({"IMP", "ACUTE", "NONAC"})  # v3 ActCode: inpatient encounter and kinds
_NOT_HAPPENED = frozenset({"planned", "cancelled", "entered-in-error"})
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass(frozen=True, slots=True)
class HighUse:
    """What counts as high use of urgent care in a window of whole calendar months."""

    emergency_admissions: int = 2
    ed_attendances: int = 3
    months: int = 12


@dataclass(frozen=True, slots=True)
class UrgentCareUse:
    since: date  # the window, both days counted
    until: date
    emergency_admissions: tuple[str, ...]  # Encounter references, earliest first
    ed_attendances: tuple[str, ...]
    high_use: bool

    @property
    def evidence(self) -> tuple[str, ...]:
        return self.emergency_admissions + self.ed_attendances


def urgent_care_use(
    encounters: Iterable[Mapping[str, Any]], *, today: date, high_use: HighUse | None = None
) -> UrgentCareUse:
    """Emergency admissions and emergency department attendances (FHIR R4 Encounters) that
    started in the last ``months`` calendar months: from the same day that many months ago
    to today, both counted. An ED attendance is class EMER; an emergency admission is an
    inpatient class (IMP, ACUTE, NONAC) with priority EM (v3 ActPriority) or admitted from
    the emergency department (admitSource emd). Planned, cancelled and entered-in-error
    Encounters, and those without a start day, are not counted."""
    limits = high_use or HighUse()
    since = months_before(today, limits.months)
    counted: dict[str, list[tuple[date, str]]] = {"admission": [], "attendance": []}
    for encounter in encounters:
        started, kind = _started(encounter), _urgent_kind(encounter)
        if kind and started and since <= started <= today:
            counted[kind].append((started, f"Encounter/{encounter.get('id', '')}"))
    admissions = tuple(ref for _, ref in sorted(counted["admission"]))
    attendances = tuple(ref for _, ref in sorted(counted["attendance"]))
    high = (
        len(admissions) >= limits.emergency_admissions or len(attendances) >= limits.ed_attendances
    )
    return UrgentCareUse(since, today, admissions, attendances, high)


def months_before(day: date, months: int) -> date:
    """The same day ``months`` calendar months earlier, or that month's last day if shorter."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _started(encounter: Mapping[str, Any]) -> date | None:
    start = (encounter.get("period") or {}).get("start")
    if not isinstance(start, str) or not _DAY.match(start):
        return None  # no start, or only a year or month: it cannot be placed in the window
    return date.fromisoformat(start[:10])


def _urgent_kind(encounter: Mapping[str, Any]) -> str | None:
    if encounter.get("status") in _NOT_HAPPENED:
        return None
    kind = encounter.get("class") or {}
    if not isinstance(kind, dict) or kind.get("system") != ACT_CODE:
        return None
    if kind.get("code") == "EMER":
        return "attendance"
    if kind.get("code") in _INPATIENT and _is_emergency(encounter):
        return "admission"
    return None


def _is_emergency(encounter: Mapping[str, Any]) -> bool:
    stay = encounter.get("hospitalization") or {}
    from_ed = isinstance(stay, dict) and has_coding(stay.get("admitSource"), ADMIT_SOURCE, "emd")
    return from_ed or has_coding(encounter.get("priority"), ACT_PRIORITY, "EM")


def use_text(use: UrgentCareUse) -> str:
    """The use of urgent care in words, for notes and reasons."""
    admissions, attendances = len(use.emergency_admissions), len(use.ed_attendances)
    text = (
        f"{admissions} emergency admission{'s' * (admissions != 1)} and {attendances} "
        f"emergency department attendance{'s' * (attendances != 1)} "
        f"from {use.since.isoformat()} to {use.until.isoformat()}"
    )
    return text + (": high use" if use.high_use else "")
