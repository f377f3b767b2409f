"""When the nightly case finding runs: at the configured hour, Portsmouth time."""

from __future__ import annotations

from datetime import UTC, datetime

from services.caseload.app import seconds_until


def test_given_an_evening_in_winter_then_the_next_run_is_at_two_in_the_morning() -> None:
    assert seconds_until(2, datetime(2026, 12, 4, 23, 0, tzinfo=UTC)) == 3 * 3600


def test_given_just_after_the_hour_then_the_next_run_is_tomorrow() -> None:
    assert seconds_until(2, datetime(2026, 12, 4, 2, 0, 1, tzinfo=UTC)) == 24 * 3600 - 1


def test_given_summer_time_then_the_hour_is_londons_not_utcs() -> None:
    # 1 July 00:30 UTC is 01:30 in London (BST): 02:00 London comes 30 minutes later.
    assert seconds_until(2, datetime(2026, 7, 1, 0, 30, tzinfo=UTC)) == 30 * 60


def test_given_the_night_the_clocks_go_back_then_the_wait_is_the_real_one() -> None:
    # 25 October 2026: 02:00 BST becomes 01:00 GMT. From 23:00 UTC on the 24th (00:00 BST) to
    # 02:00 GMT on the 25th is 3 real hours.
    assert seconds_until(2, datetime(2026, 10, 24, 23, 0, tzinfo=UTC)) == 3 * 3600
