"""The pure parts of pre-filling: x-fhir-query placeholders, answer sources, link periods and
previous answers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from services.record.questionnaires import shipped
from services.record.sdc.extensions import (
    Expression,
    LaunchContext,
    initial_expression,
    launch_contexts,
    offers_previous_answer,
    prefill_source,
    variables,
)
from services.record.sdc.observations import latest_search, observed_value, period_start
from services.record.sdc.previous import answers_by_link_id, previous_search
from services.record.sdc.queries import QueryError, searchset, split, substitute
from services.record.sdc.sources import resources_read, sources_of
from shared.fhir.fhirpath import evaluate

PATIENT: dict[str, Any] = {"resourceType": "Patient", "id": "p 1/x", "birthDate": "1938-04-02"}


def values_in(environment: dict[str, Any]) -> Any:
    return lambda text: evaluate(text, {"resourceType": "QuestionnaireResponse"}, environment)


# --- x-fhir-query ---------------------------------------------------------------------------


def test_given_a_placeholder_then_it_is_replaced_by_its_value_url_encoded() -> None:
    query = "Condition?patient={{%patient.id}}&clinical-status=active"
    concrete = substitute(query, values_in({"patient": PATIENT}))
    assert concrete == "Condition?patient=p%201%2Fx&clinical-status=active"
    assert split(concrete) == ("Condition", [("patient", "p 1/x"), ("clinical-status", "active")])


def test_given_several_placeholders_and_spaces_then_each_is_replaced() -> None:
    query = "Observation?subject=Patient/{{ %patient.id }}&date=ge{{%patient.birthDate}}"
    environment = {"patient": {**PATIENT, "id": "p1"}}
    assert substitute(query, values_in(environment)) == (
        "Observation?subject=Patient/p1&date=ge1938-04-02"
    )


def test_given_a_query_without_placeholders_then_it_is_unchanged() -> None:
    query = "RelatedPerson?active:not=false"
    assert substitute(query, values_in({})) == query


@pytest.mark.parametrize(
    ("query", "said"),
    [
        ("Condition?patient={{%patient.nothing}}", "0 value"),
        ("Condition?patient={{%patient.name}}", "1 value"),  # a HumanName, not a simple value
        ("Condition?patient={{%nobody.id}}", "not defined"),
        ("Condition?patient={{%patient.}}", "FHIRPath"),
    ],
)
def test_given_a_placeholder_without_one_simple_value_then_query_error(
    query: str, said: str
) -> None:
    environment = {"patient": {**PATIENT, "name": [{"family": "Hughes"}]}}
    with pytest.raises(QueryError, match=said):
        substitute(query, values_in(environment))


@pytest.mark.parametrize("query", ["Nonsense?x=1", "?patient=1", "http://elsewhere/Condition?x=1"])
def test_given_a_query_not_on_a_resource_type_then_query_error(query: str) -> None:
    with pytest.raises(QueryError):
        split(query)


def test_given_found_resources_then_the_searchset_holds_matches_then_includes() -> None:
    match = {"resourceType": "Condition", "id": "c1"}
    include = {"resourceType": "Practitioner", "id": "d1"}
    bundle = searchset([match], [include], "http://record/fhir")
    assert [(e["fullUrl"], e["search"]["mode"]) for e in bundle["entry"]] == [
        ("http://record/fhir/Condition/c1", "match"),
        ("http://record/fhir/Practitioner/d1", "include"),
    ]
    assert bundle["entry"][0]["resource"] is match
    assert "entry" not in searchset([], [], "")


# --- Sources ---------------------------------------------------------------------------------

C1 = {"resourceType": "Condition", "id": "c1", "code": {"coding": [{"code": "a"}], "text": "AF"}}
C2 = {"resourceType": "Condition", "id": "c2", "code": {"coding": [{"code": "a"}], "text": "DM"}}
ENVIRONMENT: dict[str, Any] = {
    "patient": PATIENT,
    "conditions": searchset([C1, C2], [], ""),
    "questionnaire": {"resourceType": "Questionnaire", "id": "q"},
    "nothing": None,
}


def test_given_variables_then_the_resources_read_open_searches_and_skip_the_form() -> None:
    read = resources_read(ENVIRONMENT, ["patient", "conditions", "questionnaire", "nothing"])
    assert [r["id"] for r in read] == ["p 1/x", "c1", "c2"]


def test_given_a_node_of_one_resource_then_that_resource_is_the_source() -> None:
    read = resources_read(ENVIRONMENT, ["patient", "conditions"])
    assert sources_of(C2["code"]["coding"][0], read) == ["Condition/c2"]
    assert sources_of(C1["code"]["text"], read) == ["Condition/c1"]
    assert sources_of(PATIENT["birthDate"], read) == ["Patient/p 1/x"]


def test_given_a_computed_value_then_every_resource_read_is_a_source() -> None:
    only_patient = resources_read(ENVIRONMENT, ["patient"])
    assert sources_of("Doreen May", only_patient) == ["Patient/p 1/x"]
    conditions = resources_read(ENVIRONMENT, ["conditions"])
    assert sources_of(2, conditions) == ["Condition/c1", "Condition/c2"]
    assert sources_of({"code": "a"}, conditions) == ["Condition/c1", "Condition/c2"]


def test_given_a_source_then_the_extension_names_kind_and_reference() -> None:
    assert prefill_source("observation", ["Observation/o1"]) == {
        "url": "https://onestory.example.nhs.uk/StructureDefinition/prefill-source",
        "extension": [
            {"url": "kind", "valueCode": "observation"},
            {"url": "source", "valueReference": {"reference": "Observation/o1"}},
        ],
    }
    assert len(prefill_source("expression", [])["extension"]) == 1
    assert len(prefill_source("expression", ["Condition/a", "Condition/b"])["extension"]) == 3


# --- Observations ----------------------------------------------------------------------------

NOW = datetime(2026, 8, 31, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("duration", "start"),
    [
        ({"value": 6, "code": "mo"}, datetime(2026, 2, 28, 12, 0, tzinfo=UTC)),
        ({"value": 1, "code": "a"}, datetime(2025, 8, 31, 12, 0, tzinfo=UTC)),
        ({"value": 14, "code": "d"}, datetime(2026, 8, 17, 12, 0, tzinfo=UTC)),
        ({"value": 2, "code": "wk"}, datetime(2026, 8, 17, 12, 0, tzinfo=UTC)),
        ({"value": 3, "unit": "months"}, datetime(2026, 5, 31, 12, 0, tzinfo=UTC)),
        ({"value": 1.5, "code": "h"}, datetime(2026, 8, 31, 10, 30, tzinfo=UTC)),
    ],
)
def test_given_a_link_period_then_it_starts_that_long_before_now(
    duration: dict[str, Any], start: datetime
) -> None:
    assert period_start(duration, NOW) == start


@pytest.mark.parametrize(
    "duration",
    [
        {"code": "mo"},
        {"value": 1, "code": "fortnight"},
        {"value": -1, "code": "d"},
        {"value": 1.5, "code": "mo"},
    ],
)
def test_given_a_link_period_that_says_nothing_usable_then_value_error(
    duration: dict[str, Any],
) -> None:
    with pytest.raises(ValueError):
        period_start(duration, NOW)


def test_given_codes_then_the_search_is_for_the_newest_final_one_in_the_period() -> None:
    codes = [{"system": "http://snomed.info/sct", "code": "763264000"}, {"code": "local"}]
    assert latest_search("p1", codes, NOW) == [
        ("subject", "Patient/p1"),
        ("code", "http://snomed.info/sct|763264000,local"),
        ("status", "final,amended,corrected"),
        ("date", "ge2026-08-31T12:00:00Z"),
        ("_sort", "-date"),
        ("_count", "1"),
    ]


def test_given_an_observation_then_its_value_is_whichever_value_x_it_has() -> None:
    assert observed_value({"valueInteger": 6, "status": "final"}) == 6
    assert observed_value({"dataAbsentReason": {"text": "declined"}}) is None


# --- Previous answers ------------------------------------------------------------------------


def test_given_a_response_then_answers_are_found_by_link_id_at_any_depth() -> None:
    response = {
        "item": [
            {"linkId": "person", "item": [{"linkId": "notes", "answer": [{"valueString": "a"}]}]},
            {
                "linkId": "falls",
                "answer": [
                    {
                        "valueBoolean": True,
                        "item": [{"linkId": "how-many", "answer": [{"valueInteger": 2}]}],
                    }
                ],
            },
            {"linkId": "notes", "answer": [{"valueString": "second time"}]},
            {"linkId": "unanswered"},
        ]
    }
    assert answers_by_link_id(response) == {
        "notes": [{"valueString": "a"}],
        "falls": response["item"][1]["answer"],
        "how-many": [{"valueInteger": 2}],
    }


def test_given_a_canonical_and_an_id_then_the_search_names_both() -> None:
    params = dict(previous_search("p1", "https://x/Questionnaire/q", "q"))
    assert params["questionnaire"] == "https://x/Questionnaire/q,Questionnaire/q"
    assert params["status"] == "completed,amended"
    assert dict(previous_search("p1", "https://x/Questionnaire/q", None))["questionnaire"] == (
        "https://x/Questionnaire/q"
    )


# --- Reading the extensions --------------------------------------------------------------------


def test_given_the_shipped_intake_then_its_extensions_read_as_declared() -> None:
    intake = next(q for q in shipped() if q["id"] == "referral-intake")
    assert launch_contexts(intake) == [LaunchContext("patient", ("Patient",))]
    assert [v.name for v in variables(intake)] == ["carers", "conditions", "allergies"]
    assert all(v.language == "application/x-fhir-query" for v in variables(intake))
    groups = {g["linkId"]: g for g in intake["item"]}
    family = next(i for i in groups["person"]["item"] if i["linkId"] == "family-name")
    assert initial_expression(family) == Expression(
        "text/fhirpath", "(%patient.name.where(use = 'official') | %patient.name).first().family"
    )
    assert not offers_previous_answer(groups["consent"])
    assert offers_previous_answer(groups["person"])
