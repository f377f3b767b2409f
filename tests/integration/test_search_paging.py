"""_sort, _count and keyset paging through next and previous links, and _total."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import orjson
import pytest

from tests.support.fhir import patient, unique
from tests.support.search import create, follow, ids, link, link_params, search


async def family_of(fhir: httpx.AsyncClient, family: str, **fields: Any) -> dict[str, Any]:
    """A patient with this family name; birth_date=None leaves birthDate out."""
    resource = patient(family=family, **{k: v for k, v in fields.items() if v is not None})
    if "birth_date" in fields and fields["birth_date"] is None:
        del resource["birthDate"]
    return await create(fhir, resource)


async def test_given_birth_dates_when_sorting_descending_then_youngest_first_and_missing_last(
    fhir: httpx.AsyncClient,
) -> None:
    family = unique("Sort")
    middle = await family_of(fhir, family, birth_date="1950-05-01")
    unknown = await family_of(fhir, family, birth_date=None)
    oldest = await family_of(fhir, family, birth_date="1931-01-20")
    youngest = await family_of(fhir, family, birth_date="1977-12")

    descending = await search(fhir, "Patient", {"family": family, "_sort": "-birthdate"})
    ascending = await search(fhir, "Patient", {"family": family, "_sort": "birthdate"})

    assert ids(descending) == [youngest["id"], middle["id"], oldest["id"], unknown["id"]]
    assert ids(ascending) == [oldest["id"], middle["id"], youngest["id"], unknown["id"]]


async def test_given_family_names_when_sorting_then_they_come_in_folded_alphabetical_order(
    fhir: httpx.AsyncClient,
) -> None:
    tag = unique("Alpha")
    names = [f"{tag}Évans", f"{tag}adams", f"{tag}Davies", f"{tag}Carter"]
    made = {name: await family_of(fhir, name) for name in names}
    expected = [made[n]["id"] for n in sorted(names, key=lambda n: n.lower().replace("é", "e"))]

    ascending = await search(fhir, "Patient", {"family": tag, "_sort": "family"})
    descending = await search(fhir, "Patient", {"family": tag, "_sort": "-family"})

    assert ids(ascending) == expected
    assert ids(descending) == expected[::-1]


async def test_given_several_sort_keys_when_sorting_then_later_keys_break_ties(
    fhir: httpx.AsyncClient,
) -> None:
    tag = unique("Multi")
    a_old = await family_of(fhir, f"{tag}a", birth_date="1940-01-01")
    b_young = await family_of(fhir, f"{tag}b", birth_date="1990-01-01")
    a_young = await family_of(fhir, f"{tag}a", birth_date="1980-01-01")
    b_old = await family_of(fhir, f"{tag}b", birth_date="1945-01-01")

    bundle = await search(fhir, "Patient", {"family": tag, "_sort": "family,-birthdate"})
    reverse = await search(fhir, "Patient", {"family": tag, "_sort": "-family,birthdate"})

    assert ids(bundle) == [a_young["id"], a_old["id"], b_young["id"], b_old["id"]]
    assert ids(reverse) == [b_old["id"], b_young["id"], a_old["id"], a_young["id"]]


async def test_given_writes_in_order_when_sorting_by_last_updated_then_that_order_or_its_reverse(
    fhir: httpx.AsyncClient,
) -> None:
    family = unique("Updated")
    made = [await family_of(fhir, family) for _ in range(3)]
    touched = {**made[0], "gender": "male"}
    assert (await fhir.put(f"Patient/{made[0]['id']}", json=touched)).status_code == 200
    order = [made[1]["id"], made[2]["id"], made[0]["id"]]

    ascending = await search(fhir, "Patient", {"family": family, "_sort": "_lastUpdated"})
    descending = await search(fhir, "Patient", {"family": family, "_sort": "-_lastUpdated"})

    assert ids(ascending) == order
    assert ids(descending) == order[::-1]


async def test_given_an_unsortable_key_when_sorting_then_400_names_it(
    fhir: httpx.AsyncClient,
) -> None:
    response = await fhir.get("Patient", params={"_sort": "-nonsense"})

    assert response.status_code == 400
    assert "-nonsense" in response.json()["issue"][0]["diagnostics"]


async def walk(fhir: httpx.AsyncClient, bundle: dict[str, Any], relation: str) -> list[list[str]]:
    """The ids of each page from ``bundle`` on, following ``relation`` links to the end."""
    pages = [ids(bundle)]
    while (url := link(bundle, relation)) is not None:
        bundle = await follow(fhir, url)
        pages.append(ids(bundle))
    return pages


async def test_given_eleven_matches_when_paging_by_two_then_next_links_visit_each_once_in_order(
    fhir: httpx.AsyncClient,
) -> None:
    family = unique("Page")
    made = [(await family_of(fhir, family))["id"] for _ in range(11)]

    first = await search(fhir, "Patient", {"family": family, "_count": "2"})
    pages = await walk(fhir, first, "next")

    assert [len(p) for p in pages] == [2, 2, 2, 2, 2, 1]
    assert [i for page in pages for i in page] == made
    assert link(first, "previous") is None


async def test_given_the_last_page_when_following_previous_links_then_pages_come_back_in_reverse(
    fhir: httpx.AsyncClient,
) -> None:
    family = unique("Back")
    await create(fhir, patient(family=family))
    for _ in range(9):
        await create(fhir, patient(family=family))
    params = {"family": family, "_count": "3", "_sort": "-_lastUpdated"}
    bundle = await search(fhir, "Patient", params)
    forward = [ids(bundle)]
    while (url := link(bundle, "next")) is not None:
        bundle = await follow(fhir, url)
        forward.append(ids(bundle))

    backward = await walk(fhir, bundle, "previous")

    assert len(forward) == 4
    assert backward == forward[::-1]
    assert dict(link_params(bundle, "previous"))["_sort"] == "-_lastUpdated"


async def test_given_a_new_match_while_paging_when_continuing_then_seen_pages_do_not_shift(
    fhir: httpx.AsyncClient,
) -> None:
    tag = unique("Shift")
    names = [f"{tag}{n:02d}" for n in range(0, 20, 2)]
    made = {name: (await family_of(fhir, name))["id"] for name in names}
    params = {"family": tag, "_sort": "family", "_count": "2"}
    first = await search(fhir, "Patient", params)
    second = await follow(fhir, link(first, "next") or "")

    await family_of(fhir, f"{tag}01")  # sorts into the pages already seen
    rest = await walk(fhir, second, "next")
    seen = ids(first) + [i for page in rest for i in page]

    assert seen == [made[name] for name in names]
    assert len(seen) == len(set(seen))
    again = await follow(fhir, link(second, "previous") or "")
    assert ids(again)[-1] == made[names[1]]


async def test_given_a_match_written_after_the_last_page_when_paging_then_it_comes_at_the_end(
    fhir: httpx.AsyncClient,
) -> None:
    family = unique("Late")
    made = [(await family_of(fhir, family))["id"] for _ in range(4)]
    first = await search(fhir, "Patient", {"family": family, "_count": "2"})

    late = await family_of(fhir, family)
    pages = await walk(fhir, first, "next")

    assert [i for page in pages for i in page] == [*made, late["id"]]


def tampered(cursor: str) -> list[str]:
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    data = orjson.loads(raw)

    def encode(value: Any) -> str:
        return base64.urlsafe_b64encode(orjson.dumps(value)).decode().rstrip("=")

    return [
        "not a cursor!",
        cursor[:-4],
        encode({"v": data["v"][:-1], "b": False}),
        encode({"v": ["text" for _ in data["v"]], "b": False}),
        encode({"v": [{"x": 1} for _ in data["v"]], "b": False}),
        encode(["no", "object"]),
    ]


async def test_given_a_tampered_cursor_when_following_it_then_400_operation_outcome(
    fhir: httpx.AsyncClient,
) -> None:
    family = unique("Tamper")
    for _ in range(3):
        await family_of(fhir, family)
    params = {"family": family, "_count": "1", "_sort": "birthdate"}
    first = await search(fhir, "Patient", params)
    cursor = dict(link_params(first, "next"))["_cursor"]

    for bad in tampered(cursor):
        response = await fhir.get("Patient", params={**params, "_cursor": bad})
        assert response.status_code == 400, (bad, response.text)
        body = response.json()
        assert body["resourceType"] == "OperationOutcome"
        assert body["issue"][0]["severity"] == "error"


@pytest.mark.parametrize("count", ["1", "5", "7"])
async def test_given_total_accurate_when_searching_then_total_counts_every_match(
    fhir: httpx.AsyncClient, count: str
) -> None:
    family = unique("Total")
    for _ in range(5):
        await family_of(fhir, family)

    bundle = await search(
        fhir, "Patient", {"family": family, "_total": "accurate", "_count": count}
    )

    assert bundle["total"] == 5
    assert len(ids(bundle)) == min(int(count), 5)
    if link(bundle, "next"):
        assert (await follow(fhir, link(bundle, "next") or ""))["total"] == 5


async def test_given_no_total_asked_when_searching_then_the_bundle_has_no_total(
    fhir: httpx.AsyncClient,
) -> None:
    family = unique("NoTotal")
    await family_of(fhir, family)

    assert "total" not in await search(fhir, "Patient", {"family": family})
    assert "total" not in await search(fhir, "Patient", {"family": family, "_total": "none"})


async def test_given_count_zero_when_searching_then_no_entries_and_no_next_link(
    fhir: httpx.AsyncClient,
) -> None:
    family = unique("Zero")
    await family_of(fhir, family)

    bundle = await search(fhir, "Patient", {"family": family, "_count": "0", "_total": "accurate"})

    assert bundle["total"] == 1
    assert "entry" not in bundle
    assert link(bundle, "next") is None
