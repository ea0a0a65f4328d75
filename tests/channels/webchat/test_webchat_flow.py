"""End to end over real sockets: a visitor talks to the bot, then to an agent."""

from __future__ import annotations

from typing import Any

from sqlmodel import select
from webchat_support import ARTICLE_URL, RESET_ANSWER, Chat, texts

from contactcenter.storage.models import Conversation, Event, Identity
from tests.stored import messages_of


async def test_new_visitor_gets_a_session_and_the_bot_answers(chat: Chat) -> None:
    v = await chat.visitor()
    session = await v.wait_for("session")
    assert session["visitor_token"].startswith("v1.v_")
    assert session["conversation_id"] is None
    history = await v.wait_for("history")
    assert history == {"messages": [], "more": False}

    ack = await v.send("How do I reset my password?", "first-1")
    assert set(ack) >= {"id", "conversation_id"} and ack["duplicate"] is False
    # Now that the conversation exists the session says so.
    again = await v.wait_for("session", lambda d: d["conversation_id"] is not None)
    assert again["conversation_id"] == ack["conversation_id"]

    bot = await v.wait_for("message", lambda d: d["author"] == "bot")
    assert bot["conversation_id"] == ack["conversation_id"]
    assert RESET_ANSWER in bot["text"]
    assert bot["suggestions"][0]["url"] == ARTICLE_URL
    assert [a["label"] for a in bot["actions"]] == ["Yes", "No", "Talk to a human"]
    assert bot["created_at"].endswith("+00:00")

    rows = await messages_of(chat.services, ack["conversation_id"])
    visitor_id = session["visitor_token"].split(".")[1]
    customer = rows[0]
    assert customer.id == ack["id"] and customer.author_kind == "customer"
    assert customer.channel == "webchat"
    assert customer.channel_message_id == f"{visitor_id}:first-1"
    assert [m.author_kind for m in rows] == ["customer", "bot"]
    async with chat.services.db.session() as s:
        identity = (await s.exec(select(Identity).where(Identity.channel == "webchat"))).one()
    assert identity.address == visitor_id and identity.verified is False


async def test_escalation_agent_reply_resolution_and_rating(chat: Chat) -> None:
    v = await chat.visitor()
    await v.wait_for("history")
    ack = await v.send("This is an unknown problem with my invoice")
    cid = ack["conversation_id"]
    handover = await v.wait_for("message", lambda d: d["author"] == "bot")
    assert "member of our team" in handover["text"]

    status, agent = await chat.api.call("POST", "/api/v1/agents", json={"name": "Ann Agent"})
    assert status == 201, agent
    status, body = await chat.api.call(
        "POST", f"/api/v1/conversations/{cid}/assign", json={"agent_id": agent["id"]}
    )
    assert status == 200, body
    joined = await v.wait_for("agent_joined")
    assert joined == {"conversation_id": cid, "agent_name": "Ann Agent"}

    status, body = await chat.api.call(
        "POST",
        f"/api/v1/conversations/{cid}/messages",
        json={"text": "Hi, I'm Ann. Let me look at the invoice.", "agent_id": agent["id"]},
    )
    assert status == 201, body
    reply = await v.wait_for("message", lambda d: d["author"] == "agent")
    assert reply["text"] == "Hi, I'm Ann. Let me look at the invoice."
    assert reply["author_name"] == "Ann Agent" and reply["conversation_id"] == cid

    # An internal note never reaches the visitor.
    status, _ = await chat.api.call(
        "POST",
        f"/api/v1/conversations/{cid}/messages",
        json={"text": "customer seems upset", "internal": True},
    )
    assert status == 201

    status, _ = await chat.api.call("POST", f"/api/v1/conversations/{cid}/resolve")
    assert status == 200
    assert await v.wait_for("resolved") == {"conversation_id": cid}
    prompt = await v.wait_for("csat")
    assert prompt["conversation_id"] == cid and prompt["scale"] == [1, 2, 3, 4, 5]

    rating: dict[str, Any] = {"conversation_id": cid, "score": 5, "comment": "Quick, thanks"}
    assert await v.call("csat", rating) == {"ok": True, "stored": True, "conversation_id": cid}
    # A resent rating is not stored twice.
    assert (await v.call("csat", rating))["stored"] is False
    async with chat.services.db.session() as s:
        events = (
            await s.exec(select(Event).where(Event.conversation_id == cid, Event.kind == "csat"))
        ).all()
    assert len(events) == 1 and events[0].data["score"] == 5
    assert events[0].data["comment"] == "Quick, thanks"

    await chat.settle()
    assert "customer seems upset" not in texts(v.messages())


async def test_reconnect_resumes_the_conversation_with_history(chat: Chat) -> None:
    v = await chat.visitor()
    await v.wait_for("history")
    ack = await v.send("password reset please")
    cid = ack["conversation_id"]
    bot = await v.wait_for("message", lambda d: d["author"] == "bot")
    token = v.token
    await v.disconnect()

    # While the visitor is away: an agent answers (send succeeds), and a note is added.
    await chat.services.actions.assign(cid, None)
    status, body = await chat.api.call(
        "POST", f"/api/v1/conversations/{cid}/messages", json={"text": "Still there?"}
    )
    assert status == 201, body
    await chat.api.call(
        "POST",
        f"/api/v1/conversations/{cid}/messages",
        json={"text": "internal only", "internal": True},
    )
    await chat.settle()
    async with chat.services.db.session() as s:
        from contactcenter.storage.models import Delivery

        deliveries = (await s.exec(select(Delivery).where(Delivery.conversation_id == cid))).all()
    assert {d.status for d in deliveries if d.kind == "message"} == {"sent"}

    back = await chat.visitor({"visitor_token": token, "last_id": bot["id"]})
    session = await back.wait_for("session")
    assert session["conversation_id"] == cid
    history = await back.wait_for("history")
    assert texts(history["messages"]) == ["Still there?"]
    assert history["messages"][0]["author"] == "agent"

    # Without last_id, the whole conversation comes back, own messages with their ids.
    fresh = await chat.visitor({"visitor_token": token})
    full = (await fresh.wait_for("history"))["messages"]
    assert [m["author"] for m in full] == ["customer", "bot", "agent"]
    assert full[0]["client_id"] == ack["client_id"]
    assert "internal only" not in texts(full)

    # Writing again continues the same conversation.
    ack2 = await back.send("thanks, yes")
    assert ack2["conversation_id"] == cid


async def test_a_resent_message_is_stored_once(chat: Chat) -> None:
    v = await chat.visitor()
    await v.wait_for("history")
    first = await v.send("reset my password", "same-id")
    again = await v.send("reset my password", "same-id")
    assert again["id"] == first["id"] and again["duplicate"] is True
    # Also after a reconnect (the widget's queue resends what was not acknowledged).
    token = v.token
    await v.disconnect()
    back = await chat.visitor({"visitor_token": token})
    third = await back.send("reset my password", "same-id")
    assert third["id"] == first["id"] and third["duplicate"] is True

    await chat.settle()
    rows = await messages_of(chat.services, first["conversation_id"])
    assert [m.author_kind for m in rows] == ["customer", "bot"]


async def test_messages_of_one_client_and_of_several_tabs_keep_their_order(
    chat: Chat,
) -> None:
    tab1 = await chat.visitor()
    await tab1.wait_for("history")
    tab2 = await chat.visitor({"visitor_token": tab1.token})
    await tab2.wait_for("history")
    import asyncio

    # Ten messages fired without waiting for acks, from two tabs at once.
    acks = await asyncio.gather(
        *(tab1.send(f"one {i} password") for i in range(5)),
        *(tab2.send(f"two {i} password") for i in range(5)),
    )
    assert len({a["conversation_id"] for a in acks}) == 1, "two tabs opened two conversations"
    cid = acks[0]["conversation_id"]
    rows = [m for m in await messages_of(chat.services, cid) if m.author_kind == "customer"]
    one = [m.text for m in rows if m.text.startswith("one")]
    two = [m.text for m in rows if m.text.startswith("two")]
    assert one == [f"one {i} password" for i in range(5)]
    assert two == [f"two {i} password" for i in range(5)]
    # Each tab sees what the other one sent.
    seen = await tab2.wait_for(
        "message", lambda d: d["author"] == "customer" and d["text"] == "one 4 password"
    )
    assert seen["conversation_id"] == cid
    async with chat.services.db.session() as s:
        convs = (await s.exec(select(Conversation))).all()
    assert len(convs) == 1
