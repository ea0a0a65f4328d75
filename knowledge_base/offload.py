"""Run a search on the event loop when it is cheap, in a worker thread when it is not.

Search is pure Python: it holds the GIL whether it runs on the loop or in a
thread, so a thread buys no parallelism. What the thread does buy is
interleaving: while a long search runs there, the loop still gets the GIL
every switch interval and keeps serving sockets. What it costs is the
hand-off itself (a queue, two wake-ups, a GIL switch that may wait up to
``sys.getswitchinterval()``), measured at about 0.3 ms of CPU per search and
several milliseconds of latency under load: more than a small index's search.

So the runner keeps a moving average of the call's cost and runs inline
while that average is under ``budget`` seconds. On the loop the cost is wall
time (nothing else runs there meanwhile; ``time.thread_time`` is a system call
that measured 8% of a web chat message here); in a thread it is the thread's
own CPU time, which waiting for the GIL does not inflate. A 100,000-article index
(several ms per search) goes to threads after its first slow searches; the
demo index (well under a millisecond) never leaves the loop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

R = TypeVar("R")

#: Inline while searches average less CPU than this (seconds).
INLINE_BUDGET = 0.002


class CostAwareRunner:
    def __init__(self, *, budget: float = INLINE_BUDGET, weight: float = 0.2) -> None:
        self.budget = budget
        self.weight = weight
        #: Moving average of one call's CPU seconds; 0 until the first call.
        self.average = 0.0
        self.inline_calls = 0
        self.thread_calls = 0

    async def run(self, fn: Callable[[], R]) -> R:
        """``fn()``, on the loop or in a worker thread, whichever its cost says."""
        if self.average <= self.budget:
            self.inline_calls += 1
            return self._timed(fn, time.perf_counter)
        self.thread_calls += 1
        return await asyncio.to_thread(self._timed, fn, time.thread_time)

    def _timed(self, fn: Callable[[], R], clock: Callable[[], float]) -> R:
        started = clock()
        try:
            return fn()
        finally:
            self.average += self.weight * (clock() - started - self.average)
