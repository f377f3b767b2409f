"""Case finding for proactive case management: the electronic Frailty Index (eFI) of a person,
the RiskAssessment that records it with the use of urgent care, and the candidates for a
caseload ordered by risk.

Pure and deterministic: gathering a person's active Conditions, current medicines and
Encounters, storing the RiskAssessment and building the Group of candidates belong to the
service (``services.caseload.casefinding``). Enrolment is not here either: it needs a
clinician's confirmation, because the eFI only flags people for it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from fractions import Fraction
from typing import Any

from services.caseload.deficits import EFI_DEFICIT_TABLE, Deficit, DeficitTable
from services.caseload.urgent_care import UrgentCareUse, use_text
from shared.fhir.terms import (
    EFI_SCORE,
    FRAILTY_BAND,
    FRAILTY_BANDS,
    SNOMED,
    code_system,
    coding,
    has_coding,
)

RISK_PROBABILITY = "http://terminology.hl7.org/CodeSystem/risk-probability"
URGENT_CARE_USE = code_system("case-finding")

# --- The electronic Frailty Index -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CodedEntry:
    """An entry of a person's record that may evidence a deficit (an active Condition)."""

    reference: str  # "Condition/123": the RiskAssessment's basis
    codes: frozenset[str]  # its SNOMED CT codes


@dataclass(frozen=True, slots=True)
class DeficitFound:
    id: str
    display: str
    codes: tuple[str, ...] = ()  # the SNOMED CT codes that evidenced it, sorted
    evidence: tuple[str, ...] = ()  # the references of the entries that carried them, sorted
    detail: str | None = None  # polypharmacy: how many medicines


@dataclass(frozen=True, slots=True)
class FrailtyIndex:
    fraction: Fraction  # deficits present / deficits in the table, exact: decides the band
    band: str
    deficits: tuple[DeficitFound, ...]  # in table order
    of: int  # the number of deficits in the table (36)
    table_version: str
    medication_count: int

    @property
    def score(self) -> float:
        """The score to 3 decimals, as people read it: 13/36 is 0.361, visibly above 0.36."""
        return round(float(self.fraction), 3)

    @property
    def evidence(self) -> tuple[str, ...]:
        """Every entry that evidenced a deficit, once each, in deficit order."""
        return tuple(dict.fromkeys(ref for found in self.deficits for ref in found.evidence))


@dataclass(frozen=True, slots=True)
class NotEligible:
    reason: str  # for a person to read


def coded_entry(condition: Mapping[str, Any]) -> CodedEntry:
    """A Condition resource as the eFI reads it: its reference and SNOMED CT codes."""
    codings = (condition.get("code") or {}).get("coding") or []
    codes = frozenset(
        str(c["code"]) for c in codings if isinstance(c, dict) and c.get("system") == SNOMED
    )
    kind = condition.get("resourceType") or "Condition"
    return CodedEntry(f"{kind}/{condition.get('id', '')}", codes)


def age_on(birth_date: date, day: date) -> int:
    """Age in whole years on a day (a 29 February birthday comes on 1 March in other years)."""
    had_birthday = (day.month, day.day) >= (birth_date.month, birth_date.day)
    return day.year - birth_date.year - (0 if had_birthday else 1)


def electronic_frailty_index(
    table: DeficitTable,
    *,
    conditions: Iterable[CodedEntry],
    medication_count: int,
    age: int,
) -> FrailtyIndex | NotEligible:
    """The eFI of a person from their active Conditions and the number of distinct current
    medicines (counting them is the caller's: what makes two entries one medicine is a fact of
    the record). Score = deficits present / deficits in the table; the band is decided on the
    exact fraction. People under the table's minimum age get NotEligible, never a score."""
    if age < 0 or medication_count < 0:
        raise ValueError("age and medication_count cannot be negative")
    if age < table.minimum_age:
        return NotEligible(f"Aged {age}: the eFI is for people aged {table.minimum_age} and over.")
    codes = _codes_by_deficit(table, conditions)
    found = [_found(d, codes.get(d.id, {}), medication_count) for d in table.deficits]
    present = tuple(f for f in found if f is not None)
    fraction = Fraction(len(present), len(table.deficits))
    return FrailtyIndex(
        fraction=fraction,
        band=table.band(fraction),
        deficits=present,
        of=len(table.deficits),
        table_version=table.version,
        medication_count=medication_count,
    )


def _codes_by_deficit(
    table: DeficitTable, conditions: Iterable[CodedEntry]
) -> dict[str, dict[str, set[str]]]:
    """deficit id -> SNOMED CT code -> the references of the entries that carry it."""
    found: dict[str, dict[str, set[str]]] = {}
    for entry in conditions:
        for code in entry.codes:
            deficit = table.deficit_of(code)
            if deficit is not None:
                found.setdefault(deficit.id, {}).setdefault(code, set()).add(entry.reference)
    return found


def _found(
    deficit: Deficit, codes: Mapping[str, set[str]], medication_count: int
) -> DeficitFound | None:
    if deficit.medicines_at_least is not None:
        if medication_count < deficit.medicines_at_least:
            return None
        detail = f"{medication_count} current medicines ({deficit.medicines_at_least} or more)"
        return DeficitFound(deficit.id, deficit.display, detail=detail)
    if not codes:
        return None
    evidence = sorted({reference for references in codes.values() for reference in references})
    return DeficitFound(deficit.id, deficit.display, tuple(sorted(codes)), tuple(evidence))


# --- The RiskAssessment -----------------------------------------------------------------------


def risk_assessment(
    patient: str,
    frailty: FrailtyIndex,
    urgent_care: UrgentCareUse | None,
    *,
    now: datetime,
) -> dict[str, Any]:
    """The FHIR R4 RiskAssessment of a person's eFI: the score as probabilityDecimal, the band
    as qualitativeRisk, the Conditions and Encounters that evidenced it as basis, the deficits
    and the use of urgent care as notes, and the deficit table's version as method."""
    if now.tzinfo is None:
        raise ValueError("now must carry its timezone (a FHIR dateTime with a time needs one)")
    basis = [*frailty.evidence, *(urgent_care.evidence if urgent_care else ())]
    resource: dict[str, Any] = {
        "resourceType": "RiskAssessment",
        "status": "final",
        "method": {
            "coding": [coding(EFI_DEFICIT_TABLE, frailty.table_version)],
            "text": f"Electronic Frailty Index, deficit table {frailty.table_version}",
        },
        "code": {"coding": [coding(SNOMED, EFI_SCORE, "Frailty index score")], "text": "eFI"},
        "subject": {"reference": patient},
        "occurrenceDateTime": now.isoformat(),
        "basis": [{"reference": reference} for reference in dict.fromkeys(basis)],
        "prediction": [_prediction(frailty), *_urgent_care_prediction(urgent_care)],
        "note": [{"text": text} for text in _notes(frailty, urgent_care)],
    }
    if not basis:
        del resource["basis"]
    return resource


def _prediction(frailty: FrailtyIndex) -> dict[str, Any]:
    band = coding(FRAILTY_BAND, frailty.band, FRAILTY_BANDS[frailty.band])
    return {
        "outcome": {"text": "Frailty"},
        "probabilityDecimal": frailty.score,
        "qualitativeRisk": {"coding": [band], "text": FRAILTY_BANDS[frailty.band]},
        "rationale": f"{len(frailty.deficits)} of {frailty.of} deficits present",
    }


def _urgent_care_prediction(use: UrgentCareUse | None) -> list[dict[str, Any]]:
    """The second signal, as a prediction of its own: high or low use of urgent care."""
    if use is None:
        return []
    level = "high" if use.high_use else "low"
    return [
        {
            "outcome": {
                "coding": [coding(URGENT_CARE_USE, "urgent-care-use")],
                "text": "Use of urgent care",
            },
            "qualitativeRisk": {"coding": [coding(RISK_PROBABILITY, level)]},
            "rationale": use_text(use),
        }
    ]


def urgent_care_is_high(assessment: Mapping[str, Any]) -> bool:
    """Did a stored eFI RiskAssessment find high use of urgent care?"""
    return any(
        has_coding(p.get("outcome"), URGENT_CARE_USE, "urgent-care-use")
        and has_coding(p.get("qualitativeRisk"), RISK_PROBABILITY, "high")
        for p in assessment.get("prediction") or []
    )


def risk_from_assessment(
    patient: str, assessment: Mapping[str, Any], *, on_caseload: bool
) -> PersonRisk | None:
    """What case finding ranks a person by, read back from their stored eFI RiskAssessment
    (its band and score, whether urgent care use was high, the Encounters it counted)."""
    prediction = (assessment.get("prediction") or [{}])[0]
    bands = (prediction.get("qualitativeRisk") or {}).get("coding") or []
    band = next((c.get("code") for c in bands if c.get("system") == FRAILTY_BAND), None)
    score = prediction.get("probabilityDecimal")
    if band not in FRAILTY_BANDS or not isinstance(score, int | float):
        return None
    when = date.fromisoformat(str(assessment.get("occurrenceDateTime", ""))[:10])
    counted = tuple(
        str(b["reference"])
        for b in assessment.get("basis") or []
        if str(b.get("reference", "")).startswith("Encounter/")
    )
    return PersonRisk(
        patient=patient,
        frailty=FrailtyIndex(Fraction(round(score * 36), 36), str(band), (), 36, "", 0),
        urgent_care=UrgentCareUse(when, when, counted, (), urgent_care_is_high(assessment)),
        on_caseload=on_caseload,
    )


def _notes(frailty: FrailtyIndex, urgent_care: UrgentCareUse | None) -> list[str]:
    notes = [_deficits_note(frailty)]
    if urgent_care is not None:
        notes.append(f"Urgent care: {use_text(urgent_care)}.")
    notes.append(
        "The eFI flags people for clinical confirmation (for example with the Clinical "
        "Frailty Scale); it is not a diagnosis."
    )
    return notes


def _deficits_note(frailty: FrailtyIndex) -> str:
    if not frailty.deficits:
        return f"Deficits found: none of {frailty.of}."
    lines = [f"Deficits found, {len(frailty.deficits)} of {frailty.of}:"]
    for found in frailty.deficits:
        why = found.detail or f"SNOMED CT {', '.join(found.codes)} ({', '.join(found.evidence)})"
        lines.append(f"- {found.display}: {why}")
    return "\n".join(lines)


# --- Candidates for the caseload --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PersonRisk:
    """What case finding knows of one person."""

    patient: str  # "Patient/123"
    frailty: FrailtyIndex | None = None  # None: no eFI (under 65, say)
    urgent_care: UrgentCareUse | None = None
    on_caseload: bool = False


@dataclass(frozen=True, slots=True)
class Candidate:
    rank: int  # 1 is the most at risk
    patient: str
    band: str | None
    score: float | None
    reasons: tuple[str, ...]  # why the person is on the list, for a person to read


def candidates(people: Iterable[PersonRisk]) -> tuple[Candidate, ...]:
    """The case-finding list: people with moderate or severe frailty or high use of urgent
    care who are not on a caseload already, the most at risk first: severe before moderate
    before the rest, then the higher eFI score, then more emergency admissions, then more ED
    attendances, then by patient reference so the order never changes."""
    listed: dict[str, PersonRisk] = {}
    for person in people:
        if person.patient in listed:
            raise ValueError(f"{person.patient} is given twice")
        listed[person.patient] = person
    found = [p for p in listed.values() if not p.on_caseload and _reasons(p)]
    return tuple(
        Candidate(
            rank=rank,
            patient=person.patient,
            band=person.frailty.band if person.frailty else None,
            score=person.frailty.score if person.frailty else None,
            reasons=_reasons(person),
        )
        for rank, person in enumerate(sorted(found, key=_risk_order), start=1)
    )


def _reasons(person: PersonRisk) -> tuple[str, ...]:
    reasons = []
    if person.frailty and person.frailty.band in ("moderate", "severe"):
        band = FRAILTY_BANDS[person.frailty.band].split(" (")[0]
        reasons.append(f"{band}: eFI {person.frailty.score}")
    if person.urgent_care and person.urgent_care.high_use:
        reasons.append(f"High use of urgent care: {use_text(person.urgent_care)}")
    return tuple(reasons)


def _risk_order(person: PersonRisk) -> tuple[int, Fraction, int, int, str]:
    band = person.frailty.band if person.frailty else None
    use = person.urgent_care
    return (
        {"severe": 0, "moderate": 1}.get(band or "", 2),
        -(person.frailty.fraction if person.frailty else Fraction(0)),
        -len(use.emergency_admissions) if use else 0,
        -len(use.ed_attendances) if use else 0,
        person.patient,
    )
