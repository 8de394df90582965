"""FailoverTransport: one network served by several endpoints, used in order of health.

Config keys: ``endpoints`` (alias ``base_urls``): a list whose entries are URLs, config
dicts for one endpoint, or ready :class:`Transport` instances; ``endpoint_type`` (the
registry type of each endpoint, default ``http``; a URL becomes its ``base_url``, or its
``ws_url`` for ``websocket``); ``failover_backoff_base`` (seconds an endpoint is first
put aside, default 1), ``failover_backoff_cap`` (default 60). Every other key (timeouts,
headers, retries, ``chain_id``) is shared by every endpoint.

When to fail over. Only on :class:`~aitbc.errors.ConnectError` and
:class:`~aitbc.errors.ConnectionClosed`, the errors that say *this endpoint* is unwell,
and only when sending again cannot do anything twice: a ConnectError means nothing was
sent, so any method may move on; a ConnectionClosed may have come after the node acted,
so only idempotent methods (GET, HEAD, OPTIONS, PUT, DELETE) or a request carrying an
``Idempotency-Key`` (which the node deduplicates, and which every endpoint of one network
shares through one database) move on. An error envelope (APIError) proves the endpoint
is alive and is returned as is; a timeout is not failed over because the call's deadline
is spent and the node may still be acting on it.

Time and retries. ``timeout`` (default 30 s, ``None`` for none) bounds the whole call.
One attempt (:meth:`FailoverTransport.request_once`) is one round over the endpoints,
each tried once; the retry policy (``max_retries``..., the same as every transport's,
and :class:`aitbc.AITBCClient`'s own when used through a client) repeats rounds:
429/503 after their Retry-After, a round that lost every endpoint after a backoff.

Health. A failed endpoint is put aside for an exponentially growing, capped, jittered
back-off (see :class:`EndpointPool`); once it ends, the endpoint is tried again in its
configured place, so the first listed endpoint is preferred whenever it is healthy. If
every endpoint is aside, they are still tried, soonest-back first: a request is never
refused without trying.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..core.backoff import backoff_ceiling
from ..errors import (
    ConfigurationError,
    ConnectError,
    ConnectionClosed,
    TransportClosedError,
    TransportTimeout,
)
from .base import JSONDict, Transport
from .registry import create_transport
from .retry import IDEMPOTENT_METHODS, Deadline, RetryPolicy, call_with_retries, has_idempotency_key

__all__ = ["EndpointPool", "EndpointState", "FailoverTransport", "may_fail_over"]

_log = logging.getLogger(__name__)

Clock = Callable[[], float]
_URL_KEYS = {"http": "base_url", "websocket": "ws_url"}
_OWN_KEYS = frozenset(
    {"type", "name", "endpoints", "base_urls", "endpoint_type", "failover_backoff_base",
     "failover_backoff_cap", "base_url", "ws_url"}
)  # fmt: skip


def may_fail_over(error: BaseException, method: str, headers: Mapping[str, str] | None) -> bool:
    """True when ``error`` from one endpoint allows sending the request to the next one."""
    if isinstance(error, ConnectError):
        return True  # the connection never opened: nothing reached the node
    if isinstance(error, ConnectionClosed):
        return method.upper() in IDEMPOTENT_METHODS or has_idempotency_key(headers)
    return False


@dataclass
class EndpointState:
    """Health of one endpoint: consecutive failures and when its back-off ends."""

    name: str
    failures: int = 0
    down_until: float = 0.0
    failed_at: float = float("-inf")

    def available(self, now: float) -> bool:
        """True when the endpoint is not put aside at ``now``."""
        return now >= self.down_until


class EndpointPool:
    """Sans-I/O health bookkeeping for an ordered list of endpoints.

    After its ``n``-th consecutive failure an endpoint is put aside for
    ``min(cap, base * 2**(n-1)) * uniform(0.5, 1)`` seconds: the jitter keeps many
    clients from returning to a recovered endpoint in lockstep, and its floor of one half
    keeps the back-off growing. One success clears the count.
    """

    def __init__(
        self,
        names: Sequence[str],
        *,
        base: float = 1.0,
        cap: float = 60.0,
        clock: Clock = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        if not names:
            raise ConfigurationError("a failover pool needs at least one endpoint")
        if base <= 0 or cap < base:
            raise ConfigurationError("failover back-off needs 0 < base <= cap")
        self.states = [EndpointState(name) for name in names]
        self.base, self.cap, self.clock = base, cap, clock
        self._rng = rng or random.Random()

    def order(self) -> list[int]:
        """Indexes to try: available ones in configured order, then the rest by return."""
        now = self.clock()
        ready = [i for i, s in enumerate(self.states) if s.available(now)]
        aside = [i for i, s in enumerate(self.states) if not s.available(now)]
        return ready + sorted(aside, key=lambda i: self.states[i].down_until)

    def backoff(self, failures: int) -> float:
        """The back-off after ``failures`` consecutive failures (jittered)."""
        # Half jitter, not full: an endpoint just put aside must stay aside a while.
        ceiling = backoff_ceiling(failures, base=self.base, cap=self.cap)
        return ceiling * self._rng.uniform(0.5, 1.0)

    def record_failure(self, index: int, since: float | None = None) -> float:
        """Put endpoint ``index`` aside; returns the seconds it stays aside.

        ``since`` is when the failed attempt started: if another attempt already
        recorded a failure after that, this is the same outage seen by a concurrent
        request and does not grow the back-off again.
        """
        state, now = self.states[index], self.clock()
        if since is not None and state.failed_at >= since:
            return max(0.0, state.down_until - now)
        state.failures += 1
        delay = self.backoff(state.failures)
        state.down_until, state.failed_at = now + delay, now
        return delay

    def record_success(self, index: int) -> None:
        """Endpoint ``index`` answered: healthy again."""
        state = self.states[index]
        state.failures, state.down_until = 0, 0.0

    def healthy(self) -> list[str]:
        """Names of the endpoints not put aside now."""
        now = self.clock()
        return [s.name for s in self.states if s.available(now)]


def _endpoint_config(entry: Any, shared: Mapping[str, Any], kind: str) -> Transport:
    if isinstance(entry, Transport):
        return entry
    if isinstance(entry, str):
        key = _URL_KEYS.get(kind)
        if key is None:
            raise ConfigurationError(f"endpoints of type {kind!r} must be config dicts, not URLs")
        return create_transport({**shared, "type": kind, key: entry})
    if isinstance(entry, Mapping):
        return create_transport({**shared, "type": kind, **entry})
    raise ConfigurationError(f"an endpoint must be a URL, a config dict or a Transport: {entry!r}")


def _endpoints(config: Mapping[str, Any]) -> list[Any]:
    entries = config.get("endpoints", config.get("base_urls"))
    if isinstance(entries, str | bytes) or not isinstance(entries, Sequence) or not entries:
        raise ConfigurationError("FailoverTransport needs config['endpoints']: a non-empty list")
    primary = config.get("base_url")
    if isinstance(primary, str) and primary not in entries:
        return [primary, *entries]  # a base_url given beside endpoints is the first choice
    return list(entries)


def _seconds(config: Mapping[str, Any], key: str, default: float) -> float:
    value = config.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigurationError(f"config[{key!r}] must be a number of seconds, got {value!r}")
    return float(value)


def _call_timeout(config: Mapping[str, Any]) -> float | None:
    value = config.get("timeout", 30.0)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigurationError(f"config['timeout'] must be a positive number, got {value!r}")
    return float(value)


def _name(transport: Transport, index: int) -> str:
    for key in ("name", "base_url", "ws_url"):
        if isinstance(transport.config.get(key), str):
            return str(transport.config[key])
    return f"endpoint {index}"


class FailoverTransport(Transport):
    """Serves one network from several endpoints (see the module docstring).

    Lifecycle as every transport: connects lazily on the first request, ``disconnect()``
    closes every endpoint and never raises, and a request after ``disconnect()`` raises
    TransportClosedError until ``connect()``. ``clock`` and ``rng`` are for tests.
    """

    def __init__(
        self,
        config: Mapping[str, Any],
        *,
        clock: Clock = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(config)
        kind = str(self.config.get("endpoint_type", "http"))
        if kind == "failover":
            raise ConfigurationError("a failover endpoint cannot itself be a failover transport")
        shared = {k: v for k, v in self.config.items() if k not in _OWN_KEYS}
        self.endpoints = [_endpoint_config(e, shared, kind) for e in _endpoints(self.config)]
        names = [_name(t, i) for i, t in enumerate(self.endpoints)]
        self.pool = EndpointPool(
            names,
            base=_seconds(self.config, "failover_backoff_base", 1.0),
            cap=_seconds(self.config, "failover_backoff_cap", 60.0),
            clock=clock,
            rng=rng,
        )
        self.config.setdefault("base_url", names[0])  # what logs and errors show
        self._timeout = _call_timeout(self.config)
        self.retry_policy = RetryPolicy.from_config(self.config)
        self._connect_lock = asyncio.Lock()
        self._closed_by_user = False

    async def connect(self) -> None:
        """Connect every endpoint; succeeds when at least one connects (idempotent).

        Endpoints that fail are put aside. Raises ConnectError naming every endpoint's
        cause when none connects, and then leaves nothing open.
        """
        async with self._connect_lock:
            if self._connected:
                return
            try:
                results = await asyncio.gather(
                    *(t.connect() for t in self.endpoints), return_exceptions=True
                )
                errors = self._sort_connect_results(results)
            except BaseException:  # cancelled mid-connect: close what did open
                await self._close_all()
                raise
            if len(errors) == len(self.endpoints):
                await self._close_all()
                raise ConnectError("no endpoint could connect: " + "; ".join(errors))
            self._connected, self._closed_by_user = True, False

    def _sort_connect_results(self, results: list[BaseException | None]) -> list[str]:
        errors: list[str] = []
        for index, result in enumerate(results):
            if isinstance(result, asyncio.CancelledError | KeyboardInterrupt | SystemExit):
                raise result
            if isinstance(result, BaseException):
                self.pool.record_failure(index)
                errors.append(f"{self.pool.states[index].name}: {result!r}")
        return errors

    async def disconnect(self) -> None:
        """Close every endpoint, even when some closes fail (those are logged)."""
        self._connected, self._closed_by_user = False, True
        await self._close_all()

    async def _close_all(self) -> None:
        results = await asyncio.gather(
            *(t.disconnect() for t in self.endpoints), return_exceptions=True
        )
        for state, result in zip(self.pool.states, results, strict=True):
            if isinstance(result, BaseException):
                _log.warning("failover endpoint %s: close failed: %r", state.name, result)

    async def _ready(self) -> None:
        if self._closed_by_user:
            raise TransportClosedError("FailoverTransport used after disconnect(); call connect()")
        if not self._connected:
            await self.connect()

    async def request(
        self,
        method: str,
        path: str,
        data: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> JSONDict:
        """Send the request to the healthiest endpoint, failing over where that is safe,
        and retry the whole round per the config's policy (``max_retries``...).

        For direct use; :class:`aitbc.AITBCClient` applies its own policy around
        :meth:`request_once`. Raises what the last endpoint tried raised (ConnectError /
        ConnectionClosed when every endpoint failed, with every cause in the message);
        errors that do not allow a failover are raised at once.
        """
        deadline = Deadline(self._timeout)

        async def attempt() -> JSONDict:
            return await self.request_once(method, path, data, params, headers)

        try:
            with deadline:
                return await call_with_retries(
                    attempt, self.retry_policy, method=method, headers=headers, deadline=deadline
                )
        except TimeoutError as exc:
            if not deadline.expired:
                raise  # an endpoint's own TransportTimeout
            raise TransportTimeout(
                f"{method} {path}: no endpoint answered within {self._timeout}s"
            ) from exc

    async def request_once(
        self,
        method: str,
        path: str,
        data: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> JSONDict:
        """One round over the endpoints, healthiest first, each tried once: moves on
        only where that is safe (see :func:`may_fail_over`); no deadline of its own."""
        await self._ready()
        causes: list[str] = []
        last: ConnectError | ConnectionClosed | None = None
        for index in self.pool.order():
            started = self.pool.clock()
            endpoint = self.endpoints[index]
            try:
                answer = await endpoint.request_once(method, path, data, params, headers)
            except (ConnectError, ConnectionClosed) as exc:
                self._put_aside(index, exc, started)
                if not may_fail_over(exc, method, headers):
                    raise
                causes.append(f"{self.pool.states[index].name}: {exc}")
                last = exc
                continue
            self.pool.record_success(index)
            return answer
        # The pool yields every endpoint (at least one), so ``last`` is set here.
        error = type(last) if last is not None else ConnectError
        raise error(f"{method} {path}: every endpoint failed: " + "; ".join(causes)) from last

    def _put_aside(self, index: int, exc: BaseException, since: float | None = None) -> None:
        delay = self.pool.record_failure(index, since)
        name = self.pool.states[index].name
        _log.warning("failover endpoint %s failed (%s); put aside for %.2fs", name, exc, delay)

    async def stream(
        self, method: str, path: str, data: Mapping[str, Any] | None = None
    ) -> AsyncIterator[JSONDict]:
        """Subscribe on the healthiest endpoint whose stream opens.

        Fails over only while no event has arrived yet (a subscription is a read, so
        opening it twice is safe); once events flow, the endpoint's own reconnect and
        resume logic applies and its errors are raised as is.
        """
        await self._ready()
        last: BaseException | None = None
        for index in self.pool.order():
            events = self.endpoints[index].stream(method, path, data)
            try:
                first = await anext(aiter(events))
            except StopAsyncIteration:
                self.pool.record_success(index)
                return
            except (ConnectError, ConnectionClosed) as exc:
                self._put_aside(index, exc)
                last = exc
                await _close_iterator(events)
                continue
            except BaseException:
                await _close_iterator(events)
                raise
            self.pool.record_success(index)
            try:
                yield first
                async for event in events:
                    yield event
            finally:
                await _close_iterator(events)
            return
        raise last if last is not None else ConnectError(f"{path}: no endpoint to stream from")


async def _close_iterator(events: AsyncIterator[JSONDict]) -> None:
    close = getattr(events, "aclose", None)
    if close is not None:
        await close()
