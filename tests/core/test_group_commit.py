"""Messages arriving together are stored together, and each caller still gets its own answer."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from sqlalchemy import func
from sqlmodel import select

from contactcenter.domain import Address, InboundMessage
from contactcenter.group_commit import FRUITLESS_HOLDS, GroupCommit
from contactcenter.services import Services
from contactcenter.storage.models import Customer, Message


def msg(mid: str, text: str, sender: str) -> InboundMessage:
    return InboundMessage(channel_message_id=mid, sender=Address("api", sender), text=text)


async def test_a_burst_of_messages_is_stored_once_each_on_its_customer(
    services: Services,
) -> None:
    burst = [msg(f"m{i}", f"question {i}", sender=f"c{i % 7}") for i in range(60)]
    burst += [msg("m3", "question 3", sender="c3")]  # a resend inside the burst
    results = await asyncio.gather(*(services.router.handle(m) for m in burst))
    assert [r.duplicate for r in results].count(True) == 1
    assert results[-1].message_id == results[3].message_id
    # The seven senders are seven customers, each with all of their own messages.
    by_sender: dict[str, set[int]] = {}
    for m, r in zip(burst, results, strict=True):
        by_sender.setdefault(m.sender.value, set()).add(r.customer_id)
    assert all(len(ids) == 1 for ids in by_sender.values())
    assert len({next(iter(ids)) for ids in by_sender.values()}) == 7
    async with services.db.session() as s:
        stored = (
            await s.exec(select(func.count()).select_from(Message).where(Message.direction == "in"))
        ).one()
        customers = (await s.exec(select(func.count()).select_from(Customer))).one()
    assert stored == 60 and customers == 7
    assert services.router._group.batches >= 1  # they really shared transactions


async def test_an_oversized_message_fails_alone(services: Services) -> None:
    good = [msg(f"g{i}", "hello", sender=f"u{i}") for i in range(5)]
    bad = msg("bad", "x" * 200_000, sender="mallory")
    outcomes = await asyncio.gather(
        *(services.router.handle(m) for m in [*good[:2], bad, *good[2:]]),
        return_exceptions=True,
    )
    assert isinstance(outcomes[2], ValueError)
    assert all(not isinstance(o, BaseException) for i, o in enumerate(outcomes) if i != 2)


async def test_one_failing_item_does_not_fail_the_others() -> None:
    """A shared transaction that fails is replayed item by item: only the bad one errs."""
    calls: list[str] = []

    async def run_batch(items: Sequence[str]) -> list[str]:
        calls.append(f"batch:{len(items)}")
        if "bad" in items:
            raise RuntimeError("constraint")
        return [i.upper() for i in items]

    async def run_one(item: str) -> str:
        calls.append(f"one:{item}")
        if item == "bad":
            raise RuntimeError("bad item")
        return item.upper()

    group: GroupCommit[str, str] = GroupCommit(run_batch, run_one)
    outcomes = await asyncio.gather(
        *(group.submit(i) for i in ["a", "b", "bad", "c"]), return_exceptions=True
    )
    assert outcomes[:2] == ["A", "B"] and outcomes[3] == "C"
    assert isinstance(outcomes[2], RuntimeError) and str(outcomes[2]) == "bad item"
    assert "one:a" in calls and "one:c" in calls  # replayed, not lost


async def test_a_cancelled_writer_never_leaves_a_caller_waiting() -> None:
    started = asyncio.Event()

    async def run_one(item: int) -> int:
        started.set()
        await asyncio.sleep(3600)
        return item

    async def run_batch(items: Sequence[int]) -> list[int]:
        return [await run_one(i) for i in items]

    group: GroupCommit[int, int] = GroupCommit(run_batch, run_one)
    waiters = [asyncio.create_task(group.submit(i)) for i in range(3)]
    await asyncio.wait_for(started.wait(), 5)
    assert group._writer is not None
    group._writer.cancel()
    done, pending = await asyncio.wait(waiters, timeout=5)
    assert not pending
    for task in done:
        with pytest.raises(asyncio.CancelledError):
            task.result()


def _recording_group(hold: float) -> tuple[GroupCommit[int, int], list[list[int]]]:
    """A group whose transactions are recorded: each inner list is one commit."""
    commits: list[list[int]] = []

    async def run_batch(items: Sequence[int]) -> list[int]:
        commits.append(list(items))
        return list(items)

    async def run_one(item: int) -> int:
        commits.append([item])
        return item

    return GroupCommit(run_batch, run_one, hold=hold), commits


async def test_one_message_at_a_time_is_never_held() -> None:
    """A quiet system (or one caller after another) writes each message at once."""
    group, commits = _recording_group(hold=60.0)  # a hold would time the test out
    for i in range(20):
        assert await asyncio.wait_for(group.submit(i), 5) == i
    assert commits == [[i] for i in range(20)]
    assert group.holds == 0


async def test_under_steady_load_lone_arrivals_wait_for_company() -> None:
    """Once arrivals overlap, a message arriving alone is held so the next ones share
    its commit: 30 messages a few ms apart take far fewer than 30 transactions, and
    each caller still gets its own result."""
    group, commits = _recording_group(hold=0.05)
    first = [asyncio.create_task(group.submit(n)) for n in (-2, -1)]  # a burst: a batch forms
    later: list[asyncio.Task[int]] = []
    for n in range(30):
        await asyncio.sleep(0.005)
        later.append(asyncio.create_task(group.submit(n)))
    results = await asyncio.wait_for(asyncio.gather(*first, *later), 10)
    assert results == [-2, -1, *range(30)]
    assert commits[0] == [-2, -1]
    assert sorted(i for c in commits for i in c) == [-2, -1, *range(30)]  # each once
    assert len(commits) <= 10, commits
    assert group.holds >= 1


async def test_holds_that_find_no_company_stop_the_holding() -> None:
    group, commits = _recording_group(hold=0.01)
    await asyncio.gather(group.submit(1), group.submit(2))  # overlap seen
    for n in range(3, 3 + FRUITLESS_HOLDS):
        assert await group.submit(n) == n  # held, nobody came
    assert group.holds == FRUITLESS_HOLDS
    assert await group.submit(99) == 99  # not held any more
    assert group.holds == FRUITLESS_HOLDS
    assert commits == [[1, 2], *([n] for n in range(3, 3 + FRUITLESS_HOLDS)), [99]]


async def test_closing_writes_a_held_message_at_once_and_refuses_more() -> None:
    """Shutdown: what is queued or held is written before the database closes (the
    close does not sit out the hold), and nothing is written after."""
    group, commits = _recording_group(hold=60.0)  # sitting out this hold would time out
    await asyncio.gather(group.submit(1), group.submit(2))  # overlap seen: holding on
    held = asyncio.create_task(group.submit(3))
    for _ in range(5):  # the caller queues it, the writer starts and holds it
        await asyncio.sleep(0)
    assert group.holds == 1 and not held.done()
    await asyncio.wait_for(group.close(), 5)
    assert held.done() and held.result() == 3
    assert commits == [[1, 2], [3]]
    with pytest.raises(RuntimeError, match="shutting down"):
        await group.submit(4)
    with pytest.raises(RuntimeError, match="shutting down"):
        await group.submit_many([5])


async def test_a_flush_leaves_the_group_usable() -> None:
    """The outbox flushes its sent marks when it stops, and may start again."""
    group, commits = _recording_group(hold=60.0)
    await asyncio.gather(group.submit(1), group.submit(2))
    held = asyncio.create_task(group.submit(3))
    for _ in range(5):  # the caller queues it, the writer starts and holds it
        await asyncio.sleep(0)
    assert group.holds == 1 and not held.done()
    await asyncio.wait_for(group.flush(), 5)
    assert held.result() == 3
    group.hold = 0.01
    assert await asyncio.wait_for(group.submit(4), 5) == 4
    assert commits == [[1, 2], [3], [4]]
