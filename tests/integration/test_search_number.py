"""Search by number, quantity and uri parameters."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.fhir import observation, patient, unique
from tests.support.search import create, ids_of

UCUM = "http://unitsofmeasure.org"
VALUES = (72, 80.5, 100)


@pytest.fixture
async def pulses(fhir: httpx.AsyncClient) -> tuple[str, list[str]]:
    """Three heart rates (72, 80.5 and 100 /min) with one new code: (code, ids in that order)."""
    owner = await create(fhir, patient())
    code = unique("qty-")
    made = [await create(fhir, observation(owner["id"], code=code, value=v)) for v in VALUES]
    return code, [m["id"] for m in made]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("72", [0]),
        ("72.0", [0]),
        ("80.5", [1]),
        ("80", []),
        ("1e2", [0, 1, 2]),
        ("1.0e2", [2]),
        ("80.50", [1]),
        ("ne72", [1, 2]),
        ("gt75", [1, 2]),
        ("lt80", [0]),
        ("ge80.5", [1, 2]),
        ("le80.5", [0, 1]),
        ("sa80", [2]),
        ("eb80", [0]),
        ("ap95", [2]),
        ("gt100", []),
    ],
)
async def test_given_quantities_when_searching_with_a_prefix_then_the_number_rule_holds(
    fhir: httpx.AsyncClient, pulses: tuple[str, list[str]], value: str, expected: list[int]
) -> None:
    code, made = pulses

    found = await ids_of(fhir, "Observation", {"code": code, "value-quantity": value})

    assert found == {made[i] for i in expected}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (f"100|{UCUM}|/min", [2]),
        (f"gt75|{UCUM}|/min", [1, 2]),
        ("100||/min", [2]),
        ("100|http://example.org/units|/min", []),
        (f"100|{UCUM}|/h", []),
    ],
)
async def test_given_quantities_when_searching_with_system_and_code_then_units_must_match(
    fhir: httpx.AsyncClient, pulses: tuple[str, list[str]], value: str, expected: list[int]
) -> None:
    code, made = pulses

    found = await ids_of(fhir, "Observation", {"code": code, "value-quantity": value})

    assert found == {made[i] for i in expected}


async def test_given_a_quantity_that_is_not_a_number_when_searching_then_400(
    fhir: httpx.AsyncClient,
) -> None:
    response = await fhir.get("Observation", params={"value-quantity": "gtfast"})

    assert response.status_code == 400
    assert response.json()["resourceType"] == "OperationOutcome"
    assert "value-quantity" in response.json()["issue"][0]["diagnostics"]


def risk(patient_id: str, probability: float) -> dict[str, Any]:
    return {
        "resourceType": "RiskAssessment",
        "status": "final",
        "subject": {"reference": f"Patient/{patient_id}"},
        "prediction": [
            {
                "outcome": {"text": "Unplanned admission within 12 months"},
                "probabilityDecimal": probability,
            }
        ],
    }


async def test_given_risk_assessments_when_searching_by_probability_then_numbers_compare(
    fhir: httpx.AsyncClient,
) -> None:
    owner = await create(fhir, patient())
    low, mid, high = [await create(fhir, risk(owner["id"], p)) for p in (0.12, 0.3, 0.45)]

    async def probable(value: str) -> set[str]:
        return await ids_of(
            fhir, "RiskAssessment", {"subject": f"Patient/{owner['id']}", "probability": value}
        )

    assert await probable("0.3") == {mid["id"]}
    assert await probable("0.30") == {mid["id"]}
    assert await probable("gt0.25") == {mid["id"], high["id"]}
    assert await probable("le0.3") == {low["id"], mid["id"]}
    assert await probable("lt0.12") == set()
    assert await probable("0.12,0.45") == {low["id"], high["id"]}


def value_set(url: str) -> dict[str, Any]:
    return {"resourceType": "ValueSet", "status": "active", "url": url}


@pytest.fixture
async def value_sets(fhir: httpx.AsyncClient) -> tuple[str, dict[str, str]]:
    """ValueSets under one new root URL: (root, {suffix: id})."""
    root = f"https://fhir.example.org/{unique('vs-')}/ValueSet"
    suffixes = ("frailty", "frailty-scale", "falls/v2")
    made = {s: (await create(fhir, value_set(f"{root}/{s}")))["id"] for s in suffixes}
    return root, made


async def test_given_value_sets_when_searching_by_url_then_only_the_exact_url_matches(
    fhir: httpx.AsyncClient, value_sets: tuple[str, dict[str, str]]
) -> None:
    root, made = value_sets

    assert await ids_of(fhir, "ValueSet", {"url": f"{root}/frailty"}) == {made["frailty"]}
    assert await ids_of(fhir, "ValueSet", {"url": f"{root}/FRAILTY"}) == set()
    assert await ids_of(fhir, "ValueSet", {"url": root}) == set()


async def test_given_value_sets_when_searching_below_a_url_then_urls_starting_with_it_match(
    fhir: httpx.AsyncClient, value_sets: tuple[str, dict[str, str]]
) -> None:
    root, made = value_sets

    assert await ids_of(fhir, "ValueSet", {"url:below": root}) == set(made.values())
    assert await ids_of(fhir, "ValueSet", {"url:below": f"{root}/falls"}) == {made["falls/v2"]}


async def test_given_value_sets_when_searching_above_a_url_then_its_ancestors_match(
    fhir: httpx.AsyncClient, value_sets: tuple[str, dict[str, str]]
) -> None:
    root, made = value_sets

    above = await ids_of(fhir, "ValueSet", {"url:above": f"{root}/frailty/_history/3"})

    assert above == {made["frailty"]}
    assert await ids_of(fhir, "ValueSet", {"url:above": f"{root}/falls/v2"}) == {made["falls/v2"]}
