"""Case finding end to end: a person's eFI follows their Conditions (by Subscription), and a
neighbourhood team's candidates come as a Group, most at risk first, without anyone already on
a caseload."""

from __future__ import annotations

import httpx

from services.caseload.deficits import load_deficits
from shared.fhir import terms
from tests.caseload.conftest import (
    Neighbourhood,
    create,
    eventually,
    frailty_scale,
    make_team,
    older_person,
)
from tests.support.fhir import condition

TABLE = load_deficits()
ONE_CODE_PER_DEFICIT = [sorted(d.codes)[0] for d in TABLE.deficits if d.codes]


async def latest_efi(client: httpx.AsyncClient, patient_id: str) -> dict[str, object] | None:
    found = await client.get(
        "RiskAssessment",
        params={
            "patient": patient_id,
            terms.EFI_RISK[0]: terms.EFI_RISK[1],
            "_sort": "-date",
            "_count": "1",
        },
    )
    entries = [
        e["resource"]
        for e in found.json().get("entry") or []
        if e["resource"]["resourceType"] == "RiskAssessment"
    ]
    return entries[0] if entries else None


async def given_deficits(
    client: httpx.AsyncClient, patient_id: str, count: int
) -> dict[str, object]:
    for code in ONE_CODE_PER_DEFICIT[:count]:
        await create(client, condition(patient_id, code=code))

    async def assessed() -> dict[str, object] | None:
        efi = await latest_efi(client, patient_id)
        score = efi and efi["prediction"][0]["probabilityDecimal"]  # type: ignore[index]
        return efi if score == round(count / 36, 3) else None

    return dict(await eventually(assessed))


async def test_given_conditions_recorded_then_the_efi_follows_them_by_subscription(
    door: httpx.AsyncClient, neighbourhood: Neighbourhood
) -> None:
    team = await make_team(door)
    person = await older_person(door, team)

    efi = await given_deficits(door, person, 9)  # 9/36 = 0.25: moderate

    band = efi["prediction"][0]["qualitativeRisk"]["coding"][0]  # type: ignore[index]
    assert band == {
        "system": terms.FRAILTY_BAND,
        "code": "moderate",
        "display": terms.FRAILTY_BANDS["moderate"],
    }
    assert len(efi["basis"]) == 9  # type: ignore[arg-type]
    assert "9 of 36" in efi["prediction"][0]["rationale"]  # type: ignore[index]


async def test_given_a_person_under_65_then_no_efi(
    door: httpx.AsyncClient, neighbourhood: Neighbourhood
) -> None:
    team = await make_team(door)
    young = await older_person(door, team, birth_date="1990-05-05")
    await create(door, condition(young, code=ONE_CODE_PER_DEFICIT[0]))
    older = await older_person(door, team)
    await given_deficits(door, older, 1)  # the subscription has caught up by now

    assert await latest_efi(door, young) is None


async def test_given_candidates_then_a_group_most_at_risk_first_without_those_enrolled(
    door: httpx.AsyncClient, neighbourhood: Neighbourhood
) -> None:
    team = await make_team(door)
    severe, moderate, fit, enrolled = [await older_person(door, team) for _ in range(4)]
    await given_deficits(door, severe, 14)
    await given_deficits(door, moderate, 10)
    await given_deficits(door, fit, 2)
    await given_deficits(door, enrolled, 12)
    scale = await create(door, frailty_scale(enrolled, 6))
    enrol = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "patient", "valueReference": {"reference": f"Patient/{enrolled}"}},
            {"name": "team", "valueReference": {"reference": team.reference}},
            {"name": "confirmation", "valueReference": {"reference": f"Observation/{scale['id']}"}},
        ],
    }
    assert (await door.post("EpisodeOfCare/$enrol", json=enrol)).status_code == 200

    answer = await door.post(f"{team.reference}/$case-finding")

    assert answer.status_code == 200, answer.text
    group = answer.json()
    assert (
        group["resourceType"] == "Group" and group["managingEntity"]["reference"] == team.reference
    )
    members = [m["entity"]["reference"] for m in group["member"]]
    assert members == [f"Patient/{severe}", f"Patient/{moderate}"]
    assert "Severe frailty" in group["member"][0]["entity"]["display"]
    again = (await door.post(f"{team.reference}/$case-finding")).json()
    assert again["id"] == group["id"]  # one list per team, kept up to date


async def test_given_the_nightly_batch_then_everyone_over_65_is_assessed_and_nothing_rewritten(
    door: httpx.AsyncClient, neighbourhood: Neighbourhood
) -> None:
    team = await make_team(door)
    person = await older_person(door, team)
    before = await given_deficits(door, person, 5)

    answer = await door.post(neighbourhood.view("case-finding"))

    assert answer.status_code == 200, answer.text
    assert answer.json()["assessed"] >= 1
    after = await latest_efi(door, person)
    assert after is not None and after["id"] == before["id"]  # unchanged: nothing new written
