"""email channel tables: checkpoints, quarantine, send log

Revision ID: email_0001
Revises:
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "email_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("email",)
# No depends_on: these tables have no foreign key into the core's, and a
# dependency would collapse the core's row out of alembic_version, which the
# core's "database at head" check (current_revision == head_revision) misreads.
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "email_checkpoints",
        sa.Column("mailbox", sa.String(), nullable=False),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=False),
        sa.Column("last_uid", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("mailbox"),
    )
    op.create_table(
        "email_quarantine",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mailbox", sa.String(), nullable=False),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=True),
        sa.Column("uid", sa.BigInteger(), nullable=True),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("sha256", sa.String(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("raw_path", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("mailbox", "sha256", name="uq_email_quarantine_raw"),
    )
    with op.batch_alter_table("email_quarantine", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_email_quarantine_mailbox"), ["mailbox"], unique=False)

    op.create_table(
        "email_sends",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(), nullable=False),
        sa.Column("mailbox", sa.String(), nullable=False),
        sa.Column("recipient", sa.String(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("delivery_id", name="uq_email_sends_delivery"),
    )
    with op.batch_alter_table("email_sends", schema=None) as batch_op:
        batch_op.create_index(
            "ix_email_sends_recipient_sent_at", ["recipient", "sent_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("email_sends", schema=None) as batch_op:
        batch_op.drop_index("ix_email_sends_recipient_sent_at")
    op.drop_table("email_sends")
    with op.batch_alter_table("email_quarantine", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_email_quarantine_mailbox"))
    op.drop_table("email_quarantine")
    op.drop_table("email_checkpoints")
