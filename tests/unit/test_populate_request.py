"""Reading $populate's Parameters: what is asked for, or a 400 saying what is wrong."""

from __future__ import annotations

from typing import Any

import pytest

from services.record.operations.populate import populate_request
from shared.errors import FhirError

SUBJECT = {"name": "subject", "valueReference": {"reference": "Patient/p1"}}
CANONICAL = {"name": "canonical", "valueCanonical": "https://x/Questionnaire/q|1.0.0"}


def body(*given: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Parameters", "parameter": list(given)}


def test_given_a_canonical_and_subject_then_both_are_read() -> None:
    asked = populate_request(
        body(CANONICAL, SUBJECT, {"name": "local", "valueBoolean": True}), instance=False
    )
    assert asked.subject == "Patient/p1"
    assert asked.naming == CANONICAL
    assert asked.contexts == []


def test_given_the_instance_form_then_naming_parameters_are_ignored() -> None:
    asked = populate_request(body(CANONICAL, SUBJECT), instance=True)
    assert asked.naming is None
    assert populate_request(body(SUBJECT), instance=True).subject == "Patient/p1"


def test_given_launch_contexts_then_each_name_and_content_is_kept_in_order() -> None:
    user = {
        "name": "launchContext",
        "part": [
            {"name": "name", "valueCoding": {"code": "user"}},
            {"name": "content", "valueReference": {"reference": "Practitioner/d1"}},
        ],
    }
    encounter = {
        "name": "context",
        "part": [
            {"name": "name", "valueString": "encounter"},
            {"name": "content", "resource": {"resourceType": "Encounter", "id": "e1"}},
        ],
    }
    asked = populate_request(body(SUBJECT, user, encounter), instance=True)
    assert [name for name, _ in asked.contexts] == ["user", "encounter"]
    assert asked.contexts[1][1]["resource"]["id"] == "e1"


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ([], "'subject'"),
        ([CANONICAL], "'subject'"),
        ([SUBJECT], "exactly one"),
        ([SUBJECT, CANONICAL, {"name": "questionnaireRef", "valueReference": {}}], "exactly one"),
        ([SUBJECT, CANONICAL, CANONICAL], "given twice"),
        ([SUBJECT, CANONICAL, {"name": "content", "valueReference": {}}], "not 'content'"),
        ([{"name": "subject", "valueString": "Patient/p1"}, CANONICAL], "valueReference"),
        (
            [SUBJECT, CANONICAL, {"name": "launchContext", "part": [{"name": "name"}]}],
            "launch context",
        ),
    ],
)
def test_given_parameters_that_do_not_make_a_request_then_400(
    given: list[dict[str, Any]], said: str
) -> None:
    with pytest.raises(FhirError) as raised:
        populate_request(body(*given), instance=False)
    assert raised.value.status == 400
    assert said in raised.value.diagnostics


@pytest.mark.parametrize(
    "wrong",
    [
        None,
        [],
        "Parameters",
        {"resourceType": "Patient"},
        {"resourceType": "Parameters", "parameter": "x"},
    ],
)
def test_given_a_body_that_is_not_parameters_then_400(wrong: Any) -> None:
    with pytest.raises(FhirError) as raised:
        populate_request(wrong, instance=False)
    assert raised.value.status == 400
