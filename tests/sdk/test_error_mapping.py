"""Every aiohttp exception class is mapped on purpose to the aitbc error tree."""

from __future__ import annotations

import inspect
from types import ModuleType

import aiohttp
import aiohttp.client_exceptions
import aiohttp.http_exceptions
import pytest

from aitbc.errors import (
    AITBCError,
    ConfigurationError,
    ConnectError,
    ConnectionClosed,
    ProtocolError,
    TransportTimeout,
)
from aitbc.transports.http import _AIOHTTP_ERROR_MAP, map_aiohttp_error


def _exception_classes(*modules: ModuleType) -> set[type[BaseException]]:
    found: set[type[BaseException]] = set()
    for module in modules:
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, BaseException) and obj.__module__.startswith("aiohttp"):
                found.add(obj)
    return found


# Every module a client request can raise from, plus the package namespace itself.
ALL_AIOHTTP = _exception_classes(
    aiohttp,
    aiohttp.client_exceptions,
    aiohttp.http_exceptions,
    aiohttp.streams,
    aiohttp.multipart,
    aiohttp.client_reqrep,
    aiohttp.connector,
    aiohttp.client_proto,
)
SERVER_SIDE = {
    cls for cls in ALL_AIOHTTP if cls.__module__.startswith(("aiohttp.web", "aiohttp.pytest"))
}


def test_the_walk_finds_the_known_classes() -> None:
    assert aiohttp.ServerDisconnectedError in ALL_AIOHTTP
    assert aiohttp.http_exceptions.LineTooLong in ALL_AIOHTTP
    assert len(ALL_AIOHTTP - SERVER_SIDE) > 40


@pytest.mark.parametrize(
    "cls", sorted(ALL_AIOHTTP - SERVER_SIDE, key=lambda c: c.__qualname__), ids=str
)
def test_every_aiohttp_exception_class_is_mapped_explicitly(cls: type[BaseException]) -> None:
    assert cls in _AIOHTTP_ERROR_MAP, f"{cls.__module__}.{cls.__qualname__} is not mapped"
    instance = cls.__new__(cls)
    mapped = map_aiohttp_error(instance)
    assert isinstance(mapped, AITBCError)
    assert type(mapped) is _AIOHTTP_ERROR_MAP[cls]


@pytest.mark.parametrize(
    ("cls", "expected"),
    [
        (aiohttp.ClientConnectorError, ConnectError),
        (aiohttp.ClientConnectorDNSError, ConnectError),
        (aiohttp.ServerTimeoutError, TransportTimeout),
        (aiohttp.ConnectionTimeoutError, TransportTimeout),
        (aiohttp.ServerDisconnectedError, ConnectionClosed),
        (aiohttp.ClientPayloadError, ConnectionClosed),
        (aiohttp.http_exceptions.BadStatusLine, ProtocolError),
        (aiohttp.InvalidURL, ConfigurationError),
        (aiohttp.TooManyRedirects, ProtocolError),
    ],
)
def test_mapping_follows_the_meaning(cls: type[BaseException], expected: type[AITBCError]) -> None:
    assert isinstance(map_aiohttp_error(cls.__new__(cls)), expected)


def test_unknown_exception_still_maps_to_a_transport_error() -> None:
    class Future(aiohttp.ClientError):
        pass

    mapped = map_aiohttp_error(Future("new in aiohttp 9"))
    assert type(mapped).__name__ == "TransportError"
    assert "new in aiohttp 9" in str(mapped)
