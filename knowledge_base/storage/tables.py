"""The knowledge base's tables, in a ``MetaData`` of their own.

Keeping them off the core's metadata means importing this package never
changes what the core believes its schema is; the migration entry point
(:func:`knowledge_base.storage.migrations.versions_path`) registers them there
only when the core is about to migrate, so its schema check then expects them.
Keep these definitions and ``migrations/versions/kb_0001_tables.py`` in step.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

#: Longest article id (a URL slug) accepted anywhere.
MAX_ID_CHARS = 200

kb_articles = sa.Table(
    "kb_articles",
    metadata,
    sa.Column("id", sa.String(MAX_ID_CHARS), primary_key=True),
    sa.Column("title", sa.String(), nullable=False),
    sa.Column("body", sa.Text(), nullable=False),
    sa.Column("questions", sa.JSON(), nullable=False),
    sa.Column("tags", sa.JSON(), nullable=False),
    sa.Column("published", sa.Boolean(), nullable=False),
    sa.Column("url", sa.String(), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("views", sa.Integer(), nullable=False),
    sa.Column("helpful", sa.Integer(), nullable=False),
    sa.Column("not_helpful", sa.Integer(), nullable=False),
)

kb_feedback = sa.Table(
    "kb_feedback",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    # No foreign key: feedback outlives a deleted article as a record of what was read.
    sa.Column("article_id", sa.String(MAX_ID_CHARS), nullable=False, index=True),
    sa.Column("helpful", sa.Boolean(), nullable=False),
    sa.Column("question", sa.String(), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)
