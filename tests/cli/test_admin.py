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


async def test_key_lifecycle_from_the_cli(node: Any) -> None:
    client_id, client_key = await node.create_principal("client", "kim")
    admin = ["--node", node.url, "--api-key", node.admin_key]
    mine = ["--node", node.url, "--api-key", client_key]

    listed = await run_cli("admin", "keys", "list", "--json", *mine)
    assert listed.exit_code == 0, listed.stderr
    (own,) = json.loads(listed.stdout)["items"]
    assert own["principal_id"] == client_id and own["state"] == "active"

    made = await run_cli(
        "admin", "keys", "create", "--principal", client_id, "--name", "ci", "--json", *admin
    )
    assert made.exit_code == 0, made.stderr
    spare = json.loads(made.stdout)
    assert spare["key"]["name"] == "ci" and spare["api_key"].startswith("aitbc_")

    rotated = await run_cli("admin", "keys", "rotate", own["id"], "--grace", "30", "--json", *mine)
    assert rotated.exit_code == 0, rotated.stderr
    doc = json.loads(rotated.stdout)
    assert doc["previous"]["state"] == "rotating"
    new_key = doc["api_key"]

    revoked = await run_cli("admin", "keys", "revoke", spare["key"]["id"], *admin)
    assert revoked.exit_code == 0 and "revoked" in revoked.stdout
    refused = await run_cli("wallet", "balance", "--node", node.url, "--api-key", spare["api_key"])
    assert refused.exit_code == 4 and "revoked" in refused.stderr and len(refused.lines()) == 1
    works = await run_cli("wallet", "balance", "--node", node.url, "--api-key", new_key)
    assert works.exit_code == 0, works.stderr

    other = await run_cli("admin", "keys", "list", "--principal", "prn_other", *mine)
    assert other.exit_code == 4 and len(other.lines()) == 1

    log = await run_cli("admin", "audit", "--json", *admin)
    assert log.exit_code == 0, log.stderr
    actions = [e["action"] for e in json.loads(log.stdout)["items"]]
    assert actions[:3] == ["key.revoke", "key.rotate", "key.create"]
    assert spare["api_key"] not in log.stdout and new_key not in log.stdout
