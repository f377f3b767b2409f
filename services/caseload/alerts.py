"""What the caseload service does when the record tells it something changed (Subscriptions):

- a Condition or an Encounter of a person aged 65 or over: their eFI is recomputed;
- an admission or an emergency department visit of a person on a caseload: their case manager
  gets an alert Task at once; when the hospital stay ends, a follow-up touchpoint due within
  72 hours (configurable);
- a touchpoint done: the next one, after the interval the person's band sets.

Notifications come at least once: every Task made here is made once (its identifier), and an
unchanged eFI writes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from opentelemetry import metrics

from services.caseload import casefinding, touchpoints
from services.caseload.deficits import DeficitTable
from services.caseload.teams import is_caseload_episode
from shared.fhir.entries import created_once
from shared.fhir.terms import TASK_CODE, TOUCHPOINT_TASK, has_coding
from shared.fhirclient import FhirClient

Resource = dict[str, Any]
HOSPITAL = frozenset({"IMP", "ACUTE", "NONAC"})
_meter = metrics.get_meter("onestory.caseload")
_tasks_made = _meter.create_counter(
    "onestory.caseload.tasks", description="Alerts and touchpoints made on notifications"
)
STILL_THERE = frozenset({"planned", "arrived", "triaged", "in-progress", "onleave"})


@dataclass(frozen=True, slots=True)
class Alerting:
    client: FhirClient
    table: DeficitTable
    touchpoint_days: Mapping[str, int | None]
    follow_up_hours: int

    async def condition_changed(self, condition_id: str, *, now: datetime) -> None:
        condition = await self.client.read(f"Condition/{condition_id}")
        patient = str((condition.get("subject") or {}).get("reference", ""))
        if patient.startswith("Patient/"):
            await casefinding.assess(
                self.client, patient.removeprefix("Patient/"), table=self.table, now=now
            )

    async def encounter_changed(self, encounter_id: str, *, now: datetime) -> None:
        stay = await self.client.read(f"Encounter/{encounter_id}")
        patient = str((stay.get("subject") or {}).get("reference", ""))
        if not patient.startswith("Patient/"):
            return
        await casefinding.assess(
            self.client, patient.removeprefix("Patient/"), table=self.table, now=now
        )
        kind = (stay.get("class") or {}).get("code")
        if kind not in HOSPITAL | {"EMER"}:
            return
        episode = await self._active_episode(patient)
        if episode is None:
            return
        made = [touchpoints.admission_alert(episode, stay, now=now)]
        if kind in HOSPITAL and stay.get("status") == "finished" and _ended(stay):
            made.append(
                touchpoints.follow_up_after_discharge(
                    episode, stay, hours=self.follow_up_hours, now=now
                )
            )
        await self._make_once(made)

    async def task_changed(self, task_id: str, *, now: datetime) -> None:
        """A touchpoint done: plan the next one."""
        task = await self.client.read(f"Task/{task_id}")
        if task.get("status") != "completed" or not has_coding(
            task.get("code"), TASK_CODE, TOUCHPOINT_TASK
        ):
            return
        reference = next(
            (str(b["reference"]) for b in task.get("basedOn") or [] if b.get("reference")), ""
        )
        if not reference.startswith("EpisodeOfCare/"):
            return
        episode = await self.client.read(reference)
        if episode.get("status") != "active":
            return
        following = touchpoints.next_touchpoint(
            episode, after=now, following=f"after/{task_id}", days=self.touchpoint_days
        )
        if following is not None:
            await self._make_once([following])

    async def _active_episode(self, patient: str) -> Resource | None:
        episodes = await self.client.search(
            "EpisodeOfCare", [("patient", patient), ("status", "active"), ("_count", "50")]
        )
        return next((e for e in episodes if is_caseload_episode(e)), None)

    async def _make_once(self, tasks: list[Resource]) -> None:
        entries = [created_once(task, f"urn:uuid:task-{n}") for n, task in enumerate(tasks)]
        answer = await self.client.transaction(entries)
        for task, made in zip(tasks, answer.get("entry") or [], strict=False):
            if str((made.get("response") or {}).get("status", "")).startswith("201"):
                kind = task["code"]["coding"][0]["code"]
                _tasks_made.add(1, {"kind": kind})


def _ended(stay: Resource) -> bool:
    return bool((stay.get("period") or {}).get("end"))
