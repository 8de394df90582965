"""FastAPI dependencies that turn ``X-API-Key`` into a :class:`Principal`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader

from .problems import NodeProblem, forbidden
from .runtime import Node
from .services.principals import Principal, lookup_key

_api_key = APIKeyHeader(name="X-API-Key", auto_error=False)


async def get_node(request: Request) -> Node:
    # async on purpose: FastAPI runs a plain ``def`` dependency in its thread pool, a
    # thread hop on every request for one attribute read.
    node: Node = request.app.state.node
    return node


async def current_principal(
    request: Request, api_key: Annotated[str | None, Depends(_api_key)]
) -> Principal:
    """The principal of the request's key; 401 ``unauthenticated`` when missing or
    unknown, ``key_revoked`` or ``key_expired`` when it no longer works."""
    if not api_key:
        raise NodeProblem(401, "unauthenticated", "missing X-API-Key header")
    node: Node = request.app.state.node
    grant = await lookup_key(node, api_key)
    if grant is None:
        raise NodeProblem(401, "unauthenticated", "unknown API key")
    refusal = grant.refusal(node.clock())
    if refusal is not None:
        raise refusal
    return grant.principal


def require_role(*roles: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency admitting only ``roles``; others get 403 forbidden."""

    async def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if principal.role not in roles:
            raise forbidden(f"this route is for {' or '.join(roles)} keys")
        return principal

    return check


NodeDep = Annotated[Node, Depends(get_node)]
PrincipalDep = Annotated[Principal, Depends(current_principal)]
AdminDep = Annotated[Principal, Depends(require_role("admin"))]
