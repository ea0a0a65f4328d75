"""Customers through the API: search, cross-channel timeline, merge, undo, split."""

from __future__ import annotations

import itertools
from typing import Any, ClassVar

from contactcenter.domain import Address, InboundMessage, OutboundMessage
from tests.api.helpers import inbound
from tests.conftest import Api

_ids = itertools.count(1)


class ChatChannel:
    """A second customer channel, so a customer can be seen across two."""

    name: ClassVar[str] = "chat"

    async def start(self, deliver: Any) -> None: ...
    async def stop(self) -> None: ...

    async def send(self, message: OutboundMessage) -> str:
        return f"chat-{message.message_id}"


async def chat(api: Api, sender: str, text: str, *, email: str | None = None) -> dict[str, Any]:
    if api.services.registry.get("chat") is None:
        api.services.registry.add("chat", ChatChannel())
    result = await api.services.router.handle(
        InboundMessage(
            channel_message_id=f"chat-{next(_ids)}",
            sender=Address("chat", sender),
            text=text,
            email=email,
        )
    )
    return {"conversation_id": result.conversation_id, "customer_id": result.customer_id}


async def customer(api: Api, customer_id: int, query: str = "") -> dict[str, Any]:
    status, body = await api.call("GET", f"/api/v1/customers/{customer_id}{query}")
    assert status == 200, body
    return body  # type: ignore[no-any-return]


def timeline(body: dict[str, Any]) -> list[tuple[str, str]]:
    return [(m["channel"], m["text"]) for m in body["timeline"]["items"] if m["direction"] == "in"]


async def test_search_by_name_and_email(api: Api) -> None:
    alice = await inbound(api, "alice@example.com", name="Alice Liddell")
    bob = await inbound(api, "bob@example.org", name="Bob")
    await chat(api, "visitor-9", "hi", email="Zed@Example.net")

    async def search(q: str) -> list[int]:
        status, page = await api.call("GET", f"/api/v1/customers?q={q}")
        assert status == 200, page
        return [c["id"] for c in page["items"]]

    assert await search("LIDDELL") == [alice["customer_id"]]
    assert await search("example.org") == [bob["customer_id"]]
    assert len(await search("zed@example.net")) == 1
    assert await search("nobody") == []
    status, page = await api.call("GET", "/api/v1/customers?limit=2")
    assert status == 200 and len(page["items"]) == 2 and page["next_cursor"]
    status, rest = await api.call("GET", f"/api/v1/customers?cursor={page['next_cursor']}")
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None


async def test_timeline_across_two_channels_after_merge_and_undo(api: Api) -> None:
    web = await inbound(api, "alice@example.com", "first, on the API", name="Alice")
    other = await chat(api, "chat-alice", "second, on chat")
    await inbound(api, "alice@example.com", "third, on the API again")
    assert web["customer_id"] != other["customer_id"]

    status, record = await api.call(
        "POST", f"/api/v1/customers/{other['customer_id']}/merge", json={"into": web["customer_id"]}
    )
    assert status == 201, record
    assert record["source_customer_id"] == other["customer_id"]
    assert record["conversation_ids"] == [other["conversation_id"]]

    live = await customer(api, web["customer_id"])
    assert live["merged_into"] is None
    assert {i["channel"] for i in live["identities"]} == {"api", "chat"}
    assert timeline(live) == [
        ("api", "first, on the API"),
        ("chat", "second, on chat"),
        ("api", "third, on the API again"),
    ]
    conv_ids = {m["conversation_id"] for m in live["timeline"]["items"]}
    assert conv_ids == {web["conversation_id"], other["conversation_id"]}
    assert [m["id"] for m in live["merges"]] == [record["id"]]

    merged_away = await customer(api, other["customer_id"])
    assert merged_away["merged_into"] == web["customer_id"]
    assert merged_away["id"] == web["customer_id"]
    assert timeline(merged_away) == timeline(live)

    # paginated: two at a time covers the same timeline
    items: list[dict[str, Any]] = []
    query = "?limit=2"
    while True:
        page = (await customer(api, web["customer_id"], query))["timeline"]
        items += page["items"]
        if page["next_cursor"] is None:
            break
        query = f"?limit=2&cursor={page['next_cursor']}"
    assert [m["id"] for m in items] == [m["id"] for m in live["timeline"]["items"]]

    status, again = await api.call(
        "POST", f"/api/v1/customers/{other['customer_id']}/merge", json={"into": web["customer_id"]}
    )
    assert status == 409, again

    status, undone = await api.call("POST", f"/api/v1/merges/{record['id']}/undo")
    assert status == 200, undone
    assert undone["undone_at"] is not None
    restored = await customer(api, other["customer_id"])
    assert restored["merged_into"] is None and restored["id"] == other["customer_id"]
    assert timeline(restored) == [("chat", "second, on chat")]
    assert [i["channel"] for i in restored["identities"]] == ["chat"]
    assert timeline(await customer(api, web["customer_id"])) == [
        ("api", "first, on the API"),
        ("api", "third, on the API again"),
    ]

    status, twice = await api.call("POST", f"/api/v1/merges/{record['id']}/undo")
    assert status == 409, twice


async def test_split_gives_an_identity_its_own_customer(api: Api) -> None:
    web = await inbound(api, "sam@example.com", "api question", name="Sam")
    other = await chat(api, "chat-sam", "chat question")
    status, _ = await api.call(
        "POST", f"/api/v1/customers/{other['customer_id']}/merge", json={"into": web["customer_id"]}
    )
    assert status == 201
    merged = await customer(api, web["customer_id"])
    chat_identity = next(i for i in merged["identities"] if i["channel"] == "chat")

    status, new = await api.call("POST", f"/api/v1/identities/{chat_identity['id']}/split")
    assert status == 201, new
    assert new["id"] not in (web["customer_id"], other["customer_id"])
    assert [i["id"] for i in new["identities"]] == [chat_identity["id"]]
    assert timeline(await customer(api, new["id"])) == [("chat", "chat question")]
    assert timeline(await customer(api, web["customer_id"])) == [("api", "api question")]

    status, alone = await api.call("POST", f"/api/v1/identities/{chat_identity['id']}/split")
    assert status == 409, alone
    assert alone["error"]["code"] == "conflict"


async def test_merge_suggestions_are_listed_and_closed_by_merge(api: Api) -> None:
    first = await chat(api, "device-1", "hello", email="pat@example.com")
    second = await chat(api, "device-2", "hello again", email="pat@example.com")
    assert first["customer_id"] != second["customer_id"]

    status, page = await api.call("GET", "/api/v1/merge-suggestions")
    assert status == 200, page
    [suggestion] = page["items"]
    assert {suggestion["customer_id"], suggestion["other_customer_id"]} == {
        first["customer_id"],
        second["customer_id"],
    }
    assert suggestion["customer"]["email"] == "pat@example.com"
    shown = await customer(api, first["customer_id"])
    assert [s["id"] for s in shown["merge_suggestions"]] == [suggestion["id"]]
    assert shown["merge_suggestions"][0]["other"]["id"] == second["customer_id"]

    status, _ = await api.call(
        "POST",
        f"/api/v1/customers/{second['customer_id']}/merge",
        json={"into": first["customer_id"]},
    )
    assert status == 201
    status, page = await api.call("GET", "/api/v1/merge-suggestions")
    assert page["items"] == []
    status, page = await api.call("GET", "/api/v1/merge-suggestions?status=merged")
    assert [s["id"] for s in page["items"]] == [suggestion["id"]]
