"""Socket Mode: Bolt's aiohttp ``AsyncSocketModeHandler`` on the desk's Bolt app.

slack_sdk's aiohttp client underneath opens the connection with
``apps.connections.open`` through the desk's Web API client (so
``CONTACTCENTER_SLACK_API_URL`` reaches it too), reconnects on Slack's
``disconnect`` and on a dropped socket, and runs each envelope in its own task.
Bolt acks an envelope only when the app answered 200: work that failed is not
acked, and Slack delivers it again with ``retry_attempt`` + 1.

One addition: an envelope whose payload Bolt cannot read (see
``parse.malformed``) would make Bolt raise before any listener runs, leaving it
unacked, and Slack would resend it in vain; it is acked and logged instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from channels.slack.parse import malformed

log = logging.getLogger(__name__)


class DeskSocketModeHandler(AsyncSocketModeHandler):
    """Bolt's handler, with unreadable envelopes acknowledged instead of crashing Bolt."""

    async def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        problem = malformed(req.payload) if isinstance(req.payload, dict) else "not an object"
        if problem is not None:
            log.warning("socket mode envelope malformed, acknowledged: %s", problem)
            await client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))
            return
        await super().handle(client, req)


class SocketTransport:
    """Connects in the background (never blocks startup while Slack is unreachable)."""

    def __init__(self, app: AsyncApp, app_token: str) -> None:
        self.handler = DeskSocketModeHandler(
            app, app_token, logger=logging.getLogger("channels.slack.socket_mode")
        )
        self._connect: asyncio.Task[Any] | None = None

    async def start(self) -> None:
        # connect() retries until it gets through: run it as a task.
        self._connect = asyncio.create_task(
            self.handler.connect_async(),  # type: ignore[no-untyped-call]
            name="slack-socket-connect",
        )

    async def stop(self) -> None:
        if self._connect is not None:
            self._connect.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._connect
            self._connect = None
        with contextlib.suppress(Exception):
            await self.handler.close_async()  # type: ignore[no-untyped-call]
