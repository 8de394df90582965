"""The transport conformance suite: checks every Transport must pass, pytest-free.

Plugin authors run it on their own transport::

    from aitbc.transports import conformance

    @pytest.mark.parametrize("check", conformance.CHECKS, ids=lambda c: c.__name__)
    async def test_conformance(check):
        await check(lambda: MyTransport({...}))

``factory`` returns a NEW, unconnected transport each call, configured to reach a node
that speaks ``docs/protocol.md``: ``GET /v1/info`` answers ``{"chain_id": int, ...}``
and an unknown route answers 404 with the error envelope. A failed check raises
:class:`ConformanceError` saying what the transport did wrong.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from ..errors import APIError, NotFoundError, TransportClosedError
from .base import Transport

__all__ = ["CHECKS", "Check", "ConformanceError", "TransportFactory", "run_conformance"]

TransportFactory = Callable[[], Transport]
Check = Callable[[TransportFactory], Awaitable[None]]

INFO_PATH = "/v1/info"
MISSING_PATH = "/v1/conformance-no-such-route"
#: Bound on any one check, so a transport that hangs fails instead of blocking a test run.
CHECK_TIMEOUT = 30.0


class ConformanceError(AssertionError):
    """A transport broke the Transport contract; the message says how."""


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise ConformanceError(message)


async def _info(transport: Transport) -> None:
    answer = await transport.request("GET", INFO_PATH)
    _expect(isinstance(answer, dict), f"request() must return a dict, got {type(answer)}")
    _expect(isinstance(answer.get("chain_id"), int), f"/v1/info lacks an int chain_id: {answer}")


async def check_lifecycle(factory: TransportFactory) -> None:
    """connect/disconnect flip is_connected, are idempotent, and disconnect never fails."""
    transport = factory()
    _expect(not transport.is_connected, "a new transport must not report connected")
    await transport.disconnect()  # closing what was never opened is fine
    await transport.connect()
    await transport.connect()
    _expect(transport.is_connected, "is_connected must be True after connect()")
    await transport.disconnect()
    await transport.disconnect()
    _expect(not transport.is_connected, "is_connected must be False after disconnect()")


async def check_async_with(factory: TransportFactory) -> None:
    """``async with`` connects, yields the transport, and disconnects on exit."""
    transport = factory()
    async with transport as entered:
        _expect(entered is transport, "__aenter__ must return the transport")
        _expect(transport.is_connected, "inside async with the transport must be connected")
        await _info(transport)
    _expect(not transport.is_connected, "leaving async with must disconnect")


async def check_lazy_connect(factory: TransportFactory) -> None:
    """A request on a never-connected transport connects it first (seed behaviour)."""
    transport = factory()
    try:
        await _info(transport)
        _expect(transport.is_connected, "a lazy first request must leave it connected")
    finally:
        await transport.disconnect()


async def check_chain_id(factory: TransportFactory) -> None:
    """``chain_id`` is the configured int (or None), before and after connecting."""
    transport = factory()
    configured = transport.config.get("chain_id")
    expected = None if configured is None else int(configured)
    _expect(transport.chain_id == expected, f"chain_id {transport.chain_id} != {expected}")
    async with transport:
        _expect(transport.chain_id == expected, "chain_id must not change on connect")


async def check_error_envelope(factory: TransportFactory) -> None:
    """A 404 envelope arrives as NotFoundError carrying status, code and message."""
    async with factory() as transport:
        try:
            await transport.request("GET", MISSING_PATH)
        except NotFoundError as exc:
            _expect(exc.status == 404, f"status must be 404, got {exc.status}")
            _expect(bool(exc.code) and bool(exc.message), "code and message must be set")
            return
        except APIError as exc:
            raise ConformanceError(f"expected NotFoundError, got {type(exc).__name__}") from exc
        raise ConformanceError(f"GET {MISSING_PATH} must raise NotFoundError")


async def check_closed_after_disconnect(factory: TransportFactory) -> None:
    """After disconnect() a request raises TransportClosedError; connect() revives it."""
    transport = factory()
    await transport.connect()
    await transport.disconnect()
    try:
        await transport.request("GET", INFO_PATH)
    except TransportClosedError:
        pass
    else:
        raise ConformanceError("a request after disconnect() must raise TransportClosedError")
    try:
        await transport.connect()
        await _info(transport)
    finally:
        await transport.disconnect()


async def check_concurrent_requests(factory: TransportFactory) -> None:
    """Many concurrent requests on one transport all get their own answers."""
    async with factory() as transport:
        results = await asyncio.gather(
            *(transport.request("GET", INFO_PATH) for _ in range(20)),
            *(_missing(transport) for _ in range(5)),
        )
    _expect(all(isinstance(r, dict) for r in results), "every concurrent request needs a dict")


async def _missing(transport: Transport) -> dict[str, object]:
    try:
        await transport.request("GET", MISSING_PATH)
    except NotFoundError:
        return {}
    raise ConformanceError("concurrent request to a missing route did not raise NotFoundError")


async def check_request_once(factory: TransportFactory) -> None:
    """``request_once`` (what AITBCClient calls, under its own retry policy) answers and
    fails like ``request``: a dict for /v1/info, NotFoundError for a missing route, and
    TransportClosedError after disconnect()."""
    transport = factory()
    async with transport:
        answer = await transport.request_once("GET", INFO_PATH)
        _expect(isinstance(answer, dict), f"request_once() must return a dict, got {answer!r}")
        _expect(isinstance(answer.get("chain_id"), int), f"/v1/info lacks a chain_id: {answer}")
        try:
            await transport.request_once("GET", MISSING_PATH)
        except NotFoundError:
            pass
        else:
            raise ConformanceError(f"request_once GET {MISSING_PATH} must raise NotFoundError")
    try:
        await transport.request_once("GET", INFO_PATH)
    except TransportClosedError:
        return
    raise ConformanceError("request_once() after disconnect() must raise TransportClosedError")


async def check_cancellation_safe(factory: TransportFactory) -> None:
    """Cancelling in-flight requests leaves the transport fully usable."""
    async with factory() as transport:
        for spins in (0, 1, 3):
            tasks = [asyncio.ensure_future(transport.request("GET", INFO_PATH)) for _ in range(10)]
            for _ in range(spins):
                await asyncio.sleep(0)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.gather(*(_info(transport) for _ in range(10)))


CHECKS: tuple[Check, ...] = (
    check_lifecycle,
    check_async_with,
    check_lazy_connect,
    check_chain_id,
    check_error_envelope,
    check_closed_after_disconnect,
    check_concurrent_requests,
    check_request_once,
    check_cancellation_safe,
)


async def run_check(check: Check, factory: TransportFactory) -> None:
    """Run one check under :data:`CHECK_TIMEOUT`; a hang is a ConformanceError."""
    try:
        async with asyncio.timeout(CHECK_TIMEOUT) as scope:
            await check(factory)
    except TimeoutError as exc:
        if not scope.expired():
            raise  # the transport's own timeout error: a failure in itself
        raise ConformanceError(f"{check.__name__} did not finish in {CHECK_TIMEOUT}s") from exc


async def run_conformance(factory: TransportFactory) -> list[str]:
    """Run every check in order; returns their names, raises on the first failure."""
    passed: list[str] = []
    for check in CHECKS:
        await run_check(check, factory)
        passed.append(check.__name__)
    return passed
