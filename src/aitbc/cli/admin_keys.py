"""``aitbc admin keys list|create|revoke|rotate`` and ``aitbc admin audit``, over the API.

With an admin key they manage any principal's keys (``--principal``); with any other key
the caller's own. A key in plaintext is printed once, when created or rotated.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from .. import AITBCClient
from ..api.base import parse
from ..models import ApiKey, AuditEntry, CreatedApiKey, Page, RotatedApiKey
from .inputs import page_size
from .invocation import Invocation, with_invocation
from .output import fields_table, list_table, short_json, when

keys_app = typer.Typer(
    help="List, create, revoke and rotate API keys (yours; an admin's: anyone's).",
    no_args_is_help=True,
)

_COLUMNS = ("id", "principal", "name", "state", "created", "expires", "ends")
Principal = Annotated[
    str | None, typer.Option("--principal", help="Whose keys (admin only; default: yours).")
]
ExpiresIn = Annotated[
    int | None, typer.Option("--expires-in", help="Seconds until the new key expires.")
]


def _row(key: ApiKey) -> tuple[Any, ...]:
    return (
        key.id,
        key.principal_id,
        key.name or "",
        key.state.value,
        when(key.created_at),
        when(key.expires_at),
        when(key.revoked_at),
    )


@keys_app.command("list")
@with_invocation()
def list_keys(
    inv: Invocation,
    principal: Principal = None,
    limit: Annotated[int, typer.Option("--limit", help="How many keys at most.")] = 50,
) -> None:
    """List API keys, newest first (never the keys themselves)."""

    async def run(client: AITBCClient) -> list[ApiKey]:
        transport = await client.transport_for()
        params: dict[str, Any] = {"limit": page_size(limit)}
        if principal:
            params["principal_id"] = principal
        answer = await transport.request("GET", "/v1/keys", params=params)
        return list(parse(Page[ApiKey], answer, "key list").items[: max(limit, 0)])

    items = inv.run(run)
    rows = [_row(k) for k in items]
    inv.out.result({"items": items}, lambda c: c.print(list_table("API keys", _COLUMNS, rows)))


@keys_app.command("create")
@with_invocation()
def create_key(
    inv: Invocation,
    principal: Principal = None,
    name: Annotated[str | None, typer.Option("--name", help="A label for the key.")] = None,
    expires_in: ExpiresIn = None,
) -> None:
    """Create an API key; prints it once (store it, the node keeps a hash)."""
    body: dict[str, Any] = {}
    for field, value in (
        ("principal_id", principal),
        ("name", name),
        ("expires_in_seconds", expires_in),
    ):
        if value is not None:
            body[field] = value

    async def run(client: AITBCClient) -> CreatedApiKey:
        transport = await client.transport_for()
        answer = await transport.request("POST", "/v1/keys", body)
        return parse(CreatedApiKey, answer, "created key")

    made = inv.run(run)
    rows = [*zip(_COLUMNS, _row(made.key), strict=True), ("api key", made.api_key)]
    inv.out.result(made, lambda c: c.print(fields_table("key created", rows)))


@keys_app.command("revoke")
@with_invocation()
def revoke_key(
    inv: Invocation, key_id: Annotated[str, typer.Argument(help="The key's id (key_...).")]
) -> None:
    """Revoke a key: it stops working at once on every worker."""

    async def run(client: AITBCClient) -> ApiKey:
        transport = await client.transport_for()
        answer = await transport.request("POST", f"/v1/keys/{key_id}/revoke", {})
        return parse(ApiKey, answer, "revoked key")

    done = inv.run(run)
    inv.out.result(done, lambda c: c.print(f"revoked {done.id} ({done.state.value})"))


@keys_app.command("rotate")
@with_invocation()
def rotate_key(
    inv: Invocation,
    key_id: Annotated[str, typer.Argument(help="The key's id (key_...).")],
    grace: Annotated[
        int, typer.Option("--grace", help="Seconds the old key keeps working (0 to 2592000).")
    ] = 0,
    expires_in: ExpiresIn = None,
) -> None:
    """Replace a key with a new one; the old one works for --grace seconds more."""
    body: dict[str, Any] = {"grace_seconds": grace}
    if expires_in is not None:
        body["expires_in_seconds"] = expires_in

    async def run(client: AITBCClient) -> RotatedApiKey:
        transport = await client.transport_for()
        answer = await transport.request("POST", f"/v1/keys/{key_id}/rotate", body)
        return parse(RotatedApiKey, answer, "rotated key")

    rotated = inv.run(run)
    rows = [
        *zip(_COLUMNS, _row(rotated.key), strict=True),
        ("api key", rotated.api_key),
        ("previous ends", when(rotated.previous.revoked_at)),
    ]
    inv.out.result(rotated, lambda c: c.print(fields_table("key rotated", rows)))


@with_invocation()
def audit(
    inv: Invocation,
    limit: Annotated[int, typer.Option("--limit", help="How many entries at most.")] = 50,
) -> None:
    """The audit log of admin actions, newest first (admin key)."""

    async def run(client: AITBCClient) -> list[AuditEntry]:
        transport = await client.transport_for()
        items: list[AuditEntry] = []
        cursor: str | None = None
        while len(items) < limit:
            params: dict[str, Any] = {"limit": page_size(limit - len(items))}
            if cursor:
                params["cursor"] = cursor
            answer = await transport.request("GET", "/v1/admin/audit", params=params)
            page = parse(Page[AuditEntry], answer, "audit log")
            items.extend(page.items)
            cursor = page.next_cursor
            if cursor is None:
                break
        return items[: max(limit, 0)]

    items = inv.run(run)
    columns = ("time", "actor", "action", "target", "detail")
    rows = [
        (when(e.created_at), e.actor_id, e.action, e.target, short_json(e.detail)) for e in items
    ]
    inv.out.result({"items": items}, lambda c: c.print(list_table("audit log", columns, rows)))
