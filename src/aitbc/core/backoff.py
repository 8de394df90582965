"""Exponential backoff, the one formula every retry loop in aitbc uses.

Sans-I/O: it returns seconds and never sleeps. The exponent is clamped, because a loop
that retries for hours (a miner waiting out a long outage, a WebSocket that reconnects
forever) would otherwise overflow ``base * 2**n`` into an OverflowError.
"""

from __future__ import annotations

import random

_MAX_EXPONENT = 62  # 2**62 dwarfs any cap; beyond it float(base * 2**n) can overflow


def backoff_ceiling(attempt: int, *, base: float, cap: float) -> float:
    """``min(cap, base * 2**(attempt-1))`` for ``attempt`` >= 1, without overflow."""
    exponent = min(max(0, attempt - 1), _MAX_EXPONENT)
    return float(min(cap, base * 2**exponent))


def full_jitter_delay(
    attempt: int, *, base: float, cap: float, rng: random.Random | None = None
) -> float:
    """Seconds to wait before ``attempt`` (1-based): ``uniform(0, ceiling)``.

    Full jitter spreads a crowd of clients that all lost the same node, instead of
    having them come back in lock step.
    """
    return (rng or random).uniform(0.0, backoff_ceiling(attempt, base=base, cap=cap))
