"""The discharge to assess journey: every transition allowed and refused, the discharge ready
date set, cleared and reset, and the days of delay attributed to their reasons."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import product
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.discharge.delays import UnknownDelay, current_delay, days_by_reason, with_delay
from services.discharge.journey import (
    NEXT,
    Move,
    TransitionRefused,
    allowed_after,
    history,
    pathway_of,
    ready_date,
    state_of,
    transition,
)
from services.discharge.readiness import ReadinessRefused, determination, with_ready_date
from shared.fhir import terms

Resource = dict[str, Any]
NOW = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
ADMITTED = NOW - timedelta(days=10)


def episode(state: str = "identified", pathway: str | None = None, ready: bool = True) -> Resource:
    found: Resource = {
        "resourceType": "EpisodeOfCare",
        "id": "e1",
        "status": "active",
        "patient": {"reference": "Patient/p1"},
        "extension": [
            {"url": terms.D2A_STATE_EXTENSION, "valueCoding": terms.coding(terms.D2A_STATE, state)}
        ],
    }
    if pathway is not None:
        found["extension"].append(
            {
                "url": terms.D2A_PATHWAY_EXTENSION,
                "valueCoding": terms.coding(terms.D2A_PATHWAY, pathway),
            }
        )
    if ready:
        found["extension"] = with_ready_date(found, NOW - timedelta(days=2))
    return found


def move(to: str, **more: Any) -> Move:
    return Move(to=to, at=NOW, by="Practitioner/coordinator", **more)


def test_given_the_journey_then_every_state_is_known_and_reachable_from_identified() -> None:
    assert set(NEXT) == set(terms.D2A_STATES)
    seen, frontier = {"identified"}, ["identified"]
    while frontier:
        for after in NEXT[frontier.pop()]:
            if after not in seen:
                seen.add(after)
                frontier.append(after)
    assert seen == set(terms.D2A_STATES)


@pytest.mark.parametrize(("current", "to"), list(product(terms.D2A_STATES, terms.D2A_STATES)))
def test_given_any_two_states_then_the_move_is_made_exactly_when_allowed(
    current: str, to: str
) -> None:
    pathway = "1" if current not in ("identified",) else None
    before = episode(current, pathway)
    extras = {"pathway": "2"} if to == "pathway-proposed" else {}
    extras |= {"reason": "Died in hospital"} if to == "closed" else {}

    if to in allowed_after(before):
        after = transition(before, move(to, **extras))
        assert state_of(after) == to
        assert history(after)[-1]["state"] == to and history(after)[-1]["by"].startswith("Pract")
    else:
        with pytest.raises(TransitionRefused) as refused:
            transition(before, move(to, **extras))
        assert refused.value.status == 409 and refused.value.allowed == allowed_after(before)


def test_given_pathway_0_then_no_waiting_for_capacity_and_no_assessment_after_discharge() -> None:
    agreed = episode("pathway-agreed", "0")
    assert "awaiting-capacity" not in allowed_after(agreed)
    discharged = transition(agreed, move("discharged"))
    assert allowed_after(discharged) == ("closed",)
    assert allowed_after(episode("discharged", "2")) == ("assessment-in-progress",)


def test_given_a_proposal_then_it_needs_a_known_pathway_and_records_it() -> None:
    with pytest.raises(TransitionRefused) as unknown:
        transition(episode(), move("pathway-proposed", pathway="4"))
    proposed = transition(episode(), move("pathway-proposed", pathway="3"))

    assert unknown.value.status == 422 and "not '4'" in str(unknown.value)
    assert pathway_of(proposed) == "3"
    changed = transition(
        transition(proposed, move("pathway-agreed")), move("pathway-proposed", pathway="1")
    )
    assert pathway_of(changed) == "1"
    assert [h["state"] for h in history(changed)] == [
        "pathway-proposed",
        "pathway-agreed",
        "pathway-proposed",
    ]


def test_given_no_discharge_ready_date_then_no_discharge() -> None:
    with pytest.raises(TransitionRefused) as refused:
        transition(episode("pathway-agreed", "1", ready=False), move("discharged"))

    assert refused.value.status == 422 and "discharge ready date" in str(refused.value)


def test_given_closing_before_discharge_then_a_reason_is_needed_and_the_episode_finishes() -> None:
    with pytest.raises(TransitionRefused):
        transition(episode("awaiting-capacity", "2"), move("closed"))
    closed = transition(episode("awaiting-capacity", "2"), move("closed", reason="Died"))

    assert closed["status"] == "finished" and closed["period"]["end"]
    assert allowed_after(closed) == ()


def test_given_a_state_that_does_not_exist_then_422() -> None:
    with pytest.raises(TransitionRefused) as refused:
        transition(episode(), move("teleported"))

    assert refused.value.status == 422


# --- The discharge ready date ---------------------------------------------------------------


def spell() -> Resource:
    return {"resourceType": "Encounter", "id": "s1", "period": {"start": ADMITTED.isoformat()}}


def test_given_criteria_to_reside_determinations_then_the_date_is_set_cleared_and_reset() -> None:
    first = NOW - timedelta(days=3)
    ready = {**episode(ready=False), "extension": with_ready_date(episode(ready=False), first)}
    cleared = {**ready, "extension": with_ready_date(ready, None)}
    later = NOW - timedelta(days=1)
    reset = {**cleared, "extension": with_ready_date(cleared, later)}

    assert ready_date(ready) == first.replace(microsecond=0)
    assert ready_date(cleared) is None
    assert ready_date(reset) == later.replace(microsecond=0)
    found = determination(reset, spell(), meets_criteria=False, at=later, now=NOW)
    assert found["valueBoolean"] is False and found["encounter"] == {"reference": "Encounter/s1"}


@pytest.mark.parametrize(
    ("at", "fault"),
    [
        (NOW + timedelta(hours=1), "in the future"),
        (ADMITTED - timedelta(days=1), "before the admission"),
    ],
)
def test_given_an_impossible_date_then_refused(at: datetime, fault: str) -> None:
    with pytest.raises(ReadinessRefused) as refused:
        determination(episode(), spell(), meets_criteria=False, at=at, now=NOW)

    assert fault in str(refused.value)


# --- Delays -----------------------------------------------------------------------------------


def test_given_delays_one_after_another_then_each_reason_gets_its_days() -> None:
    waiting = episode("awaiting-capacity", "2")
    day = timedelta(days=1)
    waiting["extension"] = with_delay(waiting, "community-bed", at=NOW - 5 * day)
    waiting["extension"] = with_delay(waiting, "patient-family-choice", at=NOW - 2 * day)

    assert (
        current_delay(waiting) is not None
        and current_delay(waiting).reason == "patient-family-choice"
    )  # type: ignore[union-attr]
    assert days_by_reason(waiting, until=NOW) == {
        "community-bed": 3.0,
        "patient-family-choice": 2.0,
    }
    waiting["extension"] = with_delay(waiting, None, at=NOW - day)
    assert current_delay(waiting) is None
    assert days_by_reason(waiting, until=NOW + 10 * day)["patient-family-choice"] == 1.0


def test_given_an_unknown_delay_reason_then_refused() -> None:
    with pytest.raises(UnknownDelay):
        with_delay(episode(), "waiting-for-godot", at=NOW)


@given(
    st.lists(
        st.tuples(st.sampled_from(sorted(terms.D2A_DELAY_REASONS)), st.integers(1, 72)), max_size=8
    )
)
def test_given_any_sequence_of_delays_then_the_days_add_up_to_the_time_waited(
    steps: list[tuple[str, int]],
) -> None:
    waiting, at = episode("awaiting-capacity", "1"), NOW - timedelta(days=30)
    start = at
    for reason, hours in steps:
        waiting["extension"] = with_delay(waiting, reason, at=at)
        at += timedelta(hours=hours)
    waited = (at - start).total_seconds() / 86400 if steps else 0.0

    assert sum(days_by_reason(waiting, until=at).values()) == pytest.approx(
        waited, abs=0.01 * len(steps) + 0.01
    )
