"""Helpers for the web chat tests: the real app on loopback, and a visitor's socket.

The app is the one ``create_app`` builds. Until the project's pyproject declares
the ``webchat`` entry point, the channel's factory is called here and the
channel added to the registry before the app starts, exactly what the app
assembly does for an entry point; once it is declared, the entry point is used.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from importlib.metadata import entry_points
from typing import Any

import socketio
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlmodel import col, select

from channels.webchat.channel import WebchatChannel, create_webchat_channel
from contactcenter.answerer import Answer, AnswerLike, Suggestion
from contactcenter.app import create_app
from contactcenter.channel import CHANNEL_GROUP, ChannelContext
from contactcenter.config import Settings
from contactcenter.services import SERVICES, Services
from contactcenter.storage.models import Delivery
from tests.conftest import Api

# Quick enough for tests: the status poll runs often.
BASE_CONFIG: dict[str, Any] = {
    "secret": "test-secret-0123456789abcdef",
}
RESET_ANSWER = "Open Settings, choose Security, then Reset password."
ARTICLE_URL = "https://help.example.com/articles/reset-password"
_ids = itertools.count(1)


class StubAnswerer:
    """Answers password questions with an article; declines anything "unknown"."""

    def __init__(self) -> None:
        self.questions: list[str] = []

    async def answer(self, question: str) -> AnswerLike:
        self.questions.append(question)
        if "unknown" in question.lower():
            return Answer(decision="decline", confidence=0.1)
        return Answer(
            decision="answer",
            confidence=0.93,
            text=RESET_ANSWER,
            suggestions=(
                Suggestion(
                    article_id="kb-7", title="Reset your password", score=0.93, url=ARTICLE_URL
                ),
            ),
        )


def entry_point_declared() -> bool:
    return any(ep.name == "webchat" for ep in entry_points(group=CHANNEL_GROUP))


def build_app(settings: Settings, config: dict[str, Any]) -> web.Application:
    """The real app with the web chat channel, by entry point if declared."""
    if entry_point_declared():
        return create_app(
            replace(
                settings,
                channels=("api", "webchat"),
                channel_config={**settings.channel_config, "webchat": config},
            )
        )
    app = create_app(replace(settings, channels=("api",)))
    services = app[SERVICES]
    channel = create_webchat_channel(ChannelContext("webchat", config, app, services))
    services.registry.add("webchat", channel)
    return app


class Chat:
    """The running app: its URL, the API client, the core and the channel."""

    def __init__(self, client: TestClient[Any, Any]) -> None:
        self.client = client
        self.api = Api(client)
        self.visitors: list[Visitor] = []

    @property
    def services(self) -> Services:
        return self.client.app[SERVICES]  # type: ignore[index]

    @property
    def channel(self) -> WebchatChannel:
        channel = self.services.registry.get("webchat")
        assert isinstance(channel, WebchatChannel)
        return channel

    @property
    def url(self) -> str:
        return str(self.client.make_url("/")).rstrip("/")

    async def visitor(self, auth: dict[str, Any] | None = None, *, connect: bool = True) -> Visitor:
        v = Visitor(self.url)
        self.visitors.append(v)
        if connect:
            await v.connect(auth)
        return v

    async def settle(self, within: float = 10.0) -> None:
        """Wait until the outbox has nothing pending or in flight."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while loop.time() < deadline:
            async with self.services.db.session() as s:
                busy = (
                    await s.exec(
                        select(Delivery.id).where(col(Delivery.status).in_(["pending", "sending"]))
                    )
                ).first()
            if busy is None:
                return
            await asyncio.sleep(0.05)
        raise AssertionError("deliveries did not settle")

    async def close(self) -> None:
        for v in self.visitors:
            await v.disconnect()
        await self.client.close()


async def start_chat(settings: Settings, config: dict[str, Any]) -> Chat:
    app = build_app(settings, config)
    client: TestClient[Any, Any] = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    chat = Chat(client)
    chat.services.set_answerer(StubAnswerer())
    return chat


class Refusal(Exception):
    def __init__(self, data: Any) -> None:
        super().__init__(repr(data))
        self.data = data
        detail = data.get("data") if isinstance(data, dict) else None
        self.code = detail.get("code") if isinstance(detail, dict) else None


class Visitor:
    """One browser tab: a python-socketio AsyncClient over WebSocket, recording events."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.sio = socketio.AsyncClient(reconnection=False)
        self.events: list[tuple[str, Any]] = []
        self._changed = asyncio.Condition()
        self.refusal: Any = None
        self.token: str | None = None
        self.conversation_id: int | None = None

        @self.sio.on("*")
        async def _any(event: str, data: Any = None) -> None:
            if event == "session" and isinstance(data, dict):
                self.token = data.get("visitor_token") or self.token
                self.conversation_id = data.get("conversation_id") or self.conversation_id
            await self._record(event, data)

        self.gone = asyncio.Event()

        @self.sio.on("disconnect")
        async def _gone(reason: Any = None) -> None:
            self.gone.set()

        @self.sio.on("connect_error")
        async def _refused(data: Any = None) -> None:
            self.refusal = data

    async def _record(self, event: str, data: Any) -> None:
        async with self._changed:
            self.events.append((event, data))
            self._changed.notify_all()

    async def connect(self, auth: dict[str, Any] | None = None) -> None:
        self.refusal = None
        try:
            await self.sio.connect(self.url, auth=auth, transports=["websocket"], wait_timeout=10)
        except socketio.exceptions.ConnectionError:
            raise Refusal(self.refusal) from None

    async def disconnect(self) -> None:
        if self.sio.connected:
            await self.sio.disconnect()

    @property
    def connected(self) -> bool:
        return bool(self.sio.connected)

    def of(self, event: str) -> list[Any]:
        return [d for e, d in self.events if e == event]

    async def wait_for(
        self,
        event: str,
        where: Callable[[Any], bool] = lambda d: True,
        within: float = 10.0,
        count: int = 1,
    ) -> Any:
        """The ``count``-th matching event (already received ones count)."""

        async def found() -> list[Any]:
            return [d for e, d in self.events if e == event and where(d)]

        async with asyncio.timeout(within):
            async with self._changed:
                while len(hits := await found()) < count:
                    await self._changed.wait()
        return hits[count - 1]

    async def send(self, text: Any, client_id: Any = None, **extra: Any) -> Any:
        """A "message" with an ack; returns the ack."""
        payload = {"id": client_id or f"c{next(_ids)}", "text": text, **extra}
        return await self.sio.call("message", payload, timeout=15)

    async def call(self, event: str, data: Any = None) -> Any:
        return await self.sio.call(event, data, timeout=15)

    def messages(self, author: str | None = None) -> list[dict[str, Any]]:
        out = list(self.of("message"))
        for h in self.of("history"):
            out.extend(h["messages"])
        return [m for m in out if author is None or m["author"] == author]


def texts(messages: Sequence[dict[str, Any]]) -> list[str]:
    return [m["text"] for m in messages]


MakeChat = Callable[..., Awaitable[Chat]]
