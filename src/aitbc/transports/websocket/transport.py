"""The WebSocketTransport: one socket, one reader task, reconnects and resubscribes."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import time
from collections.abc import Mapping
from typing import Any

import websockets.exceptions
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect

from ...core.backoff import full_jitter_delay
from ...core.streams import CLOSE_UNAUTHENTICATED, STREAM_GAP
from ...errors import (
    AITBCError,
    AuthenticationError,
    ConfigurationError,
    ConnectError,
    ConnectionClosed,
    NetworkMismatchError,
    ProtocolError,
    ServerError,
    TransportClosedError,
    TransportTimeout,
)
from ..base import JSONDict, Transport
from ..retry import RetryPolicy, call_within
from .errors import api_error, gap_error, json_or_none, map_websockets_error
from .settings import WSSettings
from .subscription import SubscriptionState, WebSocketSubscription

__all__ = ["WebSocketTransport"]

_log = logging.getLogger(__name__)
# websockets logs every handshake header and frame at DEBUG, the API key included. Its
# records go through this logger instead: quiet unless asked for (level INFO even when
# "aitbc" is at DEBUG), and never with a credential header's value.
_WIRE_LOG = logging.getLogger("aitbc.transports.websocket.wire")
_WIRE_LOG.setLevel(logging.INFO)
_SECRET_HEADERS = frozenset({"x-api-key", "authorization", "cookie", "proxy-authorization"})


class _RedactCredentials(logging.Filter):
    """Replace the value of a credential header in websockets' ``> name: value`` lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 2 and str(args[0]).lower() in _SECRET_HEADERS:
            record.args = (args[0], "<redacted>")
        return True


_WIRE_LOG.addFilter(_RedactCredentials())
_WX = websockets.exceptions
#: How often ``connect()`` retries a first handshake that was cut (not a refusal).
_CONNECT_RETRIES = 3


class WebSocketTransport(Transport):
    """Multiplexed WebSocket transport (see the package docstring for behaviour and config).

    Connects lazily on first use, like the seed. After ``disconnect()`` a call raises
    TransportClosedError until ``connect()`` is called again.
    """

    def __init__(self, config: Mapping[str, Any]) -> None:
        super().__init__(config)
        self.settings = WSSettings(self.config)
        self.retry_policy = RetryPolicy.from_config(self.config)
        self.ws_url = self.settings.url
        self.websocket: ClientConnection | None = None
        self._pending: dict[str, asyncio.Future[JSONDict]] = {}
        self._routes: dict[str, SubscriptionState] = {}  # server subscription id -> subscription
        self._subs: set[SubscriptionState] = set()
        self._ids = itertools.count(1)
        self._ready = asyncio.Event()
        self._socket_gone = asyncio.Event()  # set when the current socket has died
        # Set (then replaced) each time a reconnect attempt fails: requests waiting for a
        # socket fail fast with that ConnectError instead of sitting until their deadline.
        self._reconnect_failed = asyncio.Event()
        self._last_reconnect_error: AITBCError | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[Any]] = set()
        self._connect_lock = asyncio.Lock()
        self._closed_by_user = False
        self._broken: BaseException | None = None
        self._reauth_refused = False
        self.reconnects = 0  # how many times a dropped connection was re-established

    # -- lifecycle ---------------------------------------------------------------------

    async def connect(self) -> None:
        """Open the socket and start the reader (idempotent).

        Raises ConnectError, AuthenticationError (bad key), NetworkMismatchError (the
        node's chain_id differs from the configured one) or TransportTimeout.
        """
        async with self._connect_lock:
            if self._supervisor is not None and not self._supervisor.done():
                return
            self._closed_by_user = False
            self._broken = None
            ws = await self._open_retrying()
            self._attach(ws)
            self._supervisor = asyncio.create_task(self._supervise(ws), name="aitbc-ws-reader")
            self._connected = True

    async def disconnect(self) -> None:
        """Close the socket; fail in-flight requests and live subscriptions with
        TransportClosedError. Returns promptly (bounded by ``close_timeout``) always."""
        self._closed_by_user = True
        self._connected = False
        closed = TransportClosedError("WebSocketTransport was disconnected")
        self._ready.set()  # wake requests waiting for a connection: they see "closed"
        self._socket_gone.set()
        self._fail_pending(closed)
        for sub in list(self._subs):
            sub.fail(closed)
        self._subs.clear()
        self._routes.clear()
        ws, self.websocket = self.websocket, None
        if ws is not None:
            await self._close_socket(ws)
        tasks = [t for t in (self._supervisor, *self._background) if t is not None]
        self._supervisor = None
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _close_socket(self, ws: ClientConnection) -> None:
        try:
            async with asyncio.timeout(self.settings.close_timeout):
                await ws.close()
        except (TimeoutError, OSError, _WX.WebSocketException) as exc:
            _log.debug("graceful close failed (%r); aborting the socket", exc)
        finally:
            # Synchronous hard stop: runs even when the graceful close was cancelled.
            ws.transport.abort()

    async def _open(self) -> ClientConnection:
        try:
            ws = await ws_connect(
                self.settings.url,
                additional_headers=self.settings.headers,
                open_timeout=self.settings.open_timeout,
                close_timeout=self.settings.close_timeout,
                max_size=self.settings.max_size,
                proxy=self.settings.proxy,
                ping_interval=self.settings.heartbeat,
                ping_timeout=self.settings.heartbeat,
                logger=_WIRE_LOG,
            )
        except (OSError, TimeoutError, _WX.WebSocketException) as exc:
            mapped = map_websockets_error(exc)
            if isinstance(mapped, TransportTimeout | ConnectionClosed | ProtocolError):
                mapped = ConnectError(f"cannot open {self.settings.url}: {mapped}")
            raise mapped from exc
        try:
            await self._check_chain(ws)
        except BaseException:
            ws.transport.abort()
            raise
        return ws

    async def _open_retrying(self) -> ClientConnection:
        """Open the first socket; a handshake cut by the network (ConnectError) is tried
        again with backoff. A refusal (bad key, wrong chain) is final at once."""
        for attempt in itertools.count(1):
            try:
                return await self._open()
            except (ConnectError, ServerError) as exc:
                if attempt > _CONNECT_RETRIES:
                    raise
                delay = full_jitter_delay(
                    attempt, base=self.settings.base_delay, cap=self.settings.max_delay
                )
                _log.debug("connect attempt %d failed (%s); again in %.3fs", attempt, exc, delay)
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover - itertools.count is endless

    async def _check_chain(self, ws: ClientConnection) -> None:
        """Refuse a node on another chain. Runs before the reader starts: no recv race."""
        expected = self.settings.chain_id
        if expected is None:
            return
        await ws.send(json.dumps({"id": "chain-check", "method": "GET", "path": "/v1/info"}))
        try:
            async with asyncio.timeout(self.settings.open_timeout):
                while True:
                    reply = json_or_none(await ws.recv())
                    if isinstance(reply, dict) and reply.get("id") == "chain-check":
                        break
        except (TimeoutError, _WX.WebSocketException) as exc:
            raise ConnectError(f"no /v1/info answer from {self.settings.url}") from exc
        actual = (reply.get("data") or {}).get("chain_id")
        if actual != expected:
            raise NetworkMismatchError(
                f"{self.settings.url} serves chain_id {actual}, configured {expected}"
            )

    def _attach(self, ws: ClientConnection) -> None:
        self.websocket = ws
        self._socket_gone = asyncio.Event()
        self._ready.set()

    def _check_usable(self) -> None:
        if self._closed_by_user:
            raise TransportClosedError("WebSocketTransport used after disconnect(); connect()")
        if self._broken is not None:
            raise ConnectionClosed(f"connection lost for good: {self._broken}")

    async def _ensure_started(self) -> None:
        self._check_usable()
        if self._supervisor is None:
            await self.connect()

    # -- the reader (one task per transport) -------------------------------------------

    async def _supervise(self, ws: ClientConnection) -> None:
        """Read until the socket drops, then reconnect and resubscribe, until closed."""
        while True:
            reason = await self._read_until_closed(ws)
            self._ready.clear()
            self.websocket = None
            self._socket_gone.set()
            self._fail_pending(ConnectionClosed(f"connection lost: {reason}"))
            if self._closed_by_user:
                return
            try:
                ws = await self._reconnect(reason)
            except AITBCError as exc:
                self._give_up(exc)
                return
            self._attach(ws)
            self._resubscribe_all()

    async def _read_until_closed(self, ws: ClientConnection) -> str:
        """Dispatch frames until the socket ends; return why it ended."""
        try:
            async for raw in ws:
                self._dispatch(raw)
        except (OSError, _WX.WebSocketException) as exc:
            ws.transport.abort()
            return f"{type(exc).__name__}: {exc}"
        if ws.close_code == CLOSE_UNAUTHENTICATED:
            self._reauth_refused = True
        return f"closed by the node (code {ws.close_code}, {ws.close_reason!r})"

    def _dispatch(self, raw: str | bytes) -> None:
        message = json_or_none(raw)
        if not isinstance(message, dict):
            _log.warning("ignoring a non-JSON-object frame")
            return
        if "subscription_id" in message:
            self._on_event(message)
        elif message.get("type") == "ping":
            self._spawn(self._send_quietly({"type": "pong", "ts": message.get("ts")}))
        elif "id" in message and "status" in message:
            request_id = str(message["id"])
            sub = self._routes.get(request_id)
            if sub is not None:
                # Position the subscription before the reader handles its first event.
                self._on_subscribed(sub, request_id, message)
            future = self._pending.pop(request_id, None)
            if future is not None and not future.done():
                future.set_result(message)

    def _on_event(self, message: JSONDict) -> None:
        sub = self._routes.get(str(message["subscription_id"]))
        if sub is None or sub.overflowed or sub.error is not None:
            return  # a stale server subscription still flushing: its events come again
        if "error" in message:
            self._routes.pop(str(message["subscription_id"]), None)
            sub.fail(self._stream_error(sub, message))
            return
        seq = message.get("seq")
        if not isinstance(seq, int):
            sub.fail(ProtocolError(f"{sub.topic}: event without an integer seq"))
            return
        if not sub.offer(seq, message):
            self._overflow(sub)

    def _overflow(self, sub: SubscriptionState) -> None:
        """Stop this subscription on the node; the consumer resubscribes once drained."""
        if sub.server_id is not None:
            self._routes.pop(sub.server_id, None)
            self._spawn(self._send_unsubscribe(sub.server_id))
            sub.server_id = None

    def _stream_error(self, sub: SubscriptionState, message: JSONDict) -> AITBCError:
        error = message.get("error")
        code = error.get("code") if isinstance(error, dict) else None
        if code == STREAM_GAP:
            return gap_error(sub.topic, sub.sequencer.last_seq, message)
        return api_error(int(message.get("status") or 500), message)

    async def _reconnect(self, reason: str) -> ClientConnection:
        if not self.settings.reconnect:
            raise ConnectionClosed(f"connection lost and reconnect is off: {reason}")
        if self._reauth_refused:
            raise AuthenticationError(f"the node refused this API key: {reason}")
        lost_at = time.perf_counter()
        for attempt in itertools.count(1):
            limit = self.settings.max_attempts
            if limit is not None and attempt > limit:
                raise ConnectError(f"gave up reconnecting after {limit} attempts: {reason}")
            delay = full_jitter_delay(
                attempt, base=self.settings.base_delay, cap=self.settings.max_delay
            )
            await asyncio.sleep(delay)
            try:
                ws = await self._open()
            except (ConnectError, TransportTimeout, ServerError) as exc:
                _log.info("reconnect attempt %d failed: %s", attempt, exc)
                self._last_reconnect_error = exc
                failed, self._reconnect_failed = self._reconnect_failed, asyncio.Event()
                failed.set()
                continue
            self.reconnects += 1
            _log.debug(
                "reconnected to %s after %d attempt(s) in %.1f ms (%s)",
                self.settings.url,
                attempt,
                (time.perf_counter() - lost_at) * 1000.0,
                reason,
            )
            return ws
        raise AssertionError("unreachable")  # pragma: no cover - itertools.count is endless

    def _give_up(self, error: AITBCError) -> None:
        self._broken = error
        self._connected = False
        self._ready.set()  # waiting requests wake up and see the failure
        self._fail_pending(error)
        for sub in list(self._subs):
            sub.fail(error)

    def _fail_pending(self, error: BaseException) -> None:
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(error)

    def _resubscribe_all(self) -> None:
        self._routes.clear()
        for sub in list(self._subs):
            if sub.server_id is not None and sub.error is None:
                sub.server_id = None
                self._spawn(self._subscribe(sub))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # -- requests ------------------------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        data: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> JSONDict:
        """Send one request and await its answer, retrying per the config's policy
        (``max_retries``...: 429/503 with Retry-After, and a connection lost before the
        answer when repeating is harmless), all within ``timeout``.

        For direct use of the transport; :class:`aitbc.AITBCClient` applies its own
        policy around :meth:`request_once`. Returns the answer's ``data`` (``{}`` for
        none). Raises the APIError of an error answer, TransportTimeout after
        ``timeout``, ConnectionClosed if the socket dropped before the answer and the
        request may not be repeated, TransportClosedError after ``disconnect()``.
        """

        async def attempt() -> JSONDict:
            return await self.request_once(method, path, data, params, headers)

        return await call_within(
            attempt,
            self.retry_policy,
            self.settings.timeout,
            method=method,
            path=path,
            headers=headers,
        )

    async def request_once(
        self,
        method: str,
        path: str,
        data: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> JSONDict:
        """One request envelope, one answer; no retry, no deadline of its own.

        Waits for a connection if the socket is being re-established, and raises
        ConnectError (nothing sent) if a reconnect attempt fails meanwhile. If the socket
        drops after the request went out, raises ConnectionClosed at once (the node may
        have acted): the caller's policy decides whether to resend on the next socket.
        """
        message: JSONDict = {"method": method.upper(), "path": path}
        if data is not None:
            message["data"] = dict(data)
        if params:
            message["params"] = {k: v for k, v in params.items() if v is not None}
        if headers:
            message["headers"] = dict(headers)
        reply = await self._exchange(message, None, fail_fast=True)
        status = int(reply.get("status") or 0)
        if status >= 400:
            raise api_error(status, reply)
        body = reply.get("data")
        if body is None:
            return {}
        if not isinstance(body, dict):
            raise ProtocolError(f"{method} {path}: expected a JSON object answer")
        return body

    async def _exchange(
        self, message: JSONDict, limit: float | None, *, fail_fast: bool = False
    ) -> JSONDict:
        await self._ensure_started()
        request_id = message.setdefault("id", f"r{next(self._ids)}")
        future: asyncio.Future[JSONDict] = asyncio.get_running_loop().create_future()
        try:
            async with asyncio.timeout(limit):
                await self._send_when_connected(request_id, future, message, fail_fast)
                return await future
        except TimeoutError as exc:
            what = f"{message.get('method')} {message.get('path')}"
            raise TransportTimeout(f"{what}: no answer within {limit}s") from exc
        finally:
            self._pending.pop(request_id, None)
            if future.done() and not future.cancelled():
                future.exception()  # retrieved: a failure nobody awaited is not an error

    async def _send_when_connected(
        self,
        request_id: str,
        future: asyncio.Future[JSONDict],
        message: JSONDict,
        fail_fast: bool,
    ) -> None:
        """Send once a connection is up. A send that fails on a socket that just died
        reached nobody, so it waits for the reconnect and goes again (any method). With
        ``fail_fast``, a failed reconnect attempt meanwhile raises its ConnectError."""
        while True:
            await self._wait_connected(fail_fast)
            self._check_usable()
            gone = self._socket_gone
            self._pending[request_id] = future
            try:
                await self._send(message)
                return
            except ConnectionClosed:
                self._pending.pop(request_id, None)
                if not self.settings.reconnect:
                    raise
            await gone.wait()  # the reader has noticed the loss: wait for the next socket

    async def _wait_connected(self, fail_fast: bool) -> None:
        if self._ready.is_set() or not fail_fast:
            await self._ready.wait()
            return
        # Reconnecting: wait for the socket, or for the next attempt to fail. Nothing was
        # sent then, so the caller's retry policy may try again (as HTTP's ConnectError).
        failed = self._reconnect_failed
        waiters = {
            asyncio.ensure_future(self._ready.wait()),
            asyncio.ensure_future(failed.wait()),
        }
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
        if not self._ready.is_set():
            raise ConnectError(
                f"not connected to {self.settings.url}: {self._last_reconnect_error}"
            )

    async def _send(self, message: JSONDict) -> None:
        ws = self.websocket
        if ws is None:
            raise ConnectionClosed("not connected")
        try:
            await ws.send(json.dumps(message, separators=(",", ":")))
        except (OSError, _WX.WebSocketException) as exc:
            raise map_websockets_error(exc) from exc

    # -- subscriptions -------------------------------------------------------------------

    def stream(
        self,
        method: str,
        path: str,
        data: Mapping[str, Any] | None = None,
    ) -> WebSocketSubscription:
        """Subscribe to the topic ``path`` (e.g. ``job:job_123``); ``method`` is
        ``"subscribe"`` (the seed's spelling; ``"GET"`` is accepted too).

        ``data={"resume_from": n}`` replays every event after seq ``n`` (0 = the whole
        history); without it the stream starts now. Returns an async iterator of
        ``{"topic", "seq", "event", "data"}``; the node is asked on first iteration (or
        ``async with``). Leaving it (break, ``aclose``, ``async with`` exit) unsubscribes.
        """
        if method.lower() not in ("subscribe", "get"):
            raise ConfigurationError(f"stream() method must be 'subscribe', got {method!r}")
        resume = (data or {}).get("resume_from")
        if resume is not None and (isinstance(resume, bool) or not isinstance(resume, int)):
            raise ConfigurationError("resume_from must be an integer sequence number")
        return WebSocketSubscription(
            self, SubscriptionState(path, resume, self.settings.queue_size)
        )

    async def _subscribe(self, sub: SubscriptionState) -> None:
        """Ask the node for ``sub`` from its position; failures land on the iterator."""
        server_id = f"s{next(self._ids)}"
        sub.server_id = server_id
        self._routes[server_id] = sub
        message: JSONDict = {"id": server_id, "method": "subscribe", "path": sub.topic}
        message["data"] = sub.resume_data()
        try:
            # the reader applies the answer (_on_subscribed)
            await self._exchange(message, self.settings.timeout)
        except ConnectionClosed:
            return  # the reader resubscribes after reconnecting
        except AITBCError as exc:
            if sub.server_id == server_id:
                sub.fail(exc)

    def _on_subscribed(self, sub: SubscriptionState, server_id: str, reply: JSONDict) -> None:
        status = int(reply.get("status") or 0)
        if status >= 400:
            self._routes.pop(server_id, None)
            sub.server_id = None
            error = reply.get("error")
            if isinstance(error, dict) and error.get("code") == STREAM_GAP:
                sub.fail(gap_error(sub.topic, sub.sequencer.last_seq, reply))
            else:
                sub.fail(api_error(status, reply))
            return
        if not sub.positioned:
            head = (reply.get("data") or {}).get("head_seq", 0)
            sub.sequencer.last_seq = int(head)
            sub.positioned = True

    async def _send_quietly(self, message: JSONDict) -> None:
        with contextlib.suppress(AITBCError):
            await self._send(message)

    async def _send_unsubscribe(self, server_id: str) -> None:
        with contextlib.suppress(AITBCError):
            message = {"method": "unsubscribe", "path": "", "data": {"subscription_id": server_id}}
            await self._exchange(message, self.settings.timeout)

    def _forget(self, sub: SubscriptionState) -> None:
        """Drop ``sub`` locally and tell the node in the background (never blocks)."""
        sub.closed = True
        self._subs.discard(sub)
        if sub.server_id is not None:
            self._routes.pop(sub.server_id, None)
            if self._ready.is_set() and not self._closed_by_user:
                self._spawn(self._send_unsubscribe(sub.server_id))
            sub.server_id = None

    async def _start(self, sub: SubscriptionState) -> None:
        await self._ensure_started()
        if sub.closed:
            raise TransportClosedError("subscription was closed")
        self._subs.add(sub)
        await self._subscribe(sub)
