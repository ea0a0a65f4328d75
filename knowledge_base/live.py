"""The knowledge base of a running server: the database's articles, indexed in memory.

The database is the source of truth and the index a derived copy, so:

* at start the articles are read once and indexed in a worker thread (the
  event loop keeps serving meanwhile); questions that arrive before the index
  is ready wait for it rather than being declined by an empty index;
* every edit made through this object is written to the database first and
  then applied to the index *incrementally* (one article's postings), never by
  a rebuild;
* the answer threshold is re-calibrated in a background thread after a bulk
  change or once enough single edits have piled up, because calibration costs
  a search per question and single edits barely move the score distribution.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from knowledge_base.articles import Article
from knowledge_base.importers import ImportResult, load_articles
from knowledge_base.index import Hit
from knowledge_base.kb import KnowledgeBase
from knowledge_base.offload import CostAwareRunner
from knowledge_base.policy import DECLINE, KBAnswer
from knowledge_base.storage.store import ArticleStore, ImportCounts, StoredArticle

log = logging.getLogger(__name__)

#: After loading at least this many articles, freeze the heap: the index is
#: millions of long-lived small objects the cyclic GC would otherwise keep scanning.
GC_FREEZE_ARTICLES = 1_000
#: Recalibrate after this many single edits, or a tenth of the articles if more.
RECALIBRATE_EDITS = 25


class LiveKnowledgeBase:
    """An :class:`ArticleStore` and the :class:`KnowledgeBase` kept in step with it."""

    def __init__(self, store: ArticleStore, *, seed: Path | None = None) -> None:
        self.store = store
        #: Articles imported into an *empty* database at start (the demo, or a configured file).
        self.seed = seed
        self.kb = KnowledgeBase(calibrate=False)
        self.ready = asyncio.Event()
        self.load_error: str | None = None
        self._edits = 0
        self._recalibration: asyncio.Task[None] | None = None
        self._again = False
        #: Where reads run: on the loop while they are cheap (see offload.py).
        self.reads = CostAwareRunner()

    # ------------------------------------------------------------------ loading

    async def load(self) -> None:
        """Seed an empty database if configured, then index every stored article."""
        try:
            if self.seed is not None and await self.store.count() == 0:
                await self._seed(self.seed)
            articles = await self.store.articles()
            kb = await asyncio.to_thread(KnowledgeBase, articles)
            self.kb = kb
            if len(articles) >= GC_FREEZE_ARTICLES:
                gc.collect()
                gc.freeze()
            log.info("knowledge base loaded", extra={"articles": len(articles)})
        except Exception as exc:
            self.load_error = f"{type(exc).__name__}: {exc}"
            log.exception("knowledge base failed to load; the bot will decline until it does")
        finally:
            self.ready.set()

    async def _seed(self, path: Path) -> None:
        result: ImportResult = await asyncio.to_thread(load_articles, path)
        for problem in result.problems:
            log.warning("seed article skipped: %s", problem)
        if result.articles:
            counts = await self.store.import_articles(result.articles)
            log.info("knowledge base seeded", extra={"path": str(path), "imported": counts.created})

    async def reload(self) -> int:
        """Re-read everything from the database (after an import by another process)."""
        await self.ready.wait()
        articles = await self.store.articles()
        self.kb = await asyncio.to_thread(KnowledgeBase, articles)
        self._edits = 0
        return len(articles)

    async def wait_ready(self, seconds: float | None = None) -> bool:
        """Whether the index became ready within ``seconds`` (forever if None)."""
        if self.ready.is_set():  # the usual case; a timeout costs a timer per question
            return True
        try:
            async with asyncio.timeout(seconds):  # wait_for may swallow a cancellation (3.11)
                await self.ready.wait()
        except TimeoutError:
            return False
        return True

    # ------------------------------------------------------------------ reads

    async def search(self, query: str, limit: int = 10) -> list[Hit]:
        await self.ready.wait()
        kb = self.kb
        return await self.reads.run(lambda: kb.search(query, limit))

    async def answer(self, question: str) -> KBAnswer:
        await self.ready.wait()
        kb = self.kb
        return await self.reads.run(lambda: kb.answer(question))

    # ------------------------------------------------------------------ edits

    async def create(self, article: Article) -> StoredArticle:
        stored = await self.store.create(article)
        await self._apply(lambda: self.kb.add(article))
        return stored

    async def save(self, article: Article) -> StoredArticle | None:
        stored = await self.store.save(article)
        if stored is not None:
            await self._apply(lambda: self.kb.update(stored.article))
        return stored

    async def delete(self, article_id: str) -> bool:
        deleted = await self.store.delete(article_id)
        if deleted:
            await self._apply(lambda: self.kb.remove(article_id))
        return deleted

    async def import_articles(self, articles: Sequence[Article]) -> ImportCounts:
        """Bulk upsert: one transaction, then each article into the index, then recalibrate."""
        counts = await self.store.import_articles(articles)
        await self.ready.wait()
        kb = self.kb

        def index_all() -> None:
            for article in articles:
                kb.update(article)

        await asyncio.to_thread(index_all)
        self.schedule_recalibration()
        return counts

    async def _apply(self, edit: Callable[[], object]) -> None:
        """Apply one edit to the index in a worker thread (after the initial load)."""
        await self.ready.wait()
        await asyncio.to_thread(edit)
        self._edits += 1
        if self._edits >= max(RECALIBRATE_EDITS, len(self.kb) // 10):
            self.schedule_recalibration()

    # ------------------------------------------------------------------ calibration

    def schedule_recalibration(self) -> None:
        """Recalibrate in a worker thread; coalesces requests made while one runs."""
        self._edits = 0
        if self._recalibration is not None and not self._recalibration.done():
            self._again = True
            return
        self._recalibration = asyncio.get_running_loop().create_task(self._recalibrate())

    async def _recalibrate(self) -> None:
        while True:
            self._again = False
            try:
                report = await asyncio.to_thread(self.kb.recalibrate)
                log.info(
                    "knowledge base recalibrated", extra={"threshold": report.thresholds.answer}
                )
            except Exception:
                log.exception("knowledge base recalibration failed; keeping the old thresholds")
            if not self._again:
                return

    async def close(self) -> None:
        """Let a running recalibration finish (threads cannot be cancelled)."""
        task = self._recalibration
        if task is not None and not task.done():
            await asyncio.shield(task)


class LiveAnswerer:
    """The ``Answerer`` the core plugs in: asks the live knowledge base, off the event loop."""

    def __init__(self, live: LiveKnowledgeBase, *, ready_timeout: float = 60.0) -> None:
        self.live = live
        self.ready_timeout = ready_timeout

    async def answer(self, question: str) -> KBAnswer:
        """Answer, suggest or decline; declines (never raises) while the index is not ready."""
        if not isinstance(question, str):
            question = "" if question is None else str(question)
        if not await self.live.wait_ready(self.ready_timeout):
            return KBAnswer(decision=DECLINE, confidence=0.0)
        return await self.live.answer(question)
