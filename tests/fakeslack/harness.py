"""Helpers for the Slack desk tests: the running app plus the fake Slack, and how
Slack talks to the app in each mode (Socket Mode envelopes or signed HTTP POSTs)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from aiohttp.test_utils import TestClient

from channels.slack.desk import SlackDesk
from contactcenter.config import Settings
from contactcenter.services import SERVICES, Services
from tests.conftest import API_TOKEN
from tests.fakeslack import payloads as p
from tests.fakeslack.server import FakeSlack
from tests.polling import eventually

QUEUE = "C0QUEUE01"
OTHER = "C0RANDOM1"
ANA = "U0ANA0001"
BEN = "U0BEN0001"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


class Desk:
    """The running app with the Slack desk, and how Slack talks to it in this mode."""

    def __init__(self, client: TestClient[Any, Any], fake: FakeSlack, mode: str) -> None:
        self.client = client
        self.fake = fake
        self.mode = mode

    @property
    def services(self) -> Services:
        services: Services = self.client.app[SERVICES]
        return services

    @property
    def desk(self) -> SlackDesk:
        desk = self.services.registry.get("slack")
        assert isinstance(desk, SlackDesk)
        return desk

    @property
    def events_url(self) -> str:
        return str(self.client.make_url("/slack/events"))

    async def api(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {API_TOKEN}"}
        async with self.client.request(method, path, headers=headers, **kwargs) as resp:
            body = await resp.json() if "json" in resp.headers.get("Content-Type", "") else None
            return resp.status, body

    async def customer_says(
        self,
        text: str,
        *,
        sender: str = "visitor-1",
        msg_id: str | None = None,
        name: str | None = "Carla Diaz",
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": msg_id or f"m-{time.monotonic_ns()}",
            "from": sender,
            "text": text,
        }
        if name:
            body["name"] = name
        status, data = await self.api("POST", "/api/v1/messages", json=body)
        assert status in (200, 201), data
        return dict(data)

    async def escalate(self, text: str = "I want to talk to a human please") -> tuple[int, str]:
        """A customer asks for a person; returns (conversation id, the card's thread ts)."""
        data = await self.customer_says(text)
        cid = int(data["conversation_id"])
        thread = await eventually(lambda: self.desk.store.thread_of(cid), what="the card")
        return cid, thread.thread_ts

    # Slack -> app, in the configured mode.

    async def event(self, body: dict[str, Any], *, retry: int = 0) -> Any:
        if self.mode == "socket":
            return await self.fake.socket_request(
                "events_api", body, retry_attempt=retry, retry_reason="timeout" if retry else ""
            )
        status, answer = await self.fake.post_to_app(
            self.events_url,
            json.dumps(body).encode(),
            content_type="application/json",
            signing_secret=SIGNING_SECRET,
            retry_num=retry or None,
        )
        assert status == 200, answer
        return answer

    async def event_not_acked(self, body: dict[str, Any]) -> None:
        """Deliver an event the app must *not* acknowledge (so that Slack retries it)."""
        if self.mode == "socket":
            unacked = await self.fake.send_envelope("events_api", body)
            try:
                await asyncio.wait_for(asyncio.shield(unacked), 1.0)
            except TimeoutError:
                return
            raise AssertionError(f"acknowledged: {unacked.result()}")
        status, answer = await self.fake.post_to_app(
            self.events_url,
            json.dumps(body).encode(),
            content_type="application/json",
            signing_secret=SIGNING_SECRET,
        )
        assert (status, answer["error"]) == (500, "processing_failed"), (status, answer)

    async def interactive(self, body: dict[str, Any]) -> Any:
        if self.mode == "socket":
            ack = await self.fake.socket_request("interactive", body)
            return ack.get("payload")
        status, answer = await self.fake.post_to_app(
            self.events_url,
            p.interactive_body(body),
            content_type="application/x-www-form-urlencoded",
            signing_secret=SIGNING_SECRET,
        )
        assert status == 200, answer
        return answer

    async def command(self, fields: dict[str, str]) -> Any:
        if self.mode == "socket":
            ack = await self.fake.socket_request("slash_commands", dict(fields))
            return ack.get("payload")
        status, answer = await self.fake.post_to_app(
            self.events_url,
            p.form_body(fields),
            content_type="application/x-www-form-urlencoded",
            signing_secret=SIGNING_SECRET,
        )
        assert status == 200, answer
        return answer

    async def agent_says(
        self, user: str, thread_ts: str, text: str, **kwargs: Any
    ) -> dict[str, Any]:
        body = p.message_event(QUEUE, user, text, thread_ts=thread_ts, **kwargs)
        await self.event(body)
        return body

    async def outbox(self, target: str = "api") -> list[dict[str, Any]]:
        """Deliveries to a target with their message text (what the customer gets)."""
        from sqlmodel import col, select

        from contactcenter.storage.models import Delivery, Message

        async with self.services.db.session() as s:
            rows = (
                await s.exec(
                    select(Delivery, Message)
                    .join(Message, col(Message.id) == col(Delivery.message_id), isouter=True)
                    .where(Delivery.target == target)
                    .order_by(col(Delivery.id))
                )
            ).all()
        return [
            {
                "kind": d.kind,
                "status": d.status,
                "text": m.text if m else None,
                "author": m.author_kind if m else None,
                "payload": d.payload,
                "attempts": d.attempts,
                "error": d.last_error,
            }
            for d, m in rows
        ]

    async def messages(self, cid: int) -> list[Any]:
        from sqlmodel import col, select

        from contactcenter.storage.models import Message

        async with self.services.db.session() as s:
            return list(
                (
                    await s.exec(
                        select(Message)
                        .where(Message.conversation_id == cid)
                        .order_by(col(Message.id))
                    )
                ).all()
            )


MakeDesk = Callable[..., Awaitable[Desk]]


def slack_settings(settings: Settings, fake: FakeSlack, mode: str, **extra: Any) -> Settings:
    section = {
        "bot_token": fake.bot_token,
        "app_token": fake.app_token,
        "signing_secret": SIGNING_SECRET,
        "mode": mode,
        "channel": QUEUE,
        "api_url": fake.api_url,
        **extra,
    }
    return replace(settings, desks=("slack",), channel_config={"slack": section})
