"""Attaching a message to a conversation, and the conversation's state changes.

A message joins the open conversation with the same thread key (or, for
channels without threads, the customer's latest open conversation on that
identity). A resolved conversation reopens when the customer writes within the
reopen window; after that a new conversation starts.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlmodel import select as orm_select
from sqlmodel.ext.asyncio.session import AsyncSession

from contactcenter.customers import Resolved
from contactcenter.domain import ConversationStatus, InboundMessage, as_utc, utcnow
from contactcenter.storage import hot
from contactcenter.storage.database import Database
from contactcenter.storage.models import Conversation, Event, Identity
from contactcenter.storage.rows import insert_returning_id, queue_insert, table_of

Status = ConversationStatus
_conversations = table_of(Conversation)
_identities = table_of(Identity)


@dataclass(slots=True)
class ConvRow:
    """A conversations row as the router reads and changes it; written back by :func:`save`.

    The router handles every inbound message, so it works on plain rows rather
    than ORM objects (see ``storage/rows.py``). ``recipient`` is the address of
    the conversation's identity, where replies go; it comes with the row.
    """

    id: int
    customer_id: int
    identity_id: int
    channel: str
    thread_key: str | None
    status: str
    subject: str | None
    assignee_id: int | None
    priority: str
    tags: list[str]
    awaiting_feedback: bool
    bot_misses: int
    suggestions: list[dict[str, Any]]
    created_at: datetime
    updated_at: datetime
    escalated_at: datetime | None
    first_response_at: datetime | None
    resolved_at: datetime | None
    last_customer_message_at: datetime | None
    recipient: str | None = None


AnyConversation = Conversation | ConvRow
_ROW_COLUMNS = tuple(f.name for f in fields(ConvRow) if f.name != "recipient")
# What the router may change; assignee, tags and priority belong to agents and are not
# written back, so a router pass never undoes an agent's concurrent change.
_SAVED = (
    "status",
    "updated_at",
    "resolved_at",
    "awaiting_feedback",
    "bot_misses",
    "escalated_at",
    "suggestions",
    "last_customer_message_at",
)
_SAVE = (
    update(_conversations)
    .where(_conversations.c.id == bindparam("b_id"))
    .values({name: bindparam(f"b_{name}") for name in _SAVED})
)
_LOAD = select(*(_conversations.c[name] for name in _ROW_COLUMNS), _identities.c.address).join(
    _identities, _identities.c.id == _conversations.c.identity_id
)
_BY_ID = _LOAD.where(_conversations.c.id == bindparam("conv_id"))
_LATEST = (
    _LOAD.where(
        _conversations.c.customer_id == bindparam("customer_id"),
        _conversations.c.channel == bindparam("channel"),
    )
    .order_by(_conversations.c.id.desc())
    .limit(1)
)
_LATEST_BY_THREAD = _LATEST.where(_conversations.c.thread_key == bindparam("thread_key"))
_LATEST_BY_IDENTITY = _LATEST.where(_conversations.c.identity_id == bindparam("identity_id"))
# On PostgreSQL the row read is the per-conversation lock.
_FOR_UPDATE = {
    query: query.with_for_update(of=_conversations)
    for query in (_BY_ID, _LATEST_BY_THREAD, _LATEST_BY_IDENTITY)
}


async def lock_conversation(
    s: AsyncSession, db: Database, conversation_id: int
) -> Conversation | None:
    """Load a conversation for update: the row is the per-conversation lock on PostgreSQL."""
    query = orm_select(Conversation).where(Conversation.id == conversation_id)
    if not db.is_sqlite:
        query = query.with_for_update()
    return (await s.exec(query)).first()


async def _load_row(s: AsyncSession, db: Database, query: Any, **params: Any) -> ConvRow | None:
    if not db.is_sqlite:
        query = _FOR_UPDATE[query]
    values = await hot.first(s, query, params)
    if values is None:
        return None
    recipient = values.pop("address")
    return ConvRow(**values, recipient=recipient)


async def save(s: AsyncSession, conv: ConvRow) -> None:
    """Write the router's changes back (one UPDATE; the row is locked or SQLite is serialised)."""
    params = {f"b_{name}": getattr(conv, name) for name in _SAVED}
    params["b_id"] = conv.id
    await hot.run(s, _SAVE, params)


def record(s: AsyncSession, conv: AnyConversation, kind: str, **data: Any) -> None:
    """Add to the conversation's timeline (written with the transaction's commit)."""
    queue_insert(
        s,
        Event,
        {"conversation_id": conv.id, "customer_id": conv.customer_id, "kind": kind, "data": data},
    )


def set_status(s: AsyncSession, conv: AnyConversation, status: Status, **data: Any) -> None:
    """Change the status and record it. An ORM row is flushed by its session; a ConvRow
    by :func:`save`."""
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
    record(s, conv, "status_changed", **{"from": previous, "to": str(status), **data})


async def attach(
    s: AsyncSession,
    db: Database,
    resolved: Resolved,
    msg: InboundMessage,
    *,
    reopen_window: timedelta,
) -> tuple[ConvRow, str]:
    """The conversation this message belongs to, and how: "new", "existing" or "reopened"."""
    conv: ConvRow | None = None
    if msg.conversation_id is not None:
        candidate = await _load_row(s, db, _BY_ID, conv_id=msg.conversation_id)
        # A channel may name a conversation only of this very customer.
        if candidate is not None and candidate.customer_id == resolved.customer_id:
            conv = candidate
    # A customer or identity created by this very message has no conversation yet.
    fresh = resolved.new_customer or (resolved.new_identity and msg.thread_key is None)
    if conv is None and not fresh:
        # Threaded channels continue the thread; the others, this identity's latest.
        query, key = (
            (_LATEST_BY_THREAD, {"thread_key": msg.thread_key})
            if msg.thread_key is not None
            else (_LATEST_BY_IDENTITY, {"identity_id": resolved.identity_id})
        )
        conv = await _load_row(
            s, db, query, customer_id=resolved.customer_id, channel=msg.sender.channel, **key
        )
    if conv is not None:
        if conv.status != Status.RESOLVED:
            return conv, "existing"
        resolved_at = conv.resolved_at
        if resolved_at is not None and utcnow() - as_utc(resolved_at) <= reopen_window:
            reopen_to = Status.ASSIGNED if conv.assignee_id is not None else Status.BOT
            set_status(s, conv, reopen_to, reason="customer wrote again")
            conv.bot_misses = 0
            return conv, "reopened"
    _, row = await insert_returning_id(
        s,
        Conversation,
        {
            "customer_id": resolved.customer_id,
            "identity_id": resolved.identity_id,
            "channel": msg.sender.channel,
            "thread_key": msg.thread_key,
            "subject": (msg.subject or _subject_from(msg.text))[:200],
            "status": Status.BOT.value,
        },
    )
    conv = ConvRow(**{name: row[name] for name in _ROW_COLUMNS}, recipient=resolved.address)
    record(s, conv, "conversation_created", channel=conv.channel)
    return conv, "new"


def _subject_from(text: str) -> str:
    first = " ".join(text.split())
    return first[:77] + "..." if len(first) > 80 else first
