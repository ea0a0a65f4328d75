"""What the desk does with one request Bolt routed to it: dedupe, ack budget, failure.

Bolt routes a request to a listener and sends whatever the listener acks; it
neither deduplicates Events API deliveries nor knows that the desk wants its
work stored before Slack hears "ok". This module adds both, independent of the
transport (HTTP or Socket Mode):

- dedupe: an event id is recorded (``slack_events``) before the work; a
  redelivery of a recorded id is dropped whatever its retry number. Retries of
  ids never recorded (the first delivery was lost, e.g. during a restart) are
  processed: dropping every ``retry_num > 0`` would lose them.
- ack: Slack wants an answer within 3 s. The work runs as a task; the ack waits
  for it up to ``ack_budget_seconds``, so in the usual case the reply is stored
  (committed) before Slack hears "ok", as the design asks. A slower task is
  acked anyway and finishes after; a command's late answer is posted as an
  ephemeral message instead of the ack body.
- failure: an event whose work failed is forgotten and *not* acknowledged
  (``Outcome.ok`` is False: HTTP 500 / no Socket Mode ack), so Slack's retry
  gets a second chance.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any

from channels.slack.config import SlackConfig
from channels.slack.handlers import Handlers
from channels.slack.parse import (
    COMMAND,
    Envelope,
    Ignored,
    Input,
    Self,
    UrlVerification,
    classify,
)
from channels.slack.store import SlackStore

log = logging.getLogger(__name__)

SOMETHING_WENT_WRONG = {
    "response_type": "ephemeral",
    "text": ":x: Something went wrong; it was logged.",
}


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool  # False: do not acknowledge, let Slack deliver again
    payload: dict[str, Any] | None = None  # the ack body (command answers, modal errors)


class Intake:
    def __init__(self, config: SlackConfig, store: SlackStore, handlers: Handlers) -> None:
        self.config = config
        self.store = store
        self.handlers = handlers
        self._tasks: set[asyncio.Task[Any]] = set()

    async def receive(self, envelope: Envelope, me: Self) -> Outcome:
        item = classify(envelope, me)
        if isinstance(item, UrlVerification):
            return Outcome(True, {"challenge": item.challenge})
        if isinstance(item, Ignored):
            log.debug("slack request ignored: %s", item.reason)
            return Outcome(True)
        event_id = envelope.event_id
        if event_id is not None and not await self.store.first_time(event_id):
            log.info(
                "slack event redelivered, ignored",
                extra={
                    "event_id": event_id,
                    "retry_num": envelope.retry_num,
                    "retry_reason": envelope.retry_reason,
                },
            )
            return Outcome(True)
        task = self._spawn(self.handlers.handle(item), f"slack-{envelope.kind}")
        done, _ = await asyncio.wait({task}, timeout=self.config.ack_budget_seconds)
        if task not in done:
            task.add_done_callback(lambda t: self._finished_late(t, item, event_id))
            return Outcome(True)
        exc = task.exception()
        if exc is not None:
            log.error("slack %s handling failed", envelope.kind, exc_info=exc)
            if event_id is not None:
                await self.store.forget(event_id)
                return Outcome(False)
            if envelope.kind == COMMAND:
                return Outcome(True, dict(SOMETHING_WENT_WRONG))
            return Outcome(True)
        return Outcome(True, task.result())

    def _spawn(self, work: Any, name: str) -> asyncio.Task[Any]:
        """A task kept until done, so shutdown can wait for it (:meth:`drain`)."""
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _finished_late(self, task: asyncio.Task[Any], item: Input, event_id: str | None) -> None:
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            # Already acknowledged: Slack will not retry. Loud, so it can be replayed by hand.
            log.error(
                "slack work failed after the ack",
                exc_info=exc,
                extra={"event_id": event_id, "input": repr(item)[:500]},
            )
            return
        result = task.result()
        if result:
            self._spawn(self.handlers.respond_late(item, result), "slack-late-answer")

    async def drain(self, grace: float = 5.0) -> None:
        """Let running work finish at shutdown, then cancel what is left."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=grace)
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
