"""_include, _revinclude and :iterate: the resources a page refers to, or that refer to it."""

from __future__ import annotations

import httpx

from tests.support.fhir import condition, observation, patient, unique
from tests.support.search import create, entries, ids, refs, search


async def test_given_include_patient_when_searching_observations_then_the_patient_is_included(
    fhir: httpx.AsyncClient,
) -> None:
    code = unique("inc-")
    owner = await create(fhir, patient())
    first = await create(fhir, observation(owner["id"], code=code))
    second = await create(fhir, observation(owner["id"], code=code))

    bundle = await search(fhir, "Observation", {"code": code, "_include": "Observation:patient"})

    assert ids(bundle) == [first["id"], second["id"]]
    assert refs(bundle, "include") == {f"Patient/{owner['id']}"}
    (included,) = entries(bundle, "include")
    assert included["search"] == {"mode": "include"}
    assert included["resource"] == owner
    modes = [e["search"]["mode"] for e in bundle["entry"]]
    assert modes == ["match", "match", "include"]


async def test_given_include_with_a_target_type_when_searching_then_only_that_type_is_included(
    fhir: httpx.AsyncClient,
) -> None:
    code = unique("inc-")
    owner = await create(fhir, patient())
    await create(fhir, observation(owner["id"], code=code))

    to_patient = await search(
        fhir, "Observation", {"code": code, "_include": "Observation:subject:Patient"}
    )
    to_group = await search(
        fhir, "Observation", {"code": code, "_include": "Observation:subject:Group"}
    )

    assert refs(to_patient, "include") == {f"Patient/{owner['id']}"}
    assert entries(to_group, "include") == []
    assert len(ids(to_group)) == 1


async def test_given_no_include_when_searching_then_only_matches_are_returned(
    fhir: httpx.AsyncClient,
) -> None:
    code = unique("inc-")
    owner = await create(fhir, patient())
    await create(fhir, observation(owner["id"], code=code))

    bundle = await search(fhir, "Observation", {"code": code})

    assert [e["search"]["mode"] for e in bundle["entry"]] == ["match"]


async def test_given_revinclude_when_searching_patients_then_their_observations_are_included(
    fhir: httpx.AsyncClient,
) -> None:
    owner = await create(fhir, patient())
    other = await create(fhir, patient())
    own = [await create(fhir, observation(owner["id"])) for _ in range(2)]
    await create(fhir, observation(other["id"]))

    bundle = await search(
        fhir, "Patient", {"_id": owner["id"], "_revinclude": "Observation:patient"}
    )

    assert ids(bundle) == [owner["id"]]
    assert refs(bundle, "include") == {f"Observation/{o['id']}" for o in own}


async def test_given_include_and_revinclude_iterate_when_searching_conditions_then_both_follow(
    fhir: httpx.AsyncClient,
) -> None:
    code = unique("cond-")
    owner = await create(fhir, patient())
    other = await create(fhir, patient())
    problem = await create(fhir, condition(owner["id"], code=code))
    seen = [await create(fhir, observation(owner["id"])) for _ in range(2)]
    await create(fhir, observation(other["id"]))

    bundle = await search(
        fhir,
        "Condition",
        [
            ("code", code),
            ("_include", "Condition:patient"),
            ("_revinclude:iterate", "Observation:patient"),
        ],
    )

    assert ids(bundle) == [problem["id"]]
    assert refs(bundle, "include") == {f"Patient/{owner['id']}"} | {
        f"Observation/{o['id']}" for o in seen
    }


async def test_given_a_revinclude_that_cannot_refer_to_the_type_when_not_iterating_then_400(
    fhir: httpx.AsyncClient,
) -> None:
    params = [("_include", "Condition:patient"), ("_revinclude", "Observation:patient")]

    response = await fhir.get("Condition", params=params)

    assert response.status_code == 400
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert "_revinclude=Observation:patient" in body["issue"][0]["diagnostics"]


async def test_given_two_matches_referring_to_one_patient_when_including_then_it_appears_once(
    fhir: httpx.AsyncClient,
) -> None:
    code = unique("inc-")
    first, second = await create(fhir, patient()), await create(fhir, patient())
    for owner in (first, first, second):
        await create(fhir, observation(owner["id"], code=code))

    bundle = await search(fhir, "Observation", {"code": code, "_include": "Observation:patient"})

    included = [e["fullUrl"] for e in entries(bundle, "include")]
    assert len(included) == 2
    assert refs(bundle, "include") == {f"Patient/{first['id']}", f"Patient/{second['id']}"}


async def test_given_paged_matches_when_including_then_each_page_includes_its_own_references(
    fhir: httpx.AsyncClient,
) -> None:
    code = unique("inc-")
    owners = [await create(fhir, patient()) for _ in range(2)]
    for owner in owners:
        await create(fhir, observation(owner["id"], code=code))

    first = await search(
        fhir, "Observation", {"code": code, "_include": "Observation:patient", "_count": "1"}
    )

    assert refs(first, "include") == {f"Patient/{owners[0]['id']}"}


async def test_given_an_include_from_another_type_when_searching_then_400(
    fhir: httpx.AsyncClient,
) -> None:
    response = await fhir.get("Patient", params={"_include": "Observation:patient"})

    assert response.status_code == 400
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert "_include" in body["issue"][0]["diagnostics"]
