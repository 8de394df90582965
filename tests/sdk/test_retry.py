"""The sans-I/O retry policy: decisions and backoff from plain values."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from aitbc.errors import (
    ConfigurationError,
    ConnectError,
    ConnectionClosed,
    NotFoundError,
    ProtocolError,
    RateLimitedError,
    ServerError,
    TransportClosedError,
    TransportTimeout,
)
from aitbc.transports.retry import RetryPolicy, has_idempotency_key, parse_retry_after


def test_retry_after_seconds_and_http_date() -> None:
    assert parse_retry_after("7") == 7.0
    now = datetime(2026, 1, 1, tzinfo=UTC)
    later = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert parse_retry_after(later, now=now.timestamp()) == pytest.approx(30.0)
    earlier = format_datetime(now - timedelta(seconds=30), usegmt=True)
    assert parse_retry_after(earlier, now=now.timestamp()) == 0.0


@pytest.mark.parametrize("value", [None, "", "soon", "-3", "1.5e9x"])
def test_unreadable_retry_after_is_none(value: str | None) -> None:
    assert parse_retry_after(value) is None


def test_full_jitter_stays_within_the_exponential_ceiling() -> None:
    policy = RetryPolicy(backoff_base=0.5, backoff_cap=3.0)
    rng = random.Random(1)
    for retry in range(1, 8):
        ceiling = min(3.0, 0.5 * 2 ** (retry - 1))
        delays = [policy.backoff(retry, None, rng) for _ in range(200)]
        assert all(0.0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling * 0.8  # full jitter spans the whole range
        assert min(delays) < ceiling * 0.2


def test_retry_after_overrides_backoff() -> None:
    assert RetryPolicy(backoff_cap=1.0).backoff(1, 42.0) == 42.0


def _decide(error: Exception, method: str = "GET", key: bool = False, done: int = 0) -> bool:
    headers = {"idempotency-key": "k"} if key else None
    return RetryPolicy().should_retry(error, method=method, headers=headers, retries_done=done)


def test_retry_decisions() -> None:
    unavailable = ServerError("x", status=503)
    assert _decide(unavailable)
    assert _decide(RateLimitedError("x", status=429), "DELETE")
    assert not _decide(ServerError("x", status=500))
    assert not _decide(NotFoundError("x", status=404))
    assert not _decide(unavailable, "POST")
    assert _decide(unavailable, "POST", key=True)
    assert _decide(ConnectionClosed("x"), "PUT")
    assert not _decide(ConnectionClosed("x"), "POST")
    assert _decide(ConnectError("x"), "POST")  # nothing was sent: safe for any method
    assert not _decide(TransportTimeout("x"))
    assert not _decide(ProtocolError("x"))
    assert not _decide(TransportClosedError("x"))
    assert not _decide(unavailable, done=3)


def test_max_retries_zero_never_retries() -> None:
    policy = RetryPolicy(max_retries=0)
    err = ConnectError("x")
    assert not policy.should_retry(err, method="GET", headers=None, retries_done=0)


def test_from_config_and_validation() -> None:
    policy = RetryPolicy.from_config({"max_retries": 5, "retry_statuses": [502]})
    assert policy.max_retries == 5
    assert policy.retry_statuses == frozenset({502})
    with pytest.raises(ConfigurationError):
        RetryPolicy.from_config({"backoff_base": -1})


def test_idempotency_header_is_case_insensitive() -> None:
    assert has_idempotency_key({"IDEMPOTENCY-KEY": "x"})
    assert not has_idempotency_key({"X-Other": "x"})
    assert not has_idempotency_key(None)
