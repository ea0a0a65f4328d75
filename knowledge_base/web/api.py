"""The article API: ``/api/v1/kb/articles`` CRUD, ``/api/v1/kb/gaps``, ``/api/v1/kb/reload``.

Guarded by the core's bearer-token middleware (every ``/api/`` path that is
not public). Every write goes to the database first and then, incrementally,
into the live index, so the bot answers from an edited article at once.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from knowledge_base.gaps import find_gaps
from knowledge_base.storage.store import DuplicateArticle, StoredArticle
from knowledge_base.web.common import KB_WEB, KBApiError, int_query, json_errors, json_response
from knowledge_base.web.openapi import documented
from knowledge_base.web.payload import (
    new_article,
    patched_article,
    read_json_object,
    replaced_article,
    valid_id,
)
from knowledge_base.web.search import search_view

PREFIX = "/api/v1/kb"


def _not_found(article_id: str) -> KBApiError:
    return KBApiError(404, "not_found", f"no article with id {article_id[:100]!r}")


async def _existing(request: web.Request) -> StoredArticle:
    article_id = request.match_info["id"]
    stored = await request.app[KB_WEB].live.store.get(article_id) if valid_id(article_id) else None
    if stored is None:
        raise _not_found(article_id)
    return stored


@json_errors
async def list_articles(request: web.Request) -> web.StreamResponse:
    limit = int_query(request, "limit", 50, 1, 500)
    offset = int_query(request, "offset", 0, 0, 10**9)
    q = request.query.get("q", "").strip()[:200] or None
    raw_published = request.query.get("published")
    if raw_published not in (None, "", "true", "false"):
        raise KBApiError(400, "bad_query", "published must be true or false")
    published = None if not raw_published else raw_published == "true"
    store = request.app[KB_WEB].live.store
    rows, total = await store.page(q=q, published=published, limit=limit, offset=offset)
    return json_response(
        {"items": [r.to_json() for r in rows], "total": total, "limit": limit, "offset": offset}
    )


@json_errors
async def get_article(request: web.Request) -> web.StreamResponse:
    return json_response((await _existing(request)).to_json())


@json_errors
async def create_article(request: web.Request) -> web.StreamResponse:
    article = new_article(await read_json_object(request))
    try:
        stored = await request.app[KB_WEB].live.create(article)
    except DuplicateArticle:
        raise KBApiError(409, "duplicate", f"an article with id {article.id!r} exists") from None
    return json_response(stored.to_json(), status=201)


@json_errors
async def update_article(request: web.Request) -> web.StreamResponse:
    """PUT replaces the whole article, PATCH only the fields given; 404 for an unknown id."""
    data = await read_json_object(request)
    current = await _existing(request)
    if request.method == "PUT":
        article = replaced_article(current.article.id, data)
    else:
        article = patched_article(current.article, data)
    stored = await request.app[KB_WEB].live.save(article)
    if stored is None:  # deleted meanwhile
        raise _not_found(article.id)
    return json_response(stored.to_json())


@json_errors
async def delete_article(request: web.Request) -> web.StreamResponse:
    article_id = request.match_info["id"]
    if not valid_id(article_id) or not await request.app[KB_WEB].live.delete(article_id):
        raise _not_found(article_id)
    return web.Response(status=204)


@json_errors
async def gaps(request: web.Request) -> web.StreamResponse:
    """What to write next: unsettled questions grouped by similarity, biggest first."""
    limit = int_query(request, "limit", 20, 1, 200)
    live = request.app[KB_WEB].live
    questions = await live.store.gap_questions()
    await live.ready.wait()
    found = await asyncio.to_thread(find_gaps, questions, live.kb, limit=limit)
    return json_response({"questions": len(questions), "gaps": [g.to_json() for g in found]})


@json_errors
async def reload(request: web.Request) -> web.StreamResponse:
    """Rebuild the index from the database, e.g. after ``contactcenter kb import``."""
    count = await request.app[KB_WEB].live.reload()
    return json_response({"articles": count})


def add_routes(app: web.Application) -> None:
    search = documented(search_view, "search")
    app.router.add_get(f"{PREFIX}/search", search)
    app.router.add_post(f"{PREFIX}/search", search)
    app.router.add_get(f"{PREFIX}/articles", documented(list_articles, "list_articles"))
    app.router.add_post(f"{PREFIX}/articles", documented(create_article, "create_article"))
    app.router.add_get(f"{PREFIX}/articles/{{id}}", documented(get_article, "get_article"))
    update = documented(update_article, "update_article")
    app.router.add_put(f"{PREFIX}/articles/{{id}}", update)
    app.router.add_patch(f"{PREFIX}/articles/{{id}}", update)
    app.router.add_delete(f"{PREFIX}/articles/{{id}}", documented(delete_article, "delete_article"))
    app.router.add_get(f"{PREFIX}/gaps", documented(gaps, "gaps"))
    app.router.add_post(f"{PREFIX}/reload", documented(reload, "reload"))
