"""Multi-network: one client, two networks, each call routed by ``chain_id``.

The seed's multi-network example with two HTTP networks ("ethereum", chain 1, the
default; "polygon", chain 137). Each network is its own node with its own keys, ledger
and receipt-signing key. A job runs on each; each receipt verifies against its own
node's keys, and a receipt from one chain is refused on the other.

Settings (flags or environment): ``--ethereum`` / AITBC_ETHEREUM_URL,
``--ethereum-key`` / AITBC_ETHEREUM_KEY, ``--polygon`` / AITBC_POLYGON_URL,
``--polygon-key`` / AITBC_POLYGON_KEY. Exit status 0 only when both jobs completed and
every check passed. (Settling across chains: see cross_chain_settlement.py.)
"""

from __future__ import annotations

import argparse
import asyncio
import os

from aitbc import AITBCClient, AITBCError, ReceiptVerificationError

ETHEREUM, POLYGON = 1, 137


def parse_args() -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ethereum", default=env("AITBC_ETHEREUM_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--ethereum-key", default=env("AITBC_ETHEREUM_KEY"))
    parser.add_argument("--polygon", default=env("AITBC_POLYGON_URL", "http://127.0.0.1:8001"))
    parser.add_argument("--polygon-key", default=env("AITBC_POLYGON_KEY"))
    parser.add_argument("--timeout", type=float, default=60.0)
    return parser.parse_args()


async def main(args: argparse.Namespace) -> bool:
    # --- the seed's configuration (URLs and keys from the command line) ---
    config = {
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
    client = AITBCClient(config, multi_network=True)
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
        return await check(client, job["id"], home["id"], args.timeout)
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


if __name__ == "__main__":
    arguments = parse_args()
    if not (arguments.ethereum_key and arguments.polygon_key):
        raise SystemExit("pass --ethereum-key and --polygon-key (or AITBC_*_KEY variables)")
    try:
        raise SystemExit(0 if asyncio.run(main(arguments)) else 1)
    except AITBCError as exc:
        raise SystemExit(f"error: {exc}") from None
