"""The register service's settings (ONESTORY_* environment variables)."""

from __future__ import annotations

from pydantic import Field

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
    max_body_bytes: int = 1024 * 1024
