"""The register watching its people end to end: blue with a post-admission C(E)TR on
admission to a mental health unit, red after discharge and for two weeks, off the active
register when consent is withdrawn."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from shared.fhir import terms
from shared.fhir.dates import instant
from tests.caseload.conftest import eventually
from tests.dsr.conftest import Staff, consent_of, parameters, person
from tests.dsr.test_register import entry, mental_health_stay, on_register, rating_now, registered

Resource = dict[str, Any]


@pytest.mark.parametrize(("born", "days"), [("1996-02-03", 28), ("2011-02-03", 14)])
async def test_given_an_admission_then_blue_with_a_post_admission_cetr_and_red_after_discharge(
    lead: Staff, desk: httpx.AsyncClient, born: str, days: int
) -> None:
    who = await person(desk, birth_date=born)
    episode = await registered(
        lead.client,
        entry(who, lead.reference, ("consent", "Reference", await consent_of(desk, who))),
    )
    answer = await desk.post("Encounter", json=mental_health_stay(who))
    stay = answer.json()

    async def blue() -> bool:
        return await rating_now(desk, episode["id"]) == "blue"

    assert await eventually(blue)
    tasks = (
        await desk.get("Task", params={"patient": who, "code": f"{terms.TASK_CODE}|cetr"})
    ).json()
    (cetr,) = [e["resource"] for e in tasks["entry"]]
    due = instant(cetr["restriction"]["period"]["end"]) - instant(stay["period"]["start"])
    assert due == timedelta(days=days)

    left = {k: v for k, v in stay.items() if k != "meta"} | {"status": "finished"}
    left["period"] = {**stay["period"], "end": datetime.now(UTC).isoformat(timespec="seconds")}
    assert (await desk.put(f"Encounter/{stay['id']}", json=left)).status_code == 200

    async def red() -> bool:
        return await rating_now(desk, episode["id"]) == "red"

    assert await eventually(red)


async def test_given_consent_withdrawn_then_off_the_active_register(
    lead: Staff, desk: httpx.AsyncClient
) -> None:
    who = await person(desk)
    consent = await consent_of(desk, who)
    episode = await registered(
        lead.client, entry(who, lead.reference, ("consent", "Reference", consent))
    )
    given = (await desk.get(consent)).json()

    withdrawn = {k: v for k, v in given.items() if k != "meta"} | {"status": "inactive"}
    assert (await desk.put(consent, json=withdrawn)).status_code == 200

    async def off() -> bool:
        return (await desk.get(f"EpisodeOfCare/{episode['id']}")).json()["status"] == "finished"

    assert await eventually(off)


async def test_given_a_discharge_then_the_rating_cannot_be_lowered_for_two_weeks(
    lead: Staff, desk: httpx.AsyncClient
) -> None:
    who, episode = await on_register(lead, desk, rating="amber")
    stay = (await desk.post("Encounter", json=mental_health_stay(who))).json()

    async def blue() -> bool:
        return await rating_now(desk, episode["id"]) == "blue"

    assert await eventually(blue)
    left = {k: v for k, v in stay.items() if k != "meta"} | {"status": "finished"}
    left["period"] = {**stay["period"], "end": datetime.now(UTC).isoformat(timespec="seconds")}
    await desk.put(f"Encounter/{stay['id']}", json=left)

    async def red() -> bool:
        return await rating_now(desk, episode["id"]) == "red"

    assert await eventually(red)
    lowered = await lead.client.post(
        f"EpisodeOfCare/{episode['id']}/$dsr-rate",
        json=parameters(("rating", "Code", "green"), ("reason", "String", "Settled at home")),
    )
    assert lowered.status_code == 409 and "at least 14 days" in lowered.text
