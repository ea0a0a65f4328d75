"""Fixtures for the knowledge-base tests: the demo help centre, built once per session."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from contactcenter.app import create_app
from contactcenter.config import Settings
from knowledge_base import KnowledgeBase
from knowledge_base.demo import demo_articles_path
from knowledge_base.importers import read_jsonl
from tests.conftest import Api

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "kb"


@pytest.fixture(scope="session")
def demo_kb() -> KnowledgeBase:
    """The Northwind Outfitters demo knowledge base, with its calibrated thresholds.

    Session-scoped because it is only read; tests that change articles build their own.
    """
    result = read_jsonl(demo_articles_path())
    assert result.ok, result.problems
    return KnowledgeBase(result.articles)


# ---------------------------------------------------------------------- the app with the kb plugin


@pytest.fixture
def kb_settings(settings: Settings) -> Settings:
    """The core's test settings (SQLite and PostgreSQL) with the demo knowledge base."""
    return replace(
        settings,
        answerer="kb",
        channel_config={"kb": {"articles": "demo", "search_rate": 1000, "search_burst": 1000}},
    )


async def start_api(settings: Settings) -> tuple[Api, TestClient[Any, Any]]:
    client: TestClient[Any, Any] = TestClient(TestServer(create_app(settings), host="127.0.0.1"))
    await client.start_server()
    return Api(client), client


@pytest.fixture
async def kb_api(kb_settings: Settings) -> AsyncIterator[Api]:
    api, client = await start_api(kb_settings)
    try:
        yield api
    finally:
        await client.close()
