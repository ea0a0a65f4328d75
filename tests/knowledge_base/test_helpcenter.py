"""The help centre at /help: server-rendered, no JavaScript, no script injection."""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa

from knowledge_base.storage.tables import kb_feedback
from tests.conftest import Api

HOSTILE_BODY = """# Heading <script>alert('h')</script>

Hello <script>alert(1)</script> and <img src=x onerror="alert(2)">.

[click me](javascript:alert(3)) [data](data:text/html;base64,PHNjcmlwdD4=)
[ok link](https://example.com/a?b=1&c="2") [quote](https://x.example/"onmouseover="alert(4))
**bold "quoted" 'text'** and `<code>` and <a href="javascript:alert(5)">raw</a>
"""


async def _create(api: Api, **fields: Any) -> None:
    payload = {"id": "hostile", "title": "Hostile <b>\"title\"</b> 'x'", "body": HOSTILE_BODY}
    status, body = await api.call("POST", "/api/v1/kb/articles", json={**payload, **fields})
    assert status == 201, body


def _no_script(page: str) -> None:
    lower = page.lower()
    assert "<script" not in lower
    assert "javascript:" not in re.sub(r"&[a-z#0-9]+;", "", lower).split("<main>")[0]
    assert not re.search(r"<[^>]*\son\w+\s*=", lower), "an event-handler attribute got through"
    assert not re.search(r"""href\s*=\s*["']?\s*(javascript|data):""", lower)
    assert "<img" not in lower
    assert "<b>" not in lower


async def test_home_lists_articles_and_has_a_search_form(kb_api: Api) -> None:
    status, page = await kb_api.call("GET", "/help", auth=False)
    assert status == 200
    assert '<form class="search" method="get" action="/help"' in page
    assert 'href="/help/articles/returns"' in page
    assert "<script" not in page.lower()


async def test_search_results_escape_the_query(kb_api: Api) -> None:
    status, page = await kb_api.call(
        "GET", "/help", params={"q": '"><script>alert(1)</script> return'}, auth=False
    )
    assert status == 200
    _no_script(page)
    assert "&quot;&gt;&lt;script&gt;" in page
    assert 'href="/help/articles/returns?q=' in page


async def test_article_page_renders_markdown_safely(kb_api: Api) -> None:
    await _create(kb_api)
    async with kb_api.client.get("/help/articles/hostile") as resp:
        assert resp.status == 200
        assert "script-src" not in resp.headers["Content-Security-Policy"]  # none allowed
        assert "default-src 'none'" in resp.headers["Content-Security-Policy"]
        page = await resp.text()
    _no_script(page)
    assert "<h1>Heading &lt;script&gt;" in page
    assert (
        '<a href="https://example.com/a?b=1&amp;c=&quot;2&quot;" rel="nofollow noopener">' in page
    )
    assert "<strong>bold &quot;quoted&quot; &#x27;text&#x27;</strong>" in page
    assert "<code>&lt;code&gt;</code>" in page
    assert "Hostile &lt;b&gt;&quot;title&quot;&lt;/b&gt; &#x27;x&#x27;" in page


async def test_demo_article_page(kb_api: Api) -> None:
    status, page = await kb_api.call("GET", "/help/articles/returns?q=retrun", auth=False)
    assert status == 200
    assert "<strong>60 days</strong>" in page
    assert "Was this helpful?" in page
    assert 'name="q" value="retrun"' in page
    assert (await kb_api.call("GET", "/help/help.css", auth=False))[0] == 200


async def test_unknown_and_unpublished_articles_are_404(kb_api: Api) -> None:
    status, page = await kb_api.call("GET", "/help/articles/nope", auth=False)
    assert status == 404 and "Article not found" in page
    await _create(kb_api, published=False)
    status, _ = await kb_api.call("GET", "/help/articles/hostile", auth=False)
    assert status == 404


async def test_views_and_feedback_are_counted(kb_api: Api) -> None:
    for _ in range(2):
        assert (await kb_api.call("GET", "/help/articles/returns", auth=False))[0] == 200
    async with kb_api.client.post(
        "/help/articles/returns/feedback",
        data={"helpful": "no", "q": "can I return a <worn> jacket"},
        allow_redirects=False,
    ) as resp:
        assert resp.status == 303
        assert resp.headers["Location"] == "/help/articles/returns?thanks=no"
    async with kb_api.client.post(
        "/help/articles/returns/feedback", data={"helpful": "yes"}, allow_redirects=True
    ) as resp:
        assert resp.status == 200
        assert "Thanks for your feedback" in await resp.text()
    _, article = await kb_api.call("GET", "/api/v1/kb/articles/returns")
    assert article["views"] == 3 and article["helpful"] == 1 and article["not_helpful"] == 1

    async with kb_api.services.db.session() as s:
        rows = (await (await s.connection()).execute(sa.select(kb_feedback))).all()
    assert [(r.helpful, r.question) for r in rows] == [
        (False, "can I return a <worn> jacket"),
        (True, None),
    ]


async def test_bad_feedback_is_400_and_unknown_article_404(kb_api: Api) -> None:
    async with kb_api.client.post(
        "/help/articles/returns/feedback", data={"helpful": "maybe"}
    ) as resp:
        assert resp.status == 400
    async with kb_api.client.post("/help/articles/nope/feedback", data={"helpful": "yes"}) as resp:
        assert resp.status == 404


async def test_help_search_edge_cases(kb_api: Api) -> None:
    status, page = await kb_api.call("GET", "/help", params={"q": "   "}, auth=False)
    assert status == 200 and "How can we help?" in page
    status, page = await kb_api.call("GET", "/help", params={"q": "x" * 5_000}, auth=False)
    assert status == 400
    status, page = await kb_api.call("GET", "/help", params={"q": "😀 🙏"}, auth=False)
    assert status == 200 and "No articles match" in page
