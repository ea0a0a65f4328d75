"""Public self-help search: ``GET /api/v1/kb/search?q=`` (or POST ``{"q": ...}``).

Unauthenticated (the view is marked ``@public``) because it is what a
help-centre search box or a web-chat widget calls from the customer's browser.
That makes it the one public endpoint that costs CPU per request, so it is
rate limited per client IP. Queries are bounded: an empty one is a client bug
(400), one longer than any search box would send is refused (400) rather
than cut silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from aiohttp import web

from knowledge_base.highlight import Snippet, make_snippet
from knowledge_base.kb import KnowledgeBase
from knowledge_base.normalize import MAX_QUERY_CHARS
from knowledge_base.web.common import (
    KB_WEB,
    KBApiError,
    KBWeb,
    client_ip,
    int_query,
    json_errors,
    json_response,
    public,
)
from knowledge_base.web.payload import read_json_object


@dataclass(frozen=True, slots=True)
class SearchResult:
    article_id: str
    title: str
    url: str | None
    score: float
    snippet: Snippet

    @property
    def help_path(self) -> str:
        return "/help/articles/" + quote(self.article_id, safe="")

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.article_id,
            "title": self.title,
            "url": self.url,
            "help_url": self.help_path,
            "score": round(self.score, 4),
            "snippet": self.snippet.text,
            "highlights": [list(span) for span in self.snippet.highlights],
            "snippet_html": self.snippet.html(),
        }


class QueryError(ValueError):
    """The query cannot be searched; the message is safe to show."""


def check_query(raw: object) -> str:
    """The query stripped; :class:`QueryError` if it is missing, empty or too long."""
    if not isinstance(raw, str):
        raise QueryError("the query q must be a string")
    query = raw.strip()
    if not query:
        raise QueryError("the query q is empty")
    if len(query) > MAX_QUERY_CHARS:
        raise QueryError(f"the query is longer than {MAX_QUERY_CHARS} characters")
    return query


def search_results(kb: KnowledgeBase, query: str, limit: int) -> list[SearchResult]:
    """Ranked published articles for ``query`` with highlighted snippets (blocking)."""
    results = []
    for hit in kb.search(query, limit):
        article = hit.article
        if not article.published:
            continue
        source = article.body if article.body.strip() else hit.matched
        results.append(
            SearchResult(
                article.id, article.title, article.url, hit.score, make_snippet(source, query)
            )
        )
    return results


async def run_search(kb_web: KBWeb, query: str, limit: int) -> list[SearchResult]:
    """Search once the index is ready; on the loop or in a thread, as its cost says."""
    live = kb_web.live
    await live.ready.wait()
    kb = live.kb
    return await live.reads.run(lambda: search_results(kb, query, limit))


def rate_limit_wait(request: web.Request, kb_web: KBWeb) -> float:
    """0.0 if this client may search now, else the seconds to wait."""
    return kb_web.limiter.take(client_ip(request, kb_web.config.trust_forwarded))


@public
@json_errors
async def search_view(request: web.Request) -> web.StreamResponse:
    kb_web = request.app[KB_WEB]
    wait = rate_limit_wait(request, kb_web)
    if wait:
        retry = kb_web.limiter.retry_after_header(wait)
        raise KBApiError(
            429,
            "rate_limited",
            f"too many searches; retry in {retry} s",
            headers={"Retry-After": retry},
            retry_after=int(retry),
        )
    if request.method == "POST":
        raw: object = (await read_json_object(request)).get("q")
    else:
        raw = request.query.get("q", "")
    limit = int_query(request, "limit", 10, 1, 50)
    try:
        query = check_query(raw)
    except QueryError as exc:
        raise KBApiError(400, "bad_query", str(exc)) from None
    results = await run_search(kb_web, query, limit)
    return json_response(
        {"query": query, "total": len(results), "results": [r.to_json() for r in results]}
    )
