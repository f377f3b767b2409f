"""The single point of access's figures end to end: a referral received today is counted, as
JSON from the triage service and as a MeasureReport through the gateway."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from services.triage.reporting import MEASURE
from tests.triage.conftest import Spa
from tests.triage.referrals import refer, referral_bundle, routings

LONDON = ZoneInfo("Europe/London")
MEASURE_ID, MEASURE_URL = MEASURE.id, MEASURE.url


def _days() -> dict[str, str]:
    today = datetime.now(LONDON).date()
    return {"start": (today - timedelta(days=1)).isoformat(), "end": today.isoformat()}


async def _figures(spa: Spa, client: httpx.AsyncClient) -> dict[str, Any]:
    answer = await client.get(spa.view("figures"), params=_days())
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def test_given_a_referral_from_111_then_todays_figures_count_it(
    spa: Spa, spa_door: httpx.AsyncClient, system_token: str, directory: dict[str, str]
) -> None:
    before = await _figures(spa, spa_door)

    await routings(spa_door, await refer(spa_door, referral_bundle(channel="111")))
    after = await _figures(spa, spa_door)

    assert after["referrals"] == before["referrals"] + 1
    assert after["by_channel"]["111"] == before["by_channel"].get("111", 0) + 1
    assert after["median_minutes_to_routing"] is not None
    assert after["urgent_community_response"]["standard"] == 0.7


async def test_given_the_measure_then_its_report_for_a_period_comes_through_the_gateway(
    spa: Spa, spa_door: httpx.AsyncClient, system_token: str, directory: dict[str, str]
) -> None:
    await routings(spa_door, await refer(spa_door, referral_bundle(channel="ambulance")))
    days = _days()

    measure = await spa_door.get(f"Measure/{MEASURE_ID}")
    answer = await spa_door.get(
        f"Measure/{MEASURE_ID}/$evaluate-measure",
        params={"periodStart": days["start"], "periodEnd": days["end"]},
    )
    figures = await _figures(spa, spa_door)

    assert measure.status_code == 200 and measure.json()["url"] == MEASURE_URL
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["resourceType"] == "MeasureReport" and report["type"] == "summary"
    assert report["period"] == days
    referrals = next(g for g in report["group"] if g["code"]["coding"][0]["code"] == "referrals")
    assert referrals["population"][0]["count"] == figures["referrals"]
    by_channel = {
        s["value"]["text"]: s["population"][0]["count"]
        for s in referrals["stratifier"][0]["stratum"]
    }
    assert by_channel["ambulance"] == figures["by_channel"]["ambulance"] >= 1
