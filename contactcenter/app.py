"""App assembly: the one place that wires settings, storage, channels and the web app.

Channels and the answerer are loaded by name through entry points, so this
module names none of them. Channel factories run when the app is built (a web
channel adds its routes then); channels start after the migrations ran.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web

from contactcenter.answerer import Answerer
from contactcenter.api.http import error_middleware, token_middleware
from contactcenter.api.routes import add_routes
from contactcenter.channel import ANSWERER_GROUP, ChannelContext, find_factory
from contactcenter.config import Settings
from contactcenter.services import SERVICES, build_services
from contactcenter.storage.migrate import upgrade

log = logging.getLogger(__name__)


def create_app(
    settings: Settings, *, answerer: Answerer | None = None, migrate: bool = True
) -> web.Application:
    services = build_services(settings, answerer=answerer)
    app = web.Application(
        middlewares=[error_middleware, token_middleware(lambda: services.api_token)],
        client_max_size=2 * 1024 * 1024,
    )
    app[SERVICES] = services
    add_routes(app)

    if answerer is None and settings.answerer:
        factory = find_factory(settings.answerer, ANSWERER_GROUP)
        services.set_answerer(
            factory(
                ChannelContext(
                    settings.answerer, settings.channel(settings.answerer), app, services
                )
            )
        )

    for name in (*settings.channels, *settings.desks):
        factory = find_factory(name)
        channel = factory(ChannelContext(name, settings.channel(name), app, services))
        services.registry.add(name, channel)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        if migrate:
            await upgrade(services.db)
        started = []
        try:
            for name, channel in services.registry.items():
                await channel.start(services.router.handle)
                started.append(channel)
                log.info("channel started", extra={"channel": name})
            await services.dispatcher.start()
            yield
        finally:
            await services.dispatcher.stop()
            for channel in reversed(started):
                try:
                    await channel.stop()
                except Exception:
                    log.exception("channel failed to stop")
            await services.close()

    app.cleanup_ctx.append(lifecycle)
    return app
