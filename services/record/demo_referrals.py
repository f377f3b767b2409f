"""Open referrals in the demo population and their triage at the single point of access.

Each referral is a ServiceRequest for one of the services triage routes to, with the door it
came in by (the referral-channel extension) and who made it; its triage Task says where the
single point of access routed it. Urgent community response referrals carry the 2-hour clock
in the Task's restriction.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from services.record import demo_care_data as care
from services.record import demo_data as data
from services.record.demo_builder import BundleBuilder, Directory, History, Reference, Resource
from services.record.demo_directory import neighbourhood_team
from shared.fhir import terms

_UCR_RESPONSE = timedelta(hours=2)


def add_referral(
    builder: BundleBuilder,
    directory: Directory,
    history: History,
    reason: care.ReferralReason,
    *,
    authored: datetime,
    carer: Reference | None = None,
) -> None:
    """An active referral for ``reason`` and the triage Task that routed it."""
    rng = builder.rng
    performer = _performer(directory, history, reason.service)
    channels = [c for c in reason.channels if c != "carer" or carer is not None]
    channel = rng.choice(channels or ["telephone"])
    request: Resource = {
        "resourceType": "ServiceRequest",
        "extension": [
            {
                "url": terms.REFERRAL_CHANNEL_EXTENSION,
                "valueCoding": terms.coding(
                    terms.REFERRAL_CHANNEL, channel, terms.REFERRAL_CHANNELS[channel]
                ),
            }
        ],
        "status": "active",
        "intent": "order",
        "category": [{"coding": [terms.REFERRAL_CATEGORY]}],
        "priority": reason.priority,
        "code": _service(reason.service),
        "reasonCode": [_reason(reason)],
        "subject": history.person.patient.ref(),
        "authoredOn": authored.isoformat(),
        "requester": _requester(rng, directory, history, channel, carer).ref(),
        "performer": [performer.ref()],
    }
    referral = Reference(builder.add(request), reason.text)
    _add_triage(builder, history, referral, reason, performer, authored)


def _add_triage(
    builder: BundleBuilder,
    history: History,
    referral: Reference,
    reason: care.ReferralReason,
    owner: Reference,
    authored: datetime,
) -> None:
    """The single point of access's triage of the referral: routed, and (for urgent
    community response) due within two hours."""
    urgent = reason.priority == "urgent"
    triaged = authored + timedelta(minutes=builder.rng.randint(5, 25))
    task: Resource = {
        "resourceType": "Task",
        "status": builder.rng.choice(("accepted", "in-progress")) if urgent else "completed",
        "businessStatus": {"text": care.ROUTING[reason.service][1]},
        "intent": "order",
        "priority": reason.priority,
        "code": {"coding": [terms.coding(terms.TASK_CODE, terms.TRIAGE_TASK, "Triage")]},
        "description": f"Triage: {reason.text}",
        "focus": referral.ref(),
        "for": history.person.patient.ref(),
        "executionPeriod": {"start": authored.isoformat()},
        "authoredOn": authored.isoformat(),
        "lastModified": triaged.isoformat(),
        "owner": owner.ref(),
    }
    if urgent:
        task["restriction"] = {"period": {"end": (authored + _UCR_RESPONSE).isoformat()}}
    else:
        task["executionPeriod"]["end"] = triaged.isoformat()
    builder.add(task)


def _performer(directory: Directory, history: History, service: str) -> Reference:
    kind, _, key = care.ROUTING[service][0].partition(":")
    if key == "neighbourhood":
        return neighbourhood_team(directory, history.person.practice_key)[0]
    return directory.teams[key] if kind == "team" else directory.orgs[key]


def _requester(
    rng: random.Random,
    directory: Directory,
    history: History,
    channel: str,
    carer: Reference | None,
) -> Reference:
    """Who made the referral, by the door it came in by."""
    if channel == "gp":
        return rng.choice(directory.people(history.person.practice_key, "gp"))
    if channel == "hospital":
        return rng.choice(directory.people("acute", "discharge-coordinator"))
    if channel == "social-care":
        return directory.orgs["council"]
    if channel in ("111", "ambulance"):
        return directory.orgs["ambulance"]
    return carer if channel == "carer" and carer is not None else history.person.patient


def _service(service: str) -> Resource:
    display = terms.REFERRAL_SERVICES[service]
    return {"coding": [terms.coding(terms.REFERRAL_SERVICE, service, display)], "text": display}


def _reason(reason: care.ReferralReason) -> Resource:
    if reason.finding is None:
        return {"text": reason.text}
    return {"coding": [terms.coding(data.SNOMED, *reason.finding)], "text": reason.text}
