"""The one backoff formula, and every loop that uses it, past thousands of failures."""

from __future__ import annotations

import random

import pytest

from aitbc.core.backoff import backoff_ceiling, full_jitter_delay
from aitbc.miner.backoff import Backoff
from aitbc.transports.failover import EndpointPool
from aitbc.transports.retry import RetryPolicy


def test_ceiling_doubles_from_base_up_to_the_cap() -> None:
    ceilings = [backoff_ceiling(n, base=0.5, cap=3.0) for n in range(1, 6)]
    assert ceilings == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert backoff_ceiling(0, base=0.5, cap=3.0) == 0.5  # a zeroth attempt waits like the first


def test_full_jitter_stays_under_each_ceiling_and_spreads() -> None:
    rng = random.Random(1)
    delays = [full_jitter_delay(n, base=0.1, cap=1.0, rng=rng) for n in range(1, 50)]
    assert all(0.0 <= d <= backoff_ceiling(n, base=0.1, cap=1.0) for n, d in enumerate(delays, 1))
    assert len(set(delays)) > 40  # jittered, not lock-step


@pytest.mark.parametrize("attempt", [1_100, 10_000, 10**9])
def test_hours_of_failures_never_overflow(attempt: int) -> None:
    # base * 2**1100 used to raise OverflowError: a miner in a 4-hour outage, or a
    # WebSocket reconnecting forever, would have crashed instead of waiting.
    assert 0.0 <= full_jitter_delay(attempt, base=0.5, cap=30.0) <= 30.0
    assert 0.0 <= RetryPolicy().backoff(attempt, None) <= RetryPolicy().backoff_cap
    assert 7.5 <= EndpointPool(["a"], base=1.0, cap=15.0).backoff(attempt) <= 15.0


def test_a_miner_keeps_backing_off_through_a_long_outage() -> None:
    backoff = Backoff(base=0.5, cap=30.0, rng=random.Random(2))
    delays = [backoff.next_delay() for _ in range(2_000)]
    assert backoff.failures == 2_000
    assert max(delays) <= 30.0
    backoff.reset()
    assert backoff.next_delay() <= 0.5
