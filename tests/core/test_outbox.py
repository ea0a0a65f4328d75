"""Deliveries after commit: retried with backoff, failed visibly, resumed after a restart."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any, ClassVar

from aiohttp import web
from sqlmodel import col, select

from contactcenter.api_channel import SIGNATURE_HEADER, ApiChannel, verify
from contactcenter.channel import DeliveryError
from contactcenter.domain import Address, AgentReply, InboundMessage, OutboundMessage, utcnow
from contactcenter.outbox import RetryPolicy
from contactcenter.services import Services
from contactcenter.storage.models import Delivery, Event, Message


class FlakyChannel:
    """A channel that fails the first ``failures`` sends, then accepts."""

    name: ClassVar[str] = "api"

    def __init__(self, failures: int = 0, permanent: bool = False) -> None:
        self.failures = failures
        self.permanent = permanent
        self.sent: list[OutboundMessage] = []
        self.attempts = 0

    async def start(self, deliver: Any) -> None: ...
    async def stop(self) -> None: ...

    async def send(self, message: OutboundMessage) -> str:
        self.attempts += 1
        if self.attempts <= self.failures:
            raise DeliveryError("channel down", permanent=self.permanent)
        self.sent.append(message)
        return f"native-{message.message_id}"


async def escalate_and_reply(services: Services, text: str = "We are on it") -> int:
    r = await services.router.handle(
        InboundMessage(
            channel_message_id="in-1", sender=Address("api", "carol"), text="my order is late"
        )
    )
    await services.actions.reply(AgentReply(conversation_id=r.conversation_id, text=text))
    return r.conversation_id


async def wait_for(predicate: Any, seconds: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not await predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def drain(services: Services, rounds: int = 20) -> None:
    """Dispatch until nothing is due: one round sends one delivery per conversation."""
    for _ in range(rounds):
        if await services.dispatcher.run_once() == 0:
            return


async def statuses(services: Services) -> list[str]:
    async with services.db.session() as s:
        return list((await s.exec(select(Delivery.status).order_by(col(Delivery.id)))).all())


async def test_delivered_after_transient_failures(services: Services) -> None:
    channel = FlakyChannel(failures=2)
    services.registry.add("api", channel)
    conv_id = await escalate_and_reply(services)
    await services.dispatcher.start()

    async def all_sent() -> bool:
        return await statuses(services) == ["sent", "sent"]

    await wait_for(all_sent)
    texts = [m.text for m in channel.sent]
    assert "We are on it" in texts and len(texts) == 2  # nothing doubled
    reply = next(m for m in channel.sent if m.text == "We are on it")
    assert reply.recipient == Address("api", "carol") and reply.conversation_id == conv_id
    async with services.db.session() as s:
        stored = await s.get(Message, reply.message_id)
    assert stored is not None and stored.channel_message_id == f"native-{reply.message_id}"


async def test_permanent_failure_is_marked_failed_and_visible(services: Services) -> None:
    services.registry.add("api", FlakyChannel(failures=99, permanent=True))
    conv_id = await escalate_and_reply(services)
    await drain(services)
    assert await statuses(services) == ["failed", "failed"]
    async with services.db.session() as s:
        events = (await s.exec(select(Event).where(Event.kind == "delivery_failed"))).all()
        assert {e.conversation_id for e in events} == {conv_id}
    value = services.metrics.deliveries_failed.labels(channel="api")._value.get()
    assert value == 2


async def test_gives_up_after_max_age(services: Services) -> None:
    services.registry.add("api", FlakyChannel(failures=99))
    services.dispatcher.policy = RetryPolicy(base_delay=0.01, max_delay=0.01, max_age=0.0)
    await escalate_and_reply(services)
    await drain(services)
    assert await statuses(services) == ["failed", "failed"]
    async with services.db.session() as s:
        d = (await s.exec(select(Delivery))).first()
    assert d is not None and d.last_error == "channel down" and d.attempts == 1


async def test_retry_waits_with_backoff(services: Services) -> None:
    services.registry.add("api", FlakyChannel(failures=99))
    services.dispatcher.policy = RetryPolicy(base_delay=30, max_delay=60, max_age=3600)
    await escalate_and_reply(services)
    await drain(services)
    assert await statuses(services) == ["pending", "pending"]
    async with services.db.session() as s:
        rows = (await s.exec(select(Delivery).order_by(col(Delivery.id)))).all()
    for row in rows[:1]:  # the first backs off; the second waits behind it
        wait = row.next_attempt_at.replace(tzinfo=None) - utcnow().replace(tzinfo=None)
        assert timedelta(seconds=10) < wait <= timedelta(seconds=31)
    assert await services.dispatcher.run_once() == 0  # not due yet: nothing is attempted


def test_backoff_grows_and_respects_retry_after() -> None:
    policy = RetryPolicy(base_delay=1, max_delay=100)
    assert all(0.5 <= policy.delay(1) <= 1 for _ in range(50))
    assert all(4 <= policy.delay(4) <= 8 for _ in range(50))
    assert all(50 <= policy.delay(30) <= 100 for _ in range(50))
    assert policy.delay(1, retry_after=42) == 42


async def test_a_crash_mid_send_is_resumed_after_restart(services: Services) -> None:
    channel = FlakyChannel()
    services.registry.add("api", channel)
    await escalate_and_reply(services)
    # Simulate a process that claimed the rows and died before sending.
    async with services.db.transaction() as s:
        for row in (await s.exec(select(Delivery))).all():
            row.status = "sending"
            row.lease_until = utcnow() - timedelta(seconds=1)
            s.add(row)
    await drain(services)
    assert await statuses(services) == ["sent", "sent"]
    assert len(channel.sent) == 2


async def test_webhook_receives_signed_reply(services: Services) -> None:
    received: list[tuple[bytes, str]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append((await request.read(), request.headers.get(SIGNATURE_HEADER, "")))
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    channel = ApiChannel(f"http://127.0.0.1:{port}/hook", "s3cret-value")
    await channel.start(services.router.handle)
    services.registry.add("api", channel)
    try:
        await escalate_and_reply(services, "Refund issued")
        await drain(services)
    finally:
        await channel.stop()
        await runner.cleanup()
    assert await statuses(services) == ["sent", "sent"]
    bodies = [json.loads(b) for b, _ in received]
    assert [b["text"] for b in bodies][-1] == "Refund issued"
    assert bodies[-1]["to"] == "carol" and bodies[-1]["author"] == "agent"
    for body, signature in received:
        assert verify("s3cret-value", body, signature)
        assert not verify("wrong-secret", body, signature)


class EventfulChannel(FlakyChannel):
    def __init__(self) -> None:
        super().__init__()
        self.events: list[Any] = []

    async def on_event(self, event: Any) -> str:
        self.events.append(event)
        return "ev"


async def test_status_events_reach_channels_that_show_them(services: Services) -> None:
    from contactcenter.storage.models import Agent

    channel = EventfulChannel()
    services.registry.add("api", channel)
    r = await services.router.handle(
        InboundMessage(channel_message_id="e1", sender=Address("api", "dave"), text="help me")
    )
    async with services.db.transaction() as s:
        agent = Agent(name="Sam")
        s.add(agent)
        await s.flush()
        agent_id = agent.id
    await services.actions.assign(r.conversation_id, agent_id)
    await services.actions.resolve(r.conversation_id)
    await drain(services)
    assert [(e.kind, e.recipient.value) for e in channel.events] == [
        ("agent_joined", "dave"),
        ("resolved", "dave"),
    ]
    assert channel.events[0].payload["agent_name"] == "Sam"
    assert set(await statuses(services)) == {"sent"}


async def test_channels_without_event_support_skip_events(services: Services) -> None:
    channel = FlakyChannel()
    services.registry.add("api", channel)
    r = await services.router.handle(
        InboundMessage(channel_message_id="e1", sender=Address("api", "erin"), text="help me")
    )
    await services.actions.resolve(r.conversation_id)
    await drain(services)
    assert set(await statuses(services)) == {"sent"}
    assert len(channel.sent) == 1  # only the hand-over message; the event was skipped


async def test_a_conversation_keeps_its_order_while_a_delivery_is_retried(
    services: Services,
) -> None:
    channel = FlakyChannel(failures=1)
    services.registry.add("api", channel)
    services.dispatcher.policy = RetryPolicy(base_delay=0.01, max_delay=0.02, max_age=60)
    r = await services.router.handle(
        InboundMessage(channel_message_id="o1", sender=Address("api", "fay"), text="help")
    )
    for n in range(3):
        await services.actions.reply(AgentReply(conversation_id=r.conversation_id, text=f"r{n}"))
    for _ in range(200):
        await services.dispatcher.run_once()
        if len(channel.sent) == 4:
            break
        await asyncio.sleep(0.01)
    assert [m.text for m in channel.sent][1:] == ["r0", "r1", "r2"]


async def test_stop_wins_over_a_wake_that_arrives_at_the_same_moment(services: Services) -> None:
    """A commit's wake-up racing with shutdown must not keep the dispatcher running."""
    for _ in range(5):
        await services.dispatcher.start()
        await asyncio.sleep(0.05)  # parked in its wait for a wake-up
        task = services.dispatcher._task
        assert task is not None
        services.dispatcher.wake()
        await services.dispatcher.stop()
        assert task.done() and task.cancelled()
