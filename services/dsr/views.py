"""The register at a glance, for the DSR team: counts by rating, by locality (postcode district)
and by age group (children and young people under 18, adults), and the reviews and C(E)TRs due
and overdue. ``register_view`` is pure; ``register`` reads the record through the gateway.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any

from services.dsr import reviews
from services.dsr.records import CETR_TASK, REGISTER_REVIEW_TASK, REVIEW_TASK, rating_of
from services.dsr.reviews import ADULT_AGE
from shared.fhir.dates import instant, stamp
from shared.fhir.measures import Figures, counted, stratifier
from shared.fhir.terms import (
    DYNAMIC_SUPPORT_REGISTER,
    ENCOUNTER_TYPE,
    EPISODE_TYPE,
    MENTAL_HEALTH_ADMISSION,
    RAG_RATING,
    TASK_CODE,
    code_system,
    has_coding,
)
from shared.fhirclient import FhirClient

Resource = dict[str, Any]
SOON = timedelta(days=14)
POSTCODE_DISTRICT = "https://www.ons.gov.uk/postcode-district"
AGE_GROUP = code_system("age-group")


async def register(
    client: FhirClient,
    *,
    now: datetime,
    cadence: reviews.Cadence,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Resource:
    """The register now, with the admissions and discharges of its people between ``since`` and
    ``until`` (the last 30 days by default)."""
    until = until or now
    since = since or until - timedelta(days=30)
    found = await client.search_all(
        "EpisodeOfCare",
        [
            ("type", f"{EPISODE_TYPE}|{DYNAMIC_SUPPORT_REGISTER}"),
            ("status", "active"),
            ("_include", "EpisodeOfCare:patient"),
            ("_count", "1000"),
        ],
    )
    tasks = await client.search_all(
        "Task",
        [
            ("code", f"{TASK_CODE}|{REVIEW_TASK},{TASK_CODE}|{CETR_TASK}"),
            ("status", "requested,received,accepted,ready,in-progress,on-hold"),
            ("_count", "1000"),
        ],
    )
    episodes = [r for r in found if r["resourceType"] == "EpisodeOfCare"]
    people = {f"Patient/{r['id']}": r for r in found if r["resourceType"] == "Patient"}
    stays = await client.search_all(
        "Encounter",
        [
            ("type", f"{ENCOUNTER_TYPE}|{MENTAL_HEALTH_ADMISSION}"),
            ("date", f"ge{stamp(since)}"),
            ("_count", "1000"),
        ],
    )
    view = register_view(episodes, people, tasks, now=now)
    last = await client.search(
        "Task",
        [
            ("code", f"{TASK_CODE}|{REGISTER_REVIEW_TASK}"),
            ("_sort", "-authored-on"),
            ("_count", "1"),
        ],
    )
    return {
        **view,
        "register_review": register_review(
            last[0] if last else None, now=now, every=timedelta(days=cadence.register_review_days)
        ),
        **stays_between(stays, set(people), since=since, until=until),
    }


def register_review(last: Resource | None, *, now: datetime, every: timedelta) -> Resource:
    """When the whole register was last reviewed and when the next review is due."""
    held = ((last or {}).get("executionPeriod") or {}).get("end")
    due = instant(str(held)) + every if held else now
    return {"last": held, "due": stamp(due), "overdue": due < now}


def stays_between(
    stays: list[Resource], people: set[str], *, since: datetime, until: datetime
) -> Resource:
    """Admissions to and discharges from mental health inpatient units of the register's people
    in [since, until)."""
    theirs = [s for s in stays if str((s.get("subject") or {}).get("reference")) in people]

    def within(moment: str | None) -> bool:
        return bool(moment) and since <= instant(str(moment)) < until

    return {
        "period": {"start": stamp(since), "end": stamp(until)},
        "admissions": sum(within((s.get("period") or {}).get("start")) for s in theirs),
        "discharges": sum(within((s.get("period") or {}).get("end")) for s in theirs),
    }


def register_view(
    episodes: list[Resource], people: dict[str, Resource], tasks: list[Resource], *, now: datetime
) -> Resource:
    on_register = {f"EpisodeOfCare/{e['id']}" for e in episodes}
    theirs = [t for t in tasks if _episode_of(t) in on_register]
    return {
        "now": stamp(now),
        "people": len(episodes),
        "by_rating": dict(Counter(rating_of(e) or "unrated" for e in episodes)),
        "by_locality": dict(Counter(_district(people.get(_patient(e))) for e in episodes)),
        "by_age_group": dict(Counter(_age_group(people.get(_patient(e)), now) for e in episodes)),
        "reviews_overdue": _listed(theirs, REVIEW_TASK, now, overdue=True),
        "reviews_due_soon": _listed(theirs, REVIEW_TASK, now, overdue=False),
        "cetrs_overdue": _listed(theirs, CETR_TASK, now, overdue=True),
        "cetrs_due_soon": _listed(theirs, CETR_TASK, now, overdue=False),
    }


def _listed(tasks: list[Resource], code: str, now: datetime, *, overdue: bool) -> list[Resource]:
    found = []
    for task in tasks:
        due = ((task.get("restriction") or {}).get("period") or {}).get("end")
        if not due or not has_coding(task.get("code"), TASK_CODE, code):
            continue
        late = instant(str(due)) < now
        if late == overdue and (overdue or instant(str(due)) <= now + SOON):
            found.append(
                {"task": f"Task/{task['id']}", "patient": task["for"]["reference"], "due": due}
            )
    return sorted(found, key=lambda item: item["due"])


def _patient(episode: Resource) -> str:
    return str(episode["patient"]["reference"])


def _episode_of(task: Resource) -> str:
    return next((str(b.get("reference")) for b in task.get("basedOn") or []), "")


def _district(person: Resource | None) -> str:
    for address in (person or {}).get("address") or []:
        postcode = str(address.get("postalCode") or "").strip()
        if postcode:
            return postcode.split()[0].upper()
    return "unknown"


def _age_group(person: Resource | None, now: datetime) -> str:
    try:
        born = date.fromisoformat(str((person or {}).get("birthDate")))
    except ValueError:
        return "unknown"
    day = now.date()
    age = day.year - born.year - ((day.month, day.day) < (born.month, born.day))
    return "children-and-young-people" if age < ADULT_AGE else "adults"


MEASURE = Figures(
    id="dynamic-support-register",
    version="2026.12.1",
    name="DynamicSupportRegister",
    title="Dynamic support register: monthly assurance",
    description="People on the register by rating, locality and age group; reviews and C(E)TRs "
    "overdue; admissions to and discharges from mental health inpatient units in the period.",
    reporter="Dynamic support register team",
    group_system=code_system("dsr-figure"),
    groups={
        "people": "People on the active register, by rating, locality and age group",
        "reviews-overdue": "Reviews overdue",
        "cetrs-overdue": "C(E)TRs overdue",
        "admissions": "Admissions to mental health inpatient units in the period",
        "discharges": "Discharges from mental health inpatient units in the period",
    },
)


def measure_report(view: Resource, *, first_day: date, last_day: date, now: datetime) -> Resource:
    groups = [
        MEASURE.group(
            "people",
            counted(view["people"]),
            stratifiers=[
                stratifier("rating", RAG_RATING, view["by_rating"]),
                stratifier("locality", POSTCODE_DISTRICT, view["by_locality"]),
                stratifier("age-group", AGE_GROUP, view["by_age_group"]),
            ],
        ),
        MEASURE.group("reviews-overdue", counted(len(view["reviews_overdue"]))),
        MEASURE.group("cetrs-overdue", counted(len(view["cetrs_overdue"]))),
        MEASURE.group("admissions", counted(view["admissions"])),
        MEASURE.group("discharges", counted(view["discharges"])),
    ]
    return MEASURE.report(groups, first_day=first_day, last_day=last_day, now=now)
