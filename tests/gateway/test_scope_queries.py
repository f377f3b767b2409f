"""SMART v2 scopes limited by a query grant only what the query finds."""

from __future__ import annotations

import httpx

from shared.auth.devissuer import DevIssuer
from tests.conftest import gateway_client
from tests.support.fhir import observation, unique
from tests.support.gateway import create, matches, new_person, ref
from tests.support.services import RunningService


async def test_given_scope_limited_to_one_code_when_searching_and_reading_then_only_that(
    front_door: httpx.AsyncClient, gateway: RunningService, issuer: DevIssuer
) -> None:
    lab, vitals = unique("lab-"), unique("vital-")
    person = await new_person(front_door, code=vitals)
    result = await create(front_door, observation(person.id, code=lab))
    token = issuer.issue(scope=f"system/Observation.rs?code={lab}", client_id="lab-viewer")
    async with gateway_client(gateway, token) as client:
        found = (await client.get("Observation", params={"code": f"{lab},{vitals}"})).json()
        allowed = await client.get(f"Observation/{result['id']}")
        refused = await client.get(f"Observation/{person.observation['id']}")
        write = await client.post("Observation", json=observation(person.id, code=lab))
        history = await client.get("Observation/_history")
    assert {ref(r) for r in matches(found)} == {ref(result)}
    assert allowed.status_code == 200
    assert refused.status_code == 403
    assert write.status_code == 403
    assert history.status_code == 403
