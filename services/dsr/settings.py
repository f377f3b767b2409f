"""The register service's settings (ONESTORY_* environment variables)."""

from __future__ import annotations

from pydantic import Field

from services.dsr.reviews import Cadence
from shared.domain import DomainSettings


class DsrSettings(DomainSettings):
    host: str = "127.0.0.1"
    port: int = 8085
    dsr_public_url: str = "http://127.0.0.1:8085"
    dsr_notification_secret: str = "onestory-dsr-development-secret"
    dsr_client_id: str = "onestory-dsr"
    # Days between reviews by rating (null: none by rating; blue people have C(E)TRs).
    dsr_review_days: dict[str, int | None] = Field(
        default_factory=lambda: {"red": 7, "amber": 30, "green": 91, "blue": None}
    )
    # C(E)TRs and the rest, in days (national guidance as defaults).
    dsr_register_review_days: int = 30
    dsr_community_cetr_days: int = 28
    dsr_post_admission_days_adult: int = 28
    dsr_post_admission_days_young: int = 14
    dsr_inpatient_cetr_days_adult: int = 182
    dsr_inpatient_cetr_days_young: int = 91
    dsr_red_after_discharge_days: int = 14
    max_body_bytes: int = 1024 * 1024

    def cadence(self) -> Cadence:
        return Cadence(
            review_days=self.dsr_review_days,
            register_review_days=self.dsr_register_review_days,
            community_cetr_days=self.dsr_community_cetr_days,
            post_admission_days_adult=self.dsr_post_admission_days_adult,
            post_admission_days_young=self.dsr_post_admission_days_young,
            inpatient_cetr_days_adult=self.dsr_inpatient_cetr_days_adult,
            inpatient_cetr_days_young=self.dsr_inpatient_cetr_days_young,
            red_after_discharge_days=self.dsr_red_after_discharge_days,
        )
