from tests.conftest import Api


async def test_post_message_then_duplicate(api: Api) -> None:
    body = {"id": "ext-1", "from": "alice@example.com", "name": "Alice", "text": "Hello?"}
    status, first = await api.call("POST", "/api/v1/messages", json=body)
    assert status == 201, first
    assert first["duplicate"] is False
    status, again = await api.call("POST", "/api/v1/messages", json=body)
    assert status == 200
    assert again == {**first, "duplicate": True, "status": again["status"]}


async def test_token_required(api: Api) -> None:
    status, body = await api.call("POST", "/api/v1/messages", auth=False, json={})
    assert status == 401
    assert body["error"]["code"] == "unauthorized"
