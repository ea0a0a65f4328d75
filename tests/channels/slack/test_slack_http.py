"""``POST /slack/events``: only Slack, recently, and only well-formed requests get in."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from contactcenter.app import create_app
from contactcenter.config import Settings
from tests.fakeslack import FakeSlack
from tests.fakeslack import payloads as p
from tests.fakeslack.harness import SIGNING_SECRET, Desk, slack_settings
from tests.fakeslack.server import sign


@pytest.fixture
async def http_desk(settings: Settings, fake_slack: FakeSlack) -> AsyncIterator[Desk]:
    app = create_app(slack_settings(settings, fake_slack, "http"))
    client: TestClient[Any, Any] = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    try:
        yield Desk(client, fake_slack, "http")
    finally:
        await client.close()


async def _post(desk: Desk, body: bytes, **kwargs: Any) -> tuple[int, Any]:
    kwargs.setdefault("content_type", "application/json")
    kwargs.setdefault("signing_secret", SIGNING_SECRET)
    return await desk.fake.post_to_app(desk.events_url, body, **kwargs)


async def test_url_verification_answers_the_challenge(http_desk: Desk) -> None:
    body = json.dumps(p.fixture("url_verification.json")).encode()
    status, answer = await _post(http_desk, body)
    assert status == 200
    assert answer == {"challenge": p.fixture("url_verification.json")["challenge"]}


@pytest.mark.parametrize(
    ("how", "error"),
    [
        ("unsigned", "missing_signature"),
        ("wrong secret", "invalid_signature"),
        ("tampered body", "invalid_signature"),
        ("stale", "stale_request"),
        ("from the future", "stale_request"),
        ("not v0", "malformed_signature"),
    ],
)
async def test_requests_not_from_slack_are_refused(http_desk: Desk, how: str, error: str) -> None:
    body = json.dumps(p.fixture("url_verification.json")).encode()
    now = int(time.time())
    kwargs: dict[str, Any] = {}
    if how == "unsigned":
        kwargs["signing_secret"] = None
    elif how == "wrong secret":
        kwargs["signature"] = sign("not-the-secret", now, body)
    elif how == "tampered body":
        kwargs["signature"] = sign(SIGNING_SECRET, now, body + b" ")
    elif how == "stale":
        kwargs["timestamp"] = now - 400  # well past the 5-minute window, even on a slow run
    elif how == "from the future":
        kwargs["timestamp"] = now + 400
    elif how == "not v0":
        kwargs["signature"] = "v1=" + sign(SIGNING_SECRET, now, body)[3:]
    status, answer = await _post(http_desk, body, timestamp=kwargs.pop("timestamp", now), **kwargs)
    assert status == 401
    assert answer == {"ok": False, "error": error}


@pytest.mark.parametrize(
    ("body", "ctype"),
    [
        (b"{not json", "application/json"),
        (b"[1, 2]", "application/json"),
        (b"\xff\xfe", "application/json"),
        (b"payload=%7Bbroken", "application/x-www-form-urlencoded"),
        (b"hello=world", "application/x-www-form-urlencoded"),
    ],
)
async def test_malformed_bodies_get_a_400(http_desk: Desk, body: bytes, ctype: str) -> None:
    status, answer = await _post(http_desk, body, content_type=ctype)
    assert status == 400
    assert answer["error"] == "invalid_payload"


async def test_unknown_events_and_foreign_actions_are_acknowledged_and_ignored(
    http_desk: Desk,
) -> None:
    for name in ("reaction_added.json", "app_mention.json"):
        status, _ = await _post(http_desk, json.dumps(p.fixture(name)).encode())
        assert status == 200
    status, _ = await _post(
        http_desk, json.dumps({"type": "event_callback", "event_id": "Ev1", "event": "x"}).encode()
    )
    assert status == 200
    for body in p.BOLT_CRASHERS:  # readable JSON that Bolt itself cannot handle
        if body["type"] == "event_callback":
            status, _ = await _post(http_desk, json.dumps(body).encode())
        else:
            status, _ = await _post(
                http_desk,
                p.interactive_body(body),
                content_type="application/x-www-form-urlencoded",
            )
        assert status == 200, body
    foreign = p.fixture("block_actions.json")  # action_id "a": another app's button
    status, _ = await _post(
        http_desk, p.interactive_body(foreign), content_type="application/x-www-form-urlencoded"
    )
    assert status == 200
    assert http_desk.fake.calls_of("chat.postMessage") == []
    assert http_desk.fake.calls_of("chat.postEphemeral") == []


@pytest.mark.parametrize("mode", ["socket"])
async def test_socket_mode_mounts_no_route(desk: Desk) -> None:
    async with desk.client.post("/slack/events", data=b"{}") as resp:
        assert resp.status in (404, 405)
