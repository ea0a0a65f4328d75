"""The outbox as the API shows it: failed deliveries are visible and can be retried."""

from __future__ import annotations

from aiohttp import web
from sqlmodel import col, select

from contactcenter import outbox
from contactcenter.agents import CommandError
from contactcenter.api import serialize
from contactcenter.api.http import ApiError, json_response
from contactcenter.api.params import (
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
from contactcenter.storage.models import Delivery

STATUSES = ("pending", "sending", "sent", "failed")
KINDS = ("message", "desk")


async def list_deliveries(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    check_query(
        request,
        ("status", "kind", "target", "conversation_id", "limit", "cursor"),
        repeatable=("status",),
    )
    statuses = query_choices(request, "status", STATUSES)
    kinds = query_choices(request, "kind", KINDS)
    target = query_text(request, "target", max_len=64)
    conversation_id = query_id(request, "conversation_id")
    limit = query_limit(request)
    cursor = decode_cursor(request, "i")
    query = select(Delivery)
    if statuses:
        query = query.where(col(Delivery.status).in_(statuses))
    if kinds:
        query = query.where(col(Delivery.kind).in_(kinds))
    if target is not None:
        query = query.where(Delivery.target == target)
    if conversation_id is not None:
        query = query.where(Delivery.conversation_id == conversation_id)
    if cursor is not None:
        query = query.where(col(Delivery.id) < cursor[0])
    async with services.db.session() as s:
        rows = list((await s.exec(query.order_by(col(Delivery.id).desc()).limit(limit + 1))).all())
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(rows[-1].id) if more else None
    return json_response(serialize.page([serialize.delivery(d) for d in rows], next_cursor))


async def retry(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    delivery_id = object_id(request, what="delivery")
    await read_body(request, (), optional=True)
    try:
        async with services.db.transaction() as s:
            delivery = await outbox.retry_delivery(s, delivery_id)
    except CommandError as exc:
        code = "not_found" if exc.status == 404 else "conflict"
        raise ApiError(exc.status, code, str(exc)) from None
    services.dispatcher.wake()
    return json_response(serialize.delivery(delivery))
