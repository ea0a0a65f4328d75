"""Getting requests from Slack: the HTTP Events API route and Socket Mode.

Both feed :class:`Intake`, which dedupes, acknowledges and runs the work:

- dedupe: an event id is recorded (``slack_events``) before the work; a
  redelivery of a recorded id is dropped whatever its retry number. Retries of
  ids never recorded (the first delivery was lost, e.g. during a restart) are
  processed: dropping every ``retry_attempt > 0`` would lose them.
- ack: Slack wants an answer within 3 s. The work runs as a task; the ack waits
  for it up to ``ack_budget_seconds``, so in the usual case the reply is stored
  (committed) before Slack hears "ok", as the design asks. A slower task is
  acked anyway and finishes after; a command's late answer is posted as an
  ephemeral message instead of the ack body.
- failure: an event whose work failed is forgotten and *not* acknowledged
  (HTTP 500 / no Socket Mode ack), so Slack's retry gets a second chance.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from channels.slack.config import SlackConfig
from channels.slack.handlers import Handlers
from channels.slack.parse import (
    COMMAND,
    EVENTS,
    Envelope,
    Ignored,
    Input,
    PayloadError,
    Self,
    UrlVerification,
    classify,
    decode_http,
    decode_socket,
)
from channels.slack.signature import Verdict, verify
from channels.slack.store import SlackStore

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool  # False: do not acknowledge, let Slack deliver again
    payload: dict[str, Any] | None = None


class Intake:
    def __init__(
        self,
        config: SlackConfig,
        store: SlackStore,
        handlers: Handlers,
        me: Callable[[], Self],
    ) -> None:
        self.config = config
        self.store = store
        self.handlers = handlers
        self.me = me
        self._tasks: set[asyncio.Task[Any]] = set()

    async def receive(self, envelope: Envelope) -> Outcome:
        item = classify(envelope, self.me())
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
        task = asyncio.create_task(self.handlers.handle(item), name=f"slack-{envelope.kind}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
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
                return Outcome(
                    True,
                    {
                        "response_type": "ephemeral",
                        "text": ":x: Something went wrong; it was logged.",
                    },
                )
            return Outcome(True)
        return Outcome(True, task.result())

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
            late = asyncio.create_task(self.handlers.respond_late(item, result))
            self._tasks.add(late)
            late.add_done_callback(self._tasks.discard)

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


# --- HTTP (Events API, interactivity and slash command request URLs) -------------


def http_handler(
    config: SlackConfig, intake_of: Callable[[], Intake | None]
) -> Callable[[web.Request], Any]:
    """``POST /slack/events``: verify the signature, decode, hand to the intake."""
    secret = config.signing_secret or ""

    async def handle(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        verdict = verify(
            secret,
            request.headers.get("X-Slack-Request-Timestamp"),
            request.headers.get("X-Slack-Signature"),
            body,
            max_age=config.max_request_age_seconds,
        )
        if verdict is not Verdict.OK:
            log.warning(
                "slack request refused: %s", verdict.value, extra={"remote": request.remote}
            )
            return web.json_response({"ok": False, "error": verdict.value}, status=401)
        try:
            decoded = decode_http(body, request.headers.get("Content-Type", ""))
        except PayloadError as exc:
            return web.json_response(
                {"ok": False, "error": "invalid_payload", "detail": str(exc)}, status=400
            )
        envelope = Envelope(
            decoded.kind,
            decoded.body,
            retry_num=_int(request.headers.get("X-Slack-Retry-Num")),
            retry_reason=request.headers.get("X-Slack-Retry-Reason"),
        )
        intake = intake_of()
        if intake is None:
            return web.json_response({"ok": False, "error": "not_started"}, status=503)
        outcome = await intake.receive(envelope)
        if not outcome.ok:
            return web.json_response({"ok": False, "error": "processing_failed"}, status=500)
        if outcome.payload is None:
            return web.Response(status=200)
        return web.json_response(outcome.payload)

    return handle


def _int(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0


# --- Socket Mode -----------------------------------------------------------------


class SocketTransport:
    """slack_sdk's aiohttp Socket Mode client: reconnects on ``disconnect`` and on a
    dropped socket; every envelope goes to the intake and is acked per its outcome."""

    def __init__(self, config: SlackConfig, intake: Intake) -> None:
        self.config = config
        self.intake = intake
        self.client: SocketModeClient | None = None
        self._connect: asyncio.Task[Any] | None = None

    async def start(self) -> None:
        client = SocketModeClient(
            app_token=self.config.app_token or "",
            web_client=AsyncWebClient(base_url=self.config.api_url),
            logger=logging.getLogger("channels.slack.socket_mode"),
        )
        client.socket_mode_request_listeners.append(self._on_request)
        self.client = client
        # connect() retries forever while Slack is unreachable: never block startup on it.
        self._connect = asyncio.create_task(
            client.connect(),  # type: ignore[no-untyped-call]
            name="slack-socket-connect",
        )

    async def stop(self) -> None:
        if self._connect is not None:
            self._connect.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._connect
        if self.client is not None:
            with contextlib.suppress(Exception):
                await self.client.close()  # type: ignore[no-untyped-call]
            self.client = None

    async def _on_request(self, client: AsyncBaseSocketModeClient, req: SocketModeRequest) -> None:
        try:
            envelope = decode_socket(
                {
                    "type": req.type,
                    "payload": req.payload,
                    "retry_attempt": req.retry_attempt,
                    "retry_reason": req.retry_reason,
                }
            )
        except PayloadError as exc:
            log.warning("socket mode envelope refused: %s", exc)
            await client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))
            return
        outcome = await self.intake.receive(envelope)
        if not outcome.ok:
            return  # no ack: Slack redelivers with retry_attempt + 1
        payload = (
            outcome.payload if (req.accepts_response_payload or envelope.kind != EVENTS) else None
        )
        await client.send_socket_mode_response(
            SocketModeResponse(envelope_id=req.envelope_id, payload=payload)
        )
