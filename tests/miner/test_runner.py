"""The miner's own decisions, against an in-memory node: retries, re-registration, lease
loss, executor failures and graceful shutdown."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from aitbc.core.signing import SigningKey
from aitbc.errors import (
    AuthenticationError,
    ConfigurationError,
    ConflictError,
    ConnectError,
    ServerError,
    ValidationError,
    WaitTimeoutError,
)
from aitbc.miner import Execution, ExecutionCanceled, Executor, Miner, MinerConfig
from aitbc.miner.executors import EchoExecutor, HashChainExecutor

from .fake_node import FakeNode


class Blocking(Executor):
    """Runs until canceled, or for ``seconds`` when given."""

    def __init__(self, seconds: float | None = None) -> None:
        self.seconds = seconds
        self.started = threading.Event()
        self.canceled = threading.Event()

    def run(self, payload: Mapping[str, Any], cancel: threading.Event) -> Execution:
        self.started.set()
        if cancel.wait(self.seconds):
            self.canceled.set()
            raise ExecutionCanceled("stopped")
        return Execution(result={"slept": self.seconds}, units=1)


class Broken(Executor):
    def run(self, payload: Mapping[str, Any], cancel: threading.Event) -> Execution:
        raise ZeroDivisionError("boom")


def _miner(node: FakeNode, executors: dict[str, Executor] | None = None, **kw: Any) -> Miner:
    config = MinerConfig(
        coordinator="http://fake",
        api_key="k",
        poll_wait=0.02,
        backoff_base=0.01,
        backoff_cap=0.05,
        **kw,
    )
    return Miner(
        config,
        executors=executors or {"echo": EchoExecutor(), "sha256": HashChainExecutor()},
        key=SigningKey.generate(),
        transport=node,
    )


async def _until(condition: Callable[[], bool], limit: float = 10.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, "condition never became true"
        await asyncio.sleep(0.01)


async def _serve(miner: Miner, condition: Callable[[], bool]) -> None:
    task = asyncio.create_task(miner.run())
    try:
        await _until(condition)
    finally:
        miner.stop()
        await asyncio.wait_for(task, 10)


async def test_job_result_is_attested_and_receipt_checked() -> None:
    node = FakeNode()
    node.add_job("sha256", {"data": "abc", "rounds": 3})
    miner = _miner(node)
    await _serve(miner, lambda: miner.stats.completed == 1)
    assert node.registrations[0]["capabilities"]["job_types"] == ["echo", "sha256"]
    assert node.results["job_1"]["units"] == 1
    assert miner.stats.bad_receipts == 0
    assert miner.stats.receipts[0]["job_id"] == "job_1"


@pytest.mark.parametrize(
    ("job_type", "payload", "message"),
    [
        ("sha256", {"data": "abc"}, "rounds"),
        ("gpu-llm", {"prompt": "x"}, "no executor for job type 'gpu-llm'"),
        ("broken", {}, "ZeroDivisionError: boom"),
    ],
)
async def test_failures_are_reported(job_type: str, payload: dict[str, Any], message: str) -> None:
    node = FakeNode()
    node.add_job(job_type, payload)
    miner = _miner(node, {"sha256": HashChainExecutor(), "broken": Broken()})
    await _serve(miner, lambda: miner.stats.failed == 1)
    assert message in node.failures["job_1"]
    assert not node.results


async def test_node_outage_is_survived_with_backoff() -> None:
    node = FakeNode()
    node.fail_next["info"] = [ConnectError("refused")] * 2
    node.fail_next["poll"] = [ConnectError("refused"), ServerError("down", status=503)]
    node.fail_next["result"] = [ConnectError("reset")]
    node.add_job("echo", {"x": 1})
    miner = _miner(node)
    await _serve(miner, lambda: miner.stats.completed == 1)
    assert node.calls.count("info") == 3
    assert node.calls.count("result") == 2


async def test_forgotten_miner_registers_again() -> None:
    node = FakeNode()
    gone = ConflictError("who?", status=409, code="miner_not_registered")
    node.fail_next["poll"] = [gone]
    node.add_job("echo", {"x": 1})
    miner = _miner(node)
    await _serve(miner, lambda: miner.stats.completed == 1)
    assert len(node.registrations) == 2


async def test_rejected_key_makes_run_raise() -> None:
    node = FakeNode()
    node.fail_next["register"] = [AuthenticationError("bad key", status=401)]
    with pytest.raises(AuthenticationError):
        await asyncio.wait_for(_miner(node).run(), 10)
    assert "poll" not in node.calls


async def test_lost_lease_stops_the_job_and_drops_its_result() -> None:
    node = FakeNode(lease_seconds=0.6)  # heartbeats every 0.2 s
    node.renew = False
    node.add_job("slow", {})
    miner = _miner(node, {"slow": Blocking()})
    await _serve(miner, lambda: miner.stats.lost == 1)
    assert not node.results and not node.failures
    assert miner.heartbeat_interval() == pytest.approx(0.2, abs=0.05)


async def test_stop_lets_the_running_job_finish() -> None:
    node = FakeNode()
    node.add_job("slow", {})
    slow = Blocking(seconds=0.3)
    miner = _miner(node, {"slow": slow}, shutdown_grace=10.0)
    await _serve(miner, slow.started.is_set)
    assert miner.stats.completed == 1
    assert node.results["job_1"]["result"] == {"slept": 0.3}


async def test_stop_fails_a_job_that_outlives_the_grace_period() -> None:
    node = FakeNode()
    node.add_job("slow", {})
    stuck = Blocking()
    miner = _miner(node, {"slow": stuck}, shutdown_grace=0.05)
    await _serve(miner, stuck.started.is_set)
    assert miner.stats.failed == 1
    assert "shut down" in node.failures["job_1"]
    assert node.calls[-1] == "fail"  # nothing polled after the stop


async def test_a_miner_runs_once_and_accepts_comma_separated_executors() -> None:
    node = FakeNode()
    miner = _miner(node)
    miner.stop()
    await asyncio.wait_for(miner.run(), 10)  # stopped before registering: returns
    with pytest.raises(RuntimeError, match="runs once"):
        await miner.run()
    config = MinerConfig(coordinator="http://x", api_key="k", executors="echo, sha256,")
    assert config.executors == ("echo", "sha256")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"coordinator": "127.0.0.1:8000"}, "http"),
        ({"api_key": ""}, "api_key"),
        ({"poll_wait": 31}, "poll_wait"),
        ({"max_concurrency": 0}, "max_concurrency"),
        ({"min_price": -1}, "min_price"),
        ({"heartbeat_interval": 0}, "heartbeat_interval"),
        ({"shutdown_grace": -1}, "shutdown_grace"),
    ],
)
def test_config_rejects_bad_values(changes: dict[str, Any], message: str) -> None:
    settings: dict[str, Any] = {"coordinator": "http://x", "api_key": "k", **changes}
    with pytest.raises(ConfigurationError, match=message):
        MinerConfig(**settings)


async def test_a_refused_result_is_reported_as_a_failure() -> None:
    node = FakeNode()
    node.fail_next["result"] = [
        ValidationError("bad signature", status=422, code="bad_signature"),
    ]
    node.add_job("echo", {"x": 1})
    miner = _miner(node)
    await _serve(miner, lambda: miner.stats.failed == 1)
    assert "node rejected the result" in node.failures["job_1"]
    assert "bad signature" in node.failures["job_1"]


async def test_a_result_for_a_job_taken_back_counts_as_lost() -> None:
    node = FakeNode()
    node.fail_next["result"] = [ConflictError("lease gone", status=409, code="lease_lost")]
    node.fail_next["job_1"] = [ConflictError("not yours", status=404, code="job_not_found")]
    node.add_job("echo", {"x": 1})
    miner = _miner(node)
    await _serve(miner, lambda: miner.stats.lost == 1)
    assert not node.failures and miner.stats.completed == 0


async def test_cancelling_run_stops_the_executor_thread() -> None:
    node = FakeNode()
    node.add_job("slow", {})
    stuck = Blocking()
    miner = _miner(node, {"slow": stuck})
    task = asyncio.create_task(miner.run())
    await _until(stuck.started.is_set)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await _until(stuck.canceled.is_set)
    assert not node.results and not node.failures  # abrupt: the lease will run out


async def test_running_yields_a_registered_miner_and_stops_it() -> None:
    node = FakeNode()
    miner = _miner(node)
    async with miner.running() as serving:
        assert serving.miner_id == "prn_miner"
    assert node.registrations and miner.stats.claimed == 0


async def test_running_raises_why_the_miner_gave_up() -> None:
    node = FakeNode()
    node.fail_next["register"] = [AuthenticationError("bad key", status=401)]
    with pytest.raises(AuthenticationError):
        async with _miner(node).running():
            raise AssertionError("never entered")


async def test_running_times_out_while_the_node_is_unreachable() -> None:
    node = FakeNode()
    node.fail_next["info"] = [ConnectError("refused")] * 1000
    with pytest.raises(WaitTimeoutError):
        async with _miner(node).running(register_timeout=0.2):
            raise AssertionError("never entered")
