"""Strict parsing of query strings, cursors, ids and bodies for the resource views.

Everything here answers bad input with an ``ApiError`` (400 for query
parameters, 404 for ids, 422 for body fields), never with a 500.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Collection, Iterable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from contactcenter.api.http import MAX_BODY, ApiError, field
from contactcenter.domain import as_utc

# Every id column is a 32-bit integer on PostgreSQL: a larger id cannot exist.
MAX_DB_ID = 2**31 - 1
DEFAULT_LIMIT = 50
MAX_LIMIT = 200
MAX_QUERY_TEXT = 200


def _bad(name: str, message: str) -> ApiError:
    return ApiError(400, "bad_query", message, parameter=name)


def object_id(request: web.Request, name: str = "id", *, what: str = "object") -> int:
    """A numeric path id; anything that cannot be a stored id is a 404 JSON answer."""
    raw = request.match_info.get(name, "")
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 10 or not 0 < int(raw) <= MAX_DB_ID:
        raise ApiError(404, "not_found", f"no such {what}: {raw[:40]!r}")
    return int(raw)


def check_query(
    request: web.Request, allowed: Collection[str], repeatable: Collection[str] = ()
) -> None:
    """Reject unknown parameters and repeats of single-valued ones."""
    for name in set(request.query.keys()):
        if name not in allowed:
            raise _bad(
                name,
                f"unknown query parameter {name[:40]!r}; allowed: {', '.join(sorted(allowed))}",
            )
        if name not in repeatable and len(request.query.getall(name)) > 1:
            raise _bad(name, f"query parameter {name!r} may be given only once")


def query_text(request: web.Request, name: str, *, max_len: int = MAX_QUERY_TEXT) -> str | None:
    raw = request.query.get(name)
    if raw is None:
        return None
    value = raw.strip()
    if not value:
        raise _bad(name, f"query parameter {name!r} must not be empty")
    if len(value) > max_len:
        raise _bad(name, f"query parameter {name!r} is longer than {max_len} characters")
    if "\x00" in value:
        raise _bad(name, f"query parameter {name!r} must not contain NUL characters")
    return value


def query_id(request: web.Request, name: str) -> int | None:
    """An id used as a filter: digits only, in the range an id can have."""
    raw = request.query.get(name)
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 10 or not 0 < int(raw) <= MAX_DB_ID:
        raise _bad(name, f"query parameter {name!r} must be a positive integer id")
    return int(raw)


def query_limit(
    request: web.Request, default: int = DEFAULT_LIMIT, maximum: int = MAX_LIMIT
) -> int:
    raw = request.query.get("limit")
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 6:
        raise _bad("limit", f"query parameter 'limit' must be an integer in 1..{maximum}")
    value = int(raw)
    if not 1 <= value <= maximum:
        raise _bad("limit", f"query parameter 'limit' must be an integer in 1..{maximum}")
    return value


def query_choices(request: web.Request, name: str, choices: Iterable[str]) -> list[str]:
    """A repeatable parameter that also takes a comma list: ``?status=a,b&status=c``."""
    allowed = list(choices)
    values: list[str] = []
    for raw in request.query.getall(name, []):
        for part in raw.split(","):
            value = part.strip()
            if value not in allowed:
                raise _bad(
                    name,
                    f"query parameter {name!r} must be one of "
                    f"{', '.join(allowed)} (got {value[:40]!r})",
                )
            if value not in values:
                values.append(value)
    return values


def encode_cursor(*parts: Any) -> str:
    items = [as_utc(p).isoformat() if isinstance(p, datetime) else p for p in parts]
    raw = json.dumps(items, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(request: web.Request, shape: str) -> tuple[Any, ...] | None:
    """The cursor's parts; ``shape`` has one letter per part: ``t`` time, ``i`` id."""
    raw = request.query.get("cursor")
    if raw is None:
        return None
    bad = _bad("cursor", "query parameter 'cursor' is not a cursor this API gave out")
    if not raw or len(raw) > 200:
        raise bad
    try:
        data = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise bad from None
    if not isinstance(data, list) or len(data) != len(shape):
        raise bad
    out: list[Any] = []
    for kind, value in zip(shape, data, strict=True):
        if kind == "i":
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_DB_ID:
                raise bad
            out.append(value)
        else:
            if not isinstance(value, str):
                raise bad
            try:
                out.append(as_utc(datetime.fromisoformat(value)).astimezone(UTC))
            except ValueError:
                raise bad from None
    return tuple(out)


async def read_object(request: web.Request, *, empty_ok: bool = False) -> dict[str, Any]:
    """The request's JSON object, or a clear 4xx (413 past ``MAX_BODY``).

    Unlike ``http.read_json`` it reads until the end of the body (a body that
    arrives in several network reads is not cut short) and answers a deeply
    nested document with a 400, not a RecursionError (500).
    """
    too_large = ApiError(413, "too_large", f"request body is larger than {MAX_BODY} bytes")
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    try:
        while True:
            chunk = await request.content.read(MAX_BODY + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > MAX_BODY:
                raise too_large
    except ApiError:
        raise
    except Exception:
        raise ApiError(400, "bad_body", "could not read the request body") from None
    raw = b"".join(chunks)
    if empty_ok and not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ApiError(400, "bad_json", "request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ApiError(400, "bad_json", "request body must be a JSON object")
    return data


async def read_body(
    request: web.Request, allowed: Collection[str], *, optional: bool = False
) -> dict[str, Any]:
    """The JSON object body with only known fields; ``optional``: an empty body is ``{}``."""
    if optional and not request.body_exists:
        return {}
    data = await read_object(request, empty_ok=optional)
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise ApiError(
            422,
            "unknown_field",
            f"unknown field {unknown[0][:40]!r}; allowed: {', '.join(sorted(allowed)) or 'none'}",
            field=unknown[0][:40],
        )
    return data


def body_id(data: dict[str, Any], name: str, *, what: str, required: bool = True) -> int | None:
    """An integer field naming a stored object; one that cannot exist is a 404."""
    value: int | None = field(data, name, int, required=required)
    if value is not None and not 0 < value <= MAX_DB_ID:
        raise ApiError(404, "not_found", f"{what} {value} does not exist", field=name)
    return value


def body_text(
    data: dict[str, Any], name: str, *, max_len: int, required: bool = True
) -> str | None:
    """A string field, stripped; empty or NUL-containing strings are refused."""
    value: str | None = field(data, name, str, required=required, max_len=max_len)
    if value is None:
        return None
    if "\x00" in value:
        raise ApiError(
            422, "bad_field", f"field {name!r} must not contain NUL characters", field=name
        )
    value = value.strip()
    if not value:
        raise ApiError(422, "bad_field", f"field {name!r} must not be empty", field=name)
    return value
