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
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BindParameter, bindparam, or_, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from contactcenter.agents import CommandError
from contactcenter.channel import ChannelRegistry, DeliveryError
from contactcenter.domain import (
    Address,
    AuthorKind,
    CustomerEvent,
    DeskNotification,
    OutboundMessage,
    as_utc,
    utcnow,
)
from contactcenter.group_commit import GroupCommit
from contactcenter.metrics import Metrics
from contactcenter.storage.database import Database
from contactcenter.storage.models import Agent, Conversation, Delivery, Event, Message
from contactcenter.storage.rows import table_of

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


@dataclass(frozen=True, slots=True)
class Claimed:
    """A claimed delivery row (with its message, conversation and agent columns)."""

    row: Any
    thread_message_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Sent:
    delivery_id: int
    native: str | None
    kind: str
    message_id: int | None
    target: str


_deliveries = table_of(Delivery)
_messages = table_of(Message)
_conversations = table_of(Conversation)
_agents = table_of(Agent)
_earlier = _deliveries.alias("earlier")
_NOW: BindParameter[datetime] = bindparam("now")
_CLAIMABLE = (
    select(_deliveries.c.id)
    .where(
        or_(
            (_deliveries.c.status == "pending")
            & (_deliveries.c.next_attempt_at <= bindparam("now")),
            (_deliveries.c.status == "sending") & (_deliveries.c.lease_until < bindparam("now")),
        ),
        ~select(_earlier.c.id)
        .where(
            _earlier.c.conversation_id == _deliveries.c.conversation_id,
            _earlier.c.target == _deliveries.c.target,
            _earlier.c.id < _deliveries.c.id,
            _earlier.c.status.in_(("pending", "sending")),
        )
        .exists(),
    )
    .order_by(_deliveries.c.id)
)
_CLAIMED_ROWS = (
    select(
        _deliveries,
        _messages.c.id.label("msg_id"),
        _messages.c.text,
        _messages.c.author_kind,
        _messages.c.created_at.label("msg_created_at"),
        _conversations.c.id.label("conv_id"),
        _conversations.c.channel.label("conv_channel"),
        _conversations.c.subject,
        _conversations.c.thread_key,
        _agents.c.name.label("agent_name"),
    )
    .select_from(
        _deliveries.outerjoin(_messages, _messages.c.id == _deliveries.c.message_id)
        .outerjoin(_conversations, _conversations.c.id == _deliveries.c.conversation_id)
        .outerjoin(_agents, _agents.c.id == _messages.c.agent_id)
    )
    .where(_deliveries.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(_deliveries.c.id)
)
_THREAD_HISTORY = (
    select(_messages.c.conversation_id, _messages.c.channel, _messages.c.channel_message_id)
    .where(
        _messages.c.conversation_id.in_(bindparam("conv_ids", expanding=True)),
        _messages.c.channel_message_id.is_not(None),
    )
    .order_by(_messages.c.id)
)
_MARK_SENT = (
    update(_deliveries)
    .where(_deliveries.c.id == bindparam("b_id"))
    .values(
        status="sent",
        sent_at=bindparam("b_at"),
        native_id=bindparam("b_native"),
        lease_until=None,
        last_error=None,
        attempts=_deliveries.c.attempts + 1,
    )
)
_SET_NATIVE_ID = (
    update(_messages)
    .where(_messages.c.id == bindparam("b_id"), _messages.c.channel_message_id.is_(None))
    .values(channel_message_id=bindparam("b_native"))
)


def _wants_thread_history(registry: ChannelRegistry, target: str) -> bool:
    """Channels that thread by earlier message ids (email) say so; others skip the query."""
    channel = registry.get(target)
    return bool(getattr(channel, "thread_history", True))


def _outbound(claimed: Claimed) -> OutboundMessage:
    row = claimed.row
    if row.msg_id is None or row.conv_id is None:
        raise DeliveryError("the message or conversation of this delivery is gone", permanent=True)
    payload = row.payload
    return OutboundMessage(
        delivery_id=int(row.id),
        message_id=row.msg_id,
        conversation_id=row.conv_id,
        channel=row.target,
        recipient=Address(row.target, row.recipient or ""),
        text=row.text,
        author_kind=AuthorKind(row.author_kind),
        author_name=row.agent_name,
        subject=row.subject,
        thread_key=row.thread_key,
        thread_message_ids=claimed.thread_message_ids,
        suggestions=tuple(payload.get("suggestions", ())),
        actions=tuple(payload.get("actions", ())),
        metadata=dict(payload.get("metadata", {})),
        created_at=as_utc(row.msg_created_at),
    )


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
        self._marks: GroupCommit[_Sent, None] = GroupCommit(self._mark_sent_many, self._mark_sent)

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
        await self._marks.flush()  # sent marks under way are written before the database closes

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
            # Not asyncio.wait_for: on Python 3.11 it swallows a cancellation (stop())
            # that arrives just as the event is set, and the loop would run on past stop.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_interval):
                    await self._wakeup.wait()

    async def run_once(self) -> int:
        """Claim due deliveries and send them; returns how many were attempted."""
        claimed = await self._claim()
        if claimed:
            await asyncio.gather(*(self._deliver(row) for row in claimed))
        return len(claimed)

    async def _claim(self) -> list[Claimed]:
        """Claim due deliveries, only the oldest unfinished one per conversation and target.

        That keeps each conversation's messages in order: a reply that is being
        retried holds back the ones written after it instead of being overtaken.
        Everything a send needs (message, conversation, agent, thread history) is
        read in the same transaction, a few statements for the whole batch.
        """
        now = utcnow()
        async with self.db.transaction() as s:
            conn = await s.connection()
            query = _CLAIMABLE.limit(self.batch_size)
            if not self.db.is_sqlite:
                query = query.with_for_update(skip_locked=True, of=_deliveries)
            ids = list((await conn.execute(query, {"now": now})).scalars())
            if not ids:
                return []
            await conn.execute(
                update(_deliveries)
                .where(_deliveries.c.id.in_(ids))
                .values(status="sending", lease_until=now + LEASE)
            )
            rows = (await conn.execute(_CLAIMED_ROWS, {"ids": ids})).all()
            wants_history = {
                row.conversation_id
                for row in rows
                if row.kind == "message" and _wants_thread_history(self.registry, row.target)
            }
            history: dict[int, list[tuple[str, str]]] = {}
            if wants_history:
                for conv_id, channel, native in await conn.execute(
                    _THREAD_HISTORY, {"conv_ids": sorted(wants_history)}
                ):
                    history.setdefault(conv_id, []).append((channel, native))
        claimed = []
        for row in rows:
            thread = tuple(
                native
                for channel, native in history.get(row.conversation_id, ())
                if channel == row.conv_channel and native
            )
            claimed.append(Claimed(row, thread))
        return claimed

    async def _deliver(self, claimed: Claimed) -> None:
        row = claimed.row
        delivery_id = int(row.id)
        async with self._semaphore:
            target = self.registry.get(row.target)
            try:
                if target is None:
                    raise DeliveryError(f"no channel named {row.target!r} is running")
                if row.kind == "event":
                    native = await self._event(target, row)
                elif row.kind == "desk":
                    native = await target.notify(
                        DeskNotification(
                            delivery_id=delivery_id,
                            kind=str(row.payload.get("kind", "")),
                            conversation_id=row.conversation_id,
                            payload=row.payload,
                        )
                    )
                else:
                    native = await target.send(_outbound(claimed))
            except asyncio.CancelledError:
                raise
            except DeliveryError as exc:
                await self._failed(delivery_id, str(exc), exc.permanent, exc.retry_after)
                return
            except Exception as exc:
                log.warning("delivery %s raised", delivery_id, exc_info=True)
                await self._failed(delivery_id, f"{type(exc).__name__}: {exc}", False, None)
                return
        await self._marks.submit(_Sent(delivery_id, native, row.kind, row.message_id, row.target))

    @staticmethod
    async def _event(target: Any, row: Any) -> str | None:
        handler = getattr(target, "on_event", None)
        if handler is None:
            return None  # this channel shows no status events; nothing to do
        result: str | None = await handler(
            CustomerEvent(
                delivery_id=int(row.id),
                kind=str(row.payload.get("kind", "")),
                conversation_id=row.conversation_id,
                recipient=Address(row.target, row.recipient or ""),
                payload=row.payload,
            )
        )
        return result

    async def _mark_sent_many(self, sent: Sequence[_Sent]) -> list[None]:
        """Mark deliveries sent; sends that finish together share one transaction."""
        now = utcnow()
        async with self.db.transaction() as s:
            conn = await s.connection()
            await conn.execute(
                _MARK_SENT,
                [{"b_id": x.delivery_id, "b_at": now, "b_native": x.native} for x in sent],
            )
            natives = [
                {"b_id": x.message_id, "b_native": x.native}
                for x in sent
                if x.kind == "message" and x.message_id is not None and x.native
            ]
            if natives:
                # The channel's own id for our message, so replies to it thread (email).
                await conn.execute(_SET_NATIVE_ID, natives)
        for x in sent:
            if x.kind == "message":
                self.metrics.child(self.metrics.messages_out, x.target).inc()
        self.wake()  # the next delivery of these conversations may now go
        return [None] * len(sent)

    async def _mark_sent(self, sent: _Sent) -> None:
        await self._mark_sent_many([sent])

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
                self.metrics.child(self.metrics.deliveries_failed, delivery.target).inc()
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
