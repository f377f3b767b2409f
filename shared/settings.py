"""One settings object per process, read from ONESTORY_* environment variables.

Every service builds its own subclass of ``Settings``; nothing else reads the environment.
Secrets may come from files instead (a Kubernetes Secret mounted as a volume): with
``ONESTORY_SECRETS_DIR`` set, a file there named after the variable in lower case
(``onestory_client_secret``) gives its value, and the environment variable wins if both are set.
Settings are checked as the process starts: one that is not valid stops it with a message naming
the variable (``shared.cli``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATA_DIR = Path(".onestory")


class Settings(BaseSettings):
    """What every OneStory process needs to know about its environment."""

    model_config = SettingsConfigDict(env_prefix="ONESTORY_", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    data_dir: Path = DEFAULT_DATA_DIR
    # OpenTelemetry: "none", "console" or "otlp" (then OTEL_EXPORTER_OTLP_ENDPOINT applies).
    telemetry_exporter: Literal["none", "console", "otlp"] = "none"
    log_level: str = "INFO"
    # "json" (one object per line) or "text"; empty: json in production, text elsewhere.
    log_format: Literal["json", "text", ""] = ""
    # On SIGTERM, how long requests in flight (and the record's deliveries) have to finish.
    shutdown_grace_seconds: float = 20.0
    # OAuth2 / SMART on FHIR: who issues access tokens, the audience they must name, and where
    # the issuer publishes its keys. An empty JWKS URL means the development issuer's keys in the
    # data folder (development and test only; see effective_jwks_url).
    auth_issuer: str = "http://127.0.0.1:8080/auth"
    auth_audience: str = "http://127.0.0.1:8080/fhir"
    auth_jwks_url: str = ""
    # This process's own client credentials, for calls in its own name (production).
    auth_token_url: str = ""
    auth_authorize_url: str = ""
    client_id: str = ""
    client_secret: str = ""

    def __init__(self, **values: Any) -> None:
        secrets = os.environ.get("ONESTORY_SECRETS_DIR") or None
        super().__init__(_secrets_dir=secrets, **values)

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, level: str) -> str:
        if level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError("must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return level.upper()

    @field_validator("shutdown_grace_seconds")
    @classmethod
    def _not_negative(cls, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("must be 0 or more seconds")
        return seconds

    def effective_log_format(self) -> str:
        """The log format: as set, else JSON in production and text elsewhere."""
        if self.log_format:
            return self.log_format
        return "json" if self.environment == "production" else "text"

    def effective_jwks_url(self) -> str:
        """Where the issuer's signing keys are: the configured URL, or the development issuer's."""
        if self.auth_jwks_url:
            return self.auth_jwks_url
        if self.environment == "production":
            raise ValueError("Set ONESTORY_AUTH_JWKS_URL: production has no development issuer")
        # The folder shared.auth.devissuer keeps its keys in (FOLDER_NAME there).
        return (self.data_dir / "dev-issuer" / "jwks.json").resolve().as_uri()


class RecordSettings(Settings):
    """The shared care record (services/record)."""

    database_url: str = ""
    host: str = "127.0.0.1"
    port: int = 8081
    # The public FHIR base (e.g. https://record.example.nhs.uk/fhir); derived from each
    # request's Host and X-Forwarded-* headers when empty.
    base_url: str = ""
    max_body_bytes: int = 10 * 1024 * 1024
    default_page_size: int = 50
    max_page_size: int = 1000
    database_pool_size: int = 10
    # Subscriptions: delivery attempts before the subscription goes to error (its events keep
    # waiting and are retried), back-off between attempts, time-out per delivery.
    subscription_attempts: int = 5
    subscription_backoff_seconds: float = 0.5
    subscription_max_backoff_seconds: float = 30.0
    subscription_timeout_seconds: float = 10.0
    subscription_poll_seconds: float = 0.5

    @model_validator(mode="after")
    def _default_database(self) -> RecordSettings:
        if not self.database_url:
            self.database_url = f"sqlite+aiosqlite:///{self.data_dir / 'record.db'}"
        return self
