"""The tables. Uniqueness constraints carry the idempotency of every inbound path.

Times are aware UTC. JSON-ish fields (tags, attachments, payloads) are JSON
columns so SQLite and PostgreSQL store them the same way.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from contactcenter.domain import utcnow


class Customer(SQLModel, table=True):
    __tablename__ = "customers"

    id: int | None = Field(default=None, primary_key=True)
    name: str | None = None
    email: str | None = Field(default=None, index=True)
    email_verified: bool = False
    # Set when this record was merged into another; kept so the merge can be undone.
    merged_into_id: int | None = Field(default=None, foreign_key="customers.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)


class Identity(SQLModel, table=True):
    """One address on one channel, pointing at the customer it belongs to."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("channel", "address", name="uq_identity_channel_address"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str
    address: str
    verified: bool = False
    customer_id: int = Field(foreign_key="customers.id", index=True)
    email: str | None = None
    display_name: str | None = None
    created_at: datetime = Field(default_factory=utcnow)


class Agent(SQLModel, table=True):
    __tablename__ = "agents"

    id: int | None = Field(default=None, primary_key=True)
    name: str
    email: str | None = Field(default=None, unique=True)
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow)


class Conversation(SQLModel, table=True):
    __tablename__ = "conversations"
    __table_args__ = (
        Index("ix_conversations_customer_channel_status", "customer_id", "channel", "status"),
        Index("ix_conversations_status_updated", "status", "updated_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customers.id", index=True)
    # The identity the conversation talks to: where replies are delivered.
    identity_id: int = Field(foreign_key="identities.id", index=True)
    channel: str
    thread_key: str | None = Field(default=None, index=True)
    status: str = "bot"
    subject: str | None = None
    assignee_id: int | None = Field(default=None, foreign_key="agents.id", index=True)
    priority: str = "normal"
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # The bot answered and asked "Did this answer your question?".
    awaiting_feedback: bool = False
    # Consecutive bot replies that did not answer (suggestions only).
    bot_misses: int = 0
    # Knowledge-base suggestions shown to agents when escalated.
    suggestions: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    escalated_at: datetime | None = None
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    last_customer_message_at: datetime | None = None


class Message(SQLModel, table=True):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("channel", "channel_message_id", name="uq_message_channel_id"),
        Index("ix_messages_conversation_id_id", "conversation_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversations.id")
    channel: str
    # The channel's own id for the message; unique per channel (idempotency key).
    channel_message_id: str | None = None
    # Where an agent's message came from ("slack:<ts>"), unique: a desk event
    # delivered twice stores one message and sends one reply.
    external_key: str | None = Field(default=None, unique=True)
    direction: str  # "in" | "out"
    author_kind: str  # customer | bot | agent | system
    agent_id: int | None = Field(default=None, foreign_key="agents.id")
    internal: bool = False
    text: str
    attachments: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    meta: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class Event(SQLModel, table=True):
    """The per-conversation (and per-customer) timeline of what happened."""

    __tablename__ = "events"

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int | None = Field(default=None, foreign_key="conversations.id", index=True)
    customer_id: int | None = Field(default=None, foreign_key="customers.id", index=True)
    kind: str
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class Delivery(SQLModel, table=True):
    """The outbox: one row per outgoing delivery, written in the router's transaction."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_next", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    # "message" (to a customer channel) or "desk" (a notification for the agents' desk).
    kind: str = "message"
    target: str  # the channel (or desk) name
    conversation_id: int = Field(foreign_key="conversations.id", index=True)
    message_id: int | None = Field(default=None, foreign_key="messages.id")
    recipient: str | None = None  # the address value on the target channel
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = "pending"  # pending | sending | sent | failed
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow)
    lease_until: datetime | None = None
    last_error: str | None = None
    native_id: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None


class MergeSuggestion(SQLModel, table=True):
    """Two customers that look like one person; never merged silently."""

    __tablename__ = "merge_suggestions"

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customers.id", index=True)
    other_customer_id: int = Field(foreign_key="customers.id")
    reason: str
    status: str = "open"  # open | merged | dismissed
    created_at: datetime = Field(default_factory=utcnow)


class MergeRecord(SQLModel, table=True):
    """What a merge moved, so it can be undone exactly."""

    __tablename__ = "merges"

    id: int | None = Field(default=None, primary_key=True)
    source_customer_id: int = Field(foreign_key="customers.id")
    target_customer_id: int = Field(foreign_key="customers.id")
    identity_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    conversation_ids: list[int] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    # The target's name and email before the merge filled them in, restored by undo.
    target_before: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )
    created_at: datetime = Field(default_factory=utcnow)
    undone_at: datetime | None = None
