"""The public help centre at ``/help``: search, articles, "Was this helpful?".

Plain HTML forms (GET for search, POST for feedback followed by a redirect),
so it works without JavaScript, in any browser, and is what search engines
see. Pages carry a strict Content-Security-Policy (no script at all, styles
only from ourselves) as a second line of defence behind the escaping.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from knowledge_base.web import pages
from knowledge_base.web.common import KB_WEB, KBWeb
from knowledge_base.web.search import QueryError, check_query, rate_limit_wait, run_search

CSS = (Path(__file__).with_name("help.css")).read_text(encoding="utf-8")
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' https: data:; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
MAX_FORM_QUESTION = 500
HOME_ARTICLES = 100


def _html(text: str, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        text=text,
        status=status,
        content_type="text/html",
        charset="utf-8",
        headers={**SECURITY_HEADERS, **(headers or {})},
    )


def _not_found(kb_web: KBWeb) -> web.Response:
    page = pages.message_page(
        kb_web.config.help_title, "Article not found", "This article does not exist (any more)."
    )
    return _html(page, 404)


async def help_home(request: web.Request) -> web.StreamResponse:
    """``/help``: the article list, or search results for ``?q=``."""
    kb_web = request.app[KB_WEB]
    site = kb_web.config.help_title
    raw = request.query.get("q", "")
    if not raw.strip():
        articles, _ = await kb_web.live.store.page(published=True, limit=HOME_ARTICLES)
        return _html(pages.home_page(site, articles))
    try:
        query = check_query(raw)
    except QueryError as exc:
        return _html(pages.message_page(site, "Cannot search for that", str(exc)), 400)
    wait = rate_limit_wait(request, kb_web)
    if wait:
        retry = kb_web.limiter.retry_after_header(wait)
        page = pages.message_page(
            site, "Too many searches", f"Please wait {retry} seconds and try again."
        )
        return _html(page, 429, {"Retry-After": retry})
    results = await run_search(kb_web, query, 10)
    return _html(pages.results_page(site, query, results))


def _article_id(request: web.Request) -> str:
    return request.match_info["id"][:300]


async def help_article(request: web.Request) -> web.StreamResponse:
    kb_web = request.app[KB_WEB]
    stored = await kb_web.live.store.get(_article_id(request))
    if stored is None or not stored.article.published:
        return _not_found(kb_web)
    if request.method == "GET":
        await kb_web.live.store.count_view(stored.article.id)
    query = request.query.get("q", "").strip()[:MAX_FORM_QUESTION]
    thanks = request.query.get("thanks")
    page = pages.article_page(
        kb_web.config.help_title, stored, query, thanks if thanks in ("yes", "no") else None
    )
    return _html(page)


async def help_feedback(request: web.Request) -> web.StreamResponse:
    """Count a Yes/No vote, then redirect back to the article (post/redirect/get)."""
    kb_web = request.app[KB_WEB]
    article_id = _article_id(request)
    form = await request.post()
    vote = form.get("helpful")
    if vote not in ("yes", "no"):
        page = pages.message_page(kb_web.config.help_title, "Bad request", "Choose Yes or No.")
        return _html(page, 400)
    question = form.get("q")
    question = question.strip()[:MAX_FORM_QUESTION] if isinstance(question, str) else ""
    stored = await kb_web.live.store.get(article_id)
    if stored is None or not stored.article.published:
        return _not_found(kb_web)
    await kb_web.live.store.record_feedback(article_id, vote == "yes", question or None)
    raise web.HTTPSeeOther(pages.article_path(article_id) + f"?thanks={vote}")


async def help_css(request: web.Request) -> web.StreamResponse:
    return web.Response(
        text=CSS,
        content_type="text/css",
        charset="utf-8",
        headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/help", help_home)
    app.router.add_get("/help/", help_home)
    app.router.add_get("/help/help.css", help_css)
    app.router.add_get("/help/articles/{id}", help_article)
    app.router.add_post("/help/articles/{id}/feedback", help_feedback)
