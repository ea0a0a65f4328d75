"""Writing outgoing work into the outbox, inside the caller's transaction.

Both the router (bot replies, escalations) and agent actions (replies, status
changes) go through here, so every delivery row has one shape.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy import select as core_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from contactcenter.conversations import AnyConversation, ConvRow
from contactcenter.domain import Address, AuthorKind, Direction, OutboundMessage, utcnow
from contactcenter.storage.models import (
    Agent,
    Customer,
    Delivery,
    Identity,
    Message,
)
from contactcenter.storage.rows import insert_returning_id, queue_insert, table_of

_identities = table_of(Identity)
_DIRECT = "contactcenter.deliveries.direct_replies"
_ADDRESS = core_select(_identities.c.address).where(_identities.c.id == bindparam("identity_id"))


async def recipient_of(s: AsyncSession, conv: AnyConversation) -> str | None:
    """The address replies go to: the conversation's identity on its channel."""
    if isinstance(conv, ConvRow) and conv.recipient is not None:
        return conv.recipient  # the router read it with the conversation
    conn = await s.connection()
    address = (await conn.execute(_ADDRESS, {"identity_id": conv.identity_id})).scalar()
    return str(address) if address is not None else None


@contextlib.contextmanager
def replies_to_caller(s: AsyncSession, channel: str) -> Iterator[list[OutboundMessage]]:
    """Within this block, replies to conversations on ``channel`` are not queued in
    the outbox but collected in the yielded list, for that channel to send itself
    after the commit (``InboundMessage.replies_in_result``). Saves the outbox's
    claim, read and "sent" mark: a third of a web chat message's database work.
    Replies on any other channel (a conversation the message joined elsewhere) still
    go through the outbox."""
    replies: list[OutboundMessage] = []
    s.info[_DIRECT] = (channel, replies)
    try:
        yield replies
    finally:
        s.info.pop(_DIRECT, None)


def hand_to_outbox(s: AsyncSession, reply: OutboundMessage) -> None:
    """A reply its channel could not send itself (see :func:`replies_to_caller`):
    queue it after all, so that the outbox retries it like any other."""
    _queue_message(
        s,
        reply.channel,
        reply.conversation_id,
        reply.message_id,
        reply.recipient.value,
        reply.suggestions,
        reply.actions,
    )


def _queue_message(
    s: AsyncSession,
    channel: str,
    conversation_id: int,
    message_id: int,
    recipient: str | None,
    suggestions: Sequence[Mapping[str, Any]],
    actions: Sequence[str],
) -> None:
    """The outbox row that delivers a stored outgoing message on its channel."""
    queue_insert(
        s,
        Delivery,
        {
            "kind": "message",
            "target": channel,
            "conversation_id": conversation_id,
            "message_id": message_id,
            "recipient": recipient,
            "payload": {"suggestions": list(suggestions), "actions": list(actions)},
        },
    )


class DeliveryWriter:
    def __init__(self, desks: Sequence[str]) -> None:
        self.desks = tuple(desks)

    async def reply(
        self,
        s: AsyncSession,
        conv: AnyConversation,
        text: str,
        *,
        author: AuthorKind,
        agent_id: int | None = None,
        suggestions: Sequence[dict[str, Any]] = (),
        actions: Sequence[str] = (),
        meta: dict[str, Any] | None = None,
        external_key: str | None = None,
    ) -> int:
        """Store an outgoing message and queue its delivery; returns the message id."""
        assert conv.id is not None
        now = utcnow()
        message_id, _ = await insert_returning_id(
            s,
            Message,
            {
                "conversation_id": conv.id,
                "channel": conv.channel,
                "external_key": external_key,
                "direction": Direction.OUTBOUND.value,
                "author_kind": author.value,
                "agent_id": agent_id,
                "text": text,
                "meta": {
                    **(meta or {}),
                    "suggestions": list(suggestions),
                    "actions": list(actions),
                },
                "created_at": now,
            },
        )
        conv.updated_at = now
        direct: tuple[str, list[OutboundMessage]] | None = s.info.get(_DIRECT)
        if direct is not None and direct[0] == conv.channel:
            direct[1].append(
                OutboundMessage(
                    delivery_id=0,
                    message_id=message_id,
                    conversation_id=conv.id,
                    channel=conv.channel,
                    recipient=Address(conv.channel, await recipient_of(s, conv) or ""),
                    text=text,
                    author_kind=author,
                    subject=conv.subject,
                    thread_key=conv.thread_key,
                    suggestions=tuple(suggestions),
                    actions=tuple(actions),
                    created_at=now,
                )
            )
            return message_id
        _queue_message(
            s,
            conv.channel,
            conv.id,
            message_id,
            await recipient_of(s, conv),
            suggestions,
            actions,
        )
        return message_id

    async def customer_event(
        self, s: AsyncSession, conv: AnyConversation, kind: str, payload: dict[str, Any]
    ) -> None:
        """Queue a status event for the customer's channel (agent joined, resolved)."""
        queue_insert(
            s,
            Delivery,
            {
                "kind": "event",
                "target": conv.channel,
                "conversation_id": conv.id,
                "recipient": await recipient_of(s, conv),
                "payload": {"kind": kind, **payload},
            },
        )

    def desk(
        self, s: AsyncSession, conv: AnyConversation, kind: str, payload: dict[str, Any]
    ) -> None:
        """Tell every configured desk (Slack, ...) about something in this conversation."""
        for desk in self.desks:
            queue_insert(
                s,
                Delivery,
                {
                    "kind": "desk",
                    "target": desk,
                    "conversation_id": conv.id,
                    "payload": {"kind": kind, **payload},
                },
            )


async def conversation_snapshot(
    s: AsyncSession, conv: AnyConversation, *, last: int = 5
) -> dict[str, Any]:
    """What an agent needs at a glance: who, where, what was said, what the KB suggests."""
    customer = await s.get(Customer, conv.customer_id)
    identities = (
        await s.exec(select(Identity).where(Identity.customer_id == conv.customer_id))
    ).all()
    messages = (
        await s.exec(
            select(Message)
            .where(Message.conversation_id == conv.id, col(Message.internal).is_(False))
            .order_by(col(Message.id).desc())
            .limit(last)
        )
    ).all()
    assignee = await s.get(Agent, conv.assignee_id) if conv.assignee_id else None
    return {
        "conversation_id": conv.id,
        "status": conv.status,
        "channel": conv.channel,
        "subject": conv.subject,
        "priority": conv.priority,
        "tags": list(conv.tags),
        "assignee": {"id": assignee.id, "name": assignee.name} if assignee else None,
        "customer": {
            "id": customer.id if customer else None,
            "name": customer.name if customer else None,
            "email": customer.email if customer else None,
            "identities": [
                {"channel": i.channel, "address": i.address, "verified": i.verified}
                for i in identities
            ],
        },
        "messages": [
            {
                "id": m.id,
                "author": m.author_kind,
                "text": m.text[:3000],
                "created_at": m.created_at.isoformat(),
            }
            for m in reversed(messages)
        ],
        "suggestions": list(conv.suggestions),
    }
