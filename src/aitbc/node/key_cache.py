"""A per-worker cache of API-key hash → what the node knows of the key, to skip one
query per request.

Only *successful* lookups are cached (a key unknown here may be created by another
worker a moment later). A key's principal never changes; its end (revocation) may: the
worker that revokes drops the entry at once (:meth:`KeyCache.forget`), other workers
hear it through Redis when configured (:mod:`.key_revocations`), and every entry expires
after ``ttl_seconds`` so a worker that missed the notice honours it within that bound.
Expiry needs no notice: the cached entry carries the key's expiry time.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

V = TypeVar("V")


class KeyCache(Generic[V]):
    """A bounded LRU with a time-to-live, keyed by key hash."""

    def __init__(
        self,
        max_entries: int = 10_000,
        ttl_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_entries < 1 or ttl_seconds <= 0:
            raise ValueError("KeyCache needs max_entries >= 1 and ttl_seconds > 0")
        self._entries: OrderedDict[str, tuple[float, V]] = OrderedDict()
        self._max = max_entries
        self._ttl = ttl_seconds
        self._clock = clock

    def get(self, key_hash: str) -> V | None:
        """The cached value, or None when absent or expired (then it is dropped)."""
        entry = self._entries.get(key_hash)
        if entry is None:
            return None
        expires, value = entry
        if self._clock() >= expires:
            del self._entries[key_hash]
            return None
        self._entries.move_to_end(key_hash)
        return value

    def put(self, key_hash: str, value: V) -> None:
        """Remember ``value``; the least recently used entry goes when full."""
        self._entries[key_hash] = (self._clock() + self._ttl, value)
        self._entries.move_to_end(key_hash)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    def forget(self, key_hash: str) -> None:
        """Drop one entry (for a revocation)."""
        self._entries.pop(key_hash, None)

    def __len__(self) -> int:
        return len(self._entries)
