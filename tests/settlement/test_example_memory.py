"""The seed's "Cross-Chain Settlement" example against a real node and miner, settling
through the in-test bridge (the devnet version runs in test_devnet_example.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aitbc import AITBCClient
from aitbc.transports.crosschain import CrossChainTransport

from .marketplace import client_and_miner_keys, running_miner
from .memory_bridge import MemoryBridge, MemoryChains

PAYOUT = "0x" + "cd" * 20


async def test_cross_chain_settlement_example(node_factory: Any, tmp_path: Path) -> None:
    node = await node_factory(chain_id=1)
    client_key, miner_key = await client_and_miner_keys(node)
    chains = MemoryChains(chains={1, 42161})
    transport = CrossChainTransport(
        {
            "chain_id": 1,
            "base_transport": {
                "type": "http",
                "base_url": node.url,
                "chain_id": 1,
                "default_headers": {"X-API-Key": client_key},
            },
            "storage": str(tmp_path / "settlements.db"),
            "adapters": {"layerzero": MemoryBridge(chains)},
            "poll_interval": 0.02,
        }
    )
    async with running_miner(node.url, miner_key) as miner, AITBCClient(transport) as client:
        client.settlement.payout_addresses[miner.miner_id or ""] = PAYOUT
        # --- the seed's example, as written (job fields adapted to the node's schema) ---
        job = await client.jobs.create(
            {
                "job_type": "echo",
                "payload": {"name": "cross-chain-ai-job", "target_chain": 42161},
                "price": 300,
            }
        )
        result = await client.jobs.wait_for_completion(job["id"], timeout=30)
        settlement = await client.settlement.settle_cross_chain(
            job_id=job["id"], target_chain_id=42161, bridge_name="layerzero"
        )
        status = await client.settlement.get_status(settlement["message_id"])
        # ---
        assert result["state"] == "COMPLETED"
        assert status["status"] in ("in_progress", "completed")
        done = await client.settlement.wait_for_settlement(
            settlement["message_id"], timeout=30, poll_interval=0.02
        )
        assert done["status"] == "completed"
        sent = chains.packets[settlement["message_id"]].prepared.message
        assert sent.payment_amount == 300 and sent.recipient == PAYOUT
        assert sent.source_chain_id == 1 and sent.target_chain_id == 42161
