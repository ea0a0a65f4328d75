"""What the database holds for a conversation, read the way a test checks it."""

from __future__ import annotations

from sqlmodel import col, select

from contactcenter.services import Services
from contactcenter.storage.models import Delivery, Message


async def messages_of(services: Services, conversation_id: int) -> list[Message]:
    """The conversation's messages, oldest first."""
    async with services.db.session() as s:
        query = (
            select(Message)
            .where(Message.conversation_id == conversation_id)
            .order_by(col(Message.id))
        )
        return list((await s.exec(query)).all())


async def deliveries_of(services: Services, conversation_id: int | None = None) -> list[Delivery]:
    """The outbox rows, oldest first: of one conversation, or all of them."""
    async with services.db.session() as s:
        query = select(Delivery).order_by(col(Delivery.id))
        if conversation_id is not None:
            query = query.where(Delivery.conversation_id == conversation_id)
        return list((await s.exec(query)).all())
