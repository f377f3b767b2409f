"""What the services know about the demo residents: the facts care coordination exists for.

Built after the residents and their clinical history (``demo.py``), from the same seeded
generator, so that ``Patient/$summary`` for a demo person joins what every service knows:

- proactive case management: the frailest older people are on the caseload of their
  integrated neighbourhood team (EpisodeOfCare) with a named case manager and a personalised
  care and support plan (CarePlan, with Goals in their own words);
- open referrals and their triage at the single point of access (``demo_referrals``);
- discharge to assess for some who have been in hospital (``demo_discharge``);
- the dynamic support register for a few younger adults (``demo_register``);
- carers, "about me" and sharing choices (``demo_personal``).

One person, the showcase, has all of these at once for the README's examples: the frailest
person on a caseload who has been in hospital (see ``showcase``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from services.record import demo_care_data as care
from services.record.demo_builder import (
    BundleBuilder,
    Directory,
    History,
    Reference,
    Resource,
    moment,
)
from services.record.demo_directory import add_care_teams, neighbourhood_team
from services.record.demo_discharge import IN_HOSPITAL, Discharge, add_discharge_to_assess
from services.record.demo_personal import add_about_me, add_carer, add_sharing_choice
from services.record.demo_referrals import add_referral
from services.record.demo_register import add_register, register_candidates
from shared.fhir import terms

CASELOAD_FRAILTY = 6  # the crude frailty score from which an older person is case managed
_BEFORE_AGREEMENT = ("identified", "pathway-proposed")  # no reablement asked for yet


def add_care_coordination(
    builder: BundleBuilder, directory: Directory, histories: list[History]
) -> None:
    add_care_teams(builder, directory)
    add_care(builder, directory, histories, star=showcase(histories))


def add_care(
    builder: BundleBuilder,
    directory: Directory,
    histories: list[History],
    *,
    star: History | None = None,
    register_share: float = 1.0,
) -> None:
    """What the services know about these residents (the care teams already made); of the
    few register candidates among them, ``register_share`` on average join the register."""
    rng = builder.rng
    register = [
        h
        for h in register_candidates(rng, histories)
        if register_share >= 1 or rng.random() < register_share
    ]
    for history in histories:
        _add_care_around(builder, directory, history, everything=history is star)
    add_register(builder, directory, register)


def on_caseload(history: History) -> bool:
    return history.person.age >= 65 and history.frailty >= CASELOAD_FRAILTY


def showcase(histories: list[History]) -> History | None:
    """The person the README shows: the frailest person on a caseload with an admission."""
    candidates = [h for h in histories if on_caseload(h) and h.admissions]
    return max(candidates, key=lambda h: h.frailty, default=None)


def _add_care_around(
    builder: BundleBuilder, directory: Directory, history: History, *, everything: bool
) -> None:
    """What the services know about one person, drawn at random (``everything`` for the
    showcase)."""
    rng = builder.rng
    caseload = on_caseload(history)
    carer = None
    if everything or (caseload and rng.random() < 0.65):
        carer = add_carer(builder, history.person, care.OLDER_PERSONS_CARERS)
    if caseload:
        _add_case_management(builder, directory, history)
    in_hospital = False
    if everything or (history.admissions and rng.random() < 0.4):
        discharge = _add_discharge(builder, directory, history, carer, showcase=everything)
        in_hospital = discharge.state in IN_HOSPITAL
    if not in_hospital:  # the ward, not the community, is looking after them now
        _add_referrals(builder, directory, history, carer, urgent=everything)
    if rng.random() < 0.1:
        add_sharing_choice(builder, directory, history.person, moment(rng, 30, 900))


def _add_discharge(
    builder: BundleBuilder,
    directory: Directory,
    history: History,
    carer: Reference | None,
    *,
    showcase: bool,
) -> Discharge:
    """A D2A episode; pathway 1 (home with new support) comes with a reablement referral."""
    if showcase:
        discharge = add_discharge_to_assess(
            builder, directory, history, pathway="1", state="assessment-in-progress"
        )
    else:
        discharge = add_discharge_to_assess(builder, directory, history)
    if discharge.pathway == "1" and discharge.state not in _BEFORE_AGREEMENT:
        add_referral(
            builder, directory, history, care.REABLEMENT, authored=discharge.ready, carer=carer
        )
    return discharge


def _add_referrals(
    builder: BundleBuilder,
    directory: Directory,
    history: History,
    carer: Reference | None,
    *,
    urgent: bool,
) -> None:
    """Open referrals: often for people on a caseload, sometimes for other older people."""
    rng = builder.rng
    chance = 0.55 if on_caseload(history) else (0.25 if history.frailty >= 3 else 0.0)
    if urgent or rng.random() < chance * 0.3:  # a crisis today is rarer than a routine need
        reason = rng.choice(care.URGENT_REASONS)
        when = moment(rng, 0, 0, last_hour=16)
        add_referral(builder, directory, history, reason, authored=when, carer=carer)
    if rng.random() < chance:
        reason = rng.choice(care.ROUTINE_REASONS)
        when = moment(rng, 3, 42)
        add_referral(builder, directory, history, reason, authored=when, carer=carer)


# --- Proactive case management --------------------------------------------------------------


def _add_case_management(builder: BundleBuilder, directory: Directory, history: History) -> None:
    """On the neighbourhood team's caseload, with a care and support plan and "about me"."""
    rng = builder.rng
    team, case_manager = neighbourhood_team(directory, history.person.practice_key)
    since = moment(rng, 30, 540)
    episode: Resource = {
        "resourceType": "EpisodeOfCare",
        "status": "active",
        "type": [_episode_type()],
        "diagnosis": [
            {"condition": condition.ref(), "rank": rank}
            for rank, condition in enumerate(history.conditions[:3], start=1)
        ],
        "patient": history.person.patient.ref(),
        "managingOrganization": directory.orgs["community"].ref(),
        "period": {"start": since.date().isoformat()},
        "careManager": case_manager.ref(),
        "team": [team.ref()],
    }
    builder.add(episode)
    planned = since + timedelta(days=rng.randint(7, 21))
    _add_care_plan(builder, directory, history, (team, case_manager), planned)
    about, matters = rng.choice(care.OLDER_ABOUT_ME), rng.choice(care.OLDER_WHAT_MATTERS)
    add_about_me(builder, history.person, planned, about, matters)


def _episode_type() -> Resource:
    code = terms.PROACTIVE_CASE_MANAGEMENT
    return {"coding": [terms.coding(terms.EPISODE_TYPE, code, "Proactive case management")]}


def _add_care_plan(
    builder: BundleBuilder,
    directory: Directory,
    history: History,
    team_and_manager: tuple[Reference, Reference],
    agreed: datetime,
) -> None:
    """The personalised care and support plan agreed with the person, with their goals."""
    team, case_manager = team_and_manager
    goals = _add_goals(builder, history, agreed)
    name = history.person.patient.display.split()[0]
    plan: Resource = {
        "resourceType": "CarePlan",
        "status": "active",
        "intent": "plan",
        "category": [{"text": "Personalised care and support plan"}],
        "title": "Personalised care and support plan",
        "description": (
            f"Agreed at home with {name} and their case manager; what matters to {name} comes "
            "first. Reviewed at least every three months and after any hospital stay."
        ),
        "subject": history.person.patient.ref(),
        "period": {"start": agreed.date().isoformat()},
        "created": agreed.isoformat(),
        "author": case_manager.ref(),
        "careTeam": [team.ref()],
        "addresses": [condition.ref() for condition in history.conditions[:3]],
        "goal": [goal.ref() for goal in goals],
        "activity": _activities(builder, directory, history, case_manager),
    }
    builder.add(plan)


def _add_goals(builder: BundleBuilder, history: History, agreed: datetime) -> list[Reference]:
    person = history.person
    goals = []
    for template in builder.rng.sample(care.OLDER_GOALS, 2):
        words = template.format(street=person.street, neighbourhood=person.neighbourhood)
        goal: Resource = {
            "resourceType": "Goal",
            "lifecycleStatus": "active",
            "description": {"text": words},
            "subject": person.patient.ref(),
            "startDate": agreed.date().isoformat(),
            "expressedBy": person.patient.ref(),
        }
        goals.append(Reference(builder.add(goal), words))
    return goals


def _activities(
    builder: BundleBuilder, directory: Directory, history: History, case_manager: Reference
) -> list[Resource]:
    rng = builder.rng
    providers = {
        "case-manager": case_manager,
        "gp": rng.choice(directory.people(history.person.practice_key, "gp")),
        "nurse": rng.choice(directory.people("community", "nurse")),
    }
    activities = []
    for description, unit, every, provider in rng.sample(care.PLAN_ACTIVITIES, 3):
        repeat = {"frequency": 1, "period": every, "periodUnit": unit}
        detail = {
            "status": "in-progress",
            "description": description,
            "scheduledTiming": {"repeat": repeat},
            "performer": [providers[provider].ref()],
        }
        activities.append({"detail": detail})
    return activities
