"""HTTPTransport: REST over one pooled aiohttp session.

I/O only: :meth:`HTTPTransport.request_once` sends one request and maps every aiohttp
failure to :mod:`aitbc.errors`; :class:`aitbc.AITBCClient` wraps it in its retry policy.
Used directly, :meth:`HTTPTransport.request` applies the same
:class:`~aitbc.transports.retry.RetryPolicy` (from this config) under one deadline per
call. API shapes and auth live in the client.

Config keys (seed keys first): ``base_url`` (required), ``timeout`` (seconds per call,
default 30, ``None`` for none), ``default_headers``, ``chain_id``; connection limits
``limit`` (100) and ``limit_per_host`` (30), ``keepalive_timeout`` (15), ``close_timeout``
(5); retries ``max_retries`` (3), ``backoff_base`` (0.1), ``backoff_cap`` (5.0),
``retry_statuses`` ([429, 503]).
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import importlib.metadata
import io
import json
import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp
import yarl

from ..core.envelope import error_from_response
from ..errors import (
    AITBCError,
    ConfigurationError,
    ConnectError,
    ConnectionClosed,
    ProtocolError,
    TransportClosedError,
    TransportError,
    TransportTimeout,
)
from .base import JSONDict, Transport
from .retry import RetryPolicy, call_within, parse_retry_after

__all__ = ["HTTPTransport", "map_aiohttp_error"]

_log = logging.getLogger(__name__)

try:
    USER_AGENT = f"aitbc-python/{importlib.metadata.version('aitbc')}"
except importlib.metadata.PackageNotFoundError:  # running from a source tree
    USER_AGENT = "aitbc-python"

#: Everything aiohttp (or the OS below it) may raise out of one request.
_BACKEND_ERRORS = (aiohttp.ClientError, aiohttp.http_exceptions.HttpProcessingError, OSError)
# aiohttp's own timers are off (one deadline per call is ours); kept None on purpose.
_NO_AIOHTTP_TIMEOUT = aiohttp.ClientTimeout(total=None, connect=None, sock_read=None)
# aiohttp's own threshold for "a large body sent as raw bytes" (client_reqrep).
_LARGE_BODY_BYTES = 1 << 20
# Parsed URLs kept per transport (paths with ids in them are many; each is small).
_MAX_CACHED_URLS = 1024
_JSON = json.JSONDecoder()


# Every exception class aiohttp defines, mapped on purpose (a test walks aiohttp's
# modules and fails on any class missing here). Lookup walks the raised class's MRO,
# so the most specific entry wins.
_CE = aiohttp.client_exceptions
_HE = aiohttp.http_exceptions
_AIOHTTP_ERROR_MAP: dict[type[BaseException], type[AITBCError]] = {
    # could not open a connection: nothing was sent
    _CE.ClientConnectorError: ConnectError,
    _CE.ClientConnectorDNSError: ConnectError,
    _CE.ClientProxyConnectionError: ConnectError,
    _CE.UnixClientConnectorError: ConnectError,
    _CE.ClientSSLError: ConnectError,
    _CE.ClientConnectorSSLError: ConnectError,
    _CE.ClientConnectorCertificateError: ConnectError,
    _CE.ServerFingerprintMismatch: ConnectError,
    # aiohttp's own timers (normally off: the call deadline is ours)
    _CE.ServerTimeoutError: TransportTimeout,
    _CE.ConnectionTimeoutError: TransportTimeout,
    _CE.SocketTimeoutError: TransportTimeout,
    # the peer closed or broke an open connection
    _CE.ClientConnectionError: ConnectionClosed,
    _CE.ClientOSError: ConnectionClosed,
    _CE.ClientConnectionResetError: ConnectionClosed,
    _CE.ServerConnectionError: ConnectionClosed,
    _CE.ServerDisconnectedError: ConnectionClosed,
    _CE.ClientPayloadError: ConnectionClosed,
    _CE.UploadAbortedError: ConnectionClosed,
    aiohttp.streams.EofStream: ConnectionClosed,
    # the peer spoke something we cannot use
    _CE.ClientResponseError: ProtocolError,
    _CE.ContentTypeError: ProtocolError,
    _CE.ClientHttpProxyError: ProtocolError,
    _CE.TooManyRedirects: ProtocolError,
    _CE.RedirectClientError: ProtocolError,
    _CE.InvalidUrlRedirectClientError: ProtocolError,
    _CE.NonHttpUrlRedirectClientError: ProtocolError,
    _CE.WSServerHandshakeError: ProtocolError,
    _CE.WSMessageTypeError: ProtocolError,
    aiohttp.WebSocketError: ProtocolError,
    _HE.HttpProcessingError: ProtocolError,
    _HE.BadHttpMessage: ProtocolError,
    _HE.BadHttpMethod: ProtocolError,
    _HE.BadStatusLine: ProtocolError,
    _HE.HttpBadRequest: ProtocolError,
    _HE.InvalidHeader: ProtocolError,
    _HE.InvalidURLError: ProtocolError,
    _HE.LineTooLong: ProtocolError,
    _HE.PayloadEncodingError: ProtocolError,
    _HE.ContentEncodingError: ProtocolError,
    _HE.ContentLengthError: ProtocolError,
    _HE.DecompressSizeError: ProtocolError,
    _HE.TransferEncodingError: ProtocolError,
    aiohttp.multipart.BadContentDispositionHeader: ProtocolError,
    aiohttp.multipart.BadContentDispositionParam: ProtocolError,
    # our request was malformed: fix the call
    aiohttp.payload.LookupError: ConfigurationError,
    _CE.InvalidURL: ConfigurationError,
    _CE.InvalidUrlClientError: ConfigurationError,
    _CE.NonHttpUrlClientError: ConfigurationError,
    # catch-alls for classes a future aiohttp may add under these roots
    _CE.ClientError: TransportError,
    OSError: ConnectionClosed,
    TimeoutError: TransportTimeout,
}


def _describe(exc: BaseException) -> str:
    try:
        text = str(exc)
    except Exception:  # some aiohttp classes cannot format themselves half-initialised
        text = ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def map_aiohttp_error(exc: BaseException) -> AITBCError:
    """The aitbc error for an aiohttp (or OS) exception; raise it ``from exc``.

    Unknown exceptions map to TransportError, so nothing from aiohttp escapes a call.
    """
    for cls in type(exc).__mro__:
        target = _AIOHTTP_ERROR_MAP.get(cls)
        if target is not None:
            return target(_describe(exc))
    return TransportError(_describe(exc))


def _base_url(config: Mapping[str, Any]) -> str:
    raw = config.get("base_url")
    if not isinstance(raw, str) or not raw:
        raise ConfigurationError("HTTPTransport needs config['base_url'], e.g. 'http://host:8000'")
    try:
        url = yarl.URL(raw)
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"base_url {raw!r} is not a URL: {exc}") from exc
    if url.scheme not in ("http", "https") or not url.host:
        raise ConfigurationError(f"base_url {raw!r} must be an absolute http(s) URL")
    return raw.rstrip("/")


def _number(config: Mapping[str, Any], key: str, default: float | None) -> float | None:
    value = config.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ConfigurationError(f"config[{key!r}] must be a non-negative number, got {value!r}")
    return float(value)


def _encode(
    method: str, path: str, data: Mapping[str, Any], headers: Mapping[str, str] | None
) -> tuple[bytes, Mapping[str, str]]:
    """The JSON body, serialised once for every attempt, and the headers to send."""
    try:
        body = json.dumps(data, separators=(",", ":"), allow_nan=False).encode()
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"{method} {path}: body is not JSON-serialisable: {exc}") from exc
    return body, {**(headers or {}), "Content-Type": "application/json"}


def _query(params: Mapping[str, Any]) -> dict[str, str]:
    """Query values as strings (None dropped); aiohttp would raise TypeError on a bool."""
    query: dict[str, str] = {}
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, bool):
            query[key] = "true" if value else "false"
        elif isinstance(value, str | int | float):
            query[key] = str(value)
        else:
            raise ConfigurationError(f"query parameter {key!r} cannot be {type(value).__name__}")
    return query


def _decode(body: bytes, method: str, path: str, status: int) -> JSONDict:
    if not body:
        return {}
    try:
        # JSON between systems is UTF-8 (RFC 8259 §8.1): json.loads(bytes) would first
        # sniff for UTF-16/32 on every answer. A bad byte is a ValueError too.
        value = _JSON.decode(body.decode())
    except ValueError as exc:
        raise ProtocolError(f"{method} {path}: HTTP {status} answer is not JSON") from exc
    if not isinstance(value, dict):
        raise ProtocolError(f"{method} {path}: expected a JSON object, got {type(value).__name__}")
    return value


class HTTPTransport(Transport):
    """REST transport on a pooled aiohttp session (see the module docstring for config).

    Connects lazily on the first request, like the seed. After ``disconnect()`` a request
    raises TransportClosedError until ``connect()`` is called again.
    """

    def __init__(self, config: Mapping[str, Any]) -> None:
        super().__init__(config)
        self.base_url = _base_url(self.config)
        self.timeout = _number(self.config, "timeout", 30.0)
        self.close_timeout = _number(self.config, "close_timeout", 5.0)
        self.retry_policy = RetryPolicy.from_config(self.config)
        headers = self.config.get("default_headers") or {}
        if not isinstance(headers, Mapping):
            raise ConfigurationError("config['default_headers'] must be a mapping")
        # A User-Agent names the SDK in node logs unless the caller sets their own.
        self.default_headers = {"User-Agent": USER_AGENT}
        self.default_headers.update({str(k): str(v) for k, v in headers.items()})
        self._limits = self._connector_limits()
        self.session: aiohttp.ClientSession | None = None
        self._closed_by_user = False
        # Tasks inside request(): disconnect() interrupts them (aiohttp would leave an
        # in-flight read hanging on a closed session until its deadline).
        self._inflight: set[asyncio.Task[Any]] = set()
        self._interrupted: set[asyncio.Task[Any]] = set()
        self._urls: dict[str, yarl.URL] = {}

    def _connector_limits(self) -> dict[str, Any]:
        limits = {
            "limit": _number(self.config, "limit", 100),
            "limit_per_host": _number(self.config, "limit_per_host", 30),
            "keepalive_timeout": _number(self.config, "keepalive_timeout", 15.0),
        }
        return {
            "limit": int(limits["limit"] or 0),
            "limit_per_host": int(limits["limit_per_host"] or 0),
            "keepalive_timeout": limits["keepalive_timeout"],
        }

    async def connect(self) -> None:
        """Open the pooled session (idempotent); needs a running event loop."""
        self._open()

    def _open(self) -> aiohttp.ClientSession:
        # Synchronous on purpose: concurrent first requests cannot open two sessions.
        if self.session is None:
            connector = aiohttp.TCPConnector(ttl_dns_cache=300, use_dns_cache=True, **self._limits)
            self.session = aiohttp.ClientSession(
                connector=connector,
                timeout=_NO_AIOHTTP_TIMEOUT,
                headers=self.default_headers,
                raise_for_status=False,
            )
        self._connected = True
        self._closed_by_user = False
        return self.session

    def ensure_session(self) -> aiohttp.ClientSession:
        """The live session, opened lazily; raises TransportClosedError after disconnect().

        For sibling transports (SSE streaming) that share this pool.
        """
        if self.session is not None:
            return self.session
        if self._closed_by_user:
            raise TransportClosedError("HTTPTransport used after disconnect(); call connect()")
        return self._open()

    async def disconnect(self) -> None:
        """Close the session; always releases every connection, even if closing fails."""
        session, self.session = self.session, None
        self._connected = False
        self._closed_by_user = True
        self._interrupt_inflight()
        if session is None:
            return
        try:
            async with asyncio.timeout(self.close_timeout):
                await session.close()
        except (*_BACKEND_ERRORS, TimeoutError) as exc:
            _log.warning("HTTPTransport: graceful close failed (%r); aborting connections", exc)
        finally:
            connector = session.connector
            if connector is not None and not connector.closed:
                # Synchronous hard close: must run even when cancelled mid-close.
                connector._close(abort_ssl=True)

    def _interrupt_inflight(self) -> None:
        current = asyncio.current_task()
        for task in self._inflight:
            if task is not current and task not in self._interrupted:
                self._interrupted.add(task)
                task.cancel()

    async def request(
        self,
        method: str,
        path: str,
        data: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> JSONDict:
        """Send one request under one deadline (``timeout``), retrying per the policy.

        For direct use of the transport; :class:`aitbc.AITBCClient` applies its own
        policy around :meth:`request_once` instead. Returns the decoded JSON object
        (``{}`` for an empty body). Raises an APIError subclass for an error answer,
        TransportTimeout when the deadline passes, TransportClosedError when
        ``disconnect()`` interrupts it, another TransportError when the exchange failed.
        """

        # A partial, not a closure: the attempt is request_once's own coroutine, one
        # coroutine frame fewer per call.
        attempt = functools.partial(self.request_once, method, path, data, params, headers)
        return await call_within(
            attempt, self.retry_policy, self.timeout, method=method, path=path, headers=headers
        )

    async def request_once(
        self,
        method: str,
        path: str,
        data: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> JSONDict:
        """One attempt, no retry, no deadline of its own (the caller's bounds it)."""
        # One coroutine, no helpers awaited on the way: every frame and allocation here
        # is paid by every call (bench/transport_http.py measures it against aiohttp).
        url = self._urls.get(path)
        if url is None:
            url = self._url(path)
        session = self.session or self.ensure_session()
        if data is None:  # most calls: no body to encode
            payload: bytes | io.BytesIO | None = None
            send_headers = headers
        else:
            body, send_headers = _encode(method, path, data, headers)
            # aiohttp warns (and, under -W error, stalls) on raw bytes past 1 MiB; a
            # fresh BytesIO per attempt streams the same body in chunks instead.
            payload = io.BytesIO(body) if len(body) >= _LARGE_BODY_BYTES else body
        query = _query(params) if params else None
        # disconnect() interrupts the tasks in here (aiohttp would leave an in-flight
        # read hanging on a closed session until its deadline).
        task = asyncio.current_task()
        if task is not None:
            self._inflight.add(task)
        try:
            async with session.request(
                method, url, data=payload, params=query, headers=send_headers
            ) as resp:
                answer = await resp.read()
        except _BACKEND_ERRORS as exc:
            raise self._mapped(exc, method, path) from exc
        except RuntimeError as exc:  # aiohttp: "Session is closed" after a racing disconnect
            if session.closed:
                raise TransportClosedError(f"{method} {path}: transport closed") from exc
            raise
        except asyncio.CancelledError:
            # Our own cancel from disconnect(), and nobody else's: report, don't cancel.
            if task is not None and task in self._interrupted and task.uncancel() == 0:
                raise TransportClosedError(
                    f"{method} {path}: interrupted by disconnect()"
                ) from None
            raise
        finally:
            if task is not None:
                self._inflight.discard(task)
                if self._interrupted:  # empty unless disconnect() ran: skip the lookup
                    self._interrupted.discard(task)
        if resp.status >= 400:
            raise error_from_response(
                resp.status,
                answer,
                request_id=resp.headers.get("X-Request-ID"),
                retry_after=parse_retry_after(resp.headers.get("Retry-After")),
            )
        return _decode(answer, method, path, resp.status)

    def _url(self, path: str) -> yarl.URL:
        """The parsed URL of ``path``, kept for the next call (aiohttp would parse the
        string every time); the cache is cleared when full, so odd paths cannot grow it."""
        if not path.startswith("/"):
            raise ConfigurationError(f"path must start with '/', got {path!r}")
        try:
            url = yarl.URL(self.base_url + path)
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(f"path {path!r} does not make a URL: {exc}") from exc
        if len(self._urls) >= _MAX_CACHED_URLS:
            self._urls.clear()
        self._urls[path] = url
        return url

    @staticmethod
    def _mapped(exc: BaseException, method: str, path: str) -> AITBCError:
        mapped = map_aiohttp_error(exc)
        mapped.args = (f"{method} {path}: {mapped}",)
        return mapped

    def stream(
        self,
        method: str,
        path: str,
        data: Mapping[str, Any] | None = None,
    ) -> AsyncIterator[JSONDict]:
        """Stream events over Server-Sent Events (implemented in ``aitbc.transports.sse``).

        Raises TransportError when that module is not part of this installation.
        """
        try:
            sse = importlib.import_module(f"{__package__}.sse")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__package__}.sse":
                raise
            raise TransportError(
                "streaming over HTTP needs aitbc.transports.sse, which is not installed"
            ) from exc
        stream: AsyncIterator[JSONDict] = sse.open_sse_stream(self, method, path, data)
        return stream
