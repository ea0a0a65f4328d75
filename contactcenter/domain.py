"""The values that cross the boundary between channels and the core.

Everything here is a frozen dataclass or an enum, so a channel adapter can
build one from a raw payload in a pure function and the router can trust it
not to change under its feet.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


def utcnow() -> datetime:
    """Aware UTC now: every stored time is UTC with its offset."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """A stored time with its offset: SQLite hands times back naive, and they are UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class ConversationStatus(enum.StrEnum):
    BOT = "bot"
    WAITING_FOR_AGENT = "waiting_for_agent"
    ASSIGNED = "assigned"
    WAITING_FOR_CUSTOMER = "waiting_for_customer"
    RESOLVED = "resolved"

    @property
    def human_owned(self) -> bool:
        """A human has (or is about to have) the conversation: the bot stays silent."""
        return self in (
            ConversationStatus.WAITING_FOR_AGENT,
            ConversationStatus.ASSIGNED,
            ConversationStatus.WAITING_FOR_CUSTOMER,
        )


class AuthorKind(enum.StrEnum):
    CUSTOMER = "customer"
    BOT = "bot"
    AGENT = "agent"
    SYSTEM = "system"


class Direction(enum.StrEnum):
    INBOUND = "in"
    OUTBOUND = "out"


@dataclass(frozen=True, slots=True)
class Address:
    """Who, on which channel. The value is opaque to the core."""

    channel: str
    value: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Attachment:
    filename: str
    content_type: str
    size: int
    # Where the content is kept (a path under the data directory), if it was kept.
    storage_ref: str | None = None
    inline: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class InboundMessage:
    """One customer message as a channel adapter understood it."""

    channel_message_id: str  # the idempotency key within the channel
    sender: Address
    text: str
    received_at: datetime = field(default_factory=utcnow)
    thread_key: str | None = None  # the channel's own notion of "same conversation"
    display_name: str | None = None
    # An email address the sender claims (e.g. a widget's logged-in user).
    email: str | None = None
    verified: bool = False  # identity proven (signed widget token, ...)
    subject: str | None = None
    attachments: tuple[Attachment, ...] = ()
    # Conversation to attach to, when the channel already knows it (web chat session).
    conversation_id: int | None = None
    # No automatic answer must be caused by this message (auto-replies, bounces).
    no_reply: bool = False
    # The channel sends the bot's replies to this message itself, right after the
    # commit, from HandleResult.replies, instead of through the outbox. Only for a
    # channel whose clients fetch what they missed from the stored conversation
    # (web chat's "history"), so a reply that cannot be shown is still not lost.
    replies_in_result: bool = False
    # Channel-specific facts kept with the message (headers, threading signals).
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboundMessage:
    """One delivery the dispatcher hands to a channel's send()."""

    delivery_id: int
    message_id: int
    conversation_id: int
    channel: str
    recipient: Address
    text: str
    author_kind: AuthorKind
    author_name: str | None = None
    subject: str | None = None
    thread_key: str | None = None
    # The channel message ids already in this conversation on this channel, oldest
    # first: what an email needs for References / In-Reply-To.
    thread_message_ids: tuple[str, ...] = ()
    suggestions: tuple[Mapping[str, Any], ...] = ()
    actions: tuple[str, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None  # when the message was stored


@dataclass(frozen=True, slots=True, kw_only=True)
class DeskNotification:
    """What the agents' desk (Slack) is told: an escalation, a new message, a status."""

    delivery_id: int
    kind: str  # "escalated" | "customer_message" | "status_changed" | "agent_message"
    conversation_id: int
    payload: Mapping[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class CustomerEvent:
    """Something the customer's channel may show: an agent joined, the chat was resolved.

    Delivered through the outbox to channels that define ``on_event``; others skip it.
    """

    delivery_id: int
    kind: str  # "agent_joined" | "resolved" | "reopened"
    conversation_id: int
    recipient: Address
    payload: Mapping[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentReply:
    """An agent's reply or internal note, from the API or the desk."""

    conversation_id: int
    text: str
    agent_id: int | None = None
    internal: bool = False
    # Idempotency key on the desk side (e.g. a Slack message ts), if any.
    source: str | None = None
    source_message_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class HandleResult:
    message_id: int
    conversation_id: int
    customer_id: int
    duplicate: bool
    status: ConversationStatus
    escalated: bool = False
    bot_message_ids: tuple[int, ...] = ()
    # The bot's replies for the channel to send (InboundMessage.replies_in_result);
    # their delivery_id is 0: no outbox row was written for them.
    replies: tuple[OutboundMessage, ...] = ()
