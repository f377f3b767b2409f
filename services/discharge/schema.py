"""The discharge service's own tables: the board's read model.

The record stays the home of every resource. These tables keep, for the board only, what it
shows of each active D2A episode and open assessment, as the record last said (``version``);
they are fed by Subscription and written through by the hub's own operations, and rebuilt from
the record when the service starts. The board pages, filters and counts them here, so it
answers without reading the record. Nothing else reads them.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, MetaData, String, Table, Text

metadata = MetaData()

board_episode = Table(
    "board_episode",
    metadata,
    Column("episode_id", String(64), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("state", String(32), nullable=False),
    Column("pathway", String(8)),
    Column("delay", String(64)),
    Column("ward", String(255)),
    Column("ready", BigInteger),  # the discharge ready date, microseconds since the epoch
    Column("row", Text, nullable=False),  # board.row_facts as JSON
    Index("ix_board_episode_waiting", "state", "ready"),
)

board_assessment = Table(
    "board_assessment",
    metadata,
    Column("task_id", String(64), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("due", BigInteger),  # microseconds since the epoch
    Column("row", Text, nullable=False),  # board.assessment_facts as JSON
    Index("ix_board_assessment_due", "due"),
)
