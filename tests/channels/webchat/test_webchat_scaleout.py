"""Several processes: emits fan out through Redis to whichever process holds the socket.

Two apps in one test stand for two server processes on one database: the visitor's
socket is on B, the delivery is sent by A's channel, and the visitor gets it.
"""

from __future__ import annotations

import uuid

from webchat_support import MakeChat

from contactcenter.domain import Address, AuthorKind, OutboundMessage
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
