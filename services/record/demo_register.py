"""The dynamic support register in the demo population: a few younger adults with a learning
disability and/or autism, at risk of admission to a mental health hospital.

Each is on the register with their consent, has a keyworker and a team around them, a RAG
rating with the reason and an action plan, and a flag. Everything that is on the register
carries the DSR security label, which the gateway shows only to the register's team and the
person's own DSR team; their diagnosis, carer and "about me" are ordinary parts of the record.
"""

from __future__ import annotations

import random
from datetime import datetime

from services.record import demo_care_data as care
from services.record import demo_data as data
from services.record.demo_builder import (
    BundleBuilder,
    Directory,
    History,
    Reference,
    Resource,
    concept,
    moment,
)
from services.record.demo_clinical import add_condition
from services.record.demo_directory import care_team, team_member
from services.record.demo_personal import add_about_me, add_carer, consent
from shared.fhir import terms


def register_candidates(rng: random.Random, histories: list[History]) -> list[History]:
    """A handful of the younger adults (under 50), in population order."""
    younger = [h for h in histories if h.person.age < 50]
    chosen = set(rng.sample(range(len(younger)), min(len(care.DSR_RATINGS), len(younger))))
    return [h for i, h in enumerate(younger) if i in chosen]


def add_register(builder: BundleBuilder, directory: Directory, people: list[History]) -> None:
    ratings = builder.rng.sample(care.DSR_RATINGS, len(people))
    for history, rating in zip(people, ratings, strict=True):
        _add_register_entry(builder, directory, history, rating)


def _add_register_entry(
    builder: BundleBuilder, directory: Directory, history: History, rating: str
) -> None:
    rng = builder.rng
    person = history.person
    gp = rng.choice(directory.people(person.practice_key, "gp"))
    diagnoses, about = rng.choice(care.DSR_PROFILES)
    conditions = [add_condition(builder, person, spec, gp) for spec in diagnoses]
    carer = add_carer(builder, person, care.YOUNGER_PERSONS_CARERS) if rng.random() < 0.8 else None
    keyworker = rng.choice(directory.people("community", "keyworker"))
    added = moment(rng, 60, 700)
    team = _add_team(builder, directory, history, keyworker, gp, carer)
    provision = {"type": "permit", "period": {"start": added.date().isoformat()}}
    purpose = "Consent to be on the dynamic support register"
    builder.add(_labelled(consent(person, added, provision, policy="OPTIN", purpose=purpose)))
    _add_episode(builder, directory, history, keyworker, team, added, rating)
    _add_rating(builder, history, keyworker, rating, conditions)
    _add_flag(builder, history, keyworker, added)
    matters = rng.choice(care.YOUNGER_WHAT_MATTERS)
    add_about_me(builder, person, moment(rng, 10, 60), about, matters)


def _add_team(
    builder: BundleBuilder,
    directory: Directory,
    history: History,
    keyworker: Reference,
    gp: Reference,
    carer: Reference | None,
) -> Reference:
    """The person's own DSR team: their keyworker and the professionals around them."""
    psychiatrist = directory.people("community", "psychiatrist")[0]
    members = [
        team_member(keyworker, "Keyworker"),
        team_member(psychiatrist, care.LD_PSYCHIATRIST.role_text, "doctor"),
        team_member(gp, data.GP.role_text, "doctor"),
    ]
    if carer is not None:
        members.append({"role": [{"text": "Family carer"}], "member": carer.ref()})
    name = f"Dynamic support team for {history.person.patient.display}"
    team = care_team(name, [directory.orgs["community"]], members)
    team["subject"] = history.person.patient.ref()
    return Reference(builder.add(_labelled(team)), name)


def _add_episode(
    builder: BundleBuilder,
    directory: Directory,
    history: History,
    keyworker: Reference,
    team: Reference,
    added: datetime,
    rating: str,
) -> None:
    code = terms.DYNAMIC_SUPPORT_REGISTER
    episode: Resource = {
        "resourceType": "EpisodeOfCare",
        "status": "active",
        "type": [{"coding": [terms.coding(terms.EPISODE_TYPE, code, "Dynamic support register")]}],
        "patient": history.person.patient.ref(),
        "managingOrganization": directory.orgs["community"].ref(),
        "period": {"start": added.isoformat()},
        "careManager": keyworker.ref(),
        "team": [team.ref()],
        "extension": [  # the rating now, as the register service keeps it (docs/dsr.md)
            {
                "url": terms.DSR_RATING_EXTENSION,
                "valueCoding": terms.coding(terms.RAG_RATING, rating),
            }
        ],
    }
    builder.add(_labelled(episode))


def _add_rating(
    builder: BundleBuilder,
    history: History,
    keyworker: Reference,
    rating: str,
    conditions: list[Reference],
) -> None:
    """The register's RiskAssessment: the RAG rating, why, and the action plan."""
    reason, action_plan = care.DSR_ASSESSMENTS[rating]
    outcome = terms.coding(terms.RAG_RATING, rating, terms.RAG_RATINGS[rating])
    assessment: Resource = {
        "resourceType": "RiskAssessment",
        "status": "final",
        "code": {"coding": [dict(terms.DSR_RISK_ASSESSMENT)], "text": "DSR RAG rating"},
        "subject": history.person.patient.ref(),
        "occurrenceDateTime": moment(builder.rng, 3, 30).isoformat(),
        "performer": keyworker.ref(),
        "basis": [condition.ref() for condition in conditions],
        "prediction": [{"outcome": {"coding": [outcome], "text": rating}, "rationale": reason}],
        "mitigation": action_plan,
    }
    builder.add(_labelled(assessment))


def _add_flag(
    builder: BundleBuilder, history: History, keyworker: Reference, added: datetime
) -> None:
    flag: Resource = {
        "resourceType": "Flag",
        "status": "active",
        "category": [concept(care.FLAG_CATEGORY, "admin", "Administrative")],
        "code": {"text": "On the dynamic support register"},
        "subject": history.person.patient.ref(),
        "period": {"start": added.isoformat()},
        "author": keyworker.ref(),
    }
    builder.add(_labelled(flag))


def _labelled(resource: Resource) -> Resource:
    """Put the resource on the register: only the register's people may see it."""
    resource["meta"] = {"security": [dict(terms.DSR_LABEL)]}
    return resource
