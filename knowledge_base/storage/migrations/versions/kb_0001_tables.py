"""kb tables: articles and help-centre feedback

Revision ID: kb_0001
Revises:
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "kb_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("kb",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "kb_articles",
        sa.Column("id", sa.String(200), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("questions", sa.JSON(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.Column("url", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("views", sa.Integer(), nullable=False),
        sa.Column("helpful", sa.Integer(), nullable=False),
        sa.Column("not_helpful", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("kb_articles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_kb_articles_updated_at"), ["updated_at"], unique=False)
    op.create_table(
        "kb_feedback",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("article_id", sa.String(200), nullable=False),
        sa.Column("helpful", sa.Boolean(), nullable=False),
        sa.Column("question", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("kb_feedback", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_kb_feedback_article_id"), ["article_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("kb_feedback", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kb_feedback_article_id"))
    op.drop_table("kb_feedback")
    with op.batch_alter_table("kb_articles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kb_articles_updated_at"))
    op.drop_table("kb_articles")
