"""What demo residents bring themselves: their carers, "about me" and "what matters to me" in
their own words, and their choices about who may see their record.

The sharing choices are Consents the gateway enforces (``gateway/consent.py``): a permit for
direct care with one nested deny, for a GP practice the person is not registered with or for
information with a sensitive security label. None of them keeps the person's own practice,
neighbourhood team or the hospital out, so the demo's staff can still open the demo records.
"""

from __future__ import annotations

from datetime import datetime

from services.record import demo_care_data as care
from services.record import demo_data as data
from services.record.demo_builder import (
    BundleBuilder,
    Directory,
    Person,
    Reference,
    Resource,
    concept,
)
from shared.fhir import terms

_SHARING_CHOICES = ("other-practice", "council-mental-health", "sexual-health")


def add_carer(
    builder: BundleBuilder, person: Person, kinds: tuple[tuple[care.CarerKind, int], ...]
) -> Reference:
    """A family member, friend or neighbour who looks after the person."""
    rng = builder.rng
    fitting = [(k, w) for k, w in kinds if k.partner_of in (None, person.sex)]
    kind = rng.choices([k for k, _ in fitting], weights=[w for _, w in fitting])[0]
    given = rng.choice(_given_names(kind))
    family = person.patient.display.split()[-1] if kind.same_family else rng.choice(data.SURNAMES)
    carer: Resource = {
        "resourceType": "RelatedPerson",
        "active": True,
        "patient": person.patient.ref(),
        "relationship": [
            {**concept(data.ROLE_CODE, kind.code, kind.display), "text": kind.display},
            {**concept(data.SNOMED, *care.CAREGIVER), "text": "Carer"},
        ],
        "name": [{"use": "usual", "family": family, "given": [given]}],
        "telecom": [{"system": "phone", "value": f"07700 900{rng.randrange(1000):03d}"}],
        "gender": kind.sex,
    }
    return Reference(builder.add(carer), f"{given} {family} ({kind.display}, carer)")


def _given_names(kind: care.CarerKind) -> tuple[str, ...]:
    older = kind.generation in ("same", "older")
    if kind.sex == "female":
        return data.OLDER_FEMALE if older else data.YOUNGER_FEMALE
    return data.OLDER_MALE if older else data.YOUNGER_MALE


def add_about_me(
    builder: BundleBuilder, person: Person, authored: datetime, about: str, matters: str
) -> None:
    """The person's "about me" and "what matters to me", in their own words."""
    answer: Resource = {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": terms.ABOUT_ME,
        "status": "completed",
        "subject": person.patient.ref(),
        "authored": authored.isoformat(),
        "author": person.patient.ref(),
        "source": person.patient.ref(),
        "item": [
            _answer("about-me", "About me", in_their_words(about, person)),
            _answer("what-matters", "What matters to me", in_their_words(matters, person)),
        ],
    }
    builder.add(answer)


def in_their_words(template: str, person: Person) -> str:
    return template.format(street=person.street, neighbourhood=person.neighbourhood)


def _answer(link_id: str, text: str, value: str) -> Resource:
    return {"linkId": link_id, "text": text, "answer": [{"valueString": value}]}


def add_sharing_choice(
    builder: BundleBuilder, directory: Directory, person: Person, when: datetime
) -> None:
    """A Consent that shares the record for direct care except for one thing the person
    chose to keep back."""
    rng = builder.rng
    choice = rng.choice(_SHARING_CHOICES)
    if choice == "other-practice":
        others = [p.key for p in data.GP_PRACTICES if p.key != person.practice_key]
        deny = _deny(actor=directory.orgs[rng.choice(others)])
    elif choice == "council-mental-health":
        deny = _deny(actor=directory.orgs["council"], label=care.MENTAL_HEALTH_LABEL)
    else:
        deny = _deny(label=care.SEXUAL_HEALTH_LABEL)
    base = {"type": "permit", "period": {"start": when.date().isoformat()}, "provision": [deny]}
    builder.add(consent(person, when, base, policy="OPTOUT", purpose="Sharing my record"))


def _deny(*, actor: Reference | None = None, label: tuple[str, str] | None = None) -> Resource:
    deny: Resource = {"type": "deny"}
    if actor is not None:
        role = concept(care.PARTICIPATION_TYPE, "IRCP", "information recipient")
        deny["actor"] = [{"role": role, "reference": actor.ref()}]
    if label is not None:
        deny["securityLabel"] = [terms.coding(data.ACT_CODE, *label)]
    return deny


def consent(
    person: Person, when: datetime, provision: Resource, *, policy: str, purpose: str
) -> Resource:
    """An active privacy Consent the person gave themselves."""
    return {
        "resourceType": "Consent",
        "status": "active",
        "scope": concept(care.CONSENT_SCOPE, "patient-privacy", "Privacy Consent"),
        "category": [{**concept(data.LOINC, *care.PATIENT_CONSENT), "text": purpose}],
        "patient": person.patient.ref(),
        "dateTime": when.isoformat(),
        "performer": [person.patient.ref()],
        "policyRule": {"coding": [{"system": data.ACT_CODE, "code": policy}]},
        "provision": provision,
    }
