"""A visitor on the website chat (a real Socket.IO client) is served by an agent in
Slack: escalation -> card -> Claim -> thread reply -> the visitor's socket -> Resolve.

The real app runs the ``webchat`` channel and the Slack desk, against the fake
Slack, in Socket Mode and HTTP mode, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Any

from tests.channels.webchat.webchat_support import BASE_CONFIG, Visitor, texts
from tests.fakeslack import payloads as p
from tests.fakeslack.harness import ANA, QUEUE, Desk, MakeDesk
from tests.fakeslack.server import Posted
from tests.polling import eventually


def _card_text(card: Posted | None) -> str:
    assert card is not None
    return str(card.blocks)


async def test_a_web_chat_visitor_is_served_from_slack(make_desk: MakeDesk) -> None:
    desk: Desk = await make_desk(
        channels=("api", "webchat"), channel_config={"webchat": dict(BASE_CONFIG)}
    )
    fake = desk.fake
    visitor = Visitor(str(desk.client.make_url("/")).rstrip("/"))
    try:
        await visitor.connect()
        await visitor.wait_for("history")

        # The visitor asks for a person: the conversation lands in Slack as a card.
        ack = await visitor.send("Hello, I want to talk to a human please")
        cid = int(ack["conversation_id"])
        await visitor.wait_for("message", lambda d: d["author"] == "bot")
        thread = await eventually(lambda: desk.desk.store.thread_of(cid), what="the card")
        thread_ts = thread.thread_ts
        card = fake.message(QUEUE, thread_ts)
        assert f"#{cid}" in _card_text(card) and "webchat" in _card_text(card)
        assert "I want to talk to a human please" in _card_text(card)

        # Ana claims it: the visitor is told a person joined.
        await desk.interactive(
            p.block_actions(
                ANA, QUEUE, thread_ts, "cc_claim", value=str(cid), block_id=f"cc_actions:{cid}"
            )
        )
        joined = await visitor.wait_for("agent_joined")
        assert joined == {"conversation_id": cid, "agent_name": "Ana Lima"}

        # Her reply in the thread, with Slack markup and a mention, reaches the socket
        # as plain text.
        await desk.agent_says(
            ANA,
            thread_ts,
            "Hi! <@U0BEN0001> and I checked: *good news*, see "
            "<https://help.example/refund|our refund page> &amp; write back",
        )
        reply = await visitor.wait_for("message", lambda d: d["author"] == "agent")
        assert reply["text"] == (
            "Hi! @Ben and I checked: good news, see our refund page "
            "(https://help.example/refund) & write back"
        )
        assert reply["author_name"] == "Ana Lima" and reply["conversation_id"] == cid

        # The visitor answers: it shows up in the card's thread.
        await visitor.send("Great, thanks! When will the money arrive?")
        await eventually(
            lambda: any(
                "When will the money arrive" in str(m.blocks)
                for m in fake.in_thread(QUEUE, thread_ts)
            ),
            what="the visitor's message in the thread",
        )

        # An internal note stays in Slack and the history.
        note = await desk.agent_says(ANA, thread_ts, "!note VIP customer, refund approved")
        await eventually(
            lambda: (QUEUE, note["event"]["ts"], "lock") in fake.reactions, what="note kept"
        )

        # Resolve: the visitor is told. Deliveries of a conversation go out in order, so
        # anything the note had caused would have reached the socket before this.
        await desk.interactive(
            p.block_actions(
                ANA, QUEUE, thread_ts, "cc_resolve", value=str(cid), block_id=f"cc_actions:{cid}"
            )
        )
        assert await visitor.wait_for("resolved") == {"conversation_id": cid}
        seen: list[Any] = texts(visitor.messages())
        assert not any("VIP" in t for t in seen)
        assert not any("<@" in t or "&amp;" in t for t in seen)
        notes = [m.text for m in await desk.messages(cid) if m.internal]
        assert notes == ["VIP customer, refund approved"]
    finally:
        await visitor.disconnect()
