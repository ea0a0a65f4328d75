"""Bad input gets a clear answer; nothing already stored is lost; the socket stays up."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest
from webchat_support import Chat, MakeChat

from tests.api.helpers import snapshot


@pytest.fixture
async def small(make_chat: MakeChat) -> Chat:
    return await make_chat(max_text_length=50, messages_per_minute=60, message_burst=4)


async def test_bad_payloads_are_answered_and_change_nothing(small: Chat) -> None:
    v = await small.visitor()
    await v.wait_for("history")
    good = await v.send("reset my password", "keep-1")
    await v.wait_for("message", lambda d: d["author"] == "bot")
    before = await snapshot(small.api)

    cases: list[tuple[Any, str]] = [
        ({"id": "a1", "text": "x" * 51}, "too_long"),
        ({"id": "a2", "text": 123}, "bad_text"),
        ({"id": "a3", "text": None}, "bad_text"),
        ({"id": "a4", "text": ["list"]}, "bad_text"),
        ({"id": "a5", "text": {"html": "<b>"}}, "bad_text"),
        ({"id": "a6"}, "bad_text"),
        ({"id": "a7", "text": "   \n "}, "empty"),
        ({"id": "a8", "text": "\ud800 lone surrogate"}, "bad_text"),
        ({"id": "bad id with spaces", "text": "hi"}, "bad_id"),
        ({"id": "x" * 65, "text": "hi"}, "bad_id"),
        ({"text": "no id"}, "bad_id"),
        ({"id": True, "text": "bool id"}, "bad_id"),
        ({"id": "a9", "text": "hi", "conversation_id": "1"}, "bad_payload"),
        ("just a string", "bad_payload"),
        ([1, 2, 3], "bad_payload"),
        (None, "bad_payload"),
        (42, "bad_payload"),
    ]
    for payload, code in cases:
        ack = await v.call("message", payload)
        assert ack["error"]["code"] == code, (payload, ack)
        assert ack["error"]["message"]
    # The same answers arrive as "error" events, one per refusal.
    errors = await v.wait_for("error", count=len(cases))
    assert errors["event"] == "message"

    for event, payload, code in [
        ("csat", {"conversation_id": good["conversation_id"], "score": 9}, "bad_score"),
        ("csat", {"conversation_id": "x", "score": 3}, "bad_payload"),
        ("csat", "5 stars", "bad_payload"),
        ("csat", {"conversation_id": good["conversation_id"], "score": 4}, "not_resolved"),
        ("typing", {"typing": "yes"}, "bad_payload"),
        ("typing", [1], "bad_payload"),
        ("delete_everything", {"all": True}, "unknown_event"),
        ("connect_me", None, "unknown_event"),
    ]:
        ack = await v.call(event, payload)
        assert ack["error"]["code"] == code, (event, payload, ack)

    assert v.connected
    assert await snapshot(small.api) == before
    # Control characters are dropped, the rest kept; the socket still works.
    ok = await v.send("still \x00here\x07", "keep-2")
    assert ok["conversation_id"] == good["conversation_id"]
    async with small.services.db.session() as s:
        from contactcenter.storage.models import Message

        row = await s.get(Message, ok["id"])
    assert row is not None and row.text == "still here"


async def test_a_flood_is_slowed_down_not_disconnected(small: Chat) -> None:
    v = await small.visitor()
    await v.wait_for("history")
    acks = [await v.send(f"password {i}", f"flood-{i}") for i in range(12)]
    accepted = [a for a in acks if "error" not in a]
    limited = [a for a in acks if "error" in a]
    assert len(accepted) == 4  # the burst
    assert {a["error"]["code"] for a in limited} == {"rate_limited"}
    assert all(a["error"]["retry_after"] > 0 for a in limited)
    assert all(a["error"]["id"].startswith("flood-") for a in limited)
    assert len(v.of("error")) == len(limited)
    assert v.connected

    # Waiting as told lets the next one through; the refused ones can be resent.
    await asyncio.sleep(limited[0]["error"]["retry_after"] + 0.05)
    retry = await v.send("password 4", "flood-4")
    assert "error" not in retry and retry["duplicate"] is False
    await small.settle()
    async with small.services.db.session() as s:
        from sqlmodel import select

        from contactcenter.storage.models import Message

        rows = (await s.exec(select(Message).where(Message.author_kind == "customer"))).all()
    assert len(rows) == 5


async def test_a_frame_far_over_the_limit_closes_only_that_socket(small: Chat) -> None:
    victim = await small.visitor()
    await victim.wait_for("history")
    bystander = await small.visitor()
    await bystander.wait_for("history")
    limit = small.channel.config.max_frame_bytes
    await victim.sio.emit("message", {"id": "huge", "text": "y" * (limit + 10)})
    async with asyncio.timeout(10):
        await victim.gone.wait()
    assert "error" not in await bystander.send("password?")


async def raw_socket(chat: Chat, session: aiohttp.ClientSession) -> aiohttp.ClientWebSocketResponse:
    url = chat.url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    ws = await session.ws_connect(url)
    opened = await ws.receive_str(timeout=5)
    assert opened.startswith("0{") and "pingInterval" in opened
    await ws.send_str("40")
    assert (await ws.receive_str(timeout=5)).startswith("40{")
    return ws


async def test_garbage_packets_do_not_hurt_the_server(chat: Chat) -> None:
    async with aiohttp.ClientSession() as session:
        ws = await raw_socket(chat, session)
        for junk in [
            "42{not json",
            "42[]",
            "42[123]",
            '42["message"',
            "4x",
            "9",
            "",
            '42999999999999999999999["message",{}]',
            "42" + json.dumps(["message", {"id": "r1", "text": "raw hello password"}]),
        ]:
            if ws.closed:
                break
            await ws.send_str(junk)
        await ws.send_bytes(b"\x00\x01binary")
        await asyncio.sleep(0.3)
        await ws.close()
    # The server carries on for everyone else.
    v = await chat.visitor()
    await v.wait_for("history")
    ack = await v.send("password please")
    assert "error" not in ack
    await v.wait_for("message", lambda d: d["author"] == "bot")
