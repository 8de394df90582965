"""Client-side logic of the live job view: stream when the transport can, poll when it
cannot, never miss the final state. MockTransport stands in for the node here only; the
same paths run against a real node in test_jobs.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from aitbc import AITBCClient, MockRequest, MockTransport, WaitTimeoutError
from aitbc.cli.live import follow_job
from aitbc.cli.output import Output

INFO = {"chain_id": 1, "version": "t", "coordinator_id": "c", "signing_keys": []}


def job(state: str, attempts: int = 0) -> dict[str, Any]:
    return {
        "id": "job_1",
        "client_id": "prn_1",
        "job_type": "echo",
        "price": "5",
        "state": state,
        "attempts": attempts,
        "created_at": "2026-11-26T18:00:00Z",
    }


def node(states: list[str]) -> Any:
    """A handler answering /v1/info and GET job_1 with ``states`` in turn (last repeats)."""
    served: list[str] = []

    def handler(request: MockRequest) -> dict[str, Any]:
        if request.path == "/v1/info":
            return INFO
        assert request.path == "/v1/jobs/job_1"
        served.append(states[min(len(served), len(states) - 1)])
        return job(served[-1])

    handler.served = served  # type: ignore[attr-defined]
    return handler


async def test_polls_when_the_transport_cannot_stream(capsys: pytest.CaptureFixture[str]) -> None:
    handler = node(["QUEUED", "RUNNING", "RUNNING", "COMPLETED"])
    async with AITBCClient(MockTransport(handler)) as client:  # no stream_handler
        final = await follow_job(client, "job_1", Output(True), stream=True, timeout=10)
    assert final.state == "COMPLETED"
    assert handler.served[-1] == "COMPLETED"
    lines = capsys.readouterr().out.splitlines()
    assert [line.count('"state": "') for line in lines] == [1] * len(lines)
    assert '"event": "job.completed"' in lines[-1] and '"event": "job.queued"' in lines[0]


async def test_streams_from_seq_zero_and_stops_at_the_final_event() -> None:
    handler = node(["QUEUED"])
    asked: list[MockRequest] = []

    def events(request: MockRequest) -> Iterator[dict[str, Any]]:
        asked.append(request)
        for seq, state in enumerate(["QUEUED", "RUNNING", "COMPLETED", "QUEUED"], start=1):
            yield {
                "topic": "job:job_1",
                "seq": seq,
                "event": f"job.{state.lower()}",
                "data": job(state),
            }

    transport = MockTransport(handler, stream_handler=events)
    async with AITBCClient(transport) as client:
        final = await follow_job(client, "job_1", Output(True), stream=True, timeout=10)
    assert final.state == "COMPLETED"
    assert asked[0].path == "job:job_1" and asked[0].data == {"resume_from": 0}
    assert handler.served == ["QUEUED"]  # no polling once the stream worked


async def test_already_final_job_returns_at_once() -> None:
    handler = node(["CANCELED"])
    async with AITBCClient(MockTransport(handler)) as client:
        final = await follow_job(client, "job_1", Output(True), stream=True, timeout=10)
    assert final.state == "CANCELED" and handler.served == ["CANCELED"]


async def test_waiting_has_a_deadline() -> None:
    handler = node(["RUNNING"])
    async with AITBCClient(MockTransport(handler)) as client:
        with pytest.raises(WaitTimeoutError, match="still RUNNING"):
            await follow_job(client, "job_1", Output(True), stream=False, timeout=0.3, quiet=True)
