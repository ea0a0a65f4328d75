"""The knowledge base's routes described in OpenAPI 3.1, for the host's ``openapi.json``.

The package describes its own views: each gets an ``openapi_operations``
attribute (method -> operation), which the host app collects from the mounted
routes. Self-contained (errors are described inline), so the knowledge base
imports nothing of its host, and the document lists these routes only where
they are mounted.
"""

from __future__ import annotations

from typing import Any

from knowledge_base.web.common import Handler

OPERATIONS_ATTRIBUTE = "openapi_operations"
TAG = "knowledge base"
JSON = "application/json"

_STR = {"type": "string"}
_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": _STR, "message": _STR, "field": _STR},
        }
    },
}
_ERRORS = {
    400: "malformed JSON or query",
    401: "no or invalid bearer token",
    404: "no article with this id",
    409: "an article with this id exists",
    413: "body or field too large",
    422: "a field is missing, of the wrong type, or unknown",
    429: "too many searches from this client; see Retry-After",
}
_ARTICLE = {
    "type": "object",
    "required": ["id", "title", "body", "questions", "tags", "published"],
    "properties": {
        "id": _STR,
        "title": _STR,
        "body": {"type": "string", "description": "Markdown"},
        "questions": {"type": "array", "items": _STR, "description": "ways customers ask"},
        "tags": {"type": "array", "items": _STR},
        "published": {"type": "boolean"},
        "url": {"type": ["string", "null"]},
        "created_at": {"type": "string", "format": "date-time"},
        "updated_at": {"type": "string", "format": "date-time"},
        "views": {"type": "integer"},
        "helpful": {"type": "integer"},
        "not_helpful": {"type": "integer"},
    },
}
_ARTICLE_IN = {
    "type": "object",
    "description": "id, title and body (or questions) for a new article; unknown fields: 422",
    "properties": {
        k: v
        for k, v in _ARTICLE["properties"].items()  # type: ignore[attr-defined]
        if k in ("id", "title", "body", "questions", "tags", "published", "url")
    },
}
_RESULT = {
    "type": "object",
    "properties": {
        "id": _STR,
        "title": _STR,
        "url": {"type": ["string", "null"]},
        "help_url": _STR,
        "score": {"type": "number"},
        "snippet": _STR,
        "highlights": {"type": "array", "items": {"type": "array", "items": {"type": "integer"}}},
        "snippet_html": {"type": "string", "description": "escaped, with <mark> highlights"},
    },
}
_SEARCH_OUT = {
    "type": "object",
    "properties": {
        "query": _STR,
        "total": {"type": "integer"},
        "results": {"type": "array", "items": _RESULT},
    },
}


def _errors(*statuses: int) -> dict[str, Any]:
    return {
        str(s): {"description": _ERRORS[s], "content": {JSON: {"schema": _ERROR}}} for s in statuses
    }


def _ok(description: str, schema: dict[str, Any], status: int = 200) -> dict[str, Any]:
    return {str(status): {"description": description, "content": {JSON: {"schema": schema}}}}


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }


_ID = {
    "name": "id",
    "in": "path",
    "required": True,
    "description": "the article's id",
    "schema": _STR,
}
_LIMIT = _query(
    "limit", "results (1-50, default 10)", {"type": "integer", "minimum": 1, "maximum": 50}
)


def _op(operation_id: str, summary: str, responses: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "operationId": operation_id,
        "tags": [TAG],
        "summary": summary,
        "responses": responses,
        **extra,
    }


SEARCH_GET = _op(
    "kbSearch",
    "Search published articles (public; rate-limited per client)",
    {**_ok("ranked articles with highlighted snippets", _SEARCH_OUT), **_errors(400, 429)},
    parameters=[_query("q", "the question (required)", _STR), _LIMIT],
)
SEARCH_POST = _op(
    "kbSearchPost",
    "Search published articles, the query in a JSON body (public; rate-limited)",
    {**_ok("ranked articles with highlighted snippets", _SEARCH_OUT), **_errors(400, 413, 429)},
    parameters=[_LIMIT],
    requestBody={
        "required": True,
        "content": {
            JSON: {"schema": {"type": "object", "required": ["q"], "properties": {"q": _STR}}}
        },
    },
)
OPERATIONS: dict[str, dict[str, dict[str, Any]]] = {
    "search": {"get": SEARCH_GET, "post": SEARCH_POST},
    "list_articles": {
        "get": _op(
            "kbListArticles",
            "List articles (drafts too), newest edits first",
            {
                **_ok(
                    "a page of articles",
                    {
                        "type": "object",
                        "properties": {
                            "items": {"type": "array", "items": _ARTICLE},
                            "total": {"type": "integer"},
                            "limit": {"type": "integer"},
                            "offset": {"type": "integer"},
                        },
                    },
                ),
                **_errors(400, 401),
            },
            parameters=[
                _query("q", "words in the title or body", _STR),
                _query("published", "true or false", {"type": "string", "enum": ["true", "false"]}),
                _query(
                    "limit", "1-500, default 50", {"type": "integer", "minimum": 1, "maximum": 500}
                ),
                _query("offset", "default 0", {"type": "integer", "minimum": 0}),
            ],
        )
    },
    "create_article": {
        "post": _op(
            "kbCreateArticle",
            "Create an article; the bot answers from it at once",
            {**_ok("the stored article", _ARTICLE, 201), **_errors(400, 401, 409, 413, 422)},
            requestBody={"required": True, "content": {JSON: {"schema": _ARTICLE_IN}}},
        )
    },
    "get_article": {
        "get": _op(
            "kbGetArticle",
            "One article",
            {**_ok("the article", _ARTICLE), **_errors(401, 404)},
            parameters=[_ID],
        )
    },
    "update_article": {
        method: _op(
            f"kb{method.capitalize()}Article",
            summary,
            {**_ok("the stored article", _ARTICLE), **_errors(400, 401, 404, 413, 422)},
            parameters=[_ID],
            requestBody={"required": True, "content": {JSON: {"schema": _ARTICLE_IN}}},
        )
        for method, summary in (
            ("put", "Replace an article (fields not given take their defaults)"),
            ("patch", "Change only the fields given"),
        )
    },
    "delete_article": {
        "delete": _op(
            "kbDeleteArticle",
            "Delete an article",
            {"204": {"description": "deleted"}, **_errors(401, 404)},
            parameters=[_ID],
        )
    },
    "gaps": {
        "get": _op(
            "kbGaps",
            "Knowledge gaps: declined and not-helpful questions grouped, biggest first",
            {
                **_ok(
                    "the gaps",
                    {
                        "type": "object",
                        "properties": {
                            "questions": {"type": "integer"},
                            "gaps": {"type": "array", "items": {"type": "object"}},
                        },
                    },
                ),
                **_errors(400, 401),
            },
            parameters=[
                _query(
                    "limit", "1-200, default 20", {"type": "integer", "minimum": 1, "maximum": 200}
                )
            ],
        )
    },
    "reload": {
        "post": _op(
            "kbReload",
            "Rebuild the index from the database (after a command-line import)",
            {
                **_ok(
                    "how many articles are indexed",
                    {"type": "object", "properties": {"articles": {"type": "integer"}}},
                ),
                **_errors(401),
            },
            requestBody={
                "required": False,
                "content": {
                    JSON: {"schema": {"type": "object", "description": "not read; may be empty"}}
                },
            },
        )
    },
}


def documented(view: Handler, name: str) -> Handler:
    """``view`` carrying its operations (see the module docstring)."""
    setattr(view, OPERATIONS_ATTRIBUTE, OPERATIONS[name])
    return view
