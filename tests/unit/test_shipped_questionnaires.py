"""The Questionnaires OneStory ships: valid FHIR, named as agreed, and every pre-fill rule in
them is one the record can run."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from services.record.questionnaires import CANONICAL_BASE, FOLDER, shipped
from services.record.sdc.answers import typed_answer
from services.record.sdc.extensions import (
    FHIR_QUERY,
    FHIRPATH,
    initial_expression,
    observation_link_period,
    variables,
)
from services.record.sdc.observations import period_start
from services.record.sdc.queries import split
from shared.fhir.fhirpath import compile_path
from shared.fhir.queryparser import parse_search
from shared.fhir.validation import validate

NAMES = ["about-me", "dsr-risk-review", "holistic-assessment", "referral-intake"]
QUESTIONNAIRES = {q["id"]: q for q in shipped()}


def all_items(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for item in items:
        yield item
        yield from all_items(item.get("item", []))


def test_given_the_folder_then_each_file_is_one_questionnaire_named_by_its_id() -> None:
    assert sorted(p.stem for p in FOLDER.glob("*.json")) == NAMES
    assert sorted(QUESTIONNAIRES) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_given_a_shipped_questionnaire_then_it_is_valid_active_versioned_and_canonical(
    name: str,
) -> None:
    questionnaire = QUESTIONNAIRES[name]
    validate(questionnaire)  # the record's own validation: raises a 422 FhirError if not
    assert questionnaire["url"] == CANONICAL_BASE + name
    assert questionnaire["status"] == "active"
    assert questionnaire["version"]
    assert questionnaire["subjectType"] == ["Patient"]
    link_ids = [item["linkId"] for item in all_items(questionnaire["item"])]
    assert len(link_ids) == len(set(link_ids))


@pytest.mark.parametrize("name", NAMES)
def test_given_a_shipped_questionnaire_then_every_expression_compiles_and_query_parses(
    name: str,
) -> None:
    questionnaire = QUESTIONNAIRES[name]
    elements = [questionnaire, *all_items(questionnaire["item"])]
    for variable in (v for element in elements for v in variables(element)):
        assert variable.language in (FHIRPATH, FHIR_QUERY)
        if variable.language == FHIRPATH:
            compile_path(variable.expression)
        else:
            resource_type, params = split(variable.expression.replace("{{%patient.id}}", "p1"))
            parse_search(resource_type, params, strict=True)
    for item in all_items(questionnaire["item"]):
        expression = initial_expression(item)
        if expression is not None:
            assert expression.language == FHIRPATH
            compile_path(expression.expression)


@pytest.mark.parametrize("name", NAMES)
def test_given_a_coded_item_with_a_link_period_then_the_period_is_usable(name: str) -> None:
    for item in all_items(QUESTIONNAIRES[name]["item"]):
        period = observation_link_period(item)
        if period is not None:
            assert item["code"]
            assert period_start(period, datetime.now(UTC)) < datetime.now(UTC)


def test_given_the_intake_then_gender_options_take_the_patient_gender_codes() -> None:
    intake = QUESTIONNAIRES["referral-intake"]
    (gender,) = [i for i in all_items(intake["item"]) if i["linkId"] == "gender"]
    for code in ("female", "male", "other", "unknown"):
        answer = typed_answer(gender, code)
        assert answer is not None and answer["valueCoding"]["code"] == code
