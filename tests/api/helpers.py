"""Helpers for the API tests: create data through the public API, snapshot the database."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

from sqlmodel import col, select

from contactcenter.storage.models import (
    Agent,
    Conversation,
    Customer,
    Delivery,
    Event,
    Identity,
    MergeRecord,
    MergeSuggestion,
    Message,
)
from tests.conftest import Api

_ids = itertools.count(1)


async def inbound(
    api: Api, sender: str, text: str = "I need help with my order", name: str | None = None
) -> dict[str, Any]:
    """A customer message through POST /api/v1/messages (the generic channel)."""
    body: dict[str, Any] = {"id": f"ext-{next(_ids)}", "from": sender, "text": text}
    if name is not None:
        body["name"] = name
    status, result = await api.call("POST", "/api/v1/messages", json=body)
    assert status == 201, result
    return result  # type: ignore[no-any-return]


async def agent(api: Api, name: str = "Ann", email: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"name": name}
    if email is not None:
        body["email"] = email
    status, result = await api.call("POST", "/api/v1/agents", json=body)
    assert status == 201, result
    return result  # type: ignore[no-any-return]


async def conversation(api: Api, conversation_id: int) -> dict[str, Any]:
    status, body = await api.call("GET", f"/api/v1/conversations/{conversation_id}")
    assert status == 200, body
    return body  # type: ignore[no-any-return]


async def settle(api: Api, seconds: float = 5.0) -> None:
    """Wait until the dispatcher has no delivery pending or in flight."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        async with api.services.db.session() as s:
            busy = (
                await s.exec(
                    select(Delivery.id).where(col(Delivery.status).in_(["pending", "sending"]))
                )
            ).first()
        if busy is None:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("deliveries did not settle")


async def snapshot(api: Api) -> dict[str, list[tuple[Any, ...]]]:
    """Everything stored, as comparable tuples: bad input must leave it all unchanged."""
    await settle(api)
    tables: dict[str, Any] = {
        "customers": (
            Customer,
            lambda r: (r.id, r.name, r.email, r.email_verified, r.merged_into_id),
        ),
        "identities": (Identity, lambda r: (r.id, r.customer_id, r.channel, r.address)),
        "agents": (Agent, lambda r: (r.id, r.name, r.email, r.active)),
        "conversations": (
            Conversation,
            lambda r: (
                r.id,
                r.customer_id,
                r.status,
                r.assignee_id,
                tuple(r.tags),
                r.subject,
                str(r.updated_at),
            ),
        ),
        "messages": (Message, lambda r: (r.id, r.conversation_id, r.internal, r.text)),
        "events": (Event, lambda r: (r.id, r.conversation_id, r.kind)),
        "deliveries": (Delivery, lambda r: (r.id, r.message_id, r.target, r.status)),
        "merges": (MergeRecord, lambda r: (r.id, r.source_customer_id, str(r.undone_at))),
        "suggestions": (MergeSuggestion, lambda r: (r.id, r.status)),
    }
    out: dict[str, list[tuple[Any, ...]]] = {}
    async with api.services.db.session() as s:
        for name, (model, shape) in tables.items():
            rows = (await s.exec(select(model).order_by(col(model.id)))).all()
            out[name] = [shape(r) for r in rows]
    return out
