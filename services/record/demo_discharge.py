"""Discharge to assess in the demo population: the hospital discharge hub's live board.

Some people who have been admitted before are in Queen Alexandra Hospital now, no longer
meeting the criteria to reside and waiting on their pathway; others went home (or to a
community bed or care home) in the last few weeks and are waiting for, or having, their
assessment. Each has a D2A EpisodeOfCare (pathway and state as extensions) run by a discharge
coordinator, and the admission it follows.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.record.demo_builder import (
    BundleBuilder,
    Directory,
    History,
    Reference,
    Resource,
    moment,
)
from services.record.demo_clinical import add_recent_stay
from shared.fhir import terms

IN_HOSPITAL = ("identified", "pathway-proposed", "pathway-agreed", "awaiting-capacity")
AFTER_DISCHARGE = ("discharged", "assessment-in-progress", "assessment-complete")
# Weighted towards pathway 1: pathway 0 rarely needs the hub for long.
_PATHWAY_WEIGHTS = {"0": 2, "1": 6, "2": 2, "3": 1}


@dataclass(frozen=True)
class Discharge:
    pathway: str | None  # None until a pathway is proposed
    state: str
    ready: datetime  # the discharge ready date: no longer meets the criteria to reside


def add_discharge_to_assess(
    builder: BundleBuilder,
    directory: Directory,
    history: History,
    *,
    pathway: str | None = None,
    state: str | None = None,
) -> Discharge:
    """A D2A episode, drawn at random unless ``pathway`` and ``state`` are given."""
    rng = builder.rng
    state = state or rng.choice((*IN_HOSPITAL, *AFTER_DISCHARGE))
    weights = tuple(_PATHWAY_WEIGHTS.values())
    pathway = pathway or rng.choices(tuple(_PATHWAY_WEIGHTS), weights=weights)[0]
    if state == "identified":
        pathway = None
    elif pathway == "0" and state in AFTER_DISCHARGE:
        state = "discharged"  # nothing to assess after a pathway 0 discharge
    admitted, ready, discharged = _stay_dates(rng, in_hospital=state in IN_HOSPITAL)
    discharge = Discharge(pathway, state, ready)
    episode = _add_episode(builder, directory, history, discharge)
    add_recent_stay(builder, directory, history, (admitted, discharged), episode)
    return discharge


def _stay_dates(
    rng: random.Random, *, in_hospital: bool
) -> tuple[datetime, datetime, datetime | None]:
    """Admitted (at any hour, as an emergency), discharge ready (in the working day, when the
    ward round finds no criteria to reside) and, unless still in hospital, discharged."""
    if in_hospital:
        admitted = moment(rng, 5, 21, first_hour=0, last_hour=23)
        ready = _working_hours(rng, admitted + timedelta(days=rng.randint(2, 4)))
        return admitted, ready, None
    discharged = moment(rng, 2, 42)
    ready = _working_hours(rng, discharged - timedelta(days=rng.randint(0, 6)))
    admitted = ready - timedelta(days=rng.randint(3, 14), hours=rng.randint(0, 12))
    return admitted, min(ready, discharged), discharged


def _working_hours(rng: random.Random, day: datetime) -> datetime:
    return day.replace(hour=rng.randint(9, 15), minute=rng.choice((0, 15, 30, 45)))


def _add_episode(
    builder: BundleBuilder, directory: Directory, history: History, discharge: Discharge
) -> Reference:
    extensions: list[Resource] = []
    if discharge.pathway is not None:
        extensions.append(
            {
                "url": terms.D2A_PATHWAY_EXTENSION,
                "valueCoding": terms.coding(
                    terms.D2A_PATHWAY, discharge.pathway, terms.D2A_PATHWAYS[discharge.pathway]
                ),
            }
        )
    extensions.append(
        {"url": terms.DISCHARGE_READY_EXTENSION, "valueDateTime": discharge.ready.isoformat()}
    )
    extensions.append(
        {
            "url": terms.D2A_STATE_EXTENSION,
            "valueCoding": terms.coding(
                terms.D2A_STATE, discharge.state, terms.D2A_STATES[discharge.state]
            ),
        }
    )
    episode: Resource = {
        "resourceType": "EpisodeOfCare",
        "extension": extensions,
        "status": "active",
        "type": [_episode_type()],
        "patient": history.person.patient.ref(),
        "managingOrganization": directory.orgs["acute"].ref(),
        "period": {"start": discharge.ready.isoformat()},
        "careManager": builder.rng.choice(directory.people("acute", "discharge-coordinator")).ref(),
        "team": [directory.teams["discharge-hub"].ref()],
    }
    return Reference(builder.add(episode), "Discharge to assess")


def _episode_type() -> Resource:
    code = terms.DISCHARGE_TO_ASSESS
    return {"coding": [terms.coding(terms.EPISODE_TYPE, code, "Discharge to assess")]}
