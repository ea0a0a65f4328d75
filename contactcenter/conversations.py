"""Attaching a message to a conversation, and the conversation's state changes.

A message joins the open conversation with the same thread key (or, for
channels without threads, the customer's latest open conversation on that
identity). A resolved conversation reopens when the customer writes within the
reopen window; after that a new conversation starts.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from contactcenter.customers import Resolved
from contactcenter.domain import ConversationStatus, InboundMessage, utcnow
from contactcenter.storage.database import Database
from contactcenter.storage.models import Conversation, Event

Status = ConversationStatus


async def lock_conversation(
    s: AsyncSession, db: Database, conversation_id: int
) -> Conversation | None:
    """Load a conversation for update: the row is the per-conversation lock on PostgreSQL."""
    query = select(Conversation).where(Conversation.id == conversation_id)
    if not db.is_sqlite:
        query = query.with_for_update()
    return (await s.exec(query)).first()


def record(s: AsyncSession, conv: Conversation, kind: str, **data: Any) -> None:
    s.add(Event(conversation_id=conv.id, customer_id=conv.customer_id, kind=kind, data=data))


def set_status(s: AsyncSession, conv: Conversation, status: Status, **data: Any) -> None:
    if conv.status == status:
        return
    previous = conv.status
    conv.status = status
    now = utcnow()
    conv.updated_at = now
    if status == Status.RESOLVED:
        conv.resolved_at = now
        conv.awaiting_feedback = False
    elif previous == Status.RESOLVED:
        conv.resolved_at = None
    s.add(conv)
    record(s, conv, "status_changed", **{"from": previous, "to": str(status), **data})


async def attach(
    s: AsyncSession,
    db: Database,
    resolved: Resolved,
    msg: InboundMessage,
    *,
    reopen_window: timedelta,
) -> tuple[Conversation, str]:
    """The conversation this message belongs to, and how: "new", "existing" or "reopened"."""
    customer_id = resolved.customer.id
    assert customer_id is not None and resolved.identity.id is not None
    conv: Conversation | None = None
    if msg.conversation_id is not None:
        candidate = await lock_conversation(s, db, msg.conversation_id)
        # A channel may name a conversation only of this very customer.
        if candidate is not None and candidate.customer_id == customer_id:
            conv = candidate
    if conv is None:
        query = select(Conversation.id).where(
            Conversation.customer_id == customer_id, Conversation.channel == msg.sender.channel
        )
        if msg.thread_key is not None:
            query = query.where(Conversation.thread_key == msg.thread_key)
        else:
            query = query.where(Conversation.identity_id == resolved.identity.id)
        latest_id = (await s.exec(query.order_by(col(Conversation.id).desc()).limit(1))).first()
        if latest_id is not None:
            conv = await lock_conversation(s, db, latest_id)
    if conv is not None:
        if conv.status != Status.RESOLVED:
            return conv, "existing"
        resolved_at = conv.resolved_at
        if resolved_at is not None and utcnow() - _aware(resolved_at) <= reopen_window:
            reopen_to = Status.ASSIGNED if conv.assignee_id is not None else Status.BOT
            set_status(s, conv, reopen_to, reason="customer wrote again")
            conv.bot_misses = 0
            return conv, "reopened"
    conv = Conversation(
        customer_id=customer_id,
        identity_id=resolved.identity.id,
        channel=msg.sender.channel,
        thread_key=msg.thread_key,
        subject=(msg.subject or _subject_from(msg.text))[:200],
        status=Status.BOT,
    )
    s.add(conv)
    await s.flush()
    record(s, conv, "conversation_created", channel=conv.channel)
    return conv, "new"


def _aware(value: datetime) -> datetime:
    """SQLite hands times back without an offset; they are UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _subject_from(text: str) -> str:
    first = " ".join(text.split())
    return first[:77] + "..." if len(first) > 80 else first
