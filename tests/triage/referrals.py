"""Referring a person to the single point of access in tests, and watching what triage did."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Any

import httpx

from services.triage.routing import TRIAGE_STATUS
from shared.fhir import terms
from tests.support.fhir import patient

Resource = dict[str, Any]
INTAKE = terms.questionnaire("referral-intake")


def referral_bundle(
    *,
    channel: str = "gp",
    problems: tuple[str, ...] = ("fall",),
    red_flags: tuple[str, ...] = (),
    who: Resource | None = None,
    requester: Resource | None = None,
    records: tuple[Resource, ...] = (),
) -> Resource:
    """A referral as a partner's system sends it: the person (registered, so the same person
    sent twice is found again), the ServiceRequest, the intake answers, and ``records`` of the
    person sent with it (made theirs: subject or patient is set)."""
    person, request, answers = (f"urn:uuid:{uuid.uuid4()}" for _ in range(3))
    items: list[Resource] = [
        {
            "linkId": "presenting-problems",
            "answer": [
                {"valueCoding": terms.coding(terms.PRESENTING_PROBLEM, code)} for code in problems
            ],
        }
    ]
    items += [{"linkId": flag, "answer": [{"valueBoolean": True}]} for flag in red_flags]
    supporting = [
        {
            "fullUrl": f"urn:uuid:{uuid.uuid4()}",
            "resource": {
                **record,
                ("patient" if record["resourceType"] == "EpisodeOfCare" else "subject"): {
                    "reference": person
                },
            },
            "request": {"method": "POST", "url": record["resourceType"]},
        }
        for record in records
    ]
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": person,
                "resource": who or patient(),
                "request": {"method": "POST", "url": "Patient"},
            },
            {
                "fullUrl": request,
                "resource": {
                    "resourceType": "ServiceRequest",
                    "status": "active",
                    "intent": "order",
                    "category": [{"coding": [terms.REFERRAL_CATEGORY]}],
                    "subject": {"reference": person},
                    "authoredOn": _now(),
                    **({"requester": requester} if requester else {}),
                    "extension": [
                        {
                            "url": terms.REFERRAL_CHANNEL_EXTENSION,
                            "valueCoding": terms.coding(terms.REFERRAL_CHANNEL, channel),
                        }
                    ],
                },
                "request": {"method": "POST", "url": "ServiceRequest"},
            },
            {
                "fullUrl": answers,
                "resource": {
                    "resourceType": "QuestionnaireResponse",
                    "questionnaire": INTAKE,
                    "status": "completed",
                    "subject": {"reference": person},
                    "basedOn": [{"reference": request}],
                    "item": items,
                },
                "request": {"method": "POST", "url": "QuestionnaireResponse"},
            },
            *supporting,
        ],
    }


async def refer(client: httpx.AsyncClient, bundle: Resource) -> str:
    answer = await client.post("", json=bundle)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["entry"][1]["response"]["location"]).split("/")[1]


async def routings(client: httpx.AsyncClient, request_id: str, count: int = 1) -> list[Resource]:
    """The referral's triage Tasks, newest first, once there are ``count`` of them."""
    for _ in range(150):
        bundle = (
            await client.get(
                "Task", params={"focus": f"ServiceRequest/{request_id}", "_sort": "-authored-on"}
            )
        ).json()
        tasks = [
            e["resource"]
            for e in bundle.get("entry", [])
            if e["resource"]["resourceType"] == "Task"
        ]
        if len(tasks) >= count:
            return tasks
        await asyncio.sleep(0.1)
    raise AssertionError(f"ServiceRequest/{request_id} was not routed {count} time(s)")


async def owner_route(client: httpx.AsyncClient, task: Resource) -> str:
    """The route the service a Task went to takes (other tests' directories may hold other
    services of the same route: the chosen one is whichever is eligible and most specific)."""
    service = (await client.get(task["owner"]["reference"])).json()
    return str(service["type"][0]["coding"][0]["code"])


def status_of(task: Resource) -> str:
    return str(
        next(c["code"] for c in task["businessStatus"]["coding"] if c["system"] == TRIAGE_STATUS)
    )


def inputs(task: Resource, kind: str) -> list[str]:
    return [
        i["valueString"] for i in task.get("input", []) if i["type"]["coding"][0]["code"] == kind
    ]


def _now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def message(channel_sender: str = "NHS 111 (IC24)") -> Resource:
    header_id = str(uuid.uuid4())
    person, request = f"urn:uuid:{uuid.uuid4()}", f"urn:uuid:{uuid.uuid4()}"
    return {
        "resourceType": "Bundle",
        "type": "message",
        "entry": [
            {
                "fullUrl": f"urn:uuid:{header_id}",
                "resource": {
                    "resourceType": "MessageHeader",
                    "id": header_id,
                    "eventCoding": {
                        "system": "https://fhir.nhs.uk/CodeSystem/message-events-bars",
                        "code": "servicerequest-request",
                    },
                    "source": {"name": channel_sender, "endpoint": "urn:nhs-111"},
                    "focus": [{"reference": request}],
                },
            },
            {"fullUrl": person, "resource": patient()},
            {
                "fullUrl": request,
                "resource": {
                    "resourceType": "ServiceRequest",
                    "status": "active",
                    "intent": "order",
                    "subject": {"reference": person},
                    "reasonCode": [
                        {"coding": [terms.coding(terms.PRESENTING_PROBLEM, "confusion-delirium")]}
                    ],
                },
            },
        ],
    }
