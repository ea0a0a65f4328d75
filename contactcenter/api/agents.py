"""Agents: list, create, read, rename and (de)activate."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from contactcenter import agents
from contactcenter.agents import CommandError
from contactcenter.api import serialize
from contactcenter.api.http import ApiError, field, json_response
from contactcenter.api.params import (
    body_text,
    check_query,
    decode_cursor,
    encode_cursor,
    object_id,
    query_limit,
    read_body,
)
from contactcenter.services import SERVICES
from contactcenter.storage.models import Agent

MAX_NAME = 200
MAX_EMAIL = 320


def _command_error(exc: CommandError) -> ApiError:
    return ApiError(exc.status, "not_found" if exc.status == 404 else "conflict", str(exc))


async def list_agents(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    check_query(request, ("active", "limit", "cursor"))
    limit = query_limit(request)
    cursor = decode_cursor(request, "i")
    active = request.query.get("active")
    if active not in (None, "true", "false"):
        raise ApiError(
            400, "bad_query", "query parameter 'active' must be true or false", parameter="active"
        )
    query = select(Agent)
    if active is not None:
        query = query.where(col(Agent.active).is_(active == "true"))
    if cursor is not None:
        query = query.where(col(Agent.id) > cursor[0])
    async with services.db.session() as s:
        rows = list((await s.exec(query.order_by(col(Agent.id)).limit(limit + 1))).all())
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(rows[-1].id) if more else None
    return json_response(serialize.page([serialize.agent(a) for a in rows], next_cursor))


async def create_agent(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    data = await read_body(request, ("name", "email"))
    name = body_text(data, "name", max_len=MAX_NAME)
    email = body_text(data, "email", max_len=MAX_EMAIL, required=False)
    if email is not None and ("@" not in email or any(c.isspace() for c in email)):
        raise ApiError(422, "bad_field", "field 'email' must be an email address", field="email")
    assert name is not None
    try:
        async with services.db.transaction() as s:
            agent = await agents.create_agent(s, name, email)
    except CommandError as exc:
        raise _command_error(exc) from None
    except IntegrityError:
        raise ApiError(409, "conflict", f"an agent with email {email} already exists") from None
    return json_response(serialize.agent(agent), status=201)


async def get_agent(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    agent_id = object_id(request, what="agent")
    check_query(request, ())
    async with services.db.session() as s:
        agent = await s.get(Agent, agent_id)
    if agent is None:
        raise ApiError(404, "not_found", f"agent {agent_id} does not exist")
    return json_response(serialize.agent(agent))


async def update_agent(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    agent_id = object_id(request, what="agent")
    data = await read_body(request, ("name", "active"))
    name = body_text(data, "name", max_len=MAX_NAME, required=False)
    active: bool | None = field(data, "active", bool, required=False)
    if name is None and active is None:
        raise ApiError(422, "missing_field", "give 'name' and/or 'active'")
    try:
        async with services.db.transaction() as s:
            agent = await agents.update_agent(s, agent_id, name=name, active=active)
    except CommandError as exc:
        raise _command_error(exc) from None
    return json_response(serialize.agent(agent))
