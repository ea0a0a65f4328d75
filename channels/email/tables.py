"""The email channel's own tables: IMAP checkpoints, the quarantine, the send log.

They are declared on the shared ``SQLModel.metadata`` so that the core's
schema-drift check (models vs. migrated database) sees them whenever the
channel's migrations are loaded, and they are created by the ``email`` alembic
branch in ``channels/email/migrations`` (never by ``create_all``).

UIDs and UIDVALIDITY are unsigned 32-bit on the wire, hence BigInteger.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from contactcenter.domain import utcnow


class EmailCheckpoint(SQLModel, table=True):
    """How far one mailbox has been read: every UID <= last_uid is committed."""

    __tablename__ = "email_checkpoints"

    mailbox: str = Field(primary_key=True)
    uidvalidity: int = Field(sa_column=Column(BigInteger, nullable=False))
    last_uid: int = Field(sa_column=Column(BigInteger, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow)


class EmailQuarantine(SQLModel, table=True):
    """A mail that could not be turned into a message: kept whole for a human.

    The raw bytes live in a file under the data directory (``raw_path``,
    relative to it); the same bytes arriving again (a re-scan) are one record.
    """

    __tablename__ = "email_quarantine"
    __table_args__ = (UniqueConstraint("mailbox", "sha256", name="uq_email_quarantine_raw"),)

    id: int | None = Field(default=None, primary_key=True)
    mailbox: str = Field(index=True)
    uidvalidity: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    uid: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    reason: str
    sha256: str
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    raw_path: str
    created_at: datetime = Field(default_factory=utcnow)


class EmailSend(SQLModel, table=True):
    """A mail the SMTP server accepted: makes retries idempotent, feeds the rate limit."""

    __tablename__ = "email_sends"
    __table_args__ = (
        UniqueConstraint("delivery_id", name="uq_email_sends_delivery"),
        Index("ix_email_sends_recipient_sent_at", "recipient", "sent_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int
    message_id: str
    mailbox: str
    recipient: str
    sent_at: datetime = Field(default_factory=utcnow)
