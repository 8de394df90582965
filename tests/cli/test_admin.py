"""``aitbc admin principal|faucet`` against a real node."""

from __future__ import annotations

import json
from typing import Any

from .conftest import run_cli


async def test_admin_creates_a_client_and_funds_it(node: Any) -> None:
    admin = ["--node", node.url, "--api-key", node.admin_key]
    created = await run_cli("admin", "principal", "client", "dora", "--json", *admin)
    assert created.exit_code == 0, created.stderr
    doc = json.loads(created.stdout)
    client_id, client_key = doc["principal"]["id"], doc["api_key"]
    assert doc["principal"]["role"] == "client"

    minted = await run_cli("admin", "faucet", client_id, "5,000", *admin)
    assert minted.exit_code == 0 and "minted 5,000" in minted.stdout
    balance = await run_cli(
        "wallet", "balance", "--json", "--node", node.url, "--api-key", client_key
    )
    assert json.loads(balance.stdout)["balance"] == "5000"


async def test_admin_refuses_non_admins_and_bad_input(node: Any) -> None:
    client_id, client_key = await node.create_principal("client", "eve")
    as_client = await run_cli(
        "admin", "faucet", client_id, "10", "--node", node.url, "--api-key", client_key
    )
    assert as_client.exit_code == 4 and len(as_client.lines()) == 1
    admin = ["--node", node.url, "--api-key", node.admin_key]
    negative = await run_cli("admin", "faucet", client_id, "-10", *admin)
    assert negative.exit_code == 2 and "non-negative" in negative.stderr
    role = await run_cli("admin", "principal", "wizard", "x", *admin)
    assert role.exit_code == 2 and "role must be one of" in role.stderr
