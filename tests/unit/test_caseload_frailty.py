"""Case finding: the eFI deficit table refused by name when anything is wrong, every deficit
reached by its codes, each band's boundaries on the exact fraction, the use of urgent care
counted to the day, the RiskAssessment that records both, and candidates ordered by risk."""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from datetime import UTC, date, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import yaml
from fhir.resources.R4B import get_fhir_model_class
from hypothesis import given
from hypothesis import strategies as st

from services.caseload.deficits import (
    DEFICIT_TABLE,
    EFI_DEFICIT_TABLE,
    Deficit,
    DeficitTableError,
    is_snomed_concept_id,
    load_deficits,
    parse_deficits,
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
    HighUse,
    UrgentCareUse,
    months_before,
    urgent_care_use,
)
from services.record.demo_care_data import ROUTINE_REASONS, URGENT_REASONS
from services.record.demo_data import CONDITIONS
from services.triage.gathering import facts_from
from shared.fhir.terms import (
    ACT_CODE,
    ACT_PRIORITY,
    ADMIT_SOURCE,
    EFI_SCORE,
    FRAILTY_BAND,
    SNOMED,
    has_coding,
)

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


# --- Use of urgent care --------------------------------------------------------------------------


def encounter(
    name: str,
    kind: str,
    start: str | None,
    *,
    priority: str | None = None,
    admit_source: str | None = None,
    status: str = "finished",
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Encounter",
        "id": name,
        "status": status,
        "class": {"system": ACT_CODE, "code": kind},
    }
    if start is not None:
        resource["period"] = {"start": start}
    if priority:
        resource["priority"] = {"coding": [{"system": ACT_PRIORITY, "code": priority}]}
    if admit_source:
        source = {"coding": [{"system": ADMIT_SOURCE, "code": admit_source}]}
        resource["hospitalization"] = {"admitSource": source}
    return resource


def admission(name: str, start: str, **more: Any) -> dict[str, Any]:
    return encounter(name, "IMP", start, priority="EM", **more)


def attendance(name: str, start: str | None, **more: Any) -> dict[str, Any]:
    return encounter(name, "EMER", start, **more)


@pytest.mark.parametrize(
    ("start", "counted"),
    [
        ("2025-11-14", False),  # 12 months and a day ago
        ("2025-11-15", True),  # exactly 12 months ago
        ("2025-11-15T00:00:00+00:00", True),
        ("2026-11-15T23:59:00+00:00", True),  # today
        ("2026-11-16", False),  # tomorrow (a booked visit)
    ],
)
def test_given_an_ed_attendance_when_counted_then_the_window_is_12_months_to_the_day(
    start: str, counted: bool
) -> None:
    use = urgent_care_use([attendance("e1", start)], today=TODAY)
    assert (use.since, use.until) == (date(2025, 11, 15), TODAY)
    assert use.ed_attendances == (("Encounter/e1",) if counted else ())


@pytest.mark.parametrize(
    ("today", "since"),
    [
        (date(2026, 11, 15), date(2025, 11, 15)),
        (date(2024, 2, 29), date(2023, 2, 28)),  # no 29 February a year before
        (date(2025, 2, 28), date(2024, 2, 28)),
        (date(2026, 3, 31), date(2025, 3, 31)),
    ],
)
def test_given_a_day_then_12_months_before_is_the_same_day_or_the_month_end(
    today: date, since: date
) -> None:
    assert months_before(today, 12) == since


def test_given_a_six_month_window_then_a_shorter_month_ends_it() -> None:
    assert months_before(date(2026, 8, 31), 6) == date(2026, 2, 28)


@pytest.mark.parametrize(
    ("resource", "kind"),
    [
        (attendance("x", "2026-06-01"), "ed"),
        (admission("x", "2026-06-01"), "admission"),
        (encounter("x", "IMP", "2026-06-01", admit_source="emd"), "admission"),
        (encounter("x", "ACUTE", "2026-06-01", priority="EM"), "admission"),
        (encounter("x", "NONAC", "2026-06-01", admit_source="emd"), "admission"),
        (encounter("x", "IMP", "2026-06-01"), None),  # not known to be an emergency
        (encounter("x", "IMP", "2026-06-01", priority="EL"), None),  # elective
        (encounter("x", "IMP", "2026-06-01", admit_source="gp"), None),
        (encounter("x", "AMB", "2026-06-01", priority="EM"), None),
        (encounter("x", "HH", "2026-06-01"), None),
        (attendance("x", "2026-06-01", status="cancelled"), None),
        (attendance("x", "2026-06-01", status="entered-in-error"), None),
        (admission("x", "2026-06-01", status="planned"), None),
        (attendance("x", "2026-06-01", status="in-progress"), "ed"),
        (attendance("x", None), None),  # no start: cannot be placed in the window
        (attendance("x", "2026-06"), None),  # a month only
        ({**attendance("x", "2026-06-01"), "class": {"code": "EMER"}}, None),  # no system
    ],
)
def test_given_an_encounter_then_it_counts_as_what_fhir_says_it_is(
    resource: dict[str, Any], kind: str | None
) -> None:
    use = urgent_care_use([resource], today=TODAY)
    assert use.ed_attendances == (("Encounter/x",) if kind == "ed" else ())
    assert use.emergency_admissions == (("Encounter/x",) if kind == "admission" else ())


@pytest.mark.parametrize(
    ("admissions", "attendances", "high"),
    [(1, 2, False), (2, 0, True), (0, 3, True), (1, 0, False), (0, 0, False)],
)
def test_given_urgent_care_then_high_use_from_2_admissions_or_3_attendances(
    admissions: int, attendances: int, high: bool
) -> None:
    encounters = [admission(f"a{n}", f"2026-0{n + 1}-10") for n in range(admissions)]
    encounters += [attendance(f"e{n}", f"2026-0{n + 1}-12") for n in range(attendances)]
    assert urgent_care_use(encounters, today=TODAY).high_use is high


def test_given_configured_thresholds_then_high_use_follows_them() -> None:
    limits = HighUse(emergency_admissions=1, ed_attendances=1, months=6)
    use = urgent_care_use([admission("a", "2026-06-01")], today=TODAY, high_use=limits)
    assert use.high_use and use.since == date(2026, 5, 15)
    assert not urgent_care_use(
        [admission("a", "2026-05-14")], today=TODAY, high_use=limits
    ).high_use


def test_given_encounters_in_any_order_then_they_are_listed_earliest_first() -> None:
    encounters = [attendance("late", "2026-10-01"), attendance("early", "2026-01-01")]
    use = urgent_care_use(encounters, today=TODAY)
    assert use.ed_attendances == ("Encounter/early", "Encounter/late")


any_encounter = st.builds(
    lambda name, kind, day, emergency: encounter(
        name, kind, day.isoformat(), priority="EM" if emergency else None
    ),
    st.text("abcdef", min_size=1, max_size=3),
    st.sampled_from(["EMER", "IMP", "AMB", "HH"]),
    st.dates(date(2025, 1, 1), date(2027, 1, 1)),
    st.booleans(),
)


@given(st.lists(any_encounter, max_size=12))
def test_given_any_encounters_then_only_urgent_care_in_the_window_is_counted(
    encounters: list[dict[str, Any]],
) -> None:
    use = urgent_care_use(encounters, today=TODAY)
    in_window = [e for e in encounters if "2025-11-15" <= e["period"]["start"] <= "2026-11-15"]
    ed = [e for e in in_window if e["class"]["code"] == "EMER"]
    admitted = [e for e in in_window if e["class"]["code"] == "IMP" and "priority" in e]
    assert len(use.ed_attendances) == len(ed)
    assert len(use.emergency_admissions) == len(admitted)
    assert use.high_use == (len(admitted) >= 2 or len(ed) >= 3)


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


# --- Reading the table: every fault refused, naming the file, the place and the fault ----------

Change = Callable[[dict[str, Any]], None]
SHIPPED: dict[str, Any] = yaml.safe_load(DEFICIT_TABLE.read_text(encoding="utf-8"))


def _deficit(name: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda table: next(d for d in table["deficits"] if d["id"] == name)


def _set(path: Callable[[dict[str, Any]], dict[str, Any]], key: str, value: Any) -> Change:
    return lambda table: path(table).__setitem__(key, value)


def _drop(path: Callable[[dict[str, Any]], dict[str, Any]], key: str) -> Change:
    return lambda table: path(table).pop(key)


def _top(table: dict[str, Any]) -> dict[str, Any]:
    return table


def _bands(table: dict[str, Any]) -> dict[str, Any]:
    return table["bands"]  # type: ignore[no-any-return]


FALLS, DIABETES = _deficit("falls"), _deficit("diabetes")
BROKEN: list[tuple[str, Change, str]] = [
    ("an unknown key", _set(_top, "colour", "blue"), "unknown key colour; allowed: version"),
    ("no version", _drop(_top, "version"), "missing version"),
    ("a version as a number", _set(_top, "version", 2026.1), "version: expected text, got 2026.1"),
    ("no deficits", _drop(_top, "deficits"), "missing deficits"),
    ("deficits not a list", _set(_top, "deficits", {}), "deficits: expected a list of deficits"),
    ("35 deficits", lambda t: t["deficits"].pop(), "exactly 36 deficits, this table has 35"),
    (
        "37 deficits",
        lambda t: t["deficits"].append({"id": "extra", "display": "X", "codes": ["404684003"]}),
        "exactly 36 deficits, this table has 37",
    ),
    (
        "a deficit twice",
        lambda t: t["deficits"].__setitem__(1, {**FALLS(t), "codes": ["404684003"]}),
        "deficit 10 (falls).id: 'falls' is already the id of a deficit",
    ),
    (
        "a code in two deficits",
        _set(FALLS, "codes", ["161898004", "44054006"]),
        "deficit 10 (falls).codes: 44054006 is already a code of diabetes",
    ),
    (
        "a code twice in a deficit",
        _set(FALLS, "codes", ["161898004", "161898004"]),
        "deficit 10 (falls).codes: lists 161898004 more than once",
    ),
    (
        "a code YAML read as a number",
        _set(FALLS, "codes", [161898004]),
        "deficit 10 (falls).codes[0]: expected a SNOMED CT concept id as text, got 161898004 "
        "(int) (quote it)",
    ),
    (
        "a mistyped code",
        _set(FALLS, "codes", ["161898005"]),
        "codes[0]: '161898005' is not a SNOMED CT concept id",
    ),
    (
        "a description id, not a concept id",
        _set(FALLS, "codes", ["161898011"]),
        "'161898011' is not a SNOMED CT concept id",
    ),
    ("no codes", _set(FALLS, "codes", []), "falls).codes: expected a non-empty list"),
    ("an unknown deficit key", _set(FALLS, "weight", 2), "(falls): unknown key weight"),
    ("no display", _drop(FALLS, "display"), "deficit 10 (falls): missing display"),
    (
        "codes and a medicine count",
        _set(FALLS, "medicines_at_least", 5),
        "(falls): needs exactly one of codes (a condition) or medicines_at_least",
    ),
    (
        "neither codes nor a medicine count",
        _drop(FALLS, "codes"),
        "(falls): needs exactly one of codes",
    ),
    (
        "an id not in hyphenated lower case",
        _set(DIABETES, "id", "Diabetes_Mellitus"),
        "must be lower-case words joined by hyphens",
    ),
    (
        "no polypharmacy threshold",
        _set(_deficit("polypharmacy"), "medicines_at_least", 0),
        "(polypharmacy).medicines_at_least: 0 is out of range (1 or more)",
    ),
    ("bands out of order", _set(_bands, "mild", 0.1), "bands.mild: must be above fit (0.12)"),
    ("a band of 1 or more", _set(_bands, "moderate", 1.2), "bands.moderate: 1.2 must be between"),
    ("a band of 0", _set(_bands, "fit", 0), "bands.fit: 0 must be between 0 and 1"),
    ("a band as text", _set(_bands, "fit", "low"), "bands.fit: expected a number, got 'low'"),
    ("a band as yes/no", _set(_bands, "fit", True), "bands.fit: expected a number, got True"),
    ("a band missing", _drop(_bands, "mild"), "bands: missing mild"),
    ("a limit for severe", _set(_bands, "severe", 0.5), "bands: unknown key severe"),
    ("a negative minimum age", _set(_top, "minimum_age", -1), "minimum_age: -1 is out of range"),
]


@pytest.mark.parametrize(("change", "message"), [pytest.param(c, m, id=n) for n, c, m in BROKEN])
def test_given_a_table_with_a_fault_when_loaded_then_refused_naming_file_place_and_fault(
    tmp_path: Path, change: Change, message: str
) -> None:
    document = copy.deepcopy(SHIPPED)
    change(document)
    path = tmp_path / "efi-deficits.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    with pytest.raises(DeficitTableError) as refused:
        load_deficits(path)
    assert str(refused.value).startswith(f"{path}: ")
    assert message in str(refused.value)


def test_given_the_shipped_table_rewritten_when_loaded_then_it_is_the_same_table(
    tmp_path: Path,
) -> None:
    path = tmp_path / "efi-deficits.yaml"
    path.write_text(yaml.safe_dump(SHIPPED), encoding="utf-8")
    table = load_deficits(path)
    assert (table.deficits, table.band_limits, table.version) == (
        TABLE.deficits,
        TABLE.band_limits,
        TABLE.version,
    )


def test_given_a_yaml_syntax_error_when_loaded_then_refused_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "efi-deficits.yaml"
    path.write_text('version: "1"\ndeficits:\n  - id: a\n    display: x: y\n', encoding="utf-8")
    with pytest.raises(DeficitTableError, match=r"not valid YAML: .*\(line 4, column 15\)"):
        load_deficits(path)


def test_given_a_key_given_twice_when_loaded_then_refused(tmp_path: Path) -> None:
    path = tmp_path / "efi-deficits.yaml"
    text = DEFICIT_TABLE.read_text(encoding="utf-8")
    path.write_text(text.replace("  fit: 0.12\n", "  fit: 0.12\n  fit: 0.1\n"), encoding="utf-8")
    with pytest.raises(DeficitTableError, match="the key 'fit' is given twice"):
        load_deficits(path)


def test_given_no_file_when_loaded_then_refused_saying_so(tmp_path: Path) -> None:
    with pytest.raises(DeficitTableError, match="cannot read the deficit table"):
        load_deficits(tmp_path / "missing.yaml")


def test_given_an_empty_document_when_parsed_then_refused_naming_the_source() -> None:
    with pytest.raises(DeficitTableError, match=r"^here: expected a mapping with version"):
        parse_deficits(None, source="here")


# --- SNOMED CT concept ids ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "valid"),
    [
        ("38341003", True),
        ("248171000000108", True),  # UK extension concept
        ("38341004", False),  # check digit wrong
        ("038341003", False),  # leading zero
        ("12345", False),  # too short
        ("161898011", False),  # a description id's partition (01)
        ("3834100", False),
    ],
)
def test_given_an_identifier_then_only_a_well_formed_concept_id_passes(
    code: str, valid: bool
) -> None:
    assert is_snomed_concept_id(code) is valid


@given(st.sampled_from(all_codes), st.data())
def test_given_a_concept_id_with_one_digit_mistyped_then_it_fails(code: str, data: Any) -> None:
    position = data.draw(st.integers(0, len(code) - 1))
    digit = data.draw(st.sampled_from([d for d in "0123456789" if d != code[position]]))
    assert not is_snomed_concept_id(code[:position] + digit + code[position + 1 :])


@given(st.sampled_from(all_codes), st.data())
def test_given_a_concept_id_with_two_digits_swapped_then_it_fails(code: str, data: Any) -> None:
    position = data.draw(st.integers(0, len(code) - 2))
    swapped = code[:position] + code[position + 1] + code[position] + code[position + 2 :]
    assert swapped == code or not is_snomed_concept_id(swapped)
