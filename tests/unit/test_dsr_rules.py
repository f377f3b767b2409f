"""The dynamic support register's rules: consent and best-interests paths, refusal without
either, consent withdrawn, rating history, review cadence and C(E)TR due dates with the clock
given, admission to blue and back to red."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.dsr.register import (
    BestInterests,
    EntryRefused,
    RatingChange,
    check_entry,
    on_active_register,
    rated,
)
from services.dsr.reviews import (
    RATINGS,
    Cadence,
    ReviewRefused,
    cetrs_due,
    due_within,
    next_review,
    overdue,
    planner_consent_by,
    rating_after_discharge,
    rating_on_admission,
)

NOW = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
DAY = timedelta(days=1)
CADENCE = Cadence()
ADULT, YOUNG = date(1995, 5, 5), date(2011, 5, 5)


# --- Entry ------------------------------------------------------------------------------------


def test_given_consent_and_a_keyworker_then_the_entry_is_taken_on_consent() -> None:
    assert (
        check_entry(consent_active=True, best_interests=None, keyworker="Practitioner/k", now=NOW)
        == "consent"
    )


def test_given_a_best_interests_decision_then_the_entry_is_taken_on_it() -> None:
    decision = BestInterests("Practitioner/psychiatrist", NOW - DAY, "Lacks capacity to decide")

    basis = check_entry(
        consent_active=False, best_interests=decision, keyworker="Practitioner/k", now=NOW
    )

    assert basis == "best-interests"


@pytest.mark.parametrize(
    ("consent", "decision", "keyworker", "missing"),
    [
        (False, None, "Practitioner/k", ("consent or a best-interests decision",)),
        (True, None, None, ("a keyworker",)),
        (False, None, None, ("consent or a best-interests decision", "a keyworker")),
        (
            False,
            BestInterests("", NOW - DAY, " "),
            "Practitioner/k",
            ("who made the best-interests decision, and why",),
        ),
    ],
)
def test_given_something_missing_then_the_entry_is_refused_saying_what(
    consent: bool, decision: BestInterests | None, keyworker: str | None, missing: tuple[str, ...]
) -> None:
    with pytest.raises(EntryRefused) as refused:
        check_entry(consent_active=consent, best_interests=decision, keyworker=keyworker, now=NOW)

    assert refused.value.missing == missing
    assert all(what in str(refused.value) for what in missing)


def test_given_a_best_interests_decision_in_the_future_then_refused() -> None:
    decision = BestInterests("Practitioner/p", NOW + DAY, "Lacks capacity")

    with pytest.raises(EntryRefused):
        check_entry(consent_active=False, best_interests=decision, keyworker="P/k", now=NOW)


def test_given_consent_withdrawn_then_off_the_active_register_unless_best_interests() -> None:
    assert on_active_register(consent_active=True, consent_withdrawn=False, basis="consent")
    assert not on_active_register(consent_active=False, consent_withdrawn=True, basis="consent")
    assert on_active_register(consent_active=False, consent_withdrawn=True, basis="best-interests")


# --- Ratings --------------------------------------------------------------------------------


def test_given_rating_changes_then_each_is_kept_with_who_when_and_why() -> None:
    registered = NOW - 30 * DAY
    history = rated(
        [],
        RatingChange("amber", registered, "Practitioner/k", "New placement"),
        registered=registered,
    )
    history = rated(
        history, RatingChange("red", NOW, "Practitioner/k", "Crisis at home"), registered=registered
    )

    assert [(c.rating, c.why) for c in history] == [
        ("amber", "New placement"),
        ("red", "Crisis at home"),
    ]


@pytest.mark.parametrize(
    ("change", "missing"),
    [
        (RatingChange("purple", NOW, "P/k", "?"), ("rating",)),
        (RatingChange("red", NOW, "P/k", "  "), ("reason",)),
        (RatingChange("red", NOW - 60 * DAY, "P/k", "Old news"), ("date",)),
    ],
)
def test_given_a_bad_rating_change_then_refused(
    change: RatingChange, missing: tuple[str, ...]
) -> None:
    with pytest.raises(EntryRefused) as refused:
        rated([], change, registered=NOW - 30 * DAY)

    assert refused.value.missing == missing


# --- Reviews -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("rating", "days"), [("red", 7), ("amber", 30), ("green", 91)])
def test_given_a_rating_then_the_next_review_follows_its_cadence(rating: str, days: int) -> None:
    due = next_review(rating, registered=NOW - 100 * DAY, last_review=NOW - DAY, cadence=CADENCE)

    assert due is not None and due.due == NOW - DAY + days * DAY


def test_given_blue_then_no_review_by_rating_and_a_review_before_registration_is_refused() -> None:
    assert next_review("blue", registered=NOW, last_review=None, cadence=CADENCE) is None
    with pytest.raises(ReviewRefused):
        next_review("red", registered=NOW, last_review=NOW - DAY, cadence=CADENCE)
    with pytest.raises(ReviewRefused):
        next_review("mauve", registered=NOW, last_review=None, cadence=CADENCE)


def test_given_the_clock_moves_then_reviews_become_due_and_overdue() -> None:
    due = next_review("red", registered=NOW, last_review=None, cadence=CADENCE)
    assert due is not None

    assert due_within([due], now=NOW + 2 * DAY, days=7) == [due]
    assert overdue([due], now=NOW + 6 * DAY) == []
    assert overdue([due], now=NOW + 8 * DAY) == [due]


# --- C(E)TRs -----------------------------------------------------------------------------------


def test_given_a_red_rating_then_a_community_cetr_within_28_days() -> None:
    (cetr,) = cetrs_due(
        rating="red", rated_at=NOW, admitted=None, last_cetr=None, born=ADULT, cadence=CADENCE
    )

    assert cetr.what == "community-cetr" and cetr.due == NOW + 28 * DAY
    assert planner_consent_by(cetr.due, CADENCE) == cetr.due - timedelta(hours=24)
    assert (
        cetrs_due(
            rating="red",
            rated_at=NOW,
            admitted=None,
            last_cetr=NOW + DAY,
            born=ADULT,
            cadence=CADENCE,
        )
        == []
    )
    assert (
        cetrs_due(
            rating="amber", rated_at=NOW, admitted=None, last_cetr=None, born=ADULT, cadence=CADENCE
        )
        == []
    )


@pytest.mark.parametrize(("born", "days"), [(ADULT, 28), (YOUNG, 14)])
def test_given_an_admission_then_a_post_admission_cetr_sooner_for_the_young(
    born: date, days: int
) -> None:
    (cetr,) = cetrs_due(
        rating="blue", rated_at=NOW, admitted=NOW, last_cetr=None, born=born, cadence=CADENCE
    )

    assert cetr.what == "post-admission-cetr" and cetr.due == NOW + days * DAY


@pytest.mark.parametrize(("born", "days"), [(ADULT, 182), (YOUNG, 91)])
def test_given_an_inpatient_after_the_first_cetr_then_regular_ones(born: date, days: int) -> None:
    held = NOW + 10 * DAY
    (cetr,) = cetrs_due(
        rating="blue", rated_at=NOW, admitted=NOW, last_cetr=held, born=born, cadence=CADENCE
    )

    assert cetr.what == "inpatient-cetr" and cetr.due == held + days * DAY


def test_given_a_child_turning_18_during_the_stay_then_the_age_at_admission_counts() -> None:
    turning = date(2008, 12, 10)  # 17 on admission, 18 six days later
    (cetr,) = cetrs_due(
        rating="blue", rated_at=NOW, admitted=NOW, last_cetr=None, born=turning, cadence=CADENCE
    )

    assert cetr.due == NOW + 14 * DAY


# --- Around a stay -------------------------------------------------------------------------------


def test_given_an_admission_then_blue_and_after_discharge_red_for_two_weeks() -> None:
    discharged = NOW

    assert rating_on_admission() == "blue"
    assert (
        rating_after_discharge("green", discharged=discharged, now=NOW + 13 * DAY, cadence=CADENCE)
        == "red"
    )
    assert (
        rating_after_discharge("green", discharged=discharged, now=NOW + 14 * DAY, cadence=CADENCE)
        == "green"
    )


@given(st.sampled_from(RATINGS), st.integers(0, 13))
def test_given_any_wish_within_two_weeks_of_discharge_then_red(wanted: str, days: int) -> None:
    assert (
        rating_after_discharge(wanted, discharged=NOW, now=NOW + days * DAY, cadence=CADENCE)
        == "red"
    )


def test_given_settings_that_make_no_sense_then_refused() -> None:
    with pytest.raises(ReviewRefused):
        Cadence(review_days={"red": 7, "amber": 30, "green": 91}).check()
    with pytest.raises(ReviewRefused):
        Cadence(review_days={"red": 0, "amber": 30, "green": 91, "blue": None}).check()
    with pytest.raises(ReviewRefused):
        Cadence(red_after_discharge_days=0).check()
    Cadence().check()
