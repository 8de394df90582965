"""The ``/settlement/*`` request paths, served by a BridgeManager (no network).

What CrossChainTransport answers for them, as JSON (money as decimal strings):

- ``POST /settlement/cross-chain`` ``{message fields..., "bridge_name"?}`` → result
- ``POST /settlement/estimate`` ``{message fields..., "bridge_name"?}`` → quote
- ``GET /settlement/{message_id}`` → result
- ``POST /settlement/{message_id}/retry`` ``{"gas_limit"?}`` → result
- ``POST /settlement/{message_id}/refund`` → result

A result is :func:`aitbc.settlement.codec.result_to_dict`. Unknown paths raise
NotFoundError (code ``not_found``); unknown ids NotFoundError (``settlement_not_found``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from ..errors import NotFoundError, SettlementValidationError
from .codec import message_from_dict, parse_int, result_to_dict
from .manager import BridgeManager

__all__ = ["handle_settlement_request", "is_settlement_path"]

PREFIX = "/settlement/"


def is_settlement_path(path: str) -> bool:
    """True for the paths :func:`handle_settlement_request` serves."""
    return path.startswith(PREFIX)


def _bridge_name(body: Mapping[str, Any]) -> str | None:
    name = body.get("bridge_name")
    if name is not None and not isinstance(name, str):
        raise SettlementValidationError("bridge_name must be a string")
    return name or None


def _no_route(method: str, path: str) -> NotFoundError:
    return NotFoundError(f"no settlement route {method} {path}", status=404, code="not_found")


async def handle_settlement_request(
    manager: BridgeManager, method: str, path: str, data: Mapping[str, Any] | None
) -> dict[str, Any]:
    """Serve one ``/settlement/*`` request with ``manager``."""
    method = method.upper()
    body = dict(data or {})
    parts = [unquote(p) for p in path[len(PREFIX) :].split("/")]
    if method == "POST" and parts == ["cross-chain"]:
        message = message_from_dict(body)
        return result_to_dict(await manager.settle_cross_chain(message, _bridge_name(body)))
    if method == "POST" and parts == ["estimate"]:
        message = message_from_dict(body)
        return await manager.estimate_settlement_cost(message, _bridge_name(body))
    if len(parts) == 1 and parts[0] and method == "GET":
        return result_to_dict(await manager.get_settlement_status(parts[0]))
    if len(parts) == 2 and parts[0] and method == "POST":
        return await _action(manager, parts[0], parts[1], body, method, path)
    raise _no_route(method, path)


async def _action(
    manager: BridgeManager,
    message_id: str,
    action: str,
    body: Mapping[str, Any],
    method: str,
    path: str,
) -> dict[str, Any]:
    if action == "retry":
        gas = body.get("gas_limit")
        gas_limit = None if gas is None else parse_int(gas, "gas_limit")
        return result_to_dict(await manager.retry(message_id, gas_limit))
    if action == "refund":
        return result_to_dict(await manager.refund(message_id))
    raise _no_route(method, path)
