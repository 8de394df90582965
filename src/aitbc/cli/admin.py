"""``aitbc admin principal|faucet|keys|audit``: node administration over the API.

Unlike ``aitbc keys create``, which writes into the node's database directly, these go
through the running node, so they work against any node you hold an admin key for.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from .. import AITBCClient
from ..api.base import parse
from ..models import Principal, Transfer
from .admin_keys import audit, keys_app
from .inputs import parse_amount
from .invocation import Invocation, with_invocation
from .output import fields_table, money

admin_app = typer.Typer(
    help="Create principals, mint funds, manage API keys, read the audit log.",
    no_args_is_help=True,
)
admin_app.add_typer(keys_app, name="keys")
admin_app.command("audit")(audit)

ROLES = ("client", "miner", "admin")


def register(app: typer.Typer) -> None:
    """Add ``admin`` to the ``aitbc`` command."""
    app.add_typer(admin_app, name="admin")


@admin_app.command("principal")
@with_invocation()
def principal(
    inv: Invocation,
    role: Annotated[str, typer.Argument(help="client, miner or admin.")],
    name: Annotated[str, typer.Argument(help="Display name.")],
) -> None:
    """Create a principal; prints its API key once (store it, the node keeps a hash)."""
    if role not in ROLES:
        inv.fail_with(ValueError(f"role must be one of {', '.join(ROLES)}, got {role!r}"))

    async def run(client: AITBCClient) -> dict[str, Any]:
        transport = await client.transport_for()
        body = {"role": role, "name": name}
        answer = await transport.request("POST", "/v1/admin/principals", body)
        return {
            "principal": parse(Principal, answer.get("principal", {}), "principal"),
            "api_key": str(answer["api_key"]),
        }

    created = inv.run(run)
    who: Principal = created["principal"]
    rows = [("id", who.id), ("role", who.role), ("name", who.name), ("api key", created["api_key"])]
    inv.out.result(created, lambda c: c.print(fields_table("principal created", rows)))


@admin_app.command("faucet", context_settings={"ignore_unknown_options": True})
@with_invocation()
def faucet(
    inv: Invocation,
    account_id: Annotated[str, typer.Argument(help="The account (principal id) to fund.")],
    amount: Annotated[str, typer.Argument(help="Base units to mint (> 0).")],
) -> None:
    """Mint base units into an account (development networks)."""
    try:
        units = parse_amount(amount, "amount", positive=True)
    except ValueError as exc:
        inv.fail_with(exc)

    async def run(client: AITBCClient) -> Transfer:
        transport = await client.transport_for()
        body = {"account_id": account_id, "amount": str(units)}
        return parse(
            Transfer, await transport.request("POST", "/v1/admin/faucet", body), "transfer"
        )

    minted = inv.run(run)
    inv.out.result(
        minted,
        lambda c: c.print(f"minted {money(minted.amount)} into {minted.to_account} ({minted.id})"),
    )
