"""The gateway as the one front door: routing, tokens, audit and provenance, end to end."""

from __future__ import annotations

import asyncio

import httpx

from shared.auth.devissuer import DevIssuer
from tests.conftest import gateway_client
from tests.support.fhir import patient, unique
from tests.support.services import RunningService


async def _audit_events(
    client: httpx.AsyncClient, patient_id: str, expected: int = 1
) -> list[dict[str, object]]:
    """AuditEvents about a patient; they arrive shortly after the request (queued)."""
    for _ in range(50):
        bundle = (
            await client.get("AuditEvent", params={"patient": patient_id, "_count": 100})
        ).json()
        events = [
            e["resource"]
            for e in bundle.get("entry", [])
            if e["resource"]["resourceType"] == "AuditEvent"
        ]
        if len(events) >= expected:
            return events
        await asyncio.sleep(0.1)
    return events


async def test_given_service_token_when_creating_through_gateway_then_record_has_it(
    front_door: httpx.AsyncClient,
    gateway: RunningService,
) -> None:
    created = await front_door.post("Patient", json=patient())
    assert created.status_code == 201, created.text
    assert created.headers["location"].startswith(gateway.base + "/Patient/")
    read = await front_door.get(f"Patient/{created.json()['id']}")
    assert read.status_code == 200


async def test_given_write_through_gateway_then_provenance_names_the_client(
    front_door: httpx.AsyncClient,
) -> None:
    created = (await front_door.post("Patient", json=patient())).json()
    found = (
        await front_door.get("Provenance", params={"target": f"Patient/{created['id']}"})
    ).json()
    provenance = found["entry"][0]["resource"]
    assert provenance["target"][0]["reference"] == f"Patient/{created['id']}/_history/1"
    assert "test-suite" in str(provenance["agent"])


async def test_given_read_through_gateway_then_audit_event_written(
    front_door: httpx.AsyncClient,
) -> None:
    created = (await front_door.post("Patient", json=patient())).json()
    await front_door.get(f"Patient/{created['id']}")
    events = await _audit_events(front_door, created["id"], expected=2)
    subtypes = {e["subtype"][0]["code"] for e in events}  # type: ignore[index]
    assert {"create", "read"} <= subtypes


async def test_given_no_token_when_calling_gateway_then_401_but_metadata_open(
    gateway: RunningService,
) -> None:
    async with gateway_client(gateway, None) as stranger:
        assert (await stranger.get("Patient")).status_code == 401
        metadata = await stranger.get("metadata")
        assert metadata.status_code == 200
        security = metadata.json()["rest"][0]["security"]
        assert security["service"][0]["coding"][0]["code"] == "SMART-on-FHIR"
    async with httpx.AsyncClient() as client:
        smart = await client.get(f"http://127.0.0.1:{gateway.port}/.well-known/smart-configuration")
        assert smart.status_code == 200 and "token_endpoint" in smart.json()


async def test_given_x_request_id_when_post_repeated_then_first_answer_returned(
    front_door: httpx.AsyncClient,
) -> None:
    headers = {"X-Request-Id": unique("req-")}
    first = await front_door.post("Patient", json=patient(), headers=headers)
    again = await front_door.post("Patient", json=patient(), headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert again.headers["x-request-id"] == headers["X-Request-Id"]


async def test_given_user_without_relationship_when_reading_then_403_and_refusal_audited(
    front_door: httpx.AsyncClient,
    gateway: RunningService,
    issuer: DevIssuer,
) -> None:
    person = (await front_door.post("Patient", json=patient())).json()
    nurse = issuer.issue(scope="user/*.cruds", subject="nurse", fhir_user="Practitioner/nobody")
    async with gateway_client(gateway, nurse) as client:
        refused = await client.get(f"Patient/{person['id']}")
        assert refused.status_code == 403
        glass = await client.get(
            f"Patient/{person['id']}", headers={"X-Break-Glass-Reason": "Unconscious in ED"}
        )
        assert glass.status_code == 200
    events = await _audit_events(front_door, person["id"], expected=3)
    outcomes = sorted(e["outcome"] for e in events)  # type: ignore[misc]
    assert "4" in outcomes
    assert any("break-glass" in str(e.get("meta")) for e in events)
