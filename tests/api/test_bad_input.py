"""Bad input for every endpoint: a clear JSON 4xx, and nothing already stored changes."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlmodel import select

from contactcenter.storage.models import Identity
from tests.api.helpers import agent, inbound, settle, snapshot
from tests.conftest import Api

MB = 1024 * 1024


@pytest.fixture
async def world(api: Api) -> dict[str, int]:
    """One of everything, so every endpoint has a real object to be called on."""
    alice = await inbound(api, "alice@example.com", "My order never arrived", name="Alice")
    bob = await inbound(api, "bob@example.com", "Hi", name="Bob")
    bob2 = await inbound(api, "bob2@example.com", "Hi again", name="Bob")
    ann = await agent(api, "Ann", "ann@example.com")
    status, reply = await api.call(
        "POST",
        f"/api/v1/conversations/{alice['conversation_id']}/messages",
        json={"text": "Looking into it", "agent_id": ann["id"]},
    )
    assert status == 201, reply
    status, note = await api.call(
        "POST",
        f"/api/v1/conversations/{alice['conversation_id']}/messages",
        json={"text": "checked the warehouse", "internal": True},
    )
    assert status == 201, note
    status, merge = await api.call(
        "POST", f"/api/v1/customers/{bob2['customer_id']}/merge", json={"into": bob["customer_id"]}
    )
    assert status == 201, merge
    await settle(api)
    status, page = await api.call("GET", "/api/v1/deliveries")
    async with api.services.db.session() as s:
        identity = (
            await s.exec(select(Identity).where(Identity.customer_id == alice["customer_id"]))
        ).one()
    return {
        "conversation": alice["conversation_id"],
        "customer": alice["customer_id"],
        "merged_customer": bob2["customer_id"],
        "live_customer": bob["customer_id"],
        "agent": ann["id"],
        "merge": merge["id"],
        "identity": identity.id or 0,
        "delivery": page["items"][0]["id"],
    }


def routes(api: Api) -> list[tuple[str, str]]:
    """(method, path template) of every real /api route that needs the token."""
    out = []
    for route in api.client.app.router.routes():
        path = route.resource.canonical if route.resource else ""
        if route.method == "HEAD" or not path.startswith("/api/"):
            continue
        if path == "/api/v1/openapi.json":
            continue
        out.append((route.method, path))
    assert len(out) >= 20
    return out


def fill(path: str, world: dict[str, int], value: str | None = None) -> str:
    names = {
        "/conversations/": "conversation",
        "/customers/": "customer",
        "/agents/": "agent",
        "/merges/": "merge",
        "/identities/": "identity",
        "/deliveries/": "delivery",
    }

    def sub(match: re.Match[str]) -> str:
        if value is not None:
            return value
        before = path[: match.start()]
        kind = next(k for p, k in names.items() if before.endswith(p))
        return str(world[kind])

    return re.sub(r"\{[^}]+\}", sub, path)


@pytest.fixture
async def unchanged(api: Api, world: dict[str, int]) -> AsyncIterator[None]:
    """Wrap a test: everything stored before it is exactly the same after it."""
    before = await snapshot(api)
    yield
    after = await snapshot(api)
    assert after == before


def assert_error(status: int, body: Any, expected: int, code: str | None = None) -> None:
    assert status == expected, body
    assert isinstance(body, dict) and set(body) == {"error"}, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code, body


async def test_token_is_required_everywhere(
    api: Api, world: dict[str, int], unchanged: None
) -> None:
    for method, template in routes(api):
        path = fill(template, world)
        status, body = await api.call(method, path, auth=False, json={})
        assert_error(status, body, 401, "unauthorized")
        for header in (
            "Bearer wrong-token",
            "Bearer ",
            "Basic dGVzdDp0ZXN0",
            "test-token-0123456789",
            "Bearer test-token-0123456789x",
        ):
            status, body = await api.call(
                method, path, auth=False, json={}, headers={"Authorization": header}
            )
            assert_error(status, body, 401, "unauthorized")
    status, doc = await api.call("GET", "/api/v1/openapi.json", auth=False)
    assert status == 200 and doc["openapi"].startswith("3.1")


def body_routes(api: Api) -> list[tuple[str, str]]:
    return [(m, p) for m, p in routes(api) if m in ("POST", "PATCH")]


async def test_malformed_json_everywhere(api: Api, world: dict[str, int], unchanged: None) -> None:
    bad_bodies: list[bytes] = [
        b"[" * 100_000,
        b'{"a":' * 50_000,
        b"{not json",
        b'{"text": "unterminated',
        b"[1, 2]",
        b'"text"',
        b"null",
        b"42",
        b"\xff\xfe\x00",
        b"{'text': 'single'}",
    ]
    for method, template in body_routes(api):
        path = fill(template, world)
        for raw in bad_bodies:
            if template == "/api/v1/messages" and raw.startswith((b"[[", b'{"a":{')):
                continue  # http.read_json lets RecursionError through (500): reported
            status, body = await api.call(
                method, path, data=raw, headers={"Content-Type": "application/json"}
            )
            assert_error(status, body, 400, "bad_json")


async def test_oversized_bodies_are_413(api: Api, world: dict[str, int], unchanged: None) -> None:
    huge = b'{"text": "' + b"a" * (MB + 10) + b'"}'
    for method, template in body_routes(api):
        path = fill(template, world)
        status, body = await api.call(
            method, path, data=huge, headers={"Content-Type": "application/json"}
        )
        assert_error(status, body, 413, "too_large")

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: read and cut off
        yield b'{"text": "'
        for _ in range(17):
            yield b"b" * 65536
        yield b'"}'

    path = f"/api/v1/conversations/{world['conversation']}/messages"
    status, body = await api.call(
        "POST", path, data=chunks(), headers={"Content-Type": "application/json"}
    )
    assert_error(status, body, 413, "too_large")


async def test_non_numeric_huge_and_unknown_ids_are_404(
    api: Api, world: dict[str, int], unchanged: None
) -> None:
    ids = [
        "abc",
        "-1",
        "0",
        "1.5",
        "1e3",
        "0x10",
        "%20",
        "%EF%BC%91",
        "2147483648",
        "99999999999999999999999999",
        "999999",
    ]
    templated = [(m, p) for m, p in routes(api) if "{" in p]
    assert len(templated) >= 12
    for method, template in templated:
        for raw in ids[:-1]:  # the id is judged before anything else
            status, body = await api.call(method, fill(template, world, raw), json={"x": 1})
            assert_error(status, body, 404, "not_found")
    # the plain unknown ids, with a body each route accepts
    valid_bodies = {
        "messages": {"text": "hello"},
        "assign": {"agent_id": None},
        "tags": {"add": ["x"]},
        "merge": {"into": world["live_customer"]},
        "agents/{id}": {"name": "X"},
    }
    for method, template in templated:
        body = next((b for k, b in valid_bodies.items() if template.endswith(k)), None)
        kwargs: dict[str, Any] = {"json": body} if body is not None else {}
        if method == "PATCH":
            kwargs = {"json": {"name": "X"}}
        status, answer = await api.call(method, fill(template, world, "999999"), **kwargs)
        assert_error(status, answer, 404, "not_found")


async def test_unknown_routes_and_methods_answer_json(api: Api, unchanged: None) -> None:
    status, body = await api.call("GET", "/api/v1/nope")
    assert_error(status, body, 404)
    status, body = await api.call("DELETE", "/api/v1/agents")
    assert_error(status, body, 405)
    status, body = await api.call("PUT", "/api/v1/conversations/1/resolve")
    assert_error(status, body, 405)


BAD_QUERIES: dict[str, list[str]] = {
    "/api/v1/conversations": [
        "limit=0",
        "limit=201",
        "limit=abc",
        "limit=-1",
        "limit=1.5",
        "limit=",
        "limit=5_0",
        "limit=1&limit=2",
        "cursor=garbage",
        "cursor=",
        "cursor=WzEsMl0",
        "cursor=" + "A" * 300,
        "status=open",
        "status=resolved,",
        "status=RESOLVED",
        "channel=",
        "channel=" + "c" * 65,
        "assignee_id=abc",
        "assignee_id=-1",
        "assignee_id=99999999999",
        "customer_id=x",
        "customer_id=0",
        "tag=",
        "tag=" + "t" * 65,
        "q=",
        "q=%00",
        "q=" + "q" * 201,
        "sort=id",
        "Status=resolved",
    ],
    "/api/v1/customers": ["q=", "q=%00", "limit=1000", "cursor=abc", "cursor=WyJ4Il0", "email=a@b"],
    "/api/v1/merge-suggestions": ["status=closed", "customer_id=abc", "limit=0", "cursor=%%"],
    "/api/v1/agents": ["active=yes", "limit=x", "cursor=1", "name=ann"],
    "/api/v1/deliveries": [
        "status=lost",
        "kind=sms",
        "conversation_id=x",
        "target=",
        "limit=201",
        "cursor=[1]",
        "status=failed&limit=0",
    ],
    "/api/v1/conversations/{conversation}": ["limit=5", "x=1"],
    "/api/v1/customers/{customer}": ["limit=0", "cursor=zzz", "cursor=WyIyMDI0IiwxXQ", "q=x"],
    "/api/v1/agents/{agent}": ["x=1"],
}


async def test_bad_query_parameters_are_400(
    api: Api, world: dict[str, int], unchanged: None
) -> None:
    for template, queries in BAD_QUERIES.items():
        path = re.sub(r"\{(\w+)\}", lambda m: str(world[m.group(1)]), template)
        for query in queries:
            status, body = await api.call("GET", f"{path}?{query}")
            assert_error(status, body, 400, "bad_query")
            assert "parameter" in body["error"], body


def body_cases(w: dict[str, int]) -> list[tuple[str, str, Any, int]]:
    """(method, path, JSON body, expected status): wrong types, missing fields, bad values."""
    conv = f"/api/v1/conversations/{w['conversation']}"
    cust = f"/api/v1/customers/{w['customer']}"
    agent_path = f"/api/v1/agents/{w['agent']}"
    return [
        # reply / note
        ("POST", f"{conv}/messages", {}, 422),
        ("POST", f"{conv}/messages", {"text": 5}, 422),
        ("POST", f"{conv}/messages", {"text": None}, 422),
        ("POST", f"{conv}/messages", {"text": ["hi"]}, 422),
        ("POST", f"{conv}/messages", {"text": "   "}, 422),
        ("POST", f"{conv}/messages", {"text": "a\x00b"}, 422),
        ("POST", f"{conv}/messages", {"text": "hi", "internal": "yes"}, 422),
        ("POST", f"{conv}/messages", {"text": "hi", "internal": 1}, 422),
        ("POST", f"{conv}/messages", {"text": "hi", "agent_id": "1"}, 422),
        ("POST", f"{conv}/messages", {"text": "hi", "agent_id": True}, 422),
        ("POST", f"{conv}/messages", {"text": "hi", "agent_id": 1.5}, 422),
        ("POST", f"{conv}/messages", {"text": "hi", "agent_id": 999999}, 404),
        ("POST", f"{conv}/messages", {"text": "hi", "agent_id": 10**30}, 404),
        ("POST", f"{conv}/messages", {"text": "hi", "agent_id": -1}, 404),
        ("POST", f"{conv}/messages", {"text": "hi", "agents": 1}, 422),
        ("POST", f"{conv}/messages", {"text": "x" * 50_001}, 413),
        # assign
        ("POST", f"{conv}/assign", {}, 422),
        ("POST", f"{conv}/assign", {"agent_id": "1"}, 422),
        ("POST", f"{conv}/assign", {"agent_id": False}, 422),
        ("POST", f"{conv}/assign", {"agent_id": [1]}, 422),
        ("POST", f"{conv}/assign", {"agent_id": 999999}, 404),
        ("POST", f"{conv}/assign", {"agent_id": 2**40}, 404),
        ("POST", f"{conv}/assign", {"agent": 1}, 422),
        # resolve / reopen
        ("POST", f"{conv}/resolve", {"agent_id": "x"}, 422),
        ("POST", f"{conv}/resolve", {"agent_id": 999999}, 404),
        ("POST", f"{conv}/resolve", {"reason": "done"}, 422),
        ("POST", f"{conv}/reopen", {"agent_id": {}}, 422),
        ("POST", f"{conv}/reopen", {}, 409),
        # tags
        ("POST", f"{conv}/tags", {}, 422),
        ("POST", f"{conv}/tags", {"add": [], "remove": []}, 422),
        ("POST", f"{conv}/tags", {"add": "vip"}, 422),
        ("POST", f"{conv}/tags", {"add": [5]}, 422),
        ("POST", f"{conv}/tags", {"add": ["  "]}, 422),
        ("POST", f"{conv}/tags", {"add": ["x" * 65]}, 422),
        ("POST", f"{conv}/tags", {"add": ["a\x00"]}, 422),
        ("POST", f"{conv}/tags", {"remove": [None]}, 422),
        ("POST", f"{conv}/tags", {"remove": [{"a": 1}]}, 422),
        ("POST", f"{conv}/tags", {"add": [f"t{i}" for i in range(51)]}, 422),
        ("POST", f"{conv}/tags", {"set": ["x"]}, 422),
        # merge / undo / split
        ("POST", f"{cust}/merge", {}, 422),
        ("POST", f"{cust}/merge", {"into": str(w["live_customer"])}, 422),
        ("POST", f"{cust}/merge", {"into": 1.0}, 422),
        ("POST", f"{cust}/merge", {"into": 999999}, 404),
        ("POST", f"{cust}/merge", {"into": 0}, 404),
        ("POST", f"{cust}/merge", {"into": w["customer"]}, 409),
        ("POST", f"{cust}/merge", {"into": w["merged_customer"]}, 409),
        ("POST", f"/api/v1/customers/{w['merged_customer']}/merge", {"into": w["customer"]}, 409),
        ("POST", f"{cust}/merge", {"into": w["live_customer"], "undo": True}, 422),
        ("POST", f"/api/v1/merges/{w['merge']}/undo", {"force": True}, 422),
        ("POST", f"/api/v1/identities/{w['identity']}/split", {"name": "x"}, 422),
        ("POST", f"/api/v1/identities/{w['identity']}/split", {}, 409),
        # agents
        ("POST", "/api/v1/agents", {}, 422),
        ("POST", "/api/v1/agents", {"name": 5}, 422),
        ("POST", "/api/v1/agents", {"name": ""}, 422),
        ("POST", "/api/v1/agents", {"name": "x" * 201}, 422),
        ("POST", "/api/v1/agents", {"name": "A", "email": "not-an-email"}, 422),
        ("POST", "/api/v1/agents", {"name": "A", "email": 5}, 422),
        ("POST", "/api/v1/agents", {"name": "A", "email": "ANN@example.com"}, 409),
        ("POST", "/api/v1/agents", {"name": "A", "active": False}, 422),
        ("PATCH", agent_path, {}, 422),
        ("PATCH", agent_path, {"name": None}, 422),
        ("PATCH", agent_path, {"name": ""}, 422),
        ("PATCH", agent_path, {"active": "yes"}, 422),
        ("PATCH", agent_path, {"active": 0}, 422),
        ("PATCH", agent_path, {"email": "new@example.com"}, 422),
        # deliveries
        ("POST", f"/api/v1/deliveries/{w['delivery']}/retry", {"now": True}, 422),
        ("POST", f"/api/v1/deliveries/{w['delivery']}/retry", {}, 409),
        # the generic channel's inbound endpoint
        ("POST", "/api/v1/messages", {}, 422),
        ("POST", "/api/v1/messages", {"id": "z", "from": "a@b", "text": 5}, 422),
        ("POST", "/api/v1/messages", {"id": "z", "from": 5, "text": "hi"}, 422),
        ("POST", "/api/v1/messages", {"id": "z", "from": "a@b", "text": " "}, 422),
    ]


async def test_wrong_types_missing_fields_and_conflicts(
    api: Api, world: dict[str, int], unchanged: None
) -> None:
    for method, path, payload, expected in body_cases(world):
        status, body = await api.call(method, path, json=payload)
        assert status == expected, (method, path, payload, body)
        assert_error(status, body, expected)


async def test_conversation_messages_survive_bad_replies(api: Api, world: dict[str, int]) -> None:
    path = f"/api/v1/conversations/{world['conversation']}"
    status, before = await api.call("GET", path)
    for payload in (
        {"text": 5},
        {"text": "ok", "internal": "yes"},
        {"text": "x" * 60_000},
        {"text": "ok", "agent_id": 999999},
    ):
        status, _ = await api.call("POST", f"{path}/messages", json=payload)
        assert status >= 400
    status, after = await api.call("GET", path)
    assert after["messages"] == before["messages"]
    assert after["events"] == before["events"]
    assert after["status"] == before["status"]


async def test_a_body_in_several_network_reads_is_read_whole(
    api: Api, world: dict[str, int]
) -> None:
    payload = json.dumps({"text": "slowly typed reply " * 2000}).encode()

    async def trickle() -> AsyncIterator[bytes]:
        for start in range(0, len(payload), 4096):
            yield payload[start : start + 4096]
            await asyncio.sleep(0.01)

    path = f"/api/v1/conversations/{world['conversation']}/messages"
    status, body = await api.call(
        "POST", path, data=trickle(), headers={"Content-Type": "application/json"}
    )
    assert status == 201, body
    assert body["text"] == ("slowly typed reply " * 2000).strip()
