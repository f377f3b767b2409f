"""``Questionnaire/$populate`` against the real record: asked once, offered back.

Each test makes a person of its own (a made-up family name), so other tests' data in the same
database never answers for them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from shared.auth.devissuer import DevIssuer
from tests.support.fhir import unique
from tests.support.populating import (
    AF,
    DIABETES,
    INTAKE,
    PENICILLIN,
    SHIPPED,
    SITE,
    answers,
    known_person,
    link_ids,
    parameters,
    populate,
    subject,
    subject_parameter,
)
from tests.support.search import create
from tests.support.services import record_service

Resource = dict[str, Any]


@pytest.fixture
async def known(fhir: httpx.AsyncClient) -> dict[str, Resource]:
    """A person the record knows well: carers, conditions, an allergy, observations inside and
    outside the link period, and a previous intake."""
    return await known_person(fhir)


# --- Shipped Questionnaires ---------------------------------------------------------------------


async def test_given_a_started_record_then_the_shipped_questionnaires_are_there(
    fhir: httpx.AsyncClient,
) -> None:
    for name in SHIPPED:
        answer = await fhir.get(f"Questionnaire/{name}")
        assert answer.status_code == 200, answer.text
        questionnaire = answer.json()
        assert questionnaire["url"] == f"{SITE}Questionnaire/{name}"
        assert questionnaire["status"] == "active" and questionnaire["version"]
    statement = (await fhir.get("metadata")).json()
    (resource,) = [r for r in statement["rest"][0]["resource"] if r["type"] == "Questionnaire"]
    assert "populate" in [o["name"] for o in resource["operation"]]


@pytest.mark.slow
async def test_given_the_record_restarts_then_no_questionnaire_gets_a_new_version(
    fhir: httpx.AsyncClient, database_url: str, auth_dir: Path, issuer: DevIssuer
) -> None:
    before = [await versions(fhir, name) for name in SHIPPED]
    again = record_service(database_url, data_dir=str(auth_dir)).start()
    again.stop()
    assert [await versions(fhir, name) for name in SHIPPED] == before


async def versions(fhir: httpx.AsyncClient, name: str) -> list[str]:
    history = (await fhir.get(f"Questionnaire/{name}/_history")).json()
    return [e["resource"]["meta"]["versionId"] for e in history.get("entry", [])]


# --- Pre-filling --------------------------------------------------------------------------------


async def test_given_a_well_known_person_when_populating_the_intake_then_what_is_known_is_offered(
    fhir: httpx.AsyncClient, known: dict[str, Resource]
) -> None:
    patient = known["patient"]
    body = parameters(
        {"name": "canonical", "valueCanonical": INTAKE},
        subject_parameter(patient),
        {"name": "local", "valueBoolean": True},
    )

    filled, issues = await populate(fhir, "Questionnaire/$populate", body)

    def ref(key: str) -> str:
        return f"{known[key]['resourceType']}/{known[key]['id']}"

    me, previous = f"Patient/{patient['id']}", ref("previous")
    assert answers(filled) == {
        "nhs-number": [(patient["identifier"][0]["value"], "expression", me)],
        "family-name": [(patient["name"][1]["family"], "expression", me)],
        "given-names": [("Doreen May", "expression", me)],
        "birth-date": [("1938-04-02", "expression", me)],
        "gender": [
            (
                {
                    "system": "http://hl7.org/fhir/administrative-gender",
                    "code": "female",
                    "display": "Female",
                },
                "expression",
                me,
            )
        ],
        "address-line": [("Flat 2, 12 Albert Road", "expression", me)],
        "address-town": [("Southsea", "expression", me)],
        "postcode": [("PO4 0LE", "expression", me)],
        "phone": [("07700 900123", "expression", me)],
        "gp-practice": [({"reference": ref("practice")}, "expression", me)],
        "communication-needs": [
            ("Hard of hearing: face her and speak clearly", "previous-answer", previous)
        ],
        "access-notes": [
            ("Key safe by the back door; code from Alan", "previous-answer", previous)
        ],
        "carer-name": [("Alan Hughes", "expression", ref("carer"))],
        "carer-phone": [("07700 900456", "expression", ref("carer"))],
        "known-conditions": [
            (AF, "expression", ref("af")),
            (DIABETES, "expression", ref("diabetes")),
        ],
        "allergies": [(PENICILLIN, "expression", ref("allergy"))],
        "frailty-score": [(6, "observation", ref("frailty"))],
    }
    assert issues == []
    assert filled["status"] == "in-progress"
    assert filled["questionnaire"] == INTAKE + "|1.0.0"
    assert filled["subject"] == {"reference": f"Patient/{patient['id']}"}
    authored = datetime.fromisoformat(filled["authored"])
    assert abs(authored - datetime.now(UTC)) < timedelta(minutes=5)
    stored = (await fhir.get("Questionnaire/referral-intake")).json()
    assert link_ids(filled["item"]) == link_ids(stored["item"])


async def test_given_a_person_with_only_a_name_then_only_the_name_is_offered(
    fhir: httpx.AsyncClient,
) -> None:
    family = unique("Family")
    patient = await create(
        fhir, {"resourceType": "Patient", "name": [{"family": family, "given": ["Ivy"]}]}
    )
    body = parameters(subject_parameter(patient))

    filled, issues = await populate(fhir, "Questionnaire/referral-intake/$populate", body)

    me = f"Patient/{patient['id']}"
    assert answers(filled) == {
        "family-name": [(family, "expression", me)],
        "given-names": [("Ivy", "expression", me)],
    }
    assert issues == []


async def test_given_every_way_of_naming_the_questionnaire_then_each_finds_it(
    fhir: httpx.AsyncClient,
) -> None:
    patient = await create(fhir, {"resourceType": "Patient", "name": [{"family": unique("F")}]})
    stored = (await fhir.get("Questionnaire/about-me")).json()
    inline = {k: v for k, v in stored.items() if k not in ("id", "meta")}
    namings = [
        {
            "name": "canonical",
            "valueCanonical": f"{SITE}Questionnaire/about-me|{stored['version']}",
        },
        {"name": "identifier", "valueIdentifier": stored["identifier"][0]},
        {"name": "questionnaireRef", "valueReference": {"reference": "Questionnaire/about-me"}},
        {"name": "questionnaire", "resource": inline},
    ]
    for naming in namings:
        filled, _ = await populate(
            fhir, "Questionnaire/$populate", parameters(naming, subject_parameter(patient))
        )
        assert filled["questionnaire"] == f"{SITE}Questionnaire/about-me|{stored['version']}"
        assert link_ids(filled["item"])[:2] == ["preferred-name", "about-me"]


async def test_given_expressions_that_fail_or_misfit_then_warnings_and_nothing_invented(
    fhir: httpx.AsyncClient,
) -> None:
    family = unique("F")
    patient = await create(
        fhir, {"resourceType": "Patient", "name": [{"family": family}], "birthDate": "1950-01-01"}
    )
    sdc = "http://hl7.org/fhir/uv/sdc/StructureDefinition/"

    def initial(expression: str) -> Resource:
        return {
            "url": sdc + "sdc-questionnaire-initialExpression",
            "valueExpression": {"language": "text/fhirpath", "expression": expression},
        }

    questionnaire = {
        "resourceType": "Questionnaire",
        "status": "draft",
        "extension": [
            {
                "url": "http://hl7.org/fhir/StructureDefinition/variable",
                "valueExpression": {
                    "name": "nonsense",
                    "language": "application/x-fhir-query",
                    "expression": "Observation?no-such-parameter=1",
                },
            }
        ],
        "item": [
            {
                "linkId": "family",
                "text": "Family name",
                "type": "string",
                "extension": [initial("%patient.name.family")],
            },
            {
                "linkId": "unknown",
                "text": "?",
                "type": "string",
                "extension": [initial("%nowhere.name")],
            },
            {
                "linkId": "age",
                "text": "Age",
                "type": "integer",
                "extension": [initial("%patient.birthDate")],
            },
            {
                "linkId": "nothing",
                "text": "?",
                "type": "string",
                "extension": [initial("%nonsense.entry")],
            },
        ],
    }
    body = parameters(
        {"name": "questionnaire", "resource": questionnaire}, subject_parameter(patient)
    )

    filled, issues = await populate(fhir, "Questionnaire/$populate", body)

    assert answers(filled) == {"family": [(family, "expression", f"Patient/{patient['id']}")]}
    assert "questionnaire" not in filled
    where = [issue["expression"][0] for issue in issues]
    assert where == [
        "Questionnaire",
        "Questionnaire.repeat(item).where(linkId='unknown')",
        "Questionnaire.repeat(item).where(linkId='age')",
    ]
    assert all(issue["severity"] == "warning" for issue in issues)
    assert "no-such-parameter" in issues[0]["diagnostics"]
    assert "%nowhere is not defined" in issues[1]["diagnostics"]
    assert '"1950-01-01"' in issues[2]["diagnostics"]


async def test_given_a_last_dsr_review_then_its_rating_and_risks_are_offered_back(
    fhir: httpx.AsyncClient,
) -> None:
    patient = await create(fhir, {"resourceType": "Patient", "name": [{"family": unique("F")}]})
    amber = {"system": SITE + "CodeSystem/dsr-rag-rating", "code": "amber", "display": "Amber"}
    review = {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": SITE + "Questionnaire/dsr-risk-review|1.0.0",
        "status": "completed",
        "subject": subject(patient),
        "authored": "2026-10-05T14:00:00Z",
        "item": [
            {
                "linkId": "risk-factors",
                "item": [{"linkId": "risk-carer-crisis", "answer": [{"valueBoolean": True}]}],
            },
            {
                "linkId": "rating",
                "item": [{"linkId": "proposed-rating", "answer": [{"valueCoding": amber}]}],
            },
        ],
    }
    last = await create(fhir, review)
    body = parameters(subject_parameter(patient))

    filled, issues = await populate(fhir, "Questionnaire/dsr-risk-review/$populate", body)

    source = f"QuestionnaireResponse/{last['id']}"
    as_offered = {**amber, "display": "Amber: high risk if support is not put in place soon"}
    assert answers(filled) == {
        "current-rating": [(as_offered, "expression", source)],
        "last-review-date": [("2026-10-05", "expression", source)],
        "risk-carer-crisis": [(True, "previous-answer", source)],
    }
    assert issues == []


# --- Refusals ------------------------------------------------------------------------------------


def raw(*given: Resource) -> bytes:
    return orjson.dumps(parameters(*given))


SOME_PATIENT = {"name": "subject", "valueReference": {"reference": "Patient/x"}}


@pytest.mark.parametrize(
    ("body", "status", "said"),
    [
        (b"{not json", 400, "not valid JSON"),
        (b'{"resourceType": "Patient"}', 400, "takes a Parameters"),
        (raw({"name": "colour", "valueString": "red"}, SOME_PATIENT), 400, "not 'colour'"),
        (raw({"name": "canonical", "valueCanonical": INTAKE}), 400, "'subject'"),
        (raw(SOME_PATIENT), 400, "exactly one"),
    ],
)
async def test_given_a_body_that_is_not_a_populate_request_then_400(
    fhir: httpx.AsyncClient, body: bytes, status: int, said: str
) -> None:
    answer = await fhir.post("Questionnaire/$populate", content=body)
    assert answer.status_code == status, answer.text
    assert answer.json()["resourceType"] == "OperationOutcome"
    assert said in answer.text


async def test_given_an_unknown_questionnaire_then_404_by_id_and_422_by_canonical(
    fhir: httpx.AsyncClient,
) -> None:
    patient = await create(fhir, {"resourceType": "Patient", "name": [{"family": unique("F")}]})
    by_id = await fhir.post(
        "Questionnaire/no-such-form/$populate", json=parameters(subject_parameter(patient))
    )
    assert by_id.status_code == 404, by_id.text
    canonical = {"name": "canonical", "valueCanonical": f"{SITE}Questionnaire/no-such-form"}
    by_canonical = await fhir.post(
        "Questionnaire/$populate", json=parameters(canonical, subject_parameter(patient))
    )
    assert by_canonical.status_code == 422, by_canonical.text
    wrong_version = {"name": "canonical", "valueCanonical": INTAKE + "|0.0.1"}
    by_version = await fhir.post(
        "Questionnaire/$populate", json=parameters(wrong_version, subject_parameter(patient))
    )
    assert by_version.status_code == 422, by_version.text


@pytest.mark.parametrize(
    "reference", ["Organization/someone", "Patient/nobody-by-this-id", "#local"]
)
async def test_given_a_subject_that_is_not_a_patient_in_the_record_then_422(
    fhir: httpx.AsyncClient, reference: str
) -> None:
    body = parameters({"name": "subject", "valueReference": {"reference": reference}})
    answer = await fhir.post("Questionnaire/about-me/$populate", json=body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["resourceType"] == "OperationOutcome"


async def test_given_a_patient_launch_context_for_someone_else_then_422(
    fhir: httpx.AsyncClient,
) -> None:
    one = await create(fhir, {"resourceType": "Patient", "name": [{"family": unique("F")}]})
    other = await create(fhir, {"resourceType": "Patient", "name": [{"family": unique("F")}]})

    def context(patient: Resource) -> Resource:
        return {
            "name": "launchContext",
            "part": [
                {"name": "name", "valueString": "patient"},
                {"name": "content", "valueReference": subject(patient)},
            ],
        }

    same = await fhir.post(
        "Questionnaire/about-me/$populate", json=parameters(subject_parameter(one), context(one))
    )
    assert same.status_code == 200, same.text
    mixed = await fhir.post(
        "Questionnaire/about-me/$populate", json=parameters(subject_parameter(one), context(other))
    )
    assert mixed.status_code == 422, mixed.text
