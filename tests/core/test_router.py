"""The router's decisions, as a customer and an agent would see them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlmodel import select

from contactcenter.answerer import Answer, Suggestion
from contactcenter.domain import (
    Address,
    AgentReply,
    ConversationStatus,
    InboundMessage,
    utcnow,
)
from contactcenter.services import Services
from contactcenter.storage.models import Conversation, Event
from tests.stored import deliveries_of, messages_of

S = ConversationStatus


@dataclass
class ScriptedAnswerer:
    """Answers with what the test queued, in order; declines when the queue is empty."""

    queue: list[Answer] = field(default_factory=list)
    asked: list[str] = field(default_factory=list)

    async def answer(self, question: str) -> Answer:
        self.asked.append(question)
        return self.queue.pop(0) if self.queue else Answer(decision="decline", confidence=0.0)


def answer(text: str = "Returns are free within 30 days.") -> Answer:
    return Answer(
        decision="answer",
        confidence=0.95,
        text=text,
        suggestions=(
            Suggestion(article_id="returns", title="Returns", score=0.95, url="/help/returns"),
        ),
    )


def suggest() -> Answer:
    return Answer(
        decision="suggest",
        confidence=0.5,
        suggestions=(
            Suggestion(article_id="a", title="Shipping", score=0.5),
            Suggestion(article_id="b", title="Tracking", score=0.4),
        ),
    )


def msg(
    mid: str, text: str, sender: str = "alice", channel: str = "api", **kw: object
) -> InboundMessage:
    return InboundMessage(channel_message_id=mid, sender=Address(channel, sender), text=text, **kw)  # type: ignore[arg-type]


async def test_confident_answer_is_sent_and_asks_for_feedback(services: Services) -> None:
    bot = ScriptedAnswerer([answer()])
    services.set_answerer(bot)
    result = await services.router.handle(msg("1", "how do I return a jacket"))
    assert result.status == S.BOT and not result.escalated
    msgs = await messages_of(services, result.conversation_id)
    assert [m.author_kind for m in msgs] == ["customer", "bot"]
    assert "Returns are free" in msgs[1].text and "Did this answer" in msgs[1].text
    (delivery,) = await deliveries_of(services, result.conversation_id)
    assert delivery.target == "api" and delivery.recipient == "alice"
    assert delivery.payload["actions"] == ["yes", "no", "human"]


async def test_yes_resolves_no_escalates(services: Services) -> None:
    services.set_answerer(ScriptedAnswerer([answer(), answer()]))
    first = await services.router.handle(msg("1", "how do I return a jacket"))
    yes = await services.router.handle(msg("2", "Yes, thanks!"))
    assert yes.conversation_id == first.conversation_id and yes.status == S.RESOLVED
    services.set_answerer(ScriptedAnswerer([answer()]))
    other = await services.router.handle(msg("3", "returns?", sender="bob"))
    no = await services.router.handle(msg("4", "no", sender="bob"))
    assert no.conversation_id == other.conversation_id
    assert no.escalated and no.status == S.WAITING_FOR_AGENT


async def test_decline_escalates_and_tells_customer(services: Services) -> None:
    result = await services.router.handle(msg("1", "my parcel arrived wet and broken"))
    assert result.escalated and result.status == S.WAITING_FOR_AGENT
    msgs = await messages_of(services, result.conversation_id)
    assert msgs[-1].author_kind == "bot" and "member of our team" in msgs[-1].text


async def test_asking_for_a_human_escalates_even_when_bot_is_sure(services: Services) -> None:
    bot = ScriptedAnswerer([answer()])
    services.set_answerer(bot)
    result = await services.router.handle(
        msg("1", "I want to talk to a human please, how do I return a jacket")
    )
    assert result.escalated
    msgs = await messages_of(services, result.conversation_id)
    assert [m.author_kind for m in msgs] == ["customer", "bot"]
    assert "member of our team" in msgs[-1].text  # the handover, not the article
    # The agent still gets the knowledge base's suggestion with the escalation.
    async with services.db.session() as s:
        conv = await s.get(Conversation, result.conversation_id)
    assert conv is not None and [x["article_id"] for x in conv.suggestions] == ["returns"]


async def test_two_misses_in_a_row_escalate(services: Services) -> None:
    services.set_answerer(ScriptedAnswerer([suggest(), suggest()]))
    first = await services.router.handle(msg("1", "something about delivery"))
    assert not first.escalated and first.status == S.BOT
    msgs = await messages_of(services, first.conversation_id)
    assert "Shipping" in msgs[-1].text and "Tracking" in msgs[-1].text
    second = await services.router.handle(msg("2", "still about delivery"))
    assert second.escalated and second.status == S.WAITING_FOR_AGENT


async def test_bot_never_talks_once_a_human_owns_the_conversation(services: Services) -> None:
    first = await services.router.handle(msg("1", "help"))  # declines -> escalated
    assert first.escalated
    services.set_answerer(ScriptedAnswerer([answer(), answer(), answer()]))
    await services.actions.reply(
        AgentReply(conversation_id=first.conversation_id, text="Hi, I'm Sam")
    )
    later = await services.router.handle(msg("2", "how do I return a jacket"))
    assert later.status == S.ASSIGNED or later.status == S.WAITING_FOR_AGENT
    msgs = await messages_of(services, first.conversation_id)
    bots_after_agent = [
        m
        for m in msgs[msgs.index(next(m for m in msgs if m.author_kind == "agent")) :]
        if m.author_kind == "bot"
    ]
    assert bots_after_agent == []


async def test_duplicate_is_stored_once(services: Services) -> None:
    a = await services.router.handle(msg("same", "hello"))
    b = await services.router.handle(msg("same", "hello"))
    assert b.duplicate and (b.message_id, b.conversation_id) == (a.message_id, a.conversation_id)
    msgs = await messages_of(services, a.conversation_id)
    assert len([m for m in msgs if m.author_kind == "customer"]) == 1


async def test_thread_key_separates_conversations(services: Services) -> None:
    a = await services.router.handle(msg("1", "order 1", thread_key="t1"))
    b = await services.router.handle(msg("2", "order 2", thread_key="t2"))
    c = await services.router.handle(msg("3", "order 1 again", thread_key="t1"))
    assert a.conversation_id != b.conversation_id
    assert c.conversation_id == a.conversation_id


async def test_resolved_reopens_within_window_and_not_after(services: Services) -> None:
    a = await services.router.handle(msg("1", "help"))
    await services.actions.resolve(a.conversation_id)
    b = await services.router.handle(msg("2", "one more thing"))
    assert b.conversation_id == a.conversation_id
    async with services.db.session() as s:
        events = (
            await s.exec(select(Event.kind).where(Event.conversation_id == a.conversation_id))
        ).all()
    assert "status_changed" in events
    await services.actions.resolve(a.conversation_id)
    async with services.db.transaction() as s:
        conv = await s.get(Conversation, a.conversation_id)
        assert conv is not None
        conv.resolved_at = utcnow() - timedelta(hours=100)
        s.add(conv)
    c = await services.router.handle(msg("3", "new problem"))
    assert c.conversation_id != a.conversation_id


async def test_channel_named_conversation_of_another_customer_is_ignored(
    services: Services,
) -> None:
    alice = await services.router.handle(msg("1", "alice's problem", sender="alice"))
    mallory = await services.router.handle(
        msg("2", "let me in", sender="mallory", conversation_id=alice.conversation_id)
    )
    assert mallory.conversation_id != alice.conversation_id
    assert mallory.customer_id != alice.customer_id


async def test_auto_reply_is_stored_but_never_answered(services: Services) -> None:
    services.set_answerer(ScriptedAnswerer([answer()]))
    result = await services.router.handle(msg("1", "I am out of office", no_reply=True))
    msgs = await messages_of(services, result.conversation_id)
    assert [m.author_kind for m in msgs] == ["customer"]
    assert await deliveries_of(services, result.conversation_id) == []


async def test_internal_note_never_reaches_the_customer(services: Services) -> None:
    a = await services.router.handle(msg("1", "help"))
    before = len(await deliveries_of(services, a.conversation_id))
    note, dup = await services.actions.reply(
        AgentReply(conversation_id=a.conversation_id, text="customer seems upset", internal=True)
    )
    assert note.internal and not dup
    after = await deliveries_of(services, a.conversation_id)
    assert len(after) == before  # no desk configured, and nothing to the customer


async def test_agent_reply_sets_first_response_and_waits_for_customer(services: Services) -> None:
    a = await services.router.handle(msg("1", "help"))
    await services.actions.reply(AgentReply(conversation_id=a.conversation_id, text="On it"))
    async with services.db.session() as s:
        conv = await s.get(Conversation, a.conversation_id)
    assert conv is not None and conv.first_response_at is not None
    assert conv.status == S.WAITING_FOR_CUSTOMER
    deliveries = await deliveries_of(services, a.conversation_id)
    assert deliveries[-1].recipient == "alice" and deliveries[-1].kind == "message"
    back = await services.router.handle(msg("2", "thanks, but..."))
    assert back.status == S.ASSIGNED or back.status == S.WAITING_FOR_AGENT


async def test_desk_is_told_of_escalations_and_customer_messages(settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from contactcenter.services import build_services
    from contactcenter.storage.migrate import upgrade

    svc = build_services(replace(settings, desks=("slack",)))
    await upgrade(svc.db)
    try:
        a = await svc.router.handle(msg("1", "help"))
        await svc.router.handle(msg("2", "anyone?"))
        kinds = [
            d.payload["kind"]
            for d in await deliveries_of(svc, a.conversation_id)
            if d.kind == "desk"
        ]
        assert kinds == ["escalated", "customer_message"]
        escalated = next(d for d in await deliveries_of(svc, a.conversation_id) if d.kind == "desk")
        snap = escalated.payload["conversation"]
        assert snap["customer"]["identities"][0]["address"] == "alice"
        assert [m["author"] for m in snap["messages"]] == ["customer", "bot"]
    finally:
        await svc.close()


async def test_a_desk_reply_delivered_twice_is_sent_once(services: Services) -> None:
    a = await services.router.handle(msg("1", "help"))
    reply = AgentReply(
        conversation_id=a.conversation_id,
        text="Hello from Slack",
        source="slack",
        source_message_id="1700000000.000100",
    )
    first, dup1 = await services.actions.reply(reply)
    second, dup2 = await services.actions.reply(reply)
    assert (dup1, dup2) == (False, True) and first.id == second.id
    to_customer = [
        d for d in await deliveries_of(services, a.conversation_id) if d.message_id == first.id
    ]
    assert len(to_customer) == 1


async def test_inactive_agents_cannot_reply_or_be_assigned(services: Services) -> None:
    import pytest

    from contactcenter.agent_actions import ActionError
    from contactcenter.storage.models import Agent

    a = await services.router.handle(msg("1", "help"))
    async with services.db.transaction() as s:
        gone = Agent(name="Former", active=False)
        s.add(gone)
        await s.flush()
    with pytest.raises(ActionError, match="not active"):
        await services.actions.assign(a.conversation_id, gone.id)
    with pytest.raises(ActionError, match="not active"):
        await services.actions.reply(
            AgentReply(conversation_id=a.conversation_id, text="x", agent_id=gone.id)
        )


async def test_tags_are_removed_whatever_their_case(services: Services) -> None:
    a = await services.router.handle(msg("1", "help"))
    await services.actions.tag(a.conversation_id, add=["VIP", "Billing"])
    conv = await services.actions.tag(a.conversation_id, remove=["vip "])
    assert conv.tags == ["billing"]


async def test_a_no_records_the_question_that_was_answered(services: Services) -> None:
    services.set_answerer(ScriptedAnswerer([answer()]))
    first = await services.router.handle(msg("1", "can I return worn boots?"))
    await services.router.handle(msg("2", "no"))
    async with services.db.session() as s:
        event = (
            await s.exec(
                select(Event).where(
                    Event.conversation_id == first.conversation_id, Event.kind == "bot_feedback"
                )
            )
        ).one()
    assert event.data["helpful"] is False
    assert event.data["question"] == "can I return worn boots?"


def test_demo_settings_pick_the_kb_with_demo_articles() -> None:
    from contactcenter.cli import demo_settings
    from contactcenter.config import Settings

    demo = demo_settings(Settings())
    assert demo.answerer == "kb" and demo.channel("kb")["articles"] == "demo"
    assert demo.channels == ("api", "webchat")
    mine = demo_settings(Settings(channel_config={"kb": {"articles": "/srv/kb.jsonl"}}))
    assert mine.channel("kb")["articles"] == "/srv/kb.jsonl"
