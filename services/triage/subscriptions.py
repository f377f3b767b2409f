"""How triage learns of referrals: Subscriptions in the record, made (once) at start-up.

Two rest-hook subscriptions, both id-only: new and changed active referrals (ServiceRequests
of the category "Patient referral", to triage them) and Tasks a receiving team rejected (to
route them again).
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.fhir.terms import REFERRAL_CATEGORY, SNOMED, TASK_CODE, TRIAGE_TASK
from shared.fhirclient import FhirClient

PAYLOAD_CONTENT = (
    "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-payload-content"
)
SECRET_HEADER = "X-OneStory-Notification-Secret"


@dataclass(frozen=True, slots=True)
class Wanted:
    path: str  # under the service's public URL
    criteria: str
    reason: str


WANTED = (
    Wanted(
        "/triage/notifications/referrals",
        f"ServiceRequest?status=active&category={SNOMED}|{REFERRAL_CATEGORY['code']}",
        "New referrals",
    ),
    Wanted(
        "/triage/notifications/rejections",
        f"Task?status=rejected&code={TASK_CODE}|{TRIAGE_TASK}",
        "Referrals a receiving team sent back",
    ),
)


async def subscribe(client: FhirClient, public_url: str, secret: str) -> None:
    """Make sure the record will tell this service of what it triages: a conditional update
    on the endpoint, so every replica and restart shares one Subscription per endpoint, and a
    change of criteria reaches the record."""
    for wanted in WANTED:
        endpoint = public_url.rstrip("/") + wanted.path
        await client.request(
            "PUT",
            "Subscription",
            params={"url": endpoint},
            body={
                "resourceType": "Subscription",
                "status": "requested",
                "reason": f"Single point of access: {wanted.reason}",
                "criteria": wanted.criteria,
                "channel": {
                    "type": "rest-hook",
                    "endpoint": endpoint,
                    "payload": "application/fhir+json",
                    "_payload": {"extension": [{"url": PAYLOAD_CONTENT, "valueCode": "id-only"}]},
                    "header": [f"{SECRET_HEADER}: {secret}"],
                },
            },
        )
