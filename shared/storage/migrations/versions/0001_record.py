"""the record: resources, versions and search indexes

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

INDEX_TABLES = (
    "idx_string",
    "idx_token",
    "idx_reference",
    "idx_date",
    "idx_number",
    "idx_quantity",
    "idx_uri",
)


revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "idx_date",
        sa.Column("res_pk", sa.BigInteger(), nullable=False),
        sa.Column("resource_type", sa.String(length=64), nullable=False),
        sa.Column("param", sa.String(length=64), nullable=False),
        sa.Column("low", sa.BigInteger(), nullable=False),
        sa.Column("high", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_idx_date_high", "idx_date", ["resource_type", "param", "high"])
    op.create_index("ix_idx_date_lookup", "idx_date", ["resource_type", "param", "low", "high"])
    op.create_index("ix_idx_date_res", "idx_date", ["res_pk"])

    op.create_table(
        "idx_number",
        sa.Column("res_pk", sa.BigInteger(), nullable=False),
        sa.Column("resource_type", sa.String(length=64), nullable=False),
        sa.Column("param", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("low", sa.Float(), nullable=False),
        sa.Column("high", sa.Float(), nullable=False),
    )
    op.create_index("ix_idx_number_lookup", "idx_number", ["resource_type", "param", "low", "high"])
    op.create_index("ix_idx_number_res", "idx_number", ["res_pk"])

    op.create_table(
        "idx_quantity",
        sa.Column("res_pk", sa.BigInteger(), nullable=False),
        sa.Column("resource_type", sa.String(length=64), nullable=False),
        sa.Column("param", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("low", sa.Float(), nullable=False),
        sa.Column("high", sa.Float(), nullable=False),
        sa.Column("system", sa.String(length=255), nullable=True),
        sa.Column("code", sa.String(length=64), nullable=True),
        sa.Column("unit", sa.String(length=64), nullable=True),
    )
    op.create_index(
        "ix_idx_quantity_lookup", "idx_quantity", ["resource_type", "param", "low", "high"]
    )
    op.create_index("ix_idx_quantity_res", "idx_quantity", ["res_pk"])

    op.create_table(
        "idx_reference",
        sa.Column("res_pk", sa.BigInteger(), nullable=False),
        sa.Column("resource_type", sa.String(length=64), nullable=False),
        sa.Column("param", sa.String(length=64), nullable=False),
        sa.Column("target_type", sa.String(length=64), nullable=True),
        sa.Column("target_id", sa.String(length=64), nullable=True),
        sa.Column("url", sa.String(length=512), nullable=True),
        sa.Column("identifier_system", sa.String(length=255), nullable=True),
        sa.Column("identifier_value", sa.String(length=255), nullable=True),
    )
    op.create_index(
        "ix_idx_reference_lookup",
        "idx_reference",
        ["resource_type", "param", "target_id", "target_type"],
    )
    op.create_index("ix_idx_reference_res", "idx_reference", ["res_pk"])
    op.create_index("ix_idx_reference_target", "idx_reference", ["target_type", "target_id"])

    op.create_table(
        "idx_string",
        sa.Column("res_pk", sa.BigInteger(), nullable=False),
        sa.Column("resource_type", sa.String(length=64), nullable=False),
        sa.Column("param", sa.String(length=64), nullable=False),
        sa.Column(
            "value",
            sa.String(length=200).with_variant(sa.VARCHAR(length=200, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("exact", sa.String(length=200), nullable=False),
    )
    op.create_index("ix_idx_string_lookup", "idx_string", ["resource_type", "param", "value"])
    op.create_index("ix_idx_string_res", "idx_string", ["res_pk"])

    op.create_table(
        "idx_token",
        sa.Column("res_pk", sa.BigInteger(), nullable=False),
        sa.Column("resource_type", sa.String(length=64), nullable=False),
        sa.Column("param", sa.String(length=64), nullable=False),
        sa.Column("system", sa.String(length=255), nullable=True),
        sa.Column("code", sa.String(length=255), nullable=True),
        sa.Column(
            "text",
            sa.String(length=200).with_variant(sa.VARCHAR(length=200, collation="C"), "postgresql"),
            nullable=True,
        ),
    )
    op.create_index(
        "ix_idx_token_lookup", "idx_token", ["resource_type", "param", "code", "system"]
    )
    op.create_index("ix_idx_token_res", "idx_token", ["res_pk"])

    op.create_table(
        "idx_uri",
        sa.Column("res_pk", sa.BigInteger(), nullable=False),
        sa.Column("resource_type", sa.String(length=64), nullable=False),
        sa.Column("param", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=512), nullable=False),
    )
    op.create_index("ix_idx_uri_lookup", "idx_uri", ["resource_type", "param", "value"])
    op.create_index("ix_idx_uri_res", "idx_uri", ["res_pk"])

    op.create_table(
        "resource",
        sa.Column(
            "pk",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("resource_type", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("last_updated", sa.BigInteger(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("pk"),
        sa.UniqueConstraint("resource_type", "id", name="uq_resource_type_id"),
    )
    op.create_index("ix_resource_type_pk", "resource", ["resource_type", "pk"])
    op.create_index("ix_resource_type_updated", "resource", ["resource_type", "last_updated"])

    op.create_table(
        "resource_version",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("resource_pk", sa.BigInteger(), nullable=False),
        sa.Column("resource_type", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("last_updated", sa.BigInteger(), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("resource_pk", "version", name="uq_resource_version"),
    )
    op.create_index("ix_version_type_seq", "resource_version", ["resource_type", "seq"])
    op.create_index("ix_version_updated", "resource_version", ["last_updated"])
    if op.get_bind().dialect.name == "postgresql":
        # :contains on names and addresses: trigram indexes turn '%abc%' into an index scan.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute(
            "CREATE INDEX ix_idx_string_trigram ON idx_string USING gin (value gin_trgm_ops)"
        )


def downgrade() -> None:
    for table in ("resource_version", "resource", *INDEX_TABLES):
        op.drop_table(table)
