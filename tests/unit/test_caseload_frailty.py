"""Case finding: the eFI deficit table refused by name when anything is wrong, every deficit
reached by its codes, each band's boundaries on the exact fraction, the use of urgent care
counted to the day, the RiskAssessment that records both, and candidates ordered by risk."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime
from fractions import Fraction

import pytest
from fhir.resources.R4B import get_fhir_model_class
from hypothesis import given
from hypothesis import strategies as st

from services.caseload.deficits import (
    DEFICIT_TABLE,
    EFI_DEFICIT_TABLE,
    Deficit,
    load_deficits,
)
from services.caseload.frailty import (
    CodedEntry,
    FrailtyIndex,
    NotEligible,
    PersonRisk,
    age_on,
    candidates,
    coded_entry,
    electronic_frailty_index,
    risk_assessment,
    risk_from_assessment,
    urgent_care_is_high,
)
from services.caseload.urgent_care import (
    UrgentCareUse,
    urgent_care_use,
)
from services.record.demo_care_data import ROUTINE_REASONS, URGENT_REASONS
from services.record.demo_data import CONDITIONS
from services.triage.gathering import facts_from
from shared.fhir.terms import (
    EFI_SCORE,
    FRAILTY_BAND,
    SNOMED,
    has_coding,
)
from tests.unit.test_caseload_urgent_care import admission, attendance

TABLE = load_deficits()
CODED = [d for d in TABLE.deficits if d.codes]  # the 35 deficits evidenced by Conditions
TODAY = date(2026, 11, 15)
NOW = datetime(2026, 11, 15, 9, 30, tzinfo=UTC)
EFI_DEFICITS = [  # Clegg et al. 2016, in the order the issue names them
    "activity-limitation", "anaemia-and-haematinic-deficiency", "arthritis",
    "atrial-fibrillation", "cerebrovascular-disease", "chronic-kidney-disease", "diabetes",
    "dizziness", "dyspnoea", "falls", "foot-problems", "fragility-fracture",
    "hearing-impairment", "heart-failure", "heart-valve-disease", "housebound", "hypertension",
    "hypotension-syncope", "ischaemic-heart-disease", "memory-and-cognitive-problems",
    "mobility-and-transfer-problems", "osteoporosis", "parkinsonism-and-tremor", "peptic-ulcer",
    "peripheral-vascular-disease", "polypharmacy", "requirement-for-care",
    "respiratory-disease", "skin-ulcer", "sleep-disturbance", "social-vulnerability",
    "thyroid-disease", "urinary-incontinence", "urinary-system-disease", "visual-impairment",
    "weight-loss-and-anorexia",
]  # fmt: skip


def condition(name: str, *codes: str) -> CodedEntry:
    return CodedEntry(f"Condition/{name}", frozenset(codes))


def efi(*conditions: CodedEntry, medicines: int = 0, age: int = 80) -> FrailtyIndex:
    result = electronic_frailty_index(
        TABLE, conditions=conditions, medication_count=medicines, age=age
    )
    assert isinstance(result, FrailtyIndex)
    return result


def with_deficits(count: int) -> FrailtyIndex:
    """A person with the first ``count`` deficits: Conditions first, then polypharmacy."""
    conditions = [condition(d.id, min(d.codes)) for d in CODED[: min(count, len(CODED))]]
    return efi(*conditions, medicines=5 if count > len(CODED) else 0)


# --- The shipped table ------------------------------------------------------------------------


def test_given_the_shipped_table_then_it_has_the_36_efi_deficits_in_order() -> None:
    assert [d.id for d in TABLE.deficits] == EFI_DEFICITS
    assert TABLE.version and TABLE.source == str(DEFICIT_TABLE)
    assert TABLE.minimum_age == 65
    assert dict(TABLE.band_limits) == {
        "fit": Fraction("0.12"),
        "mild": Fraction("0.24"),
        "moderate": Fraction("0.36"),
    }


def test_given_the_shipped_table_then_polypharmacy_is_five_medicines_not_a_condition() -> None:
    (polypharmacy,) = [d for d in TABLE.deficits if not d.codes]
    assert (polypharmacy.id, polypharmacy.medicines_at_least) == ("polypharmacy", 5)


@pytest.mark.parametrize("deficit", CODED, ids=[d.id for d in CODED])
def test_given_any_code_of_a_deficit_when_on_a_condition_then_that_deficit_alone_is_found(
    deficit: Deficit,
) -> None:
    for code in sorted(deficit.codes):
        result = efi(condition("1", code))
        assert [(f.id, f.codes) for f in result.deficits] == [(deficit.id, (code,))], code
        assert result.fraction == Fraction(1, 36)


# Codes the demo population carries that the eFI does not count, and why.
NOT_DEFICITS = {
    "35489007": "depressive disorder: not one of the 36",
    "48694002": "anxiety: not one of the 36",
    "129839007": "at risk for falls: a risk, not a fall",
    "248279007": "frailty: what the eFI estimates, not a deficit of it",
}


def test_given_the_demo_population_then_every_condition_that_is_a_deficit_is_mapped() -> None:
    demo_codes = {spec.code for spec in CONDITIONS}
    reasons = [*URGENT_REASONS, *ROUTINE_REASONS]
    demo_codes |= {reason.finding[0] for reason in reasons if reason.finding}
    unmapped = {code for code in demo_codes if TABLE.deficit_of(code) is None}
    assert unmapped == set(NOT_DEFICITS) & demo_codes, unmapped - set(NOT_DEFICITS)


@pytest.mark.parametrize(
    ("code", "deficit"),
    [
        ("38341003", "hypertension"),
        ("49436004", "atrial-fibrillation"),
        ("84114007", "heart-failure"),
        ("44054006", "diabetes"),
        ("46635009", "diabetes"),
        ("13645005", "respiratory-disease"),
        ("195967001", "respiratory-disease"),
        ("64859006", "osteoporosis"),
        ("49049000", "parkinsonism-and-tremor"),
        ("52448006", "memory-and-cognitive-problems"),
        ("433146000", "chronic-kidney-disease"),
        ("161898004", "falls"),
        ("217082002", "falls"),
    ],
)
def test_given_a_common_code_then_it_evidences_its_deficit(code: str, deficit: str) -> None:
    found = TABLE.deficit_of(code)
    assert found is not None and found.id == deficit


def test_given_ckd_stages_1_and_2_then_they_are_not_deficits() -> None:
    assert TABLE.deficit_of("431855005") is None and TABLE.deficit_of("431856006") is None


# --- Bands: decided on the exact fraction ------------------------------------------------------


@pytest.mark.parametrize(
    ("present", "score", "band"),
    [
        (0, 0.0, "fit"),
        (4, 0.111, "fit"),  # the highest fit score
        (5, 0.139, "mild"),  # the lowest mild score
        (8, 0.222, "mild"),
        (9, 0.25, "moderate"),
        (12, 0.333, "moderate"),
        (13, 0.361, "severe"),  # 13/36 is above 0.36
        (14, 0.389, "severe"),
        (36, 1.0, "severe"),
    ],
)
def test_given_a_count_of_deficits_when_scored_then_the_band_follows_the_exact_fraction(
    present: int, score: float, band: str
) -> None:
    result = with_deficits(present)
    assert (len(result.deficits), result.fraction, result.score, result.band) == (
        present,
        Fraction(present, 36),
        score,
        band,
    )


@pytest.mark.parametrize(
    ("limit", "just_in", "just_out"),
    [("fit", "0.12", "0.1200001"), ("mild", "0.24", "0.2400001"), ("moderate", "0.36", "0.3601")],
)
def test_given_a_score_exactly_on_a_limit_then_it_is_in_the_band_below(
    limit: str, just_in: str, just_out: str
) -> None:
    after = ("fit", "mild", "moderate", "severe")[("fit", "mild", "moderate").index(limit) + 1]
    assert TABLE.band(Fraction(just_in)) == limit
    assert TABLE.band(Fraction(just_out)) == after


# --- Eligibility and polypharmacy ---------------------------------------------------------------


def test_given_a_person_of_64_when_scored_then_not_eligible_with_the_reason() -> None:
    result = electronic_frailty_index(
        TABLE, conditions=[condition("1", "38341003")], medication_count=9, age=64
    )
    assert isinstance(result, NotEligible)
    assert "65 and over" in result.reason and "64" in result.reason


def test_given_a_person_of_65_when_scored_then_they_get_a_score() -> None:
    assert efi(condition("1", "38341003"), age=65).fraction == Fraction(1, 36)


def test_given_a_negative_age_or_medicine_count_then_refused() -> None:
    with pytest.raises(ValueError, match="cannot be negative"):
        electronic_frailty_index(TABLE, conditions=[], medication_count=-1, age=70)
    with pytest.raises(ValueError, match="cannot be negative"):
        electronic_frailty_index(TABLE, conditions=[], medication_count=0, age=-1)


@pytest.mark.parametrize(("medicines", "present"), [(0, False), (4, False), (5, True), (12, True)])
def test_given_current_medicines_then_polypharmacy_from_five(medicines: int, present: bool) -> None:
    found = {f.id: f for f in efi(medicines=medicines).deficits}
    assert ("polypharmacy" in found) is present
    if present:
        assert found["polypharmacy"].detail == f"{medicines} current medicines (5 or more)"
        assert found["polypharmacy"].evidence == ()


# --- Evidence ------------------------------------------------------------------------------------


def test_given_two_conditions_for_one_deficit_then_counted_once_with_both_as_evidence() -> None:
    result = efi(condition("2", "44054006"), condition("1", "73211009"))
    (diabetes,) = result.deficits
    assert diabetes.codes == ("44054006", "73211009")
    assert diabetes.evidence == ("Condition/1", "Condition/2")
    assert result.fraction == Fraction(1, 36)


def test_given_a_condition_with_codes_of_two_deficits_then_both_are_found() -> None:
    result = efi(condition("1", "38341003", "49436004", "123456789"))
    assert [f.id for f in result.deficits] == ["atrial-fibrillation", "hypertension"]
    assert result.evidence == ("Condition/1",)


def test_given_codes_no_deficit_has_then_nothing_is_found() -> None:
    assert efi(condition("1", "35489007"), condition("2")).deficits == ()


def test_given_a_condition_resource_then_its_snomed_codes_are_read() -> None:
    resource = {
        "resourceType": "Condition",
        "id": "c1",
        "code": {
            "coding": [
                {"system": SNOMED, "code": "38341003"},
                {"system": "http://hl7.org/fhir/sid/icd-10", "code": "I10"},
            ]
        },
    }
    assert coded_entry(resource) == CodedEntry("Condition/c1", frozenset({"38341003"}))
    assert coded_entry({"resourceType": "Condition", "id": "c2"}).codes == frozenset()


@pytest.mark.parametrize(
    ("born", "on", "age"),
    [
        (date(1960, 11, 15), date(2025, 11, 15), 65),
        (date(1960, 11, 16), date(2025, 11, 15), 64),
        (date(1960, 2, 29), date(2025, 2, 28), 64),
        (date(1960, 2, 29), date(2025, 3, 1), 65),
    ],
)
def test_given_a_birth_date_then_age_in_whole_years(born: date, on: date, age: int) -> None:
    assert age_on(born, on) == age


all_codes = sorted(code for d in CODED for code in d.codes)
any_entries = st.lists(
    st.builds(
        condition,
        st.text("abc123", min_size=1, max_size=4),
        st.sampled_from([*all_codes, "35489007", "123456789"]),
    ),
    max_size=30,
)


@given(any_entries, st.integers(0, 15), st.randoms(use_true_random=False))
def test_given_any_record_then_the_score_is_distinct_deficits_over_36_whatever_the_order(
    entries: list[CodedEntry], medicines: int, shuffler: random.Random
) -> None:
    result = efi(*entries, medicines=medicines)
    hit = {TABLE.deficit_of(code) for e in entries for code in e.codes} - {None}
    assert len(result.deficits) == len(hit) + (medicines >= 5)
    assert result.fraction == Fraction(len(result.deficits), 36)
    assert result.band == TABLE.band(result.fraction)
    shuffler.shuffle(entries)
    assert efi(*entries, medicines=medicines) == result


@given(any_entries, any_entries)
def test_given_more_conditions_then_the_score_never_falls(
    first: list[CodedEntry], more: list[CodedEntry]
) -> None:
    bands = ("fit", "mild", "moderate", "severe")
    before, after = efi(*first), efi(*first, *more)
    assert after.fraction >= before.fraction
    assert bands.index(after.band) >= bands.index(before.band)


# --- The RiskAssessment --------------------------------------------------------------------------


def test_given_an_efi_and_urgent_care_then_the_risk_assessment_records_both() -> None:
    frailty = efi(condition("c1", "38341003"), condition("c2", "161898004"), medicines=6)
    use = urgent_care_use(
        [admission("a1", "2026-03-01"), admission("a2", "2026-07-01")], today=TODAY
    )
    resource = risk_assessment("Patient/p1", frailty, use, now=NOW)
    get_fhir_model_class("RiskAssessment").model_validate(resource)
    assert (resource["status"], resource["subject"]) == ("final", {"reference": "Patient/p1"})
    assert has_coding(resource["code"], SNOMED, EFI_SCORE)
    assert has_coding(resource["method"], EFI_DEFICIT_TABLE, TABLE.version)
    assert resource["occurrenceDateTime"] == "2026-11-15T09:30:00+00:00"
    prediction, urgent_care = resource["prediction"]
    assert prediction["probabilityDecimal"] == 0.083
    assert has_coding(prediction["qualitativeRisk"], FRAILTY_BAND, "fit")
    assert urgent_care_is_high(resource) and urgent_care["rationale"].endswith("high use")
    back = risk_from_assessment("Patient/p1", resource, on_caseload=False)
    assert back is not None and back.frailty is not None and back.urgent_care is not None
    assert (back.frailty.band, back.frailty.fraction) == ("fit", frailty.fraction)
    assert back.urgent_care.high_use and len(back.urgent_care.emergency_admissions) == 2
    assert [b["reference"] for b in resource["basis"]] == [
        "Condition/c2",
        "Condition/c1",
        "Encounter/a1",
        "Encounter/a2",
    ]
    deficits, urgent, caveat = (note["text"] for note in resource["note"])
    assert "- Falls: SNOMED CT 161898004 (Condition/c2)" in deficits
    assert "- Polypharmacy: 6 current medicines (5 or more)" in deficits
    assert urgent.startswith("Urgent care: 2 emergency admissions and 0 emergency department")
    assert urgent.endswith("from 2025-11-15 to 2026-11-15: high use.")
    assert "not a diagnosis" in caveat


def test_given_no_deficits_and_no_urgent_care_then_no_basis_and_a_note_saying_none() -> None:
    resource = risk_assessment("Patient/p1", efi(), None, now=NOW)
    get_fhir_model_class("RiskAssessment").model_validate(resource)
    assert "basis" not in resource
    assert resource["note"][0]["text"] == "Deficits found: none of 36."


def test_given_a_severe_efi_when_triage_reads_the_record_then_it_sees_the_band() -> None:
    resource = risk_assessment("Patient/p1", with_deficits(14), None, now=NOW)
    facts = facts_from(
        {"resourceType": "ServiceRequest"},
        {"resourceType": "Patient"},
        answers=[],
        conditions=[],
        episodes=[],
        observations=[],
        stays=[],
        frailty=[resource],
        today=TODAY,
    )
    assert facts.frailty == "severe"


def test_given_a_time_without_a_timezone_then_the_risk_assessment_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        risk_assessment("Patient/p1", efi(), None, now=datetime(2026, 11, 15, 9, 30))


# --- Candidates ----------------------------------------------------------------------------------


def use_of(admissions: int = 0, attendances: int = 0) -> UrgentCareUse:
    encounters = [admission(f"a{n}", "2026-05-01") for n in range(admissions)]
    encounters += [attendance(f"e{n}", "2026-05-02") for n in range(attendances)]
    return urgent_care_use(encounters, today=TODAY)


def test_given_people_at_risk_then_candidates_are_ordered_by_band_score_use_and_id() -> None:
    people = [
        PersonRisk("Patient/moderate-9", with_deficits(9)),
        PersonRisk("Patient/severe-14", with_deficits(14)),
        PersonRisk("Patient/severe-20", with_deficits(20)),
        PersonRisk("Patient/mild-high-use", with_deficits(6), use_of(2)),
        PersonRisk("Patient/under-65-high-use", None, use_of(0, 4)),
        PersonRisk("Patient/moderate-12-b", with_deficits(12), use_of(1)),
        PersonRisk("Patient/moderate-12-a", with_deficits(12), use_of(1)),
        PersonRisk("Patient/moderate-12-admitted", with_deficits(12), use_of(2)),
        PersonRisk("Patient/fit", with_deficits(2), use_of(1, 2)),
        PersonRisk("Patient/mild", with_deficits(7)),
        PersonRisk("Patient/on-caseload", with_deficits(30), use_of(3), on_caseload=True),
    ]
    listed = candidates(people)
    assert [c.patient.removeprefix("Patient/") for c in listed] == [
        "severe-20",
        "severe-14",
        "moderate-12-admitted",
        "moderate-12-a",
        "moderate-12-b",
        "moderate-9",
        "mild-high-use",
        "under-65-high-use",
    ]
    assert [c.rank for c in listed] == list(range(1, 9))
    assert listed[0].reasons == ("Severe frailty: eFI 0.556",)
    assert listed[2].reasons[1].startswith("High use of urgent care: 2 emergency admissions")
    assert (listed[7].band, listed[7].score) == (None, None)


def test_given_results_of_two_table_versions_then_the_band_comes_before_the_score() -> None:
    # An older table whose moderate band went up to 0.40 calls 14/36 moderate.
    older = FrailtyIndex(Fraction(14, 36), "moderate", (), 36, "2025.1.0", 0)
    people = [PersonRisk("Patient/a", older), PersonRisk("Patient/b", with_deficits(13))]
    assert [c.patient for c in candidates(people)] == ["Patient/b", "Patient/a"]


def test_given_a_person_twice_then_the_list_is_refused() -> None:
    with pytest.raises(ValueError, match="Patient/p1 is given twice"):
        candidates([PersonRisk("Patient/p1"), PersonRisk("Patient/p1")])


any_person = st.builds(
    lambda n, count, use, caseload: PersonRisk(
        f"Patient/{n}", with_deficits(count) if count >= 0 else None, use, caseload
    ),
    st.integers(0, 40),
    st.integers(-1, 36),
    st.none() | st.builds(use_of, st.integers(0, 3), st.integers(0, 4)),
    st.booleans(),
)


@given(st.lists(any_person, max_size=15, unique_by=lambda p: p.patient))
def test_given_any_people_then_exactly_those_at_risk_and_not_on_a_caseload_are_listed_by_risk(
    people: list[PersonRisk],
) -> None:
    listed = candidates(people)
    at_risk = {
        p.patient
        for p in people
        if not p.on_caseload
        and (
            (p.frailty is not None and p.frailty.band in ("moderate", "severe"))
            or (p.urgent_care is not None and p.urgent_care.high_use)
        )
    }
    assert {c.patient for c in listed} == at_risk
    assert [c.rank for c in listed] == list(range(1, len(listed) + 1))
    rank = {"severe": 0, "moderate": 1}
    keys = [(rank.get(c.band or "", 2), -(c.score or 0)) for c in listed]
    assert keys == sorted(keys)
    assert candidates(reversed(people)) == listed
