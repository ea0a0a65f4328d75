"""``/api/v1/kb/articles``: CRUD with clear 4xx errors, and the live index kept in step."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api

ARTICLES = "/api/v1/kb/articles"


def article(article_id: str = "loyalty-points", **extra: Any) -> dict[str, Any]:
    return {
        "id": article_id,
        "title": "How do loyalty points work?",
        "body": "You earn **one point** per dollar. Points expire after 12 months.",
        "questions": ["How many points do I earn?", "Do my loyalty points expire?"],
        "tags": ["loyalty"],
        "url": "https://help.example/loyalty",
        **extra,
    }


async def _top(api: Api, q: str) -> str | None:
    status, body = await api.call("GET", "/api/v1/kb/search", params={"q": q}, auth=False)
    assert status == 200, body
    return body["results"][0]["id"] if body["results"] else None


async def test_create_get_update_delete_and_the_index_follows(kb_api: Api) -> None:
    status, created = await kb_api.call("POST", ARTICLES, json=article())
    assert status == 201, created
    assert created["views"] == 0 and created["published"] is True
    assert await _top(kb_api, "do loyalty points expire") == "loyalty-points"

    status, got = await kb_api.call("GET", f"{ARTICLES}/loyalty-points")
    assert status == 200 and got["title"] == "How do loyalty points work?"

    status, patched = await kb_api.call(
        "PATCH",
        f"{ARTICLES}/loyalty-points",
        json={"title": "Reward stars", "questions": ["How do reward stars work?"]},
    )
    assert status == 200, patched
    assert patched["title"] == "Reward stars" and patched["tags"] == ["loyalty"]
    assert await _top(kb_api, "how do reward stars work") == "loyalty-points"

    status, put = await kb_api.call(
        "PUT", f"{ARTICLES}/loyalty-points", json={"title": "Reward stars", "published": False}
    )
    assert status == 200 and put["questions"] == [] and put["published"] is False
    assert await _top(kb_api, "how do reward stars work") != "loyalty-points"

    status, _ = await kb_api.call("DELETE", f"{ARTICLES}/loyalty-points")
    assert status == 204
    status, body = await kb_api.call("GET", f"{ARTICLES}/loyalty-points")
    assert status == 404 and body["error"]["code"] == "not_found"


async def test_the_bot_answers_from_a_new_article_at_once(kb_api: Api) -> None:
    await kb_api.call("POST", ARTICLES, json=article())
    answer = await kb_api.services.router.answerer.answer("Do my loyalty points expire?")
    assert answer.decision == "answer"
    assert answer.suggestions[0].article_id == "loyalty-points"


async def test_edits_are_incremental_not_rebuilds(
    kb_api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    import knowledge_base.live as live_module

    def no_rebuild(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("an edit must not rebuild the knowledge base")

    monkeypatch.setattr(live_module, "KnowledgeBase", no_rebuild)
    assert (await kb_api.call("POST", ARTICLES, json=article()))[0] == 201
    assert (await kb_api.call("PATCH", f"{ARTICLES}/loyalty-points", json={"body": "x"}))[0] == 200
    assert (await kb_api.call("DELETE", f"{ARTICLES}/loyalty-points"))[0] == 204


async def test_list_is_paginated_and_filtered(kb_api: Api) -> None:
    status, page = await kb_api.call("GET", ARTICLES, params={"limit": 5, "offset": 5})
    assert status == 200
    assert len(page["items"]) == 5 and page["total"] == 31 and page["offset"] == 5
    status, found = await kb_api.call("GET", ARTICLES, params={"q": "PAYPAL"})
    assert status == 200 and found["total"] >= 1
    assert all("paypal" in (a["title"] + a["body"]).lower() for a in found["items"])
    status, none = await kb_api.call("GET", ARTICLES, params={"q": "100%_"})
    assert status == 200 and none["total"] == 0  # LIKE wildcards are escaped
    status, bad = await kb_api.call("GET", ARTICLES, params={"limit": "lots"})
    assert status == 400 and bad["error"]["code"] == "bad_query"


async def test_articles_need_the_token(kb_api: Api) -> None:
    status, body = await kb_api.call("GET", ARTICLES, auth=False)
    assert status == 401 and body["error"]["code"] == "unauthorized"
    status, _ = await kb_api.call("POST", ARTICLES, json=article(), auth=False)
    assert status == 401


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ({"title": "no id"}, 422, "missing_field"),
        ({"id": "x"}, 422, "missing_field"),
        ({"id": "bad id!", "title": "t"}, 422, "bad_field"),
        ({"id": "x", "title": 3}, 422, "bad_field"),
        ({"id": "x", "title": "   "}, 422, "bad_field"),
        ({"id": "x", "title": "t", "questions": "q"}, 422, "bad_field"),
        ({"id": "x", "title": "t", "questions": [1, 2]}, 422, "bad_field"),
        ({"id": "x", "title": "t", "published": "no"}, 422, "bad_field"),
        ({"id": "x", "title": "t", "url": "javascript:alert(1)"}, 422, "bad_field"),
        ({"id": "x", "title": "t", "colour": "red"}, 422, "unknown_field"),
        ({"id": "x", "title": "t", "body": "b" * 200_001}, 413, "too_long"),
        ({"id": "x", "title": "t\x00"}, 422, "bad_field"),
    ],
)
async def test_invalid_articles_get_clear_errors(
    kb_api: Api, payload: dict[str, Any], status: int, code: str
) -> None:
    got, body = await kb_api.call("POST", ARTICLES, json=payload)
    assert got == status, body
    assert body["error"]["code"] == code and body["error"]["message"]


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"{not json", "bad_json"),
        (b"[1, 2]", "bad_json"),
        (b"\xff\xfe", "bad_json"),
        (b"", "bad_json"),
    ],
)
async def test_malformed_bodies_are_400(kb_api: Api, raw: bytes, code: str) -> None:
    status, body = await kb_api.call(
        "POST", ARTICLES, data=raw, headers={"Content-Type": "application/json"}
    )
    assert status == 400 and body["error"]["code"] == code


async def test_oversized_body_is_413(kb_api: Api) -> None:
    status, body = await kb_api.call(
        "POST", ARTICLES, data=b"x" * (600 * 1024), headers={"Content-Type": "application/json"}
    )
    assert status == 413 and body["error"]["code"] == "too_large"


async def test_duplicate_and_unknown_ids(kb_api: Api) -> None:
    status, body = await kb_api.call("POST", ARTICLES, json=article("returns"))
    assert status == 409 and body["error"]["code"] == "duplicate"
    for method in ("GET", "PATCH", "PUT", "DELETE"):
        kwargs: dict[str, Any] = {"json": {"title": "t"}} if method in ("PATCH", "PUT") else {}
        status, body = await kb_api.call(method, f"{ARTICLES}/no-such-article", **kwargs)
        assert status == 404 and body["error"]["code"] == "not_found", method
    status, body = await kb_api.call("PATCH", f"{ARTICLES}/returns", json={"id": "other"})
    assert status == 422 and body["error"]["field"] == "id"
    status, body = await kb_api.call("PATCH", f"{ARTICLES}/returns", json={"title": None})
    assert status == 422


async def test_reload_rereads_the_database(kb_api: Api) -> None:
    status, body = await kb_api.call("POST", "/api/v1/kb/reload")
    assert status == 200 and body["articles"] == 31
