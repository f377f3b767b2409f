"""No wrong door, end to end: a second referral for a need that is already open is linked to
the first, not routed twice, and the referrer is told where the need already is."""

from __future__ import annotations

import httpx

from tests.support.fhir import patient
from tests.triage.referrals import refer, referral_bundle, routings, status_of

GP = {"display": "Dr A Shah, Craneswater Group Practice"}


async def test_given_an_open_referral_when_another_for_the_same_need_arrives_then_it_is_linked(
    spa_door: httpx.AsyncClient, directory: dict[str, str]
) -> None:
    person = patient()
    first_id = await refer(spa_door, referral_bundle(who=person, problems=("fall",)))
    (open_routing,) = await routings(spa_door, first_id)

    second_id = await refer(
        spa_door,
        referral_bundle(who=person, problems=("fall",), channel="carer", requester=GP),
    )
    (linked,) = await routings(spa_door, second_id)

    assert linked["status"] == "completed" and status_of(linked) == "linked"
    assert linked["partOf"] == [{"reference": f"Task/{open_routing['id']}"}]
    assert linked["owner"] == open_routing["owner"] and "restriction" not in linked
    second = (await spa_door.get(f"ServiceRequest/{second_id}")).json()
    assert second["status"] == "revoked" and first_id in second["note"][-1]["text"]
    first = (await spa_door.get(f"ServiceRequest/{first_id}")).json()
    assert {"reference": f"ServiceRequest/{second_id}", "display": "A later referral"} in first[
        "supportingInfo"
    ]
    routing_now = (await spa_door.get(f"Task/{open_routing['id']}")).json()
    assert routing_now["status"] == "requested" and second_id in routing_now["note"][-1]["text"]
    told = (
        await spa_door.get("Communication", params={"based-on": f"ServiceRequest/{second_id}"})
    ).json()
    (notice,) = [entry["resource"] for entry in told["entry"]]
    assert notice["recipient"] == [GP]
    assert first_id in notice["payload"][0]["contentString"]
    open_for_person = (
        await spa_door.get(
            "Task", params={"patient": first["subject"]["reference"], "status": "requested"}
        )
    ).json()
    assert [e["resource"]["id"] for e in open_for_person["entry"]] == [open_routing["id"]]


async def test_given_an_open_referral_when_one_for_another_need_arrives_then_it_is_routed(
    spa_door: httpx.AsyncClient, directory: dict[str, str]
) -> None:
    person = patient()
    first_id = await refer(spa_door, referral_bundle(who=person, problems=("fall",)))
    (first_routing,) = await routings(spa_door, first_id)

    second_id = await refer(spa_door, referral_bundle(who=person, problems=("other",)))
    (second_routing,) = await routings(spa_door, second_id)

    assert status_of(second_routing) == "auto-routed" and second_routing["status"] == "requested"
    assert second_routing["owner"] != first_routing["owner"]
    second = (await spa_door.get(f"ServiceRequest/{second_id}")).json()
    assert second["status"] == "active"


async def test_given_the_first_referral_was_closed_when_the_need_returns_then_it_is_routed_anew(
    spa_door: httpx.AsyncClient, directory: dict[str, str]
) -> None:
    person = patient()
    first_id = await refer(spa_door, referral_bundle(who=person, problems=("fall",)))
    (done,) = await routings(spa_door, first_id)
    finished = {k: v for k, v in done.items() if k != "meta"} | {"status": "completed"}
    assert (await spa_door.put(f"Task/{done['id']}", json=finished)).status_code == 200

    second_id = await refer(spa_door, referral_bundle(who=person, problems=("fall",)))
    (routing,) = await routings(spa_door, second_id)

    assert status_of(routing) == "auto-routed" and routing["status"] == "requested"
