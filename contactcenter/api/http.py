"""What every view shares: JSON errors, the bearer token check, body and id parsing.

Every failure is an HTTP 4xx/5xx with a JSON body ``{"error": {"code", "message"}}``:
clients and people both see what went wrong, and nothing is half-done.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Only /api/ paths need the token; these are the public ones among them.
PUBLIC_PREFIXES = ("/api/v1/openapi.json",)
# A package marks one of its own /api/ views public by setting this attribute on the view
# function (the knowledge base's search does); it needs no import of the core for that.
PUBLIC_ATTRIBUTE = "public_route"


def is_public(request: web.Request) -> bool:
    if request.path.startswith(PUBLIC_PREFIXES):
        return True
    return getattr(request.match_info.handler, PUBLIC_ATTRIBUTE, False) is True


class ApiError(web.HTTPException):
    """Raise from a view to answer with a JSON error."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        self.status_code = status
        super().__init__(
            text=json.dumps({"error": {"code": code, "message": message, **extra}}),
            content_type="application/json",
        )


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=lambda d: json.dumps(d, default=_default))


def field(
    data: dict[str, Any],
    name: str,
    kind: type | tuple[type, ...],
    *,
    required: bool = True,
    default: Any = None,
    max_len: int | None = None,
) -> Any:
    if name not in data or data[name] is None:
        if required:
            raise ApiError(422, "missing_field", f"field {name!r} is required", field=name)
        return default
    value = data[name]
    if isinstance(value, bool) and kind in (int, float):
        raise ApiError(422, "bad_field", f"field {name!r} must be a number", field=name)
    if not isinstance(value, kind):
        kinds = kind if isinstance(kind, tuple) else (kind,)
        names = " or ".join(k.__name__ for k in kinds)
        raise ApiError(422, "bad_field", f"field {name!r} must be {names}", field=name)
    if max_len is not None and isinstance(value, (str, list)) and len(value) > max_len:
        raise ApiError(
            413 if name == "text" else 422,
            "too_long",
            f"field {name!r} is longer than {max_len}",
            field=name,
        )
    return value


def token_middleware(token_of: Callable[[], str]) -> Callable[..., Awaitable[web.StreamResponse]]:
    @web.middleware
    async def check_token(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/api/") and not is_public(request):
            header = request.headers.get("Authorization", "")
            scheme, _, given = header.partition(" ")
            if scheme.lower() != "bearer" or not given:
                raise ApiError(401, "unauthorized", "a bearer token is required")
            if not hmac.compare_digest(given.strip().encode(), token_of().encode()):
                raise ApiError(401, "unauthorized", "the bearer token is not valid")
        return await handler(request)

    return check_token


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every error leaves as JSON; an unexpected one is logged, never shown raw."""
    try:
        return await handler(request)
    except ApiError:
        raise
    except web.HTTPException as exc:
        if exc.status < 400 or not request.path.startswith("/api/"):
            raise
        raise ApiError(exc.status, exc.reason.lower().replace(" ", "_"), exc.reason) from None
    except Exception:
        log.exception("unhandled error", extra={"path": request.path, "method": request.method})
        raise ApiError(500, "internal", "internal error; it has been logged") from None
