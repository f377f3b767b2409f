"""discharge: the board's read model

Revision ID: d0001
Revises:
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "d0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "board_episode",
        sa.Column("episode_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("pathway", sa.String(length=8), nullable=True),
        sa.Column("delay", sa.String(length=64), nullable=True),
        sa.Column("ward", sa.String(length=255), nullable=True),
        sa.Column("ready", sa.BigInteger(), nullable=True),
        sa.Column("row", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("episode_id"),
    )
    op.create_index("ix_board_episode_waiting", "board_episode", ["state", "ready"])
    op.create_table(
        "board_assessment",
        sa.Column("task_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("due", sa.BigInteger(), nullable=True),
        sa.Column("row", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("task_id"),
    )
    op.create_index("ix_board_assessment_due", "board_assessment", ["due"])


def downgrade() -> None:
    op.drop_table("board_assessment")
    op.drop_table("board_episode")
