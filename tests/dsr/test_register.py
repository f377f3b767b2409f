"""The dynamic support register end to end through the gateway: added with consent or a
best-interests decision, refused without either, ratings kept with their reasons, reviews
planned by rating, the register at a glance, and someone outside the team refused and
audited."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from services.dsr.records import RATING_EXTENSION, REVIEW_TASK
from shared.fhir import terms
from shared.fhir.dates import instant
from shared.fhir.validation import validate
from tests.caseload.conftest import eventually
from tests.conftest import gateway_client
from tests.dsr.conftest import Register, Staff, consent_of, parameters, person
from tests.support.services import REPO

Resource = dict[str, Any]


def entry(
    who: str, keyworker: str | None, *more: tuple[str, str, Any], rating: str = "amber"
) -> Resource:
    given: list[tuple[str, str, Any]] = [
        ("patient", "Reference", who),
        ("rating", "Code", rating),
        ("reason", "String", "Placement breaking down; two crisis calls this month"),
        ("riskFactors", "String", "Sensory overload at the day centre"),
        ("actionPlan", "String", "Weekly keyworker visits; quiet room at the day centre"),
    ]
    if keyworker:
        given.append(("keyworker", "Reference", keyworker))
    return parameters(*given, *more)


async def registered(client: httpx.AsyncClient, body: Resource) -> Resource:
    answer = await client.post("EpisodeOfCare/$dsr-register", json=body)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def test_given_consent_and_a_keyworker_then_on_the_register_with_everything_labelled(
    lead: Staff, desk: httpx.AsyncClient, register: Register
) -> None:
    who = await person(desk)
    consent = await consent_of(desk, who)

    episode = await registered(
        lead.client, entry(who, lead.reference, ("consent", "Reference", consent))
    )

    assert (
        terms.has_label(episode, terms.DSR_LABEL)
        and episode["careManager"]["reference"] == lead.reference
    )
    for kind in ("RiskAssessment", "CarePlan", "Flag", "CareTeam", "Task"):
        found = (await desk.get(kind, params={"patient": who})).json()
        resources = [e["resource"] for e in found.get("entry", [])]
        assert resources and all(terms.has_label(r, terms.DSR_LABEL) for r in resources), kind
    (review,) = [
        e["resource"]
        for e in (
            await desk.get(
                "Task", params={"patient": who, "code": f"{terms.TASK_CODE}|{REVIEW_TASK}"}
            )
        ).json()["entry"]
    ]
    due = instant(review["restriction"]["period"]["end"]) - instant(episode["period"]["start"])
    assert due == timedelta(days=30)  # amber: monthly


async def test_given_a_best_interests_decision_then_on_the_register_and_it_is_recorded(
    lead: Staff, desk: httpx.AsyncClient, register: Register
) -> None:
    who = await person(desk)
    decided = (datetime.now(UTC) - timedelta(days=2)).isoformat(timespec="seconds")
    decision = [
        {"name": "decidedBy", "valueReference": {"reference": lead.reference}},
        {"name": "decidedAt", "valueDateTime": decided},
        {"name": "why", "valueString": "Lacks capacity to decide; family and advocate agree"},
    ]

    await registered(lead.client, entry(who, lead.reference, ("bestInterests", "part", decision)))

    consents = (await desk.get("Consent", params={"patient": who})).json()
    (recorded,) = [e["resource"] for e in consents["entry"]]
    assert "Lacks capacity" in recorded["policyRule"]["text"]


@pytest.mark.parametrize(
    ("with_consent", "keyworker", "missing"),
    [
        (False, True, "consent or a best-interests decision"),
        (True, False, "a keyworker"),
    ],
)
async def test_given_no_consent_nor_decision_or_no_keyworker_then_422_saying_what_is_missing(
    lead: Staff, desk: httpx.AsyncClient, with_consent: bool, keyworker: bool, missing: str
) -> None:
    who = await person(desk)
    more = [("consent", "Reference", await consent_of(desk, who))] if with_consent else []

    answer = await lead.client.post(
        "EpisodeOfCare/$dsr-register", json=entry(who, lead.reference if keyworker else None, *more)
    )

    assert answer.status_code == 422 and missing in answer.text, answer.text
    assert not (await desk.get("EpisodeOfCare", params={"patient": who})).json().get("entry")


async def test_given_withdrawn_consent_then_it_does_not_count(
    lead: Staff, desk: httpx.AsyncClient
) -> None:
    who = await person(desk)
    withdrawn = await consent_of(desk, who, status="inactive")

    answer = await lead.client.post(
        "EpisodeOfCare/$dsr-register",
        json=entry(who, lead.reference, ("consent", "Reference", withdrawn)),
    )

    assert answer.status_code == 422 and "consent" in answer.text


async def test_given_ratings_over_time_then_each_is_kept_with_its_reason_and_red_asks_for_a_cetr(
    lead: Staff, desk: httpx.AsyncClient
) -> None:
    who = await person(desk)
    episode = await registered(
        lead.client,
        entry(who, lead.reference, ("consent", "Reference", await consent_of(desk, who))),
    )

    answer = await lead.client.post(
        f"EpisodeOfCare/{episode['id']}/$dsr-rate",
        json=parameters(
            ("rating", "Code", "red"), ("reason", "String", "Admission threatened tonight")
        ),
    )
    unknown = await lead.client.post(
        f"EpisodeOfCare/{episode['id']}/$dsr-rate",
        json=parameters(("rating", "Code", "purple"), ("reason", "String", "?")),
    )

    assert answer.status_code == 200, answer.text
    now = [
        e["valueCoding"]["code"] for e in answer.json()["extension"] if e["url"] == RATING_EXTENSION
    ]
    assert now == ["red"] and unknown.status_code == 422
    ratings = (await desk.get("RiskAssessment", params={"patient": who, "_sort": "date"})).json()
    reasons = [e["resource"]["prediction"][0]["rationale"] for e in ratings["entry"]]
    assert reasons[-1] == "Admission threatened tonight" and len(reasons) == 2
    tasks = (await desk.get("Task", params={"patient": who})).json()
    kinds = {
        (e["resource"]["code"]["coding"][0]["code"], e["resource"]["status"])
        for e in tasks["entry"]
    }
    assert ("cetr", "requested") in kinds  # red asks for a community C(E)TR
    assert ("dsr-review", "cancelled") in kinds and ("dsr-review", "requested") in kinds


async def test_given_the_register_then_its_team_sees_the_counts(
    lead: Staff, desk: httpx.AsyncClient, register: Register
) -> None:
    young = await person(desk, birth_date="2012-01-01", postcode="PO5 1AA")
    await registered(
        lead.client,
        entry(
            young,
            lead.reference,
            ("consent", "Reference", await consent_of(desk, young)),
            rating="green",
        ),
    )

    view = (await lead.client.get(register.view())).json()

    assert view["people"] >= 1 and view["by_rating"].get("green", 0) >= 1
    assert view["by_locality"].get("PO5", 0) >= 1
    assert view["by_age_group"].get("children-and-young-people", 0) >= 1


async def test_given_someone_outside_the_team_then_403_and_the_attempt_is_audited(
    outsider: Staff, desk: httpx.AsyncClient, register: Register
) -> None:
    who = await person(desk)

    view = await outsider.client.get(register.view())
    add = await outsider.client.post(
        "EpisodeOfCare/$dsr-register",
        json=entry(who, outsider.reference, ("consent", "Reference", await consent_of(desk, who))),
    )

    assert view.status_code == 403 and add.status_code == 403

    async def refused_in_audit() -> bool:
        events = (
            await desk.get("AuditEvent", params={"agent": outsider.reference, "outcome": "4"})
        ).json()
        return len(events.get("entry", [])) >= 2

    assert await eventually(refused_in_audit)


def mental_health_stay(who: str, status: str = "in-progress") -> Resource:
    return {
        "resourceType": "Encounter",
        "status": status,
        "class": {"system": terms.ACT_CODE, "code": "IMP"},
        "type": [{"coding": [terms.coding(terms.ENCOUNTER_TYPE, terms.MENTAL_HEALTH_ADMISSION)]}],
        "subject": {"reference": who},
        "period": {"start": (datetime.now(UTC) - timedelta(hours=3)).isoformat(timespec="seconds")},
    }


async def rating_now(desk: httpx.AsyncClient, episode_id: str) -> str:
    episode = (await desk.get(f"EpisodeOfCare/{episode_id}")).json()
    return next(
        e["valueCoding"]["code"] for e in episode["extension"] if e["url"] == RATING_EXTENSION
    )


async def on_register(
    lead: Staff, desk: httpx.AsyncClient, rating: str = "red"
) -> tuple[str, Resource]:
    who = await person(desk)
    consent = ("consent", "Reference", await consent_of(desk, who))
    return who, await registered(lead.client, entry(who, lead.reference, consent, rating=rating))


async def test_given_the_month_then_the_assurance_report_counts_the_register_and_its_stays(
    lead: Staff, desk: httpx.AsyncClient, register: Register
) -> None:
    who, _ = await on_register(lead, desk, rating="amber")
    await desk.post("Encounter", json=mental_health_stay(who))
    today = datetime.now(UTC).date()
    period = {
        "periodStart": (today - timedelta(days=30)).isoformat(),
        "periodEnd": today.isoformat(),
    }

    view = (await lead.client.get(register.view())).json()
    answer = await lead.client.get(
        "Measure/dynamic-support-register/$evaluate-measure", params=period
    )
    refused = await lead.client.get(
        "Measure/dynamic-support-register/$evaluate-measure",
        params={**period, "reportType": "subject"},
    )

    assert view["admissions"] >= 1
    assert answer.status_code == 200, answer.text
    report = answer.json()
    validate(report)
    groups = {g["code"]["coding"][0]["code"]: g for g in report["group"]}
    assert groups["admissions"]["population"][0]["count"] >= 1
    assert groups["people"]["population"][0]["count"] >= 1
    assert refused.status_code == 400


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b'{"resourceType": "Parameters", "parameter": [', 400),
        (b'{"resourceType": "Patient"}', 400),
        (
            b'{"resourceType": "Parameters", "parameter": [{"name": "colour", '
            b'"valueCode": "red"}]}',
            400,
        ),
        (
            b'{"resourceType": "Parameters", "parameter": [{"name": "rating", "valueInteger": 1}]}',
            400,
        ),
    ],
)
async def test_given_a_malformed_request_then_400(lead: Staff, body: bytes, status: int) -> None:
    answer = await lead.client.post("EpisodeOfCare/$dsr-register", content=body)

    assert answer.status_code == status, answer.text


async def test_given_no_token_or_a_residents_or_a_body_too_large_then_refused(
    register: Register, lead: Staff, issuer: Any
) -> None:
    resident = issuer.issue(scope="patient/*.cruds", patient="someone", client_id="resident-app")
    async with gateway_client(register.gateway, None) as stranger:
        anonymous = await stranger.get(register.view())
    async with gateway_client(register.gateway, resident) as theirs:
        their_view = await theirs.get(register.view())
    big = parameters(("reason", "String", "x" * 2_000_000))

    too_large = await lead.client.post("EpisodeOfCare/$dsr-register", json=big)

    assert anonymous.status_code == 401 and their_view.status_code == 403
    assert too_large.status_code == 413


async def test_given_the_register_then_the_keyworker_reads_it_and_others_do_not(
    lead: Staff, outsider: Staff, desk: httpx.AsyncClient
) -> None:
    """The lead is the keyworker here; the outsider has no relationship with the person."""
    who, _ = await on_register(lead, desk, rating="amber")

    seen = await lead.client.get("RiskAssessment", params={"patient": who})
    hidden = await outsider.client.get("RiskAssessment", params={"patient": who})

    ratings = [
        e["resource"]
        for e in seen.json().get("entry", [])
        if e["resource"]["resourceType"] == "RiskAssessment"
    ]
    assert seen.status_code == 200 and ratings and terms.has_label(ratings[0], terms.DSR_LABEL)
    withheld = [e["resource"] for e in hidden.json().get("entry", [])]
    assert hidden.status_code == 200
    assert [r["resourceType"] for r in withheld] == ["OperationOutcome"]  # "withheld", no rating


@pytest.mark.parametrize(
    ("variable", "value", "fault"),
    [
        ("ONESTORY_DSR_RED_AFTER_DISCHARGE_DAYS", "0", "red_after_discharge_days"),
        ("ONESTORY_DSR_REVIEW_DAYS", '{"red": 7}', "'amber'"),
    ],
)
def test_given_settings_that_make_no_sense_then_the_register_refuses_to_start(
    variable: str, value: str, fault: str
) -> None:
    started = subprocess.run(
        [sys.executable, "-c", "from services.dsr.app import create_app; create_app()"],
        cwd=REPO,
        env={variable: value, "ONESTORY_ENVIRONMENT": "test", "PATH": ""},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert started.returncode != 0 and "dsr will not start" in started.stderr
    assert fault in started.stderr
