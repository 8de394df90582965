"""Cross-chain settlement: the seed's example, runnable against a local devnet.

A job runs on the node (source chain 1); once it completes, its payment is settled on
chain 42161 through a bridge (``layerzero`` or ``ccip``), and the settlement is followed
until the destination chain has paid the miner's payout address. The bridges read the
chains and contracts from a devnet config file, written by ``aitbc devnet``::

    aitbc devnet --config-out devnet.json &
    AITBC_API_KEY=<client key> AITBC_DEVNET_CONFIG=devnet.json \\
        python examples/cross_chain_settlement.py --payout 0x...

Settings: ``--node`` / AITBC_NODE_URL, ``--api-key`` / AITBC_API_KEY,
``--devnet-config`` / AITBC_DEVNET_CONFIG, ``--payout`` / AITBC_PAYOUT_ADDRESS (the EVM
address paid on the target chain), ``--bridge`` (layerzero), ``--storage`` (where
settlements are tracked; default settlements.db). Exit status 0 only when the
settlement completed.
"""

from __future__ import annotations

import argparse
import asyncio
import os

from aitbc import AITBCClient, AITBCError
from aitbc.transports.crosschain import CrossChainTransport

SOURCE_CHAIN, TARGET_CHAIN = 1, 42161


def parse_args() -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--node", default=env("AITBC_NODE_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--api-key", default=env("AITBC_API_KEY"))
    parser.add_argument("--devnet-config", default=env("AITBC_DEVNET_CONFIG"))
    parser.add_argument("--payout", default=env("AITBC_PAYOUT_ADDRESS"))
    parser.add_argument("--bridge", default="layerzero", choices=["layerzero", "ccip"])
    parser.add_argument("--storage", default="settlements.db")
    parser.add_argument("--timeout", type=float, default=120.0)
    return parser.parse_args()


def settlement_transport(args: argparse.Namespace) -> CrossChainTransport:
    """/settlement/* handled locally by the bridges; everything else goes to the node."""
    return CrossChainTransport(
        {
            "chain_id": SOURCE_CHAIN,
            "base_transport": {
                "type": "http",
                "base_url": args.node,
                "default_headers": {"X-API-Key": args.api_key},
            },
            "bridges": {args.bridge: {"devnet_config": args.devnet_config}},
            "storage": args.storage,
            "poll_interval": 0.2,
        }
    )


async def main(args: argparse.Namespace) -> bool:
    async with AITBCClient(settlement_transport(args)) as client:
        # --- the seed's example (job fields in the node's schema) ---
        # Create job on Ethereum
        job = await client.jobs.create(
            {
                "job_type": "echo",
                "payload": {"name": "cross-chain-ai-job", "target_chain": TARGET_CHAIN},
                "price": 250,
            }
        )
        # Wait for completion
        result = await client.jobs.wait_for_completion(job["id"], timeout=args.timeout)
        print(f"job {job['id']} {result['state']}")
        if result["state"] != "COMPLETED":
            return False
        # Who gets paid on the target chain: the miner's payout address.
        client.settlement.payout_addresses[result["miner_id"]] = args.payout
        # Settle to Arbitrum
        settlement = await client.settlement.settle_cross_chain(
            job_id=job["id"], target_chain_id=TARGET_CHAIN, bridge_name=args.bridge
        )
        # Monitor settlement
        status = await client.settlement.get_status(settlement["message_id"])
        print(f"settlement {settlement['message_id']} via {args.bridge}: {status['status']}")
        # ---
        final = await client.settlement.wait_for_settlement(
            settlement["message_id"], timeout=args.timeout, poll_interval=0.2
        )
        print(
            f"settlement {final['status']}, fee paid {final['fee_paid']} "
            f"(tx {final['transaction_hash']})"
        )
        return bool(final["status"] == "completed")


if __name__ == "__main__":
    arguments = parse_args()
    missing = [
        name for name in ("api_key", "devnet_config", "payout") if not getattr(arguments, name)
    ]
    if missing:
        raise SystemExit(f"missing settings: {', '.join(missing)} (see --help)")
    try:
        raise SystemExit(0 if asyncio.run(main(arguments)) else 1)
    except AITBCError as exc:
        raise SystemExit(f"error: {exc}") from None
