"""Failover logic without a network: EndpointPool on a fake clock, FailoverTransport over
MockTransports that fail on command."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest

from aitbc.errors import (
    ConfigurationError,
    ConnectError,
    ConnectionClosed,
    NotFoundError,
    TransportClosedError,
    TransportTimeout,
)
from aitbc.transports import MockRequest, MockTransport, create_transport
from aitbc.transports.failover import EndpointPool, FailoverTransport, may_fail_over
from aitbc.transports.http import HTTPTransport


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Endpoint:
    """A MockTransport handler that answers with its name or raises ``fail``."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.fail: BaseException | None = None
        self.calls = 0

    def __call__(self, request: MockRequest) -> dict[str, Any]:
        self.calls += 1
        if self.fail is not None:
            raise self.fail
        return {"served_by": self.name, "chain_id": 7}


def make(n: int, clock: FakeClock, **config: Any) -> tuple[FailoverTransport, list[Endpoint]]:
    handlers = [Endpoint(f"e{i}") for i in range(n)]
    transports = [MockTransport(h, {"chain_id": 7, "name": h.name}) for h in handlers]
    failover = FailoverTransport(
        {"endpoints": transports, "chain_id": 7, **config}, clock=clock, rng=random.Random(1)
    )
    return failover, handlers


def test_backoff_grows_exponentially_is_capped_and_jittered() -> None:
    pool = EndpointPool(["a"], base=1.0, cap=8.0, rng=random.Random(3))
    for failures, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (5, 8.0), (60, 8.0)]:
        delays = {pool.backoff(failures) for _ in range(50)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(delays) > 1  # jittered, not a fixed value


def test_failed_endpoint_is_put_aside_then_comes_back_first() -> None:
    clock = FakeClock()
    pool = EndpointPool(["a", "b", "c"], base=1.0, cap=10.0, clock=clock, rng=random.Random(0))
    assert pool.order() == [0, 1, 2]
    first = pool.record_failure(0)
    assert 0.5 <= first <= 1.0 and pool.order() == [1, 2, 0] and pool.healthy() == ["b", "c"]
    clock.now += first
    assert pool.order() == [0, 1, 2]  # back in its configured (preferred) place
    second = pool.record_failure(0)  # failed again on probation: longer back-off
    assert 1.0 <= second <= 2.0
    clock.now += second - 0.01
    assert pool.order()[0] == 1
    pool.record_success(0)
    assert pool.order() == [0, 1, 2] and pool.states[0].failures == 0


def test_all_aside_are_still_tried_soonest_back_first() -> None:
    clock = FakeClock()
    pool = EndpointPool(["a", "b"], base=1.0, cap=10.0, clock=clock, rng=random.Random(0))
    pool.record_failure(0)
    pool.record_failure(0)  # a: 1..2 s
    pool.record_failure(1)  # b: 0.5..1 s
    assert pool.healthy() == [] and pool.order() == [1, 0]


@pytest.mark.parametrize(
    ("error", "method", "headers", "expected"),
    [
        (ConnectError("x"), "POST", None, True),  # nothing was sent
        (ConnectionClosed("x"), "GET", None, True),
        (ConnectionClosed("x"), "DELETE", None, True),
        (ConnectionClosed("x"), "POST", None, False),  # the node may have acted
        (ConnectionClosed("x"), "POST", {"idempotency-key": "k"}, True),
        (TransportTimeout("x"), "GET", None, False),
        (NotFoundError("x", status=404), "GET", None, False),
    ],
)
def test_may_fail_over(
    error: BaseException, method: str, headers: dict[str, str] | None, expected: bool
) -> None:
    assert may_fail_over(error, method, headers) is expected


async def test_fails_over_and_returns_to_the_first_after_backoff() -> None:
    clock = FakeClock()
    transport, (a, _) = make(2, clock, failover_backoff_base=2.0)
    async with transport:
        assert (await transport.request("GET", "/x"))["served_by"] == "e0"
        a.fail = ConnectError("refused")
        assert (await transport.request("GET", "/x"))["served_by"] == "e1"
        assert (await transport.request("GET", "/x"))["served_by"] == "e1"
        assert a.calls == 2  # put aside: not tried again during its back-off
        a.fail = None
        clock.now += 2.0
        assert (await transport.request("GET", "/x"))["served_by"] == "e0"
        assert transport.pool.healthy() == ["e0", "e1"]


async def test_unsafe_post_after_a_broken_connection_is_not_repeated() -> None:
    transport, (a, b) = make(2, FakeClock())
    a.fail = ConnectionClosed("reset mid-answer")
    async with transport:
        with pytest.raises(ConnectionClosed, match="reset"):
            await transport.request("POST", "/v1/jobs", {"x": 1})
        assert b.calls == 0
        a.fail = None  # a is aside now: the keyed POST goes to b
        keyed = {"Idempotency-Key": "k1"}
        assert (await transport.request("POST", "/v1/jobs", {}, None, keyed))["served_by"] == "e1"


async def test_api_errors_and_timeouts_are_not_failed_over() -> None:
    transport, (a, b) = make(2, FakeClock())
    async with transport:
        a.fail = NotFoundError("gone", status=404, code="job_not_found")
        with pytest.raises(NotFoundError):
            await transport.request("GET", "/x")
        a.fail = TransportTimeout("slow")
        with pytest.raises(TransportTimeout):
            await transport.request("GET", "/x")
        assert b.calls == 0 and transport.pool.healthy() == ["e0", "e1"]


async def test_every_endpoint_down_names_each_cause() -> None:
    transport, (a, b) = make(2, FakeClock())
    a.fail, b.fail = ConnectError("a refused"), ConnectError("b refused")
    async with transport:
        with pytest.raises(ConnectError, match=r"every endpoint failed.*a refused.*b refused"):
            await transport.request("GET", "/x")


async def test_closed_transport_refuses_and_reconnects() -> None:
    transport, _ = make(2, FakeClock())
    await transport.connect()
    await transport.disconnect()
    assert not any(e.is_connected for e in transport.endpoints)
    with pytest.raises(TransportClosedError):
        await transport.request("GET", "/x")
    await transport.connect()
    assert (await transport.request("GET", "/x"))["served_by"] == "e0"
    await transport.disconnect()


async def test_stream_fails_over_before_the_first_event() -> None:
    def events(name: str) -> Any:
        def handler(request: MockRequest) -> list[dict[str, Any]]:
            if name == "e0":
                raise ConnectError("down")
            return [{"topic": "t", "seq": i, "event": "e", "data": {"by": name}} for i in (1, 2)]

        return handler

    transports = [
        MockTransport(lambda r: {}, {"chain_id": 1}, stream_handler=events(f"e{i}"))
        for i in range(2)
    ]
    async with FailoverTransport({"endpoints": transports}) as transport:
        got = [e async for e in transport.stream("GET", "/v1/events")]
    assert [e["data"]["by"] for e in got] == ["e1", "e1"]


def test_registry_builds_failover_from_an_endpoints_list() -> None:
    urls = ["http://127.0.0.1:1", "http://127.0.0.1:2"]
    transport = create_transport({"type": "http", "endpoints": urls, "chain_id": 5, "timeout": 3})
    assert isinstance(transport, FailoverTransport)
    assert all(isinstance(e, HTTPTransport) for e in transport.endpoints)
    assert [e.base_url for e in transport.endpoints] == urls  # type: ignore[attr-defined]
    assert all(e.timeout == 3 and e.chain_id == 5 for e in transport.endpoints)  # type: ignore[attr-defined]
    by_alias = create_transport({"base_url": urls[0], "base_urls": urls[1:]})
    assert [e.config["base_url"] for e in by_alias.endpoints] == urls  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "config",
    [
        {"endpoints": []},
        {"endpoints": "http://127.0.0.1:1"},
        {"endpoints": [3]},
        {"endpoints": ["ws://x"], "endpoint_type": "crosschain"},
        {"endpoints": ["http://x"], "endpoint_type": "failover"},
        {"endpoints": ["http://x"], "failover_backoff_base": 0},
        {"endpoints": ["http://x"], "failover_backoff_cap": "soon"},
    ],
)
def test_bad_failover_configs(config: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        FailoverTransport(config)


def test_concurrent_failures_of_one_outage_count_once() -> None:
    clock = FakeClock()
    pool = EndpointPool(["a", "b"], base=1.0, cap=60.0, clock=clock, rng=random.Random(0))
    started = clock()
    clock.now += 0.1
    pool.record_failure(0, since=started)
    for _ in range(20):  # twenty requests that were in flight when "a" went down
        pool.record_failure(0, since=started)
    assert pool.states[0].failures == 1
    clock.now += 5.0
    pool.record_failure(0, since=clock())  # a new attempt after the back-off: counts
    assert pool.states[0].failures == 2


async def test_one_deadline_bounds_the_whole_call() -> None:
    never = asyncio.Event()

    async def hang(request: MockRequest) -> dict[str, Any]:
        await never.wait()
        return {}

    endpoints = [MockTransport(hang), MockTransport(Endpoint("e1"))]
    async with FailoverTransport({"endpoints": endpoints, "timeout": 0.05}) as transport:
        with pytest.raises(TransportTimeout, match=r"no endpoint answered within 0\.05s"):
            await transport.request("GET", "/x")
    with pytest.raises(ConfigurationError):
        FailoverTransport({"endpoints": endpoints, "timeout": 0})


async def test_stream_with_every_endpoint_down_raises_the_connect_error() -> None:
    def down(request: MockRequest) -> list[dict[str, Any]]:
        raise ConnectError(f"{request.path} refused")

    transports = [MockTransport(lambda r: {}, stream_handler=down) for _ in range(2)]
    async with FailoverTransport({"endpoints": transports}, clock=FakeClock()) as transport:
        with pytest.raises(ConnectError, match="refused"):
            _ = [e async for e in transport.stream("GET", "/v1/events")]
        assert transport.pool.healthy() == []
