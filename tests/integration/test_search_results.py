"""What a search returns and how it is asked: _summary, _elements, OR and AND, strict and
lenient handling, POST _search, deletes and updates, and the search across all types."""

from __future__ import annotations

from typing import Any

import httpx

from services.record.subsetting import SUBSETTED
from tests.support.fhir import observation, patient, unique
from tests.support.search import base_of, create, entries, ids, ids_of, link, search


def detailed(family: str) -> dict[str, Any]:
    """A patient with narrative and elements outside the summary (maritalStatus, contact)."""
    return patient(
        family=family,
        text={"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml">M</div>'},
        maritalStatus={"text": "Widowed"},
        contact=[{"name": {"family": "Carer"}}],
    )


async def test_given_summary_count_when_searching_then_total_and_no_entries(
    fhir: httpx.AsyncClient,
) -> None:
    family = unique("Count")
    for _ in range(3):
        await create(fhir, patient(family=family))

    bundle = await search(fhir, "Patient", {"family": family, "_summary": "count"})

    assert bundle["total"] == 3
    assert "entry" not in bundle
    assert link(bundle, "next") is None


async def test_given_summary_true_when_searching_then_only_summary_elements_and_subsetted_tag(
    fhir: httpx.AsyncClient,
) -> None:
    family = unique("Summary")
    made = await create(fhir, detailed(family))

    bundle = await search(fhir, "Patient", {"family": family, "_summary": "true"})

    (resource,) = [e["resource"] for e in entries(bundle)]
    assert set(resource) == {
        "resourceType",
        "id",
        "meta",
        "identifier",
        "name",
        "gender",
        "birthDate",
        "address",
    }
    assert resource["name"] == made["name"]
    assert SUBSETTED in resource["meta"]["tag"]
    assert resource["meta"]["versionId"] == made["meta"]["versionId"]


async def test_given_summary_data_when_searching_then_only_the_narrative_is_removed(
    fhir: httpx.AsyncClient,
) -> None:
    family = unique("Data")
    made = await create(fhir, detailed(family))

    bundle = await search(fhir, "Patient", {"family": family, "_summary": "data"})

    (resource,) = [e["resource"] for e in entries(bundle)]
    assert "text" not in resource
    assert resource["maritalStatus"] == made["maritalStatus"]
    assert resource["contact"] == made["contact"]
    assert resource["meta"]["tag"] == [SUBSETTED]


async def test_given_elements_when_searching_then_only_those_elements_and_subsetted_tag(
    fhir: httpx.AsyncClient,
) -> None:
    family = unique("Elements")
    made = await create(fhir, detailed(family))

    bundle = await search(fhir, "Patient", {"family": family, "_elements": "name,birthDate"})

    (resource,) = [e["resource"] for e in entries(bundle)]
    assert set(resource) == {"resourceType", "id", "meta", "name", "birthDate"}
    assert resource["birthDate"] == made["birthDate"]
    assert SUBSETTED in resource["meta"]["tag"]


async def test_given_no_summary_when_searching_then_resources_are_whole_and_not_tagged(
    fhir: httpx.AsyncClient,
) -> None:
    family = unique("Whole")
    made = await create(fhir, detailed(family))

    for params in ({"family": family}, {"family": family, "_summary": "false"}):
        bundle = await search(fhir, "Patient", params)
        assert [e["resource"] for e in entries(bundle)] == [made]


async def test_given_commas_when_searching_then_any_value_matches(
    fhir: httpx.AsyncClient,
) -> None:
    first, second = unique("Or"), unique("Or")
    one = await create(fhir, patient(family=first))
    two = await create(fhir, patient(family=second))

    assert await ids_of(fhir, "Patient", {"family": f"{first},{second}"}) == {one["id"], two["id"]}
    assert await ids_of(fhir, "Patient", {"family": f"{first},{unique()}"}) == {one["id"]}


async def test_given_a_repeated_parameter_when_searching_then_every_value_must_match(
    fhir: httpx.AsyncClient,
) -> None:
    family = unique("And")
    both = patient(family=family)
    both["name"][0]["given"] = ["Ann", "Bea"]
    both = await create(fhir, both)
    await create(fhir, patient(family=family, given="Ann"))

    params = [("family", family), ("given", "Ann"), ("given", "Bea")]
    assert await ids_of(fhir, "Patient", params) == {both["id"]}
    assert len(await ids_of(fhir, "Patient", [("family", family), ("given", "Ann")])) == 2


async def test_given_an_escaped_comma_when_searching_then_it_is_part_of_the_value(
    fhir: httpx.AsyncClient,
) -> None:
    tag = unique("Comma")
    made = await create(fhir, patient(family=f"{tag},Jr"))

    assert await ids_of(fhir, "Patient", {"family": f"{tag}\\,Jr"}) == {made["id"]}


async def test_given_strict_handling_when_a_parameter_is_unknown_then_400_naming_it(
    fhir: httpx.AsyncClient,
) -> None:
    response = await fhir.get(
        "Patient",
        params={"family": "x", "favourite-colour": "blue"},
        headers={"Prefer": "handling=strict"},
    )

    assert response.status_code == 400
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert "favourite-colour" in body["issue"][0]["diagnostics"]


async def test_given_lenient_handling_when_a_parameter_is_unknown_then_it_is_ignored(
    fhir: httpx.AsyncClient,
) -> None:
    family = unique("Lenient")
    made = await create(fhir, patient(family=family))

    for headers in ({}, {"Prefer": "handling=lenient"}):
        bundle = await search(
            fhir, "Patient", {"family": family, "favourite-colour": "blue"}, **headers
        )
        assert ids(bundle) == [made["id"]]
        assert link(bundle, "self") == f"{base_of(fhir)}/Patient?family={family}"
        (warning,) = entries(bundle, "outcome")
        assert "favourite-colour" in warning["resource"]["issue"][0]["diagnostics"]


async def test_given_a_known_parameter_with_a_bad_value_when_lenient_then_still_400(
    fhir: httpx.AsyncClient,
) -> None:
    response = await fhir.get("Patient", params={"birthdate": "yesterday"})

    assert response.status_code == 400
    assert response.json()["resourceType"] == "OperationOutcome"


async def test_given_a_form_body_when_searching_by_post_then_the_results_equal_get(
    fhir: httpx.AsyncClient,
) -> None:
    family = unique("Post")
    for _ in range(3):
        await create(fhir, patient(family=family))
    params = {"family": family, "_sort": "-_lastUpdated", "_count": "2", "_total": "accurate"}

    got = await search(fhir, "Patient", params)
    response = await fhir.post(
        "Patient/_search",
        data=params,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert response.status_code == 200, response.text
    posted = response.json()
    assert posted == got
    assert link(posted, "self") == link(got, "self")


async def test_given_a_json_body_when_searching_by_post_then_400_or_415(
    fhir: httpx.AsyncClient,
) -> None:
    response = await fhir.post("Patient/_search", json={"family": "x"})

    assert response.status_code in (400, 415)
    assert response.json()["resourceType"] == "OperationOutcome"


async def test_given_a_deleted_resource_when_searching_then_it_is_not_found(
    fhir: httpx.AsyncClient,
) -> None:
    family = unique("Deleted")
    kept = await create(fhir, patient(family=family))
    gone = await create(fhir, patient(family=family))

    assert (await fhir.delete(f"Patient/{gone['id']}")).status_code == 204

    bundle = await search(fhir, "Patient", {"family": family, "_total": "accurate"})
    assert ids(bundle) == [kept["id"]]
    assert bundle["total"] == 1
    assert await ids_of(fhir, "Patient", {"_id": gone["id"]}) == set()


async def test_given_an_updated_resource_when_searching_then_the_new_value_matches_not_the_old(
    fhir: httpx.AsyncClient,
) -> None:
    old, new = unique("Before"), unique("After")
    made = await create(fhir, patient(family=old))

    response = await fhir.put(f"Patient/{made['id']}", json={**made, "name": [{"family": new}]})
    assert response.status_code == 200, response.text

    assert await ids_of(fhir, "Patient", {"family": new}) == {made["id"]}
    assert await ids_of(fhir, "Patient", {"family": old}) == set()
    (current,) = entries(await search(fhir, "Patient", {"family": new}))
    assert current["resource"]["meta"]["versionId"] == "2"


async def test_given_type_and_ids_when_searching_all_types_then_those_resources_match(
    fhir: httpx.AsyncClient,
) -> None:
    owner = await create(fhir, patient())
    seen = await create(fhir, observation(owner["id"]))
    wanted = f"{owner['id']},{seen['id']}"

    bundle = await search(fhir, "", {"_type": "Patient,Observation", "_id": wanted})
    only_patients = await search(fhir, "", {"_type": "Patient", "_id": wanted})

    assert {(e["resource"]["resourceType"], e["resource"]["id"]) for e in entries(bundle)} == {
        ("Patient", owner["id"]),
        ("Observation", seen["id"]),
    }
    assert ids(only_patients) == [owner["id"]]
    assert (link(bundle, "self") or "").startswith(f"{base_of(fhir)}/?")


async def test_given_a_type_specific_parameter_when_searching_all_types_then_400_if_strict(
    fhir: httpx.AsyncClient,
) -> None:
    response = await fhir.get(
        "", params={"_type": "Patient", "family": "x"}, headers={"Prefer": "handling=strict"}
    )

    assert response.status_code == 400
    assert "family" in response.json()["issue"][0]["diagnostics"]
