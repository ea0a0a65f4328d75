"""Agents and the outbox through the API."""

from __future__ import annotations

from sqlmodel import select

from contactcenter.storage.models import Delivery
from tests.api.helpers import agent, conversation, inbound, settle
from tests.conftest import Api


async def test_agent_lifecycle(api: Api) -> None:
    ann = await agent(api, "Ann", "Ann@Example.com")
    assert ann["email"] == "ann@example.com" and ann["active"] is True
    status, dup = await api.call(
        "POST", "/api/v1/agents", json={"name": "Other Ann", "email": "ANN@example.com"}
    )
    assert status == 409, dup
    assert dup["error"]["code"] == "conflict"
    bob = await agent(api, "Bob")
    assert bob["email"] is None

    status, got = await api.call("GET", f"/api/v1/agents/{ann['id']}")
    assert status == 200 and got == ann

    status, changed = await api.call(
        "PATCH", f"/api/v1/agents/{ann['id']}", json={"name": "Ann B.", "active": False}
    )
    assert status == 200, changed
    assert (changed["name"], changed["active"], changed["email"]) == (
        "Ann B.",
        False,
        "ann@example.com",
    )

    conv_id = (await inbound(api, "yan@example.com"))["conversation_id"]
    status, refused = await api.call(
        "POST", f"/api/v1/conversations/{conv_id}/assign", json={"agent_id": ann["id"]}
    )
    assert status == 409, refused
    assert (await conversation(api, conv_id))["assignee_id"] is None

    status, page = await api.call("GET", "/api/v1/agents")
    assert [a["id"] for a in page["items"]] == [ann["id"], bob["id"]]
    status, page = await api.call("GET", "/api/v1/agents?active=true")
    assert [a["id"] for a in page["items"]] == [bob["id"]]
    status, page = await api.call("GET", "/api/v1/agents?limit=1")
    assert [a["id"] for a in page["items"]] == [ann["id"]]
    status, page = await api.call("GET", f"/api/v1/agents?limit=1&cursor={page['next_cursor']}")
    assert [a["id"] for a in page["items"]] == [bob["id"]] and page["next_cursor"] is None


async def test_failed_delivery_is_visible_and_can_be_retried(api: Api) -> None:
    conv_id = (await inbound(api, "zoe@example.com"))["conversation_id"]
    status, message = await api.call(
        "POST", f"/api/v1/conversations/{conv_id}/messages", json={"text": "We are on it"}
    )
    assert status == 201
    await settle(api)
    async with api.services.db.transaction() as s:  # what the dispatcher does after max_age
        delivery = (
            await s.exec(select(Delivery).where(Delivery.message_id == message["id"]))
        ).one()
        target_id = delivery.id
        delivery.status, delivery.last_error = "failed", "webhook unreachable"
        s.add(delivery)

    status, page = await api.call("GET", "/api/v1/deliveries?status=failed")
    assert status == 200, page
    [failed] = page["items"]
    assert failed["id"] == target_id and failed["last_error"] == "webhook unreachable"
    status, page = await api.call("GET", "/api/v1/deliveries?status=sent,failed&kind=message")
    assert len(page["items"]) == 2

    status, retried = await api.call("POST", f"/api/v1/deliveries/{target_id}/retry")
    assert status == 200, retried
    assert retried["status"] == "pending"
    await settle(api)
    status, page = await api.call("GET", "/api/v1/deliveries?status=failed")
    assert page["items"] == []
    assert "delivery_retried" in [e["kind"] for e in (await conversation(api, conv_id))["events"]]

    status, again = await api.call("POST", f"/api/v1/deliveries/{target_id}/retry")
    assert status == 409, again
