"""The quick start: with ``answerer = "kb"`` and ``articles = "demo"`` the bot, the
search API and the help centre answer from the demo knowledge base at once."""

from __future__ import annotations

from typing import Any

from knowledge_base.demo import demo_articles_path
from knowledge_base.importers import read_jsonl
from tests.conftest import Api

RETURNS = next(a for a in read_jsonl(demo_articles_path()).articles if a.id == "returns")


async def _messages(api: Api, conversation_id: int) -> list[dict[str, Any]]:
    status, body = await api.call("GET", f"/api/v1/conversations/{conversation_id}")
    assert status == 200, body
    messages: list[dict[str, Any]] = body["messages"]
    return messages


async def test_bot_answers_a_misspelt_question_from_the_demo(kb_api: Api) -> None:
    status, body = await kb_api.call(
        "POST",
        "/api/v1/messages",
        json={"id": "m1", "from": "ann@example.com", "text": "how do i retrun my jacket"},
    )
    assert status == 201, body
    messages = await _messages(kb_api, body["conversation_id"])
    bot = [m for m in messages if m["author_kind"] == "bot"]
    assert bot, messages
    assert bot[0]["meta"]["decision"] == "answer"
    assert bot[0]["text"].startswith(RETURNS.title)


async def test_help_center_lists_the_returns_article(kb_api: Api) -> None:
    status, page = await kb_api.call("GET", "/help?q=retrun jacket", auth=False)
    assert status == 200
    assert 'href="/help/articles/returns?q=retrun+jacket"' in page
    assert "<mark>" in page


async def test_search_api_finds_the_returns_article(kb_api: Api) -> None:
    status, body = await kb_api.call(
        "GET", "/api/v1/kb/search", params={"q": "retrun jacket"}, auth=False
    )
    assert status == 200, body
    top = body["results"][0]
    assert top["id"] == "returns"
    assert 0 < top["score"] <= 1
    assert top["highlights"], top
    start, end = top["highlights"][0]
    assert top["snippet"][start:end].lower().startswith("return")
    assert "<mark>" in top["snippet_html"]


async def test_demo_is_imported_into_the_database_once(kb_api: Api) -> None:
    status, body = await kb_api.call("GET", "/api/v1/kb/articles", params={"limit": 500})
    assert status == 200
    assert body["total"] == 31
    assert {"returns", "password-reset"} <= {a["id"] for a in body["items"]}
