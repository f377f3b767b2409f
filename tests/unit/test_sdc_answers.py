"""A value from the record becomes an answer only when it is of the type the question asks."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.record.sdc.answers import fits_as_is, typed_answer

GENDER = "http://hl7.org/fhir/administrative-gender"
FEMALE = {"system": GENDER, "code": "female", "display": "Female"}
MALE = {"system": GENDER, "code": "male", "display": "Male"}
CHOICE = {
    "linkId": "g",
    "type": "choice",
    "answerOption": [{"valueCoding": FEMALE}, {"valueCoding": MALE}],
}
QUANTITY = {"value": 61.5, "unit": "kg", "system": "http://unitsofmeasure.org", "code": "kg"}


def question(kind: str, **extra: Any) -> dict[str, Any]:
    return {"linkId": "q", "type": kind, **extra}


@pytest.mark.parametrize(
    ("kind", "value", "answer"),
    [
        ("boolean", True, {"valueBoolean": True}),
        ("integer", 6, {"valueInteger": 6}),
        ("integer", 6.0, {"valueInteger": 6}),
        ("integer", {"value": 6, "unit": "{score}"}, {"valueInteger": 6}),
        ("decimal", Decimal("1.5"), {"valueDecimal": 1.5}),
        ("decimal", QUANTITY, {"valueDecimal": 61.5}),
        ("string", "Doreen", {"valueString": "Doreen"}),
        ("text", "Key safe by the door", {"valueString": "Key safe by the door"}),
        ("url", "https://example.org", {"valueUri": "https://example.org"}),
        ("date", "1938-04-02", {"valueDate": "1938-04-02"}),
        ("date", "1938-04", {"valueDate": "1938-04"}),
        ("date", "2026-10-01T10:00:00Z", {"valueDate": "2026-10-01"}),
        ("dateTime", "2026-10-01T10:00:00+01:00", {"valueDateTime": "2026-10-01T10:00:00+01:00"}),
        ("dateTime", "2026-10-01", {"valueDateTime": "2026-10-01"}),
        ("time", "09:30:00", {"valueTime": "09:30:00"}),
        ("quantity", QUANTITY, {"valueQuantity": QUANTITY}),
        (
            "reference",
            {"reference": "Organization/o", "display": "Surgery"},
            {"valueReference": {"reference": "Organization/o", "display": "Surgery"}},
        ),
        (
            "reference",
            {"resourceType": "RelatedPerson", "id": "r1", "name": []},
            {"valueReference": {"reference": "RelatedPerson/r1"}},
        ),
        (
            "attachment",
            {"url": "https://x/y.pdf", "title": "Plan"},
            {"valueAttachment": {"url": "https://x/y.pdf", "title": "Plan"}},
        ),
    ],
)
def test_given_a_value_of_the_asked_type_then_it_is_the_answer(
    kind: str, value: Any, answer: dict[str, Any]
) -> None:
    assert typed_answer(question(kind), value) == answer


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("boolean", "true"),
        ("boolean", 1),
        ("integer", True),
        ("integer", 6.5),
        ("integer", "6"),
        ("decimal", "1.5"),
        ("string", 42),
        ("string", ""),
        ("string", {"code": "x"}),
        ("date", "yesterday"),
        ("date", 19380402),
        ("dateTime", "2026-10-01T10:00"),
        ("time", "9.30"),
        ("quantity", 61.5),
        ("reference", "Organization/o"),
        ("attachment", {"title": "no content"}),
        ("group", "anything"),
        ("display", "anything"),
    ],
)
def test_given_a_value_of_another_type_then_there_is_no_answer(kind: str, value: Any) -> None:
    assert typed_answer(question(kind), value) is None


def test_given_a_choice_then_a_code_coding_or_concept_picks_the_option_with_its_display() -> None:
    assert typed_answer(CHOICE, "female") == {"valueCoding": FEMALE}
    assert typed_answer(CHOICE, {"system": GENDER, "code": "male"}) == {"valueCoding": MALE}
    assert typed_answer(CHOICE, {"code": "male"}) == {"valueCoding": MALE}
    concept = {"coding": [{"system": "other", "code": "m"}, {"system": GENDER, "code": "male"}]}
    assert typed_answer(CHOICE, concept) == {"valueCoding": MALE}


def test_given_a_choice_then_anything_not_an_option_is_no_answer() -> None:
    assert typed_answer(CHOICE, "unknown") is None
    assert typed_answer(CHOICE, {"system": "other", "code": "female"}) is None
    assert typed_answer(CHOICE, True) is None


def test_given_a_choice_of_strings_then_an_equal_string_is_the_option() -> None:
    item = question("choice", answerOption=[{"valueString": "yes"}, {"valueString": "no"}])
    assert typed_answer(item, "no") == {"valueString": "no"}
    assert typed_answer(item, "maybe") is None


def test_given_a_choice_without_options_then_any_coding_answers() -> None:
    coding = {"system": "http://snomed.info/sct", "code": "49436004"}
    assert typed_answer(question("choice"), {"coding": [coding]}) == {"valueCoding": coding}
    assert typed_answer(question("choice"), "49436004") is None


def test_given_an_open_choice_then_codings_and_free_text_both_answer() -> None:
    coding = {"system": "http://snomed.info/sct", "code": "91936005"}
    open_choice = {**CHOICE, "type": "open-choice"}
    assert typed_answer(open_choice, coding) == {"valueCoding": coding}
    assert typed_answer(open_choice, "female") == {"valueCoding": FEMALE}
    assert typed_answer(open_choice, "Penicillin") == {"valueString": "Penicillin"}
    assert typed_answer(open_choice, 3) is None


def test_given_a_previous_answer_then_it_fits_only_unchanged() -> None:
    assert fits_as_is(question("text"), {"valueString": "Key safe"}) == {"valueString": "Key safe"}
    assert fits_as_is(question("integer"), {"valueString": "3"}) is None
    assert fits_as_is(question("date"), {"valueDateTime": "2026-10-01T10:00:00Z"}) is None
    assert fits_as_is(CHOICE, {"valueCoding": FEMALE}) == {"valueCoding": FEMALE}
    retired = {"system": GENDER, "code": "other"}
    assert fits_as_is(CHOICE, {"valueCoding": retired}) is None
    assert fits_as_is(question("string"), {"item": []}) is None


@given(st.integers(min_value=-(2**53), max_value=2**53))
def test_given_any_whole_number_then_integer_and_decimal_answers_keep_it(number: int) -> None:
    assert typed_answer(question("integer"), number) == {"valueInteger": number}
    assert typed_answer(question("integer"), Decimal(number)) == {"valueInteger": number}
    assert typed_answer(question("decimal"), number) == {"valueDecimal": number}


@given(st.text())
def test_given_any_text_then_a_string_question_takes_it_unless_empty(text: str) -> None:
    expected = {"valueString": text} if text else None
    assert typed_answer(question("string"), text) == expected
    assert typed_answer(question("boolean"), text) is None
