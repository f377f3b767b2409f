"""The discharge service's settings (ONESTORY_* environment variables)."""

from __future__ import annotations

from pydantic import model_validator

from shared.domain import DomainSettings


class DischargeSettings(DomainSettings):
    # The service's own tables (the board's read model); SQLite beside the record by default.
    discharge_database_url: str = ""
    host: str = "127.0.0.1"
    port: int = 8084
    # Where the record reaches this service with subscription notifications.
    discharge_public_url: str = "http://127.0.0.1:8084"
    discharge_notification_secret: str = "onestory-discharge-development-secret"
    discharge_client_id: str = "onestory-discharge"
    # The local timescale for the assessment after discharge on pathways 1-3 (national
    # guidance allows up to 6 weeks).
    assessment_days: int = 28
    max_body_bytes: int = 1024 * 1024

    @model_validator(mode="after")
    def _default_database(self) -> DischargeSettings:
        if not self.discharge_database_url:
            self.discharge_database_url = f"sqlite+aiosqlite:///{self.data_dir / 'discharge.db'}"
        return self
