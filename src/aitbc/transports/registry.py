"""Transport plugins: ``type`` names in a config resolve through entry points.

Any distribution can add a transport by declaring, in its pyproject::

    [project.entry-points."aitbc.transports"]
    mytype = "mypkg.transport:MyTransport"

aitbc's own are ``http``, ``websocket``, ``failover`` and ``crosschain`` (the last
needs the settlement extra: it is listed only when that extra is installed).
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from .._extras import extra_available, missing_extra_error
from ..errors import ConfigurationError
from .base import Transport

__all__ = ["ENTRY_POINT_GROUP", "create_transport", "known_transport_types", "transport_class"]

ENTRY_POINT_GROUP = "aitbc.transports"


def _entry_points() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


# aitbc's own transports that need an extra, by entry point value.
_EXTRA_OF_TRANSPORT = {"aitbc.transports.crosschain:CrossChainTransport": "settlement"}


def _creatable(ep: EntryPoint) -> bool:
    extra = _EXTRA_OF_TRANSPORT.get(ep.value)
    return extra is None or extra_available(extra)


def known_transport_types() -> list[str]:
    """The transport type names that can be created here, sorted (a type whose extra
    is not installed is left out; :func:`transport_class` names the extra)."""
    return sorted(name for name, ep in _entry_points().items() if _creatable(ep))


def transport_class(type_name: str) -> type[Transport]:
    """The Transport subclass registered under ``type_name``.

    Raises ConfigurationError naming the known types when ``type_name`` is unknown, and
    when the plugin cannot be imported or is not a Transport subclass; MissingExtraError
    naming the extra when one of aitbc's own types needs an extra that is not installed.
    """
    found = _entry_points()
    ep = found.get(type_name)
    if ep is None:
        known = ", ".join(sorted(found)) or "none"
        raise ConfigurationError(f"unknown transport type {type_name!r}; known types: {known}")
    try:
        cls = ep.load()
    except ImportError as exc:
        extra = _EXTRA_OF_TRANSPORT.get(ep.value)
        error = extra and missing_extra_error(exc, f"transport type {type_name!r}", extra)
        if error:
            raise error from exc
        raise ConfigurationError(
            f"transport type {type_name!r} ({ep.value}) failed to load: {exc!r}"
        ) from exc
    except Exception as exc:  # a broken plugin must not look like a missing one
        raise ConfigurationError(
            f"transport type {type_name!r} ({ep.value}) failed to load: {exc!r}"
        ) from exc
    if not (isinstance(cls, type) and issubclass(cls, Transport)):
        raise ConfigurationError(
            f"transport type {type_name!r} ({ep.value}) is not a Transport subclass"
        )
    return cls


def create_transport(config: Mapping[str, Any]) -> Transport:
    """Build the transport a config names by ``type`` (default ``http``).

    A config listing several ``endpoints`` (or ``base_urls``) builds a ``failover``
    transport over one transport of that type per endpoint.
    """
    type_name = config.get("type", "http")
    if not isinstance(type_name, str):
        raise ConfigurationError(f"transport type must be a string, got {type_name!r}")
    if type_name != "failover" and ("endpoints" in config or "base_urls" in config):
        # Failover is an entry point like any transport; it builds its endpoints by type.
        return transport_class("failover")({**config, "endpoint_type": type_name})
    return transport_class(type_name)(config)
