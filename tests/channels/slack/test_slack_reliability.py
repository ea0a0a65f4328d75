"""Ack timing and failure: stored before the ack when quick, retried by Slack when the
work failed, answered late (ephemeral) when slow."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from channels.slack.parse import Input
from contactcenter.answerer import Answer, AnswerLike, Suggestion
from contactcenter.app import create_app
from contactcenter.config import Settings
from tests.fakeslack import FakeSlack
from tests.fakeslack import payloads as p
from tests.fakeslack.harness import ANA, QUEUE, SIGNING_SECRET, Desk, eventually, slack_settings


async def test_failed_work_is_not_acked_and_the_retry_is_processed(desk: Desk) -> None:
    cid, thread_ts = await desk.escalate()
    handlers = desk.desk.handlers
    original = handlers.handle
    failures = [RuntimeError("database went away")]

    async def flaky(item: Input) -> Any:
        if failures:
            raise failures.pop()
        return await original(item)

    handlers.handle = flaky  # type: ignore[method-assign]
    body = p.message_event(QUEUE, ANA, "Answer after a hiccup", thread_ts=thread_ts)
    if desk.mode == "http":
        status, answer = await desk.fake.post_to_app(
            desk.events_url,
            json.dumps(body).encode(),
            content_type="application/json",
            signing_secret=SIGNING_SECRET,
        )
        assert (status, answer["error"]) == (500, "processing_failed")
    else:
        unacked = await desk.fake.send_envelope("events_api", body)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(asyncio.shield(unacked), 1.0)
    await desk.event(body, retry=1)  # Slack's retry of the same event_id
    await eventually(lambda: _texts(desk, cid), what="the retried reply")


async def _texts(desk: Desk, cid: int) -> bool:
    return any(m.text == "Answer after a hiccup" for m in await desk.messages(cid))


class SlowKnowledgeBase:
    async def answer(self, question: str) -> AnswerLike:
        await asyncio.sleep(0.5)
        return Answer(
            decision="suggest",
            confidence=0.5,
            suggestions=(Suggestion(article_id="1", title="Slow article", score=0.5),),
        )


@pytest.fixture
async def impatient_desk(
    settings: Settings,
    fake_slack: FakeSlack,
    mode: str,
) -> AsyncIterator[Desk]:
    app = create_app(slack_settings(settings, fake_slack, mode, ack_budget_seconds="0.1"))
    client: TestClient[Any, Any] = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    try:
        if mode == "socket":
            await fake_slack.wait_connected()
        yield Desk(client, fake_slack, mode)
    finally:
        await client.close()


async def test_a_slow_command_is_acked_in_time_and_answered_after(impatient_desk: Desk) -> None:
    desk = impatient_desk
    desk.services.set_answerer(SlowKnowledgeBase())
    loop = asyncio.get_running_loop()
    started = loop.time()
    answer = await desk.command(p.slash_command(ANA, QUEUE, "search anything"))
    assert loop.time() - started < 0.45  # acked before the work finished
    assert not answer
    late = await eventually(lambda: desk.fake.ephemerals, what="the late answer")
    assert late[0].ephemeral_for == ANA and "Slow article" in json.dumps(late[0].blocks)
