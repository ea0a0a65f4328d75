"""Conversations through the API: what an agent or integrator would notice."""

from __future__ import annotations

from collections.abc import AsyncIterator

from sqlmodel import select

from contactcenter.storage.models import Delivery
from tests.api.helpers import agent, conversation, inbound, settle
from tests.conftest import Api


async def test_first_message_waits_for_agent_and_is_listed(api: Api) -> None:
    first = await inbound(api, "alice@example.com", "Where is my parcel?", name="Alice")
    assert first["status"] == "waiting_for_agent"
    status, page = await api.call("GET", "/api/v1/conversations")
    assert status == 200
    assert [c["id"] for c in page["items"]] == [first["conversation_id"]]
    assert page["next_cursor"] is None
    detail = await conversation(api, first["conversation_id"])
    assert detail["customer"]["name"] == "Alice"
    assert detail["messages"][0]["text"] == "Where is my parcel?"
    assert detail["messages"][0]["direction"] == "in"
    kinds = [e["kind"] for e in detail["events"]]
    assert "conversation_created" in kinds and "status_changed" in kinds


async def test_reply_reaches_the_outbox_on_the_conversations_channel(api: Api) -> None:
    conv_id = (await inbound(api, "bob@example.com"))["conversation_id"]
    ann = await agent(api, "Ann", "ann@example.com")
    status, message = await api.call(
        "POST",
        f"/api/v1/conversations/{conv_id}/messages",
        json={"text": "  On its way!  ", "agent_id": ann["id"]},
    )
    assert status == 201, message
    assert message["text"] == "On its way!"
    assert message["internal"] is False
    assert message["agent_id"] == ann["id"]
    status, page = await api.call("GET", f"/api/v1/deliveries?conversation_id={conv_id}")
    assert status == 200
    mine = [d for d in page["items"] if d["message_id"] == message["id"]]
    assert len(mine) == 1
    assert mine[0]["kind"] == "message"
    assert mine[0]["target"] == "api"
    assert mine[0]["recipient"] == "bob@example.com"
    await settle(api)
    detail = await conversation(api, conv_id)
    assert detail["status"] == "waiting_for_customer"
    assert detail["assignee_id"] == ann["id"]
    assert detail["first_response_at"] is not None
    assert detail["messages"][-1]["id"] == message["id"]


async def test_internal_note_is_flagged_and_never_delivered(api: Api) -> None:
    conv_id = (await inbound(api, "carol@example.com"))["conversation_id"]
    await settle(api)
    before = await conversation(api, conv_id)
    status, note = await api.call(
        "POST",
        f"/api/v1/conversations/{conv_id}/messages",
        json={"text": "VIP, be nice", "internal": True},
    )
    assert status == 201, note
    assert note["internal"] is True
    async with api.services.db.session() as s:
        deliveries = (await s.exec(select(Delivery).where(Delivery.message_id == note["id"]))).all()
    assert deliveries == []
    after = await conversation(api, conv_id)
    assert after["status"] == before["status"] == "waiting_for_agent"
    assert [m["internal"] for m in after["messages"]][-1] is True
    assert "note_added" in [e["kind"] for e in after["events"]]


async def test_assign_resolve_reopen_change_status_and_write_events(api: Api) -> None:
    conv_id = (await inbound(api, "dave@example.com"))["conversation_id"]
    ann = await agent(api)
    base = f"/api/v1/conversations/{conv_id}"

    status, conv = await api.call("POST", f"{base}/assign", json={"agent_id": ann["id"]})
    assert status == 200, conv
    assert (conv["status"], conv["assignee_id"]) == ("assigned", ann["id"])

    status, conv = await api.call("POST", f"{base}/assign", json={"agent_id": None})
    assert status == 200, conv
    assert (conv["status"], conv["assignee_id"]) == ("waiting_for_agent", None)

    await api.call("POST", f"{base}/assign", json={"agent_id": ann["id"]})
    status, conv = await api.call("POST", f"{base}/resolve", json={"agent_id": ann["id"]})
    assert status == 200, conv
    assert conv["status"] == "resolved" and conv["resolved_at"] is not None

    status, again = await api.call("POST", f"{base}/resolve")
    assert status == 409, again
    assert again["error"]["code"] == "conflict"

    status, conv = await api.call("POST", f"{base}/reopen")
    assert status == 200, conv
    assert conv["status"] == "assigned" and conv["resolved_at"] is None

    status, again = await api.call("POST", f"{base}/reopen")
    assert status == 409, again

    events = (await conversation(api, conv_id))["events"]
    changes = [
        (e["data"].get("from"), e["data"].get("to"))
        for e in events
        if e["kind"] == "status_changed"
    ]
    assert changes == [
        ("bot", "waiting_for_agent"),
        ("waiting_for_agent", "assigned"),
        ("assigned", "waiting_for_agent"),
        ("waiting_for_agent", "assigned"),
        ("assigned", "resolved"),
        ("resolved", "assigned"),
    ]
    assert [e["data"]["agent_id"] for e in events if e["kind"] == "assigned"] == [
        ann["id"],
        None,
        ann["id"],
    ]
    resolved = [
        e for e in events if e["kind"] == "status_changed" and e["data"]["to"] == "resolved"
    ]
    assert resolved[0]["data"]["by"] == ann["id"]


async def test_tags_add_remove_and_filter(api: Api) -> None:
    one = (await inbound(api, "erin@example.com", "Refund please"))["conversation_id"]
    two = (await inbound(api, "frank@example.com", "Login broken"))["conversation_id"]
    status, conv = await api.call(
        "POST",
        f"/api/v1/conversations/{one}/tags",
        json={"add": ["Billing", " VIP  customer ", "billing"]},
    )
    assert status == 200, conv
    assert conv["tags"] == ["billing", "vip customer"]
    await api.call("POST", f"/api/v1/conversations/{two}/tags", json={"add": ["bug"]})

    status, page = await api.call("GET", "/api/v1/conversations?tag=BILLING")
    assert status == 200, page
    assert [c["id"] for c in page["items"]] == [one]

    status, conv = await api.call(
        "POST", f"/api/v1/conversations/{one}/tags", json={"remove": ["Billing"], "add": ["refund"]}
    )
    assert status == 200, conv
    assert conv["tags"] == ["vip customer", "refund"]
    status, page = await api.call("GET", "/api/v1/conversations?tag=billing")
    assert page["items"] == []
    assert "tagged" in [e["kind"] for e in (await conversation(api, one))["events"]]


async def test_list_filters_and_pagination(api: Api) -> None:
    ids = [
        (await inbound(api, f"user{i}@example.com", f"Question {i} about 100%_off"))[
            "conversation_id"
        ]
        for i in range(5)
    ]
    ann = await agent(api)
    await api.call("POST", f"/api/v1/conversations/{ids[0]}/assign", json={"agent_id": ann["id"]})
    await api.call("POST", f"/api/v1/conversations/{ids[1]}/resolve")

    seen: list[int] = []
    cursor = None
    while True:
        path = "/api/v1/conversations?limit=2" + (f"&cursor={cursor}" if cursor else "")
        status, page = await api.call("GET", path)
        assert status == 200, page
        assert len(page["items"]) <= 2
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == 5
    # newest updated first: the two changed last come first
    assert seen[:2] == [ids[1], ids[0]]

    async def ids_of(query: str) -> list[int]:
        status, page = await api.call("GET", f"/api/v1/conversations?{query}")
        assert status == 200, (query, page)
        return sorted(c["id"] for c in page["items"])

    assert await ids_of("status=resolved") == [ids[1]]
    assert await ids_of("status=resolved,assigned") == sorted(ids[:2])
    assert await ids_of("status=resolved&status=assigned") == sorted(ids[:2])
    assert await ids_of(f"assignee_id={ann['id']}") == [ids[0]]
    assert await ids_of("assignee_id=none") == sorted(ids[1:])
    assert await ids_of("channel=api") == sorted(ids)
    assert await ids_of("channel=email") == []
    assert await ids_of("q=QUESTION 3") == [ids[3]]
    assert await ids_of("q=100%25_off") == sorted(ids)
    assert await ids_of("q=_") == sorted(ids)
    assert await ids_of("q=%25") == sorted(ids)
    status, detail = await api.call("GET", f"/api/v1/conversations/{ids[2]}")
    assert await ids_of(f"customer_id={detail['customer_id']}") == [ids[2]]


async def test_customer_writing_again_lands_in_same_conversation(api: Api) -> None:
    first = await inbound(api, "gina@example.com", "Hello")
    second = await inbound(api, "gina@example.com", "Anyone there?")
    assert first["conversation_id"] == second["conversation_id"]
    detail = await conversation(api, first["conversation_id"])
    inbound_texts = [m["text"] for m in detail["messages"] if m["direction"] == "in"]
    assert inbound_texts == ["Hello", "Anyone there?"]


async def test_action_bodies_are_optional_even_when_chunked(api: Api) -> None:
    conv_id = (await inbound(api, "hal@example.com"))["conversation_id"]

    async def nothing() -> AsyncIterator[bytes]:
        yield b""

    status, conv = await api.call(
        "POST",
        f"/api/v1/conversations/{conv_id}/resolve",
        data=nothing(),
        headers={"Content-Type": "application/json"},
    )
    assert status == 200, conv
    status, conv = await api.call("POST", f"/api/v1/conversations/{conv_id}/reopen", json={})
    assert status == 200, conv
    assert conv["status"] == "waiting_for_agent"
