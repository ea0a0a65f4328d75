"""Several processes: emits fan out through Redis to whichever process holds the socket.

Two apps in one test stand for two server processes on one database: the visitor's
socket is on B, the delivery is sent by A's channel, and the visitor gets it. And the
other way round: what only concerns sockets of this process does not go through Redis.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from redis import asyncio as redis_asyncio
from webchat_support import Chat, MakeChat

from channels.webchat.presence import Presence
from contactcenter.domain import Address, AuthorKind, OutboundMessage
from tests.polling import eventually
from tests.services import REDIS_URL, require_redis


async def test_send_in_one_process_reaches_a_socket_in_another(make_chat: MakeChat) -> None:
    require_redis()
    # The channel name keeps concurrent test runs apart.
    url = REDIS_URL
    a = await make_chat(redis_url=url)
    b = await make_chat(redis_url=url)
    v = await b.visitor()
    await v.wait_for("history")
    ack = await v.send("password please", f"r{uuid.uuid4().hex[:8]}")
    session = await v.wait_for("session", lambda d: d["conversation_id"])
    address = (session["visitor_token"] or "").split(".")[1]
    # b knows the visitor's sockets are all its own (its emits stay local); a, with
    # none of them, still publishes.
    await _settled(b, f"visitor:{address}", only_here=True)

    await a.channel.send(
        OutboundMessage(
            delivery_id=1,
            message_id=ack["id"],
            conversation_id=ack["conversation_id"],
            channel="webchat",
            recipient=Address("webchat", address),
            text="from the other process",
            author_kind=AuthorKind.AGENT,
            author_name="Bo",
        )
    )
    got = await v.wait_for("message", lambda d: d["text"] == "from the other process")
    assert got["author"] == "agent" and got["author_name"] == "Bo"


async def test_the_widget_and_demo_page_are_public(make_chat: MakeChat) -> None:
    chat = await make_chat()
    status, body = await chat.api.call("GET", "/widget.js", auth=False)
    assert status == 200 and "Socket.IO" in body
    async with chat.client.get("/widget.js") as resp:
        assert resp.headers["Content-Type"].startswith("application/javascript")
    async with chat.client.get("/chat") as resp:
        assert resp.status == 200
        assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
        assert '<script src="/widget.js"' in await resp.text()


def _published(chat: Chat) -> list[dict[str, Any]]:
    """Record what the chat's Socket.IO manager publishes to Redis from now on."""
    manager = chat.channel.sio.manager
    sent: list[dict[str, Any]] = []
    publish = manager._publish

    async def recording(data: dict[str, Any]) -> Any:
        sent.append(data)
        return await publish(data)

    manager._publish = recording
    return sent


def _emits_to(sent: list[dict[str, Any]], room: str) -> list[dict[str, Any]]:
    return [m for m in sent if m.get("method") == "emit" and m.get("room") == room]


async def _settled(chat: Chat, room: str, *, only_here: bool) -> None:
    """Wait until the chat's presence record says what the test expects (notices are
    asynchronous)."""
    manager = chat.channel.sio.manager
    await eventually(lambda: manager.only_here(room) is only_here, what=f"only_here={only_here}")


async def test_a_visitor_whose_tabs_are_all_here_is_answered_without_redis(
    make_chat: MakeChat,
) -> None:
    require_redis()
    a = await make_chat(redis_url=REDIS_URL)
    await make_chat(redis_url=REDIS_URL)  # another process, with none of this visitor's tabs
    v = await a.visitor()
    await v.wait_for("history")
    room = f"visitor:{(v.token or '').split('.')[1]}"
    await _settled(a, room, only_here=True)
    sent = _published(a)
    await v.send("password please")
    bot = await v.wait_for("message", lambda d: d["author"] == "bot")
    assert bot["text"].startswith("Open Settings")
    assert _emits_to(sent, room) == []  # nothing of this conversation went through Redis


async def test_tabs_on_two_processes_both_get_the_answer_and_the_customer_copy(
    make_chat: MakeChat,
) -> None:
    require_redis()
    a = await make_chat(redis_url=REDIS_URL)
    b = await make_chat(redis_url=REDIS_URL)
    first = await a.visitor()
    await first.wait_for("history")
    second = await b.visitor({"visitor_token": first.token})
    await second.wait_for("history")
    room = f"visitor:{(first.token or '').split('.')[1]}"
    await _settled(a, room, only_here=False)  # a has heard that b holds a tab too
    sent = _published(a)

    await first.send("password please", "two-tabs-1")
    got = await second.wait_for("message", lambda d: d["author"] == "bot")
    assert got["text"].startswith("Open Settings")
    mine = await second.wait_for("message", lambda d: d["author"] == "customer")
    assert mine["text"] == "password please" and mine["client_id"] == "two-tabs-1"
    # The copy and the answer went through Redis (and the new conversation's "session").
    assert [m["event"] for m in _emits_to(sent, room)].count("message") == 2

    # The other tab closes: a hears it and goes back to emitting locally.
    await second.disconnect()
    await _settled(a, room, only_here=True)
    sent.clear()
    await first.send("password again")
    await first.wait_for("message", lambda d: d["author"] == "bot", count=2)
    assert _emits_to(sent, room) == []


async def test_a_reload_that_reconnects_while_the_old_socket_leaves_stays_recorded() -> None:
    """The old socket's "leave" and the new one's "join" race; the record must end up
    saying this process has the room, in Redis too (other processes read it there)."""
    require_redis()
    presence = Presence(REDIS_URL, channel=f"test-{uuid.uuid4().hex[:8]}")
    room = "visitor:reloading"
    sockets = {"old"}
    await presence.sync(room, lambda: bool(sockets))
    sockets.add("new")  # the reload's socket connects...
    sockets.discard("old")  # ...while the old one's disconnect is still being handled
    await asyncio.gather(
        presence.sync(room, lambda: bool(sockets)), presence.sync(room, lambda: bool(sockets))
    )
    redis = redis_asyncio.Redis.from_url(REDIS_URL)
    try:
        assert await redis.sismember(presence._key_prefix + room, presence.host_id)
        assert room in presence._others
        sockets.clear()
        await presence.sync(room, lambda: bool(sockets))
        assert not await redis.sismember(presence._key_prefix + room, presence.host_id)
    finally:
        await presence.close()
        await redis.aclose()


async def test_a_refresh_repairs_a_process_missing_from_its_rooms_set() -> None:
    """A join whose write to Redis was lost (Redis restarted, say) is put right by the
    next refresh, so other processes do not go on believing they are alone."""
    require_redis()
    channel = f"test-{uuid.uuid4().hex[:8]}"
    here, other = Presence(REDIS_URL, channel=channel), Presence(REDIS_URL, channel=channel)
    room = "visitor:refreshed"
    redis = redis_asyncio.Redis.from_url(REDIS_URL)
    try:
        await here.sync(room, lambda: True)
        await other.sync(room, lambda: True)
        key = here._key_prefix + room
        await redis.srem(key, here.host_id)  # the lost write
        await here._refresh()
        assert await redis.sismember(key, here.host_id)
        await other._refresh()
        assert other._others[room] == {here.host_id} and here._others[room] == {other.host_id}
    finally:
        await here.close()
        await other.close()
        await redis.aclose()
