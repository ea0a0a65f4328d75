"""The route table: the one list of every HTTP endpoint (the OpenAPI test checks it)."""

from __future__ import annotations

from aiohttp import web

from contactcenter.api import messages, ops


def add_routes(app: web.Application) -> None:
    app.router.add_get("/healthz", ops.healthz)
    app.router.add_get("/metrics", ops.metrics)
    app.router.add_post("/api/v1/messages", messages.post_message)
