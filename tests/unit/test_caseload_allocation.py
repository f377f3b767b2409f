"""Auto-allocation: available case managers only, the person's neighbourhood while anyone there
has room, continuity, then the most room after weighting, then id; a lead's override needs a
reason to go over capacity; rebalancing hands on everyone, once, within capacity."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.caseload.allocation import (
    DEFAULT_WEIGHTS,
    Allocation,
    CaseManager,
    Move,
    OverrideRefused,
    Person,
    allocate,
    load,
    override,
    rebalance,
    spare,
    weight,
)

NEIGHBOURHOODS = ("north", "central", "south")
BANDS = ("fit", "mild", "moderate", "severe")


def manager(
    name: str,
    *,
    where: str = "north",
    capacity: int = 30,
    caseload: Sequence[str] = (),
    available: bool = True,
) -> CaseManager:
    return CaseManager(
        id=f"PractitionerRole/{name.lower()}",
        name=name,
        neighbourhoods=frozenset(where.split(",")),
        capacity=capacity,
        caseload=tuple(caseload),
        role="community matron",
        available=available,
    )


def person(
    band: str = "moderate", *, where: str = "north", known_by: Sequence[CaseManager] = ()
) -> Person:
    return Person("Patient/p1", where, band, frozenset(m.id for m in known_by))


def reasons_for(allocation: Allocation) -> dict[str, str]:
    return {
        p.case_manager.removeprefix("PractitionerRole/"): p.reason for p in allocation.passed_over
    }


# --- Weights and load ---------------------------------------------------------------------------


def test_given_the_default_weights_then_severe_3_moderate_2_mild_and_fit_1() -> None:
    assert dict(DEFAULT_WEIGHTS) == {"severe": 3, "moderate": 2, "mild": 1, "fit": 1}
    ann = manager("Ann", capacity=10, caseload=["severe", "moderate", "fit", "mild"])
    assert (load(ann), spare(ann)) == (7, 3)


def test_given_a_band_without_a_weight_then_refused() -> None:
    with pytest.raises(ValueError, match="No weight of 1 point or more for band 'frail'"):
        weight("frail")
    with pytest.raises(ValueError, match="band 'fit'"):
        weight("fit", {"fit": 0})


# --- Auto-allocation ------------------------------------------------------------------------------


def test_given_a_local_case_manager_with_room_then_chosen_over_a_roomier_one_elsewhere() -> None:
    ann = manager("Ann", where="north", caseload=["severe"] * 8)
    bob = manager("Bob", where="south")
    chosen = allocate(person(where="north"), [bob, ann])
    assert chosen.case_manager == ann.id
    assert "Works in north, where the person lives." in chosen.reasons
    assert reasons_for(chosen) == {"bob": "Works in south, not north."}


def test_given_nobody_local_has_room_then_someone_from_elsewhere_and_the_reasons_say_so() -> None:
    ann = manager("Ann", where="north", capacity=10, caseload=["severe"] * 3)
    bob = manager("Bob", where="south,central")
    chosen = allocate(person("moderate", where="north"), [ann, bob])
    assert chosen.case_manager == bob.id
    assert any(r.startswith("Nobody working in north has room") for r in chosen.reasons)
    assert reasons_for(chosen) == {
        "ann": "No room: 9 of 10 points in use, and this person needs 2."
    }


def test_given_someone_who_knows_the_person_then_continuity_beats_more_room() -> None:
    ann = manager("Ann", caseload=["severe"] * 7)
    bob = manager("Bob")
    chosen = allocate(person(known_by=[ann]), [ann, bob])
    assert chosen.case_manager == ann.id
    assert "Already knows the person (continuity)." in chosen.reasons
    assert reasons_for(chosen) == {"bob": "Does not know the person; Ann does (continuity)."}


def test_given_the_one_who_knows_the_person_works_elsewhere_then_the_neighbourhood_wins() -> None:
    ann = manager("Ann", where="south")
    bob = manager("Bob", where="north")
    assert allocate(person(where="north", known_by=[ann]), [ann, bob]).case_manager == bob.id


def test_given_the_one_who_knows_the_person_has_no_room_then_the_roomiest_other() -> None:
    ann = manager("Ann", capacity=4, caseload=["severe"])
    bob, cat = manager("Bob", caseload=["mild"] * 6), manager("Cat", caseload=["mild"] * 2)
    chosen = allocate(person("severe", known_by=[ann]), [ann, bob, cat])
    assert chosen.case_manager == cat.id
    assert "Most room: 25 of 30 points free after this person (severe counts 3)." in chosen.reasons
    assert reasons_for(chosen)["bob"] == "Less room: 21 points free after this person, not 25."


def test_given_two_with_equal_room_then_the_first_by_id_and_the_other_told_why() -> None:
    zoe, amy = manager("Zoe"), manager("Amy")
    chosen = allocate(person(), [zoe, amy])
    assert chosen.case_manager == amy.id
    assert reasons_for(chosen) == {"zoe": "As much room as Amy; the tie goes to the first by id."}


def test_given_an_away_case_manager_then_skipped_even_with_most_room_and_knowing_them() -> None:
    ann = manager("Ann", available=False)
    bob = manager("Bob", caseload=["severe"] * 9)
    chosen = allocate(person(known_by=[ann]), [ann, bob])
    assert chosen.case_manager == bob.id
    assert reasons_for(chosen) == {"ann": "Away: not taking anyone new."}


def test_given_room_for_a_moderate_but_not_a_severe_person_then_the_band_decides() -> None:
    ann = manager("Ann", capacity=10, caseload=["severe", "severe", "mild", "mild"])  # 2 free
    assert allocate(person("moderate"), [ann]).case_manager == ann.id
    assert allocate(person("severe"), [ann]).case_manager is None


def test_given_nobody_with_room_then_nobody_and_a_lead_must_choose() -> None:
    team = [manager("Ann", capacity=2, caseload=["mild"]), manager("Bob", available=False)]
    chosen = allocate(person("severe"), team)
    assert chosen.case_manager is None
    assert chosen.reasons == (
        "Nobody available has room for this person (severe, 3 points): a team lead must "
        "choose, and may go over capacity with a reason.",
    )
    assert set(reasons_for(chosen)) == {"ann", "bob"}


def test_given_configured_weights_then_they_decide_the_room_needed() -> None:
    ann = manager("Ann", capacity=5, caseload=["moderate"])
    heavy = {**DEFAULT_WEIGHTS, "moderate": 5}
    assert allocate(person("moderate"), [ann]).case_manager == ann.id
    assert allocate(person("moderate"), [ann], weights=heavy).case_manager is None


def test_given_a_case_manager_twice_then_refused() -> None:
    with pytest.raises(ValueError, match="PractitionerRole/ann is given twice"):
        allocate(person(), [manager("Ann"), manager("Ann")])


def test_given_an_empty_team_then_nobody() -> None:
    assert allocate(person(), []).case_manager is None


# --- Properties of auto-allocation ----------------------------------------------------------------


@st.composite
def teams(draw: st.DrawFn, max_size: int = 6) -> list[CaseManager]:
    size = draw(st.integers(0, max_size))
    return [
        CaseManager(
            id=f"PractitionerRole/cm-{index}",
            name=f"Case manager {index}",
            neighbourhoods=draw(st.frozensets(st.sampled_from(NEIGHBOURHOODS), min_size=1)),
            capacity=draw(st.integers(0, 24)),
            caseload=tuple(draw(st.lists(st.sampled_from(BANDS), max_size=10))),
            available=draw(st.booleans()),
        )
        for index in range(size)
    ]


@st.composite
def people_for(draw: st.DrawFn, team: list[CaseManager], patient: str = "Patient/p1") -> Person:
    ids = sorted(m.id for m in team)
    known = draw(st.frozensets(st.sampled_from(ids))) if ids else frozenset()
    return Person(
        patient, draw(st.sampled_from(NEIGHBOURHOODS)), draw(st.sampled_from(BANDS)), known
    )


@given(st.data())
def test_given_any_team_then_allocation_follows_the_rules_in_order(data: st.DataObject) -> None:
    team = data.draw(teams())
    who = data.draw(people_for(team))
    need = weight(who.band)
    chosen = allocate(who, team)
    with_room = [m for m in team if m.available and spare(m) >= need]
    local = [m for m in with_room if who.neighbourhood in m.neighbourhoods]
    knowing = [m for m in local or with_room if m.id in who.known_by]
    pool = knowing or local or with_room
    if not pool:
        assert chosen.case_manager is None
    else:
        best = max(spare(m) for m in pool)
        assert chosen.case_manager == min(m.id for m in pool if spare(m) == best)
    passed = [p.case_manager for p in chosen.passed_over]
    assert sorted(passed) == sorted(m.id for m in team if m.id != chosen.case_manager)
    assert all(p.reason for p in chosen.passed_over) and chosen.reasons
    assert allocate(who, list(reversed(team))) == chosen


# --- A lead's override ----------------------------------------------------------------------------


def test_given_an_override_within_capacity_then_no_reason_is_needed() -> None:
    ann = manager("Ann", where="south")
    chosen = override(person(where="north"), ann, lead="Lee Lead")
    assert chosen.case_manager == ann.id
    assert chosen.reasons == (
        "Ann (community matron) is chosen by Lee Lead (team lead).",
        "Works outside north, where the person lives.",
    )


def test_given_an_override_over_capacity_without_a_reason_then_refused() -> None:
    ann = manager("Ann", capacity=10, caseload=["severe"] * 3)
    with pytest.raises(OverrideRefused, match=r"Ann goes over capacity: 11 of 10 points .*reason"):
        override(person("moderate"), ann, lead="Lee Lead")
    with pytest.raises(OverrideRefused, match="needs a reason"):
        override(person("moderate"), ann, lead="Lee Lead", reason="   ")


def test_given_an_override_over_capacity_with_a_reason_then_allowed_and_recorded() -> None:
    ann = manager("Ann", capacity=10, caseload=["severe"] * 3)
    chosen = override(
        person("moderate", known_by=[ann]), ann, lead="Lee Lead", reason="Knows the family well"
    )
    assert chosen.case_manager == ann.id
    assert chosen.reasons == (
        "Ann (community matron) is chosen by Lee Lead (team lead).",
        "Ann goes over capacity: 11 of 10 points with this person (moderate counts 2).",
        "Reason: Knows the family well",
        "Already knows the person (continuity).",
    )


def test_given_an_override_to_someone_away_then_a_reason_is_needed() -> None:
    ann = manager("Ann", available=False)
    with pytest.raises(OverrideRefused, match=r"Ann is away\."):
        override(person(), ann, lead="Lee Lead")
    chosen = override(person(), ann, lead="Lee Lead", reason="Back on Monday; knows the street")
    assert "Ann is away." in chosen.reasons


def test_given_an_override_without_the_lead_then_refused() -> None:
    with pytest.raises(OverrideRefused, match="must name the team lead"):
        override(person(), manager("Ann"), lead=" ")


@given(st.data())
def test_given_any_override_then_over_capacity_is_refused_exactly_when_no_reason_is_given(
    data: st.DataObject,
) -> None:
    team = data.draw(teams(max_size=1).filter(bool))
    who = data.draw(people_for(team))
    reason = data.draw(st.sampled_from([None, "", "Agreed at the MDT"]))
    concern = not team[0].available or load(team[0]) + weight(who.band) > team[0].capacity
    if concern and not reason:
        with pytest.raises(OverrideRefused):
            override(who, team[0], lead="Lee Lead", reason=reason)
    else:
        assert override(who, team[0], lead="Lee Lead", reason=reason).case_manager == team[0].id


# --- Rebalancing ----------------------------------------------------------------------------------


def caseload_of(*bands: str, where: str = "north") -> list[Person]:
    return [Person(f"Patient/p{n}", where, band) for n, band in enumerate(bands, start=1)]


def test_given_a_leaving_case_manager_then_their_people_are_spread_fairly() -> None:
    leaving = manager("Lou", caseload=["moderate"] * 6)
    ann, bob = manager("Ann", capacity=20), manager("Bob", capacity=20)
    moves = rebalance(leaving, caseload_of(*["moderate"] * 6), [leaving, ann, bob])
    taken = [m.to_case_manager for m in moves]
    assert taken.count(ann.id) == taken.count(bob.id) == 3
    assert all(m.from_case_manager == leaving.id for m in moves)
    assert moves[0].reasons[0] == "Handed on from Lou, who is leaving or away."


def test_given_people_known_to_others_then_continuity_is_kept_when_there_is_room() -> None:
    leaving, ann, bob = manager("Lou"), manager("Ann"), manager("Bob", caseload=["mild"])
    people = [
        Person("Patient/p1", "north", "severe", frozenset({leaving.id, bob.id})),
        Person("Patient/p2", "north", "mild", frozenset({leaving.id})),
    ]
    moves = rebalance(leaving, people, [leaving, ann, bob])
    assert [m.to_case_manager for m in moves] == [bob.id, ann.id]
    assert "Already knows the person (continuity)." in moves[0].reasons


def test_given_people_in_two_neighbourhoods_then_each_goes_to_their_own() -> None:
    leaving = manager("Lou", where="north,south")
    ann, bob = manager("Ann", where="north"), manager("Bob", where="south")
    people = [*caseload_of("severe", "mild"), Person("Patient/s1", "south", "moderate")]
    moves = rebalance(leaving, people, [ann, bob])
    assert [m.to_case_manager for m in moves] == [ann.id, ann.id, bob.id]


def test_given_too_little_room_then_the_heaviest_go_first_and_the_rest_wait_for_a_lead() -> None:
    leaving = manager("Lou")
    ann = manager("Ann", capacity=5)
    away = manager("Bob", available=False)
    moves = rebalance(leaving, caseload_of("mild", "severe", "moderate", "mild"), [ann, away])
    assert [m.patient for m in moves] == ["Patient/p1", "Patient/p2", "Patient/p3", "Patient/p4"]
    assert [m.to_case_manager for m in moves] == [None, ann.id, ann.id, None]
    assert moves[0].reasons[1].startswith("Nobody available has room for this person (mild")


def test_given_a_person_twice_on_the_caseload_then_refused() -> None:
    with pytest.raises(ValueError, match="Patient/p1 is given twice"):
        rebalance(manager("Lou"), [*caseload_of("mild"), *caseload_of("fit")], [manager("Ann")])


@given(st.data())
def test_given_any_caseload_and_team_then_rebalancing_keeps_totals_and_capacity(
    data: st.DataObject,
) -> None:
    team = data.draw(teams())
    leaving = data.draw(st.sampled_from(team)) if team else manager("Lou")
    size = data.draw(st.integers(0, 12))
    caseload = [data.draw(people_for(team, f"Patient/p{n}")) for n in range(size)]
    moves = rebalance(leaving, caseload, team)
    _assert_totals_kept(leaving, caseload, team, moves)
    _assert_capacity_and_neighbourhood_respected(caseload, team, moves)
    assert rebalance(leaving, caseload, list(reversed(team))) == moves


def _assert_totals_kept(
    leaving: CaseManager, caseload: list[Person], team: list[CaseManager], moves: tuple[Move, ...]
) -> None:
    """Nobody lost or moved twice, nobody handed to the one leaving or to anyone away, and the
    points handed on plus the points left for a lead are the caseload's points."""
    assert [m.patient for m in moves] == [p.patient for p in caseload]
    takers = {m.id for m in team if m.available and m.id != leaving.id}
    assert all(m.to_case_manager in takers | {None} for m in moves)
    band = {p.patient: p.band for p in caseload}
    handed = sum(weight(band[m.patient]) for m in moves if m.to_case_manager)
    left = sum(weight(band[m.patient]) for m in moves if not m.to_case_manager)
    assert handed + left == sum(weight(p.band) for p in caseload)


def _assert_capacity_and_neighbourhood_respected(
    caseload: list[Person], team: list[CaseManager], moves: tuple[Move, ...]
) -> None:
    """Nobody is pushed over capacity; someone goes to another neighbourhood, or to nobody,
    only when nobody local (or nobody at all) had room, which stays true as loads only grow."""
    by_id = {m.id: m for m in team}
    after = {m.id: load(m) for m in team}
    people = {p.patient: p for p in caseload}
    for move in moves:
        if move.to_case_manager is not None:
            after[move.to_case_manager] += weight(people[move.patient].band)
            assert after[move.to_case_manager] <= by_id[move.to_case_manager].capacity
    for move in moves:
        who = people[move.patient]
        free = [
            m
            for m in team
            if m.available
            and m.id != move.from_case_manager
            and m.capacity - after[m.id] >= weight(who.band)
        ]
        if move.to_case_manager is None:
            assert not free
        elif who.neighbourhood not in by_id[move.to_case_manager].neighbourhoods:
            assert not [m for m in free if who.neighbourhood in m.neighbourhoods]
