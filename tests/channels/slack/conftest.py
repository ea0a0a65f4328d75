"""The Slack desk against the fake Slack on loopback, inside the real app.

The desk is loaded by its entry-point name and its tables by its alembic
branch, exactly as in production.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from contactcenter.app import create_app
from contactcenter.config import Settings
from tests.fakeslack import FakeSlack
from tests.fakeslack.harness import ANA, BEN, OTHER, QUEUE, Desk, MakeDesk, slack_settings


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack()
    await fake.start()
    fake.add_channel(QUEUE)
    fake.add_channel(OTHER)
    fake.add_user(ANA, "Ana Lima", "ana@northwind.example")
    fake.add_user(BEN, "Ben Okafor", "ben@northwind.example")
    try:
        yield fake
    finally:
        await fake.stop()


@pytest.fixture(params=["socket", "http"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def make_desk(
    settings: Settings, fake_slack: FakeSlack, mode: str
) -> AsyncIterator[MakeDesk]:
    """``await make_desk(channels=(...), channel_config={...}, **slack_section)``: the real
    app with the desk and, optionally, customer channels; closed after the test."""
    clients: list[TestClient[Any, Any]] = []

    async def make(
        *,
        channels: tuple[str, ...] = ("api",),
        channel_config: dict[str, Any] | None = None,
        **slack: Any,
    ) -> Desk:
        app_settings = slack_settings(settings, fake_slack, mode, **slack)
        app_settings = replace(
            app_settings,
            channels=channels,
            channel_config={**(channel_config or {}), **app_settings.channel_config},
        )
        client: TestClient[Any, Any] = TestClient(
            TestServer(create_app(app_settings), host="127.0.0.1")
        )
        await client.start_server()
        clients.append(client)
        if mode == "socket":
            await fake_slack.wait_connected()
        return Desk(client, fake_slack, mode)

    try:
        yield make
    finally:
        for client in clients:
            # A shutdown stall must fail the test, not hang the run.
            await asyncio.wait_for(client.close(), 30)


@pytest.fixture
async def desk(make_desk: MakeDesk) -> Desk:
    return await make_desk()
