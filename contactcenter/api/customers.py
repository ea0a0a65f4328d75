"""Customers: search, the cross-channel record and timeline, merge / undo / split.

Changes go through ``contactcenter.customers`` inside one transaction. Whether
the objects named exist is checked first (404); a ``CustomerError`` from the
core after that is a conflict with the current state (409).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import and_, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from contactcenter import customers as core
from contactcenter.api import serialize
from contactcenter.api.http import ApiError, json_response
from contactcenter.api.params import (
    body_id,
    check_query,
    decode_cursor,
    encode_cursor,
    object_id,
    query_choices,
    query_id,
    query_limit,
    query_text,
    read_body,
)
from contactcenter.services import SERVICES
from contactcenter.storage.models import (
    Conversation,
    Customer,
    Identity,
    MergeRecord,
    MergeSuggestion,
    Message,
)

SUGGESTION_STATUSES = ("open", "merged", "dismissed")


def _not_found(what: str, ident: int) -> ApiError:
    return ApiError(404, "not_found", f"{what} {ident} does not exist")


def _conflict(exc: core.CustomerError) -> ApiError:
    return ApiError(409, "conflict", str(exc))


async def list_customers(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    check_query(request, ("q", "limit", "cursor"))
    q = query_text(request, "q")
    limit = query_limit(request)
    cursor = decode_cursor(request, "i")
    query = select(Customer).where(col(Customer.merged_into_id).is_(None))
    if q is not None:
        by_identity = (
            select(Identity.id)
            .where(
                Identity.customer_id == Customer.id,
                or_(
                    col(Identity.address).icontains(q, autoescape=True),
                    col(Identity.email).icontains(q, autoescape=True),
                ),
            )
            .exists()
        )
        query = query.where(
            or_(
                col(Customer.name).icontains(q, autoescape=True),
                col(Customer.email).icontains(q, autoescape=True),
                by_identity,
            )
        )
    if cursor is not None:
        query = query.where(col(Customer.id) < cursor[0])
    async with services.db.session() as s:
        rows = list((await s.exec(query.order_by(col(Customer.id).desc()).limit(limit + 1))).all())
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(rows[-1].id) if more else None
    return json_response(serialize.page([serialize.customer(c) for c in rows], next_cursor))


async def _suggestions_of(s: AsyncSession, customer_id: int) -> list[dict[str, Any]]:
    rows = (
        await s.exec(
            select(MergeSuggestion)
            .where(
                MergeSuggestion.status == "open",
                or_(
                    col(MergeSuggestion.customer_id) == customer_id,
                    col(MergeSuggestion.other_customer_id) == customer_id,
                ),
            )
            .order_by(col(MergeSuggestion.id))
        )
    ).all()
    out = []
    for row in rows:
        other_id = row.other_customer_id if row.customer_id == customer_id else row.customer_id
        other = await s.get(Customer, other_id)
        out.append(
            {
                **serialize.merge_suggestion(row),
                "other": serialize.customer(other) if other else None,
            }
        )
    return out


async def get_customer(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    customer_id = object_id(request, what="customer")
    check_query(request, ("limit", "cursor"))
    limit = query_limit(request)
    cursor = decode_cursor(request, "ti")
    async with services.db.session() as s:
        try:
            customer = await core.live_customer(s, customer_id)
        except core.CustomerError:
            raise _not_found("customer", customer_id) from None
        live_id = customer.id
        identities = (
            await s.exec(
                select(Identity).where(Identity.customer_id == live_id).order_by(col(Identity.id))
            )
        ).all()
        merges = (
            await s.exec(
                select(MergeRecord)
                .where(
                    or_(
                        col(MergeRecord.source_customer_id) == live_id,
                        col(MergeRecord.target_customer_id) == live_id,
                    )
                )
                .order_by(col(MergeRecord.id))
            )
        ).all()
        suggestions = await _suggestions_of(s, live_id or 0)
        query = (
            select(Message, Conversation)
            .join(Conversation, col(Message.conversation_id) == col(Conversation.id))
            .where(Conversation.customer_id == live_id)
        )
        if cursor is not None:
            at, last_id = cursor
            query = query.where(
                or_(
                    col(Message.created_at) > at,
                    and_(col(Message.created_at) == at, col(Message.id) > last_id),
                )
            )
        rows = list(
            (
                await s.exec(
                    query.order_by(col(Message.created_at), col(Message.id)).limit(limit + 1)
                )
            ).all()
        )
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(rows[-1][0].created_at, rows[-1][0].id) if more else None
    return json_response(
        {
            **serialize.customer(customer),
            "merged_into": live_id if live_id != customer_id else None,
            "identities": [serialize.identity(i) for i in identities],
            "merge_suggestions": suggestions,
            "merges": [serialize.merge_record(m) for m in merges],
            "timeline": serialize.page(
                [serialize.timeline_message(m, c) for m, c in rows], next_cursor
            ),
        }
    )


async def merge(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    source_id = object_id(request, what="customer")
    data = await read_body(request, ("into",))
    target_id = body_id(data, "into", what="customer")
    assert target_id is not None
    async with services.db.transaction() as s:
        if await s.get(Customer, source_id) is None:
            raise _not_found("customer", source_id)
        if await s.get(Customer, target_id) is None:
            raise ApiError(404, "not_found", f"customer {target_id} does not exist", field="into")
        try:
            record = await core.merge_customers(s, source_id, target_id)
        except core.CustomerError as exc:
            raise _conflict(exc) from None
        await s.flush()
        body = serialize.merge_record(record)
    return json_response(body, status=201)


async def undo_merge(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    merge_id = object_id(request, "merge_id", what="merge")
    await read_body(request, (), optional=True)
    async with services.db.transaction() as s:
        if await s.get(MergeRecord, merge_id) is None:
            raise _not_found("merge", merge_id)
        try:
            record = await core.undo_merge(s, merge_id)
        except core.CustomerError as exc:
            raise _conflict(exc) from None
        await s.flush()
        body = serialize.merge_record(record)
    return json_response(body)


async def split_identity(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    identity_id = object_id(request, "identity_id", what="identity")
    await read_body(request, (), optional=True)
    async with services.db.transaction() as s:
        if await s.get(Identity, identity_id) is None:
            raise _not_found("identity", identity_id)
        try:
            customer = await core.split_identity(s, identity_id)
        except core.CustomerError as exc:
            raise _conflict(exc) from None
        await s.flush()
        identities = (
            await s.exec(select(Identity).where(Identity.customer_id == customer.id))
        ).all()
        body = {
            **serialize.customer(customer),
            "identities": [serialize.identity(i) for i in identities],
        }
    return json_response(body, status=201)


async def list_merge_suggestions(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    check_query(request, ("status", "customer_id", "limit", "cursor"), repeatable=("status",))
    statuses = query_choices(request, "status", SUGGESTION_STATUSES) or ["open"]
    customer_id = query_id(request, "customer_id")
    limit = query_limit(request)
    cursor = decode_cursor(request, "i")
    query = select(MergeSuggestion).where(col(MergeSuggestion.status).in_(statuses))
    if customer_id is not None:
        query = query.where(
            or_(
                col(MergeSuggestion.customer_id) == customer_id,
                col(MergeSuggestion.other_customer_id) == customer_id,
            )
        )
    if cursor is not None:
        query = query.where(col(MergeSuggestion.id) < cursor[0])
    async with services.db.session() as s:
        rows = list(
            (await s.exec(query.order_by(col(MergeSuggestion.id).desc()).limit(limit + 1))).all()
        )
        more = len(rows) > limit
        rows = rows[:limit]
        items = []
        for row in rows:
            first = await s.get(Customer, row.customer_id)
            other = await s.get(Customer, row.other_customer_id)
            items.append(
                {
                    **serialize.merge_suggestion(row),
                    "customer": serialize.customer(first) if first else None,
                    "other_customer": serialize.customer(other) if other else None,
                }
            )
    next_cursor = encode_cursor(rows[-1].id) if more else None
    return json_response(serialize.page(items, next_cursor))
