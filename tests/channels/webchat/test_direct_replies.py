"""The bot's replies are emitted by the web chat handler itself, not by the outbox.

Over real sockets: the answer reaches every tab of the visitor and "history"
without a delivery row; when the emit fails, the reply is handed to the outbox
and the dispatcher delivers it, so nothing is lost.
"""

from __future__ import annotations

from typing import Any

import pytest
from webchat_support import ARTICLE_URL, RESET_ANSWER, Chat, texts

from contactcenter.router import BotTexts
from tests.stored import deliveries_of, messages_of


def is_bot(d: Any) -> bool:
    return isinstance(d, dict) and d.get("author") == "bot"


async def test_answer_reaches_every_tab_and_history_without_a_delivery(chat: Chat) -> None:
    tab1 = await chat.visitor()
    await tab1.wait_for("history")
    tab2 = await chat.visitor({"visitor_token": tab1.token})
    await tab2.wait_for("history")

    ack = await tab1.send("How do I reset my password?", "direct-1")
    assert ack["duplicate"] is False and ack["client_id"] == "direct-1"
    cid = ack["conversation_id"]

    bot = await tab1.wait_for("message", is_bot, within=20)
    assert bot["conversation_id"] == cid and bot["id"] > ack["id"]
    assert RESET_ANSWER in bot["text"]
    assert bot["suggestions"] == [
        {"article_id": "kb-7", "title": "Reset your password", "url": ARTICLE_URL}
    ]
    assert [a["id"] for a in bot["actions"]] == ["yes", "no", "human"]
    assert [a["label"] for a in bot["actions"]] == ["Yes", "No", "Talk to a human"]
    assert bot["created_at"].endswith("+00:00")

    # The other tab gets the same answer (and the customer's own message).
    assert await tab2.wait_for("message", is_bot, within=20) == bot
    mine = await tab2.wait_for("message", lambda d: d["author"] == "customer", within=20)
    assert mine["id"] == ack["id"] and mine["client_id"] == "direct-1"

    rows = await messages_of(chat.services, cid)
    assert [m.author_kind for m in rows] == ["customer", "bot"]
    assert rows[1].id == bot["id"] and rows[1].text == bot["text"]
    # Emitted by the handler: the outbox never saw it.
    assert await deliveries_of(chat.services, cid) == []

    # A tab that reconnects with the last id it saw before the answer gets it in history,
    # in exactly the shape the live event had (stored time included).
    back = await chat.visitor({"visitor_token": tab1.token, "last_id": ack["id"]})
    history = await back.wait_for("history", within=20)
    assert history["messages"] == [bot] and history["more"] is False

    # Exactly once per tab.
    await chat.settle()
    assert len([m for m in tab1.of("message") if is_bot(m)]) == 1
    assert len([m for m in tab2.of("message") if is_bot(m)]) == 1


async def test_handover_is_emitted_directly_too(chat: Chat) -> None:
    v = await chat.visitor()
    await v.wait_for("history")
    ack = await v.send("talk to a human please")
    handover = await v.wait_for("message", is_bot, within=20)
    assert handover["text"] == BotTexts().handover
    assert handover["conversation_id"] == ack["conversation_id"]
    await chat.settle()
    assert [
        d for d in await deliveries_of(chat.services, ack["conversation_id"]) if d.kind == "message"
    ] == []
    # The conversation is human-owned now: the next message gets no bot reply.
    await v.send("How do I reset my password?")
    await chat.settle()
    assert texts([m for m in v.of("message") if is_bot(m)]) == [BotTexts().handover]


async def test_a_resent_message_emits_no_second_answer(chat: Chat) -> None:
    v = await chat.visitor()
    await v.wait_for("history")
    first = await v.send("reset my password", "same-id")
    await v.wait_for("message", is_bot, within=20)
    again = await v.send("reset my password", "same-id")
    assert again["duplicate"] is True and again["id"] == first["id"]
    await chat.settle()
    assert len([m for m in v.of("message") if is_bot(m)]) == 1


async def test_a_failed_emit_is_handed_to_the_outbox_and_delivered(
    chat: Chat, monkeypatch: pytest.MonkeyPatch
) -> None:
    sio = chat.channel.sio
    original = sio.emit
    failed: list[dict[str, Any]] = []
    passed: list[dict[str, Any]] = []

    async def flaky_emit(event: str, data: Any = None, *args: Any, **kwargs: Any) -> Any:
        if event == "message" and is_bot(data):
            if not failed:
                failed.append(data)
                raise ConnectionError("publish failed")
            passed.append(data)
        return await original(event, data, *args, **kwargs)

    monkeypatch.setattr(sio, "emit", flaky_emit)

    v = await chat.visitor()
    await v.wait_for("history")
    ack = await v.send("How do I reset my password?", "lost-1")
    # The customer's message is stored and acknowledged all the same.
    assert ack["duplicate"] is False and ack["client_id"] == "lost-1"
    cid = ack["conversation_id"]
    assert len(failed) == 1

    # The dispatcher sends the handed-over reply to the socket.
    bot = await v.wait_for("message", is_bot, within=30)
    assert bot["id"] == failed[0]["id"] and RESET_ANSWER in bot["text"]
    assert bot["suggestions"] == failed[0]["suggestions"]
    assert bot["actions"] == failed[0]["actions"]
    assert bot["created_at"] == failed[0]["created_at"]
    assert passed == [bot]

    await chat.settle(within=30)
    (delivery,) = await deliveries_of(chat.services, cid)
    assert delivery.kind == "message" and delivery.target == "webchat"
    assert delivery.message_id == bot["id"] and delivery.status == "sent"
    assert delivery.payload["actions"] == ["yes", "no", "human"]
    assert delivery.payload["suggestions"][0]["url"] == ARTICLE_URL
    assert v.token is not None and delivery.recipient == v.token.split(".")[1]

    # Nothing lost, nothing doubled.
    assert len([m for m in v.of("message") if is_bot(m)]) == 1
    rows = await messages_of(chat.services, cid)
    assert [m.author_kind for m in rows] == ["customer", "bot"]
    back = await chat.visitor({"visitor_token": v.token, "last_id": ack["id"]})
    assert (await back.wait_for("history", within=20))["messages"] == [bot]

    # The next answer goes straight to the socket again, with no new delivery.
    ack2 = await v.send("and my username?", "lost-2")
    second = await v.wait_for("message", is_bot, within=20, count=2)
    assert second["id"] > ack2["id"]
    await chat.settle()
    assert len(await deliveries_of(chat.services, cid)) == 1


async def test_a_reply_the_socket_layer_fails_to_send_is_not_lost(
    chat: Chat, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure below Socket.IO (the Engine.IO send) reaches the handler, which hands
    the reply to the outbox. python-socketio's own emit runs each send in a task and
    never looks at its outcome, so the visitor saw nothing until the next reconnect."""
    eio = chat.channel.sio.eio
    original = eio.send_packet
    failures: list[str] = []

    async def flaky_send(sid: str, pkt: Any) -> None:
        if not failures and '"author":"bot"' in str(pkt.data):
            failures.append(str(pkt.data))
            raise ConnectionResetError("socket buffer gone")
        await original(sid, pkt)

    monkeypatch.setattr(eio, "send_packet", flaky_send)
    v = await chat.visitor()
    await v.wait_for("history")
    ack = await v.send("How do I reset my password?", "below-1")
    bot = await v.wait_for("message", is_bot, within=30)
    assert len(failures) == 1 and RESET_ANSWER in bot["text"]
    assert bot["id"] > ack["id"]
    await chat.settle(within=30)
    (delivery,) = await deliveries_of(chat.services, ack["conversation_id"])
    assert delivery.message_id == bot["id"] and delivery.status == "sent"
    assert len([m for m in v.of("message") if is_bot(m)]) == 1
