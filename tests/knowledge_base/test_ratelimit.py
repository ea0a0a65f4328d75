"""The token bucket behind the public search's rate limit."""

from __future__ import annotations

from knowledge_base.web.ratelimit import TokenBucketLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_refill_per_client() -> None:
    clock = Clock()
    limiter = TokenBucketLimiter(rate=1.0, burst=3, clock=clock)
    assert [limiter.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = limiter.take("a")
    assert 0.9 < wait <= 1.0
    assert limiter.retry_after_header(wait) == "1"
    assert limiter.take("b") == 0.0  # another client is not affected
    clock.now = 1.0
    assert limiter.take("a") == 0.0
    assert limiter.take("a") > 0.0


def test_memory_is_bounded() -> None:
    clock = Clock()
    limiter = TokenBucketLimiter(rate=1.0, burst=2, max_clients=100, clock=clock)
    for i in range(1_000):
        clock.now += 0.001
        limiter.take(f"client-{i}")
    assert len(limiter._buckets) <= 100
