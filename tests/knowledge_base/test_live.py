"""The live knowledge base: seeded once, persisted, recalibrated in the background."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

from contactcenter.config import Settings
from knowledge_base import Article
from knowledge_base.live import LiveAnswerer, LiveKnowledgeBase
from knowledge_base.storage.store import ArticleStore
from tests.knowledge_base.conftest import start_api


async def test_seed_only_into_an_empty_database_and_edits_survive_a_restart(
    kb_settings: Settings,
) -> None:
    api, client = await start_api(kb_settings)
    try:
        status, _ = await api.call("DELETE", "/api/v1/kb/articles/returns")
        assert status == 204
    finally:
        await client.close()
    api, client = await start_api(kb_settings)  # same database: not seeded again
    try:
        status, body = await api.call("GET", "/api/v1/kb/articles")
        assert body["total"] == 30
        status, _ = await api.call("GET", "/api/v1/kb/articles/returns")
        assert status == 404
    finally:
        await client.close()


async def test_a_missing_articles_file_leaves_the_bot_declining(
    kb_settings: Settings, tmp_path: Path
) -> None:
    settings = replace(kb_settings, channel_config={"kb": {"articles": str(tmp_path / "nope")}})
    api, client = await start_api(settings)
    try:
        reply = await api.services.router.answerer.answer("how do i return my jacket")
        assert reply.decision == "decline"
        status, body = await api.call("GET", "/api/v1/kb/search", params={"q": "x"}, auth=False)
        assert status == 200 and body["results"] == []
    finally:
        await client.close()


class MemoryStore(ArticleStore):
    """The store's interface over a dict, to test the live logic without a database."""

    def __init__(self, articles: list[Article]) -> None:
        self.rows = {a.id: a for a in articles}

    async def count(self, *, published_only: bool = False) -> int:
        return len(self.rows)

    async def articles(self, *, published_only: bool = False) -> list[Article]:
        return list(self.rows.values())

    async def import_articles(self, articles, *, progress=None):  # type: ignore[no-untyped-def]
        from knowledge_base.storage.store import ImportCounts

        new = sum(a.id not in self.rows for a in articles)
        self.rows.update({a.id: a for a in articles})
        return ImportCounts(new, len(articles) - new)


def _articles(n: int) -> list[Article]:
    return [
        Article(
            f"a{i}", f"Topic number {i} {w}", questions=(f"how about {w} {i}?", f"{w} {i} please")
        )
        for i, w in enumerate(["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"] * (n // 6))
    ]


async def test_bulk_import_indexes_and_recalibrates_in_the_background() -> None:
    live = LiveKnowledgeBase(MemoryStore(_articles(12)))
    await live.load()
    before = live.kb.calibration
    await live.import_articles(_articles(36)[12:])
    assert len(live.kb) == 36
    task = live._recalibration
    assert task is not None
    await asyncio.wait_for(task, 30)
    assert live.kb.calibration is not before
    answerer = LiveAnswerer(live)
    reply = await answerer.answer("how about charlie 14?")
    assert reply.suggestions and reply.suggestions[0].article_id == "a14"


async def test_questions_wait_for_the_index_then_time_out_as_declines() -> None:
    live = LiveKnowledgeBase(MemoryStore(_articles(6)))
    reply = await LiveAnswerer(live, ready_timeout=0.05).answer("alpha")
    assert reply.decision == "decline"
    waiting = asyncio.create_task(LiveAnswerer(live).answer("how about alpha 0?"))
    await live.load()
    assert (await waiting).suggestions[0].article_id == "a0"
