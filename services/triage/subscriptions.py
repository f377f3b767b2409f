"""How triage learns of referrals: two rest-hook Subscriptions in the record, both id-only:
new and changed active referrals (ServiceRequests of the category "Patient referral", to
triage them) and Tasks a receiving team rejected (to route them again). ``shared.domain``
makes them at start-up.
"""

from __future__ import annotations

from shared.domain import Wanted
from shared.fhir.terms import REFERRAL_CATEGORY, SNOMED, TASK_CODE, TRIAGE_TASK

WANTED = (
    Wanted(
        "/triage/notifications/referrals",
        f"ServiceRequest?status=active&category={SNOMED}|{REFERRAL_CATEGORY['code']}",
        "New referrals",
    ),
    Wanted(
        "/triage/notifications/rejections",
        f"Task?status=rejected&code={TASK_CODE}|{TRIAGE_TASK}",
        "Referrals a receiving team sent back",
    ),
)
