"""HTTPTransport against a real aiohttp server on a loopback socket."""

from __future__ import annotations

import asyncio
import socket
import sys
import types
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest

from aitbc.errors import (
    ConfigurationError,
    ConflictError,
    ConnectError,
    NotFoundError,
    ProtocolError,
    RateLimitedError,
    ServerError,
    TransportClosedError,
    TransportError,
    TransportTimeout,
)
from aitbc.transports.http import HTTPTransport

from .conftest import ScriptedNode, eventually
from .servers import envelope


def make(url: str, **config: Any) -> HTTPTransport:
    return HTTPTransport({"base_url": url, "timeout": 5, "backoff_base": 0.001, **config})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def test_get_post_params_and_headers(scripted: ScriptedNode) -> None:
    async with make(scripted.url, default_headers={"X-API-Key": "k1"}) as t:
        got = await t.request("POST", "/echo", {"a": 1}, {"q": "x"}, {"X-Extra": "e"})
    assert got == {"method": "POST", "query": {"q": "x"}, "body": {"a": 1}}
    sent = scripted.rec.headers[-1]
    assert sent["X-API-Key"] == "k1"
    assert sent["User-Agent"].startswith("aitbc-python/")
    assert sent["X-Extra"] == "e"


async def test_envelope_maps_to_api_error_with_every_field(scripted: ScriptedNode) -> None:
    async with make(scripted.url) as t:
        with pytest.raises(ConflictError) as info:
            await t.request("GET", "/raw/envelope")
    err = info.value
    assert (err.status, err.code, err.message) == (409, "job_not_cancelable", "too late")
    assert err.request_id == "req_test"
    assert err.details == [{"why": "job_not_cancelable"}]


async def test_unknown_route_is_not_found(scripted: ScriptedNode) -> None:
    async with make(scripted.url) as t:
        with pytest.raises(NotFoundError) as info:
            await t.request("GET", "/v1/nothing")
    assert info.value.code == "not_found"


async def test_non_json_error_body_is_a_clear_error(scripted: ScriptedNode) -> None:
    async with make(scripted.url, max_retries=0) as t:
        with pytest.raises(ServerError) as info:
            await t.request("GET", "/raw/text-error")
    assert info.value.status == 502
    assert "non-JSON" in str(info.value)
    assert "bad gateway" in str(info.value)


@pytest.mark.parametrize("kind", ["not-json", "json-list"])
async def test_success_body_that_is_not_an_object_is_protocol_error(
    scripted: ScriptedNode, kind: str
) -> None:
    async with make(scripted.url) as t:
        with pytest.raises(ProtocolError):
            await t.request("GET", f"/raw/{kind}")


async def test_no_content_is_empty_dict(scripted: ScriptedNode) -> None:
    async with make(scripted.url) as t:
        assert await t.request("GET", "/raw/empty") == {}


async def test_connection_refused_is_connect_error() -> None:
    async with make(f"http://127.0.0.1:{free_port()}", max_retries=1) as t:
        with pytest.raises(ConnectError):
            await t.request("GET", "/v1/info")


async def test_deadline_covers_a_hanging_server(scripted: ScriptedNode) -> None:
    async with make(scripted.url, timeout=1.0) as t:
        with pytest.raises(TransportTimeout):
            await t.request("GET", "/hang")
        assert (await t.request("GET", "/v1/info"))["chain_id"] == 7


async def test_deadline_covers_retry_sleeps(scripted: ScriptedNode) -> None:
    # A Retry-After far beyond the deadline: the driver gives up with the 503 itself
    # instead of sleeping past the deadline.
    scripted.rec.script.append(envelope(503, "unavailable", **{"Retry-After": "3600"}))
    async with make(scripted.url, timeout=2.0) as t:
        with pytest.raises(ServerError) as info:
            await t.request("GET", "/echo")
    assert info.value.retry_after == 3600
    assert scripted.rec.hits["/echo"] == 1


async def test_cancelled_requests_never_poison_the_pool(scripted: ScriptedNode) -> None:
    async with make(scripted.url, limit=4, limit_per_host=4) as t:
        for spins in (0, 2, 20):
            tasks = [asyncio.ensure_future(t.request("GET", "/slow?s=5")) for _ in range(40)]
            for _ in range(spins):
                await asyncio.sleep(0)
            await asyncio.sleep(0.05 if spins == 20 else 0)
            for task in tasks:
                task.cancel()
            results = await asyncio.gather(*tasks, return_exceptions=True)
            assert all(isinstance(r, asyncio.CancelledError) for r in results)
        answers = await asyncio.gather(*(t.request("GET", "/v1/info") for _ in range(20)))
    assert all(a["chain_id"] == 7 for a in answers)


async def test_disconnect_releases_even_when_close_raises(scripted: ScriptedNode) -> None:
    t = make(scripted.url)
    await t.request("GET", "/v1/info")
    session = t.session
    assert session is not None

    async def broken_close() -> None:
        raise OSError("close failed")

    session.close = broken_close  # type: ignore[method-assign]
    await t.disconnect()
    assert session.closed
    assert not t.is_connected


async def test_request_after_disconnect_raises_closed(scripted: ScriptedNode) -> None:
    t = make(scripted.url)
    await t.connect()
    await t.disconnect()
    with pytest.raises(TransportClosedError):
        await t.request("GET", "/v1/info")
    await t.connect()
    assert (await t.request("GET", "/v1/info"))["chain_id"] == 7
    await t.disconnect()


async def test_retries_get_on_503_and_429_honouring_retry_after(scripted: ScriptedNode) -> None:
    scripted.rec.script += [
        envelope(503, "unavailable", **{"Retry-After": "0"}),
        envelope(429, "rate_limited", **{"Retry-After": "0"}),
    ]
    async with make(scripted.url) as t:
        got = await t.request("GET", "/echo")
    assert got["method"] == "GET"
    assert scripted.rec.hits["/echo"] == 3


async def test_large_body_is_sent_whole_on_every_attempt(scripted: ScriptedNode) -> None:
    # Past 1 MiB aiohttp warns on raw bytes (an error under -W error): the transport
    # streams a fresh copy per attempt, so a retried large POST arrives whole too.
    blob = "x" * (3 << 20)
    scripted.rec.script.append(envelope(503, "unavailable", **{"Retry-After": "0"}))
    async with make(scripted.url) as t:
        got = await t.request("POST", "/echo", {"blob": blob}, headers={"Idempotency-Key": "k"})
    assert got["body"] == {"blob": blob}
    assert scripted.rec.hits["/echo"] == 2


async def test_gives_up_after_max_retries(scripted: ScriptedNode) -> None:
    scripted.rec.script += [envelope(429, "rate_limited", **{"Retry-After": "0"}) for _ in range(3)]
    async with make(scripted.url, max_retries=2) as t:
        with pytest.raises(RateLimitedError):
            await t.request("GET", "/echo")
    assert scripted.rec.hits["/echo"] == 3


async def test_max_retries_zero_turns_retries_off(scripted: ScriptedNode) -> None:
    scripted.rec.script.append(envelope(503, "unavailable", **{"Retry-After": "0"}))
    async with make(scripted.url, max_retries=0) as t:
        with pytest.raises(ServerError):
            await t.request("GET", "/echo")
    assert scripted.rec.hits["/echo"] == 1


async def test_post_without_idempotency_key_is_not_retried(scripted: ScriptedNode) -> None:
    scripted.rec.script.append(envelope(503, "unavailable", **{"Retry-After": "0"}))
    async with make(scripted.url) as t:
        with pytest.raises(ServerError):
            await t.request("POST", "/echo", {"x": 1})
    assert scripted.rec.hits["/echo"] == 1


async def test_post_with_idempotency_key_is_retried_with_the_same_key(
    scripted: ScriptedNode,
) -> None:
    scripted.rec.script.append(envelope(503, "unavailable", **{"Retry-After": "0"}))
    async with make(scripted.url) as t:
        got = await t.request("POST", "/echo", {"x": 1}, headers={"Idempotency-Key": "abc"})
    assert got["body"] == {"x": 1}
    keys = [h.get("Idempotency-Key") for h in scripted.rec.headers]
    assert keys == ["abc", "abc"]


@pytest.mark.parametrize(
    "config",
    [
        {},
        {"base_url": ""},
        {"base_url": "ftp://x"},
        {"base_url": "not a url"},
        {"base_url": "http://x", "timeout": "soon"},
        {"base_url": "http://x", "timeout": -1},
        {"base_url": "http://x", "max_retries": -1},
        {"base_url": "http://x", "default_headers": ["X"]},
        {"base_url": "http://x", "retry_statuses": ["x"]},
    ],
)
def test_bad_config_is_configuration_error(config: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        HTTPTransport(config)


def test_chain_id_from_config() -> None:
    assert HTTPTransport({"base_url": "http://x", "chain_id": "137"}).chain_id == 137
    assert HTTPTransport({"base_url": "http://x"}).chain_id is None


async def test_stream_without_the_sse_module_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "aitbc.transports.sse", None)  # as if not installed
    t = HTTPTransport({"base_url": "http://127.0.0.1:1"})
    with pytest.raises(TransportError, match=r"aitbc\.transports\.sse"):
        t.stream("GET", "/v1/events")


def test_stream_delegates_to_the_sse_module(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[Any, ...]] = []
    fake = types.ModuleType("aitbc.transports.sse")
    fake.open_sse_stream = lambda *args: calls.append(args) or "stream"  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "aitbc.transports.sse", fake)
    t = HTTPTransport({"base_url": "http://127.0.0.1:1"})
    assert t.stream("subscribe", "job:job_1", {"resume_from": 0}) == "stream"  # type: ignore[comparison-overlap]
    assert calls == [(t, "subscribe", "job:job_1", {"resume_from": 0})]


@pytest.mark.parametrize("data", [{"x": object()}, {"x": float("nan")}])
async def test_unserialisable_body_is_configuration_error(
    scripted: ScriptedNode, data: dict[str, Any]
) -> None:
    async with make(scripted.url) as t:
        with pytest.raises(ConfigurationError):
            await t.request("POST", "/echo", data)
    assert "/echo" not in scripted.rec.hits


async def test_bad_path_and_query_are_configuration_errors(scripted: ScriptedNode) -> None:
    async with make(scripted.url) as t:
        with pytest.raises(ConfigurationError):
            await t.request("GET", "v1/info")
        with pytest.raises(ConfigurationError):
            await t.request("GET", "/echo", params={"x": object()})
        got = await t.request("GET", "/echo", params={"a": True, "b": 2, "c": None})
    assert got["query"] == {"a": "true", "b": "2"}


async def test_deadline_covers_waiting_for_a_pooled_connection(scripted: ScriptedNode) -> None:
    async with make(scripted.url, limit=1, limit_per_host=1, timeout=1.0) as t:
        session = t.ensure_session()
        # Hold the only connection (no deadline on this raw request) on a hanging route.
        holder = asyncio.ensure_future(session.get(scripted.url + "/hang"))
        await eventually(lambda: "/hang" in scripted.rec.hits)
        with pytest.raises(TransportTimeout):
            await t.request("GET", "/v1/info")
        assert "/v1/info" not in scripted.rec.hits  # it timed out in the pool, never sent
        holder.cancel()
        await asyncio.gather(holder, return_exceptions=True)
        assert (await t.request("GET", "/v1/info"))["chain_id"] == 7


async def test_disconnect_during_requests_raises_aitbc_errors_only(
    scripted: ScriptedNode,
) -> None:
    t = make(scripted.url, limit=2, limit_per_host=2)
    tasks = [asyncio.ensure_future(t.request("GET", "/slow?s=5")) for _ in range(6)]
    await eventually(lambda: scripted.rec.hits.get("/slow", 0) >= 2)
    await t.disconnect()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(r, TransportClosedError) for r in results), results
    # ... and the interruption did not leave those tasks marked as cancelled.
    assert not any(task.cancelled() or task.cancelling() for task in tasks)


async def test_a_real_cancel_still_cancels_even_during_disconnect(
    scripted: ScriptedNode,
) -> None:
    t = make(scripted.url)
    task = asyncio.ensure_future(t.request("GET", "/slow?s=5"))
    await eventually(lambda: "/slow" in scripted.rec.hits)
    task.cancel()  # the caller's own cancel must win over the transport's interruption
    await t.disconnect()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_retry_after_as_an_http_date_is_honoured(scripted: ScriptedNode) -> None:
    past = format_datetime(datetime.now(UTC) - timedelta(seconds=5), usegmt=True)
    scripted.rec.script.append(envelope(503, "unavailable", **{"Retry-After": past}))
    async with make(scripted.url) as t:
        assert (await t.request("GET", "/echo"))["method"] == "GET"
    assert scripted.rec.hits["/echo"] == 2
