"""The web chat's own reads of the database, and its one write (satisfaction).

Everything is keyed by the visitor's identity ``("webchat", address)``, never
by an id the client sends: a conversation belongs to a visitor when its
identity is the visitor's, so a forged conversation id finds nothing.
Internal notes are never read here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import col, select

from contactcenter.domain import utcnow
from contactcenter.storage.database import Database
from contactcenter.storage.models import Agent, Conversation, Event, Identity, Message

from . import wire

CHANNEL = "webchat"


@dataclass(frozen=True, slots=True)
class Current:
    conversation_id: int
    status: str


class CsatError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _owned(address: str) -> Any:
    return (
        select(Conversation)
        .join(Identity, col(Identity.id) == col(Conversation.identity_id))
        .where(Identity.channel == CHANNEL, Identity.address == address)
    )


async def current_conversation(db: Database, address: str) -> Current | None:
    """The visitor's latest conversation on the web chat, if it ever wrote."""
    async with db.session() as s:
        conv = (
            await s.exec(_owned(address).order_by(col(Conversation.id).desc()).limit(1))
        ).first()
    if conv is None or conv.id is None:
        return None
    return Current(conv.id, conv.status)


async def owned_conversation(db: Database, address: str, conversation_id: int) -> Current | None:
    async with db.session() as s:
        conv = (await s.exec(_owned(address).where(Conversation.id == conversation_id))).first()
    if conv is None or conv.id is None:
        return None
    return Current(conv.id, conv.status)


async def history(
    db: Database, address: str, after_id: int, limit: int
) -> tuple[list[dict[str, Any]], bool]:
    """The visitor's messages after ``after_id`` (oldest first, at most ``limit`` of the
    newest), and whether older ones were left out."""
    # Two indexed steps, not one join: the visitor's conversations by identity, then
    # their messages by (conversation_id, id). A joined query lets SQLite walk the
    # whole messages table newest-first, once per connecting visitor.
    async with db.session() as s:
        conv_ids = list(
            (
                await s.exec(
                    select(Conversation.id)
                    .join(Identity, col(Identity.id) == col(Conversation.identity_id))
                    .where(Identity.channel == CHANNEL, Identity.address == address)
                )
            ).all()
        )
        if not conv_ids:
            return [], False
        query = (
            select(Message, Agent.name)
            .outerjoin(Agent, col(Agent.id) == col(Message.agent_id))
            .where(
                col(Message.conversation_id).in_(conv_ids),
                col(Message.internal).is_(False),
                col(Message.id) > after_id,
            )
            .order_by(col(Message.id).desc())
            .limit(limit + 1)
        )
        rows = list((await s.exec(query)).all())
    more = len(rows) > limit
    out = []
    for m, agent_name in reversed(rows[:limit]):
        client_id = None
        cmid = m.channel_message_id or ""
        if m.author_kind == "customer" and cmid.startswith(address + ":"):
            client_id = cmid[len(address) + 1 :]
        meta = m.meta or {}
        out.append(
            wire.message(
                id=m.id or 0,
                conversation_id=m.conversation_id,
                author=m.author_kind,
                text=m.text,
                created_at=m.created_at,
                author_name=agent_name,
                suggestion_items=meta.get("suggestions") or (),
                action_items=meta.get("actions") or (),
                client_id=client_id,
            )
        )
    return out, more


async def message_created_at(db: Database, message_id: int) -> datetime | None:
    async with db.session() as s:
        m = await s.get(Message, message_id)
    return m.created_at if m is not None else None


async def record_csat(
    db: Database, address: str, conversation_id: int, score: int, comment: str | None
) -> bool:
    """Store the rating as a conversation event; False when it was already rated."""
    async with db.transaction() as s:
        conv = (await s.exec(_owned(address).where(Conversation.id == conversation_id))).first()
        if conv is None:
            raise CsatError("not_found", f"conversation {conversation_id} is not yours")
        if conv.status != "resolved":
            raise CsatError("not_resolved", "a conversation is rated once it is resolved")
        resolved_at = conv.resolved_at
        earlier = (
            await s.exec(
                select(Event).where(Event.conversation_id == conv.id, Event.kind == "csat")
            )
        ).all()
        # One rating per resolution: a reopened and resolved again conversation
        # can be rated again, a resent rating is not stored twice.
        for e in earlier:
            if e.data.get("resolved_at") == (wire.iso(resolved_at) if resolved_at else None):
                return False
        s.add(
            Event(
                conversation_id=conv.id,
                customer_id=conv.customer_id,
                kind="csat",
                data={
                    "score": score,
                    "comment": comment,
                    "channel": CHANNEL,
                    "resolved_at": wire.iso(resolved_at) if resolved_at else None,
                    "rated_at": wire.iso(utcnow()),
                },
            )
        )
    return True


async def address_of(db: Database, conversation_id: int) -> str | None:
    """The web chat visitor a conversation talks to (None: not a web chat one)."""
    async with db.session() as s:
        row = (
            await s.exec(
                select(Identity.address)
                .join(Conversation, col(Conversation.identity_id) == col(Identity.id))
                .where(Conversation.id == conversation_id, Identity.channel == CHANNEL)
            )
        ).first()
    return row
