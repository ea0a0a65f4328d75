"""Reading an article from a JSON request body, strictly.

The importers are lenient (a CSV cell "3" is a fine title); the API is not:
a client sending ``"questions": "abc"`` or ``"published": "no"`` has a bug,
and a 422 naming the field finds it faster than a silently coerced article.
Limits keep one request from bloating the index or the help centre.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

from aiohttp import web

from knowledge_base.articles import Article
from knowledge_base.markdown import safe_url
from knowledge_base.storage.tables import MAX_ID_CHARS
from knowledge_base.web.common import KBApiError

MAX_BODY_BYTES = 512 * 1024
MAX_TITLE = 500
MAX_ARTICLE_BODY = 200_000
MAX_QUESTIONS = 200
MAX_QUESTION = 1_000
MAX_TAGS = 50
MAX_TAG = 100
MAX_URL = 2_000

#: Ids appear in URLs (/help/articles/{id}), so they are slugs.
ID_PATTERN = re.compile(rf"^[A-Za-z0-9][A-Za-z0-9._\-]{{0,{MAX_ID_CHARS - 1}}}$")
FIELDS = frozenset({"id", "title", "body", "questions", "tags", "published", "url"})


def valid_id(article_id: str) -> bool:
    return bool(ID_PATTERN.match(article_id))


async def read_json_object(request: web.Request) -> dict[str, Any]:
    """The body as a JSON object; 413 when too large, 400 when not JSON or not an object."""
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise KBApiError(413, "too_large", f"the body is larger than {MAX_BODY_BYTES} bytes")
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise KBApiError(
            413, "too_large", f"the body is larger than {MAX_BODY_BYTES} bytes"
        ) from None
    if len(raw) > MAX_BODY_BYTES:
        raise KBApiError(413, "too_large", f"the body is larger than {MAX_BODY_BYTES} bytes")
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise KBApiError(400, "bad_json", "the body is not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise KBApiError(
            400, "bad_json", f"the body is not valid JSON: {exc.msg} at line {exc.lineno}"
        ) from None
    if not isinstance(data, dict):
        raise KBApiError(400, "bad_json", "the body must be a JSON object")
    return data


def _bad(name: str, message: str, status: int = 422) -> KBApiError:
    return KBApiError(status, "bad_field", f"field {name!r} {message}", field=name)


def _text(data: dict[str, Any], name: str, limit: int, *, required: bool) -> str | None:
    value = data.get(name)
    if value is None:
        if required:
            raise KBApiError(422, "missing_field", f"field {name!r} is required", field=name)
        return None
    if not isinstance(value, str):
        raise _bad(name, "must be a string")
    if "\x00" in value:
        raise _bad(name, "must not contain NUL characters")
    if len(value) > limit:
        raise KBApiError(
            413, "too_long", f"field {name!r} is longer than {limit} characters", field=name
        )
    return value


def _string_list(data: dict[str, Any], name: str, count: int, each: int) -> tuple[str, ...] | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _bad(name, "must be a list of strings")
    if len(value) > count:
        raise _bad(name, f"must have at most {count} entries")
    if any(len(v) > each or "\x00" in v for v in value):
        raise _bad(name, f"entries must be at most {each} characters, without NUL")
    return tuple(v.strip() for v in value if v.strip())


def _fields(data: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(data) - FIELDS)
    if unknown:
        raise KBApiError(422, "unknown_field", f"unknown field(s): {', '.join(unknown)}")
    out: dict[str, Any] = {}
    title = _text(data, "title", MAX_TITLE, required=False)
    if title is not None:
        if not title.strip():
            raise _bad("title", "must not be empty")
        out["title"] = title.strip()
    body = _text(data, "body", MAX_ARTICLE_BODY, required=False)
    if body is not None:
        out["body"] = body
    for name, count, each in (
        ("questions", MAX_QUESTIONS, MAX_QUESTION),
        ("tags", MAX_TAGS, MAX_TAG),
    ):
        values = _string_list(data, name, count, each)
        if values is not None:
            out[name] = values
    if "published" in data and data["published"] is not None:
        if not isinstance(data["published"], bool):
            raise _bad("published", "must be true or false")
        out["published"] = data["published"]
    if "url" in data:
        url = _text(data, "url", MAX_URL, required=False)
        if url is not None and url.strip() and safe_url(url.strip()) is None:
            raise _bad("url", "must be an http(s), mailto or relative URL")
        out["url"] = url.strip() if url and url.strip() else None
    return out


def new_article(data: dict[str, Any]) -> Article:
    """A complete article for POST: ``id`` and ``title`` required."""
    article_id = _text(data, "id", MAX_ID_CHARS, required=True)
    assert article_id is not None
    if not valid_id(article_id):
        raise _bad("id", "must be a slug: letters, digits, '.', '_' or '-' (at most 200)")
    if data.get("title") is None:
        raise KBApiError(422, "missing_field", "field 'title' is required", field="title")
    return Article(id=article_id, **_fields(data))


def replaced_article(article_id: str, data: dict[str, Any]) -> Article:
    """PUT: the whole article; fields not given take their defaults."""
    if "id" in data and data["id"] != article_id:
        raise _bad("id", "does not match the article in the URL")
    return new_article({**data, "id": article_id})


def patched_article(current: Article, data: dict[str, Any]) -> Article:
    """PATCH: only the fields given change."""
    if "id" in data and data["id"] != current.id:
        raise _bad("id", "cannot be changed; create a new article instead")
    changes = _fields({k: v for k, v in data.items() if k != "id"})
    if "title" in data and data["title"] is None:
        raise _bad("title", "must not be null")
    return replace(current, **changes)
