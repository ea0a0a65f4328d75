"""The slash command (``/cc``), the KB "send to customer" button, message shortcuts,
and Socket Mode reconnection."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import select

from contactcenter.answerer import Answer, AnswerLike, Suggestion
from contactcenter.storage.models import Agent, Conversation
from tests.fakeslack import payloads as p
from tests.fakeslack.harness import ANA, BEN, QUEUE, Desk
from tests.polling import eventually


class KnowledgeBase:
    """A stand-in answerer: the desk only uses ``answer(query).suggestions``."""

    def __init__(self) -> None:
        self.questions: list[str] = []

    async def answer(self, question: str) -> AnswerLike:
        self.questions.append(question)
        if "refund" not in question:
            return Answer(decision="decline", confidence=0.0)
        return Answer(
            decision="suggest",
            confidence=0.6,
            suggestions=(
                Suggestion(
                    article_id="kb-1",
                    title="Refunds & returns",
                    score=0.8,
                    url="https://help.example/refunds",
                    snippet="Refunds take 5 days.",
                ),
                Suggestion(
                    article_id="kb-2",
                    title="Refund <status>",
                    score=0.5,
                    url=None,
                    snippet="Where is my refund? Check your account page.",
                ),
            ),
        )


async def _status(desk: Desk, cid: int) -> tuple[str, int | None]:
    async with desk.services.db.session() as s:
        conv = await s.get(Conversation, cid)
        assert conv is not None
        return conv.status, conv.assignee_id


def _blocks_text(blocks: Any) -> str:
    return str(blocks)


async def test_search_then_send_an_article_to_the_customer(desk: Desk) -> None:
    kb = KnowledgeBase()
    desk.services.set_answerer(kb)  # after the escalation, which must not be answered
    cid, thread_ts = await desk.escalate()
    answer = await desk.command(p.slash_command(ANA, QUEUE, f"search #{cid} refund timing"))
    assert kb.questions[-1] == "refund timing"
    assert answer["response_type"] == "ephemeral"
    buttons = [b["accessory"] for b in answer["blocks"] if "accessory" in b]
    assert len(buttons) == 2 and buttons[0]["action_id"] == "cc_send_article"
    assert "Refund &lt;status&gt;" in _blocks_text(answer["blocks"])  # escaped for Slack

    await desk.interactive(
        p.block_actions(
            ANA,
            QUEUE,
            "1700000000.000100",
            "cc_send_article",
            value=buttons[0]["value"],
            ephemeral=True,
        )
    )

    async def sent() -> list[dict[str, Any]]:
        return [d for d in await desk.outbox("api") if d["author"] == "agent"]

    delivered = await eventually(sent, what="article delivered")
    assert delivered[0]["text"] == "Refunds & returns\nhttps://help.example/refunds"
    await eventually(lambda: any("Sent" in e.text for e in desk.fake.ephemerals), what="told")

    plain = await desk.command(p.slash_command(ANA, QUEUE, "search refund"))
    assert all("accessory" not in b for b in plain["blocks"])  # no conversation, no send
    none = await desk.command(p.slash_command(ANA, QUEUE, "search printer ink"))
    assert "No articles" in none["text"]
    assert thread_ts


async def test_a_command_mentioning_payload_is_understood(desk: Desk) -> None:
    # Bolt's own form parser empties a slash command whose body contains "payload".
    kb = KnowledgeBase()
    desk.services.set_answerer(kb)
    answer = await desk.command(p.slash_command(ANA, QUEUE, "search refund payload"))
    assert kb.questions == ["refund payload"]
    assert "Refunds &amp; returns" in _blocks_text(answer["blocks"])


async def test_queue_mine_resolve_assign(desk: Desk) -> None:
    cid, thread_ts = await desk.escalate()
    queue = await desk.command(p.slash_command(ANA, QUEUE, "queue"))
    assert f"#{cid}" in _blocks_text(queue["blocks"])
    assert f"p{thread_ts.replace('.', '')}" in _blocks_text(queue["blocks"])  # thread link

    mine = await desk.command(p.slash_command(ANA, QUEUE, "mine"))
    assert "none" in mine["text"]

    answer = await desk.command(p.slash_command(ANA, QUEUE, f"assign <@{BEN}|ben> #{cid}"))
    assert "Assigned" in answer["text"]
    status, assignee = await _status(desk, cid)
    async with desk.services.db.session() as s:
        ben = (await s.exec(select(Agent).where(Agent.email == "ben@northwind.example"))).one()
    assert (status, assignee) == ("assigned", ben.id)
    mine = await desk.command(p.slash_command(BEN, QUEUE, "mine"))
    assert f"#{cid}" in _blocks_text(mine["blocks"])

    answer = await desk.command(p.slash_command(BEN, QUEUE, f"resolve {cid}"))
    assert "Resolved" in answer["text"]
    assert (await _status(desk, cid))[0] == "resolved"
    again = await desk.command(p.slash_command(BEN, QUEUE, f"resolve #{cid}"))
    assert "already resolved" in again["text"]
    missing = await desk.command(p.slash_command(BEN, QUEUE, "resolve #999999"))
    assert "does not exist" in missing["text"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "Usage"),
        ("help", "Usage"),
        ("dance", "Unknown command"),
        ("resolve", "Which conversation"),
        ("assign #3", "Whom to"),
        ("search", "What should"),
    ],
)
async def test_bad_commands_explain_themselves(desk: Desk, text: str, expected: str) -> None:
    answer = await desk.command(p.slash_command(ANA, QUEUE, text))
    assert expected in answer["text"]


async def test_message_shortcut_resolves_the_thread(desk: Desk) -> None:
    cid, thread_ts = await desk.escalate()
    message = {
        "type": "message",
        "user": ANA,
        "text": "ok",
        "ts": "1700000000.000200",
        "thread_ts": thread_ts,
    }
    await desk.interactive(p.message_shortcut(ANA, QUEUE, "cc_resolve_here", message))
    await eventually(lambda: _is_resolved(desk, cid), what="resolved by shortcut")


async def _is_resolved(desk: Desk, cid: int) -> bool:
    return (await _status(desk, cid))[0] == "resolved"


@pytest.mark.parametrize("mode", ["socket"])
async def test_socket_mode_reconnects_after_disconnect(desk: Desk) -> None:
    fake = desk.fake
    assert fake.connections_opened == 1
    hello_calls = fake.calls_of("apps.connections.open")
    assert hello_calls[0].token == fake.app_token  # the app-level token, not the bot's
    await fake.disconnect()
    await eventually(
        lambda: fake.connections_opened == 2 and fake.connected.is_set(), what="reconnected"
    )
    cid, thread_ts = await desk.escalate()
    await desk.agent_says(ANA, thread_ts, "after the reconnect")
    await eventually(lambda: desk.outbox("api"), what="delivery")
    assert cid


@pytest.mark.parametrize("mode", ["socket"])
async def test_socket_mode_garbage_is_survived(desk: Desk) -> None:
    fake = desk.fake
    await fake.send_raw("this is not json")
    await fake.send_raw('{"type": "events_api", "envelope_id": "e1"}')  # no payload
    for body in p.BOLT_CRASHERS:  # payloads Bolt itself cannot read: acked, not resent forever
        kind = "events_api" if body["type"] == "event_callback" else "interactive"
        ack = await fake.socket_request(kind, body)
        assert ack["envelope_id"]
    ack = await fake.socket_request("something_new", {"x": 1})
    assert ack["envelope_id"]  # acked so Slack does not resend what we cannot read
    cid, thread_ts = await desk.escalate()
    await desk.agent_says(ANA, thread_ts, "still alive")
    await eventually(lambda: desk.outbox("api"), what="delivery")
    assert cid
