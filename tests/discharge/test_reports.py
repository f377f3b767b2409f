"""The discharge hub's reports end to end: today's daily sitrep counts a person discharged
today, as JSON, CSV and a MeasureReport through the gateway; the week's figures follow."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import httpx

from services.discharge.reporting import DAILY, PERIOD
from tests.discharge.conftest import DischargeHub, ago, in_hospital
from tests.discharge.test_journey import identified, moved

TODAY = datetime.now(ZoneInfo("Europe/London")).date().isoformat()


def view(hub: DischargeHub, path: str) -> str:
    return hub.board().removesuffix("board") + path


async def test_given_a_discharge_today_then_the_daily_sitrep_counts_it_in_every_form(
    desk: httpx.AsyncClient, hub: DischargeHub
) -> None:
    before = (await desk.get(view(hub, "sitrep/daily"), params={"date": TODAY})).json()
    stay = await in_hospital(desk)
    episode = await identified(desk, stay.spell["id"], ago(minutes=30))
    episode = await moved(desk, episode, "pathway-proposed", ("pathway", "Code", "1"))
    episode = await moved(desk, episode, "pathway-agreed")
    await moved(desk, episode, "discharged", ("destination", "Code", "home"))

    after = (await desk.get(view(hub, "sitrep/daily"), params={"date": TODAY})).json()
    rows = await desk.get(view(hub, "sitrep/daily"), params={"date": TODAY, "_format": "csv"})
    report = await desk.get(
        f"Measure/{DAILY.id}/$evaluate-measure", params={"periodStart": TODAY, "periodEnd": TODAY}
    )
    week = (await desk.get(view(hub, "figures"), params={"start": TODAY, "end": TODAY})).json()

    assert after["discharged"] == before["discharged"] + 1
    assert after["no_criteria_to_reside"] == before["no_criteria_to_reside"] + 1
    assert rows.headers["content-type"].startswith("text/csv")
    assert f"discharged,,{after['discharged']}" in rows.text.splitlines()
    assert report.status_code == 200, report.text
    groups = {g["code"]["coding"][0]["code"]: g for g in report.json()["group"]}
    assert groups["discharged"]["population"][0]["count"] == after["discharged"]
    assert week["own_home"]["own_home"] >= 1 and week["discharged"] >= 1
    measure = (await desk.get(f"Measure/{PERIOD.id}")).json()
    assert measure["url"] == PERIOD.url


async def test_given_a_report_asked_badly_then_400(
    desk: httpx.AsyncClient, hub: DischargeHub
) -> None:
    no_date = await desk.get(view(hub, "sitrep/daily"))
    wrong = await desk.get(view(hub, "sitrep/weekly"), params={"date": "last week"})
    unknown = await desk.get(
        view(hub, "figures"), params={"start": TODAY, "end": TODAY, "ward": "D4"}
    )

    assert no_date.status_code == wrong.status_code == unknown.status_code == 400
