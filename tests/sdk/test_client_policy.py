"""The client's own retry policy and per-call options (client-side logic, MockTransport)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from aitbc import AITBCClient, MockRequest, MockTransport
from aitbc.errors import ConfigurationError, ConnectionClosed, ServerError, TransportTimeout

INFO = {"chain_id": 1, "version": "t", "coordinator_id": "c", "signing_keys": []}
JOB = {
    "id": "job_1",
    "client_id": "c",
    "job_type": "echo",
    "price": "1",
    "state": "QUEUED",
    "created_at": "2026-01-01T00:00:00Z",
}


class Script:
    """Fails the first requests to /v1/jobs with the given errors, then answers."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.seen: list[MockRequest] = []

    def __call__(self, request: MockRequest) -> dict[str, Any]:
        if request.path == "/v1/info":
            return INFO
        self.seen.append(request)
        if self.errors:
            raise self.errors.pop(0)
        return JOB


def unavailable(retry_after: float | None = None) -> ServerError:
    return ServerError("busy", status=503, code="unavailable", retry_after=retry_after)


class Clock:
    def __init__(self) -> None:
        self.sleeps: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


async def test_one_idempotency_key_across_retries_and_retry_after_honoured() -> None:
    script = Script(unavailable(2.5), ConnectionClosed("lost"), unavailable(0.25))
    clock = Clock()
    async with AITBCClient(MockTransport(script)) as base:
        job = await base.with_options(sleep=clock.sleep).jobs.create({"job_type": "echo"})
    assert job.id == "job_1"
    keys = {r.header("Idempotency-Key") for r in script.seen}
    assert len(script.seen) == 4 and len(keys) == 1 and None not in keys
    assert clock.sleeps[0] == 2.5 and clock.sleeps[2] == 0.25  # the server's Retry-After


async def test_max_retries_per_client_and_per_call() -> None:
    script = Script(unavailable(0.0), unavailable(0.0))
    async with AITBCClient(MockTransport(script, {"max_retries": 5})) as client:
        with pytest.raises(ServerError):
            await client.with_options(max_retries=0).jobs.create({"job_type": "echo"})
        assert len(script.seen) == 1
        job = await client.jobs.create({"job_type": "echo"})  # the transport's 5 apply
    assert job.id == "job_1" and len(script.seen) == 3


async def test_a_post_without_key_is_not_resent_after_a_lost_connection() -> None:
    script = Script(ConnectionClosed("lost after sending"))
    async with AITBCClient(MockTransport(script)) as client:
        with pytest.raises(ConnectionClosed):
            await client.call("POST", "/v1/jobs", {"job_type": "echo"})
    assert len(script.seen) == 1


async def test_per_call_timeout_covers_the_whole_call() -> None:
    never = asyncio.Event()

    async def hang(request: MockRequest) -> dict[str, Any]:
        if request.path == "/v1/info":
            return INFO
        await never.wait()
        raise AssertionError("unreachable")

    async with AITBCClient(MockTransport(hang)) as client:
        with pytest.raises(TransportTimeout, match=r"no answer within 0\.05s"):
            await client.with_options(timeout=0.05).jobs.get("job_1")


@pytest.mark.parametrize(
    "options", [{"timeout": 0}, {"timeout": -1}, {"max_retries": -1}, {"max_retries": True}]
)
def test_bad_options_are_refused(options: dict[str, Any]) -> None:
    client = AITBCClient(MockTransport(Script()))
    with pytest.raises(ConfigurationError):
        client.with_options(**options)


async def test_with_options_shares_the_connection_and_apis_follow_the_copy() -> None:
    script = Script()
    transport = MockTransport(script)
    async with AITBCClient(transport) as client:
        quick = client.with_options(timeout=1)
        assert quick.transport is client.transport
        assert quick.jobs._resolver is quick and client.jobs._resolver is client
        await quick.jobs.create({"job_type": "echo"})
        assert client.job_chain("job_1") == 1  # the copy shares the client's memory
    infos = [r for r in transport.requests if r.path == "/v1/info"]
    assert len(infos) == 1
