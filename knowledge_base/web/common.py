"""What the knowledge base's views share: the core's JSON error shape, JSON
responses, the client's IP, and the live knowledge base on the app.

The error shape ``{"error": {"code", "message"}}`` is built here rather than
imported, because this package may not import the core.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from knowledge_base.config import KBConfig
from knowledge_base.live import LiveKnowledgeBase
from knowledge_base.web.ratelimit import TokenBucketLimiter

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(slots=True)
class KBWeb:
    """Everything a view needs, stored on the app under :data:`KB_WEB`."""

    live: LiveKnowledgeBase
    config: KBConfig
    limiter: TokenBucketLimiter


KB_WEB: web.AppKey[KBWeb] = web.AppKey("knowledge_base", KBWeb)


class KBApiError(Exception):
    """Raise from a view wrapped in :func:`json_errors` to answer with a JSON error.

    Not an ``aiohttp`` HTTP exception on purpose: the core's error middleware
    rewrites those into a generic message, and we want ours (and headers such
    as Retry-After) to reach the client as they are.
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.extra = extra

    def response(self) -> web.Response:
        body = {"error": {"code": self.code, "message": self.message, **self.extra}}
        return web.json_response(body, status=self.status, headers=self.headers)


def public(view: Handler) -> Handler:
    """Mark a view public: the host app's token check lets it through. The mark is the
    attribute ``public_route``, so the knowledge base needs no import of its host."""
    view.public_route = True  # type: ignore[attr-defined]
    return view


def json_errors(view: Handler) -> Handler:
    """Turn a :class:`KBApiError` raised by ``view`` into its JSON response."""

    @functools.wraps(view)
    async def wrapper(request: web.Request) -> web.StreamResponse:
        try:
            return await view(request)
        except KBApiError as exc:
            return exc.response()

    return wrapper


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=lambda d: json.dumps(d, ensure_ascii=False))


def client_ip(request: web.Request, trust_forwarded: bool) -> str:
    """The client's address; X-Forwarded-For's first hop only when configured to trust it."""
    if trust_forwarded:
        forwarded = request.headers.get("X-Forwarded-For", "")
        first = forwarded.split(",", 1)[0].strip()
        if first:
            return first[:64]
    return request.remote or "unknown"


def int_query(request: web.Request, name: str, default: int, lo: int, hi: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not lo <= int(raw) <= hi:
        raise KBApiError(400, "bad_query", f"{name} must be a whole number within {lo}..{hi}")
    return int(raw)
