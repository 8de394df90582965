"""When the miner retries a call to the node, and how long it waits first."""

from __future__ import annotations

import random

from ..core.backoff import full_jitter_delay
from ..errors import (
    AITBCError,
    ConflictError,
    RateLimitedError,
    ServerError,
    TransportClosedError,
    TransportError,
)


def is_retryable(exc: AITBCError) -> bool:
    """True for failures that a later attempt may not meet: the node unreachable or
    restarting, a broken connection, 5xx, 429. Never for a transport we closed."""
    if isinstance(exc, TransportClosedError):
        return False
    return isinstance(exc, TransportError | ServerError | RateLimitedError)


def is_unregistered(exc: AITBCError) -> bool:
    """True when the node no longer knows this miner (e.g. its database was reset)."""
    return isinstance(exc, ConflictError) and exc.code == "miner_not_registered"


class Backoff:
    """Exponential backoff with full jitter that resets after a success.

    The n-th consecutive failure waits ``uniform(0, min(cap, base * 2**(n-1)))``, or the
    node's ``Retry-After`` when it sent one, so a fleet of miners does not reconnect to a
    restarted node in lockstep.
    """

    def __init__(self, base: float, cap: float, rng: random.Random | None = None) -> None:
        self.base = base
        self.cap = cap
        self.failures = 0
        self._rng = rng or random.Random()

    def next_delay(self, exc: AITBCError | None = None) -> float:
        """Count one more failure and return the seconds to wait before retrying."""
        self.failures += 1
        retry_after = getattr(exc, "retry_after", None)
        if isinstance(retry_after, int | float) and retry_after >= 0:
            return min(float(retry_after), self.cap)
        return full_jitter_delay(self.failures, base=self.base, cap=self.cap, rng=self._rng)

    def reset(self) -> None:
        """Forget past failures (call after a success)."""
        self.failures = 0
