"""Index values extracted from realistic UK FHIR resources."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from shared.errors import FhirError
from shared.fhir.dates import date_range
from shared.fhir.extract import extract
from shared.fhir.indexvalues import (
    DateValue,
    IndexValues,
    NumberValue,
    QuantityValue,
    ReferenceValue,
    StringValue,
    TokenValue,
    UriValue,
)
from shared.fhir.nodevalues import EARLIEST, LATEST, OPEN_HIGH

NHS_NUMBER = "https://fhir.nhs.uk/Id/nhs-number"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"


def _all(values: IndexValues) -> list[Any]:
    return [
        *values.strings,
        *values.tokens,
        *values.references,
        *values.dates,
        *values.numbers,
        *values.quantities,
        *values.uris,
    ]


def _of(values: IndexValues, param: str) -> list[Any]:
    return [v for v in _all(values) if v.param == param]


def _dates(text: str) -> tuple[int, int]:
    return date_range(text)


def patient() -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": "9000000009",
        "meta": {
            "lastUpdated": "2026-11-22T04:16:03.123456Z",
            "profile": ["https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient"],
            "tag": [{"system": "https://onestory.example/tags", "code": "demo"}],
        },
        "identifier": [
            {
                "system": NHS_NUMBER,
                "value": "9000000009",
                "type": {"text": "NHS Number"},
            }
        ],
        "active": True,
        "name": [{"use": "official", "family": "Ó Súilleabháin", "given": ["Siobhán", "Mary"]}],
        "telecom": [
            {"system": "phone", "value": "023 9282 2444", "use": "home"},
            {"system": "email", "value": "siobhan@example.nhs.uk"},
        ],
        "gender": "female",
        "birthDate": "1968-04-12",
        "address": [
            {
                "line": ["1 Fratton Road", "Fratton"],
                "city": "Portsmouth",
                "district": "Hampshire",
                "postalCode": "PO4 0LE",
                "country": "GB",
            }
        ],
        "generalPractitioner": [{"reference": "Organization/J82001"}],
        "managingOrganization": {
            "identifier": {"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": "R1F"}
        },
    }


def test_given_patient_with_nhs_number_when_extracted_then_identifier_token_has_system_and_value() -> (  # noqa: E501
    None
):
    values = extract(patient())
    assert _of(values, "identifier") == [
        TokenValue("identifier", NHS_NUMBER, "9000000009", "nhs number")
    ]


def test_given_patient_names_when_extracted_then_each_part_is_folded_and_kept_as_written() -> None:
    values = extract(patient())
    assert _of(values, "family") == [StringValue("family", "o suilleabhain", "Ó Súilleabháin")]
    assert {v.value for v in _of(values, "given")} == {"siobhan", "mary"}
    assert {v.value for v in _of(values, "name")} == {"o suilleabhain", "siobhan", "mary"}


def test_given_portsmouth_address_when_extracted_then_every_part_is_a_separate_string() -> None:
    values = extract(patient())
    assert {v.value for v in _of(values, "address")} == {
        "1 fratton road",
        "fratton",
        "portsmouth",
        "hampshire",
        "po4 0le",
        "gb",
    }
    assert _of(values, "address-postalcode") == [
        StringValue("address-postalcode", "po4 0le", "PO4 0LE")
    ]


def test_given_patient_telecom_when_extracted_then_phone_and_email_tokens_are_the_values() -> None:
    values = extract(patient())
    assert _of(values, "phone") == [TokenValue("phone", None, "023 9282 2444")]
    assert _of(values, "email") == [TokenValue("email", None, "siobhan@example.nhs.uk")]
    assert len(_of(values, "telecom")) == 2


def test_given_patient_when_extracted_then_codes_booleans_and_deceased_are_tokens() -> None:
    values = extract(patient())
    assert _of(values, "gender") == [TokenValue("gender", None, "female")]
    assert _of(values, "active") == [TokenValue("active", None, "true")]
    assert _of(values, "deceased") == [TokenValue("deceased", None, "false")]
    assert _of(values, "_id") == [TokenValue("_id", None, "9000000009")]
    assert _of(values, "_tag") == [TokenValue("_tag", "https://onestory.example/tags", "demo")]


def test_given_deceased_date_when_extracted_then_deceased_is_true_and_death_date_indexed() -> None:
    values = extract({**patient(), "deceasedDateTime": "2025-01-03"})
    assert _of(values, "deceased") == [TokenValue("deceased", None, "true")]
    assert _of(values, "death-date") == [DateValue("death-date", *_dates("2025-01-03"))]


def test_given_patient_when_extracted_then_birthdate_and_last_updated_are_ranges() -> None:
    values = extract(patient())
    assert _of(values, "birthdate") == [DateValue("birthdate", *_dates("1968-04-12"))]
    updated = _dates("2026-11-22T04:16:03.123456Z")
    assert updated[0] == updated[1]
    assert _of(values, "_lastUpdated") == [DateValue("_lastUpdated", *updated)]


def test_given_patient_references_when_extracted_then_literal_and_logical_are_kept() -> None:
    values = extract(patient())
    assert _of(values, "general-practitioner") == [
        ReferenceValue("general-practitioner", "Organization", "J82001")
    ]
    assert _of(values, "organization") == [
        ReferenceValue(
            "organization",
            None,
            None,
            identifier_system="https://fhir.nhs.uk/Id/ods-organization-code",
            identifier_value="R1F",
        )
    ]


def test_given_patient_profile_when_extracted_then_it_is_a_uri() -> None:
    values = extract(patient())
    assert _of(values, "_profile") == [
        UriValue("_profile", "https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient")
    ]


def observation() -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": "weight-1",
        "meta": {"lastUpdated": "2026-11-22T04:16:03Z"},
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "vital-signs",
                    }
                ]
            }
        ],
        "code": {
            "coding": [{"system": SNOMED, "code": "27113001", "display": "Body weight"}],
            "text": "Weight",
        },
        "subject": {"reference": "Patient/9000000009"},
        "effectiveDateTime": "2026-11-21T10:30:00+00:00",
        "valueQuantity": {"value": 72.5, "unit": "kg", "system": UCUM, "code": "kg"},
    }


def test_given_observation_code_when_extracted_then_coding_and_text_rows_are_tokens() -> None:
    values = extract(observation())
    assert _of(values, "code") == [
        TokenValue("code", SNOMED, "27113001", "body weight"),
        TokenValue("code", None, None, "weight"),
    ]


def test_given_observation_value_quantity_when_extracted_then_quantity_has_implied_range() -> None:
    values = extract(observation())
    assert _of(values, "value-quantity") == [
        QuantityValue(
            "value-quantity",
            Decimal("72.5"),
            Decimal("72.45"),
            Decimal("72.55"),
            UCUM,
            "kg",
            "kg",
        )
    ]


def test_given_observation_effective_date_time_when_extracted_then_date_is_that_second() -> None:
    values = extract(observation())
    assert _of(values, "date") == [DateValue("date", *_dates("2026-11-21T10:30:00Z"))]


def test_given_observation_subject_patient_when_extracted_then_patient_and_subject_match() -> None:
    values = extract(observation())
    expected = ("Patient", "9000000009")
    assert [(v.target_type, v.target_id) for v in _of(values, "patient")] == [expected]
    assert [(v.target_type, v.target_id) for v in _of(values, "subject")] == [expected]


def test_given_observation_subject_group_when_extracted_then_patient_is_not_indexed() -> None:
    values = extract({**observation(), "subject": {"reference": "Group/ward-f2"}})
    assert _of(values, "patient") == []
    assert _of(values, "subject") == [ReferenceValue("subject", "Group", "ward-f2")]


def test_given_condition_with_snomed_code_and_onset_when_extracted_then_both_indexed() -> None:
    condition = {
        "resourceType": "Condition",
        "id": "c1",
        "clinicalStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": "active",
                }
            ]
        },
        "code": {"coding": [{"system": SNOMED, "code": "44054006", "display": "Diabetes"}]},
        "subject": {"reference": "Patient/9000000009"},
        "onsetDateTime": "2019-06",
        "recordedDate": "2019-06-14",
    }
    values = extract(condition)
    assert _of(values, "code") == [TokenValue("code", SNOMED, "44054006", "diabetes")]
    assert _of(values, "onset-date") == [DateValue("onset-date", *_dates("2019-06"))]
    assert _of(values, "clinical-status")[0].code == "active"
    assert _of(values, "recorded-date") == [DateValue("recorded-date", *_dates("2019-06-14"))]


def test_given_encounter_with_period_and_class_when_extracted_then_date_spans_the_period() -> None:
    encounter = {
        "resourceType": "Encounter",
        "id": "e1",
        "status": "finished",
        "class": {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
            "code": "AMB",
            "display": "ambulatory",
        },
        "subject": {"reference": "Patient/9000000009"},
        "period": {"start": "2026-11-20T09:00:00Z", "end": "2026-11-20T09:20:00Z"},
    }
    values = extract(encounter)
    assert _of(values, "class") == [
        TokenValue("class", "http://terminology.hl7.org/CodeSystem/v3-ActCode", "AMB", "ambulatory")
    ]
    start, end = _dates("2026-11-20T09:00:00Z")[0], _dates("2026-11-20T09:20:00Z")[1]
    assert _of(values, "date") == [DateValue("date", start, end)]


def test_given_open_period_when_extracted_then_the_open_end_reaches_the_far_future() -> None:
    episode = {
        "resourceType": "EpisodeOfCare",
        "id": "eoc1",
        "status": "active",
        "type": [{"coding": [{"system": SNOMED, "code": "394802001"}]}],
        "patient": {"reference": "Patient/9000000009"},
        "managingOrganization": {"reference": "Organization/R1F"},
        "period": {"start": "2026-01-05"},
        "careManager": {"reference": "Practitioner/C1234567"},
    }
    values = extract(episode)
    assert _of(values, "date") == [DateValue("date", _dates("2026-01-05")[0], LATEST)]
    assert _of(values, "care-manager") == [
        ReferenceValue("care-manager", "Practitioner", "C1234567")
    ]
    assert _of(values, "patient") == [ReferenceValue("patient", "Patient", "9000000009")]


def test_given_service_request_when_extracted_then_subject_requester_codes_and_date_indexed() -> (
    None
):
    request = {
        "resourceType": "ServiceRequest",
        "id": "sr1",
        "status": "active",
        "intent": "order",
        "category": [{"coding": [{"system": SNOMED, "code": "306206005", "display": "Referral"}]}],
        "priority": "urgent",
        "code": {"text": "Community nursing referral"},
        "subject": {"reference": "https://fhir.portsmouth.example/R4/Patient/9000000009"},
        "requester": {"reference": "Practitioner/G8123456"},
        "authoredOn": "2026-11-21T14:02:00+00:00",
    }
    values = extract(request)
    assert _of(values, "subject") == [
        ReferenceValue(
            "subject",
            "Patient",
            "9000000009",
            "https://fhir.portsmouth.example/R4/Patient/9000000009",
        )
    ]
    assert _of(values, "requester") == [ReferenceValue("requester", "Practitioner", "G8123456")]
    assert _of(values, "priority") == [TokenValue("priority", None, "urgent")]
    assert _of(values, "category")[0].code == "306206005"
    assert _of(values, "code") == [TokenValue("code", None, None, "community nursing referral")]
    assert _of(values, "authored") == [DateValue("authored", *_dates("2026-11-21T14:02:00Z"))]


def test_given_task_when_extracted_then_for_focus_owner_and_execution_period_indexed() -> None:
    # R4 has no search parameter on Task.restriction.period: "period" is Task.executionPeriod.
    task = {
        "resourceType": "Task",
        "id": "t1",
        "status": "requested",
        "intent": "order",
        "for": {"reference": "Patient/9000000009"},
        "focus": {"reference": "ServiceRequest/sr1/_history/3"},
        "owner": {"reference": "Organization/R1F"},
        "executionPeriod": {"start": "2026-11-22", "end": "2026-11-29"},
        "restriction": {"period": {"start": "2026-11-22", "end": "2026-12-31"}},
    }
    values = extract(task)
    assert _of(values, "patient") == [ReferenceValue("patient", "Patient", "9000000009")]
    assert _of(values, "subject") == [ReferenceValue("subject", "Patient", "9000000009")]
    assert _of(values, "focus") == [ReferenceValue("focus", "ServiceRequest", "sr1")]
    assert _of(values, "owner") == [ReferenceValue("owner", "Organization", "R1F")]
    period = DateValue("period", _dates("2026-11-22")[0], _dates("2026-11-29")[1])
    assert _of(values, "period") == [period]


def test_given_care_team_when_extracted_then_participants_and_subject_are_references() -> None:
    team = {
        "resourceType": "CareTeam",
        "id": "ct1",
        "status": "active",
        "subject": {"reference": "Patient/9000000009"},
        "participant": [
            {"member": {"reference": "Practitioner/p1"}},
            {"member": {"reference": "RelatedPerson/rp1"}},
        ],
        "period": {"end": "2027-01-01"},
    }
    values = extract(team)
    assert {v.target_type for v in _of(values, "participant")} == {"Practitioner", "RelatedPerson"}
    assert _of(values, "patient") == [ReferenceValue("patient", "Patient", "9000000009")]
    assert _of(values, "date") == [DateValue("date", EARLIEST, _dates("2027-01-01")[1])]


def test_given_consent_when_extracted_then_scope_category_patient_and_date_indexed() -> None:
    consent = {
        "resourceType": "Consent",
        "id": "cons1",
        "status": "active",
        "scope": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/consentscope",
                    "code": "patient-privacy",
                }
            ]
        },
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
        "patient": {"reference": "Patient/9000000009"},
        "dateTime": "2026-10-01T12:00:00Z",
        "sourceReference": {"reference": "DocumentReference/d1"},
    }
    values = extract(consent)
    assert _of(values, "scope")[0].code == "patient-privacy"
    assert _of(values, "category") == [TokenValue("category", "http://loinc.org", "59284-0")]
    assert _of(values, "patient") == [ReferenceValue("patient", "Patient", "9000000009")]
    assert _of(values, "date") == [DateValue("date", *_dates("2026-10-01T12:00:00Z"))]
    assert _of(values, "source-reference") == [
        ReferenceValue("source-reference", "DocumentReference", "d1")
    ]


def test_given_flag_when_extracted_then_subject_patient_and_period_indexed() -> None:
    flag = {
        "resourceType": "Flag",
        "id": "f1",
        "status": "active",
        "code": {"text": "Key safe at front door"},
        "subject": {"reference": "Patient/9000000009"},
        "period": {"start": "2026-11-01"},
        "author": {"reference": "Practitioner/p1"},
    }
    values = extract(flag)
    assert _of(values, "patient") == [ReferenceValue("patient", "Patient", "9000000009")]
    assert _of(values, "date") == [DateValue("date", _dates("2026-11-01")[0], LATEST)]
    assert _of(values, "author") == [ReferenceValue("author", "Practitioner", "p1")]


def test_given_subscription_when_extracted_then_criteria_string_and_url_are_indexed() -> None:
    criteria = "Flag?patient=Patient/9000000009"
    subscription = {
        "resourceType": "Subscription",
        "id": "s1",
        "status": "active",
        "reason": "Notify the ward of new flags",
        "criteria": criteria,
        "channel": {"type": "rest-hook", "endpoint": "https://ward.example.nhs.uk/hook"},
    }
    values = extract(subscription)
    assert _of(values, "criteria") == [
        StringValue("criteria", "flag?patient=patient/9000000009", criteria)
    ]
    assert _of(values, "url") == [UriValue("url", "https://ward.example.nhs.uk/hook")]
    assert _of(values, "type") == [TokenValue("type", None, "rest-hook")]


def test_given_questionnaire_response_when_extracted_then_canonical_sets_url_and_target() -> None:
    response = {
        "resourceType": "QuestionnaireResponse",
        "id": "qr1",
        "status": "completed",
        "questionnaire": "https://onestory.example/fhir/Questionnaire/falls-risk|2.0",
        "subject": {
            "reference": "urn:uuid:4f0c53c7-8c3b-4c0e-9f4f-3a1a4b0c2d11",
            "type": "Patient",
        },
        "authored": "2026-11-21",
    }
    values = extract(response)
    assert _of(values, "questionnaire") == [
        ReferenceValue(
            "questionnaire",
            "Questionnaire",
            "falls-risk",
            "https://onestory.example/fhir/Questionnaire/falls-risk",
        )
    ]
    assert _of(values, "subject") == [
        ReferenceValue("subject", "Patient", None, "urn:uuid:4f0c53c7-8c3b-4c0e-9f4f-3a1a4b0c2d11")
    ]


def test_given_contained_reference_when_extracted_then_it_is_skipped() -> None:
    values = extract({**observation(), "performer": [{"reference": "#p1"}]})
    assert _of(values, "performer") == []


def test_given_risk_assessment_when_extracted_then_probability_is_a_number_range() -> None:
    assessment = {
        "resourceType": "RiskAssessment",
        "id": "ra1",
        "status": "final",
        "subject": {"reference": "Patient/9000000009"},
        "prediction": [{"probabilityDecimal": 0.25}, {"probabilityDecimal": 0.25}],
    }
    values = extract(assessment)
    assert _of(values, "probability") == [
        NumberValue("probability", Decimal("0.25"), Decimal("0.245"), Decimal("0.255"))
    ]


def test_given_condition_onset_age_range_when_extracted_then_quantity_spans_the_range() -> None:
    condition = {
        "resourceType": "Condition",
        "onsetRange": {"low": {"value": 40, "unit": "a", "system": UCUM, "code": "a"}},
    }
    values = extract(condition)
    assert _of(values, "onset-age") == [
        QuantityValue("onset-age", Decimal(40), Decimal(40), OPEN_HIGH, UCUM, "a", "a")
    ]


def test_given_unparseable_date_when_extracted_then_it_is_skipped_not_fatal() -> None:
    values = extract({**patient(), "birthDate": "12/04/1968"})
    assert _of(values, "birthdate") == []


def test_given_duplicate_values_when_extracted_then_each_is_indexed_once() -> None:
    resource = patient()
    resource["name"].append({"family": "Ó Súilleabháin", "given": ["Siobhán"]})
    values = extract(resource)
    assert len(_of(values, "family")) == 1
    assert len(_of(values, "given")) == 2


def test_given_resource_without_type_when_extracted_then_bad_request() -> None:
    with pytest.raises(FhirError) as raised:
        extract({"id": "x"})
    assert raised.value.status == 400
