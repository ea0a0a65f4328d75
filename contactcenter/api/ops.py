"""Operations endpoints: health (no token) and Prometheus metrics."""

from __future__ import annotations

import logging

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import func
from sqlmodel import select

from contactcenter.api.http import json_response
from contactcenter.services import SERVICES
from contactcenter.storage.models import Delivery

log = logging.getLogger(__name__)


async def healthz(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    try:
        await services.db.ping()
    except Exception as exc:
        log.warning("health check: database unreachable: %s", type(exc).__name__)
        return json_response({"status": "unhealthy", "database": "unreachable"}, status=503)
    return json_response({"status": "ok", "database": "ok", "channels": services.registry.names()})


async def metrics(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    async with services.db.session() as s:
        rows = (await s.exec(select(Delivery.status, func.count()).group_by(Delivery.status))).all()
    counts = dict(rows)
    for status in ("pending", "sending", "sent", "failed"):
        services.metrics.deliveries.labels(status=status).set(counts.get(status, 0))
    body = generate_latest(services.metrics.registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
