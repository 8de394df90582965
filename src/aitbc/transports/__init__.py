"""Transports: the I/O layer under AITBCClient (HTTP here; WebSocket and cross-chain
transports load through the ``aitbc.transports`` entry points, see :mod:`.registry`)."""

from __future__ import annotations

from .base import JSONDict, Transport
from .http import HTTPTransport
from .mock import MockRequest, MockTransport
from .registry import create_transport, known_transport_types, transport_class
from .retry import RetryPolicy

__all__ = [
    "HTTPTransport",
    "JSONDict",
    "MockRequest",
    "MockTransport",
    "RetryPolicy",
    "Transport",
    "create_transport",
    "known_transport_types",
    "transport_class",
]
