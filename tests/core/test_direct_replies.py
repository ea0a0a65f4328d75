"""Bot replies handed back to the channel (InboundMessage.replies_in_result).

With the flag, the bot's replies come back in ``HandleResult.replies`` and no
outbox row is written for them; everything else the message causes (desk
notifications, customer events) still goes through the outbox, and the
dispatcher is woken only after a transaction that queued a delivery.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from contactcenter.answerer import Answer, Suggestion
from contactcenter.domain import (
    Address,
    AgentReply,
    AuthorKind,
    ConversationStatus,
    InboundMessage,
    as_utc,
)
from contactcenter.router import BotTexts, Router
from contactcenter.services import Services
from tests.stored import deliveries_of, messages_of

S = ConversationStatus
HANDOVER = BotTexts().handover


@dataclass
class AlwaysAnswers:
    """Answers every question with an article (the router asks even on escalations)."""

    text: str = "Returns are free within 30 days."

    async def answer(self, question: str) -> Answer:
        if "unknown" in question:
            return Answer(decision="decline", confidence=0.1)
        return Answer(
            decision="answer",
            confidence=0.95,
            text=self.text,
            suggestions=(
                Suggestion(
                    article_id="returns",
                    title="Returns",
                    score=0.95,
                    url="https://help.example.com/returns",
                ),
            ),
        )


class Wakes:
    """A counting stand-in for ``Dispatcher.wake``."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


def msg(mid: str, text: str, sender: str = "alice", *, direct: bool = True) -> InboundMessage:
    return InboundMessage(
        channel_message_id=mid,
        sender=Address("api", sender),
        text=text,
        replies_in_result=direct,
    )


def router_for(
    services: Services, *, desks: tuple[str, ...] = (), on_commit: Callable[[], None] | None = None
) -> Router:
    """A router on the test database, with its own desks and wake callback."""
    return Router(
        services.db,
        services.metrics,
        answerer=AlwaysAnswers(),
        desks=desks,
        on_commit=on_commit,
    )


# -- 1. replies in the result instead of the outbox --------------------------------------


async def test_answer_comes_back_in_the_result_and_not_in_the_outbox(
    services: Services,
) -> None:
    services.set_answerer(AlwaysAnswers())
    result = await services.router.handle(msg("q-1", "how do I return a jacket"))
    assert result.status == S.BOT and not result.duplicate and not result.escalated

    (reply,) = result.replies
    rows = await messages_of(services, result.conversation_id)
    assert [m.author_kind for m in rows] == ["customer", "bot"]
    bot = rows[1]
    assert result.bot_message_ids == (bot.id,)
    assert reply.delivery_id == 0
    assert reply.message_id == bot.id
    assert reply.conversation_id == result.conversation_id
    assert reply.channel == "api" and reply.recipient == Address("api", "alice")
    assert reply.author_kind == AuthorKind.BOT
    assert reply.text == bot.text and "Returns are free" in reply.text
    assert list(reply.suggestions) == bot.meta["suggestions"]
    assert reply.suggestions[0]["url"] == "https://help.example.com/returns"
    assert list(reply.actions) == bot.meta["actions"] == ["yes", "no", "human"]
    assert reply.created_at is not None and reply.created_at.tzinfo is not None
    assert reply.created_at == as_utc(bot.created_at)

    assert await deliveries_of(services) == []


async def test_without_the_flag_the_answer_goes_through_the_outbox(services: Services) -> None:
    services.set_answerer(AlwaysAnswers())
    result = await services.router.handle(msg("q-1", "how do I return a jacket", direct=False))
    assert result.replies == ()
    rows = await messages_of(services, result.conversation_id)
    bot = rows[-1]
    assert bot.author_kind == "bot" and result.bot_message_ids == (bot.id,)
    (delivery,) = await deliveries_of(services, result.conversation_id)
    assert delivery.kind == "message" and delivery.target == "api"
    assert delivery.message_id == bot.id and delivery.recipient == "alice"
    assert delivery.status == "pending"
    assert delivery.payload["actions"] == ["yes", "no", "human"]


async def test_escalation_puts_the_handover_in_the_result_and_still_tells_the_desk(
    services: Services,
) -> None:
    router = router_for(services, desks=("slack",))
    result = await router.handle(msg("h-1", "talk to a human please"))
    assert result.escalated and result.status == S.WAITING_FOR_AGENT

    (reply,) = result.replies
    assert reply.text == HANDOVER and reply.delivery_id == 0
    assert reply.author_kind == AuthorKind.BOT
    rows = await messages_of(services, result.conversation_id)
    assert rows[-1].author_kind == "bot" and rows[-1].id == reply.message_id
    assert reply.created_at == as_utc(rows[-1].created_at)

    rows_out = await deliveries_of(services, result.conversation_id)
    assert [(d.kind, d.target) for d in rows_out] == [("desk", "slack")]
    assert rows_out[0].payload["kind"] == "escalated"
    assert all(d.message_id != reply.message_id for d in rows_out)


async def test_escalation_on_the_default_services_has_no_desk_and_no_delivery(
    services: Services,
) -> None:
    assert services.settings.desks == ()
    result = await services.router.handle(msg("h-1", "I want to talk to a human"))
    assert result.escalated
    assert [r.text for r in result.replies] == [HANDOVER]
    assert await deliveries_of(services) == []


async def test_a_resent_message_returns_no_replies(services: Services) -> None:
    services.set_answerer(AlwaysAnswers())
    first = await services.router.handle(msg("dup-1", "how do I return a jacket"))
    assert len(first.replies) == 1
    again = await services.router.handle(msg("dup-1", "how do I return a jacket"))
    assert again.duplicate and again.message_id == first.message_id
    assert again.replies == () and again.bot_message_ids == ()
    rows = await messages_of(services, first.conversation_id)
    assert [m.author_kind for m in rows] == ["customer", "bot"]
    assert await deliveries_of(services) == []


async def test_a_message_in_a_human_owned_conversation_gets_no_reply(
    services: Services,
) -> None:
    router = router_for(services, desks=("slack",))
    escalated = await router.handle(msg("o-1", "talk to a human"))
    assert escalated.status == S.WAITING_FOR_AGENT
    later = await router.handle(msg("o-2", "how do I return a jacket"))
    assert later.conversation_id == escalated.conversation_id
    assert later.status.human_owned and not later.escalated
    assert later.replies == () and later.bot_message_ids == ()
    rows = await messages_of(services, later.conversation_id)
    assert [m.author_kind for m in rows] == ["customer", "bot", "customer"]
    kinds = [d.payload["kind"] for d in await deliveries_of(services, later.conversation_id)]
    assert kinds == ["escalated", "customer_message"]

    # Also once an agent answered and waits for the customer: the customer's reply
    # hands the conversation back to the agent, and the bot stays silent.
    await services.actions.reply(AgentReply(conversation_id=later.conversation_id, text="Hi!"))
    again = await router.handle(msg("o-3", "how do I return a jacket?"))
    assert again.replies == () and again.bot_message_ids == ()
    assert again.status == S.ASSIGNED


async def test_feedback_yes_replies_in_the_result_and_queues_the_resolved_event(
    services: Services,
) -> None:
    services.set_answerer(AlwaysAnswers())
    first = await services.router.handle(msg("f-1", "how do I return a jacket"))
    yes = await services.router.handle(msg("f-2", "yes, thanks"))
    assert yes.conversation_id == first.conversation_id and yes.status == S.RESOLVED
    (reply,) = yes.replies
    assert reply.text == BotTexts().glad and reply.message_id in yes.bot_message_ids
    (event,) = await deliveries_of(services, yes.conversation_id)
    assert event.kind == "event" and event.payload["kind"] == "resolved"


async def test_handle_many_returns_each_messages_own_replies(services: Services) -> None:
    services.set_answerer(AlwaysAnswers())
    results = await services.router.handle_many(
        [
            msg("m-1", "returns?", sender="ann"),
            msg("m-2", "returns?", sender="bob", direct=False),
            msg("m-3", "talk to a human", sender="cid"),
        ]
    )
    ann, bob, cid = results
    assert not isinstance(ann, Exception)
    assert not isinstance(bob, Exception)
    assert not isinstance(cid, Exception)
    assert [r.recipient.value for r in ann.replies] == ["ann"]
    assert bob.replies == ()
    assert [r.text for r in cid.replies] == [HANDOVER]
    assert [r.message_id for r in ann.replies] == list(ann.bot_message_ids)
    rows = await deliveries_of(services)
    assert [(d.conversation_id, d.message_id) for d in rows] == [
        (bob.conversation_id, bob.bot_message_ids[0])
    ]


# -- 2. the dispatcher is woken only when a delivery was queued --------------------------


async def test_wake_only_after_a_transaction_that_queued_deliveries(services: Services) -> None:
    wakes = Wakes()
    router = router_for(services, on_commit=wakes)

    await router.handle(msg("w-1", "how do I return a jacket", sender="ann"))
    assert wakes.count == 0, "a direct reply alone must not wake the dispatcher"

    await router.handle(msg("w-1", "how do I return a jacket", sender="ann"))  # a resend
    assert wakes.count == 0

    await router.handle(msg("w-2", "how do I return a jacket", sender="bob", direct=False))
    assert wakes.count == 1, "a queued bot reply wakes the dispatcher"

    await router.handle(msg("w-3", "talk to a human", sender="cid"))  # no desk configured
    assert wakes.count == 1

    await router.handle(msg("w-4", "yes", sender="ann"))  # resolves: queues an event
    assert wakes.count == 2
    assert len(await deliveries_of(services)) == 2


async def test_wake_after_an_escalation_that_queued_a_desk_notification(
    services: Services,
) -> None:
    wakes = Wakes()
    router = router_for(services, desks=("slack",), on_commit=wakes)
    result = await router.handle(msg("d-1", "talk to a human"))
    assert result.escalated and len(result.replies) == 1
    assert wakes.count == 1
    await router.handle(msg("d-2", "hello?"))  # human-owned: the desk is told
    assert wakes.count == 2


async def test_wake_for_a_shared_transaction_only_when_one_of_them_queued(
    services: Services,
) -> None:
    wakes = Wakes()
    router = router_for(services, on_commit=wakes)
    await router.handle_many([msg(f"b-{i}", "returns?", sender=f"v{i}") for i in range(3)])
    assert wakes.count == 0
    await router.handle_many(
        [
            msg("c-1", "returns?", sender="x"),
            msg("c-2", "returns?", sender="y", direct=False),
        ]
    )
    assert wakes.count >= 1
    assert len(await deliveries_of(services)) == 1


async def test_the_services_router_wakes_the_dispatcher(services: Services) -> None:
    """The assembled services wire ``Dispatcher.wake`` as the router's ``on_commit``."""
    wakes = Wakes()
    dispatcher = services.dispatcher
    assert services.router.on_commit == dispatcher.wake
    services.router.on_commit = wakes
    services.set_answerer(AlwaysAnswers())
    await services.router.handle(msg("s-1", "returns?"))
    assert wakes.count == 0
    await services.router.handle(msg("s-2", "returns?", sender="bob", direct=False))
    assert wakes.count == 1


async def test_a_reply_on_another_channels_conversation_still_goes_through_the_outbox(
    services: Services,
) -> None:
    """A message that joins the customer's conversation on another channel: the bot's
    reply belongs to that channel, so it is queued for it, not handed back."""
    services.set_answerer(AlwaysAnswers())

    def from_alice(cmid: str, sender: Address, **kw: Any) -> InboundMessage:
        """Alice, signed in with her verified email, on one channel or the other."""
        return InboundMessage(
            channel_message_id=cmid,
            sender=sender,
            text="how do I return a jacket",
            email="alice@example.com",
            verified=True,
            **kw,
        )

    first = await services.router.handle(from_alice("x-1", Address("api", "alice-api")))
    assert not first.replies
    second = await services.router.handle(
        from_alice(
            "x-2",
            Address("webchat", "user:alice"),
            conversation_id=first.conversation_id,
            replies_in_result=True,
        )
    )
    assert second.customer_id == first.customer_id
    assert second.conversation_id == first.conversation_id
    assert second.status == S.BOT and len(second.bot_message_ids) == 1
    assert second.replies == ()
    queued = {
        d.message_id: d.target
        for d in await deliveries_of(services, first.conversation_id)
        if d.kind == "message"
    }
    assert queued[second.bot_message_ids[0]] == "api"
