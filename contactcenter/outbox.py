"""The outbox: deliveries written in the router's transaction, sent after commit.

A channel that is down delays messages and loses none: the dispatcher retries
with exponential backoff and jitter, and after ``max_age`` marks the delivery
failed where people can see it (API, log, metric). A crash mid-send leaves the
row "sending" with a lease; when the lease runs out the row is claimed again, so
pending work resumes after a restart. Workers in several processes claim rows
with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import or_
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from contactcenter.agents import CommandError
from contactcenter.channel import ChannelRegistry, DeliveryError
from contactcenter.domain import (
    Address,
    AuthorKind,
    CustomerEvent,
    DeskNotification,
    OutboundMessage,
    utcnow,
)
from contactcenter.metrics import Metrics
from contactcenter.storage.database import Database
from contactcenter.storage.models import Agent, Conversation, Delivery, Event, Message

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    base_delay: float = 1.0
    max_delay: float = 300.0
    max_age: float = 3600.0

    def delay(self, attempts: int, *, retry_after: float | None = None) -> float:
        """Exponential backoff with full jitter, never shorter than a Retry-After."""
        ceiling = min(self.max_delay, self.base_delay * (2 ** max(attempts - 1, 0)))
        delay = random.uniform(ceiling / 2, ceiling)
        if retry_after is not None:
            delay = max(delay, retry_after)
        return delay


class Dispatcher:
    def __init__(
        self,
        db: Database,
        registry: ChannelRegistry,
        metrics: Metrics,
        *,
        policy: RetryPolicy | None = None,
        poll_interval: float = 1.0,
        batch_size: int = 50,
        concurrency: int = 20,
    ) -> None:
        self.db = db
        self.registry = registry
        self.metrics = metrics
        self.policy = policy or RetryPolicy()
        self.poll_interval = poll_interval
        self.batch_size = batch_size
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._semaphore = asyncio.Semaphore(concurrency)

    def wake(self) -> None:
        """Called after a commit that wrote deliveries: send now, not at the next poll."""
        self._wakeup.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-dispatcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            # Bounded: a send stuck in a channel must not hold the process's shutdown.
            done, _ = await asyncio.wait({self._task}, timeout=10)
            if not done:
                log.error("outbox dispatcher did not stop within 10 s")
            self._task = None

    async def _run(self) -> None:
        while True:
            # Cleared before the round: a wake() that arrives during it starts the next.
            self._wakeup.clear()
            try:
                sent = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox dispatch round failed")
                sent = 0
            if sent >= self.batch_size:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self.poll_interval)

    async def run_once(self) -> int:
        """Claim due deliveries and send them; returns how many were attempted."""
        ids = await self._claim()
        if ids:
            await asyncio.gather(*(self._deliver(i) for i in ids))
        return len(ids)

    async def _claim(self) -> list[int]:
        """Claim due deliveries, only the oldest unfinished one per conversation and target.

        That keeps each conversation's messages in order: a reply that is being
        retried holds back the ones written after it instead of being overtaken.
        """
        now = utcnow()
        earlier = aliased(Delivery)
        blocked = (
            select(earlier.id)
            .where(
                col(earlier.conversation_id) == col(Delivery.conversation_id),
                col(earlier.target) == col(Delivery.target),
                col(earlier.id) < col(Delivery.id),
                col(earlier.status).in_(("pending", "sending")),
            )
            .exists()
        )
        async with self.db.transaction() as s:
            query = (
                select(Delivery)
                .where(
                    or_(
                        (col(Delivery.status) == "pending")
                        & (col(Delivery.next_attempt_at) <= now),
                        (col(Delivery.status) == "sending") & (col(Delivery.lease_until) < now),
                    ),
                    ~blocked,
                )
                .order_by(col(Delivery.id))
                .limit(self.batch_size)
            )
            if not self.db.is_sqlite:
                query = query.with_for_update(skip_locked=True, of=Delivery)
            rows = (await s.exec(query)).all()
            for row in rows:
                row.status = "sending"
                row.lease_until = now + LEASE
                s.add(row)
            return [row.id for row in rows if row.id is not None]

    async def _deliver(self, delivery_id: int) -> None:
        async with self._semaphore:
            async with self.db.session() as s:
                delivery = await s.get(Delivery, delivery_id)
                if delivery is None:
                    return
                target = self.registry.get(delivery.target)
                try:
                    if target is None:
                        raise DeliveryError(f"no channel named {delivery.target!r} is running")
                    if delivery.kind == "event":
                        native = await self._event(target, delivery)
                    elif delivery.kind == "desk":
                        native = await target.notify(
                            DeskNotification(
                                delivery_id=delivery_id,
                                kind=str(delivery.payload.get("kind", "")),
                                conversation_id=delivery.conversation_id,
                                payload=delivery.payload,
                            )
                        )
                    else:
                        outbound = await self._outbound(s, delivery)
                        native = await target.send(outbound)
                except asyncio.CancelledError:
                    raise
                except DeliveryError as exc:
                    await self._failed(delivery_id, str(exc), exc.permanent, exc.retry_after)
                    return
                except Exception as exc:
                    log.warning("delivery %s raised", delivery_id, exc_info=True)
                    await self._failed(delivery_id, f"{type(exc).__name__}: {exc}", False, None)
                    return
            await self._sent(delivery_id, native)

    @staticmethod
    async def _event(target: Any, delivery: Delivery) -> str | None:
        handler = getattr(target, "on_event", None)
        if handler is None:
            return None  # this channel shows no status events; nothing to do
        result: str | None = await handler(
            CustomerEvent(
                delivery_id=delivery.id or 0,
                kind=str(delivery.payload.get("kind", "")),
                conversation_id=delivery.conversation_id,
                recipient=Address(delivery.target, delivery.recipient or ""),
                payload=delivery.payload,
            )
        )
        return result

    async def _outbound(self, s: Any, delivery: Delivery) -> OutboundMessage:
        message = await s.get(Message, delivery.message_id)
        conv = await s.get(Conversation, delivery.conversation_id)
        if message is None or conv is None:
            raise DeliveryError(
                "the message or conversation of this delivery is gone", permanent=True
            )
        thread_ids = (
            await s.exec(
                select(Message.channel_message_id)
                .where(
                    Message.conversation_id == conv.id,
                    Message.channel == conv.channel,
                    col(Message.channel_message_id).is_not(None),
                )
                .order_by(col(Message.id))
            )
        ).all()
        author_name = None
        if message.agent_id is not None:
            agent = await s.get(Agent, message.agent_id)
            author_name = agent.name if agent else None
        payload = delivery.payload
        return OutboundMessage(
            delivery_id=delivery.id or 0,
            message_id=message.id,
            conversation_id=conv.id,
            channel=delivery.target,
            recipient=Address(delivery.target, delivery.recipient or ""),
            text=message.text,
            author_kind=AuthorKind(message.author_kind),
            author_name=author_name,
            subject=conv.subject,
            thread_key=conv.thread_key,
            thread_message_ids=tuple(t for t in thread_ids if t),
            suggestions=tuple(payload.get("suggestions", ())),
            actions=tuple(payload.get("actions", ())),
            metadata=dict(payload.get("metadata", {})),
            created_at=message.created_at,
        )

    async def _sent(self, delivery_id: int, native: str | None) -> None:
        async with self.db.transaction() as s:
            delivery = await s.get(Delivery, delivery_id)
            if delivery is None:
                return
            delivery.status = "sent"
            delivery.sent_at = utcnow()
            delivery.native_id = native
            delivery.lease_until = None
            delivery.last_error = None
            delivery.attempts += 1
            s.add(delivery)
            if delivery.message_id is not None and native and delivery.kind == "message":
                message = await s.get(Message, delivery.message_id)
                if message is not None and message.channel_message_id is None:
                    message.channel_message_id = native
                    s.add(message)
            target, kind = delivery.target, delivery.kind
        if kind == "message":
            self.metrics.messages_out.labels(channel=target).inc()
        self.wake()  # the next delivery of this conversation may now go

    async def _failed(
        self, delivery_id: int, error: str, permanent: bool, retry_after: float | None
    ) -> None:
        now = utcnow()
        async with self.db.transaction() as s:
            delivery = await s.get(Delivery, delivery_id)
            if delivery is None:
                return
            delivery.attempts += 1
            delivery.last_error = error[:2000]
            delivery.lease_until = None
            age = (now - delivery.created_at).total_seconds()
            if permanent or age >= self.policy.max_age:
                delivery.status = "failed"
                s.add(
                    Event(
                        conversation_id=delivery.conversation_id,
                        kind="delivery_failed",
                        data={
                            "delivery_id": delivery_id,
                            "target": delivery.target,
                            "error": delivery.last_error,
                        },
                    )
                )
                log.error(
                    "delivery failed for good",
                    extra={
                        "delivery_id": delivery_id,
                        "target": delivery.target,
                        "attempts": delivery.attempts,
                        "error": delivery.last_error,
                    },
                )
                self.metrics.deliveries_failed.labels(channel=delivery.target).inc()
            else:
                delivery.status = "pending"
                delay = self.policy.delay(delivery.attempts, retry_after=retry_after)
                delivery.next_attempt_at = now + timedelta(seconds=delay)
                log.warning(
                    "delivery will be retried",
                    extra={
                        "delivery_id": delivery_id,
                        "target": delivery.target,
                        "attempts": delivery.attempts,
                        "retry_in_s": round(delay, 2),
                        "error": delivery.last_error,
                    },
                )
            s.add(delivery)


async def retry_delivery(s: AsyncSession, delivery_id: int) -> Delivery:
    """Put a failed delivery back in the queue, due now."""
    delivery = await s.get(Delivery, delivery_id)
    if delivery is None:
        raise CommandError(f"delivery {delivery_id} does not exist", 404)
    if delivery.status != "failed":
        raise CommandError(f"only a failed delivery can be retried (this one is {delivery.status})")
    delivery.status = "pending"
    delivery.next_attempt_at = utcnow()
    delivery.lease_until = None
    s.add(delivery)
    s.add(
        Event(
            conversation_id=delivery.conversation_id,
            kind="delivery_retried",
            data={
                "delivery_id": delivery_id,
                "target": delivery.target,
                "attempts": delivery.attempts,
            },
        )
    )
    await s.flush()
    return delivery
