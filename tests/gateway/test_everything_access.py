"""$everything through the front door: each kind of caller gets exactly their share."""

from __future__ import annotations

import httpx

from shared.auth.devissuer import DevIssuer
from tests.conftest import gateway_client
from tests.support.gateway import (
    create,
    matches,
    new_person,
    new_staff,
    ref,
    resident_token,
    service_request,
)
from tests.support.services import RunningService


async def test_given_resident_when_everything_then_own_record_and_403_for_another(
    front_door: httpx.AsyncClient, gateway: RunningService, issuer: DevIssuer
) -> None:
    me, stranger = await new_person(front_door), await new_person(front_door)
    async with gateway_client(gateway, resident_token(issuer, me.id)) as client:
        mine = await client.get(f"Patient/{me.id}/$everything")
        theirs = await client.get(f"Patient/{stranger.id}/$everything")
    assert mine.status_code == 200, mine.text
    mine_refs = {ref(r) for r in matches(mine.json())}
    assert {ref(me.patient), ref(me.observation)} <= mine_refs
    assert not mine_refs & {ref(stranger.patient), ref(stranger.observation)}
    assert theirs.status_code == 403


async def test_given_staff_with_and_without_relationship_when_everything_then_200_or_403(
    front_door: httpx.AsyncClient, gateway: RunningService, issuer: DevIssuer
) -> None:
    person = await new_person(front_door)
    related, unrelated = await new_staff(front_door, issuer), await new_staff(front_door, issuer)
    await create(front_door, service_request(person.id, related.organization_reference))
    async with gateway_client(gateway, related.token) as client:
        granted = await client.get(f"Patient/{person.id}/$everything")
    async with gateway_client(gateway, unrelated.token) as client:
        refused = await client.get(f"Patient/{person.id}/$everything")
    assert granted.status_code == 200
    assert ref(person.observation) in {ref(r) for r in matches(granted.json())}
    assert refused.status_code == 403
