"""Conversations: list and read them; reply, note, assign, resolve, reopen and tag.

Every change goes through ``AgentActions``; an ``ActionError`` becomes the JSON
error with the status it carries.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import ColumnElement, and_, cast, exists, func, or_, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import col
from sqlmodel import select as sm_select

from contactcenter.agent_actions import MAX_REPLY, MAX_TAGS, ActionError
from contactcenter.api import serialize
from contactcenter.api.http import ApiError, field, json_response
from contactcenter.api.params import (
    body_id,
    body_text,
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
from contactcenter.domain import AgentReply, ConversationStatus
from contactcenter.services import SERVICES
from contactcenter.storage.database import Database
from contactcenter.storage.models import Agent, Conversation, Customer, Event, Message

LIST_PARAMS = ("status", "channel", "assignee_id", "customer_id", "tag", "q", "cursor", "limit")
MAX_TAG = 64


def _action_error(exc: ActionError) -> ApiError:
    codes = {404: "not_found", 409: "conflict", 413: "too_large"}
    return ApiError(exc.status, codes.get(exc.status, "bad_request"), str(exc))


def normalise_tag(tag: str) -> str:
    """The form ``AgentActions.tag`` stores: whitespace collapsed, lower case."""
    return " ".join(tag.split()).lower()


def _has_tag(db: Database, tag: str) -> ColumnElement[bool]:
    if db.is_sqlite:
        each = func.json_each(Conversation.tags).table_valued("value")
        return exists(select(1).select_from(each).where(each.c.value == tag))
    return cast(Conversation.tags, JSONB).contains([tag])


async def list_conversations(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    check_query(request, LIST_PARAMS, repeatable=("status",))
    statuses = query_choices(request, "status", [str(s) for s in ConversationStatus])
    channel = query_text(request, "channel", max_len=64)
    customer_id = query_id(request, "customer_id")
    tag = query_text(request, "tag", max_len=MAX_TAG)
    q = query_text(request, "q")
    limit = query_limit(request)
    cursor = decode_cursor(request, "ti")
    unassigned = request.query.get("assignee_id") == "none"
    assignee_id = None if unassigned else query_id(request, "assignee_id")

    query = sm_select(Conversation)
    if statuses:
        query = query.where(col(Conversation.status).in_(statuses))
    if channel is not None:
        query = query.where(Conversation.channel == channel)
    if unassigned:
        query = query.where(col(Conversation.assignee_id).is_(None))
    elif assignee_id is not None:
        query = query.where(Conversation.assignee_id == assignee_id)
    if customer_id is not None:
        query = query.where(Conversation.customer_id == customer_id)
    if tag is not None:
        query = query.where(_has_tag(services.db, normalise_tag(tag)))
    if q is not None:
        query = query.where(col(Conversation.subject).icontains(q, autoescape=True))
    if cursor is not None:
        updated, last_id = cursor
        query = query.where(
            or_(
                col(Conversation.updated_at) < updated,
                and_(col(Conversation.updated_at) == updated, col(Conversation.id) < last_id),
            )
        )
    query = query.order_by(col(Conversation.updated_at).desc(), col(Conversation.id).desc())
    async with services.db.session() as s:
        rows = list((await s.exec(query.limit(limit + 1))).all())
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(rows[-1].updated_at, rows[-1].id) if more else None
    return json_response(serialize.page([serialize.conversation(c) for c in rows], next_cursor))


async def get_conversation(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    conversation_id = object_id(request, what="conversation")
    check_query(request, ())
    async with services.db.session() as s:
        conv = await s.get(Conversation, conversation_id)
        if conv is None:
            raise ApiError(404, "not_found", f"conversation {conversation_id} does not exist")
        customer = await s.get(Customer, conv.customer_id)
        assignee = await s.get(Agent, conv.assignee_id) if conv.assignee_id else None
        messages = (
            await s.exec(
                sm_select(Message)
                .where(Message.conversation_id == conversation_id)
                .order_by(col(Message.id))
            )
        ).all()
        events = (
            await s.exec(
                sm_select(Event)
                .where(Event.conversation_id == conversation_id)
                .order_by(col(Event.id))
            )
        ).all()
    return json_response(
        {
            **serialize.conversation(conv),
            "customer": serialize.customer(customer) if customer else None,
            "assignee": serialize.agent(assignee) if assignee else None,
            "messages": [serialize.message(m) for m in messages],
            "events": [serialize.event(e) for e in events],
        }
    )


async def post_message(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    conversation_id = object_id(request, what="conversation")
    data = await read_body(request, ("text", "internal", "agent_id"))
    text = body_text(data, "text", max_len=MAX_REPLY)
    internal: bool = field(data, "internal", bool, required=False, default=False)
    agent_id = body_id(data, "agent_id", what="agent", required=False)
    assert text is not None
    try:
        message, _ = await services.actions.reply(
            AgentReply(
                conversation_id=conversation_id, text=text, agent_id=agent_id, internal=internal
            )
        )
    except ActionError as exc:
        raise _action_error(exc) from None
    return json_response(serialize.message(message), status=201)


async def assign(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    conversation_id = object_id(request, what="conversation")
    data = await read_body(request, ("agent_id",))
    if "agent_id" not in data:
        raise ApiError(
            422, "missing_field", "field 'agent_id' is required (null unassigns)", field="agent_id"
        )
    agent_id = body_id(data, "agent_id", what="agent", required=False)
    if agent_id is not None:
        async with services.db.session() as s:
            assignee = await s.get(Agent, agent_id)
        if assignee is not None and not assignee.active:
            raise ApiError(409, "conflict", f"agent {agent_id} is not active", field="agent_id")
    try:
        conv = await services.actions.assign(conversation_id, agent_id)
    except ActionError as exc:
        raise _action_error(exc) from None
    return json_response(serialize.conversation(conv))


async def _by(request: web.Request) -> int | None:
    """The optional ``{"agent_id"}`` body of resolve/reopen: who did it (must exist)."""
    services = request.app[SERVICES]
    data = await read_body(request, ("agent_id",), optional=True)
    agent_id = body_id(data, "agent_id", what="agent", required=False)
    if agent_id is not None:
        async with services.db.session() as s:
            if await s.get(Agent, agent_id) is None:
                raise ApiError(
                    404, "not_found", f"agent {agent_id} does not exist", field="agent_id"
                )
    return agent_id


async def resolve(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    conversation_id = object_id(request, what="conversation")
    by = await _by(request)
    try:
        conv = await services.actions.resolve(conversation_id, by=by)
    except ActionError as exc:
        raise _action_error(exc) from None
    return json_response(serialize.conversation(conv))


async def reopen(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    conversation_id = object_id(request, what="conversation")
    by = await _by(request)
    try:
        conv = await services.actions.reopen(conversation_id, by=by)
    except ActionError as exc:
        raise _action_error(exc) from None
    return json_response(serialize.conversation(conv))


def _tag_list(data: dict[str, Any], name: str) -> list[str]:
    values: list[Any] = field(data, name, list, required=False, default=[], max_len=MAX_TAGS)
    out: list[str] = []
    for value in values:
        if not isinstance(value, str):
            raise ApiError(
                422, "bad_field", f"field {name!r} must be a list of strings", field=name
            )
        tag = normalise_tag(value)
        if not tag or len(tag) > MAX_TAG or "\x00" in tag:
            raise ApiError(
                422,
                "bad_field",
                f"every tag in {name!r} must be 1 to {MAX_TAG} characters",
                field=name,
            )
        if tag not in out:
            out.append(tag)
    return out


async def tags(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    conversation_id = object_id(request, what="conversation")
    data = await read_body(request, ("add", "remove"))
    add = _tag_list(data, "add")
    remove = _tag_list(data, "remove")
    if not add and not remove:
        raise ApiError(422, "missing_field", "give at least one tag in 'add' or 'remove'")
    try:
        conv = await services.actions.tag(conversation_id, add=add, remove=remove)
    except ActionError as exc:
        raise _action_error(exc) from None
    return json_response(serialize.conversation(conv))
