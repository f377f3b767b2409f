"""Referrals sent as messages: ``POST [base]/$process-message`` with a Booking and Referral
Standard style Bundle of type ``message`` whose MessageHeader has the event
``servicerequest-request`` and focuses on the ServiceRequest.

The message's resources are written to the record in one transaction: the Patient is
registered (found again by NHS number or certain details, never duplicated), the
ServiceRequest is stamped with the channel it came by and when it was received, and a
repeated message (same MessageHeader id) finds the referral it made the first time. The answer
is a response message (MessageHeader.response: ok) naming the stored referral. The gateway's
X-Request-Id handling makes a repeated POST answer as the first did.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.triage.routing import RECEIVED_EXTENSION, is_referral
from shared.errors import FhirError, bad_request, unprocessable
from shared.fhir.dates import stamp
from shared.fhir.terms import (
    BASE,
    REFERRAL_CATEGORY,
    REFERRAL_CHANNEL,
    REFERRAL_CHANNEL_EXTENSION,
    REFERRAL_CHANNELS,
)
from shared.fhir.validation import parse_json
from shared.fhirclient import FhirClient

Resource = dict[str, Any]
EVENT = "servicerequest-request"
MESSAGE_ID = f"{BASE}/Id/referral-message"
CHANNELS_BY_SENDER = {"111": "111", "ambulance": "ambulance", "gp": "gp", "hospital": "hospital"}


async def process_message(client: FhirClient, body: bytes, *, received: datetime) -> Resource:
    message = _parse(body)
    header = message["entry"][0]["resource"]
    entries = _transaction_entries(message, header, received)
    answer = await client.transaction(entries)
    focus = _focus_location(entries, answer)
    return _response(header, focus, received)


def _parse(body: bytes) -> Resource:
    message = parse_json(body)
    if not isinstance(message, dict) or message.get("resourceType") != "Bundle":
        raise bad_request("$process-message takes a Bundle of type message")
    if message.get("type") != "message":
        raise bad_request(f"Bundle.type must be message, not {message.get('type')!r}")
    entries = message.get("entry")
    if not isinstance(entries, list) or not entries:
        raise bad_request("A message Bundle needs entries, the MessageHeader first")
    header = (entries[0] or {}).get("resource") or {}
    if header.get("resourceType") != "MessageHeader":
        raise bad_request("The first entry of a message must be its MessageHeader")
    event = (header.get("eventCoding") or {}).get("code")
    if event != EVENT:
        raise unprocessable(
            f"OneStory takes the event {EVENT}, not {event!r}",
            expression=["MessageHeader.eventCoding"],
        )
    if not header.get("id"):
        raise bad_request("The MessageHeader needs an id (it makes a repeat harmless)")
    return message


def _transaction_entries(message: Resource, header: Resource, received: datetime) -> list[Resource]:
    focus_urls = {f.get("reference") for f in header.get("focus") or []}
    entries, referrals = [], 0
    for position, entry in enumerate(message["entry"][1:], start=1):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or not resource.get("resourceType"):
            raise bad_request(f"Bundle.entry[{position}] has no resource")
        full_url = entry.get("fullUrl") or f"urn:uuid:entry-{position}"
        request: Resource = {"method": "POST", "url": resource["resourceType"]}
        if resource["resourceType"] == "ServiceRequest" and (
            full_url in focus_urls or not focus_urls
        ):
            referrals += 1
            resource = _stamped(resource, header, received)
            request["ifNoneExist"] = f"identifier={MESSAGE_ID}|{header['id']}"
        entries.append({"fullUrl": full_url, "resource": resource, "request": request})
    if referrals != 1:
        raise unprocessable("A referral message carries exactly one ServiceRequest, its focus")
    return entries


def _stamped(request: Resource, header: Resource, received: datetime) -> Resource:
    stamped = dict(request)
    stamped.pop("id", None)
    identifiers = [i for i in stamped.get("identifier") or [] if i.get("system") != MESSAGE_ID]
    stamped["identifier"] = [*identifiers, {"system": MESSAGE_ID, "value": header["id"]}]
    extensions = [e for e in stamped.get("extension") or [] if e.get("url") != RECEIVED_EXTENSION]
    extensions.append({"url": RECEIVED_EXTENSION, "valueDateTime": stamp(received)})
    if not any(e.get("url") == REFERRAL_CHANNEL_EXTENSION for e in extensions):
        channel = _channel_of(header)
        extensions.append(
            {
                "url": REFERRAL_CHANNEL_EXTENSION,
                "valueCoding": {
                    "system": REFERRAL_CHANNEL,
                    "code": channel,
                    "display": REFERRAL_CHANNELS[channel],
                },
            }
        )
    else:
        _check_channel(extensions)
    stamped["extension"] = extensions
    if not is_referral(stamped):
        stamped["category"] = [*(stamped.get("category") or []), {"coding": [REFERRAL_CATEGORY]}]
    return stamped


def _channel_of(header: Resource) -> str:
    sender = str((header.get("source") or {}).get("name") or "").lower()
    for word, channel in CHANNELS_BY_SENDER.items():
        if word in sender:
            return channel
    return "111" if "nhs 111" in sender else "online"


def _check_channel(extensions: list[Resource]) -> None:
    for extension in extensions:
        if extension.get("url") == REFERRAL_CHANNEL_EXTENSION:
            code = (extension.get("valueCoding") or {}).get("code")
            if code not in REFERRAL_CHANNELS:
                raise unprocessable(
                    f"{code!r} is not a referral channel: use one of "
                    + ", ".join(REFERRAL_CHANNELS),
                    expression=["ServiceRequest.extension"],
                )


def _focus_location(entries: list[Resource], answer: Resource) -> str:
    for entry, result in zip(entries, answer.get("entry") or [], strict=False):
        if entry["resource"]["resourceType"] == "ServiceRequest":
            return str(result["response"]["location"]).split("/_history")[0]
    raise FhirError(502, "The record did not say where the referral was stored")


def _response(header: Resource, focus: str, received: datetime) -> Resource:
    return {
        "resourceType": "Bundle",
        "type": "message",
        "timestamp": stamp(received),
        "entry": [
            {
                "fullUrl": "urn:uuid:response-header",
                "resource": {
                    "resourceType": "MessageHeader",
                    "eventCoding": header.get("eventCoding"),
                    "source": {
                        "name": "OneStory single point of access",
                        "endpoint": "urn:onestory:triage",
                    },
                    "response": {"identifier": header["id"], "code": "ok"},
                    "focus": [{"reference": focus}],
                },
            }
        ],
    }
