"""The triage service's settings (ONESTORY_* environment variables)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from shared.domain import DomainSettings

DECISION_TABLE = Path(__file__).parent / "decision-table.yaml"


class TriageSettings(DomainSettings):
    host: str = "127.0.0.1"
    port: int = 8082
    # Where the record reaches this service with subscription notifications.
    triage_public_url: str = "http://127.0.0.1:8082"
    # A secret the record sends back with every notification (Subscription.channel.header).
    triage_notification_secret: str = "onestory-triage-development-secret"
    triage_client_id: str = "onestory-triage"
    decision_table: Path = DECISION_TABLE
    # Response deadlines by route in minutes, overriding the decision table's defaults.
    triage_deadlines: dict[str, int] = Field(default_factory=dict)
