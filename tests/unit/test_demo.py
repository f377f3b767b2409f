"""The Portsmouth demo population: valid FHIR, deterministic and internally consistent."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from functools import cache
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class

from services.record.demo import demo_bundle
from services.record.demo_data import REFERENCE_DATE
from shared.nhs_number import NHS_NUMBER_SYSTEM, is_valid

Resource = dict[str, Any]


@cache
def _default_json() -> str:
    return json.dumps(demo_bundle(), sort_keys=True)


@pytest.fixture
def bundle() -> Resource:
    """The default bundle (built once; each test gets its own copy)."""
    result: Resource = json.loads(_default_json())
    return result


def _resources(bundle: Resource, resource_type: str) -> list[Resource]:
    return [
        entry["resource"]
        for entry in bundle["entry"]
        if entry["resource"]["resourceType"] == resource_type
    ]


def _references(node: object) -> list[str]:
    """Every Reference.reference anywhere inside ``node``."""
    if isinstance(node, dict):
        found = [node["reference"]] if isinstance(node.get("reference"), str) else []
        return found + [ref for value in node.values() for ref in _references(value)]
    if isinstance(node, list):
        return [ref for item in node for ref in _references(item)]
    return []


def _age(birth_date: str) -> int:
    born = date.fromisoformat(birth_date)
    before_birthday = (REFERENCE_DATE.month, REFERENCE_DATE.day) < (born.month, born.day)
    return REFERENCE_DATE.year - born.year - before_birthday


def test_is_a_transaction_bundle(bundle: Resource) -> None:
    assert bundle["resourceType"] == "Bundle"
    assert bundle["type"] == "transaction"
    get_fhir_model_class("Bundle").model_validate(bundle)


def test_every_resource_validates_against_r4b(bundle: Resource) -> None:
    for entry in bundle["entry"]:
        resource = entry["resource"]
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)


def test_every_entry_is_a_conditional_post_with_a_urn_uuid(bundle: Resource) -> None:
    full_urls = [entry["fullUrl"] for entry in bundle["entry"]]
    assert len(set(full_urls)) == len(full_urls)
    for entry in bundle["entry"]:
        assert entry["fullUrl"].startswith("urn:uuid:")
        request = entry["request"]
        assert request["method"] == "POST"
        assert request["url"] == entry["resource"]["resourceType"]
        assert request["ifNoneExist"].startswith("identifier=")
        assert "id" not in entry["resource"]


def test_patients_are_created_conditionally_on_their_nhs_number(bundle: Resource) -> None:
    for entry in bundle["entry"]:
        if entry["resource"]["resourceType"] == "Patient":
            nhs = _nhs_number(entry["resource"])
            assert entry["request"]["ifNoneExist"] == f"identifier={NHS_NUMBER_SYSTEM}|{nhs}"


def test_the_same_seed_gives_the_same_bundle() -> None:
    assert demo_bundle(patients=12, seed=7) == demo_bundle(patients=12, seed=7)
    assert json.dumps(demo_bundle(), sort_keys=True) == _default_json()


def test_a_different_seed_gives_a_different_population() -> None:
    first = {_nhs_number(p) for p in _resources(demo_bundle(patients=10, seed=1), "Patient")}
    second = {_nhs_number(p) for p in _resources(demo_bundle(patients=10, seed=2), "Patient")}
    assert first != second


def test_at_least_fifty_patients_by_default(bundle: Resource) -> None:
    assert len(_resources(bundle, "Patient")) >= 50


def test_patient_count_is_configurable() -> None:
    assert len(_resources(demo_bundle(patients=5), "Patient")) == 5


def test_nhs_numbers_are_valid_and_unique(bundle: Resource) -> None:
    numbers = [_nhs_number(patient) for patient in _resources(bundle, "Patient")]
    assert all(is_valid(number) for number in numbers)
    assert len(set(numbers)) == len(numbers)


def test_every_urn_uuid_reference_resolves(bundle: Resource) -> None:
    full_urls = {entry["fullUrl"] for entry in bundle["entry"]}
    references = _references([entry["resource"] for entry in bundle["entry"]])
    assert references
    assert all(ref.startswith("urn:uuid:") for ref in references)
    assert set(references) <= full_urls


def test_most_patients_are_older_people(bundle: Resource) -> None:
    ages = [_age(patient["birthDate"]) for patient in _resources(bundle, "Patient")]
    older = sum(age >= 65 for age in ages)
    assert older >= 0.6 * len(ages)
    assert older < len(ages), "some younger adults too"
    assert all(18 <= age <= 100 for age in ages)


def test_patients_live_in_portsmouth_with_a_registered_practice(bundle: Resource) -> None:
    practices = {
        entry["fullUrl"]
        for entry in bundle["entry"]
        if entry["resource"]["resourceType"] == "Organization"
        and entry["resource"]["name"] not in _NOT_PRACTICES
    }
    for patient in _resources(bundle, "Patient"):
        address = patient["address"][0]
        assert address["city"] == "Portsmouth"
        assert address["postalCode"].split()[0] in {"PO1", "PO2", "PO3", "PO4", "PO5", "PO6"}
        assert patient["telecom"][0]["value"].startswith("07700 900")
        assert patient["generalPractitioner"][0]["reference"] in practices


_NOT_PRACTICES = {
    "Portsmouth Hospitals University NHS Trust",
    "Solent NHS Trust",
    "Portsmouth City Council",
}


def test_the_partner_organisations_are_present(bundle: Resource) -> None:
    names = {org["name"] for org in _resources(bundle, "Organization")}
    assert names >= _NOT_PRACTICES
    assert 5 <= len(names - _NOT_PRACTICES) <= 8


def test_each_patient_has_one_to_six_conditions(bundle: Resource) -> None:
    per_patient = Counter(c["subject"]["reference"] for c in _resources(bundle, "Condition"))
    patients = [e["fullUrl"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"]
    assert all(1 <= per_patient[urn] <= 6 for urn in patients)
    for condition in _resources(bundle, "Condition"):
        assert condition["code"]["coding"][0]["system"] == "http://snomed.info/sct"


def test_diabetics_have_hba1c_results(bundle: Resource) -> None:
    diabetics = {
        c["subject"]["reference"]
        for c in _resources(bundle, "Condition")
        if c["code"]["coding"][0]["code"] == "44054006"
    }
    tested = {
        o["subject"]["reference"]
        for o in _resources(bundle, "Observation")
        if o["code"]["coding"][0]["code"] == "4548-4"
    }
    assert diabetics
    assert tested == diabetics


def test_observations_are_final_and_within_the_last_two_years(bundle: Resource) -> None:
    for observation in _resources(bundle, "Observation"):
        assert observation["status"] == "final"
        when = date.fromisoformat(observation["effectiveDateTime"][:10])
        assert 0 <= (REFERENCE_DATE - when).days <= 2 * 366


def test_encounter_classes_and_emergency_admissions(bundle: Resource) -> None:
    encounters = _resources(bundle, "Encounter")
    classes = Counter(e["class"]["code"] for e in encounters)
    assert set(classes) == {"AMB", "HH", "EMER", "IMP"}
    for encounter in encounters:
        assert encounter["status"] == "finished"
        assert encounter["period"]["start"] < encounter["period"]["end"]
        assert date.fromisoformat(encounter["period"]["end"][:10]) <= REFERENCE_DATE


def _nhs_number(patient: Resource) -> str:
    value: str = next(
        identifier["value"]
        for identifier in patient["identifier"]
        if identifier["system"] == NHS_NUMBER_SYSTEM
    )
    return value
