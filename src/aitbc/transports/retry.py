"""Retry policy (sans-I/O) and the small async driver that applies it.

The policy only answers questions: may this attempt be retried, and how long to wait
first. It never sleeps or touches a socket, so it is tested with plain values. The
driver (:func:`call_with_retries`) runs attempts under ONE deadline that covers pool
wait, connect, read, every retry and every sleep.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from ..core.backoff import full_jitter_delay
from ..errors import (
    APIError,
    ConfigurationError,
    ConnectError,
    ConnectionClosed,
    TransportError,
    TransportTimeout,
)
from .deadline import Deadline as Deadline  # re-exported: the one deadline of a call

T = TypeVar("T")
_log = logging.getLogger("aitbc.retry")

#: Methods whose repetition cannot change state twice (RFC 9110 idempotent methods).
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
IDEMPOTENCY_HEADER = "Idempotency-Key"


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date).

    Returns None when the header is absent or unreadable; never a negative number.
    """
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; a naive result means "assume UTC"
        when = when.replace(tzinfo=UTC)
    current = datetime.now(UTC).timestamp() if now is None else now
    return max(0.0, when.timestamp() - current)


def has_idempotency_key(headers: Mapping[str, str] | None) -> bool:
    """True when ``headers`` carry an Idempotency-Key (header names are case-insensitive)."""
    if not headers:
        return False
    wanted = IDEMPOTENCY_HEADER.lower()
    return any(name.lower() == wanted for name in headers)


@dataclass(frozen=True)
class RetryPolicy:
    """When to retry and how long to back off (exponential, full jitter).

    ``max_retries=0`` turns retries off. The sleep before retry ``n`` (1-based) is
    ``uniform(0, min(cap, base * 2**(n-1)))``, or the server's ``Retry-After`` when it
    sent one (capped by the call's deadline, never by ``cap``: the server knows best).
    """

    max_retries: int = 3
    backoff_base: float = 0.1
    backoff_cap: float = 5.0
    retry_statuses: frozenset[int] = frozenset({429, 503})

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ConfigurationError("max_retries must be >= 0")
        if self.backoff_base < 0 or self.backoff_cap < 0:
            raise ConfigurationError("backoff_base and backoff_cap must be >= 0")

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> RetryPolicy:
        """Build from a transport config's ``max_retries``, ``backoff_base``,
        ``backoff_cap`` and ``retry_statuses`` keys (each optional)."""
        try:
            return cls(
                max_retries=int(config.get("max_retries", cls.max_retries)),
                backoff_base=float(config.get("backoff_base", cls.backoff_base)),
                backoff_cap=float(config.get("backoff_cap", cls.backoff_cap)),
                retry_statuses=frozenset(
                    int(s) for s in config.get("retry_statuses", cls.retry_statuses)
                ),
            )
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(f"bad retry settings: {exc}") from exc

    def may_repeat(self, method: str, headers: Mapping[str, str] | None) -> bool:
        """True when sending this request twice cannot do anything twice."""
        return method.upper() in IDEMPOTENT_METHODS or has_idempotency_key(headers)

    def should_retry(
        self,
        error: BaseException,
        *,
        method: str,
        headers: Mapping[str, str] | None,
        retries_done: int,
    ) -> bool:
        """Decide whether ``error`` from one attempt deserves another attempt."""
        if retries_done >= self.max_retries:
            return False
        if isinstance(error, ConnectError):
            # Nothing was sent when the connection could not even open: safe for any method.
            return True
        if not self.may_repeat(method, headers):
            return False
        if isinstance(error, APIError):
            return error.status in self.retry_statuses
        # Only a broken connection is worth another try. Not a timeout (the one deadline
        # is spent), not a protocol error (the node would say the same again), not a
        # transport closed by its owner.
        return isinstance(error, ConnectionClosed)

    def backoff(
        self, retry_number: int, retry_after: float | None, rng: random.Random | None = None
    ) -> float:
        """Seconds to sleep before retry ``retry_number`` (1 for the first retry)."""
        if retry_after is not None:
            return max(0.0, retry_after)
        return full_jitter_delay(
            retry_number, base=self.backoff_base, cap=self.backoff_cap, rng=rng
        )


Sleep = Callable[[float], Awaitable[None]]


async def call_with_retries(
    attempt: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    method: str,
    headers: Mapping[str, str] | None,
    deadline: Deadline,
    sleep: Sleep = asyncio.sleep,
    what: str = "",
    first_error: APIError | TransportError | None = None,
) -> T:
    """Run ``attempt`` until it succeeds, a non-retryable error comes, or retries run out.

    The caller bounds the whole loop by ``deadline`` (``with deadline:``);
    this driver only refuses to start a sleep that would outlast it, and raises the
    last error rather than a timeout in that case, because it says more. ``sleep`` is
    injectable so tests move a clock instead of waiting; ``what`` names the call in the
    debug log (``aitbc`` logger), which records every retry with its cause and delay.
    ``first_error`` is the error of a first attempt the caller made itself (callers try
    once inline, so a call that succeeds at once pays for no retry machinery).
    """
    retries_done = 0
    error = first_error
    while True:
        if error is None:
            try:
                return await attempt()
            except (APIError, TransportError) as exc:
                error = exc
        if not policy.should_retry(
            error, method=method, headers=headers, retries_done=retries_done
        ):
            raise error
        retries_done += 1
        delay = policy.backoff(retries_done, getattr(error, "retry_after", None))
        left = deadline.remaining()
        if left is not None and delay >= left:
            raise error
        _log.debug(
            "retry %d/%d of %s in %.3fs after %s: %s",
            retries_done,
            policy.max_retries,
            what or method,
            delay,
            type(error).__name__,
            error,
        )
        error = None
        await sleep(delay)


async def call_within(
    attempt: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    seconds: float | None,
    *,
    method: str,
    path: str,
    headers: Mapping[str, str] | None,
) -> T:
    """A transport's own ``request()``: ``attempt`` retried per ``policy``, the whole call
    within ``seconds`` (None: unbounded) (TransportTimeout after it).

    The first attempt runs without the retry machinery (the common case pays nothing
    for it); only a failure enters :func:`call_with_retries`.
    """
    deadline = Deadline(seconds)
    try:
        with deadline:
            try:
                return await attempt()
            except (APIError, TransportError) as exc:
                first_error = exc
            return await call_with_retries(
                attempt,
                policy,
                method=method,
                headers=headers,
                deadline=deadline,
                first_error=first_error,
            )
    except TransportTimeout:
        raise
    except TimeoutError as exc:
        raise TransportTimeout(f"{method} {path}: no answer within {deadline.timeout}s") from exc
