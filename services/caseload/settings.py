"""The caseload service's settings (ONESTORY_* environment variables)."""

from __future__ import annotations

from pydantic import Field

from shared.domain import DomainSettings


class CaseloadSettings(DomainSettings):
    host: str = "127.0.0.1"
    port: int = 8083
    # Where the record reaches this service with subscription notifications.
    caseload_public_url: str = "http://127.0.0.1:8083"
    # A secret the record sends back with every notification (Subscription.channel.header).
    caseload_notification_secret: str = "onestory-caseload-development-secret"
    caseload_client_id: str = "onestory-caseload"
    # Days between planned touchpoints by eFI band (null: none planned).
    touchpoint_days: dict[str, int | None] = Field(
        default_factory=lambda: {"severe": 28, "moderate": 84, "mild": 182, "fit": None}
    )
    # A follow-up touchpoint after a hospital discharge is due within this many hours.
    discharge_follow_up_hours: int = 72
    # Points a person weighs on a case manager's caseload, by eFI band.
    caseload_weights: dict[str, int] = Field(
        default_factory=lambda: {"severe": 3, "moderate": 2, "mild": 1, "fit": 1}
    )
    # The hour (Europe/London) the whole population's eFI is recomputed each night.
    case_finding_hour: int = 2
    max_body_bytes: int = 1024 * 1024
