"""Patient/$everything: one person's whole record in one call, and nobody else's."""

from __future__ import annotations

import httpx

from tests.support.fhir import condition, observation, patient


async def _person_with_record(fhir: httpx.AsyncClient) -> tuple[str, set[str]]:
    gp = (
        await fhir.post(
            "Practitioner", json={"resourceType": "Practitioner", "name": [{"family": "Okafor"}]}
        )
    ).json()
    person = (
        await fhir.post(
            "Patient", json=patient(generalPractitioner=[{"reference": f"Practitioner/{gp['id']}"}])
        )
    ).json()
    pid = person["id"]
    made = {f"Patient/{pid}"}
    for _ in range(3):
        reading = (await fhir.post("Observation", json=observation(pid))).json()
        made.add(f"Observation/{reading['id']}")
    problem = (await fhir.post("Condition", json=condition(pid))).json()
    made.add(f"Condition/{problem['id']}")
    return pid, made | {f"Practitioner/{gp['id']}"}


def _references(bundle: dict[str, object]) -> set[str]:
    return {
        f"{e['resource']['resourceType']}/{e['resource']['id']}"  # type: ignore[index]
        for e in bundle.get("entry", [])
    }  # type: ignore[attr-defined]


async def test_given_person_with_record_when_everything_then_all_of_it_and_no_one_else(
    fhir: httpx.AsyncClient,
) -> None:
    pid, made = await _person_with_record(fhir)
    _, others = await _person_with_record(fhir)
    answer = await fhir.get(f"Patient/{pid}/$everything")
    assert answer.status_code == 200, answer.text
    bundle = answer.json()
    assert bundle["type"] == "searchset"
    assert _references(bundle) == made
    assert bundle["total"] == len(made) - 1  # the practitioner comes along, as an include
    assert not _references(bundle) & {r for r in others if not r.startswith("Practitioner/")}


async def test_given_count_when_everything_then_pages_follow_until_all_seen(
    fhir: httpx.AsyncClient,
) -> None:
    pid, made = await _person_with_record(fhir)
    seen: set[str] = set()
    url: str | None = f"Patient/{pid}/$everything?_count=2"
    while url:
        page = (await fhir.get(url)).json()
        seen |= _references(page)
        url = next((link["url"] for link in page["link"] if link["relation"] == "next"), None)
    assert seen == made


async def test_given_type_and_since_when_everything_then_filtered(fhir: httpx.AsyncClient) -> None:
    pid, _ = await _person_with_record(fhir)
    only = (await fhir.get(f"Patient/{pid}/$everything", params={"_type": "Condition"})).json()
    assert {r.split("/")[0] for r in _references(only)} <= {"Condition", "Practitioner"}
    later = (await fhir.get(f"Patient/{pid}/$everything", params={"_since": "2999-01-01"})).json()
    assert later.get("entry", []) == []


async def test_given_bad_input_when_everything_then_clear_4xx(fhir: httpx.AsyncClient) -> None:
    pid, _ = await _person_with_record(fhir)
    assert (await fhir.get("Patient/nobody-here/$everything")).status_code == 404
    for query in ("_type=NotAType", "_count=none", "_since=yesterday", "colour=blue"):
        answer = await fhir.get(f"Patient/{pid}/$everything?{query}")
        assert answer.status_code == 400, query
        assert answer.json()["resourceType"] == "OperationOutcome"
