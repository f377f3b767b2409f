"""The record's tables: current resources, every version, and one index table per search
parameter type. Migrations in ``migrations/`` create them; this module is what queries use.

Times are microseconds since the Unix epoch (UTC) in BIGINT columns, so both engines compare
them as integers and paging keys are exact.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects import postgresql

metadata = MetaData()

# SQLite only gives an auto-incrementing key to "INTEGER PRIMARY KEY".
Key = BigInteger().with_variant(Integer(), "sqlite")
# Index values compared by prefix use the byte order, so PostgreSQL can range-scan them.
IndexText = String(200).with_variant(postgresql.VARCHAR(200, collation="C"), "postgresql")

resource = Table(
    "resource",
    metadata,
    Column("pk", Key, primary_key=True, autoincrement=True),
    Column("resource_type", String(64), nullable=False),
    Column("id", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("last_updated", BigInteger, nullable=False),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("content", Text, nullable=False),
    UniqueConstraint("resource_type", "id", name="uq_resource_type_id"),
    Index("ix_resource_type_pk", "resource_type", "pk"),
    Index("ix_resource_type_updated", "resource_type", "last_updated"),
)

resource_version = Table(
    "resource_version",
    metadata,
    Column("seq", Key, primary_key=True, autoincrement=True),
    Column("resource_pk", BigInteger, nullable=False),
    Column("resource_type", String(64), nullable=False),
    Column("id", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("last_updated", BigInteger, nullable=False),
    Column("method", String(8), nullable=False),
    Column("content", Text, nullable=False),
    UniqueConstraint("resource_pk", "version", name="uq_resource_version"),
    Index("ix_version_type_seq", "resource_type", "seq"),
    Index("ix_version_updated", "last_updated"),
)


def _index_table(name: str, *columns: Column[object], lookup: tuple[str, ...]) -> Table:
    """An index table: which resource, of which type, by which parameter, with what value."""
    return Table(
        name,
        metadata,
        Column("res_pk", BigInteger, nullable=False),
        Column("resource_type", String(64), nullable=False),
        Column("param", String(64), nullable=False),
        *columns,
        Index(f"ix_{name}_lookup", "resource_type", "param", *lookup),
        Index(f"ix_{name}_res", "res_pk"),
    )


idx_string = _index_table(
    "idx_string",
    Column("value", IndexText, nullable=False),
    Column("exact", String(200), nullable=False),
    lookup=("value",),
)
idx_token = _index_table(
    "idx_token",
    Column("system", String(255)),
    Column("code", String(255)),
    Column("text", IndexText),
    lookup=("code", "system"),
)
idx_reference = _index_table(
    "idx_reference",
    Column("target_type", String(64)),
    Column("target_id", String(64)),
    Column("url", String(512)),
    Column("identifier_system", String(255)),
    Column("identifier_value", String(255)),
    lookup=("target_id", "target_type"),
)
Index("ix_idx_reference_target", idx_reference.c.target_type, idx_reference.c.target_id)
idx_date = _index_table(
    "idx_date",
    Column("low", BigInteger, nullable=False),
    Column("high", BigInteger, nullable=False),
    lookup=("low", "high"),
)
Index("ix_idx_date_high", idx_date.c.resource_type, idx_date.c.param, idx_date.c.high)
idx_number = _index_table(
    "idx_number",
    Column("value", Float, nullable=False),
    Column("low", Float, nullable=False),
    Column("high", Float, nullable=False),
    lookup=("low", "high"),
)
idx_quantity = _index_table(
    "idx_quantity",
    Column("value", Float, nullable=False),
    Column("low", Float, nullable=False),
    Column("high", Float, nullable=False),
    Column("system", String(255)),
    Column("code", String(64)),
    Column("unit", String(64)),
    lookup=("low", "high"),
)
idx_uri = _index_table(
    "idx_uri",
    Column("value", String(512), nullable=False),
    lookup=("value",),
)

INDEX_TABLES = (idx_string, idx_token, idx_reference, idx_date, idx_number, idx_quantity, idx_uri)

# Subscriptions: the outbox. A row is written in the same transaction as the change it
# reports, one per matching subscription, and deleted once delivered.
subscription_event = Table(
    "subscription_event",
    metadata,
    Column("seq", Key, primary_key=True, autoincrement=True),
    Column("subscription_id", String(64), nullable=False),
    Column("event_number", BigInteger, nullable=False),
    Column("resource_type", String(64), nullable=False),
    Column("resource_id", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("method", String(8), nullable=False),  # create | update | delete
    Column("committed_at", BigInteger, nullable=False),  # microseconds since epoch
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", BigInteger, nullable=False),
    Index("ix_subscription_event_due", "subscription_id", "seq"),
)

# Per subscription: how many events it has had (the backport's event numbers) and how its
# delivery is going.
subscription_state = Table(
    "subscription_state",
    metadata,
    Column("subscription_id", String(64), primary_key=True),
    Column("events_since_start", BigInteger, nullable=False, default=0),
    Column("failures", Integer, nullable=False, default=0),
    Column("last_error", String(500)),
)
