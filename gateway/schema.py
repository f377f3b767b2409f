"""The gateway's operational tables: answers kept for idempotent POSTs, and the audit queue."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from shared.storage.schema import Key

metadata = MetaData()

idempotent_response = Table(
    "idempotent_response",
    metadata,
    Column("client_id", String(255), nullable=False),
    Column("request_id", String(255), nullable=False),
    Column("created_at", BigInteger, nullable=False),  # microseconds since epoch
    Column("completed", Boolean, nullable=False),
    Column("status", Integer),
    Column("headers", Text),  # JSON list of [name, value]
    Column("body", LargeBinary),
    PrimaryKeyConstraint("client_id", "request_id", name="pk_idempotent_response"),
    Index("ix_idempotent_created", "created_at"),
)

audit_outbox = Table(
    "audit_outbox",
    metadata,
    Column("seq", Key, primary_key=True, autoincrement=True),
    Column("created_at", BigInteger, nullable=False),
    Column("kind", String(32), nullable=False),  # AuditEvent
    Column("payload", Text, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", BigInteger, nullable=False),
    Column("last_error", String(500)),
    Index("ix_audit_outbox_due", "next_attempt_at"),
)
