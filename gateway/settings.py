"""The gateway's settings (ONESTORY_* environment variables)."""

from __future__ import annotations

from pydantic import Field, model_validator

from shared.settings import Settings


class GatewaySettings(Settings):
    host: str = "127.0.0.1"
    port: int = 8080
    # Where each service listens; each declares its own routes at /_onestory/routes.
    services: dict[str, str] = Field(
        default_factory=lambda: {
            "record": "http://127.0.0.1:8081",
            "triage": "http://127.0.0.1:8082",
            "caseload": "http://127.0.0.1:8083",
            "discharge": "http://127.0.0.1:8084",
            "dsr": "http://127.0.0.1:8085",
        }
    )
    # The gateway's own operational database (idempotent responses, audit queue).
    gateway_database_url: str = ""
    max_body_bytes: int = 10 * 1024 * 1024
    connect_timeout_seconds: float = 3.0
    # Requests per client per minute; a burst of the same size is allowed.
    rate_limit_per_minute: int = 1200
    idempotency_hours: int = 24
    route_refresh_seconds: float = 30.0

    @model_validator(mode="after")
    def _default_database(self) -> GatewaySettings:
        if not self.gateway_database_url:
            self.gateway_database_url = f"sqlite+aiosqlite:///{self.data_dir / 'gateway.db'}"
        return self
