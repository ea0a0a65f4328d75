"""Shared fixtures: a database per test on SQLite and on PostgreSQL, the app, a client."""

from __future__ import annotations

import asyncio
import asyncio.runners
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from contactcenter.app import create_app
from contactcenter.config import Settings
from contactcenter.services import SERVICES, Services, build_services
from contactcenter.storage.migrate import upgrade
from tests.services import postgres_schema

API_TOKEN = "test-token-0123456789"


@pytest.fixture(params=["sqlite", "postgres"])
async def db_settings(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[dict[str, Any]]:
    """Database settings for one test: a fresh SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield {"database_url": f"sqlite+aiosqlite:///{tmp_path / 'cc.db'}"}
        return
    async with postgres_schema() as settings:
        yield settings


@pytest.fixture
def settings(db_settings: dict[str, Any], tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        api_token=API_TOKEN,
        outbox_poll_seconds=0.05,
        outbox_base_delay_seconds=0.05,
        outbox_max_delay_seconds=0.2,
        **db_settings,
    )


@pytest.fixture
async def services(settings: Settings) -> AsyncIterator[Services]:
    """The core without the web app: router, actions, dispatcher on a migrated database."""
    svc = build_services(settings)
    await upgrade(svc.db)
    try:
        yield svc
    finally:
        await svc.dispatcher.stop()
        await svc.close()


class Api:
    """A test client that speaks to the real app over loopback, with the token."""

    def __init__(self, client: TestClient[Any, Any]) -> None:
        self.client = client
        self.auth = {"Authorization": f"Bearer {API_TOKEN}"}

    @property
    def services(self) -> Services:
        return self.client.app[SERVICES]  # type: ignore[index]

    async def call(
        self, method: str, path: str, *, auth: bool = True, **kwargs: Any
    ) -> tuple[int, Any]:
        headers = {**(self.auth if auth else {}), **kwargs.pop("headers", {})}
        async with self.client.request(method, path, headers=headers, **kwargs) as resp:
            ctype = resp.headers.get("Content-Type", "")
            body = await resp.json() if "json" in ctype else await resp.text()
            return resp.status, body


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[Api]:
    app = create_app(settings)
    client: TestClient[Any, Any] = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    try:
        yield Api(client)
    finally:
        await client.close()


def _bounded_cancel_all_tasks(loop: asyncio.AbstractEventLoop) -> None:
    """Loop teardown that cannot hang the run: wait 10 s for cancelled tasks, then report.

    asyncio's own teardown waits forever for every cancelled task. A task stuck on a
    database connection that was already disposed (seen rarely in the Slack desk's
    Socket Mode tests) would stall the whole suite until CI's time runs out. Here the
    stuck tasks' stacks are printed, so the leak stays visible, and the run goes on.
    """
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    if not pending:
        return
    for task in pending:
        task.cancel()
    loop.run_until_complete(asyncio.wait(pending, timeout=10))
    for task in pending:
        if not task.done():
            print(f"\nWARNING: task {task.get_name()} did not finish after cancel:")
            task.print_stack(limit=20)
        elif not task.cancelled() and task.exception() is not None:
            loop.call_exception_handler(
                {
                    "message": "unhandled exception during teardown",
                    "exception": task.exception(),
                    "task": task,
                }
            )


asyncio.runners._cancel_all_tasks = _bounded_cancel_all_tasks  # type: ignore[attr-defined]
