"""The FHIRPath subset used by the search-parameter expressions."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared.fhir.fhirpath import FhirPathError, compile_path, evaluate, first_elements
from shared.fhir.searchparams import PARAMETERS_FILE, params_for

OUR_TYPES = [
    "Patient",
    "RelatedPerson",
    "Practitioner",
    "PractitionerRole",
    "Organization",
    "HealthcareService",
    "Location",
    "Consent",
    "Condition",
    "AllergyIntolerance",
    "Observation",
    "MedicationStatement",
    "Questionnaire",
    "QuestionnaireResponse",
    "DocumentReference",
    "ServiceRequest",
    "Task",
    "EpisodeOfCare",
    "CareTeam",
    "CarePlan",
    "Goal",
    "Encounter",
    "Appointment",
    "Communication",
    "Flag",
    "RiskAssessment",
    "List",
    "Group",
    "Provenance",
    "AuditEvent",
    "Subscription",
    "Binary",
    "Resource",
]
SKIPPED_TYPES = ("composite", "special")


def _our_expressions() -> list[tuple[str, str, str]]:
    return [
        (resource_type, code, param.expression)
        for resource_type in OUR_TYPES
        for code, param in sorted(params_for(resource_type).items())
        if param.expression and param.type not in SKIPPED_TYPES
    ]


@pytest.mark.parametrize(("resource_type", "code", "expression"), _our_expressions())
def test_given_parameter_of_a_supported_type_when_compiled_then_it_compiles(
    resource_type: str, code: str, expression: str
) -> None:
    assert callable(compile_path(expression))


def test_given_resource_level_parameters_when_listed_then_all_are_covered() -> None:
    codes = {code for t, code, _ in _our_expressions() if t == "Resource"}
    assert {"_id", "_lastUpdated", "_tag", "_profile", "_security", "_source"} <= codes


def test_given_every_expression_in_the_data_file_when_compiled_then_none_fails() -> None:
    entries = json.loads(PARAMETERS_FILE.read_text())
    failures = []
    for entry in entries:
        try:
            compile_path(entry.get("expression") or "Resource.id")
        except FhirPathError as error:
            failures.append(f"{entry['code']}: {error}")
    assert failures == []


PATIENT: dict[str, Any] = {
    "resourceType": "Patient",
    "id": "9000000009",
    "name": [
        {"family": "Smith", "given": ["Jane", "Ann"]},
        {"family": "Jones", "given": ["Jane"]},
    ],
    "telecom": [
        {"system": "phone", "value": "023 9282 2444"},
        {"system": "email", "value": "jane.smith@example.nhs.uk"},
    ],
    "generalPractitioner": [{"reference": "Organization/J82001"}],
}


def test_given_patient_when_path_has_arrays_then_they_are_flattened() -> None:
    assert evaluate("Patient.name.given", PATIENT) == ["Jane", "Ann", "Jane"]


def test_given_patient_when_leading_type_differs_then_nothing_is_selected() -> None:
    assert evaluate("Observation.name", PATIENT) == []


def test_given_any_resource_when_path_starts_with_resource_then_it_matches() -> None:
    assert evaluate("Resource.id", PATIENT) == ["9000000009"]


def test_given_missing_element_when_evaluated_then_result_is_empty() -> None:
    assert evaluate("Patient.address.city", PATIENT) == []


def test_given_telecom_when_filtered_by_system_then_only_phones_are_kept() -> None:
    result = evaluate("Patient.telecom.where(system='phone')", PATIENT)
    assert result == [{"system": "phone", "value": "023 9282 2444"}]


def test_given_union_when_evaluated_then_both_sides_are_returned_without_duplicates() -> None:
    result = evaluate("Patient.name.family | Patient.name.given | Patient.name.given", PATIENT)
    assert result == ["Smith", "Jones", "Jane", "Ann"]


def test_given_indexer_when_evaluated_then_only_that_item_is_returned() -> None:
    assert evaluate("Patient.name[1].family", PATIENT) == ["Jones"]


OBSERVATION: dict[str, Any] = {
    "resourceType": "Observation",
    "valueQuantity": {"value": 72.5, "unit": "kg"},
    "effectivePeriod": {"start": "2026-11-21T10:30:00Z"},
    "subject": {"reference": "Patient/9000000009"},
}


def test_given_value_quantity_when_cast_with_as_then_the_typed_key_is_read() -> None:
    assert evaluate("(Observation.value as Quantity)", OBSERVATION) == [
        {"value": 72.5, "unit": "kg"}
    ]
    assert evaluate("(Observation.value as CodeableConcept)", OBSERVATION) == []


def test_given_choice_element_when_cast_with_function_then_the_typed_key_is_read() -> None:
    condition = {"resourceType": "Condition", "onsetDateTime": "2019-06-01"}
    assert evaluate("Condition.onset.as(dateTime)", condition) == ["2019-06-01"]
    assert evaluate("Condition.onset.as(Period)", condition) == []
    assert evaluate("Condition.onset.ofType(dateTime)", condition) == ["2019-06-01"]


def test_given_bare_choice_element_when_evaluated_then_every_type_is_read() -> None:
    assert evaluate("Observation.effective", OBSERVATION) == [{"start": "2026-11-21T10:30:00Z"}]


def test_given_cast_then_member_when_evaluated_then_the_member_of_the_typed_value_is_read() -> None:
    observation = {"resourceType": "Observation", "valueCodeableConcept": {"text": "Positive"}}
    assert evaluate("(Observation.value as CodeableConcept).text", observation) == ["Positive"]


@pytest.mark.parametrize(
    ("reference", "is_patient"),
    [
        ({"reference": "Patient/9000000009"}, True),
        ({"reference": "Patient/9000000009/_history/2"}, True),
        ({"reference": "https://fhir.example.nhs.uk/R4/Patient/9000000009"}, True),
        ({"reference": "urn:uuid:0d3b2b22-0000-4000-8000-000000000001", "type": "Patient"}, True),
        ({"identifier": {"value": "9000000009"}, "type": "Patient"}, True),
        ({"reference": "Group/g1"}, False),
        ({"reference": "urn:uuid:0d3b2b22-0000-4000-8000-000000000001"}, False),
        ({"display": "Jane Smith"}, False),
    ],
)
def test_given_reference_when_filtered_by_resolve_is_patient_then_only_patients_match(
    reference: dict[str, Any], is_patient: bool
) -> None:
    observation = {"resourceType": "Observation", "subject": reference}
    result = evaluate("Observation.subject.where(resolve() is Patient)", observation)
    assert result == ([reference] if is_patient else [])


@pytest.mark.parametrize(
    ("patient", "expected"),
    [
        ({"resourceType": "Patient"}, [False]),
        ({"resourceType": "Patient", "deceasedBoolean": False}, [False]),
        ({"resourceType": "Patient", "deceasedBoolean": True}, [True]),
        ({"resourceType": "Patient", "deceasedDateTime": "2024-02-01"}, [True]),
    ],
)
def test_given_patient_when_deceased_expression_evaluated_then_result_is_a_boolean(
    patient: dict[str, Any], expected: list[bool]
) -> None:
    expression = "Patient.deceased.exists() and Patient.deceased != false"
    assert evaluate(expression, patient) == expected


def test_given_related_artifacts_when_filtered_by_type_then_only_that_kind_is_read() -> None:
    library = {
        "resourceType": "Library",
        "relatedArtifact": [
            {"type": "depends-on", "resource": "http://example.org/Library/a"},
            {"type": "successor", "resource": "http://example.org/Library/b"},
        ],
    }
    expression = "Library.relatedArtifact.where(type='depends-on').resource"
    assert evaluate(expression, library) == ["http://example.org/Library/a"]


def test_given_bundle_when_first_entry_selected_then_its_resource_is_returned() -> None:
    composition = {"resourceType": "Composition", "id": "c1"}
    bundle = {"resourceType": "Bundle", "entry": [{"resource": composition}, {"resource": {}}]}
    assert evaluate("Bundle.entry[0].resource", bundle) == [composition]


def test_given_functions_when_evaluated_then_exists_empty_not_first_behave() -> None:
    assert evaluate("Patient.name.exists()", PATIENT) == [True]
    assert evaluate("Patient.address.exists()", PATIENT) == [False]
    assert evaluate("Patient.address.empty()", PATIENT) == [True]
    assert evaluate("Patient.name.exists().not()", PATIENT) == [False]
    assert evaluate("Patient.name.first().family", PATIENT) == ["Smith"]
    assert evaluate("Patient.name.exists(family = 'Jones')", PATIENT) == [True]


def test_given_same_expression_when_compiled_twice_then_the_compiled_function_is_reused() -> None:
    assert compile_path("Patient.name") is compile_path("Patient.name")


@pytest.mark.parametrize(
    "expression",
    [
        "",
        "Patient.name.distinct()",
        "Patient.name.count() > 1",
        "Patient.name +",
        "Patient.name.where(",
        "Patient.name[first]",
        "Patient.name # comment",
        "(Patient.name | Patient.alias) as HumanName",
    ],
)
def test_given_unsupported_syntax_when_compiled_then_a_clear_error_is_raised(
    expression: str,
) -> None:
    with pytest.raises(FhirPathError, match=r"FHIRPath|empty"):
        compile_path(expression)


def test_given_cast_of_something_other_than_an_element_when_compiled_then_error_says_so() -> None:
    with pytest.raises(FhirPathError, match="only supported directly on an element"):
        compile_path("(Patient.name | Patient.contact.name).ofType(HumanName)")


@pytest.mark.parametrize(
    ("expression", "elements"),
    [
        ("Patient.name.given", {"name"}),
        ("Resource.meta.lastUpdated", {"meta"}),
        (
            "(Observation.value as Quantity) | Observation.component.code",
            {"valueQuantity", "component"},
        ),
        ("Observation.effective", {"effective"}),
        ("Observation.subject.where(resolve() is Patient)", {"subject"}),
        ("Bundle.entry[0].resource", {"entry"}),
        ("Patient.deceased.exists() and Patient.deceased != false", None),
        ("Patient.name.exists()", None),
    ],
)
def test_given_expression_when_asked_for_first_elements_then_paths_name_them_and_others_do_not(
    expression: str, elements: set[str] | None
) -> None:
    found = first_elements(expression)
    assert (set(found) if found is not None else None) == elements
