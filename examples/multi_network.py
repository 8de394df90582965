"""Multi-network: one client, several networks, each call routed by ``chain_id``.

The seed's multi-network example. Two HTTP networks, "ethereum" (chain 1, the default)
and "polygon" (chain 137), each its own node with its own keys, ledger and receipt key: a
job runs on each, each receipt verifies against its own node's keys, and a receipt from
one chain is refused on the other. With ``--devnet-config`` the seed's third network
joins: "arbitrum" (chain 42161) over a CrossChainTransport with the ``layerzero`` and
``chainlink`` bridges, and the polygon job's payment is settled on chain 42161.

Settings (flags or environment): ``--ethereum`` / AITBC_ETHEREUM_URL, ``--ethereum-key``
/ AITBC_ETHEREUM_KEY, ``--polygon`` / AITBC_POLYGON_URL, ``--polygon-key`` /
AITBC_POLYGON_KEY; for settlement ``--arbitrum`` / AITBC_ARBITRUM_URL,
``--arbitrum-key`` / AITBC_ARBITRUM_KEY, ``--devnet-config`` / AITBC_DEVNET_CONFIG (a
devnet with chains 1, 137 and 42161: ``aitbc devnet --chains 1,137,42161``),
``--payout`` / AITBC_PAYOUT_ADDRESS. Exit status 0 only when every step checked out.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from typing import Any

from aitbc import AITBCClient, AITBCError, HTTPTransport, ReceiptVerificationError

ETHEREUM, POLYGON, ARBITRUM = 1, 137, 42161


def parse_args() -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ethereum", default=env("AITBC_ETHEREUM_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--ethereum-key", default=env("AITBC_ETHEREUM_KEY"))
    parser.add_argument("--polygon", default=env("AITBC_POLYGON_URL", "http://127.0.0.1:8001"))
    parser.add_argument("--polygon-key", default=env("AITBC_POLYGON_KEY"))
    parser.add_argument("--arbitrum", default=env("AITBC_ARBITRUM_URL", "http://127.0.0.1:8002"))
    parser.add_argument("--arbitrum-key", default=env("AITBC_ARBITRUM_KEY"))
    parser.add_argument("--devnet-config", default=env("AITBC_DEVNET_CONFIG"))
    parser.add_argument("--payout", default=env("AITBC_PAYOUT_ADDRESS"))
    parser.add_argument("--storage", default="settlements.db")
    parser.add_argument("--timeout", type=float, default=60.0)
    return parser.parse_args()


def seed_config(args: argparse.Namespace) -> dict[str, Any]:
    # --- the seed's configuration (URLs from the command line, API keys added) ---
    config: dict[str, Any] = {
        "networks": {
            "ethereum": {
                "type": "http",
                "chain_id": ETHEREUM,
                "base_url": args.ethereum,
                "default_headers": {"X-API-Key": args.ethereum_key},
                "default": True,
            },
            "polygon": {
                "type": "http",
                "chain_id": POLYGON,
                "base_url": args.polygon,
                "default_headers": {"X-API-Key": args.polygon_key},
            },
        }
    }
    if args.devnet_config:
        # The bridges find the chains through AITBC_DEVNET_CONFIG, so the seed's bridge
        # configs work as written.
        os.environ["AITBC_DEVNET_CONFIG"] = args.devnet_config
        config["networks"]["arbitrum"] = {
            "type": "crosschain",
            "chain_id": ARBITRUM,
            "base_transport": HTTPTransport(
                {"base_url": args.arbitrum, "default_headers": {"X-API-Key": args.arbitrum_key}}
            ),
            "bridges": {"layerzero": {"enabled": True}, "chainlink": {"enabled": True}},
            "storage": args.storage,  # where settlements are tracked
            "poll_interval": 0.2,
        }
    return config


async def main(args: argparse.Namespace) -> bool:
    client = AITBCClient(seed_config(args), multi_network=True)
    await client.connect()  # checks that each node serves the chain configured for it
    try:
        # Create job on specific network
        job = await client.jobs.create(
            {"job_type": "echo", "payload": {"net": "polygon"}, "price": 70}, chain_id=POLYGON
        )
        home = await client.jobs.create(
            {"job_type": "echo", "payload": {"net": "eth"}, "price": 50}
        )
        print(f"created {job['id']} on chain {POLYGON} and {home['id']} on the default chain")
        ok = await check(client, job["id"], home["id"], args.timeout)
        if args.devnet_config:
            ok = await settle(client, job["id"], args) and ok
        return ok
    finally:
        await client.disconnect()


async def check(client: AITBCClient, polygon_job: str, eth_job: str, wait_s: float) -> bool:
    ok = True
    for chain_id, job_id in ((POLYGON, polygon_job), (ETHEREUM, eth_job)):
        done = await client.jobs.wait_for_completion(job_id, timeout=wait_s, chain_id=chain_id)
        answer = await client.jobs.result(job_id, chain_id=chain_id)
        await client.receipts.verify(answer.receipt, chain_id=chain_id)
        balance = await client.wallet.balance(chain_id=chain_id)
        print(
            f"chain {chain_id}: {job_id} {done['state']}, receipt verified, "
            f"balance {balance['balance']}"
        )
        ok = ok and done["state"] == "COMPLETED"
    polygon_receipt = (await client.jobs.result(polygon_job, chain_id=POLYGON)).receipt
    try:
        await client.receipts.verify(polygon_receipt, chain_id=ETHEREUM)
        print("UNEXPECTED: a chain-137 receipt verified against chain 1")
        ok = False
    except ReceiptVerificationError as exc:
        print(f"a chain-{POLYGON} receipt is refused on chain {ETHEREUM}: {exc}")
    return ok


async def settle(client: AITBCClient, job_id: str, args: argparse.Namespace) -> bool:
    done = await client.jobs.get(job_id, chain_id=POLYGON)
    client.settlement.payout_addresses[done["miner_id"]] = args.payout
    # Settle across chains (the client finds the job's network and the settling one)
    settlement = await client.settlement.settle_cross_chain(
        job_id=job_id, target_chain_id=ARBITRUM, bridge_name="layerzero"
    )
    final = await client.settlement.wait_for_settlement(
        settlement["message_id"], timeout=args.timeout, poll_interval=0.2
    )
    print(f"settled {job_id} on chain {ARBITRUM} via layerzero: {final['status']}")
    return bool(final["status"] == "completed")


if __name__ == "__main__":
    arguments = parse_args()
    if not (arguments.ethereum_key and arguments.polygon_key):
        raise SystemExit("pass --ethereum-key and --polygon-key (or AITBC_*_KEY variables)")
    if arguments.devnet_config and not (arguments.arbitrum_key and arguments.payout):
        raise SystemExit("settling needs --arbitrum-key and --payout as well")
    try:
        raise SystemExit(0 if asyncio.run(main(arguments)) else 1)
    except AITBCError as exc:
        raise SystemExit(f"error: {exc}") from None
