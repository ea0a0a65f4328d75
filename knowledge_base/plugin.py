"""The entry point the core loads: ``contactcenter.answerers`` -> ``kb``.

The core calls :func:`create_answerer` with its ``ChannelContext`` (used here
only through :class:`~knowledge_base.contracts.ContextLike`, since this
package may not import the core) while it assembles the web app. We mount the
article API, the public search and the help centre on that app, and load the
articles when the app starts: an ``on_startup`` hook, which aiohttp runs after
the core's own start-up (migrations included). Loading happens in a
background task so a large help centre cannot hold the server's start hostage;
the hook only waits ``startup_wait`` seconds for it, and questions that come
earlier wait for the index (see :class:`~knowledge_base.live.LiveAnswerer`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiohttp import web

from knowledge_base.config import KBConfig
from knowledge_base.contracts import ContextLike
from knowledge_base.live import LiveAnswerer, LiveKnowledgeBase
from knowledge_base.storage.store import ArticleStore
from knowledge_base.web import api, helpcenter
from knowledge_base.web.common import KB_WEB, KBWeb
from knowledge_base.web.ratelimit import TokenBucketLimiter

log = logging.getLogger(__name__)


def create_answerer(context: ContextLike) -> LiveAnswerer:
    """Build the live knowledge base on the core's database and mount its web surfaces."""
    config = KBConfig.from_mapping(context.config)
    live = LiveKnowledgeBase(ArticleStore(context.services.db), seed=config.articles)
    app = context.app
    if isinstance(app, web.Application):
        mount(app, live, config)
    return LiveAnswerer(live, ready_timeout=config.ready_timeout)


def mount(app: web.Application, live: LiveKnowledgeBase, config: KBConfig) -> None:
    """Add the routes and the start/stop hooks to ``app``."""
    app[KB_WEB] = KBWeb(live, config, TokenBucketLimiter(config.search_rate, config.search_burst))
    api.add_routes(app)
    helpcenter.add_routes(app)

    loading: list[asyncio.Task[None]] = []

    async def start(app: web.Application) -> None:
        task = asyncio.get_running_loop().create_task(live.load())
        loading.append(task)
        done, _ = await asyncio.wait({task}, timeout=config.startup_wait)
        if not done:
            log.info("knowledge base still loading; serving meanwhile")

    async def stop(app: web.Application) -> None:
        for task in loading:
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await live.close()

    app.on_startup.append(start)
    app.on_shutdown.append(stop)
