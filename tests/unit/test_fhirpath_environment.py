"""The FHIRPath the pre-fill expressions need: %variables, select(), join(), count(), last(), &."""

from __future__ import annotations

from typing import Any

import pytest

from shared.fhir.fhirpath import FhirPathError, compile_path, evaluate, variables_named

PATIENT: dict[str, Any] = {
    "resourceType": "Patient",
    "id": "p1",
    "name": [
        {"use": "nickname", "given": ["Dot"]},
        {"use": "official", "family": "Hughes", "given": ["Doreen", "May"]},
    ],
    "telecom": [
        {"system": "phone", "use": "home", "value": "023 9200 0001"},
        {"system": "phone", "use": "mobile", "value": "07700 900123"},
    ],
    "generalPractitioner": [{"reference": "Practitioner/gp"}, {"reference": "Organization/o"}],
}
CONDITIONS: dict[str, Any] = {
    "resourceType": "Bundle",
    "type": "searchset",
    "entry": [
        {
            "resource": {
                "resourceType": "Condition",
                "id": "c1",
                "code": {"coding": [{"code": "a"}]},
            }
        },
        {
            "resource": {
                "resourceType": "Condition",
                "id": "c2",
                "code": {"coding": [{"code": "b"}]},
            }
        },
    ],
}
RESPONSE: dict[str, Any] = {"resourceType": "QuestionnaireResponse", "status": "in-progress"}


def run(expression: str, **environment: Any) -> list[Any]:
    return evaluate(expression, RESPONSE, {"patient": PATIENT, **environment})


def test_given_patient_variable_when_path_follows_it_then_the_patient_is_read() -> None:
    assert run("%patient.id") == ["p1"]
    assert run("%patient.name.where(use = 'official').family") == ["Hughes"]


def test_given_given_names_when_joined_then_one_string_in_order() -> None:
    assert run("%patient.name.where(use = 'official').given.join(' ')") == ["Doreen May"]
    assert run("%patient.name.given.join()") == ["DotDoreenMay"]


def test_given_nothing_to_join_then_the_result_is_empty_not_an_empty_string() -> None:
    assert run("%patient.address.line.join(', ')") == []


def test_given_select_then_each_item_is_projected_and_flattened() -> None:
    codes = run("%conditions.entry.resource.select(code.coding.first())", conditions=CONDITIONS)
    assert codes == [{"code": "a"}, {"code": "b"}]
    assert codes[0] is CONDITIONS["entry"][0]["resource"]["code"]["coding"][0]


def test_given_count_and_last_then_they_count_and_take_the_end() -> None:
    assert run("%conditions.entry.count()", conditions=CONDITIONS) == [2]
    assert run("%patient.telecom.last().value") == ["07700 900123"]
    assert run("%nothing.count()", nothing=None) == [0]


def test_given_ampersand_then_strings_concatenate_and_empty_counts_as_empty() -> None:
    assert run("%patient.name[1].family & ', ' & %patient.name[1].given.first()") == [
        "Hughes, Doreen"
    ]
    assert run("%patient.name[0].family & 'x'") == ["x"]


def test_given_ampersand_on_several_values_then_it_is_an_error() -> None:
    with pytest.raises(FhirPathError, match="single strings"):
        run("%patient.name.given & 'x'")


def test_given_union_of_preferred_and_all_then_the_preferred_comes_first() -> None:
    expression = (
        "(%patient.telecom.where(system = 'phone' and use = 'mobile') | "
        "%patient.telecom.where(system = 'phone')).first().value"
    )
    assert run(expression) == ["07700 900123"]


def test_given_resolve_is_type_on_a_variable_then_references_are_filtered() -> None:
    found = run("%patient.generalPractitioner.where(resolve() is Organization)")
    assert found == [{"reference": "Organization/o"}]


def test_given_a_variable_holding_a_list_then_it_is_a_collection() -> None:
    assert run("%many.count()", many=[1, 2, 3]) == [3]


def test_given_an_undefined_variable_when_evaluated_then_error_names_it() -> None:
    with pytest.raises(FhirPathError, match="%carer is not defined"):
        run("%carer.name")
    with pytest.raises(FhirPathError, match="%patient is not defined"):
        evaluate("%patient.id", RESPONSE)


def test_given_an_evaluation_with_variables_then_the_next_without_does_not_see_them() -> None:
    run("%patient.id")
    with pytest.raises(FhirPathError):
        evaluate("%patient.id", RESPONSE)


def test_given_join_of_non_strings_then_it_is_an_error() -> None:
    with pytest.raises(FhirPathError, match="only join strings"):
        run("%patient.name.join(',')")


def test_given_wrong_argument_counts_then_compiling_fails() -> None:
    for expression in ("%p.first(1)", "%p.select()", "%p.join(',', ';')", "%p.count(1)"):
        with pytest.raises(FhirPathError):
            compile_path(expression)


def test_given_an_expression_then_the_variables_it_reads_are_named() -> None:
    expression = "%carers.entry.where(%patient.id = 'x').select(%qitem.linkId) & %other"
    assert variables_named(expression) == {"carers", "patient", "qitem", "other"}
    assert variables_named("Patient.name.given") == frozenset()
