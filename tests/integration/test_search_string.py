"""Search by string parameters: prefix matching, folding, :exact, :contains, names, addresses.

Also the shape of every searchset Bundle, checked here in full once.
"""

from __future__ import annotations

import httpx

from tests.support.fhir import patient, unique
from tests.support.search import base_of, create, ids, ids_of, search


async def test_given_a_match_when_searching_then_the_bundle_has_the_searchset_shape(
    fhir: httpx.AsyncClient,
) -> None:
    family = unique("Shape")
    created = await create(fhir, patient(family=family))

    bundle = await search(fhir, "Patient", {"family": family})

    base = base_of(fhir)
    assert set(bundle) == {"resourceType", "type", "link", "entry"}
    assert bundle["resourceType"] == "Bundle"
    assert bundle["type"] == "searchset"
    assert bundle["link"] == [{"relation": "self", "url": f"{base}/Patient?family={family}"}]
    (entry,) = bundle["entry"]
    assert entry["fullUrl"] == f"{base}/Patient/{created['id']}"
    assert entry["fullUrl"].startswith("http://")
    assert entry["search"] == {"mode": "match"}
    assert entry["resource"] == created


async def test_given_no_match_when_searching_then_the_bundle_has_no_entries(
    fhir: httpx.AsyncClient,
) -> None:
    bundle = await search(fhir, "Patient", {"family": unique("Nobody")})

    assert "entry" not in bundle
    assert "total" not in bundle
    assert [link["relation"] for link in bundle["link"]] == ["self"]


async def test_given_a_family_name_when_searching_by_its_start_then_it_matches(
    fhir: httpx.AsyncClient,
) -> None:
    stem = unique("Smi")
    smith = await create(fhir, patient(family=f"{stem}th"))
    await create(fhir, patient(family=unique("Jones")))

    assert await ids_of(fhir, "Patient", {"family": stem}) == {smith["id"]}
    assert await ids_of(fhir, "Patient", {"family": stem.lower()}) == {smith["id"]}
    assert await ids_of(fhir, "Patient", {"family": f"{stem}th"}) == {smith["id"]}
    assert await ids_of(fhir, "Patient", {"family": f"{stem}ths"}) == set()


async def test_given_a_name_in_the_middle_when_searching_by_default_then_it_does_not_match(
    fhir: httpx.AsyncClient,
) -> None:
    tail = unique("mid")
    await create(fhir, patient(family=f"Ab{tail}"))

    assert await ids_of(fhir, "Patient", {"family": tail}) == set()


async def test_given_accents_and_capitals_when_searching_then_both_are_ignored(
    fhir: httpx.AsyncClient,
) -> None:
    tag = unique()
    zoe = await create(fhir, patient(family=f"ZOË{tag}", given="Zoë"))

    assert await ids_of(fhir, "Patient", {"family": f"zoe{tag}"}) == {zoe["id"]}
    assert await ids_of(fhir, "Patient", {"family": f"Zoë{tag}"}) == {zoe["id"]}
    assert await ids_of(fhir, "Patient", {"family": f"ZOE{tag.upper()}"}) == {zoe["id"]}


async def test_given_a_lowercase_accented_name_when_searching_in_capitals_then_it_matches(
    fhir: httpx.AsyncClient,
) -> None:
    tag = unique()
    zoe = await create(fhir, patient(family=f"zoë{tag}"))

    assert await ids_of(fhir, "Patient", {"family": f"ZOË{tag}"}) == {zoe["id"]}


async def test_given_exact_modifier_when_case_or_accents_differ_then_no_match(
    fhir: httpx.AsyncClient,
) -> None:
    family = f"Zoë{unique()}"
    zoe = await create(fhir, patient(family=family))
    other = await create(fhir, patient(family=family + "son"))

    assert await ids_of(fhir, "Patient", {"family:exact": family}) == {zoe["id"]}
    assert await ids_of(fhir, "Patient", {"family": family}) == {zoe["id"], other["id"]}
    assert await ids_of(fhir, "Patient", {"family:exact": family.lower()}) == set()
    assert await ids_of(fhir, "Patient", {"family:exact": family.replace("ë", "e")}) == set()
    assert await ids_of(fhir, "Patient", {"family:exact": family[:-1]}) == set()


async def test_given_contains_modifier_when_the_text_is_inside_the_name_then_it_matches(
    fhir: httpx.AsyncClient,
) -> None:
    inner = unique("Inner")
    found = await create(fhir, patient(family=f"Mac{inner}ley"))
    await create(fhir, patient(family=unique("Elsewhere")))

    assert await ids_of(fhir, "Patient", {"family:contains": inner.lower()}) == {found["id"]}
    assert await ids_of(fhir, "Patient", {"family:contains": inner.upper()}) == {found["id"]}
    assert await ids_of(fhir, "Patient", {"family": inner}) == set()


async def test_given_contains_modifier_when_the_text_has_like_wildcards_then_they_are_literal(
    fhir: httpx.AsyncClient,
) -> None:
    tag = unique()
    literal = await create(fhir, patient(family=f"{tag}50%_off"))
    await create(fhir, patient(family=f"{tag}500 off"))

    assert await ids_of(fhir, "Patient", {"family:contains": "50%_"}) >= {literal["id"]}
    assert await ids_of(fhir, "Patient", {"family:contains": f"{tag}50%_"}) == {literal["id"]}


async def test_given_name_parameter_when_searching_by_given_name_then_it_matches(
    fhir: httpx.AsyncClient,
) -> None:
    given = unique("Given")
    found = await create(fhir, patient(given=given))

    assert await ids_of(fhir, "Patient", {"name": given}) == {found["id"]}
    assert await ids_of(fhir, "Patient", {"given": given[:8]}) >= {found["id"]}
    assert await ids_of(fhir, "Patient", {"family": given}) == set()


async def test_given_name_parameter_when_searching_by_family_or_prefix_then_it_matches(
    fhir: httpx.AsyncClient,
) -> None:
    family, title = unique("Fam"), unique("Title")
    resource = patient(family=family)
    resource["name"][0]["prefix"] = [title]
    found = await create(fhir, resource)

    assert await ids_of(fhir, "Patient", {"name": family}) == {found["id"]}
    assert await ids_of(fhir, "Patient", {"name": title}) == {found["id"]}


async def test_given_address_parameter_when_searching_by_line_or_city_then_it_matches(
    fhir: httpx.AsyncClient,
) -> None:
    street = unique("Street")
    resource = patient()
    resource["address"][0]["line"] = [f"12 {street} Road"]
    resource["address"][0]["city"] = street + "ville"
    found = await create(fhir, resource)

    assert await ids_of(fhir, "Patient", {"address": f"12 {street.lower()}"}) == {found["id"]}
    assert await ids_of(fhir, "Patient", {"address": f"{street}VILLE"}) == {found["id"]}
    assert await ids_of(fhir, "Patient", {"address-city": f"{street}ville"}) == {found["id"]}


async def test_given_a_postcode_when_searching_by_its_outward_code_then_it_matches(
    fhir: httpx.AsyncClient,
) -> None:
    postcode = f"PO{unique().upper()} 0LE"
    found = await create(fhir, patient(postcode=postcode))

    assert await ids_of(fhir, "Patient", {"address-postalcode": postcode}) == {found["id"]}
    outward = postcode.split()[0].lower()
    assert await ids_of(fhir, "Patient", {"address-postalcode": outward}) == {found["id"]}
    assert await ids_of(fhir, "Patient", {"address": postcode}) == {found["id"]}


async def test_given_a_postcode_with_extra_spaces_when_searching_then_whitespace_is_folded(
    fhir: httpx.AsyncClient,
) -> None:
    outward = f"PO{unique().upper()}"
    found = await create(fhir, patient(postcode=f"{outward}  1AB"))

    assert await ids_of(fhir, "Patient", {"address-postalcode": f"{outward} 1ab"}) == {found["id"]}


async def test_given_two_matches_when_searching_twice_then_the_order_is_the_same(
    fhir: httpx.AsyncClient,
) -> None:
    family = unique("Repeat")
    first = await create(fhir, patient(family=family))
    second = await create(fhir, patient(family=family))

    bundle = await search(fhir, "Patient", {"family": family})

    assert sorted(ids(bundle)) == sorted([first["id"], second["id"]])
    again = await search(fhir, "Patient", {"family": family})
    assert ids(again) == ids(bundle)
