"""MockTransport: a Transport driven by your own function, for testing code that uses aitbc.

    def handler(request: MockRequest) -> dict:
        if request.path == "/v1/info":
            return {"chain_id": 1, "version": "test", "coordinator_id": "c", "signing_keys": []}
        raise NotFoundError("nope", status=404, code="not_found")

    client = AITBCClient(MockTransport(handler))

The handler may be sync or async, returns the JSON answer as a dict (``None`` means
``{}``), or raises (an :class:`~aitbc.errors.APIError` to simulate an error answer).
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import ProtocolError, TransportClosedError, TransportError
from .base import JSONDict, Transport

__all__ = ["MockRequest", "MockTransport"]


@dataclass(frozen=True)
class MockRequest:
    """One request as a MockTransport handler sees it (copies: mutate freely)."""

    method: str
    path: str
    data: dict[str, Any] | None = None
    params: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        """A header value by case-insensitive name, or None."""
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), None)


Handler = Callable[[MockRequest], "JSONDict | Awaitable[JSONDict | None] | None"]
StreamHandler = Callable[[MockRequest], "Iterable[JSONDict] | AsyncIterator[JSONDict]"]


class MockTransport(Transport):
    """A Transport that answers through ``handler`` instead of a network.

    ``stream_handler`` (optional) returns the events ``stream()`` yields. ``requests``
    records every request made, in order, for assertions. Behaves like a real transport
    around its lifecycle: lazy connect, TransportClosedError after ``disconnect()``.
    """

    def __init__(
        self,
        handler: Handler,
        config: Mapping[str, Any] | None = None,
        *,
        stream_handler: StreamHandler | None = None,
    ) -> None:
        super().__init__(config)
        self.handler = handler
        self.stream_handler = stream_handler
        self.requests: list[MockRequest] = []
        self._closed_by_user = False

    async def connect(self) -> None:
        """Mark connected (nothing to open)."""
        self._connected = True
        self._closed_by_user = False

    async def disconnect(self) -> None:
        """Mark closed; later requests raise TransportClosedError until connect()."""
        self._connected = False
        self._closed_by_user = True

    def _ensure_open(self) -> None:
        if self._closed_by_user:
            raise TransportClosedError("MockTransport used after disconnect(); call connect()")
        self._connected = True

    def _record(
        self,
        method: str,
        path: str,
        data: Mapping[str, Any] | None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> MockRequest:
        request = MockRequest(
            method=method.upper(),
            path=path,
            data=dict(data) if data is not None else None,
            params=dict(params or {}),
            headers={**self.config.get("default_headers", {}), **(headers or {})},
        )
        self.requests.append(request)
        return request

    async def request(
        self,
        method: str,
        path: str,
        data: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> JSONDict:
        """Pass the request to the handler and return its answer (``{}`` for None)."""
        self._ensure_open()
        answer = self.handler(self._record(method, path, data, params, headers))
        if inspect.isawaitable(answer):
            answer = await answer
        if answer is None:
            return {}
        if not isinstance(answer, dict):
            raise ProtocolError(f"mock handler returned {type(answer).__name__}, not a dict")
        return answer

    async def stream(
        self,
        method: str,
        path: str,
        data: Mapping[str, Any] | None = None,
    ) -> AsyncIterator[JSONDict]:
        """Yield the events ``stream_handler`` produces for this request."""
        self._ensure_open()
        if self.stream_handler is None:
            raise TransportError("this MockTransport was built without a stream_handler")
        events = self.stream_handler(self._record(method, path, data))
        if isinstance(events, AsyncIterator):
            async for event in events:
                yield event
        else:
            for event in events:
                yield event
