"""slack desk tables: threads, agents, seen events

Revision ID: slack_0001
Revises:
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "slack_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("slack",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "slack_threads",
        sa.Column("conversation_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("thread_ts", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("conversation_id"),
        sa.UniqueConstraint("channel", "thread_ts", name="uq_slack_thread"),
    )
    op.create_table(
        "slack_agents",
        sa.Column("slack_user_id", sa.String(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("slack_user_id"),
    )
    with op.batch_alter_table("slack_agents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_slack_agents_agent_id"), ["agent_id"], unique=False)
    op.create_table(
        "slack_events",
        sa.Column("event_id", sa.String(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id"),
    )
    with op.batch_alter_table("slack_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_slack_events_received_at"), ["received_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("slack_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_slack_events_received_at"))
    op.drop_table("slack_events")
    with op.batch_alter_table("slack_agents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_slack_agents_agent_id"))
    op.drop_table("slack_agents")
    op.drop_table("slack_threads")
