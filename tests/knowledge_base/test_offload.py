"""Searches run on the event loop while they are cheap, in a worker thread when they are not.

The cost of a call is its wall time when it ran on the loop (it held the loop that
long) and its own CPU time when it ran in a worker thread (waiting there costs the
loop nothing). Wall time can jump on a loaded machine, so the assertions about
inline calls tolerate the odd call pushed to a thread by a scheduler stall; those
about the way out (expensive calls, measured in CPU time) are exact.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

import pytest

from knowledge_base import Article
from knowledge_base.demo import demo_articles_path
from knowledge_base.importers import read_jsonl
from knowledge_base.index import Hit
from knowledge_base.live import LiveKnowledgeBase
from knowledge_base.offload import CostAwareRunner
from knowledge_base.policy import KBAnswer
from knowledge_base.storage.store import ArticleStore

R = TypeVar("R")

#: Small, so that "expensive" calls stay fast to run.
BUDGET = 0.001


def burn(seconds: float) -> None:
    """Spend ``seconds`` of this thread's CPU time (at least as much wall time)."""
    started = time.thread_time()
    while time.thread_time() - started < seconds:
        pass


def where(work: Callable[[], object] = lambda: None) -> Callable[[], int]:
    """A call that does ``work`` and returns the id of the thread it ran on."""

    def call() -> int:
        work()
        return threading.get_ident()

    return call


def expensive() -> None:
    burn(BUDGET * 5)


async def run_many(runner: CostAwareRunner, call: Callable[[], int], times: int) -> list[int]:
    return [await runner.run(call) for _ in range(times)]


async def test_cheap_calls_run_on_the_event_loop_thread() -> None:
    runner = CostAwareRunner(budget=BUDGET)
    loop_thread = threading.get_ident()
    threads = await run_many(runner, where(), 30)
    assert threads[0] == loop_thread  # nothing known yet: inline
    assert threads.count(loop_thread) >= 20  # all of them, bar a scheduler stall or two
    assert runner.inline_calls == threads.count(loop_thread)
    assert runner.thread_calls == 30 - runner.inline_calls


async def test_expensive_calls_move_to_a_worker_thread_and_come_back_when_cheap() -> None:
    runner = CostAwareRunner(budget=BUDGET)
    loop_thread = threading.get_ident()

    threads = await run_many(runner, where(expensive), 8)
    assert threads[0] == loop_thread
    # Each costs 5 budgets: the average passes the budget after two, and stays over it.
    assert all(t != loop_thread for t in threads[2:])
    assert runner.thread_calls >= 6 and runner.average > BUDGET

    # Cheap again: their CPU time is next to nothing, the average falls, calls come back.
    back = await run_many(runner, where(), 40)
    assert back[0] != loop_thread  # the average does not forget at once...
    assert loop_thread in back[:20]  # ...but it does: 0.8 ** 8 of 5 budgets is under one
    assert back.count(loop_thread) >= 20


async def test_inline_cost_is_wall_time_and_thread_cost_is_cpu_time() -> None:
    """Sleeping (or waiting for I/O, or for the GIL) holds the loop when run inline, so it
    counts there; in a worker thread it costs the loop nothing, so it does not."""
    runner = CostAwareRunner(budget=BUDGET)
    loop_thread = threading.get_ident()
    stop = threading.Event()

    def other_work() -> None:  # another thread wanting the GIL all the time
        while not stop.is_set():
            burn(0.001)

    def sleepy() -> None:
        time.sleep(0.01)

    worker = threading.Thread(target=other_work, daemon=True)
    worker.start()
    try:
        threads = await run_many(runner, where(sleepy), 24)
    finally:
        stop.set()
        worker.join(5)
    assert threads[0] == loop_thread
    assert threads[1] != loop_thread  # 10 ms holding the loop: 2 budgets on average
    # In the thread the sleeps cost no CPU: back on the loop after a few calls (about
    # five; more if a loaded machine stretched the first call's wall time).
    assert loop_thread in threads[2:]


async def test_an_exception_propagates_and_still_counts_towards_the_average() -> None:
    runner = CostAwareRunner(budget=BUDGET)
    loop_thread = threading.get_ident()
    ran_on: list[int] = []

    def failing() -> None:
        ran_on.append(threading.get_ident())
        expensive()
        raise ValueError("search failed")

    for _ in range(8):
        with pytest.raises(ValueError, match="search failed"):
            await runner.run(failing)
    assert runner.average > BUDGET  # the failures' cost was counted...
    assert ran_on[0] == loop_thread and ran_on[-1] != loop_thread  # ...and moved them to threads
    assert runner.inline_calls + runner.thread_calls == 8
    # An exception raised in the worker thread reaches the caller too.
    thread_calls = runner.thread_calls
    with pytest.raises(KeyError):
        await runner.run(lambda: {}["missing"])
    assert runner.thread_calls == thread_calls + 1


# ---------------------------------------------------------------------- the live knowledge base


class DemoStore(ArticleStore):
    """The demo help centre's articles, without a database."""

    def __init__(self, articles: list[Article]) -> None:
        self.rows = articles

    async def count(self, *, published_only: bool = False) -> int:
        return len(self.rows)

    async def articles(self, *, published_only: bool = False) -> list[Article]:
        return list(self.rows)


class ThreadSpy:
    """Wraps the index and records the thread each search or answer ran on."""

    def __init__(self, live: LiveKnowledgeBase) -> None:
        self.kb = live.kb
        self.threads: list[int] = []

    def _record(self, fn: Callable[[], R]) -> R:
        self.threads.append(threading.get_ident())
        return fn()

    def search(self, query: str, limit: int = 10) -> list[Hit]:
        return self._record(lambda: self.kb.search(query, limit))

    def answer(self, question: str) -> KBAnswer:
        return self._record(lambda: self.kb.answer(question))


QUESTIONS = {
    "how do i return my jacket": "returns",
    "where is my order": "order-tracking",
    "do you ship internationally": "international-shipping",
}


async def demo_live() -> tuple[LiveKnowledgeBase, ThreadSpy]:
    result = read_jsonl(demo_articles_path())
    assert result.ok, result.problems
    live = LiveKnowledgeBase(DemoStore(list(result.articles)))
    await live.load()
    assert live.load_error is None
    spy = ThreadSpy(live)
    live.kb = spy  # type: ignore[assignment]
    return live, spy


async def test_the_live_knowledge_base_answers_the_demo_questions_inline() -> None:
    live, spy = await demo_live()
    loop_thread = threading.get_ident()
    for _ in range(3):
        for question, article_id in QUESTIONS.items():
            reply = await live.answer(question)
            assert reply.decision == "answer"
            assert reply.suggestions[0].article_id == article_id
            hits = await live.search(question, 3)
            assert hits[0].article_id == article_id
    reads = 3 * 2 * len(QUESTIONS)
    assert len(spy.threads) == reads
    # The demo index is far under the budget: reads stay on the loop (bar the odd one a
    # scheduler stall on a loaded machine made look slow).
    assert spy.threads[0] == loop_thread
    assert spy.threads.count(loop_thread) >= reads // 2
    assert live.reads.inline_calls == spy.threads.count(loop_thread)
    assert live.reads.inline_calls + live.reads.thread_calls == reads


async def test_the_live_knowledge_base_answers_the_same_from_a_worker_thread() -> None:
    live, spy = await demo_live()
    inline = {q: await live.answer(q) for q in QUESTIONS}
    live.reads = CostAwareRunner(budget=-1.0)  # every read is "too expensive"
    spy.threads.clear()
    for question, article_id in QUESTIONS.items():
        reply = await live.answer(question)
        assert reply == inline[question]
        assert (await live.search(question, 3))[0].article_id == article_id
    assert threading.get_ident() not in spy.threads
    assert live.reads.thread_calls == 2 * len(QUESTIONS) and live.reads.inline_calls == 0
