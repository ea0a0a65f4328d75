"""Knowledge gaps from real conversations: declined questions and "no" answers."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api


async def _say(api: Api, sender: str, message_id: str, text: str) -> dict[str, Any]:
    status, body = await api.call(
        "POST", "/api/v1/messages", json={"id": message_id, "from": sender, "text": text}
    )
    assert status in (200, 201), body
    result: dict[str, Any] = body
    return result


async def test_gaps_group_declined_and_unhelpful_questions(kb_api: Api) -> None:
    declined = [
        "Can I bring my dog into the store?",
        "may I bring my dog into the store",
        "Can I bring my dog into the store?",
    ]
    for i, text in enumerate(declined):
        await _say(kb_api, f"renter{i}@example.com", f"d{i}", text)
    await _say(kb_api, "astro@example.com", "x1", "what is the capital of Australia")
    # Answered, then "no": the answered question becomes a gap too.
    await _say(kb_api, "unhappy@example.com", "n1", "how do i retrun my jacket")
    await _say(kb_api, "unhappy@example.com", "n2", "no")

    status, body = await kb_api.call("GET", "/api/v1/kb/gaps")
    assert status == 200, body
    assert body["questions"] == 5
    gaps = body["gaps"]
    assert gaps[0]["size"] == 3 and gaps[0]["declined"] == 3
    assert gaps[0]["examples"][0] == "Can I bring my dog into the store?"
    unhelpful = [g for g in gaps if g["not_helpful"]]
    assert unhelpful and unhelpful[0]["examples"] == ["how do i retrun my jacket"]
    assert unhelpful[0]["nearest_article"]["id"] == "returns"
    status, _ = await kb_api.call("GET", "/api/v1/kb/gaps", auth=False)
    assert status == 401


async def test_an_escalated_decline_shows_the_candidates_to_the_agent(kb_api: Api) -> None:
    sent = await _say(kb_api, "dog@example.com", "dog1", "Can I bring my dog into the store?")
    status, conv = await kb_api.call("GET", f"/api/v1/conversations/{sent['conversation_id']}")
    assert status == 200
    assert conv["status"] == "waiting_for_agent"
    ids = [s["article_id"] for s in conv["suggestions"]]
    assert 1 <= len(ids) <= 3 and "store-hours" in ids
