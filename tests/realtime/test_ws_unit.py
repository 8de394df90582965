"""Client-side units of WebSocketTransport: error mapping and settings (no sockets)."""

from __future__ import annotations

import inspect

import pytest
import websockets
from websockets.datastructures import Headers
from websockets.http11 import Response

from aitbc.errors import (
    AITBCError,
    AuthenticationError,
    ConfigurationError,
    ConnectError,
    ConnectionClosed,
    ProtocolError,
    RateLimitedError,
    TransportTimeout,
)
from aitbc.transports.websocket import WebSocketTransport, map_websockets_error


def _websockets_exception_classes() -> list[type[BaseException]]:
    # vars(), not getattr(): the module's lazy deprecated aliases warn when touched.
    module = websockets.exceptions
    return [
        cls
        for cls in vars(module).values()
        if inspect.isclass(cls)
        and issubclass(cls, BaseException)
        and cls.__module__ == module.__name__
    ]


@pytest.mark.parametrize("cls", _websockets_exception_classes(), ids=lambda c: c.__name__)
def test_every_websockets_exception_maps_to_an_aitbc_error(cls: type[BaseException]) -> None:
    exc = cls.__new__(cls)  # some need constructor arguments; mapping must not care
    mapped = map_websockets_error(exc)
    assert isinstance(mapped, AITBCError)


def test_specific_mappings() -> None:
    body = b'{"error": {"code": "rate_limited", "message": "slow down"}}'
    rejected = websockets.exceptions.InvalidStatus(Response(429, "Too Many", Headers(), body))
    mapped = map_websockets_error(rejected)
    assert isinstance(mapped, RateLimitedError) and mapped.code == "rate_limited"
    unauth = websockets.exceptions.InvalidStatus(Response(401, "No", Headers(), b"nope"))
    assert isinstance(map_websockets_error(unauth), AuthenticationError)
    closed = websockets.exceptions.ConnectionClosedError(None, None)
    assert isinstance(map_websockets_error(closed), ConnectionClosed)
    assert isinstance(
        map_websockets_error(websockets.exceptions.InvalidURI("x", "bad")), ConfigurationError
    )
    assert isinstance(map_websockets_error(TimeoutError()), TransportTimeout)
    assert isinstance(map_websockets_error(ConnectionRefusedError()), ConnectionClosed)
    assert isinstance(map_websockets_error(OSError()), ConnectError)
    assert isinstance(
        map_websockets_error(websockets.exceptions.PayloadTooBig(1, 2)), ProtocolError
    )


async def test_connect_refused_is_a_connect_error() -> None:
    transport = WebSocketTransport({"ws_url": "ws://127.0.0.1:9/v1/ws", "open_timeout": 2})
    with pytest.raises(ConnectError):
        await transport.connect()
    assert not transport.is_connected
    await transport.disconnect()


@pytest.mark.parametrize(
    "config",
    [
        {},
        {"ws_url": 5},
        {"ws_url": "ws://x", "queue_size": "many"},
        {"ws_url": "ws://x", "reconnect_max_delay": -1},
    ],
)
def test_bad_settings(config: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        WebSocketTransport(config)
