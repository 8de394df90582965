"""The per-worker API-key cache: bounded, expiring, and never caching an unknown key."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from aitbc.node.key_cache import KeyCache
from aitbc.node.services.principals import hash_key


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_entries_expire_after_the_ttl() -> None:
    clock = FakeClock()
    cache: KeyCache[str] = KeyCache(ttl_seconds=10, clock=clock)
    cache.put("h", "alice")
    clock.now = 9.9
    assert cache.get("h") == "alice"
    clock.now = 10.0
    assert cache.get("h") is None
    assert len(cache) == 0


def test_the_least_recently_used_entry_goes_first() -> None:
    cache: KeyCache[str] = KeyCache(max_entries=2)
    cache.put("a", "1")
    cache.put("b", "2")
    assert cache.get("a") == "1"  # "b" is now the least recently used
    cache.put("c", "3")
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == ("1", None, "3")


def test_forget_drops_one_entry() -> None:
    cache: KeyCache[str] = KeyCache()
    cache.put("a", "1")
    cache.forget("a")
    cache.forget("never-there")
    assert cache.get("a") is None


@pytest.mark.parametrize("kwargs", [{"max_entries": 0}, {"ttl_seconds": 0}])
def test_bad_bounds_are_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        KeyCache(**kwargs)


async def test_only_known_keys_are_cached(node: Any) -> None:
    cache = node.node.key_cache
    _, key = await node.create_principal("client", "carol")
    async with httpx.AsyncClient(base_url=node.url) as http:
        before = len(cache)
        unknown = await http.get("/v1/me", headers={"X-API-Key": "aitbc_unknown"})
        assert unknown.status_code == 401
        assert len(cache) == before
        assert cache.get(hash_key("aitbc_unknown")) is None
        for _ in range(2):  # the second answer comes from the cache, and must agree
            me = await http.get("/v1/me", headers={"X-API-Key": key})
            assert me.status_code == 200 and me.json()["name"] == "carol"
    assert cache.get(hash_key(key)).principal.name == "carol"


async def test_a_key_created_by_another_worker_works_at_once(
    node: Any, node_factory: Callable[..., Awaitable[Any]]
) -> None:
    other = await node_factory(database_url=node.settings.database_url)
    async with httpx.AsyncClient(base_url=node.url) as http:
        assert (await http.get("/v1/me", headers={"X-API-Key": "aitbc_x"})).status_code == 401
        _, key = await other.create_principal("client", "dave")
        me = await http.get("/v1/me", headers={"X-API-Key": key})
    assert me.status_code == 200 and me.json()["name"] == "dave"
