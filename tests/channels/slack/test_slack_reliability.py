"""Ack timing and failure: stored before the ack when quick, retried by Slack when the
work failed, answered late (ephemeral) when slow."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from channels.slack.parse import Input
from contactcenter.answerer import Answer, AnswerLike, Suggestion
from tests.fakeslack import FakeSlack
from tests.fakeslack import payloads as p
from tests.fakeslack.harness import ANA, QUEUE, Desk, MakeDesk
from tests.polling import eventually


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
    await desk.event_not_acked(body)
    await desk.event(body, retry=1)  # Slack's retry of the same event_id
    await eventually(lambda: _texts(desk, cid), what="the retried reply")


async def _texts(desk: Desk, cid: int, text: str = "Answer after a hiccup") -> bool:
    return any(m.text == text for m in await desk.messages(cid))


async def test_a_failing_auth_test_is_not_acked_and_the_retry_is_processed(
    make_desk: MakeDesk, fake_slack: FakeSlack
) -> None:
    # Bolt authorizes each request; until auth.test works, nothing is acknowledged.
    fake_slack.fail("auth.test", status=429, retry_after=1, times=2)  # at start, then once more
    desk = await make_desk()
    cid, thread_ts = await desk.escalate()
    body = p.message_event(QUEUE, ANA, "Answer once Slack is back", thread_ts=thread_ts)
    await desk.event_not_acked(body)
    assert len(fake_slack.calls_of("auth.test")) == 2
    await desk.event(body, retry=1)
    await eventually(lambda: _texts(desk, cid, "Answer once Slack is back"), what="the reply")
    await desk.event(p.message_event(QUEUE, ANA, "And another", thread_ts=thread_ts))
    await eventually(lambda: _texts(desk, cid, "And another"), what="the next reply")
    assert len(fake_slack.calls_of("auth.test")) == 3  # learnt once, then kept


class SlowKnowledgeBase:
    async def answer(self, question: str) -> AnswerLike:
        await asyncio.sleep(0.5)
        return Answer(
            decision="suggest",
            confidence=0.5,
            suggestions=(Suggestion(article_id="1", title="Slow article", score=0.5),),
        )


@pytest.fixture
async def impatient_desk(make_desk: MakeDesk) -> Desk:
    return await make_desk(ack_budget_seconds="0.1")


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
