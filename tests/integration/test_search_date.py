"""Search by date parameters: precisions, every prefix, dateTimes, Periods, birthdate and
_lastUpdated."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.support.fhir import observation, patient, unique
from tests.support.search import create, ids_of

TIMES = ("2021-03-10T10:15:30Z", "2022-07-04T08:00:00Z", "2023-01-20T12:00:00Z")


async def observations_at(fhir: httpx.AsyncClient, times: tuple[str, ...]) -> tuple[str, list[str]]:
    """One observation per time, all with one new code: (code, ids in the order of times)."""
    owner = await create(fhir, patient())
    code = unique("date-")
    made = [await create(fhir, observation(owner["id"], code=code, effective=t)) for t in times]
    return code, [m["id"] for m in made]


@pytest.fixture
async def dated(fhir: httpx.AsyncClient) -> tuple[str, list[str]]:
    return await observations_at(fhir, TIMES)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2022", [1]),
        ("2022-07", [1]),
        ("2022-07-04", [1]),
        ("2022-07-04T08:00Z", [1]),
        ("2022-07-04T09:00+01:00", [1]),
        ("2022-07-04T08:00:00Z", [1]),
        ("2022-07-04T08:00:01Z", []),
        ("2022-07-05", []),
        ("2022-06", []),
        ("2021-03-10T10:15", [0]),
    ],
)
async def test_given_date_times_when_searching_at_a_precision_then_eq_matches_within_it(
    fhir: httpx.AsyncClient, dated: tuple[str, list[str]], value: str, expected: list[int]
) -> None:
    code, made = dated

    found = await ids_of(fhir, "Observation", {"code": code, "date": value})

    assert found == {made[i] for i in expected}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("eq2022-07-04", [1]),
        ("ne2022-07-04", [0, 2]),
        ("ne2022", [0, 2]),
        ("lt2022-07-04", [0]),
        ("gt2022-07-04", [2]),
        ("le2022-07-04", [0, 1]),
        ("ge2022-07-04", [1, 2]),
        ("lt2022-07-04T08:00:00Z", [0]),
        ("le2022-07-04T08:00:00Z", [0, 1]),
        ("gt2022-07-04T07:59:59Z", [1, 2]),
        ("sa2022", [2]),
        ("eb2022", [0]),
        ("sa2020", [0, 1, 2]),
        ("eb2021-03-10", []),
    ],
)
async def test_given_date_times_when_searching_with_a_prefix_then_the_range_rule_holds(
    fhir: httpx.AsyncClient, dated: tuple[str, list[str]], value: str, expected: list[int]
) -> None:
    code, made = dated

    found = await ids_of(fhir, "Observation", {"code": code, "date": value})

    assert found == {made[i] for i in expected}


async def test_given_dates_near_today_when_searching_approximately_then_only_near_ones_match(
    fhir: httpx.AsyncClient,
) -> None:
    # "ap" allows 10% of the distance from now (at least a day): 30 days ago allows 3 days.
    centre = datetime.now(UTC).replace(microsecond=0) - timedelta(days=30)
    times = tuple(
        (centre + timedelta(days=d)).strftime("%Y-%m-%dT%H:%M:%SZ") for d in (-10, -1, 0, 2, 10)
    )
    code, made = await observations_at(fhir, times)

    found = await ids_of(fhir, "Observation", {"code": code, "date": f"ap{centre:%Y-%m-%d}"})

    assert found == {made[1], made[2], made[3]}


def encounter(patient_id: str, start: str | None, end: str | None) -> dict[str, Any]:
    period = {k: v for k, v in (("start", start), ("end", end)) if v is not None}
    return {
        "resourceType": "Encounter",
        "status": "finished" if end else "in-progress",
        "class": {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
            "code": "IMP",
        },
        "subject": {"reference": f"Patient/{patient_id}"},
        "period": period,
    }


@pytest.fixture
async def stays(fhir: httpx.AsyncClient) -> tuple[str, list[str]]:
    """Three hospital stays: 10-20 Jan 2024, 15 Jan - 5 Feb 2024, and from 1 Mar 2024 still open."""
    owner = await create(fhir, patient())
    periods = (
        ("2024-01-10T09:00:00Z", "2024-01-20T15:00:00Z"),
        ("2024-01-15", "2024-02-05"),
        ("2024-03-01T10:00:00Z", None),
    )
    made = [await create(fhir, encounter(owner["id"], *p)) for p in periods]
    return owner["id"], [m["id"] for m in made]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-01", [0]),
        ("2024", [0, 1]),
        ("2024-01-15", []),
        ("ne2024-01", [1, 2]),
        ("lt2024-01-12", [0]),
        ("gt2024-02-01", [1, 2]),
        ("ge2024-02-01", [1, 2]),
        ("le2024-01-15", [0]),
        ("le2024-01-16", [0, 1]),
        ("sa2024-01-31", [2]),
        ("eb2024-02-10", [0, 1]),
        ("eb2024-01-21", [0]),
        ("gt2030-01-01", [2]),
    ],
)
async def test_given_periods_when_searching_by_date_then_the_whole_period_is_compared(
    fhir: httpx.AsyncClient, stays: tuple[str, list[str]], value: str, expected: list[int]
) -> None:
    owner, made = stays

    found = await ids_of(fhir, "Encounter", {"subject": f"Patient/{owner}", "date": value})

    assert found == {made[i] for i in expected}


async def test_given_birth_dates_when_searching_by_birthdate_then_dates_and_prefixes_apply(
    fhir: httpx.AsyncClient,
) -> None:
    family = unique("Born")
    older = await create(fhir, patient(family=family, birth_date="1941-06-14"))
    younger = await create(fhir, patient(family=family, birth_date="1958-11"))

    async def born(value: str) -> set[str]:
        return await ids_of(fhir, "Patient", {"family": family, "birthdate": value})

    assert await born("1941-06-14") == {older["id"]}
    assert await born("1941") == {older["id"]}
    assert await born("1958-11") == {younger["id"]}
    assert await born("1958-11-03") == set()
    assert await born("lt1950") == {older["id"]}
    assert await born("ge1958-11-01") == {younger["id"]}
    assert await born("ge1941-06-14") == {older["id"], younger["id"]}


async def test_given_last_updated_when_searching_after_a_moment_then_later_writes_match(
    fhir: httpx.AsyncClient,
) -> None:
    family = unique("Updated")
    before = datetime.now(UTC) - timedelta(seconds=5)
    first = await create(fhir, patient(family=family))
    second = await create(fhir, patient(family=family))
    boundary = first["meta"]["lastUpdated"]

    async def updated(value: str) -> set[str]:
        return await ids_of(fhir, "Patient", {"family": family, "_lastUpdated": value})

    assert await updated(f"gt{before:%Y-%m-%dT%H:%M:%S}Z") == {first["id"], second["id"]}
    assert await updated(f"gt{boundary}") == {second["id"]}
    assert await updated(f"le{boundary}") == {first["id"]}
    assert await updated(boundary) == {first["id"]}
    assert await updated(f"lt{before:%Y-%m-%dT%H:%M:%S}Z") == set()


async def test_given_a_date_that_is_not_a_date_when_searching_then_400_names_the_parameter(
    fhir: httpx.AsyncClient,
) -> None:
    response = await fhir.get("Observation", params={"date": "gt2024-13-01"})

    assert response.status_code == 400
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert "'date'" in body["issue"][0]["diagnostics"]
