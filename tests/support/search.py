"""Helpers for search tests: create resources, search, and check every searchset Bundle's shape."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from shared.nhs_number import NHS_NUMBER_SYSTEM
from tests.support.fhir import nhs_number

Params = list[tuple[str, str]] | dict[str, str]
ENTRY_MODES = frozenset({"match", "include", "outcome"})


async def create(fhir: httpx.AsyncClient, resource: dict[str, Any]) -> dict[str, Any]:
    """POST a resource and return it as stored (with its id and meta)."""
    response = await fhir.post(resource["resourceType"], json=resource)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def fresh_nhs_number(fhir: httpx.AsyncClient) -> str:
    """An NHS number no Patient in the shared database has yet (the test range is small)."""
    while True:
        candidate = nhs_number()
        bundle = await search(
            fhir,
            "Patient",
            {"identifier": f"{NHS_NUMBER_SYSTEM}|{candidate}", "_total": "accurate"},
        )
        if bundle["total"] == 0:
            return candidate


def check_searchset(bundle: dict[str, Any], base: str) -> None:
    """The shape every search answer must have, whatever it found."""
    assert bundle["resourceType"] == "Bundle"
    assert bundle["type"] == "searchset"
    relations = [link["relation"] for link in bundle["link"]]
    assert relations[0] == "self"
    assert len(relations) == len(set(relations))
    for link in bundle["link"]:
        assert link["url"].startswith(base), link
    for entry in bundle.get("entry", []):
        mode = entry["search"]["mode"]
        assert mode in ENTRY_MODES
        if mode == "outcome":
            assert entry["resource"]["resourceType"] == "OperationOutcome"
            continue
        resource = entry["resource"]
        assert entry["fullUrl"] == f"{base}/{resource['resourceType']}/{resource['id']}"
    if "entry" in bundle:
        assert bundle["entry"], "an empty entry list must be left out"


def base_of(fhir: httpx.AsyncClient) -> str:
    return str(fhir.base_url).rstrip("/")


async def search_response(
    fhir: httpx.AsyncClient, path: str, params: Params | None = None, **headers: str
) -> httpx.Response:
    return await fhir.get(path, params=params or {}, headers=headers)


async def search(
    fhir: httpx.AsyncClient, path: str, params: Params | None = None, **headers: str
) -> dict[str, Any]:
    """GET a search, insist on 200 and a well-formed searchset, and return the Bundle."""
    response = await search_response(fhir, path, params, **headers)
    assert response.status_code == 200, response.text
    bundle: dict[str, Any] = response.json()
    check_searchset(bundle, base_of(fhir))
    return bundle


async def follow(fhir: httpx.AsyncClient, url: str) -> dict[str, Any]:
    """GET a link the server gave (next, previous, self) and return the searchset."""
    response = await fhir.get(url)
    assert response.status_code == 200, response.text
    bundle: dict[str, Any] = response.json()
    check_searchset(bundle, base_of(fhir))
    return bundle


def entries(bundle: dict[str, Any], mode: str = "match") -> list[dict[str, Any]]:
    return [e for e in bundle.get("entry", []) if e["search"]["mode"] == mode]


def ids(bundle: dict[str, Any], mode: str = "match") -> list[str]:
    """The ids of the entries in one search mode, in Bundle order."""
    return [e["resource"]["id"] for e in entries(bundle, mode)]


def refs(bundle: dict[str, Any], mode: str = "match") -> set[str]:
    """``Type/id`` of the entries in one search mode."""
    return {f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in entries(bundle, mode)}


def link(bundle: dict[str, Any], relation: str) -> str | None:
    for item in bundle["link"]:
        if item["relation"] == relation:
            url: str = item["url"]
            return url
    return None


def link_params(bundle: dict[str, Any], relation: str = "self") -> list[tuple[str, str]]:
    url = link(bundle, relation)
    assert url is not None
    return parse_qsl(urlsplit(url).query)


async def ids_of(fhir: httpx.AsyncClient, path: str, params: Params) -> set[str]:
    """The ids a search matches, as a set (for criteria where order does not matter)."""
    return set(ids(await search(fhir, path, params)))
