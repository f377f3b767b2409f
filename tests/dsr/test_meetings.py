"""Reviews and C(E)TRs held, end to end: the next planned, a review before registration
refused, the planner consent 24 hours before, recommendations tracked, the monthly review."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from services.dsr.records import REVIEW_TASK
from shared.fhir import terms
from shared.fhir.dates import instant
from tests.dsr.conftest import Register, Staff, parameters
from tests.dsr.test_register import on_register

Resource = dict[str, Any]


async def test_given_a_review_held_then_the_next_is_planned_and_one_before_registration_refused(
    lead: Staff, desk: httpx.AsyncClient
) -> None:
    who, episode = await on_register(lead, desk, rating="amber")
    path = f"EpisodeOfCare/{episode['id']}/$dsr-review"
    held = datetime.now(UTC).isoformat(timespec="seconds")

    early = await lead.client.post(
        path,
        json=parameters(("held", "DateTime", "2020-01-01T10:00:00Z"), ("outcome", "String", "x")),
    )
    answer = await lead.client.post(
        path, json=parameters(("held", "DateTime", held), ("outcome", "String", "Stable at home"))
    )

    assert early.status_code == 422 and "before the registration" in early.text
    assert answer.status_code == 200, answer.text
    reviews = (
        await desk.get("Task", params={"patient": who, "code": f"{terms.TASK_CODE}|{REVIEW_TASK}"})
    ).json()
    statuses = sorted(e["resource"]["status"] for e in reviews["entry"])
    assert statuses == ["completed", "requested"]


async def test_given_a_cetr_held_then_its_recommendations_are_tracked_and_the_planner_rule_kept(
    lead: Staff, desk: httpx.AsyncClient, register: Register
) -> None:
    who, episode = await on_register(lead, desk, rating="red")
    path = f"EpisodeOfCare/{episode['id']}/$cetr"
    held = datetime.now(UTC) + timedelta(days=1)  # the register's clock is moved on 2 days

    def cetr(asked: datetime) -> Resource:
        return parameters(
            ("held", "DateTime", held.isoformat(timespec="seconds")),
            ("panel", "Reference", lead.reference),
            ("plannerConsentAsked", "DateTime", asked.isoformat(timespec="seconds")),
            ("recommendation", "String", "Sensory assessment at the day centre"),
            ("recommendation", "String", "Crisis plan shared with the family"),
        )

    await desk.put(register.clock(), json={"offset_seconds": 2 * 24 * 3600})
    try:
        too_late = await lead.client.post(path, json=cetr(held - timedelta(hours=2)))
        answer = await lead.client.post(path, json=cetr(held - timedelta(days=3)))
    finally:
        await desk.put(register.clock(), json={"offset_seconds": 0})

    assert too_late.status_code == 422 and "24 hours" in too_late.text
    assert answer.status_code == 200, answer.text
    assert terms.has_label(answer.json(), terms.DSR_LABEL)
    tasks = (await desk.get("Task", params={"patient": who})).json()
    by_code: dict[str, list[str]] = {}
    for found in tasks["entry"]:
        task = found["resource"]
        by_code.setdefault(task["code"]["coding"][0]["code"], []).append(task["status"])
    assert by_code["cetr"] == ["completed"]
    assert by_code["cetr-recommendation"] == ["requested", "requested"]


async def test_given_the_whole_register_reviewed_then_the_next_review_is_a_month_on(
    lead: Staff, register: Register
) -> None:
    held = datetime.now(UTC).replace(microsecond=0)

    answer = await lead.client.post(
        "EpisodeOfCare/$dsr-register-review",
        json=parameters(
            ("held", "DateTime", held.isoformat()), ("outcome", "String", "All ratings checked")
        ),
    )
    view = (await lead.client.get(register.view())).json()

    assert answer.status_code == 200, answer.text
    assert view["register_review"]["overdue"] is False
    assert instant(view["register_review"]["due"]) == held + timedelta(days=30)
