"""What triage decides from: the referral's answers and what the record knows of the person.

Gathered by ``services.triage.gathering`` (I/O); read by ``services.triage.rules`` (pure).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class ReferralFacts:
    channel: str | None = None  # a REFERRAL_CHANNEL code: telephone, 111, gp, ...
    problems: frozenset[str] = frozenset()  # PRESENTING_PROBLEM codes: fall, confusion-delirium
    red_flags: frozenset[str] = frozenset()  # linkIds of the red-flag questions answered yes
    answers: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)  # by linkId: codes,
    # booleans, strings, numbers (a Coding's code stands for the Coding)
    requested_service: str | None = None  # a REFERRAL_SERVICE code the referrer asked for
    age: int | None = None  # in whole years on the day of the referral
    frailty: str | None = None  # eFI band: fit | mild | moderate | severe
    clinical_frailty_scale: int | None = None  # 1..9
    on_caseload: bool = False  # on a proactive case management caseload now
    on_register: bool = False  # on the dynamic support register now
    learning_disability_or_autism: bool = False  # a coded diagnosis of either
    discharged_days_ago: int | None = None  # since the latest hospital discharge


@dataclass(frozen=True, slots=True)
class Decision:
    """Where a referral goes, how fast, and why: every decision records the table version,
    the rules that fired and their reasons."""

    route: str  # a TRIAGE_ROUTE code
    priority: str  # routine | urgent | asap | stat (ServiceRequest/Task priority)
    respond_within_minutes: int | None  # the response deadline, from the received time
    table_version: str
    fired: tuple[str, ...]  # rule ids, in the order they were considered
    reasons: tuple[str, ...]  # one sentence per fired rule, for a person to read
    advice: str | None = None  # what the caller was told (e.g. call 999)
