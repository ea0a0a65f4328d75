"""``POST /api/v1/messages``: the generic API channel's way in."""

from __future__ import annotations

from aiohttp import web

from contactcenter.api.http import ApiError, field, json_response
from contactcenter.api.params import read_body
from contactcenter.domain import Address, InboundMessage
from contactcenter.router import MAX_TEXT
from contactcenter.services import SERVICES

MAX_ID = 200
MAX_ADDRESS = 320


async def post_message(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    data = await read_body(request, {"id", "from", "name", "text"})
    external_id = field(data, "id", (str, int), max_len=MAX_ID)
    sender = field(data, "from", str, max_len=MAX_ADDRESS).strip()
    text = field(data, "text", str, max_len=MAX_TEXT)
    name = field(data, "name", str, required=False, max_len=200)
    if not str(external_id).strip():
        raise ApiError(422, "bad_field", "field 'id' must not be empty", field="id")
    if not sender:
        raise ApiError(422, "bad_field", "field 'from' must not be empty", field="from")
    if not text.strip():
        raise ApiError(422, "bad_field", "field 'text' must not be empty", field="text")
    if "\x00" in text or "\x00" in sender:
        raise ApiError(422, "bad_field", "text and from must not contain NUL characters")
    result = await services.router.handle(
        InboundMessage(
            channel_message_id=str(external_id),
            sender=Address("api", sender),
            text=text,
            display_name=name.strip() if name else None,
        )
    )
    return json_response(
        {
            "message_id": result.message_id,
            "conversation_id": result.conversation_id,
            "customer_id": result.customer_id,
            "duplicate": result.duplicate,
            "status": str(result.status),
        },
        status=200 if result.duplicate else 201,
    )
