"""One customer record across channels: who is joined, who is only suggested, merge and split."""

from __future__ import annotations

import asyncio

import pytest
from sqlmodel import select

from contactcenter.customers import CustomerError, merge_customers, split_identity, undo_merge
from contactcenter.domain import Address, InboundMessage
from contactcenter.services import Services
from contactcenter.storage.models import Conversation, Customer, Identity, MergeSuggestion


def inbound(mid: str, channel: str, address: str, **kw: object) -> InboundMessage:
    return InboundMessage(
        channel_message_id=mid, sender=Address(channel, address), text="hello", **kw
    )  # type: ignore[arg-type]


async def test_verified_identity_with_same_verified_email_joins_the_customer(
    services: Services,
) -> None:
    web = await services.router.handle(
        inbound("w1", "webchat", "visitor-1", email="Ann@Example.com", verified=True)
    )
    slack_like = await services.router.handle(
        inbound("x1", "api", "crm-42", email="ann@example.com", verified=True)
    )
    assert slack_like.customer_id == web.customer_id


async def test_unverified_identities_are_never_merged_silently(services: Services) -> None:
    web = await services.router.handle(
        inbound("w1", "webchat", "visitor-1", email="bob@example.com")
    )
    mail = await services.router.handle(
        inbound("m1", "email", "bob@example.com", email="bob@example.com")
    )
    assert mail.customer_id != web.customer_id
    async with services.db.session() as s:
        suggestions = (await s.exec(select(MergeSuggestion))).all()
    assert [(x.customer_id, x.other_customer_id) for x in suggestions] == [
        (mail.customer_id, web.customer_id)
    ]


async def test_merge_moves_everything_and_undo_restores_it(services: Services) -> None:
    a = await services.router.handle(inbound("1", "webchat", "v1"))
    b = await services.router.handle(inbound("2", "email", "c@example.com", email="c@example.com"))
    async with services.db.transaction() as s:
        record = await merge_customers(s, b.customer_id, a.customer_id)
    again = await services.router.handle(
        inbound("3", "email", "c@example.com", email="c@example.com")
    )
    assert again.customer_id == a.customer_id  # new mail lands on the merged customer
    async with services.db.session() as s:
        conv = await s.get(Conversation, b.conversation_id)
        assert conv is not None and conv.customer_id == a.customer_id
    async with services.db.transaction() as s:
        await undo_merge(s, record.id or 0)
    async with services.db.session() as s:
        conv = await s.get(Conversation, b.conversation_id)
        source = await s.get(Customer, b.customer_id)
        ident = (await s.exec(select(Identity).where(Identity.address == "c@example.com"))).one()
    assert conv is not None and conv.customer_id == b.customer_id
    assert source is not None and source.merged_into_id is None
    assert ident.customer_id == b.customer_id
    async with services.db.transaction() as s:
        with pytest.raises(CustomerError):
            await undo_merge(s, record.id or 0)


async def test_merge_refuses_nonsense(services: Services) -> None:
    a = await services.router.handle(inbound("1", "webchat", "v1"))
    async with services.db.transaction() as s:
        with pytest.raises(CustomerError):
            await merge_customers(s, a.customer_id, a.customer_id)
        with pytest.raises(CustomerError):
            await merge_customers(s, a.customer_id, 999999)


async def test_split_identity_takes_its_conversations_along(services: Services) -> None:
    a = await services.router.handle(inbound("1", "webchat", "v1"))
    b = await services.router.handle(inbound("2", "email", "d@example.com", email="d@example.com"))
    async with services.db.transaction() as s:
        await merge_customers(s, b.customer_id, a.customer_id)
    async with services.db.session() as s:
        ident = (await s.exec(select(Identity).where(Identity.address == "d@example.com"))).one()
    async with services.db.transaction() as s:
        new = await split_identity(s, ident.id or 0)
    async with services.db.session() as s:
        conv = await s.get(Conversation, b.conversation_id)
    assert conv is not None and conv.customer_id == new.id != a.customer_id
    async with services.db.transaction() as s:
        with pytest.raises(CustomerError):
            await split_identity(s, ident.id or 0)  # now its customer's only identity


async def test_concurrent_first_messages_from_one_sender_make_one_customer(
    services: Services,
) -> None:
    results = await asyncio.gather(
        *(services.router.handle(inbound(f"c{i}", "api", "racer")) for i in range(8))
    )
    assert len({r.customer_id for r in results}) == 1
    assert len({r.message_id for r in results}) == 8
    async with services.db.session() as s:
        assert len((await s.exec(select(Identity))).all()) == 1


async def test_concurrent_repeats_of_one_message_store_it_once(services: Services) -> None:
    results = await asyncio.gather(
        *(services.router.handle(inbound("same", "api", "racer")) for _ in range(6))
    )
    assert len({r.message_id for r in results}) == 1
    assert sum(not r.duplicate for r in results) == 1


async def test_undo_restores_what_the_merge_copied_onto_the_target(services: Services) -> None:
    anon = await services.router.handle(inbound("1", "webchat", "v1"))
    known = await services.router.handle(
        inbound("2", "webchat", "v2", email="eve@example.com", verified=True)
    )
    async with services.db.transaction() as s:
        record = await merge_customers(s, known.customer_id, anon.customer_id)
    async with services.db.transaction() as s:
        await undo_merge(s, record.id or 0)
    async with services.db.session() as s:
        target = await s.get(Customer, anon.customer_id)
    assert target is not None and target.email is None and not target.email_verified
    # And a new verified identity with that email joins the right customer again.
    again = await services.router.handle(
        inbound("3", "api", "crm-1", email="eve@example.com", verified=True)
    )
    assert again.customer_id == known.customer_id
