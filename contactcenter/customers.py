"""One customer record across channels: identity resolution, merge (undoable), split.

Rules: a known identity is its customer. A new *verified* identity whose email
matches a customer's *verified* email joins that customer. Anything less is not
proof: two unverified identities are never merged silently; a merge suggestion
is recorded for a person to decide.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, func, or_, update
from sqlalchemy import select as core_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from contactcenter.domain import InboundMessage, utcnow
from contactcenter.storage import hot
from contactcenter.storage.models import (
    Conversation,
    Customer,
    Event,
    Identity,
    MergeRecord,
    MergeSuggestion,
)
from contactcenter.storage.rows import insert_returning_id, queue_insert, table_of


class CustomerError(ValueError):
    """A customer operation that cannot be done as asked; ``status`` is the HTTP status."""

    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class Resolved:
    """Who wrote: the customer and identity ids, and whether this message created them."""

    customer_id: int
    identity_id: int
    address: str
    new_customer: bool
    new_identity: bool


def _claimed_email(msg: InboundMessage) -> str | None:
    email = msg.email  # a channel whose addresses are emails says so (the email channel does)
    return email.strip().lower() if email and "@" in email else None


async def live_customer(session: AsyncSession, customer_id: int) -> Customer:
    """The customer a (possibly merged-away) id now lives in."""
    customer = await session.get(Customer, customer_id)
    seen: set[int] = set()
    while customer is not None and customer.merged_into_id is not None:
        if customer.id in seen:  # a cycle would be a bug; stop rather than spin
            break
        seen.add(customer.id or 0)
        customer = await session.get(Customer, customer.merged_into_id)
    if customer is None:
        raise CustomerError(f"customer {customer_id} does not exist", 404)
    return customer


_customers = table_of(Customer)
_identities = table_of(Identity)
_FIND_IDENTITY = (
    core_select(
        _identities.c.id,
        _identities.c.verified,
        _identities.c.customer_id,
        _customers.c.name,
        _customers.c.merged_into_id,
    )
    .join(_customers, _customers.c.id == _identities.c.customer_id)
    .where(
        _identities.c.channel == bindparam("channel"),
        _identities.c.address == bindparam("address"),
    )
)
_VERIFIED_EMAIL_OWNER = (
    core_select(_customers.c.id)
    .where(
        _customers.c.email == bindparam("email"),
        _customers.c.email_verified.is_(True),
        _customers.c.merged_into_id.is_(None),
    )
    .order_by(_customers.c.id)
    .limit(1)
)
_SAME_EMAIL = (
    core_select(_customers.c.id)
    .where(
        _customers.c.email == bindparam("email"),
        _customers.c.id != bindparam("customer_id"),
        _customers.c.merged_into_id.is_(None),
    )
    .order_by(_customers.c.id)
    .limit(5)
)
_MARK_VERIFIED = (
    update(_identities).where(_identities.c.id == bindparam("b_id")).values(verified=True)
)
_SET_NAME = (
    update(_customers).where(_customers.c.id == bindparam("b_id")).values(name=bindparam("b_name"))
)


async def resolve_customer(session: AsyncSession, msg: InboundMessage) -> Resolved:
    """The customer behind this message's sender, created if new (plain rows: hot path)."""
    channel, address = msg.sender.channel, msg.sender.value
    found = await hot.first(session, _FIND_IDENTITY, {"channel": channel, "address": address})
    email = _claimed_email(msg)
    if found is not None:
        customer_id, name = found["customer_id"], found["name"]
        if found["merged_into_id"] is not None:
            live = await live_customer(session, customer_id)
            customer_id, name = live.id or 0, live.name
        if msg.verified and not found["verified"]:
            await hot.run(session, _MARK_VERIFIED, {"b_id": found["id"]})
        if msg.display_name and not name:
            await hot.run(session, _SET_NAME, {"b_id": customer_id, "b_name": msg.display_name})
        return Resolved(customer_id, found["id"], address, new_customer=False, new_identity=False)

    match: int | None = None
    if msg.verified and email:
        owner = await hot.first(session, _VERIFIED_EMAIL_OWNER, {"email": email})
        match = owner["id"] if owner is not None else None
    new_customer = match is None
    if match is None:
        match, _ = await insert_returning_id(
            session,
            Customer,
            {
                "name": msg.display_name,
                "email": email,
                "email_verified": bool(msg.verified and email),
            },
        )
    identity_id, _ = await insert_returning_id(
        session,
        Identity,
        {
            "channel": channel,
            "address": address,
            "verified": msg.verified,
            "customer_id": match,
            "email": email,
            "display_name": msg.display_name,
        },
    )
    queue_insert(
        session,
        Event,
        {
            "customer_id": match,
            "kind": "customer_created" if new_customer else "identity_added",
            "data": {"channel": channel, "address": address, "verified": msg.verified},
        },
    )
    if new_customer and email:
        await _suggest_merges(session, match, email)
    return Resolved(match, identity_id, address, new_customer=new_customer, new_identity=True)


async def _suggest_merges(session: AsyncSession, customer_id: int, email: str) -> None:
    """Same email, not both verified: a person decides (never merged silently)."""
    conn = await session.connection()
    others = (
        await conn.execute(_SAME_EMAIL, {"email": email, "customer_id": customer_id})
    ).scalars()
    for other_id in others:
        queue_insert(
            session,
            MergeSuggestion,
            {
                "customer_id": customer_id,
                "other_customer_id": other_id,
                "reason": f"same email {email}, not both verified",
            },
        )


async def merge_customers(session: AsyncSession, source_id: int, target_id: int) -> MergeRecord:
    """Move every identity and conversation of ``source`` onto ``target``; undoable."""
    if source_id == target_id:
        raise CustomerError("cannot merge a customer into itself")
    source = await session.get(Customer, source_id)
    target = await session.get(Customer, target_id)
    if source is None or target is None:
        raise CustomerError("both customers must exist", 404)
    if source.merged_into_id is not None or target.merged_into_id is not None:
        raise CustomerError("a customer that was merged away cannot be merged again")
    identities = (
        await session.exec(select(Identity).where(Identity.customer_id == source_id))
    ).all()
    conversations = (
        await session.exec(select(Conversation).where(Conversation.customer_id == source_id))
    ).all()
    for identity in identities:
        identity.customer_id = target_id
        session.add(identity)
    for conv in conversations:
        conv.customer_id = target_id
        session.add(conv)
    source.merged_into_id = target_id
    target_before = {
        "name": target.name,
        "email": target.email,
        "email_verified": target.email_verified,
    }
    if not target.email and source.email:
        target.email, target.email_verified = source.email, source.email_verified
    if not target.name and source.name:
        target.name = source.name
    session.add_all([source, target])
    record = MergeRecord(
        source_customer_id=source_id,
        target_customer_id=target_id,
        identity_ids=[i.id for i in identities if i.id is not None],
        conversation_ids=[c.id for c in conversations if c.id is not None],
        target_before=target_before,
    )
    session.add(record)
    suggestions = (
        await session.exec(
            select(MergeSuggestion).where(
                MergeSuggestion.status == "open",
                or_(
                    (col(MergeSuggestion.customer_id) == source_id)
                    & (col(MergeSuggestion.other_customer_id) == target_id),
                    (col(MergeSuggestion.customer_id) == target_id)
                    & (col(MergeSuggestion.other_customer_id) == source_id),
                ),
            )
        )
    ).all()
    for suggestion in suggestions:
        suggestion.status = "merged"
        session.add(suggestion)
    await session.flush()
    session.add(
        Event(
            customer_id=target_id,
            kind="customer_merged",
            data={"merge_id": record.id, "source_customer_id": source_id},
        )
    )
    return record


async def undo_merge(session: AsyncSession, merge_id: int) -> MergeRecord:
    record = await session.get(MergeRecord, merge_id)
    if record is None:
        raise CustomerError(f"merge {merge_id} does not exist", 404)
    if record.undone_at is not None:
        raise CustomerError(f"merge {merge_id} was already undone")
    source = await session.get(Customer, record.source_customer_id)
    if source is None:
        raise CustomerError("the merged customer no longer exists")
    for identity_id in record.identity_ids:
        identity = await session.get(Identity, identity_id)
        if identity is not None and identity.customer_id == record.target_customer_id:
            identity.customer_id = record.source_customer_id
            session.add(identity)
    for conversation_id in record.conversation_ids:
        conv = await session.get(Conversation, conversation_id)
        if conv is not None and conv.customer_id == record.target_customer_id:
            conv.customer_id = record.source_customer_id
            session.add(conv)
    if source.merged_into_id != record.target_customer_id:
        raise CustomerError("the customer was merged again since; undo that merge first")
    target = await session.get(Customer, record.target_customer_id)
    if target is not None and target.merged_into_id is not None:
        raise CustomerError("the target was merged into another customer since; undo that first")
    if target is not None and record.target_before:
        target.name = record.target_before.get("name")
        target.email = record.target_before.get("email")
        target.email_verified = bool(record.target_before.get("email_verified"))
        session.add(target)
    source.merged_into_id = None
    record.undone_at = utcnow()
    session.add_all([source, record])
    session.add(
        Event(
            customer_id=record.target_customer_id, kind="merge_undone", data={"merge_id": record.id}
        )
    )
    return record


async def split_identity(session: AsyncSession, identity_id: int) -> Customer:
    """Give one identity (and the conversations held with it) a customer of its own."""
    identity = await session.get(Identity, identity_id)
    if identity is None:
        raise CustomerError(f"identity {identity_id} does not exist", 404)
    count = (
        await session.exec(
            select(func.count())
            .select_from(Identity)
            .where(Identity.customer_id == identity.customer_id)
        )
    ).one()
    if count < 2:
        raise CustomerError("the customer has only this identity; nothing to split off")
    old_customer_id = identity.customer_id
    customer = Customer(
        name=identity.display_name,
        email=identity.email,
        email_verified=identity.verified and identity.email is not None,
    )
    session.add(customer)
    await session.flush()
    assert customer.id is not None
    identity.customer_id = customer.id
    session.add(identity)
    conversations = (
        await session.exec(select(Conversation).where(Conversation.identity_id == identity_id))
    ).all()
    for conv in conversations:
        conv.customer_id = customer.id
        session.add(conv)
    session.add(
        Event(
            customer_id=old_customer_id,
            kind="identity_split",
            data={"identity_id": identity_id, "new_customer_id": customer.id},
        )
    )
    return customer
